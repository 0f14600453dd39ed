// fit() on raw tensors (Keras' x, y, batchSize, validationSplit, validationData, shuffle), losses
// by name with Keras aliases, the softmax-twice warning and probability inputs, ReduceLROnPlateau
// stepped by fit on the monitored value.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fit, evaluate } from '../../lib/train/fit.js';
import { resetLossWarnings, resolveLoss, resolveLossSpec } from '../../lib/train/losses.js';
import * as nn from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';
import { huberLoss } from '../../lib/nn/functional.js';
import { crossEntropy, logSoftmax, memory, manualSeed, randn, softmax, tensor, tidy, type Tensor } from '../../lib/index.js';

/** 3 well-separated 2-D blobs, n per class, interleaved (so any split holds every class). */
function blobs(n: number): { x: Tensor; y: Tensor } {
  manualSeed(7);
  const centers = [
    [2, 0],
    [-2, 1.5],
    [0, -2.5],
  ];
  const noise = randn([3 * n, 2]).dataSync();
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < 3 * n; i++) {
    const c = i % 3;
    xs.push([centers[c]![0]! + 0.5 * noise[2 * i]!, centers[c]![1]! + 0.5 * noise[2 * i + 1]!]);
    ys.push(c);
  }
  return { x: tensor(xs), y: tensor(ys, { dtype: 'int32' }) };
}

function model(last?: nn.Module): nn.Sequential {
  manualSeed(1);
  const m = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 3));
  if (last) m.add(last);
  return m;
}

afterEach(() => {
  vi.restoreAllMocks();
  resetLossWarnings();
});

describe('fit with tensors', () => {
  it('x, y, batchSize, validationSplit (the last fraction, like Keras) and shuffle train a classifier', async () => {
    const { x, y } = blobs(40); // 120 samples
    const before = memory().tensors;
    const m = model();
    const opt = new optim.Adam(m.parameters(), { lr: 0.05 });
    const h = await fit(m, {
      x,
      y,
      batchSize: 16,
      validationSplit: 0.25,
      epochs: 8,
      optimizer: opt,
      metrics: ['accuracy', 'f1'],
      verbose: false,
    });
    expect(h.epochs[0]!.samples).toBe(90); // ceil(120 · 0.75)
    expect(h.epochs[0]!.steps).toBe(6); // 90 / 16 rounded up
    const last = h.epochs[h.epochs.length - 1]!;
    expect(last.metrics.accuracy).toBeGreaterThan(0.95);
    expect(last.valMetrics!.accuracy).toBeGreaterThan(0.95);
    expect(last.valMetrics!.f1).toBeGreaterThan(0.95);
    expect(last.loss).toBeLessThan(h.epochs[0]!.loss);
    opt.dispose();
    m.dispose();
    expect(memory().tensors).toBe(before);
    x.dispose();
    y.dispose();
  });

  it('validationSplit holds out exactly what validationData [x[at:], y[at:]] would', async () => {
    const { x, y } = blobs(20); // 60 samples, split 0.3 → train 42, validation 18
    const run = async (o: object): Promise<number[]> => {
      const m = model();
      const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
      const h = await fit(m, { epochs: 2, optimizer: opt, verbose: false, batchSize: 8, seed: 3, ...o });
      opt.dispose();
      m.dispose();
      return h.epochs.flatMap((e) => [e.loss, e.valLoss!]);
    };
    const a = await run({ x, y, validationSplit: 0.3 });
    const [xt, yt, xv, yv] = [x.slice(0, 0, 42), y.slice(0, 0, 42), x.slice(0, 42, 60), y.slice(0, 42, 60)];
    const b = await run({ x: xt, y: yt, validationData: [xv, yv] });
    expect(a).toEqual(b);
    for (const t of [x, y, xt, yt, xv, yv]) t.dispose();
  });

  it('evaluate takes { x, y, batchSize } like Keras evaluate(x, y)', async () => {
    const { x, y } = blobs(10);
    const m = model();
    const { DataLoader, TensorDataset } = await import('../../lib/data/index.js');
    const a = await evaluate(m, { x, y, batchSize: 7 }, { metrics: ['accuracy', 'f1'] });
    const b = await evaluate(m, new DataLoader(new TensorDataset(x, y), { batchSize: 7 }), { metrics: ['accuracy', 'f1'] });
    expect(a.samples).toBe(30);
    expect(a.loss).toBe(b.loss);
    expect(a.metrics).toEqual(b.metrics);
    await expect(evaluate(m, { x, y, batch: 4 } as never)).rejects.toThrow(/evaluate: unknown key 'batch' in the data object/);
    await expect(evaluate(m, { x } as never)).rejects.toThrow(/evaluate: y must be a tensor/);
    m.dispose();
    x.dispose();
    y.dispose();
  });

  it('rejects mixed or incomplete data options with a clear message', async () => {
    const { x, y } = blobs(4);
    const m = model();
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    const base = { optimizer: opt, verbose: false };
    await expect(fit(m, { ...base, x })).rejects.toThrow(/fit: y must be a tensor \(the targets for x\)/);
    await expect(fit(m, { ...base, x, y: y.slice(0, 0, 5) })).rejects.toThrow(/fit: x \(12,2\) and y \(5,\) must have the same first/);
    await expect(fit(m, { ...base, x, y, train: [[x, y]] })).rejects.toThrow(/either train \(a loader\) or x and y/);
    await expect(fit(m, { ...base, train: [[x, y]], batchSize: 4 })).rejects.toThrow(/batchSize goes with x and y.*on the DataLoader/);
    await expect(fit(m, { ...base, x, y, validationSplit: 1 })).rejects.toThrow(
      /validationSplit 1 \(must be a finite number in \[0, 1\)\)/,
    );
    await expect(fit(m, { ...base, x, y, validationSplit: 0.2, validationData: [x, y] })).rejects.toThrow(
      /validationSplit or validationData, not both/,
    );
    await expect(fit(m, { ...base, x, y, batchSize: 0 })).rejects.toThrow(/invalid batchSize 0/);
    opt.dispose();
    m.dispose();
    x.dispose();
    y.dispose();
  });
});

