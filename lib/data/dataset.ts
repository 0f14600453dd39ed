// Datasets: anything with a length and get(i). TensorDataset wraps tensors that share their first
// dimension and can hand out a whole batch with one gather per tensor (getBatch), so batching
// never reads values back to the host. Subset and randomSplit select rows by index, ConcatDataset
// chains datasets; both batch with getBatch when what they wrap can, and fall back to get(i) (the
// DataLoader then collates the samples) when it cannot, e.g. a custom Dataset with only get(i).

import { fmtShape } from '../shape.js';
import { isTensor, type Tensor } from '../tensor.js';
import { cat, indexSelect, select, tensor } from '../ops/index.js';
import { permutation } from './shuffle.js';
import { finite, nonNegativeInt } from '../options.js';

/** A map-style dataset: `length` samples, `get(i)` returns sample i (new tensors the caller owns). */
export interface Dataset<T = unknown> {
  readonly length: number;
  get(index: number): T;
}

/** A dataset that can assemble a whole batch at once (the DataLoader uses this when present). */
export interface BatchDataset<T = unknown, B = unknown> extends Dataset<T> {
  getBatch(indices: Int32Array): B;
}

/**
 * Whether `d` can assemble a batch itself. A wrapper (Subset, ConcatDataset) has a getBatch method
 * but says through `canGetBatch` whether the datasets it wraps support it.
 */
export function hasGetBatch<T>(d: Dataset<T>): d is BatchDataset<T, unknown> {
  const w = d as Partial<BatchDataset<T>> & { canGetBatch?: boolean };
  return typeof w.getBatch === 'function' && w.canGetBatch !== false;
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
    // checked before the Int32Array, which would turn 0.5 or NaN into 0 and 2**32 into 0 silently
    if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') throw new TypeError('Subset: indices must be an array of sample indices');
    if (!dataset || typeof dataset.get !== 'function') throw new TypeError('Subset: dataset must have a length and a get(index) method');
    nonNegativeInt('Subset', 'dataset length', dataset.length);
    for (let k = 0; k < indices.length; k++) checkIndex('Subset', indices[k]!, dataset.length);
    this.indices = Int32Array.from(indices);
  }
  get length(): number {
    return this.indices.length;
  }
  get(index: number): T {
    checkIndex('Subset.get', index, this.length);
    return this.dataset.get(this.indices[index]!);
  }
  /** Whether getBatch works: the underlying dataset can batch (a TensorDataset, a Subset of one, …). */
  get canGetBatch(): boolean {
    return hasGetBatch(this.dataset);
  }
  /**
   * Rows `indices` of the subset in one call when the underlying dataset can batch (one gather per
   * tensor). Otherwise the DataLoader reads samples with get(i) and collates them.
   */
  getBatch(indices: Int32Array): unknown {
    if (!hasGetBatch(this.dataset)) {
      throw new TypeError(`Subset.getBatch: the underlying ${this.dataset.constructor?.name ?? 'dataset'} has no getBatch; read samples with get(i) (a DataLoader does this and collates them)`);
    }
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
 * Splits a dataset into non-overlapping subsets (like torch.utils.data.random_split), in an order
 * fixed by `seed` (the data shuffle RNG, not the tensor RNG). `lengths` are either sample counts
 * adding up to the dataset's length, or fractions adding up to 1 (`[0.8, 0.2]`): each subset gets
 * floor(fraction·n) samples and the remainder is dealt one by one from the first subset on, as
 * torch does. Works for every dataset kind; the subsets batch in one gather when the dataset can.
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], seed = 0): Subset<T>[] {
  if (!dataset || typeof dataset.get !== 'function') throw new TypeError('randomSplit: dataset must have a length and a get(index) method (e.g. a TensorDataset)');
  const n = nonNegativeInt('randomSplit', 'dataset length', dataset.length);
  if (!Array.isArray(lengths) || lengths.length === 0) throw new TypeError(`randomSplit: lengths must be a non-empty array of counts or fractions, got ${JSON.stringify(lengths)}`);
  finite('randomSplit', 'seed', seed);
  const fsum = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  const fractions = lengths.length > 0 && lengths.every((l) => Number.isFinite(l) && l >= 0 && l <= 1) && Math.abs(fsum - 1) < 1e-9;
  if (fractions) {
    counts = lengths.map((f) => Math.floor(n * f));
    let rem = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rem > 0; i = (i + 1) % counts.length, rem--) counts[i]! += 1;
  } else {
    if (lengths.some((l) => !Number.isInteger(l) || l < 0) || fsum !== n) {
      throw new RangeError(`randomSplit: lengths [${lengths.join(', ')}] must be non-negative integers adding up to the dataset's ${n} samples, or fractions adding up to 1`);
    }
    counts = [...lengths];
  }
  const p = permutation(n, seed);
  const out: Subset<T>[] = [];
  let at = 0;
  for (const l of counts) {
    out.push(new Subset(dataset, p.subarray(at, at + l)));
    at += l;
  }
  return out;
}

