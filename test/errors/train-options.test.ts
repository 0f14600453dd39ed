// fit / evaluate / predict, the callbacks and the DataLoader: misspelt options are errors with a
// did-you-mean, sizes and counts must be positive integers, and NaN never reaches a checkpoint.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fit, evaluate, predict } from '../../lib/train/fit.js';
import { EarlyStopping, ModelCheckpoint, LambdaCallback, TerminateOnNaN, CSVLogger } from '../../lib/train/callbacks.js';
import { DataLoader } from '../../lib/data/loader.js';
import { TensorDataset } from '../../lib/data/dataset.js';
import { Linear } from '../../lib/nn/index.js';
import { SGD } from '../../lib/optim/index.js';
import { manualSeed } from '../../lib/random.js';
import { memory } from '../../lib/memory.js';
import { randn, tensor } from '../../lib/ops/index.js';
import type { Tensor } from '../../lib/tensor.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-opts-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** 4 → 3 classifier and 16 random samples; `nanAt` puts a NaN into that sample's input. */
function setup(nanAt?: number) {
  manualSeed(3);
  const model = new Linear(4, 3);
  const opt = new SGD(model.parameters(), { lr: 0.1 });
  const xs = Array.from({ length: 16 }, (_, i) => [
    Math.sin(i),
    Math.cos(i * 0.7),
    (i % 5) / 5 - 0.4,
    i === nanAt ? NaN : 0.3 - (i % 3) / 4,
  ]);
  const x = tensor(xs);
  const y = tensor(Int32Array.from({ length: 16 }, (_, i) => i % 3));
  const ds = new TensorDataset(x, y);
  const dispose = () => {
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  };
  return { model, opt, ds, x, dispose };
}

/** An epoch-aware batch source: clean batches from `good`, except epoch `badEpoch` (1-based) from `bad`. */
function switching(good: DataLoader, bad: DataLoader, badEpoch: number) {
  let epoch = 0;
  return {
    length: good.length,
    setEpoch(e: number) {
      epoch = e + 1;
    },
    [Symbol.iterator]() {
      return (epoch === badEpoch ? bad : good)[Symbol.iterator]();
    },
  };
}

describe('fit/evaluate/predict options', () => {
  it('unknown keys name the function, the key and the nearest valid one', async () => {
    const { model, opt, ds, x, dispose } = setup();
    const train = new DataLoader(ds, { batchSize: 4 });
    await expect(fit(model, { train, optimizer: opt, epoch: 3 } as never)).rejects.toThrow(
      "fit: unknown option 'epoch' — did you mean 'epochs'?",
    );
    await expect(fit(model, { train, optimizer: opt, callback: [] } as never)).rejects.toThrow(/did you mean 'callbacks'/);
    await expect(fit(model, { train, optimizer: opt, epochs: 1.5 })).rejects.toThrow(
      /fit: invalid epochs 1.5 \(must be a non-negative integer\)/,
    );
    await expect(fit(model, { train, optimizer: opt, clipGradNorm: NaN })).rejects.toThrow(/fit: invalid clipGradNorm NaN/);
    await expect(fit(model, { train, optimizer: opt, schedulerInterval: 'batch' as never })).rejects.toThrow(
      /fit: invalid schedulerInterval "batch"/,
    );
    await expect(fit(model, { train: 5 as never, optimizer: opt })).rejects.toThrow(/fit: train must be a DataLoader or an iterable/);
    await expect(fit(model, { train, optimizer: {} as never })).rejects.toThrow(/optimizer must have step\(\) and zeroGrad\(\)/);
    await expect(evaluate(model, train, { metric: ['accuracy'] } as never)).rejects.toThrow(
      "evaluate: unknown option 'metric' — did you mean 'metrics'?",
    );
    expect(() => predict(model, x, { batch_size: 4 } as never)).toThrow("predict: unknown option 'batch_size' — did you mean 'batchSize'?");
    dispose();
  });
  it('predict batchSize must be a positive integer (0 and -1 looped forever, 0.5 doubled the rows)', () => {
    const { model, x, dispose } = setup();
    const before = memory().tensors;
    for (const bad of [0, -1, 0.5, NaN, Infinity])
      expect(() => predict(model, x, { batchSize: bad })).toThrow(/predict: invalid batchSize .* \(must be a positive integer\)/);
    expect(memory().tensors).toBe(before);
    const all = predict(model, x);
    const chunked = predict(model, x, { batchSize: 5 });
    expect(chunked.shape).toEqual([16, 3]);
    expect(chunked.toArray()).toEqual(all.toArray());
    all.dispose();
    chunked.dispose();
    dispose();
  });
  it('an empty training set or evaluation set is an error, not a NaN loss', async () => {
    const { model, opt, ds, dispose } = setup();
    const dropAll = new DataLoader(ds, { batchSize: 32, dropLast: true });
    await expect(fit(model, { train: dropAll, optimizer: opt, verbose: false })).rejects.toThrow(
      /fit: the training data gave no batches in epoch 1/,
    );
    await expect(evaluate(model, dropAll)).rejects.toThrow(/evaluate: the data gave no samples/);
    dispose();
  });
});

