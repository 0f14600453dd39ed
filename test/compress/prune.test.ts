// Unstructured magnitude pruning (torch.nn.utils.prune semantics and state dict keys), the TF-MOT
// schedule in fit(), sparsity reports, summary's sparse size, and structured channel pruning of the
// MNIST CNN (FLOPs, exactness against the original with those channels zeroed, fine-tuning).
import { describe, expect, it } from 'vitest';
import { manualSeed, memory, randn, tensor, tidy, fit, evaluate, noGrad, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { prune } from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';
import { mnistCnn, mnistMlp } from '../../lib/models/index.js';
import { loadMnist } from '../../lib/data/mnist.js';

const zeros = (t: Tensor): number => Array.from(t.dataSync() as ArrayLike<number>).filter((v) => v === 0).length;
const w = (m: nn.AnyModule, k = 'weight'): Tensor => (m as unknown as Record<string, Tensor>)[k]!;

describe('unstructured pruning', () => {
  it('l1Unstructured: exact sparsity, the smallest |w| go, torch state dict keys, forward uses the mask', () =>
    tidy(() => {
      manualSeed(1);
      const lin = new nn.Linear(10, 6);
      const before = Float64Array.from(lin.weight.dataSync());
      const x = randn([3, 10]);
      prune.l1Unstructured(lin, 'weight', { amount: 0.3 });
      expect(Object.keys(lin.stateDict())).toEqual(['bias', 'weight_orig', 'weight_mask']);
      expect(lin.parameters().length).toBe(2);
      expect(prune.isPruned(lin, 'weight')).toBe(true);
      const eff = w(lin);
      expect(zeros(eff)).toBe(18); // round(0.3 · 60)
      // every pruned |w| is at most every kept |w|
      const m = w(lin, 'weight_mask').dataSync();
      const maxPruned = Math.max(...[...before].filter((_, i) => m[i] === 0).map(Math.abs));
      const minKept = Math.min(...[...before].filter((_, i) => m[i] === 1).map(Math.abs));
      expect(maxPruned).toBeLessThanOrEqual(minKept);
      // weight_orig keeps the trained values; the forward is x · (orig ⊙ mask)ᵀ + b
      expect(Float64Array.from(w(lin, 'weight_orig').dataSync())).toEqual(before);
      const y = lin.forward(x).dataSync();
      const masked = tensor(
        [...before].map((v, i) => v * m[i]!),
        { shape: [6, 10] },
      );
      const want = x.matmul(masked.transpose(0, 1)).add(lin.bias!).dataSync();
      for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(want[i]!, 5);
      // repeated pruning compounds over the remaining entries (torch's PruningContainer): 42 left, round(0.5 · 42) = 21 more
      prune.l1Unstructured(lin, 'weight', { amount: 0.5 });
      expect(zeros(w(lin))).toBe(39);
      lin.dispose();
    }));

  it('amount outside [0, 1) and bad targets are errors', () =>
    tidy(() => {
      const lin = new nn.Linear(3, 2);
      for (const a of [-0.1, 1, 1.5, NaN])
        expect(() => prune.l1Unstructured(lin, 'weight', { amount: a })).toThrow(/l1Unstructured: amount must be a fraction in \[0, 1\)/);
      expect(() => prune.globalUnstructured([[lin, 'weight']], { amount: 1 })).toThrow(
        /globalUnstructured: amount must be a fraction in \[0, 1\)/,
      );
      expect(() => prune.l1Unstructured(lin, 'kernel', { amount: 0.5 })).toThrow(/Linear has no parameter 'kernel'/);
      expect(() => prune.remove(lin, 'weight')).toThrow(/'weight' of Linear is not pruned/);
      lin.dispose();
    }));

  it('gradients of pruned weights are zero; masks survive optimizer steps; remove() makes it permanent with the same Parameter', () => {
    manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const l0 = model.at(0) as nn.Linear;
    const param = l0.weight;
    prune.l1Unstructured(l0, 'weight', { amount: 0.5 });
    const mask = Float64Array.from(w(l0, 'weight_mask').dataSync());
    const opt = new optim.Adam(model.parameters(), { lr: 0.05 });
    expect(model.parameters()).toContain(param);
    const x = randn([16, 8]);
    const y = tensor(
      Array.from({ length: 16 }, (_, i) => i % 3),
      { dtype: 'int32' },
    );
    for (let s = 0; s < 5; s++) {
      tidy(() => {
        opt.zeroGrad();
        const l = model.forward(x);
        nn.functional.crossEntropy(l, y).backward();
        const g = param.grad!.dataSync();
        for (let i = 0; i < g.length; i++) if (mask[i] === 0) expect(g[i] === 0).toBe(true);
        expect(g.some((v) => v !== 0)).toBe(true);
        opt.step();
      });
      prune.applyMasks(model);
      const eff = w(l0).dataSync();
      for (let i = 0; i < eff.length; i++) if (mask[i] === 0) expect(eff[i] === 0).toBe(true);
    }
    expect(Float64Array.from(w(l0, 'weight_mask').dataSync())).toEqual(mask);
    prune.remove(l0, 'weight');
    expect(l0.weight).toBe(param);
    expect(Object.keys(model.stateDict())).toEqual(['0.bias', '0.weight', '2.weight', '2.bias']);
    expect(zeros(l0.weight)).toBe(64);
    expect(prune.isPruned(l0)).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(l0, 'forward')).toBe(false);
    for (const t of [x, y]) t.dispose();
    opt.dispose?.();
    model.dispose();
  });

  it('a pruned model saves and loads through its state dict (weight_orig, weight_mask)', () =>
    tidy(() => {
      manualSeed(3);
      const a = new nn.Linear(5, 4);
      prune.l1Unstructured(a, 'weight', { amount: 0.25 });
      const b = new nn.Linear(5, 4);
      prune.l1Unstructured(b, 'weight', { amount: 0 });
      b.loadStateDict(a.stateDict());
      const x = randn([2, 5]);
      expect(b.forward(x).dataSync()).toEqual(a.forward(x).dataSync());
      expect(zeros(w(b))).toBe(5);
      a.dispose();
      b.dispose();
    }));

  it('globalUnstructured prunes the smallest over all tensors together; sparsity() reports per layer', () =>
    tidy(() => {
      manualSeed(4);
      const model = new nn.Sequential(new nn.Linear(10, 20), new nn.ReLU(), new nn.Linear(20, 5));
      const l0 = model.at(0) as nn.Linear;
      const l2 = model.at(2) as nn.Linear;
      noGrad(() => l2.weight.mul_(0.01)); // the second layer's weights are all tiny: a global cut takes them first
      prune.globalUnstructured(
        [
          [l0, 'weight'],
          [l2, 'weight'],
        ],
        { amount: 0.4 },
      );
      const rep = prune.sparsity(model);
      expect(rep.layers.map((r) => r.name)).toEqual(['0.weight', '2.weight']);
      expect(rep.total.zeros).toBe(120); // round(0.4 · 300)
      expect(rep.layers[1]!.zeros).toBe(100);
      expect(rep.layers[0]!.zeros).toBe(20);
      expect(rep.layers[0]!.sparsity).toBeCloseTo(0.1, 12);
      expect(String(rep)).toMatch(/total: 120 of 300 zero \(40\.00%\)/);
      model.dispose();
    }));

  it('summary() shows the sparse size when masks are present', () =>
    tidy(() => {
      manualSeed(5);
      const model = new nn.Sequential(new nn.Linear(10, 20), new nn.ReLU(), new nn.Linear(20, 5));
      const dense = model.summary([1, 10], { print: false });
      expect(dense.totals.nonzeroParams).toBeUndefined();
      prune.l1Unstructured(model.at(0) as nn.Linear, 'weight', { amount: 0.5 });
      const s = model.summary([1, 10], { print: false });
      expect(s.totals.params).toBe(10 * 20 + 20 + 20 * 5 + 5);
      expect(s.totals.nonzeroParams).toBe(s.totals.params - 100);
      expect(s.text).toMatch(/Nonzero params: 225 of 325/);
      model.dispose();
    }));

  it('PruningCallback with PolynomialDecay in fit(): sparsity follows the TF-MOT schedule, masks persist between updates', async () => {
    const sched = new prune.PolynomialDecay({ initialSparsity: 0, finalSparsity: 0.8, beginStep: 0, endStep: 8, frequency: 2 });
    expect(sched.sparsity(0)).toBe(0);
    expect(sched.sparsity(4)).toBeCloseTo(0.8 + (0 - 0.8) * 0.5 ** 3, 12);
    expect(sched.sparsity(20)).toBeCloseTo(0.8, 12);
    expect([0, 1, 2, 3, 8, 9].map((s) => sched.shouldPrune(s))).toEqual([true, false, true, false, true, false]);
    expect(() => new prune.PolynomialDecay({ initialSparsity: 0, finalSparsity: 1, endStep: 10 })).toThrow(
      /finalSparsity must be in \[0, 1\)/,
    );
    expect(() => new prune.PolynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 10, endStep: 5 })).toThrow(
      /endStep \(5\) must be after beginStep \(10\)/,
    );
    const constant = new prune.ConstantSparsity({ targetSparsity: 0.5, beginStep: 2, frequency: 3 });
    expect(constant.sparsity()).toBe(0.5);
    expect([0, 2, 4, 5, 8, 1000000].map((st) => constant.shouldPrune(st))).toEqual([false, true, false, true, true, false]);
    expect(() => new prune.ConstantSparsity({ targetSparsity: -0.5 })).toThrow(/targetSparsity must be in \[0, 1\)/);

    manualSeed(6);
    const model = new nn.Sequential(new nn.Linear(4, 32), new nn.ReLU(), new nn.Linear(32, 3));
    const x = randn([40, 4]);
    const y = tensor(
      Array.from({ length: 40 }, (_, i) => i % 3),
      { dtype: 'int32' },
    );
    const seen: number[] = [];
    const cb = new prune.PruningCallback({ schedule: sched });
    const live = memory().tensors;
    await fit(model, {
      x,
      y,
      batchSize: 4,
      epochs: 1,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      verbose: false,
      callbacks: [
        cb,
        {
          onBatchEnd: () => {
            seen.push(prune.sparsity(model).layers[0]!.sparsity);
          },
        },
      ],
    });
    // steps 1..10: masks updated at steps 2, 4, 6, 8 (the step count after each optimizer step)
    const want = [0, 2, 2, 4, 4, 6, 6, 8, 8, 8].map((s) => Math.round(sched.sparsity(s) * 128) / 128);
    expect(seen).toEqual(want);
    expect(cb.lastSparsity).toBeCloseTo(0.8, 12);
    expect(prune.sparsity(model).total.zeros).toBe(Math.round(0.8 * 128) + Math.round(0.8 * 96));
    // the masks and masked weights are the only tensors pruning adds; remove() frees them
    for (const i of [0, 2]) prune.remove(model.at(i), 'weight');
    model.zeroGrad(); // fit leaves the last gradients on the parameters
    expect(memory().tensors).toBe(live);
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });
});

