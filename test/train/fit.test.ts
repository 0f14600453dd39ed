import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fit, evaluate, predict } from '../../lib/train/fit.js';
import { EarlyStopping, ModelCheckpoint, CSVLogger, JSONLogger, LambdaCallback } from '../../lib/train/callbacks.js';
import { saveCheckpoint, loadCheckpoint } from '../../lib/io/checkpoint.js';
import { load } from '../../lib/io/safetensors.js';
import { DataLoader } from '../../lib/data/loader.js';
import { loadMnist, type MnistDatasets } from '../../lib/data/mnist.js';
import { memory } from '../../lib/memory.js';
import { manualSeed, getRngState } from '../../lib/random.js';
import { Tensor } from '../../lib/tensor.js';
import { isGradEnabled } from '../../lib/autograd/mode.js';
import { Adam, StepLR, TinyMLP, sink } from './helpers.js';

let mnist: MnistDatasets;
let dir: string;
beforeAll(() => {
  mnist = loadMnist({ trainLimit: 1024, testLimit: 512 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-fit-'));
});
afterAll(() => {
  mnist.train.dispose();
  mnist.test.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function setup(seed = 0, hidden = 32): { model: TinyMLP; opt: Adam; dispose(): void } {
  manualSeed(seed);
  const model = new TinyMLP(784, hidden);
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  return {
    model,
    opt,
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}

describe('fit', () => {
  it('trains, validates and returns a per-epoch history', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 32, shuffle: true, seed: 1 });
    const val = new DataLoader(mnist.test, { batchSize: 256 });
    const h = await fit(model, { train, validation: val, optimizer: opt, epochs: 3, metrics: ['accuracy'], verbose: false });
    expect(h.epochs.length).toBe(3);
    const [e1, , e3] = h.epochs;
    expect(e3!.loss).toBeLessThan(e1!.loss);
    expect(e3!.metrics.accuracy).toBeGreaterThan(0.85);
    expect(e3!.valMetrics!.accuracy).toBeGreaterThan(0.8);
    expect(e3!.valLoss).toBeGreaterThan(0);
    expect(e1!.samples).toBe(1024);
    expect(e1!.steps).toBe(32);
    expect(e1!.samplesPerSecond).toBeGreaterThan(0);
    expect(e1!.lr).toBe(2e-3);
    expect(h.loss).toEqual(h.epochs.map((e) => e.loss));
    expect(h.metric('valAccuracy')).toEqual(h.epochs.map((e) => e.valMetrics!.accuracy));
    // a log point every 20 batches and at the end of each epoch
    expect(h.steps.map((s) => s.step)).toEqual([20, 32, 52, 64, 84, 96]);
    // the epoch loss is the sample-weighted mean of the interval losses
    const w = (20 * h.steps[0]!.loss + 12 * h.steps[1]!.loss) / 32;
    expect(e1!.loss).toBeCloseTo(w, 5);
    const ev = await evaluate(model, val, { metrics: ['accuracy'] });
    expect(ev.metrics.accuracy).toBeCloseTo(e3!.valMetrics!.accuracy!, 10);
    expect(ev.loss).toBeCloseTo(e3!.valLoss!, 5);
    expect(model.training).toBe(true); // evaluate restores the mode
    dispose();
  });

  it('never reads the loss back between log points', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 16 }); // 64 batches
    const counts = { data: 0, dataSync: 0 };
    const origData = Tensor.prototype.data;
    const origSync = Tensor.prototype.dataSync;
    Tensor.prototype.data = function (this: Tensor) {
      counts.data++;
      return origData.call(this);
    };
    Tensor.prototype.dataSync = function (this: Tensor) {
      counts.dataSync++;
      return origSync.call(this);
    };
    try {
      await fit(model, { train, optimizer: opt, epochs: 1, metrics: ['accuracy'], logInterval: 32, verbose: false });
    } finally {
      Tensor.prototype.data = origData;
      Tensor.prototype.dataSync = origSync;
    }
    // 2 log points × (loss + accuracy) + epoch end (loss + accuracy)
    expect(counts.data).toBe(6);
    expect(counts.dataSync).toBe(0);
    dispose();
  });

  it('keeps memory flat over hundreds of steps', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 8, shuffle: true }); // 128 steps/epoch
    const val = new DataLoader(mnist.test, { batchSize: 128 });
    const marks: { tensors: number; bytes: number }[] = [];
    const cb = new LambdaCallback({
      onEpochEnd: () => {
        const m = memory();
        marks.push({ tensors: m.tensors, bytes: m.bytes });
      },
    });
    await fit(model, {
      train,
      validation: val,
      optimizer: opt,
      epochs: 4,
      metrics: ['accuracy'],
      callbacks: [cb],
      verbose: false,
      clipGradNorm: 1,
    });
    expect(marks.length).toBe(4);
    for (const m of marks.slice(1)) {
      expect(m.tensors).toBe(marks[0]!.tensors);
      expect(m.bytes).toBe(marks[0]!.bytes);
    }
    const before = memory().tensors;
    dispose();
    expect(memory().tensors).toBe(before - 4 - 4 - 8); // params, their grads, Adam state
  });

  it('resumes from a checkpoint on the same loss curve', async () => {
    const epochsOf = async (resume: boolean): Promise<number[]> => {
      const a = setup(7);
      const sched = new StepLR(a.opt, { stepSize: 1, gamma: 0.5 });
      const mk = (): DataLoader => new DataLoader(mnist.train, { batchSize: 64, shuffle: true, seed: 3 });
      if (!resume) {
        const h = await fit(a.model, { train: mk(), optimizer: a.opt, scheduler: sched, epochs: 2, verbose: false });
        a.dispose();
        return h.loss;
      }
      const f = path.join(dir, 'resume.safetensors');
      const h1 = await fit(a.model, {
        train: mk(),
        optimizer: a.opt,
        scheduler: sched,
        epochs: 1,
        verbose: false,
        callbacks: [new ModelCheckpoint({ path: f })],
      });
      a.dispose();
      // fresh objects, different init and RNG position: everything must come from the file
      const b = setup(999);
      manualSeed(12345);
      const sched2 = new StepLR(b.opt, { stepSize: 1, gamma: 0.5 });
      const h2 = await fit(b.model, { train: mk(), optimizer: b.opt, scheduler: sched2, epochs: 2, verbose: false, resumeFrom: f });
      expect(h2.epochs.length).toBe(2);
      expect(h2.epochs[0]!.loss).toBe(h1.epochs[0]!.loss);
      expect(b.opt.paramGroups[0]!.lr).toBeCloseTo(2e-3 / 4, 12);
      b.dispose();
      return h2.loss;
    };
    const straight = await epochsOf(false);
    const resumed = await epochsOf(true);
    expect(resumed).toEqual(straight);
  });

  it('reports progress as plain lines when not a TTY, and as a bar on a TTY', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 64 }); // 16 batches
    const s = sink(false);
    await fit(model, { train, optimizer: opt, epochs: 1, metrics: ['accuracy'], logInterval: 8, verbose: { stream: s } });
    const lines = s.text().trim().split('\n');
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(/^epoch 1\/1 batch 8\/16: loss \d\.\d+ accuracy \d+\.\d\d% \| \d+ samples\/s \| ETA /);
    expect(lines[2]).toMatch(/^epoch 1\/1: loss \d\.\d+ accuracy \d+\.\d\d% \| .*samples\/s, lr 0.00200/);
    const t = sink(true);
    await fit(model, { train, optimizer: opt, epochs: 1, metrics: ['accuracy'], logInterval: 8, verbose: { stream: t } });
    expect(t.text()).toMatch(/epoch 1\/1 .*█.* \d+\/16 \| loss/);
    expect(t.text()).toMatch(/samples\/s \| ETA/);
    dispose();
  });

  it('runs callbacks in order; onBatchEnd sees the loss only at log points', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 128 }); // 8 batches
    const calls: string[] = [];
    const losses: (number | null)[] = [];
    await fit(model, {
      train,
      optimizer: opt,
      epochs: 2,
      logInterval: 4,
      verbose: false,
      callbacks: [
        new LambdaCallback({
          onTrainBegin: () => {
            calls.push('trainBegin');
          },
          onEpochBegin: (e) => {
            calls.push(`epochBegin ${e}`);
          },
          onBatchEnd: (_b, info) => {
            losses.push(info.loss);
          },
          onEpochEnd: async (e) => {
            await new Promise((r) => setTimeout(r, 1));
            calls.push(`epochEnd ${e}`);
          },
          onTrainEnd: () => {
            calls.push('trainEnd');
          },
        }),
      ],
    });
    expect(calls).toEqual(['trainBegin', 'epochBegin 1', 'epochEnd 1', 'epochBegin 2', 'epochEnd 2', 'trainEnd']);
    expect(losses.length).toBe(16);
    expect(losses.map((l) => l !== null)).toEqual(Array.from({ length: 16 }, (_, i) => (i + 1) % 4 === 0));
    dispose();
  });

  it('EarlyStopping stops, and restores the best weights', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 64 });
    const val = new DataLoader(mnist.test, { batchSize: 256 });
    // with minDelta huge nothing counts as an improvement after epoch 1
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 2, minDelta: 100, restoreBestWeights: true });
    let w1: number[] = [];
    const grab = new LambdaCallback({
      onEpochEnd: (e) => {
        if (e === 1) w1 = [...model.fc1.weight.dataSync()];
      },
    });
    const h = await fit(model, { train, validation: val, optimizer: opt, epochs: 10, callbacks: [grab, es], verbose: false });
    expect(h.epochs.length).toBe(3);
    expect(h.stoppedEarly).toBe(true);
    expect(h.stopReason).toMatch(/val_loss did not improve for 2 epoch/);
    expect(es.bestEpoch).toBe(1);
    expect([...model.fc1.weight.dataSync()]).toEqual(w1);
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/patience/);
    await expect(
      fit(model, { train, optimizer: opt, epochs: 1, verbose: false, callbacks: [new EarlyStopping({ monitor: 'valAccuracy' })] }),
    ).rejects.toThrow(/monitor 'valAccuracy' is not in the epoch log/);
    dispose();
  });

  it('ModelCheckpoint saves every epoch or the best only; CSV and JSON loggers write a row per epoch', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 128 });
    const val = new DataLoader(mnist.test, { batchSize: 256 });
    const every = new ModelCheckpoint({ path: path.join(dir, 'ck-{epoch}.safetensors') });
    const best = new ModelCheckpoint({
      path: path.join(dir, 'best.safetensors'),
      saveBestOnly: true,
      monitor: 'valAccuracy',
      weightsOnly: true,
    });
    const csv = path.join(dir, 'log.csv');
    const jsonl = path.join(dir, 'log.jsonl');
    await fit(model, {
      train,
      validation: val,
      optimizer: opt,
      epochs: 3,
      metrics: ['accuracy'],
      verbose: false,
      callbacks: [every, best, new CSVLogger(csv), new JSONLogger(jsonl)],
    });
    expect(every.saved.map((p) => path.basename(p))).toEqual(['ck-1.safetensors', 'ck-2.safetensors', 'ck-3.safetensors']);
    expect(best.saved.length).toBeGreaterThanOrEqual(1);
    const weights = load(path.join(dir, 'best.safetensors'));
    expect(Object.keys(weights).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    for (const t of Object.values(weights)) t.dispose();
    const rows = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('epoch,loss,accuracy,val_loss,val_accuracy,seconds,samples_per_second,lr');
    expect(rows.length).toBe(4);
    expect(rows[3]!.split(',')[0]).toBe('3');
    const objs = fs
      .readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objs.map((o) => o.epoch)).toEqual([1, 2, 3]);
    expect(objs[2].valMetrics.accuracy).toBeGreaterThan(0.5);
    dispose();
  });

  it('predict runs in eval mode without gradients, in chunks if asked', () => {
    const { model, dispose } = setup();
    const x = mnist.test.tensors[0]!.slice(0, 0, 10);
    let sawGrad: boolean | null = null;
    const orig = model.forward.bind(model);
    model.forward = (t: Tensor) => {
      sawGrad = isGradEnabled();
      return orig(t);
    };
    const a = predict(model, x);
    const b = predict(model, x, { batchSize: 3 });
    expect(sawGrad).toBe(false);
    expect(a.shape).toEqual([10, 10]);
    expect(a.requiresGrad).toBe(false);
    const av = a.dataSync(),
      bv = b.dataSync();
    for (let i = 0; i < av.length; i++) expect(bv[i]).toBeCloseTo(av[i]!, 5);
    // eval mode: dropout off, so two calls agree
    const c = predict(model, x);
    expect([...c.dataSync()]).toEqual([...av]);
    expect(model.training).toBe(true);
    for (const t of [a, b, c, x]) t.dispose();
    dispose();
  });

  it('rejects bad options clearly', async () => {
    const { model, opt, dispose } = setup();
    const train = new DataLoader(mnist.train, { batchSize: 128 });
    await expect(fit(model, { train, optimizer: opt, logInterval: 0 })).rejects.toThrow(
      /fit: invalid logInterval 0 \(must be a positive integer\)/,
    );
    await expect(fit(model, { train, optimizer: opt, loss: 'hinge' as never })).rejects.toThrow(/unknown loss 'hinge'/);
    await expect(fit(model, { train, optimizer: opt, metrics: ['precisoin' as never], verbose: false })).rejects.toThrow(
      /unknown metric 'precisoin' — did you mean 'precision'/,
    );
    await expect(fit(model, { train: [[1, 2]] as never, optimizer: opt, verbose: false })).rejects.toThrow(
      /a batch must be \[input, target\]/,
    );
    dispose();
  });
});