describe('callback options', () => {
  it('EarlyStopping, ModelCheckpoint, LambdaCallback, loggers and plain callbacks check their options', async () => {
    expect(() => new EarlyStopping({ patince: 2 } as never)).toThrow("EarlyStopping: unknown option 'patince' — did you mean 'patience'?");
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/EarlyStopping: invalid patience -1/);
    expect(() => new EarlyStopping({ patience: 1.5 })).toThrow(/patience 1.5/);
    expect(() => new EarlyStopping({ minDelta: NaN })).toThrow(/minDelta NaN/);
    expect(() => new EarlyStopping({ mode: 'mni' as never })).toThrow(/EarlyStopping: invalid mode "mni" — did you mean 'min'\?/);
    expect(() => new ModelCheckpoint({ path: 'x', every: 0 })).toThrow(/ModelCheckpoint: invalid every 0 \(must be a positive integer\)/);
    expect(() => new ModelCheckpoint({ path: 'x', every: 2.5 })).toThrow(/every 2.5/);
    expect(() => new ModelCheckpoint({ path: 'x', save_best_only: true } as never)).toThrow(/did you mean 'saveBestOnly'/);
    expect(() => new ModelCheckpoint({ path: 'x', saveBestOnly: 'yes' as never })).toThrow(/saveBestOnly "yes" \(must be true or false\)/);
    expect(() => new LambdaCallback({ onEpochEnds: () => {} } as never)).toThrow(
      "LambdaCallback: unknown option 'onEpochEnds' — did you mean 'onEpochEnd'?",
    );
    expect(() => new CSVLogger('x.csv', { seperator: ';' } as never)).toThrow(/did you mean 'separator'/);
    expect(() => new TerminateOnNaN({ x: 1 } as never)).toThrow(/TerminateOnNaN: unknown option 'x'/);
    const { model, opt, ds, dispose } = setup();
    const train = new DataLoader(ds, { batchSize: 4 });
    await expect(fit(model, { train, optimizer: opt, verbose: false, callbacks: [{ onEpochEnds: () => {} } as never] })).rejects.toThrow(
      /fit: callbacks\[0\]: unknown option 'onEpochEnds' — did you mean 'onEpochEnd'\?/,
    );
    await expect(fit(model, { train, optimizer: opt, verbose: false, callbacks: [null as never] })).rejects.toThrow(
      /callbacks\[0\] is not a callback object/,
    );
    dispose();
  });
  it('ModelCheckpoint({ every: 2 }) saves on epochs 2 and 4', async () => {
    const { model, opt, ds, dispose } = setup();
    const ck = new ModelCheckpoint({ path: path.join(dir, 'every-{epoch}.safetensors'), every: 2, weightsOnly: true });
    await fit(model, { train: new DataLoader(ds, { batchSize: 4 }), optimizer: opt, epochs: 4, verbose: false, callbacks: [ck] });
    expect(ck.saved.map((f) => path.basename(f))).toEqual(['every-2.safetensors', 'every-4.safetensors']);
    dispose();
  });
});

describe('NaN during fit', () => {
  it('TerminateOnNaN stops at the log point where the loss turned NaN, naming epoch and step', async () => {
    const { model, opt, ds, dispose } = setup(9); // sample 9 is in batch 3 (of 4) of every epoch
    const term = new TerminateOnNaN();
    const h = await fit(model, {
      train: new DataLoader(ds, { batchSize: 4 }),
      optimizer: opt,
      epochs: 3,
      logInterval: 1,
      verbose: false,
      callbacks: [term],
    });
    expect(h.stoppedEarly).toBe(true);
    expect(h.epochs.length).toBe(1);
    expect(h.epochs[0]!.steps).toBe(3); // batch 4 was not run
    expect(term.terminated).toEqual({ epoch: 1, step: 3, loss: NaN });
    expect(h.stopReason).toMatch(/TerminateOnNaN: the loss is NaN at epoch 1, step 3 \(batch 3\)/);
    dispose();
  });
  it('with a long log interval it still stops at the end of the epoch', async () => {
    const { model, opt, ds, dispose } = setup(2);
    // no length: no log point at the last batch, so only the epoch-end read sees the NaN
    const dl = new DataLoader(ds, { batchSize: 4 });
    const train = { [Symbol.iterator]: () => dl[Symbol.iterator]() };
    const h = await fit(model, { train, optimizer: opt, epochs: 3, logInterval: 100, verbose: false, callbacks: [new TerminateOnNaN()] });
    expect(h.epochs.length).toBe(1);
    expect(h.stopReason).toMatch(/the loss is NaN at epoch 1, end of epoch/);
    dispose();
  });
  it('ModelCheckpoint never overwrites a good checkpoint with NaN weights, best-only or not', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      for (const saveBestOnly of [false, true]) {
        const { model, opt, ds, dispose } = setup();
        const bad = setup(5);
        const file = path.join(dir, `nan-${saveBestOnly}.ckpt`);
        const ck = new ModelCheckpoint({ path: file, saveBestOnly, monitor: 'loss' });
        const train = switching(new DataLoader(ds, { batchSize: 4 }), new DataLoader(bad.ds, { batchSize: 4 }), 2);
        await fit(model, { train, optimizer: opt, epochs: 3, verbose: false, callbacks: [ck] });
        // epoch 1 saved; epoch 2 saw a NaN sample (NaN loss, NaN weights ever after): never saved
        expect(ck.saved.length, `saveBestOnly ${saveBestOnly}`).toBe(1);
        expect(ck.skipped.map((s) => s.epoch)).toEqual([2, 3]);
        expect(ck.skipped[0]!.reason).toMatch(/NaN/);
        expect(warn).toHaveBeenCalledWith(
          expect.stringMatching(/ModelCheckpoint: not saving epoch 2: .*NaN.*the previous checkpoint is kept/),
        );
        // the file on disk still holds finite weights
        const { loadCheckpoint } = await import('../../lib/io/checkpoint.js');
        const fresh = new Linear(4, 3);
        loadCheckpoint(file, { model: fresh });
        for (const p of fresh.parameters()) expect([...(p as Tensor).dataSync()].every(Number.isFinite)).toBe(true);
        fresh.dispose();
        bad.dispose();
        dispose();
      }
    } finally {
      warn.mockRestore();
    }
  });
});

