// Subset / randomSplit / ConcatDataset over every dataset kind: a TensorDataset (batched with one
// gather), a custom Dataset with only length and get(i) (the loader collates samples), nested
// Subsets and concatenations of both kinds.

import { describe, it, expect } from 'vitest';
import { DataLoader } from '../../lib/data/loader.js';
import { TensorDataset, Subset, ConcatDataset, randomSplit, hasGetBatch, type Dataset } from '../../lib/data/dataset.js';
import { arange, tensor, reshape } from '../../lib/ops/index.js';
import { memory, tidy } from '../../lib/memory.js';
import type { Tensor } from '../../lib/tensor.js';

/** x row i is [2i+1, 2i+2], y is 10+i: values tell which sample a row came from. */
function tensorDs(n: number, from = 0): TensorDataset {
  const x = tidy(() => reshape(arange(2 * from + 1, 2 * (from + n) + 1), [n, 2]));
  const y = tensor(Int32Array.from({ length: n }, (_, i) => 10 + from + i));
  return new TensorDataset(x, y);
}

/** The same samples as tensorDs, from a class that only has length and get(i). */
class Custom implements Dataset<[Tensor, number]> {
  gets = 0;
  constructor(readonly length: number, readonly from = 0) {}
  get(i: number): [Tensor, number] {
    if (i < 0 || i >= this.length) throw new RangeError(`Custom: ${i}`);
    this.gets++;
    const k = this.from + i;
    return [tensor([2 * k + 1, 2 * k + 2]), 10 + k];
  }
}

/** Every batch's labels and the first column of x, in loader order. */
function read(loader: DataLoader<unknown>): { y: number[][]; x0: number[][] } {
  const y: number[][] = [];
  const x0: number[][] = [];
  for (const b of loader) {
    const [x, l] = b as [Tensor, Tensor];
    y.push([...l.dataSync()]);
    const xs = x.toArray() as number[][];
    x0.push(xs.map((r) => r[0]!));
  }
  return { y, x0 };
}