describe('checkpoints', () => {
  it('store weights by state-dict name and optimizer state under prefixed names; loading checks the model', async () => {
    const { model, opt, dispose } = setup();
    await fit(model, { train: new DataLoader(mnist.train, { batchSize: 256 }), optimizer: opt, epochs: 1, verbose: false });
    const f = path.join(dir, 'ck.safetensors');
    saveCheckpoint(f, { model, optimizer: opt, epoch: 1, extra: { note: 'hi' } });
    const t = load(f);
    expect(Object.keys(t).sort()).toEqual([
      'fc1.bias',
      'fc1.weight',
      'fc2.bias',
      'fc2.weight',
      'optimizer.state.0.exp_avg',
      'optimizer.state.0.exp_avg_sq',
      'optimizer.state.1.exp_avg',
      'optimizer.state.1.exp_avg_sq',
      'optimizer.state.2.exp_avg',
      'optimizer.state.2.exp_avg_sq',
      'optimizer.state.3.exp_avg',
      'optimizer.state.3.exp_avg_sq',
    ]);
    for (const x of Object.values(t)) x.dispose();
    // a model of another shape: the error names the key
    const wrong = new TinyMLP(784, 16);
    expect(() => loadCheckpoint(f, { model: wrong })).toThrow(/tensor 'fc1.weight' has shape \(32,784\) but the model expects \(16,784\)/);
    wrong.dispose();
    const other = Object.assign(Object.create(model) as TinyMLP, { stateDict: () => ({ ...model.stateDict(), extra: model.fc1.bias! }) });
    expect(() => loadCheckpoint(f, { model: other })).toThrow(/missing 'extra'/);
    // a plain weights file is not a checkpoint
    const plain = path.join(dir, 'plain.safetensors');
    const { save } = await import('../../lib/io/safetensors.js');
    save(plain, model.stateDict());
    expect(() => loadCheckpoint(plain, { model })).toThrow(/not a wattgrad checkpoint/);
    // restore into fresh objects
    const b = setup(5);
    const before = getRngState();
    const ck = loadCheckpoint(f, { model: b.model, optimizer: b.opt });
    expect(ck.epoch).toBe(1);
    expect(ck.extra).toEqual({ note: 'hi' });
    expect(b.opt.state.get(b.model.fc1.weight)!.step).toBe(opt.state.get(model.fc1.weight)!.step);
    expect(b.opt.state.get(b.model.fc1.weight)!.step).toBe(4); // 1024 samples / 256
    expect([...b.model.fc2.weight.dataSync()]).toEqual([...model.fc2.weight.dataSync()]);
    expect([...b.opt.state.get(b.model.fc1.weight)!.tensors.exp_avg_sq!.dataSync()]).toEqual([
      ...opt.state.get(model.fc1.weight)!.tensors.exp_avg_sq!.dataSync(),
    ]);
    expect(getRngState()).not.toEqual(before);
    b.dispose();
    dispose();
  });
});