/** Tensors in a batch joined along dim 0, part by part (tensors, arrays and plain objects of them). */
function catBatches(parts: unknown[]): unknown {
  const first = parts[0];
  if (isTensor(first)) return cat(parts as Tensor[], 0);
  if (Array.isArray(first)) return first.map((_, i) => catBatches(parts.map((p) => (p as unknown[])[i])));
  if (first !== null && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
    return Object.fromEntries(Object.keys(first).map((k) => [k, catBatches(parts.map((p) => (p as Record<string, unknown>)[k]))]));
  }
  throw new TypeError(`ConcatDataset.getBatch: cannot join batches of type ${typeof first}`);
}

function mapBatch(b: unknown, f: (t: Tensor) => Tensor): unknown {
  if (isTensor(b)) return f(b);
  if (Array.isArray(b)) return b.map((v) => mapBatch(v, f));
  if (b !== null && typeof b === 'object' && Object.getPrototypeOf(b) === Object.prototype) {
    return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, mapBatch(v, f)]));
  }
  return b;
}

/**
 * Datasets one after another (like torch.utils.data.ConcatDataset): sample i of the whole is sample
 * i − offset of the part it falls in. Shares the datasets. Batches with getBatch when every part can.
 */
export class ConcatDataset<T = unknown> implements Dataset<T> {
  readonly datasets: readonly Dataset<T>[];
  /** cumulativeSizes[k] = samples in parts 0..k (torch's cumulative_sizes) */
  readonly cumulativeSizes: readonly number[];
  constructor(datasets: readonly Dataset<T>[]) {
    if (!Array.isArray(datasets) || datasets.length === 0) throw new RangeError('ConcatDataset: needs a non-empty array of datasets');
    datasets.forEach((d, k) => {
      if (!d || typeof d.length !== 'number' || typeof d.get !== 'function') throw new TypeError(`ConcatDataset: part ${k} is not a dataset (it needs a length and get(index))`);
    });
    this.datasets = Object.freeze([...datasets]);
    const cum: number[] = [];
    let s = 0;
    datasets.forEach((d, k) => cum.push((s += nonNegativeInt('ConcatDataset', `length of part ${k}`, d.length))));
    this.cumulativeSizes = Object.freeze(cum);
  }
  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1]!;
  }
  /** [part, index inside the part] of sample i */
  private locate(where: string, i: number): [number, number] {
    checkIndex(where, i, this.length);
    let k = 0;
    while (i >= this.cumulativeSizes[k]!) k++;
    return [k, k === 0 ? i : i - this.cumulativeSizes[k - 1]!];
  }
  get(index: number): T {
    const [k, j] = this.locate('ConcatDataset.get', index);
    return this.datasets[k]!.get(j);
  }
  /** Whether getBatch works: every part can batch. */
  get canGetBatch(): boolean {
    return this.datasets.every((d) => hasGetBatch(d));
  }
  /**
   * Rows `indices` in one call per part, joined and put back in the order asked for. Needs every
   * part to batch (else the DataLoader reads samples with get(i) and collates them).
   */
  getBatch(indices: Int32Array): unknown {
    if (!this.canGetBatch) throw new TypeError('ConcatDataset.getBatch: not every part has getBatch; read samples with get(i) (a DataLoader does this and collates them)');
    const P = this.datasets.length;
    const local: number[][] = Array.from({ length: P }, () => []);
    const where: [number, number][] = [];
    for (const i of indices) {
      const [k, j] = this.locate('ConcatDataset.getBatch', i);
      where.push([k, local[k]!.length]);
      local[k]!.push(j);
    }
    const used: number[] = [];
    for (let k = 0; k < P; k++) if (local[k]!.length > 0) used.push(k);
    const parts = used.map((k) => (this.datasets[k] as BatchDataset<T>).getBatch(Int32Array.from(local[k]!)));
    if (parts.length === 1) return parts[0];
    // the joined rows come grouped by part; row q asked for sits at base[part] + its rank there
    const base = new Map<number, number>();
    let off = 0;
    for (const k of used) {
      base.set(k, off);
      off += local[k]!.length;
    }
    const perm = Int32Array.from(where, ([k, r]) => base.get(k)! + r);
    const joined = catBatches(parts);
    for (const p of parts) mapBatch(p, (t) => (t.dispose(), t));
    if (perm.every((v, q) => v === q)) return joined;
    const idx = new Map<string, Tensor>(); // one index tensor per device
    const out = mapBatch(joined, (t) => {
      let ix = idx.get(t.device);
      if (!ix) idx.set(t.device, (ix = tensor(perm, { dtype: 'int32', device: t.device })));
      const r = indexSelect(t, 0, ix);
      t.dispose();
      return r;
    });
    for (const ix of idx.values()) ix.dispose();
    return out;
  }
}