describe('unstructured pruning on MNIST', () => {
  it('50% global magnitude pruning of the MLP, fine-tuned with the masks kept, stays within 1 point', async () => {
    const data = loadMnist({ trainLimit: 1000, testLimit: 1000 });
    const [xTrain, yTrain] = data.train.tensors as [Tensor, Tensor];
    const [xTest, yTest] = data.test.tensors as [Tensor, Tensor];
    const accuracy = async (m: nn.AnyModule): Promise<number> =>
      (await evaluate(m, { x: xTest, y: yTest, batchSize: 500 }, { metrics: ['accuracy'] })).metrics.accuracy!;
    const train = (m: nn.AnyModule, epochs: number) =>
      fit(m, {
        x: xTrain,
        y: yTrain,
        batchSize: 50,
        shuffle: true,
        seed: 5,
        epochs,
        optimizer: new optim.Adam(m.parameters(), { lr: 1e-3 }),
        verbose: false,
      });
    manualSeed(12);
    const model = mnistMlp();
    await train(model, 5);
    const accDense = await accuracy(model);
    const targets: [nn.AnyModule, string][] = [
      [model.at(1), 'weight'],
      [model.at(4), 'weight'],
    ];
    prune.globalUnstructured(targets, { amount: 0.5 });
    const n = 784 * 256 + 256 * 10;
    expect(prune.sparsity(model).total.zeros).toBe(Math.round(0.5 * n));
    const accPruned = await accuracy(model);
    await train(model, 2);
    const accTuned = await accuracy(model);
    // the masks held through fine-tuning: exactly the same zeros
    expect(prune.sparsity(model).total.zeros).toBe(Math.round(0.5 * n));
    console.log(
      `unstructured 50% (MNIST MLP 784-256-10, 1,000 train / 1,000 test digits): dense ${(100 * accDense).toFixed(1)}%, pruned ${(100 * accPruned).toFixed(1)}%, fine-tuned 2 epochs ${(100 * accTuned).toFixed(1)}%`,
    );
    expect(accTuned).toBeGreaterThanOrEqual(accDense - 0.01);
    for (const [m, k] of targets) prune.remove(m, k);
    expect(prune.sparsity(model).total.zeros).toBe(Math.round(0.5 * n));
    model.dispose();
    for (const t of [xTrain, yTrain, xTest, yTest]) t.dispose();
  }, 120_000);
});

