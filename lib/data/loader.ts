// DataLoader: batches of a dataset, optionally shuffled in an order fixed by (seed, epoch).
//
// Who disposes a batch: the loader. Batches are made lazily, one at a time, when the iteration
// asks for the next one; with `autoDispose` (the default) the loader disposes batch k's tensors
// when batch k+1 is requested, and the last one when the loop ends (normally, by `break` or by an
// exception: for…of calls the iterator's return()). So
//
//   for (const [x, y] of loader) { tidy(() => { …step… }); }
//
// leaks nothing: tidy frees what the step creates, the loader frees the batch. A batch is valid
// until the next one is requested; clone() what you want to keep longer, or pass
// `autoDispose: false` and dispose batches yourself.

import { fmtShape } from '../shape.js';
import { isTensor, type Tensor } from '../tensor.js';
import { tidy } from '../memory.js';
import { normalizeDevice } from '../backend/registry.js';
import { stack, tensor } from '../ops/index.js';
import { hasGetBatch, type Dataset } from './dataset.js';
import { deriveSeed, permutation } from './shuffle.js';
import { bool, checkOptions, finite, func, positiveInt, string, type OptionKeys } from '../options.js';

export type Collate<T, B> = (samples: T[]) => B;

/**
 * Which dataset indices an epoch visits, in order (torch's `sampler=`): e.g. data.DistributedSampler.
 * `length` is the number of indices per epoch; `indices(epoch)` must return exactly that many, each
 * in [0, dataset.length).
 */
export interface Sampler {
  readonly length: number;
  indices(epoch: number): Int32Array;
  setEpoch?(epoch: number): void;
}

export interface DataLoaderOptions<T = unknown, B = unknown> {
  /** samples per batch (default 32) */
  batchSize?: number;
  /** a new order every epoch, fixed by (seed, epoch) (default false) */
  shuffle?: boolean;
  /** the shuffle seed (default 0); independent of manualSeed and the tensor RNG */
  seed?: number;
  /** drop the last batch when it is smaller than batchSize (default false) */
  dropLast?: boolean;
  /**
   * Builds a batch from a list of samples. Default: datasets with getBatch (TensorDataset, Subset
   * of one) gather the batch directly; otherwise samples (tensors, numbers, or tuples/objects of
   * them) are stacked along a new first dimension. Must return new tensors (the loader disposes
   * them, see autoDispose).
   */
  collate?: Collate<T, B>;
  /** move every tensor of a batch to this device ('cpu', 'cuda', 'cuda:N') */
  device?: string;
  /** dispose each batch when the next is requested and at the end of the loop (default true) */
  autoDispose?: boolean;
  /** the indices of each epoch (e.g. a DistributedSampler); excludes shuffle, as in torch */
  sampler?: Sampler;
}

const LOADER_KEYS: OptionKeys<DataLoaderOptions> = { batchSize: true, shuffle: true, seed: true, dropLast: true, collate: true, device: true, autoDispose: true, sampler: true };

/** A dataset's length, checked: a non-negative integer (NaN, -1 or 2.5 would loop or mis-batch). */
export function datasetLength(where: string, ds: { length: unknown }): number {
  const n = ds.length;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`${where}: the dataset's length is ${typeof n === 'number' ? n : JSON.stringify(n) ?? String(n)} (a dataset must have a non-negative integer length; check its length getter)`);
  }
  return n;
}

/** Tensors inside a batch (a tensor, an array or a plain object of them). */
export function batchTensors(b: unknown, out: Tensor[] = []): Tensor[] {
  if (isTensor(b)) out.push(b);
  else if (Array.isArray(b)) for (const v of b) batchTensors(v, out);
  else if (b !== null && typeof b === 'object' && Object.getPrototypeOf(b) === Object.prototype) {
    for (const v of Object.values(b)) batchTensors(v, out);
  }
  return out;
}

function disposeBatch(b: unknown): void {
  for (const t of batchTensors(b)) t.dispose();
}

function mapTensors(b: unknown, f: (t: Tensor) => Tensor): unknown {
  if (isTensor(b)) return f(b);
  if (Array.isArray(b)) return b.map((v) => mapTensors(v, f));
  if (b !== null && typeof b === 'object' && Object.getPrototypeOf(b) === Object.prototype) {
    return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, mapTensors(v, f)]));
  }
  return b;
}