describe('DataLoader options and datasets', () => {
  it('rejects unknown keys, bad sizes and datasets with a NaN or negative length', () => {
    const x = randn([6, 2]);
    const ds = new TensorDataset(x);
    expect(() => new DataLoader(ds, { batch_size: 2 } as never)).toThrow(
      "DataLoader: unknown option 'batch_size' — did you mean 'batchSize'?",
    );
    expect(() => new DataLoader(ds, { shufle: true } as never)).toThrow(/did you mean 'shuffle'/);
    for (const bad of [0, -2, 1.5, NaN]) expect(() => new DataLoader(ds, { batchSize: bad })).toThrow(/DataLoader: invalid batchSize/);
    expect(() => new DataLoader(ds, { shuffle: 'yes' as never })).toThrow(/DataLoader: invalid shuffle "yes"/);
    expect(() => new DataLoader(ds, { seed: Infinity })).toThrow(/DataLoader: invalid seed Infinity/);
    expect(() => new DataLoader(ds, { collate: 3 as never })).toThrow(/DataLoader: invalid collate 3 \(must be a function\)/);
    for (const length of [NaN, -1, 2.5, '3']) {
      expect(() => new DataLoader({ length, get: () => x } as never)).toThrow(
        /DataLoader: the dataset's length is .* \(a dataset must have a non-negative integer length/,
      );
    }
    // a length that goes bad later is caught when iterating, not looped over
    let n = 4;
    const live = {
      get length() {
        return n;
      },
      get: (i: number) => tensor([i]),
    };
    const dl = new DataLoader(live, { batchSize: 2 });
    n = NaN;
    expect(() => [...dl]).toThrow(/the dataset's length is NaN/);
    x.dispose();
  });
});

describe('progress options', () => {
  it('fit({ verbose: {...} }) checks the progress options', async () => {
    const { model, opt, ds, dispose } = setup();
    const train = new DataLoader(ds, { batchSize: 4 });
    await expect(fit(model, { train, optimizer: opt, verbose: { steam: process.stdout } as never })).rejects.toThrow(
      /Progress \(fit verbose\): unknown option 'steam' — did you mean 'stream'\?/,
    );
    await expect(fit(model, { train, optimizer: opt, verbose: { stream: 5 } as never })).rejects.toThrow(
      /stream must have a write\(text\) method/,
    );
    await expect(fit(model, { train, optimizer: opt, verbose: { tty: 'yes' } as never })).rejects.toThrow(/invalid tty "yes"/);
    dispose();
  });
});

describe('monitor names', () => {
  it('a misspelt monitor says the nearest logged name', async () => {
    const { model, opt, ds, dispose } = setup();
    const train = new DataLoader(ds, { batchSize: 4 });
    const es = new EarlyStopping({ monitor: 'los' });
    await expect(fit(model, { train, optimizer: opt, verbose: false, callbacks: [es] })).rejects.toThrow(
      /EarlyStopping: monitor 'los' is not in the epoch log — did you mean 'loss'\?/,
    );
    dispose();
  });
});

describe('plain-object callbacks', () => {
  it('may carry state; a hook-like function that is no hook is an error', async () => {
    const { model, opt, ds, dispose } = setup();
    const train = new DataLoader(ds, { batchSize: 4 });
    const cb = {
      seen: 0,
      label: 'x',
      onEpochEnd() {
        this.seen++;
      },
    };
    await fit(model, { train, optimizer: opt, epochs: 2, verbose: false, callbacks: [cb] });
    expect(cb.seen).toBe(2);
    await expect(fit(model, { train, optimizer: opt, verbose: false, callbacks: [{ onBatchBegin: () => {} } as never] })).rejects.toThrow(
      /callbacks\[0\]: unknown option 'onBatchBegin'.*\(it would never be called\)/,
    );
    dispose();
  });
});
