import { describe, it, expect } from 'vitest';
import { DataLoader, defaultCollate } from '../../lib/data/loader.js';
import { TensorDataset, Subset, randomSplit, type Dataset } from '../../lib/data/dataset.js';
import { permutation, SeededRandom } from '../../lib/data/shuffle.js';
import { arange, tensor, reshape } from '../../lib/ops/index.js';
import { memory, tidy } from '../../lib/memory.js';
import { getRngState, manualSeed } from '../../lib/random.js';
import type { Tensor } from '../../lib/tensor.js';

function ds(n: number): TensorDataset {
  const x = reshape(arange(0, 2 * n), [n, 2]);
  const y = tensor(Int32Array.from({ length: n }, (_, i) => i));
  return new TensorDataset(x, y);
}

function labels(loader: DataLoader): number[][] {
  const out: number[][] = [];
  for (const [, y] of loader) out.push([...y!.dataSync()]);
  return out;
}

describe('TensorDataset', () => {
  it('checks shapes and indexes rows', () => {
    const d = ds(5);
    expect(d.length).toBe(5);
    const [x, y] = d.get(3);
    expect(x!.toArray()).toEqual([6, 7]);
    expect(y!.item()).toBe(3);
    x!.dispose(); y!.dispose();
    const [bx, by] = d.getBatch(Int32Array.from([4, 0]));
    expect(bx!.toArray()).toEqual([[8, 9], [0, 1]]);
    expect(by!.toArray()).toEqual([4, 0]);
    bx!.dispose(); by!.dispose();
    expect(() => d.get(5)).toThrow(/index 5 is out of range for a dataset of 5 samples/);
    expect(() => new TensorDataset(arange(0, 3), arange(0, 4))).toThrow(/same first dimension/);
    expect(() => new TensorDataset()).toThrow(/at least one tensor/);
    d.dispose();
  });

  it('Subset and randomSplit select by index, deterministically', () => {
    const d = ds(10);
    const [a, b] = randomSplit(d, [7, 3], 42);
    expect(a!.length).toBe(7);
    expect(b!.length).toBe(3);
    const all = [...a!.indices, ...b!.indices].sort((p, q) => p - q);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [a2] = randomSplit(d, [7, 3], 42);
    expect([...a2!.indices]).toEqual([...a!.indices]);
    expect(() => randomSplit(d, [5, 4])).toThrow(/adding up to the dataset's 10 samples/);
    const s = new Subset(d, [9, 1]);
    const l = new DataLoader(s, { batchSize: 2 });
    expect(labels(l)).toEqual([[9, 1]]);
    d.dispose();
  });
});

describe('DataLoader', () => {
  it('knows its length up front, with and without dropLast', () => {
    const d = ds(10);
    expect(new DataLoader(d, { batchSize: 3 }).length).toBe(4);
    expect(new DataLoader(d, { batchSize: 3, dropLast: true }).length).toBe(3);
    expect(new DataLoader(d, { batchSize: 3, dropLast: true }).numSamples).toBe(9);
    expect(labels(new DataLoader(d, { batchSize: 4 }))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(labels(new DataLoader(d, { batchSize: 4, dropLast: true }))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(() => new DataLoader(d, { batchSize: 0 })).toThrow(/DataLoader: invalid batchSize 0 \(must be a positive integer\)/);
    d.dispose();
  });

  it('yields [x, y] batches with the right shapes', () => {
    const d = ds(10);
    let n = 0;
    for (const [x, y] of new DataLoader(d, { batchSize: 4 })) {
      expect(x!.shape).toEqual([n < 2 ? 4 : 2, 2]);
      expect(y!.dtype).toBe('int32');
      n++;
    }
    expect(n).toBe(3);
    d.dispose();
  });

  it('shuffles with its own seed: same seed same order, new order each epoch, every sample once', () => {
    const d = ds(50);
    const a = new DataLoader(d, { batchSize: 8, shuffle: true, seed: 7 });
    const b = new DataLoader(d, { batchSize: 8, shuffle: true, seed: 7 });
    const c = new DataLoader(d, { batchSize: 8, shuffle: true, seed: 8 });
    const e1 = labels(a).flat();
    expect(e1).toEqual(labels(b).flat());
    expect(e1).not.toEqual(labels(c).flat());
    expect([...e1].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const e2 = labels(a).flat();
    expect(e2).not.toEqual(e1);
    // setEpoch replays an epoch's order (resuming)
    a.setEpoch(0);
    expect(labels(a).flat()).toEqual(e1);
    expect(labels(a).flat()).toEqual(e2);
    d.dispose();
  });

  it('shuffling does not touch the tensor RNG', () => {
    const d = ds(20);
    manualSeed(3);
    const before = getRngState();
    labels(new DataLoader(d, { batchSize: 4, shuffle: true, seed: 1 }));
    expect(getRngState()).toEqual(before);
    d.dispose();
  });

  it('uses a collate function when given one, and the default collate for plain datasets', () => {
    const plain: Dataset<[number, number]> = { length: 5, get: (i) => [i * 0.5, i] };
    const l = new DataLoader<[Tensor, Tensor]>(plain, { batchSize: 5 });
    for (const [x, y] of l) {
      expect(x.dtype).toBe('float32');
      expect([...x.dataSync()]).toEqual([0, 0.5, 1, 1.5, 2]);
      expect(y.dtype).toBe('int32');
    }
    const objs: Dataset<{ a: Tensor }> = { length: 3, get: (i) => ({ a: tensor([i, i]) }) };
    for (const b of new DataLoader<{ a: Tensor }>(objs, { batchSize: 3 })) expect(b.a.toArray()).toEqual([[0, 0], [1, 1], [2, 2]]);
    const custom = new DataLoader<number[]>(ds(6), {
      batchSize: 3,
      collate: (samples: Tensor[][]) => samples.map(([, y]) => y!.item() * 10),
    });
    expect([...custom]).toEqual([[0, 10, 20], [30, 40, 50]]);
    expect(() => defaultCollate([])).toThrow(/empty batch/);
  });

  it('disposes each batch when the next is requested, and at the end or a break', () => {
    const d = ds(64);
    const base = memory().tensors;
    const l = new DataLoader(d, { batchSize: 8, shuffle: true });
    let held: Tensor | null = null;
    for (const [x] of l) {
      if (held) expect(held.isDisposed).toBe(true);
      held = x!;
      expect(memory().tensors).toBeLessThanOrEqual(base + 2);
    }
    expect(held!.isDisposed).toBe(true);
    expect(memory().tensors).toBe(base);
    for (const [x] of l) {
      held = x!;
      break;
    }
    expect(held!.isDisposed).toBe(true);
    expect(memory().tensors).toBe(base);
    // a throw inside the loop also releases the batch
    expect(() => { for (const [x] of l) { held = x!; throw new Error('boom'); } }).toThrow('boom');
    expect(held!.isDisposed).toBe(true);
    expect(memory().tensors).toBe(base);
    // autoDispose: false hands ownership to the caller
    const keepAll: Tensor[] = [];
    for (const b of new DataLoader(d, { batchSize: 32, autoDispose: false })) keepAll.push(...b);
    expect(keepAll.every((t) => !t.isDisposed)).toBe(true);
    for (const t of keepAll) t.dispose();
    expect(memory().tensors).toBe(base);
    // a step in tidy + the loader: flat over many epochs
    for (let e = 0; e < 5; e++) for (const [x, y] of l) tidy(() => { x!.sum().add(y!.float().mean()); });
    expect(memory().tensors).toBe(base);
    d.dispose();
  });

  it('moves batches to the device option (cpu here)', () => {
    const d = ds(4);
    for (const [x] of new DataLoader(d, { batchSize: 4, device: 'cpu' })) expect(x!.device).toBe('cpu');
    expect(() => { for (const _ of new DataLoader(d, { batchSize: 4, device: 'tpu' })) { /* */ } }).toThrow(/unknown device 'tpu'/);
    d.dispose();
  });
});

describe('seeded shuffle', () => {
  it('is a permutation, reproducible, and roughly uniform', () => {
    const p = permutation(1000, 5);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...permutation(1000, 5)]).toEqual([...p]);
    const r = new SeededRandom(1);
    const hist = new Array(10).fill(0);
    for (let i = 0; i < 10000; i++) hist[r.int(10)]++;
    for (const h of hist) expect(Math.abs(h - 1000)).toBeLessThan(150);
  });
});
