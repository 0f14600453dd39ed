// GradScaler: the skip / growth / backoff sequence and the SGD parameters against torch's GradScaler
// (test/fixtures/amp.json 'scaler', written by test/fixtures/make_amp_fixtures.py), state dicts,
// checkpoints, misuse; a float16 run whose gradients underflow without scaling and train with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { amp, loadCheckpoint, mseLoss, saveCheckpoint, sum, tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';

type Num = number | string;
interface Step {
  c: Num[];
  scaleBefore: number;
  skipped: boolean;
  scaleAfter: number;
  growthTracker: number;
  param: Num[];
}
interface Run {
  config: { init_scale: number; growth_factor: number; backoff_factor: number; growth_interval: number };
  steps: Step[];
  stateDict: Record<string, number>;
}
const FX = JSON.parse(readFileSync(new URL('../fixtures/amp.json', import.meta.url), 'utf8')) as { scaler: Run[] };
const num = (v: Num): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
const dir = mkdtempSync(join(tmpdir(), 'wg-amp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scalerOf(cfg: Run['config']): amp.GradScaler {
  return new amp.GradScaler({
    initScale: cfg.init_scale,
    growthFactor: cfg.growth_factor,
    backoffFactor: cfg.backoff_factor,
    growthInterval: cfg.growth_interval,
  });
}

describe('GradScaler against torch', () => {
  FX.scaler.forEach((run, r) => {
    it(`run ${r} (init ${run.config.init_scale}, ×${run.config.growth_factor}/×${run.config.backoff_factor} every ${run.config.growth_interval}): scale, skips, tracker, parameters`, () => {
      const p = tensor([1, -2, 0.5]).requiresGrad_();
      const opt = new optim.SGD([p], { lr: 0.1 });
      const scaler = scalerOf(run.config);
      let skipped = 0;
      for (const s of run.steps) {
        opt.zeroGrad();
        const loss = sum(p.mul(tensor(s.c.map(num))));
        scaler.scale(loss).backward();
        expect(scaler.getScale()).toBe(s.scaleBefore);
        const stepped = scaler.step(opt);
        expect(stepped).toBe(!s.skipped);
        expect(scaler.lastStepSkipped).toBe(s.skipped);
        if (s.skipped) skipped++;
        scaler.update();
        expect(scaler.getScale()).toBe(s.scaleAfter);
        expect(scaler.getGrowthTracker()).toBe(s.growthTracker);
        const got = Array.from(p.dataSync());
        s.param.map(num).forEach((want, i) => expect(got[i]).toBeCloseTo(want, 5));
      }
      expect(skipped).toBeGreaterThan(0);
      expect(scaler.skippedSteps).toBe(skipped);
      expect(scaler.stateDict()).toEqual(run.stateDict);
    });
  });

  it('unscale_ before step gives the true gradients (for clipping) and step does not unscale twice', () => {
    const p = tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 1 });
    const scaler = new amp.GradScaler({ initScale: 1024 });
    scaler.scale(sum(p.mul(tensor([3, -4])))).backward();
    expect(Array.from(p.grad!.dataSync())).toEqual([3072, -4096]);
    scaler.unscale_(opt);
    expect(Array.from(p.grad!.dataSync())).toEqual([3, -4]);
    expect(() => scaler.unscale_(opt)).toThrow(/already been called/);
    scaler.step(opt);
    expect(Array.from(p.dataSync())).toEqual([-2, 6]);
    expect(() => scaler.step(opt)).toThrow(/already been called since the last update/);
    scaler.update();
    expect(() => scaler.update()).toThrow(/no inf checks were recorded/);
  });

  it('large finite gradients are not overflow (the check is g·0, not a sum)', () => {
    const p = tensor([1, 1, 1, 1]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0 });
    const scaler = new amp.GradScaler({ initScale: 1 });
    scaler.scale(sum(p.mul(tensor([3e38, 3e38, 3e38, 3e38])))).backward(); // Σg would be inf
    expect(scaler.step(opt)).toBe(true);
  });

  it('disabled: a pass-through', () => {
    const p = tensor([1]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 1 });
    const s = new amp.GradScaler({ enabled: false });
    const l = sum(p.mul(2));
    expect(s.scale(l)).toBe(l);
    l.backward();
    expect(s.step(opt)).toBe(true);
    s.update();
    expect(s.getScale()).toBe(1);
    expect(s.stateDict()).toEqual({});
    expect(Array.from(p.dataSync())).toEqual([-1]);
  });

  it('bad options and state say which and why', () => {
    expect(() => new amp.GradScaler({ growthFactor: 0.5 })).toThrow(/growthFactor must be > 1/);
    expect(() => new amp.GradScaler({ backoffFactor: 2 })).toThrow(/backoffFactor must be < 1/);
    expect(() => new amp.GradScaler({ growthInterval: 0 })).toThrow(/growthInterval must be an integer >= 1/);
    expect(() => new amp.GradScaler({ initScale: -1 })).toThrow(/initScale must be a finite number > 0/);
    expect(() => new amp.GradScaler({ growth: 2 } as never)).toThrow(/growth/);
    const s = new amp.GradScaler();
    expect(() => s.loadStateDict({})).toThrow(/empty/);
    expect(() => s.loadStateDict({ scale: 2, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3 })).toThrow(/_growth_tracker/);
    expect(() => s.step({} as never)).toThrow(/optimizer with step\(\) and paramGroups/);
  });
});