describe('structured channel pruning', () => {
  it('errors: not a Sequential, an unfollowable layer, grouped convs, amount', () =>
    tidy(() => {
      expect(() => prune.pruneChannels(new nn.Linear(3, 2), { amount: 0.5 })).toThrow(
        /only nn.Sequential models can be followed \(got Linear\)/,
      );
      const m = new nn.Sequential(new nn.Linear(4, 8), new nn.LayerNorm(8), new nn.Linear(8, 2));
      expect(() => prune.pruneChannels(m, { amount: 0.5 })).toThrow(/cannot follow 1 \(LayerNorm\) after 0 \(Linear\)/);
      const g = new nn.Sequential(new nn.Conv2d(4, 4, 3, { groups: 2 }), new nn.Conv2d(4, 2, 1));
      expect(() => prune.pruneChannels(g, { amount: 0.5 })).toThrow(/0 is a grouped Conv2d \(groups=2\)/);
      expect(() => prune.pruneChannels(m, { amount: 1 })).toThrow(/amount must be a fraction in \[0, 1\)/);
      for (const x of [m, g]) x.dispose();
    }));

  it('BatchNorm2d and Linear → Linear are rewired; the output equals the original with the removed channels zeroed', () =>
    tidy(() => {
      manualSeed(7);
      const make = (): nn.Sequential =>
        new nn.Sequential(
          new nn.Conv2d(2, 6, 3),
          new nn.BatchNorm2d(6),
          new nn.ReLU(),
          new nn.Flatten(),
          new nn.Linear(6 * 4 * 4, 10),
          new nn.Tanh(),
          new nn.Linear(10, 3),
        );
      const a = make();
      // non-trivial running statistics
      a.train();
      noGrad(() => a.forward(randn([8, 2, 6, 6])));
      a.eval();
      const b = make();
      b.loadStateDict(a.stateDict());
      b.eval();
      const r = prune.pruneChannels(b, { amount: 0.5, norm: 'l2' });
      expect(r.layers.map((l) => [l.name, l.before, l.after, l.rewired])).toEqual([
        ['0', 6, 3, ['1', '4']],
        ['4', 10, 5, ['6']],
      ]);
      expect((b.at(1) as nn.BatchNorm2d).numFeatures).toBe(3);
      expect((b.at(4) as nn.Linear).inFeatures).toBe(48);
      // zero the removed channels in the original: conv filter + bias, BN bias (so the channel stays 0 through BN → ReLU)
      noGrad(() => {
        const conv = a.at(0) as nn.Conv2d;
        const bn = a.at(1) as nn.BatchNorm2d;
        const fc = a.at(4) as nn.Linear;
        const rm0 = r.layers[0]!.removed;
        const wc = conv.weight.dataSync(),
          bc = conv.bias!.dataSync(),
          bnw = bn.weight!.dataSync(),
          bnb = bn.bias!.dataSync();
        for (const c of rm0) {
          wc.fill(0, c * 18, (c + 1) * 18);
          bc[c] = 0;
          bnw[c] = 0;
          bnb[c] = 0;
        }
        const wf = fc.weight.dataSync(),
          bf = fc.bias!.dataSync();
        for (const c of r.layers[1]!.removed) {
          wf.fill(0, c * 96, (c + 1) * 96);
          bf[c] = 0;
        }
        conv.weight.copy_(tensor(wc, { shape: [...conv.weight.shape] }));
        conv.bias!.copy_(tensor(bc));
        bn.weight!.copy_(tensor(bnw));
        bn.bias!.copy_(tensor(bnb));
        fc.weight.copy_(tensor(wf, { shape: [...fc.weight.shape] }));
        fc.bias!.copy_(tensor(bf));
      });
      const x = randn([4, 2, 6, 6]);
      const ya = noGrad(() => a.forward(x)).dataSync();
      const yb = noGrad(() => b.forward(x)).dataSync();
      for (let i = 0; i < ya.length; i++) expect(yb[i]).toBeCloseTo(ya[i]!, 5);
      a.dispose();
      b.dispose();
    }));

  it('MNIST CNN: 50% channels → ≥ 1.8× fewer FLOPs, outputs equal the zeroed original, fine-tuning recovers accuracy', async () => {
    const data = loadMnist({ trainLimit: 1000, testLimit: 1000 });
    const [xTrain, yTrain] = data.train.tensors as [Tensor, Tensor];
    const [xTest, yTest] = data.test.tensors as [Tensor, Tensor];
    const accuracy = async (m: nn.AnyModule): Promise<number> =>
      (await evaluate(m, { x: xTest, y: yTest, batchSize: 500 }, { metrics: ['accuracy'] })).metrics.accuracy!;
    const train = (m: nn.AnyModule, epochs: number) =>
      fit(m, {
        x: xTrain,
        y: yTrain,
        batchSize: 50,
        shuffle: true,
        seed: 3,
        epochs,
        optimizer: new optim.Adam(m.parameters(), { lr: 1e-3 }),
        verbose: false,
      });
    manualSeed(11);
    const model = mnistCnn();
    await train(model, 3);
    const accBefore = await accuracy(model);
    const flopsBefore = model.summary([1, 1, 28, 28], { print: false }).totals.flops;

    const zeroed = mnistCnn();
    zeroed.loadStateDict(model.stateDict());
    const r = prune.pruneChannels(model, { amount: 0.5 });
    expect(r.layers.map((l) => [l.name, l.before, l.after])).toEqual([
      ['0', 16, 8],
      ['3', 32, 16],
    ]);
    expect(String(model)).toMatch(/Conv2d\(1, 8, kernel_size=\(5, 5\)/);
    expect((model.at(7) as nn.Linear).inFeatures).toBe(16 * 4 * 4);
    const flopsAfter = model.summary([1, 1, 28, 28], { print: false }).totals.flops;
    expect(flopsBefore / flopsAfter).toBeGreaterThanOrEqual(1.8);

    // exactness: the original with the removed filters zeroed gives the same logits
    noGrad(() => {
      for (const [idx, layer] of [
        [0, r.layers[0]!],
        [3, r.layers[1]!],
      ] as const) {
        const conv = zeroed.at(idx) as nn.Conv2d;
        const per = conv.weight.size / conv.outChannels;
        const wv = conv.weight.dataSync(),
          bv = conv.bias!.dataSync();
        for (const c of layer.removed) {
          wv.fill(0, c * per, (c + 1) * per);
          bv[c] = 0;
        }
        conv.weight.copy_(tensor(wv, { shape: [...conv.weight.shape] }));
        conv.bias!.copy_(tensor(bv));
      }
    });
    const xs = xTest.slice(0, 0, 64);
    const ya = noGrad(() => zeroed.eval().forward(xs)).dataSync();
    const yb = noGrad(() => model.eval().forward(xs)).dataSync();
    let err = 0;
    for (let i = 0; i < ya.length; i++) err = Math.max(err, Math.abs(ya[i]! - yb[i]!));
    expect(err).toBeLessThan(1e-4);

    const accPruned = await accuracy(model);
    await train(model, 2);
    const accTuned = await accuracy(model);
    console.log(
      `channel pruning 50% (MNIST CNN, 1,000 train / 1,000 test digits): FLOPs ${flopsBefore} → ${flopsAfter} (${(flopsBefore / flopsAfter).toFixed(2)}×); accuracy ${(100 * accBefore).toFixed(1)}% → pruned ${(100 * accPruned).toFixed(1)}% → fine-tuned 2 epochs ${(100 * accTuned).toFixed(1)}%`,
    );
    expect(accTuned).toBeGreaterThan(accPruned);
    expect(accTuned).toBeGreaterThan(accBefore - 0.03);
    for (const m of [model, zeroed]) m.dispose();
    for (const t of [xTrain, yTrain, xTest, yTest, xs]) t.dispose();
  }, 120_000);
});