/**
 * torch's default_collate, restricted to what wattgrad has: tensors are stacked, numbers become a
 * 1-D tensor (int32 when all are integers or bigints, values past int32 refused; else float32),
 * arrays and plain objects recurse.
 */
/** Runs each part's collation; if one fails, the tensors the earlier parts made are freed. */
function collateParts(parts: (() => unknown)[]): unknown[] {
  const out: unknown[] = [];
  const free = (v: unknown): void => {
    if (isTensor(v)) v.dispose();
    else if (Array.isArray(v)) v.forEach(free);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(free);
  };
  try {
    for (const p of parts) out.push(p());
  } catch (e) {
    out.forEach(free);
    throw e;
  }
  return out;
}

export function defaultCollate(samples: unknown[]): unknown {
  if (samples.length === 0) throw new RangeError('defaultCollate: empty batch');
  const first = samples[0];
  if (isTensor(first)) {
    for (const s of samples) {
      if (!isTensor(s) || s.shape.length !== first.shape.length || s.shape.some((d, i) => d !== first.shape[i])) {
        throw new RangeError(`defaultCollate: samples must be tensors of one shape; got ${fmtShape(first.shape)} and ${isTensor(s) ? fmtShape(s.shape) : typeof s}`);
      }
    }
    return stack(samples as Tensor[], 0);
  }
  // every sample must have the first one's structure: before, a shorter or longer sample lost its
  // extra fields without a word, and a missing key read as undefined (or as Object.prototype's)
  const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'bigint' ? 'a number' : `a ${typeof v}`);
  samples.forEach((s, k) => {
    if (kind(s) !== kind(first)) throw new TypeError(`defaultCollate: sample ${k} of the batch is ${isTensor(s) ? 'a tensor' : kind(s)} but sample 0 is ${kind(first)}; every sample must have the same structure`);
  });
  if (typeof first === 'number' || typeof first === 'bigint') {
    // int32 when all are integers (bigint too: torch's int64 labels), range-checked: a label past
    // 2^31 is an error, not a wrapped value
    const ints = samples.every((v) => typeof v === 'bigint' || Number.isInteger(v));
    try {
      return tensor(samples as number[], { dtype: ints ? 'int32' : 'float32' });
    } catch (e) {
      if (e instanceof Error) e.message = `defaultCollate: ${e.message}`;
      throw e;
    }
  }
  if (Array.isArray(first)) {
    samples.forEach((s, k) => {
      const n = (s as unknown[]).length;
      if (n !== first.length) throw new RangeError(`defaultCollate: sample ${k} of the batch has ${n} items but sample 0 has ${first.length}; every sample must have the same structure`);
    });
    return collateParts(first.map((_, i) => () => defaultCollate(samples.map((s) => (s as unknown[])[i]))));
  }
  if (first !== null && typeof first === 'object') {
    const keys = Object.keys(first);
    const want = [...keys].sort().join(', ');
    samples.forEach((s, k) => {
      const got = Object.keys(s as object).sort().join(', ');
      if (got !== want) throw new RangeError(`defaultCollate: sample ${k} of the batch has keys [${got}] but sample 0 has [${want}]; every sample must have the same keys`);
    });
    const parts = collateParts(keys.map((k) => () => defaultCollate(samples.map((s) => (s as Record<string, unknown>)[k]))));
    return Object.fromEntries(keys.map((k, i) => [k, parts[i]]));
  }
  throw new TypeError(`defaultCollate: cannot batch samples of type ${typeof first}; pass a collate function`);
}

/**
 * Iterates over a dataset in batches: `for (const [x, y] of loader)`. `length` is the number of
 * batches per epoch, known up front. Each iteration is one epoch; with shuffle the order of epoch
 * e is permutation(seed, e), where e counts the iterations started (or what setEpoch set), so a
 * resumed run sees the same order as an uninterrupted one.
 */
export class DataLoader<B = Tensor[]> implements Iterable<B> {
  readonly dataset: Dataset<unknown>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly device: string | undefined;
  readonly autoDispose: boolean;
  private readonly collate: Collate<unknown, B> | null;
  readonly sampler: Sampler | null;
  private epoch = 0;