describe('GradScaler state in checkpoints', () => {
  it('saveCheckpoint({ scaler }) / loadCheckpoint({ scaler }) round-trip scale and tracker', () => {
    const model = new nn.Linear(3, 2);
    const opt = new optim.Adam(model.parameters());
    const a = new amp.GradScaler({ initScale: 4096, growthInterval: 7 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      a.scale(sum(model.forward(wg.randn([2, 3])))).backward();
      a.step(opt);
      a.update();
    }
    const f = join(dir, 'scaler.safetensors');
    saveCheckpoint(f, { model, optimizer: opt, scaler: a });
    const b = new amp.GradScaler();
    loadCheckpoint(f, { model, optimizer: opt, scaler: b });
    expect(b.stateDict()).toEqual(a.stateDict());
    expect(b.getGrowthTracker()).toBe(3);
    expect(b.getGrowthInterval()).toBe(7);
    const plain = join(dir, 'plain.safetensors');
    saveCheckpoint(plain, { model });
    expect(() => loadCheckpoint(plain, { scaler: b })).toThrow(/holds no GradScaler state/);
  });
});

describe('float16 training with loss scaling', () => {
  // a regression whose loss is weighted by 1e-8: in float16 the output gradients (~1e-10) are below
  // the smallest subnormal (2^-24 ≈ 6e-8) and round to zero; scaled by 2^16 they are representable
  function train(scaler: amp.GradScaler | null, dtype: 'float16' | null): { first: number; last: number; changed: boolean } {
    wg.manualSeed(7);
    const model = new nn.Linear(8, 1);
    const x = wg.randn([64, 8]);
    const y = wg.matmul(x, wg.randn([8, 1])).add(0.5);
    const w0 = Array.from(model.weight.dataSync());
    const opt = new optim.Adam(model.parameters(), { lr: 0.05 });
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      opt.zeroGrad();
      const loss = dtype ? amp.autocast({ dtype }, () => mseLoss(model.forward(x), y).mul(1e-8)) : mseLoss(model.forward(x), y).mul(1e-8);
      losses.push(loss.dataSync()[0]!);
      if (scaler) {
        scaler.scale(loss).backward();
        scaler.step(opt);
        scaler.update();
      } else {
        loss.backward();
        opt.step();
      }
    }
    const w1 = Array.from(model.weight.dataSync());
    return { first: losses[0]!, last: losses[losses.length - 1]!, changed: w1.some((v, i) => v !== w0[i]) };
  }

  it('underflows without scaling (no weight moves) and trains with a GradScaler like float32 does', () => {
    const none = train(null, 'float16');
    expect(none.changed).toBe(false);
    expect(none.last).toBe(none.first);
    const scaled = train(new amp.GradScaler(), 'float16');
    const fp32 = train(null, null);
    expect(scaled.last).toBeLessThan(scaled.first / 5);
    expect(fp32.last).toBeLessThan(fp32.first / 5);
    expect(Math.abs(Math.log(scaled.last / fp32.last))).toBeLessThan(Math.log(3));
  });

  it('recovers from injected inf gradients: the step is skipped, the scale backs off, training goes on', () => {
    wg.manualSeed(8);
    const model = new nn.Linear(4, 1);
    const x = wg.randn([32, 4]);
    const y = wg.matmul(x, wg.randn([4, 1]));
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const scaler = new amp.GradScaler({ initScale: 256, growthInterval: 1000 });
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      opt.zeroGrad();
      const loss = amp.autocast({ dtype: 'float16' }, () => mseLoss(model.forward(x), y));
      losses.push(loss.dataSync()[0]!);
      scaler.scale(loss).backward();
      if (i === 10) model.weight.grad!.fill_(Infinity); // injected overflow
      if (i === 20) model.bias!.grad!.fill_(NaN);
      const before = Array.from(model.weight.dataSync());
      const stepped = scaler.step(opt);
      expect(stepped).toBe(i !== 10 && i !== 20);
      if (!stepped) expect(Array.from(model.weight.dataSync())).toEqual(before);
      scaler.update();
    }
    expect(scaler.skippedSteps).toBe(2);
    expect(scaler.getScale()).toBe(64);
    expect(losses[39]!).toBeLessThan(losses[0]! / 10);
    expect(Array.from(model.weight.dataSync()).every(Number.isFinite)).toBe(true);
  });
});