describe('Subset and randomSplit of every dataset kind', () => {
  it('a custom Dataset (only get(i)) splits and loads: the loader collates samples', () => {
    const before = memory().tensors;
    const d = new Custom(10);
    const [train, val] = randomSplit(d, [8, 2], 3);
    expect(hasGetBatch(train!)).toBe(false);
    expect(() => train!.getBatch(Int32Array.from([0]))).toThrow(/Subset.getBatch: the underlying Custom has no getBatch; read samples with get\(i\)/);
    const r = read(new DataLoader(train!, { batchSize: 3 }));
    const rv = read(new DataLoader(val!, { batchSize: 3 }));
    const ys = [...r.y.flat(), ...rv.y.flat()];
    expect(ys.slice(0, 8)).toEqual([...train!.indices].map((i) => 10 + i));
    expect([...ys].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    // x came with its label
    expect(r.x0.flat()).toEqual(r.y.flat().map((v) => 2 * (v - 10) + 1));
    expect(r.y.map((b) => b.length)).toEqual([3, 3, 2]);
    expect(memory().tensors).toBe(before);
  });

  it('a custom Dataset and a TensorDataset of the same samples give the same batches through a split', () => {
    const t = tensorDs(12);
    const c = new Custom(12);
    const [tt] = randomSplit(t, [9, 3], 7);
    const [cc] = randomSplit(c, [9, 3], 7);
    expect(hasGetBatch(tt!)).toBe(true);
    const a = read(new DataLoader(tt!, { batchSize: 4, shuffle: true, seed: 1 }));
    const b = read(new DataLoader(cc!, { batchSize: 4, shuffle: true, seed: 1 }));
    expect(b).toEqual(a);
    t.dispose();
  });

  it('nested Subsets map indices through every level, for both kinds', () => {
    for (const d of [tensorDs(10), new Custom(10)] as Dataset<unknown>[]) {
      const outer = new Subset(d, [9, 7, 5, 3, 1]);
      const inner = new Subset(outer, [4, 0, 2]); // → d's 1, 9, 5
      expect(hasGetBatch(inner)).toBe(d instanceof TensorDataset);
      const [train] = randomSplit(inner, [3], 0);
      expect(read(new DataLoader(train!, { batchSize: 3 })).y.flat().sort((a, b) => a - b)).toEqual([11, 15, 19]);
      expect(read(new DataLoader(inner, { batchSize: 2 })).y).toEqual([[11, 19], [15]]);
      if (d instanceof TensorDataset) d.dispose();
    }
  });

  it('fractions split like torch: floor(f·n), the remainder dealt from the first subset on', () => {
    const d = new Custom(10);
    expect(randomSplit(d, [0.8, 0.2]).map((s) => s.length)).toEqual([8, 2]);
    // floor: 3, 3, 3 → remainder 1 to the first
    expect(randomSplit(d, [1 / 3, 1 / 3, 1 / 3]).map((s) => s.length)).toEqual([4, 3, 3]);
    expect(randomSplit(new Custom(7), [0.5, 0.25, 0.25]).map((s) => s.length)).toEqual([4, 2, 1]);
    expect(() => randomSplit(d, [0.5, 0.4])).toThrow(/fractions adding up to 1/);
    expect(() => randomSplit(d, [5, 4])).toThrow(/adding up to the dataset's 10 samples/);
  });
});

describe('ConcatDataset', () => {
  it('chains TensorDatasets and batches with one gather per part, rows in the order asked', () => {
    const before = memory().tensors;
    const a = tensorDs(3, 0);
    const b = tensorDs(4, 3);
    const cd = new ConcatDataset([a, b]);
    expect(cd.length).toBe(7);
    expect(cd.cumulativeSizes).toEqual([3, 7]);
    expect(hasGetBatch(cd)).toBe(true);
    const [x, y] = cd.getBatch(Int32Array.from([5, 0, 3, 2, 6])) as Tensor[];
    expect([...y!.dataSync()]).toEqual([15, 10, 13, 12, 16]);
    expect((x!.toArray() as number[][]).map((r) => r[0])).toEqual([11, 1, 7, 5, 13]);
    x!.dispose(); y!.dispose();
    const [s0, s1] = cd.get(4) as Tensor[];
    expect(s1!.item()).toBe(14);
    s0!.dispose(); s1!.dispose();
    expect(() => cd.get(7)).toThrow(/index 7 is out of range for a dataset of 7 samples/);
    const r = read(new DataLoader(cd, { batchSize: 3, shuffle: true, seed: 5 }));
    expect(r.y.flat().sort((p, q) => p - q)).toEqual([10, 11, 12, 13, 14, 15, 16]);
    expect(r.x0.flat()).toEqual(r.y.flat().map((v) => 2 * (v - 10) + 1));
    a.dispose(); b.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('mixes a TensorDataset and a custom Dataset (samples collated), and splits', () => {
    const a = tensorDs(4, 0);
    const c = new Custom(3, 4);
    const cd = new ConcatDataset<unknown>([a, c]);
    expect(hasGetBatch(cd)).toBe(false);
    expect(() => cd.getBatch(Int32Array.from([0]))).toThrow(/not every part has getBatch/);
    // a TensorDataset sample is [x, y-as-0-d-tensor], a Custom one [x, number]: one collate each kind
    const [val, train] = randomSplit(new ConcatDataset([new Custom(4), c]), [0.25, 0.75], 2);
    expect(val!.length + train!.length).toBe(7);
    const r = read(new DataLoader(train!, { batchSize: 2 }));
    expect(r.y.flat()).toEqual([...train!.indices].map((i) => 10 + i));
    expect(() => new ConcatDataset([])).toThrow(/non-empty array/);
    expect(() => new ConcatDataset([{} as Dataset])).toThrow(/part 0 is not a dataset/);
    a.dispose();
  });
});
