// serve({ quantized: true }) / `wattgrad serve --quantized`: the server runs an int8 copy of the model
// (quantization.quantizeDynamic after the float weights load) and says so in its metadata.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { serve, type ModelServer } from '../../lib/serve/index.js';

const { nn, quantization } = wg;

function makeModel(seed: number): wg.nn.Sequential {
  wg.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3));
}

const rows = (n: number, seed: number): number[][] => {
  let s = seed;
  const r = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Array.from({ length: n }, () => Array.from({ length: 6 }, () => Number(r().toFixed(4))));
};

/** What quantizeDynamic(model).forward gives for these rows as one batch (dynamic quantization is per batch). */
function int8Forward(model: wg.nn.Module, x: number[][]): number[][] {
  const q = quantization.quantizeDynamic(model);
  const out = wg.noGrad(() => wg.tidy(() => (q.forward(wg.tensor(x)) as wg.Tensor).toArray() as number[][]));
  q.dispose();
  return out;
}

function floatForward(model: wg.nn.Module, x: number[][]): number[][] {
  return wg.noGrad(() => wg.tidy(() => (model.forward(wg.tensor(x)) as wg.Tensor).toArray() as number[][]));
}

async function predict(url: string, instances: number[][]): Promise<number[][]> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { predictions: number[][] }).predictions;
}

describe('serve --quantized (in-process model)', () => {
  let server: ModelServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-serve-q-'));
  const weights = path.join(tmp, 'w.safetensors');
  const weights2 = path.join(tmp, 'w2.safetensors');
  let model: wg.nn.Sequential;
  let trained: wg.nn.Sequential;

  beforeAll(async () => {
    trained = makeModel(1);
    wg.save(weights, trained.stateDict());
    model = makeModel(2); // other initial weights: the server must load the file before quantizing
    server = await serve(model, { name: 'tiny', inputShape: [6], weights, port: 0, maxBatch: 64, maxDelayMs: 1, quantized: true });
  });
  afterAll(async () => {
    await server.close();
    model.dispose();
    trained.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('predictions equal quantizeDynamic(model).forward on the same batch, and differ from the float model', async () => {
    const x = rows(5, 7);
    const got = await predict(`${server.url}/v1/models/tiny:predict`, x);
    expect(got).toEqual(int8Forward(trained, x));
    const fl = floatForward(trained, x);
    let maxDiff = 0;
    for (let i = 0; i < x.length; i++) for (let j = 0; j < 3; j++) maxDiff = Math.max(maxDiff, Math.abs(fl[i]![j]! - got[i]![j]!));
    expect(maxDiff).toBeGreaterThan(0); // int8, not the float model
    expect(maxDiff).toBeLessThan(0.05);
  });

  it("metadata says quantized: 'dynamic int8' and counts the float model's parameters", async () => {
    const m = (await (await fetch(`${server.url}/v1/models/tiny`)).json()) as Record<string, unknown>;
    expect(m.quantized).toBe('dynamic int8');
    expect(m.parameters).toBe(6 * 8 + 8 + 8 * 3 + 3);
    expect(server.info().quantized).toBe('dynamic int8');
  });

  it('reload re-quantizes new float weights; an int8 checkpoint loads directly', async () => {
    const next = makeModel(3);
    wg.save(weights2, next.stateDict());
    const info = await server.reload(weights2);
    expect(info.version).toBe(2);
    const x = rows(4, 9);
    expect(await predict(`${server.url}/v1/models/tiny:predict`, x)).toEqual(int8Forward(next, x));
    const q = quantization.quantizeDynamic(makeModel(4));
    const qfile = path.join(tmp, 'q.safetensors');
    quantization.saveQuantized(qfile, q);
    await server.reload(qfile);
    const want = wg.noGrad(() => wg.tidy(() => (q.forward(wg.tensor(x)) as wg.Tensor).toArray()));
    expect(await predict(`${server.url}/v1/models/tiny:predict`, x)).toEqual(want);
    next.dispose();
    q.dispose();
  });

  it('an int8 checkpoint without quantized: true, and quantized on cuda, are errors that say what to do', async () => {
    const q = quantization.quantizeDynamic(makeModel(5));
    const qfile = path.join(tmp, 'q2.safetensors');
    quantization.saveQuantized(qfile, q);
    const m = makeModel(6);
    await expect(serve(m, { inputShape: [6], weights: qfile, port: 0 })).rejects.toThrow(
      /is an int8 checkpoint \(dynamic int8\); serve it with --quantized/,
    );
    await expect(serve(m, { inputShape: [6], port: 0, quantized: true, device: 'cuda' })).rejects.toThrow(
      /quantized serving runs on the cpu only/,
    );
    await expect(serve(m, { inputShape: [6], port: 0, quantized: 'yes' as never })).rejects.toThrow(
      /serve: quantized must be true or false/,
    );
    q.dispose();
    m.dispose();
  });
});
