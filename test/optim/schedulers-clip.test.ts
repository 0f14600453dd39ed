// lr schedulers (closed forms, hand-computed) and gradient clipping.
import { describe, expect, it } from 'vitest';
import { costDelta, costSnapshot, memory, tensor, tidy } from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import * as nn from '../../lib/nn/index.js';
import { near } from '../nn/helpers.js';

function opt(lr = 1): optim.SGD {
  return new optim.SGD([nn.Parameter.from(tensor([1]))], { lr });
}

function run(s: optim.LRScheduler, n: number): number[] {
  const out = [s.getLastLr()[0]!];
  for (let i = 0; i < n; i++) {
    s.step();
    out.push(s.getLastLr()[0]!);
  }
  return out;
}

function closeSeq(a: number[], b: number[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v, `epoch ${i}`).toBeCloseTo(b[i]!, 12));
}

describe('schedulers', () => {
  it('StepLR', () => {
    closeSeq(run(new optim.StepLR(opt(0.1), { stepSize: 2, gamma: 0.5 }), 5), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
    expect(() => new optim.StepLR(opt(), { stepSize: 0 })).toThrow(/stepSize/);
  });
  it('ExponentialLR and LambdaLR', () => {
    closeSeq(run(new optim.ExponentialLR(opt(2), { gamma: 0.5 }), 3), [2, 1, 0.5, 0.25]);
    closeSeq(run(new optim.LambdaLR(opt(1), (e) => 1 / (e + 1)), 3), [1, 1 / 2, 1 / 3, 1 / 4]);
  });
  it("CosineAnnealingLR follows torch's closed form", () => {
    // eta_min + (base - eta_min)(1 + cos(pi e / T)) / 2 with base 1, eta_min 0.1, T 4
    const f = (e: number) => 0.1 + (0.9 * (1 + Math.cos((Math.PI * e) / 4))) / 2;
    const seq = run(new optim.CosineAnnealingLR(opt(1), { tMax: 4, etaMin: 0.1 }), 6);
    closeSeq(seq, [0, 1, 2, 3, 4, 5, 6].map(f));
    expect(seq[2]).toBeCloseTo(0.55, 12);
    expect(seq[4]).toBeCloseTo(0.1, 12);
  });
  it('LinearWarmup ramps then hands over to the wrapped scheduler', () => {
    const o = opt(1);
    const cos = new optim.CosineAnnealingLR(o, { tMax: 2 });
    const s = new optim.LinearWarmup(o, { warmupSteps: 4, after: cos });
    closeSeq(run(s, 7), [0, 0.25, 0.5, 0.75, 1, 0.5, 0, 0.5]);
    expect(o.paramGroups[0]!.lr).toBeCloseTo(0.5, 12);
    closeSeq(run(new optim.LinearWarmup(opt(0.1), { warmupSteps: 2, startFactor: 0.5 }), 3), [0.05, 0.075, 0.1, 0.1]);
  });
  it('applies per group and round-trips its state', () => {
    const a = nn.Parameter.from(tensor([1]));
    const b = nn.Parameter.from(tensor([1]));
    const o = new optim.SGD([
      { params: [a], lr: 1 },
      { params: [b], lr: 0.5 },
    ]);
    const s = new optim.StepLR(o, { stepSize: 1, gamma: 0.1 });
    s.step();
    s.step();
    expect(s.getLastLr()[0]).toBeCloseTo(0.01, 12);
    expect(o.getLr()[1]).toBeCloseTo(0.005, 12);
    const sd = s.stateDict();
    expect(sd.lastEpoch).toBe(2);
    const o2 = new optim.SGD([
      { params: [a], lr: 1 },
      { params: [b], lr: 0.5 },
    ]);
    const s2 = new optim.StepLR(o2, { stepSize: 1, gamma: 0.1 });
    s2.loadStateDict(sd);
    expect(o2.getLr()[1]).toBeCloseTo(0.005, 12);
    s2.step();
    expect(o2.getLr()[0]).toBeCloseTo(0.001, 12);
    a.dispose();
    b.dispose();
  });
});

describe('gradient clipping', () => {
  it('clipGradNorm scales by maxNorm / (norm + 1e-6) and returns the norm', () =>
    tidy(() => {
      const a = nn.Parameter.from(tensor([3, 0], { dtype: 'float64' }));
      const b = nn.Parameter.from(tensor([[0, 4]], { dtype: 'float64' }));
      a.grad = tensor([3, 0], { dtype: 'float64' }).keep();
      b.grad = tensor([[0, 4]], { dtype: 'float64' }).keep();
      const c0 = costSnapshot();
      const n = optim.clipGradNorm([a, b], 1);
      const d = costDelta(c0, costSnapshot());
      expect(n.item()).toBeCloseTo(5, 12);
      expect(d.calls).toBeGreaterThan(0);
      near(a.grad!, [3 / (5 + 1e-6), 0], 1e-12);
      near(b.grad!, [0, 4 / (5 + 1e-6)], 1e-12);
      // below the limit: unchanged (scale clamped at 1)
      const n2 = optim.clipGradNorm([a, b], 10);
      expect(n2.item()).toBeCloseTo(5 / (5 + 1e-6), 9);
      near(a.grad!, [3 / (5 + 1e-6), 0], 1e-12);
      // inf and 1 norms
      a.grad = tensor([-7, 1], { dtype: 'float64' }).keep();
      expect(optim.clipGradNorm([a, b], 100, Infinity).item()).toBeCloseTo(7, 12);
      expect(optim.clipGradNorm([a], 100, 1).item()).toBeCloseTo(8, 12);
      expect(() => optim.clipGradNorm([a], -1)).toThrow(/maxNorm/);
      a.dispose();
      b.dispose();
    }));
  it('clipGradValue clamps; params without grads are skipped; no leaks', () => {
    const before = memory().tensors;
    tidy(() => {
      const a = nn.Parameter.from(tensor([1, 2, 3]));
      const b = nn.Parameter.from(tensor([1]));
      a.grad = tensor([-5, 0.5, 5]).keep();
      optim.clipGradValue([a, b], 1);
      near(a.grad!, [-1, 0.5, 1]);
      expect(b.grad).toBeNull();
      optim.clipGradNorm([a, b], 1).dispose();
      a.dispose();
      b.dispose();
    });
    expect(memory().tensors).toBe(before);
  });
});
