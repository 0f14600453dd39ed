// `wattgrad serve` as a user runs it: the built CLI in its own process (model in a worker thread),
// a checkpoint saved by this test, real HTTP, SIGHUP reload and SIGTERM drain.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { mnistCnn } from '../../lib/models/index.js';
import { burst } from './helpers.js';

const CLI = path.resolve('dist/cli.js');
const built = fs.existsSync(CLI) && fs.existsSync(path.resolve('dist/serve/worker.js'));

interface Running {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
}

async function start(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WATTGRAD_QUIET: '1' },
  });
  let err = '';
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
  return { child, url, stderr: () => err, stdout: () => out, exit };
}

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function digits(n: number): number[][][][] {
  const { test } = wg.data.loadMnist();
  const x = test.tensors[0]!.slice(0, 0, n);
  const arr = x.toArray() as number[][][][];
  x.dispose();
  return arr;
}

function forward(model: wg.nn.Module, xs: number[][][][]): number[][] {
  return wg.noGrad(() => wg.tidy(() => (model.eval(), (model.forward(wg.tensor(xs)) as wg.Tensor).toArray() as number[][])));
}

describe.skipIf(!built)('wattgrad serve (the built CLI; needs npm run build)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-serve-cli-'));
  const ckpt = path.join(tmp, 'cnn.safetensors');
  let a: wg.nn.Sequential;
  let b: wg.nn.Sequential;
  let xs: number[][][][];
  beforeAll(() => {
    wg.manualSeed(10);
    a = mnistCnn();
    wg.manualSeed(11);
    b = mnistCnn();
    wg.saveCheckpoint(ckpt, { model: a });
    xs = digits(8);
  });
  afterAll(() => {
    a.dispose();
    b.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves a checkpoint: predictions equal model.forward; SIGHUP reloads under load; SIGTERM drains and exits 0', async () => {
    const s = await start(['--model', 'mnist-cnn', '--weights', ckpt, '--max-batch', '32', '--log-json']);
    const predictUrl = `${s.url}/v1/models/mnist-cnn:predict`;
    const res = await fetch(predictUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: xs }),
    });
    expect(res.status).toBe(200);
    const got = ((await res.json()) as { predictions: number[][] }).predictions;
    const want = forward(a, xs);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 10; j++) expect(got[i]![j]!).toBeCloseTo(want[i]![j]!, 5);

    // SIGHUP with a new checkpoint in place while a burst is running: nothing is lost
    const load = burst(predictUrl, 48, { instances: [xs[0]] });
    wg.saveCheckpoint(ckpt, { model: b });
    s.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: reloaded .* \(version 2\)/.test(s.stderr()), 'the reload');
    const during = await load;
    expect(
      during.statuses.every((c) => c === 200),
      JSON.stringify(during.errors),
    ).toBe(true);
    const after = (
      (await (
        await fetch(predictUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: xs }),
        })
      ).json()) as { predictions: number[][] }
    ).predictions;
    const wantB = forward(b, xs);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 10; j++) expect(after[i]![j]!).toBeCloseTo(wantB[i]![j]!, 5);

    // a bad file on SIGHUP keeps version 2
    fs.writeFileSync(ckpt, 'garbage');
    s.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: reload failed, still serving version 2/.test(s.stderr()), 'the failed reload');

    // SIGTERM while requests are in flight: every request the server logged is answered, exit 0
    const drain = burst(predictUrl, 64, { instances: [xs[1]] });
    await new Promise((r) => setTimeout(r, 150));
    s.child.kill('SIGTERM');
    const [out, code] = await Promise.all([drain, s.exit]);
    expect(code).toBe(0);
    expect(s.stderr()).toMatch(/SIGTERM: draining[\s\S]*serve: stopped/);
    const served = out.statuses.filter((c) => c === 200).length;
    for (let i = 0; i < 64; i++) {
      if (out.statuses[i] === 0) expect(out.errors[i]).toMatch(/ECONNREFUSED|ECONNRESET|EPIPE/);
      else expect([200, 503]).toContain(out.statuses[i]);
      // the server's own 503 while draining (fastify's closing 503 had no Retry-After, and no log line)
      if (out.statuses[i] === 503) expect(out.retryAfter[i]).toBe('1');
    }
    // the JSON request log: one line per response, 503s of requests read while draining included, and
    // every 200 the server sent arrived
    const lines = s
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { url: string; status: number; joules?: string; batchSize?: number });
    const predicts = lines.filter((l) => l.url.endsWith(':predict'));
    expect(predicts.length).toBe(1 + 48 + 1 + out.statuses.filter((c) => c !== 0).length);
    expect(predicts.filter((l) => l.status === 200).length).toBe(1 + 48 + 1 + served);
    expect(predicts[0]!.batchSize).toBe(8);
    expect(Number(predicts[0]!.joules)).toBeGreaterThan(0);
  });

  it('bad flags and an unknown model are usage errors (exit 2) with a hint', async () => {
    const run = (args: string[]): Promise<{ code: number | null; err: string }> =>
      new Promise((resolve) => {
        const c = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
        });
        c.on('exit', (code) => resolve({ code, err }));
      });
    const r1 = await run(['--model', 'mnist-cnn', '--max-bach', '4']);
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/unknown option '--max-bach' — did you mean '--max-batch'\?/);
    const r2 = await run(['--model', 'mnist-xyz']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/unknown model 'mnist-xyz'/);
    const r3 = await run(['--model', 'mnist-mlp', '--max-batch', '-3']);
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/serve: invalid --max-batch -3 \(must be an integer >= 1\)/);
    const r4 = await run(['--model', 'mnist-mlp', '--weights', path.join(tmp, 'missing.safetensors')]);
    expect(r4.code).toBe(1);
    expect(r4.err).toMatch(/weights file .*missing.safetensors does not exist/);
  });
});