describe('losses by name', () => {
  it('every name and Keras alias computes the matching function', () =>
    tidy(() => {
      const logits = tensor([
        [1, -0.5, 2],
        [0.3, 0.1, -1],
      ]);
      const cls = tensor([2, 0], { dtype: 'int32' });
      const v = tensor([0.2, -1.5, 3]);
      const t = tensor([0, -1, 1]);
      const p = tensor([0.9, 0.2, 0.6]);
      const b = tensor([1, 0, 1]);
      const ce = crossEntropy(logits, cls).item();
      for (const n of ['crossEntropy', 'cross_entropy', 'sparse_categorical_crossentropy'] as const)
        expect(resolveLoss(n)(logits, cls).item()).toBeCloseTo(ce, 6);
      expect(resolveLoss('nll')(logSoftmax(logits, 1), cls).item()).toBeCloseTo(ce, 6);
      // hand values: mse (0.04 + 0.25 + 4) / 3, l1 (0.2 + 0.5 + 2) / 3, huber δ=1 (0.02 + 0.125 + 1.5) / 3
      for (const n of ['mse', 'mean_squared_error'] as const) expect(resolveLoss(n)(v, t).item()).toBeCloseTo(4.29 / 3, 6);
      for (const n of ['l1', 'mae', 'mean_absolute_error'] as const) expect(resolveLoss(n)(v, t).item()).toBeCloseTo(2.7 / 3, 6);
      for (const n of ['huber', 'huber_loss'] as const) expect(resolveLoss(n)(v, t).item()).toBeCloseTo(1.645 / 3, 6);
      expect(resolveLoss({ name: 'huber', delta: 2 })(v, t).item()).toBeCloseTo((0.02 + 0.125 + 2 * (2 - 1)) / 3, 6);
      expect(huberLoss(v, t, { reduction: 'sum' }).item()).toBeCloseTo(1.645, 6);
      // bce on probabilities: -(log 0.9 + log 0.8 + log 0.6) / 3; bceWithLogits on logit(p) equals it
      const bce = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.6)) / 3;
      for (const n of ['bce', 'binary_crossentropy'] as const) expect(resolveLoss(n)(p, b).item()).toBeCloseTo(bce, 6);
      const logit = tensor([Math.log(9), Math.log(0.25), Math.log(1.5)]);
      expect(resolveLoss('bceWithLogits')(logit, b).item()).toBeCloseTo(bce, 6);
      // one-hot probability targets: Keras' categorical_crossentropy
      expect(
        resolveLoss('categorical_crossentropy')(
          logits,
          tensor([
            [0, 0, 1],
            [1, 0, 0],
          ]),
        ).item(),
      ).toBeCloseTo(ce, 6);
    }));

  it('unknown names and options suggest the nearest', () => {
    expect(() => resolveLoss('crossentropy' as 'mse')).toThrow(/unknown loss 'crossentropy' — did you mean 'crossEntropy'\?/);
    expect(() => resolveLoss('binary_crossentopy' as 'mse')).toThrow(/did you mean 'binary_crossentropy'/);
    expect(() => resolveLoss({ name: 'crossEntropy', fromLogit: false } as never)).toThrow(
      /unknown option 'fromLogit' — did you mean 'fromLogits'/,
    );
    expect(() => resolveLoss({ name: 'mse', delta: 1 })).toThrow(/loss 'mse' takes no option 'delta'/);
  });

  it('crossEntropy fromLogits: false takes probabilities: the same loss and logit gradients as logits', () =>
    tidy(() => {
      const z = tensor([
        [1, -0.5, 2],
        [0.3, 0.1, -1],
        [0, 0, 0.7],
      ]).requiresGrad_();
      const y = tensor([2, 0, 1], { dtype: 'int32' });
      const a = crossEntropy(z, y);
      a.backward();
      const ga = Array.from(z.grad!.dataSync());
      z.grad = null;
      const b = crossEntropy(softmax(z, 1), y, { fromLogits: false, labelSmoothing: 0 });
      b.backward();
      expect(b.item()).toBeCloseTo(a.item(), 6);
      Array.from(z.grad!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(ga[i]!, 6));
      expect(() => crossEntropy(z, y, { fromLogits: 'no' as unknown as boolean })).toThrow(/fromLogits must be true or false/);
      expect(new nn.CrossEntropyLoss({ fromLogits: false }).forward(softmax(z, 1), y).item()).toBeCloseTo(a.item(), 6);
    }));
});