  // options take any sample type: a constructor cannot be generic in the dataset's sample type, and a
  // collate written for the caller's samples ((s: [Tensor, number][]) => B) must be accepted as it is
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(dataset: Dataset<unknown>, options: DataLoaderOptions<any, B> = {}) {
    options = checkOptions('DataLoader', options, LOADER_KEYS);
    const bs = positiveInt('DataLoader', 'batchSize', options.batchSize, 32);
    const seed = finite('DataLoader', 'seed', options.seed, 0);
    if (!dataset || typeof dataset.get !== 'function' || !('length' in dataset)) {
      throw new TypeError('DataLoader: dataset must have a length and a get(index) method (e.g. a TensorDataset)');
    }
    datasetLength('DataLoader', dataset);
    this.dataset = dataset;
    this.batchSize = bs;
    this.shuffle = bool('DataLoader', 'shuffle', options.shuffle, false);
    this.seed = seed;
    this.dropLast = bool('DataLoader', 'dropLast', options.dropLast, false);
    this.device = options.device === undefined ? undefined : string('DataLoader', 'device', options.device);
    this.autoDispose = bool('DataLoader', 'autoDispose', options.autoDispose, true);
    this.collate = options.collate === undefined ? null : func<Collate<unknown, B>>('DataLoader', 'collate', options.collate);
    const sm = options.sampler;
    if (sm === undefined) this.sampler = null;
    else {
      if (sm === null || typeof sm !== 'object' || typeof sm.indices !== 'function' || !Number.isInteger(sm.length) || sm.length < 0)
        throw new TypeError('DataLoader: sampler must have a length (a non-negative integer) and indices(epoch) (e.g. a DistributedSampler)');
      if (this.shuffle) throw new RangeError('DataLoader: sampler and shuffle cannot both be set (the sampler decides the order; shuffle it there)');
      this.sampler = sm;
    }
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : datasetLength('DataLoader', this.dataset);
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Samples per epoch (after dropLast). */
  get numSamples(): number {
    return this.dropLast ? this.length * this.batchSize : this.sampler ? this.sampler.length : datasetLength('DataLoader', this.dataset);
  }

  /** Fixes which epoch's order the next iteration uses (fit calls this; also for resuming). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader.setEpoch: epoch must be a non-negative integer, got ${epoch}`);
    this.epoch = epoch;
    this.sampler?.setEpoch?.(epoch);
  }

  /** The sample order of the epoch the next iteration will use. */
  order(epoch = this.epoch): Int32Array {
    const n = datasetLength('DataLoader', this.dataset);
    if (this.sampler) {
      const idx = this.sampler.indices(epoch);
      if (idx.length !== this.sampler.length)
        throw new RangeError(`DataLoader: sampler.indices(${epoch}) returned ${idx.length} indices, its length says ${this.sampler.length}`);
      for (const i of idx) if (!(i >= 0 && i < n)) throw new RangeError(`DataLoader: sampler index ${i} is outside the dataset (length ${n})`);
      return idx;
    }
    if (this.shuffle) return permutation(n, deriveSeed(this.seed, epoch));
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return p;
  }

  /** Builds batch `indices` (new tensors, on `device` if set). Not disposed by the loader. */
  makeBatch(indices: Int32Array): B {
    const ds = this.dataset;
    let batch: unknown = tidy(() => {
      if (this.collate) return this.collate(Array.from(indices, (i) => ds.get(i)));
      if (hasGetBatch(ds)) return ds.getBatch(indices);
      return defaultCollate(Array.from(indices, (i) => ds.get(i)));
    });
    const dev = this.device;
    if (dev !== undefined) {
      const target = normalizeDevice(dev);
      batch = mapTensors(batch, (t) => {
        if (t.device === target) return t;
        const m = t.to(target);
        t.dispose();
        return m;
      });
    }
    return batch as B;
  }

  [Symbol.iterator](): Iterator<B> {
    const order = this.order(this.epoch);
    this.epoch++;
    const nb = this.length;
    const bs = this.batchSize;
    let k = 0;
    let current: B | null = null;
    const release = (): void => {
      if (current !== null && this.autoDispose) disposeBatch(current);
      current = null;
    };
    return {
      next: (): IteratorResult<B> => {
        release();
        if (k >= nb) return { done: true, value: undefined };
        const start = k * bs;
        const idx = order.subarray(start, Math.min(start + bs, order.length));
        k++;
        current = this.makeBatch(idx);
        return { done: false, value: current };
      },
      return: (): IteratorResult<B> => {
        release();
        k = nb;
        return { done: true, value: undefined };
      },
    };
  }
}
