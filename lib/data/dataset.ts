// Datasets: anything with a length and get(i). TensorDataset wraps tensors that share their first
// dimension and can hand out a whole batch with one gather per tensor (getBatch), so batching
// never reads values back to the host. Subset and randomSplit select rows by index.

import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { indexSelect, select, tensor } from '../ops/index.js';
import { permutation } from './shuffle.js';

/** A map-style dataset: `length` samples, `get(i)` returns sample i (new tensors the caller owns). */
export interface Dataset<T = unknown> {
  readonly length: number;
  get(index: number): T;
}

/** A dataset that can assemble a whole batch at once (the DataLoader uses this when present). */
export interface BatchDataset<T = unknown, B = unknown> extends Dataset<T> {
  getBatch(indices: Int32Array): B;
}

export function hasGetBatch<T>(d: Dataset<T>): d is BatchDataset<T, unknown> {
  return typeof (d as Partial<BatchDataset<T>>).getBatch === 'function';
}

function checkIndex(where: string, i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${where}: index ${i} is out of range for a dataset of ${n} samples`);
}

/**
 * Tensors that share their first dimension: sample i is [t0[i], t1[i], …] (like torch's
 * TensorDataset). The dataset does not copy or own the tensors: dispose them (or call
 * `dataset.dispose()`) when done. `getBatch` gathers rows on the tensors' own device.
 */
export class TensorDataset implements BatchDataset<Tensor[], Tensor[]> {
  readonly tensors: readonly Tensor[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new RangeError('TensorDataset: needs at least one tensor');
    const n = tensors[0]!.shape[0];
    tensors.forEach((t, i) => {
      if (t.ndim === 0) throw new RangeError(`TensorDataset: tensor ${i} is 0-d; every tensor needs a first (sample) dimension`);
      if (t.shape[0] !== n) {
        throw new RangeError(`TensorDataset: tensors must have the same first dimension: tensor 0 is ${fmtShape(tensors[0]!.shape)}, tensor ${i} is ${fmtShape(t.shape)}`);
      }
    });
    const dev = tensors[0]!.device;
    tensors.forEach((t, i) => {
      if (t.device !== dev) throw new RangeError(`TensorDataset: tensor 0 is on ${dev} but tensor ${i} is on ${t.device}`);
    });
    this.tensors = Object.freeze([...tensors]);
    this.length = n!;
  }

  get device(): string {
    return this.tensors[0]!.device;
  }

  /** Sample i as one row of each tensor (new tensors; the caller owns them). */
  get(index: number): Tensor[] {
    checkIndex('TensorDataset.get', index, this.length);
    return this.tensors.map((t) => select(t, 0, index));
  }

  /** Rows `indices` of each tensor, gathered on the tensors' device (new tensors; the caller owns them). */
  getBatch(indices: Int32Array): Tensor[] {
    for (const i of indices) checkIndex('TensorDataset.getBatch', i, this.length);
    const idx = tensor(indices, { dtype: 'int32', device: this.device });
    try {
      return this.tensors.map((t) => indexSelect(t, 0, idx));
    } finally {
      idx.dispose();
    }
  }

  /** A copy of this dataset on another device (new tensors; this one is left as it is). */
  to(device: string): TensorDataset {
    return new TensorDataset(...this.tensors.map((t) => t.to(device)));
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
  }
}

/** The samples of `dataset` at `indices` (like torch.utils.data.Subset). Shares the dataset. */
export class Subset<T = unknown> implements Dataset<T> {
  readonly indices: Int32Array;
  constructor(readonly dataset: Dataset<T>, indices: ArrayLike<number>) {
    this.indices = Int32Array.from(indices);
    for (const i of this.indices) checkIndex('Subset', i, dataset.length);
  }
  get length(): number {
    return this.indices.length;
  }
  get(index: number): T {
    checkIndex('Subset.get', index, this.length);
    return this.dataset.get(this.indices[index]!);
  }
  /** Present when the underlying dataset can batch (a TensorDataset): one gather per tensor. */
  getBatch(indices: Int32Array): unknown {
    if (!hasGetBatch(this.dataset)) throw new TypeError('Subset.getBatch: the underlying dataset has no getBatch');
    const mapped = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      checkIndex('Subset.getBatch', i, this.length);
      mapped[k] = this.indices[i]!;
    }
    return this.dataset.getBatch(mapped);
  }
}

/**
 * Splits a dataset into non-overlapping subsets of the given lengths (which must add up to the
 * dataset's length), in an order fixed by `seed` (the data shuffle RNG, not the tensor RNG).
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], seed = 0): Subset<T>[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.some((l) => !Number.isInteger(l) || l < 0) || total !== dataset.length) {
    throw new RangeError(`randomSplit: lengths [${lengths.join(', ')}] must be non-negative integers adding up to the dataset's ${dataset.length} samples`);
  }
  const p = permutation(dataset.length, seed);
  const out: Subset<T>[] = [];
  let at = 0;
  for (const l of lengths) {
    out.push(new Subset(dataset, p.subarray(at, at + l)));
    at += l;
  }
  return out;
}