describe('softmax twice', () => {
  it('fit warns once when a model ending in Softmax meets a logits loss; probabilities are accepted when said', async () => {
    const { x, y } = blobs(10);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const go = async (last: nn.Module | undefined, loss: Parameters<typeof resolveLossSpec>[0]): Promise<number> => {
      const m = model(last);
      const opt = new optim.Adam(m.parameters(), { lr: 0.05 });
      const h = await fit(m, { x, y, epochs: 1, optimizer: opt, loss, verbose: false });
      opt.dispose();
      m.dispose();
      return h.epochs[0]!.loss;
    };
    await go(new nn.Softmax(1), 'crossEntropy');
    await go(new nn.Softmax(1), 'sparse_categorical_crossentropy');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /wattgrad fit: the model ends in nn\.Softmax but loss 'crossEntropy' expects logits.*softmax runs twice.*fromLogits: false/,
    );
    warn.mockClear();
    // said explicitly, or matching pairs: no warning, and the same training as logits + crossEntropy
    const logitsLoss = await go(undefined, 'crossEntropy');
    const probLoss = await go(new nn.Softmax(1), { name: 'crossEntropy', fromLogits: false });
    const nllLoss = await go(new nn.LogSoftmax(1), 'nll');
    await go(new nn.LogSoftmax(1), 'crossEntropy'); // exact: log_softmax is idempotent
    expect(warn).not.toHaveBeenCalled();
    expect(probLoss).toBeCloseTo(logitsLoss, 5);
    expect(nllLoss).toBeCloseTo(logitsLoss, 5);
    // the other contradictions
    await go(new nn.Softmax(1), 'nll');
    expect(String(warn.mock.calls[0]![0])).toMatch(/ends in nn\.Softmax but loss 'nll' expects log-probabilities/);
    await go(new nn.LogSoftmax(1), { name: 'crossEntropy', fromLogits: false });
    expect(String(warn.mock.calls[1]![0])).toMatch(/ends in nn\.LogSoftmax but loss 'crossEntropy' expects probabilities/);
    x.dispose();
    y.dispose();
  });

  it('a Sigmoid before bceWithLogits warns (nested Sequential)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const m = new nn.Sequential(new nn.Linear(2, 1), new nn.Sequential(new nn.ReLU(), new nn.Sigmoid()));
    const r = resolveLossSpec('bceWithLogits');
    return import('../../lib/train/losses.js').then(({ warnLossMismatch }) => {
      expect(warnLossMismatch('fit', m, r)).toMatch(/ends in nn\.Sigmoid but loss 'bceWithLogits' expects logits/);
      expect(warnLossMismatch('fit', m, resolveLossSpec('bce'))).toBeNull();
      expect(warn).toHaveBeenCalledTimes(1);
      m.dispose();
    });
  });
});

describe('ReduceLROnPlateau in fit', () => {
  it('fit steps it with the monitored value', async () => {
    const { x, y } = blobs(8);
    const m = model();
    const opt = new optim.SGD(m.parameters(), { lr: 1e-6 }); // the loss stays flat (< 1e-4 relative): no epoch is better
    const sched = new optim.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5, monitor: 'loss' });
    const h = await fit(m, { x, y, shuffle: false, epochs: 4, optimizer: opt, scheduler: sched, verbose: false });
    expect(h.epochs.map((e) => e.lr)).toEqual([1e-6, 1e-6, 5e-7, 2.5e-7]);
    expect(sched.numBadEpochs).toBe(0);
    // the default monitor is 'val_loss' with validation data, else 'loss'; a missing key is a clear error
    const s2 = new optim.ReduceLROnPlateau(opt, { patience: 0 });
    await fit(m, { x, y, validationSplit: 0.25, epochs: 1, optimizer: opt, scheduler: s2, verbose: false, metrics: ['accuracy'] });
    expect(s2.lastEpoch).toBe(1);
    const s3 = new optim.ReduceLROnPlateau(opt, { monitor: 'val_accuracy' });
    await expect(fit(m, { x, y, epochs: 1, optimizer: opt, scheduler: s3, verbose: false })).rejects.toThrow(
      /fit: the scheduler monitors 'val_accuracy', which this epoch's log does not have \(no validation data/,
    );
    const ev = await evaluate(m, [[x, y]], { loss: 'crossEntropy', metrics: [] });
    expect(ev.loss).toBeGreaterThan(0);
    opt.dispose();
    m.dispose();
    x.dispose();
    y.dispose();
  });
});
