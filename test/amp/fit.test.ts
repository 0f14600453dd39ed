// fit({ amp }): autocast in the training step, a GradScaler for float16 (and on request), its state
// through ModelCheckpoint and resumeFrom, bad options.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { amp, fit, ModelCheckpoint, loadCheckpoint, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';

const dir = mkdtempSync(join(tmpdir(), 'wg-amp-fit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function data(seed: number): { x: Tensor; y: Tensor } {
  wg.manualSeed(seed);
  const x = wg.randn([256, 10]);
  const w = wg.randn([10, 3]);
  const y = wg.argmax(wg.matmul(x, w), 1);
  return { x, y };
}

function model(seed: number): nn.Sequential {
  wg.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(10, 32), new nn.ReLU(), new nn.Linear(32, 3));
}

describe('fit({ amp })', () => {
  for (const a of ['bf16', 'f16'] as const) {
    it(`amp: '${a}' trains a classifier about as well as float32`, async () => {
      const { x, y } = data(1);
      const m32 = model(2);
      const h32 = await fit(m32, {
        x,
        y,
        batchSize: 32,
        epochs: 4,
        optimizer: new optim.Adam(m32.parameters(), { lr: 0.01 }),
        metrics: ['accuracy'],
        verbose: false,
        seed: 3,
      });
      const m = model(2);
      const h = await fit(m, {
        x,
        y,
        batchSize: 32,
        epochs: 4,
        optimizer: new optim.Adam(m.parameters(), { lr: 0.01 }),
        metrics: ['accuracy'],
        verbose: false,
        seed: 3,
        amp: a,
      });
      const acc = h.epochs[3]!.metrics.accuracy!;
      expect(acc).toBeGreaterThan(0.85);
      expect(Math.abs(acc - h32.epochs[3]!.metrics.accuracy!)).toBeLessThan(0.05);
      // the weights are still float32 masters, and differ from the float32 run (rounding happened)
      const w = m.parameters()[0]!;
      expect(w.dtype).toBe('float32');
      const a1 = Array.from(w.dataSync());
      const a2 = Array.from(m32.parameters()[0]!.dataSync());
      expect(a1.some((v, i) => v !== a2[i])).toBe(true);
    });
  }

  it("amp: 'f16' uses a GradScaler; ModelCheckpoint stores its state and resumeFrom restores it", async () => {
    const { x, y } = data(4);
    const m = model(5);
    const scaler = new amp.GradScaler({ initScale: 1024, growthInterval: 3 });
    const path = join(dir, 'amp.safetensors');
    await fit(m, {
      x,
      y,
      batchSize: 64,
      epochs: 2,
      optimizer: new optim.SGD(m.parameters(), { lr: 0.1 }),
      verbose: false,
      amp: { dtype: 'f16', scaler },
      callbacks: [new ModelCheckpoint({ path })],
    });
    // 8 clean steps with growth every 3: 1024 · 2 · 2 = 4096, tracker 2
    expect(scaler.getScale()).toBe(4096);
    expect(scaler.getGrowthTracker()).toBe(2);
    const fresh = new amp.GradScaler();
    loadCheckpoint(path, { scaler: fresh });
    expect(fresh.stateDict()).toEqual(scaler.stateDict());
    const m2 = model(5);
    const s2 = new amp.GradScaler();
    await fit(m2, {
      x,
      y,
      batchSize: 64,
      epochs: 3,
      optimizer: new optim.SGD(m2.parameters(), { lr: 0.1 }),
      verbose: false,
      amp: { dtype: 'f16', scaler: s2 },
      resumeFrom: path,
    });
    // resumed at 4096 / tracker 2, then 4 more clean steps: growth at the 1st and the 4th
    expect(s2.getScale()).toBe(16384);
    expect(s2.getGrowthTracker()).toBe(0);
  });

  it('with clipGradNorm the scaler unscales first: the clip sees the true gradients', async () => {
    wg.manualSeed(9);
    const m = new nn.Linear(6, 1);
    const w0 = Array.from(m.weight.dataSync());
    const x = wg.randn([16, 6]);
    const y = wg.randn([16, 1]).mul(10); // the true gradient norm is far above 0.5
    await fit(m, {
      x,
      y,
      batchSize: 16,
      epochs: 1,
      loss: 'mse',
      optimizer: new optim.SGD(m.parameters(), { lr: 1 }),
      verbose: false,
      amp: { dtype: 'f16', scaler: { initScale: 64 } },
      clipGradNorm: 0.5,
    });
    // one SGD step of lr 1 on gradients clipped to norm 0.5 (weight and bias together): the step's norm
    // is at most 0.5 and, clipped, close to it (clipping the scaled gradients would give ~0.5 / 64)
    const dw = Array.from(m.weight.dataSync(), (v, i) => v - w0[i]!);
    const n = Math.hypot(...dw);
    expect(n).toBeLessThanOrEqual(0.5 * 1.001);
    expect(n).toBeGreaterThan(0.05);
  });

  it('bad amp options say what to pass', async () => {
    const { x, y } = data(6);
    const m = model(7);
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    await expect(fit(m, { x, y, optimizer: opt, verbose: false, amp: 'fp8' as never })).rejects.toThrow(
      /dtype must be 'bfloat16' \(bf16\) or 'float16' \(f16\)/,
    );
    await expect(fit(m, { x, y, optimizer: opt, verbose: false, amp: { dtype: 'f16', scale: true } as never })).rejects.toThrow(/scale/);
    await expect(fit(m, { x, y, optimizer: opt, verbose: false, amp: { dtype: 'f16', scaler: 3 } as never })).rejects.toThrow(
      /amp.scaler must be/,
    );
  });
});
