// CLI flags and inputs: misspelt flags get a did-you-mean, negative numbers parse as values and
// are range-checked, outputs are checked before training, bad data sets are errors (not NaN%),
// and a NaN loss stops the run (exit 1, nothing saved).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../lib/cli.js';
import { writeIdxFile } from '../../lib/data/idx.js';
import { embeddedMnist, MNIST_FILES } from '../../lib/data/mnist.js';

function io() {
  const o: string[] = [],
    e: string[] = [];
  return {
    stdout: { write: (s: string) => (o.push(s), true), isTTY: false },
    stderr: { write: (s: string) => (e.push(s), true), isTTY: false },
    out: () => o.join(''),
    err: () => e.join(''),
  };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = io();
  const code = await main(args, c);
  return { code, out: c.out(), err: c.err() };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-cli-val-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** IDX files with n train / m test images of size rows×cols (pixels from the embedded digits where they fit). */
function writeData(sub: string, n: number, m: number, rows = 28, cols = 28): string {
  const d = path.join(dir, sub);
  fs.mkdirSync(d, { recursive: true });
  const e = embeddedMnist();
  const img = (k: number, src: Uint8Array) => Uint8Array.from({ length: k * rows * cols }, (_, i) => src[i % src.length]!);
  writeIdxFile(path.join(d, MNIST_FILES.trainImages), { type: 'uint8', dims: [n, rows, cols], data: img(n, e.train.images) });
  writeIdxFile(path.join(d, MNIST_FILES.trainLabels), { type: 'uint8', dims: [n], data: e.train.labels.slice(0, n) });
  writeIdxFile(path.join(d, MNIST_FILES.testImages), { type: 'uint8', dims: [m, rows, cols], data: img(m, e.test.images) });
  writeIdxFile(path.join(d, MNIST_FILES.testLabels), { type: 'uint8', dims: [m], data: e.test.labels.slice(0, m) });
  return d;
}

describe('CLI flags', () => {
  it('misspelt flags say the nearest valid one', async () => {
    let r = await run(['train', 'mnist-mlp', '--epoch', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/train: unknown option '--epoch' — did you mean '--epochs'\?/);
    r = await run(['train', 'mnist-mlp', '--batchsize', '8']);
    expect(r.err).toMatch(/did you mean '--batch-size'\?/);
    r = await run(['train', 'mnist-mlp', '--learning-rate', '0.1']);
    expect(r.err).toMatch(/did you mean '--lr'\?/);
    r = await run(['info', '--jsn']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/info: unknown option '--jsn' — did you mean '--json'\?/);
    r = await run(['train', 'mnist-mlp', '-x']);
    expect(r.err).toMatch(/train: unknown option '-x'/);
  });
  it('negative numbers parse as values and are rejected as out of range; every numeric flag is checked', async () => {
    const cases: [string[], RegExp][] = [
      [['--lr', '-1'], /train: invalid --lr -1 \(must be a finite number > 0\)/],
      [['--lr=-0.5'], /invalid --lr -0.5/],
      [['--lr', '0'], /invalid --lr 0 \(must be a finite number > 0\)/],
      [['--lr', 'NaN'], /invalid --lr "NaN"/],
      [['--lr', '0x10'], /invalid --lr "0x10"/],
      [['--epochs', '-3'], /invalid --epochs -3 \(must be an integer >= 1\)/],
      [['--epochs', '1.5'], /invalid --epochs 1.5/],
      [['--batch-size', '0'], /invalid --batch-size 0/],
      [['--seed', ''], /invalid --seed "" \(must be an integer >= 0\)/],
      [['--seed', '-1'], /invalid --seed -1/],
      [['--limit', '1e400'], /invalid --limit Infinity/],
      [['--epochs'], /train: --epochs needs a value/],
      [['--epochs', '--quiet'], /--epochs needs a value/],
      [['--quiet=1'], /--quiet takes no value/],
    ];
    for (const [flags, re] of cases) {
      const r = await run(['train', 'mnist-mlp', ...flags]);
      expect(r.err, flags.join(' ')).toMatch(re);
      expect(r.code, flags.join(' ')).toBe(2);
    }
  });
  it('--save and --report under a regular file or onto a directory fail before training', async () => {
    const file = path.join(dir, 'plain.txt');
    fs.writeFileSync(file, 'x');
    let r = await run(['train', 'mnist-mlp', '--save', path.join(file, 'ck.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--save .*ck\.safetensors: .*plain\.txt is a file, not a directory/);
    expect(r.out).not.toMatch(/training/); // nothing trained
    r = await run(['train', 'mnist-mlp', '--save', path.join(file, 'a', 'b', 'ck.safetensors')]);
    expect(r.err).toMatch(/plain\.txt is a file, not a directory/);
    r = await run(['train', 'mnist-mlp', '--save', dir]);
    expect(r.err).toMatch(/--save .*: is a directory/);
    r = await run(['train', 'mnist-mlp', '--report', path.join(file, 'r.html')]);
    expect(r.err).toMatch(/--report .*plain\.txt is a file/);
  });
});

describe('CLI data checks', () => {
  it('--data-dir with 0 images is an error, not "accuracy NaN%"', async () => {
    const d = writeData('empty', 0, 0);
    const r = await run(['train', 'mnist-mlp', '--data-dir', d, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--data-dir .*empty: the training IDX files hold 0 images/);
    expect(r.out).not.toMatch(/NaN/);
    const t = writeData('empty-test', 20, 0);
    const r2 = await run(['train', 'mnist-mlp', '--data-dir', t, '--quiet']);
    expect(r2.err).toMatch(/the test IDX files hold 0 images/);
  });
  it('mnist-cnn on 10×10 images says it expected 28×28', async () => {
    const d = writeData('small', 20, 10, 10, 10);
    const r = await run(['train', 'mnist-cnn', '--data-dir', d, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/mnist-cnn expected 28×28 MNIST images, got 10×10/);
  });
  it('a NaN loss stops training by default: exit 1, where it happened, no checkpoint written', async () => {
    const ck = path.join(dir, 'nan.safetensors');
    const r = await run(['train', 'mnist-mlp', '--epochs', '2', '--limit', '512', '--lr', '1e30', '--quiet', '--save', ck]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/TerminateOnNaN: the loss is (NaN|Infinity|-Infinity) at epoch 1, .*; .*nan\.safetensors was not written/);
    expect(fs.existsSync(ck)).toBe(false);
  }, 60_000);
});

describe('CLI names', () => {
  it('misspelt commands and models say the nearest; prototype names are not models', async () => {
    let r = await run(['trian', 'mnist-mlp']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command 'trian' \(expected 'train', 'serve', 'optimize' or 'info'\) — did you mean 'train'\?/);
    r = await run(['train', 'mnist-cn']);
    expect(r.err).toMatch(/unknown model 'mnist-cn' \(expected one of mnist-mlp, mnist-cnn, mnist-lstm\) — did you mean 'mnist-cnn'\?/);
    r = await run(['train', 'constructor']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown model 'constructor'/);
  });
});
