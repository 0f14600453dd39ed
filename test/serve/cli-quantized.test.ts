// `wattgrad serve --quantized` as a user runs it: the built CLI in its own process (model in a
// worker thread) serves the int8 copy of a checkpoint's model, and its metadata says so.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { mnistMlp } from '../../lib/models/index.js';

const CLI = path.resolve('dist/cli.js');
const built = fs.existsSync(CLI) && fs.existsSync(path.resolve('dist/serve/worker.js'));

describe.skipIf(!built)('wattgrad serve --quantized (the built CLI; needs npm run build)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-serve-q-cli-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('serves quantizeDynamic(model): the same logits for the same batch, metadata quantized: dynamic int8', async () => {
    wg.manualSeed(31);
    const model = mnistMlp();
    const ckpt = path.join(tmp, 'mlp.safetensors');
    wg.saveCheckpoint(ckpt, { model });
    const child = spawn(process.execPath, [CLI, 'serve', '--model', 'mnist-mlp', '--weights', ckpt, '--quantized', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WATTGRAD_QUIET: '1' },
    });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let err = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /listening on (http:\/\/\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        void exit.then((code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
      });
      expect(err).toMatch(/dynamic int8\) listening/);
      const meta = (await (await fetch(`${url}/v1/models/mnist-mlp`)).json()) as Record<string, unknown>;
      expect(meta.quantized).toBe('dynamic int8');
      const { test } = wg.data.loadMnist({ testLimit: 6 });
      const xs = test.tensors[0]!.toArray() as number[][][][];
      test.dispose();
      const r = await fetch(`${url}/v1/models/mnist-mlp:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: xs }),
      });
      expect(r.status).toBe(200);
      const got = ((await r.json()) as { predictions: number[][] }).predictions;
      const q = wg.quantization.quantizeDynamic(model);
      const want = wg.noGrad(() => wg.tidy(() => (q.forward(wg.tensor(xs)) as wg.Tensor).toArray() as number[][]));
      expect(got).toEqual(want);
      q.dispose();
    } finally {
      child.kill('SIGTERM');
      await exit;
      model.dispose();
    }
  });
});
