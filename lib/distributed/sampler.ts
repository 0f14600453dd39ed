// data.DistributedSampler: each rank's share of a dataset (torch.utils.data.DistributedSampler).
//
// Every rank computes the same order (a permutation fixed by (seed, epoch) with shuffle, else
// 0..n-1), pads it by repeating its start (or drops its tail with dropLast) to a multiple of
// numReplicas, and takes every numReplicas-th index from its rank: the ranks' shards are disjoint,
// of equal size, and together cover the dataset once per epoch (plus the few padded repeats).
// setEpoch(e) before each epoch gives a new shuffle (fit calls it through the loader).
//
// The DataLoader takes it as torch's does, new DataLoader(ds, { sampler }), or through
// sampler.loader(options) (the same), or use indices(epoch) with your own batching.

import type { Dataset } from '../data/dataset.js';
import type { Tensor } from '../tensor.js';
import { DataLoader, type DataLoaderOptions } from '../data/loader.js';
import { deriveSeed, permutation } from '../data/shuffle.js';
import { bool, checkOptions, finite, nonNegativeInt, positiveInt, type OptionKeys } from '../options.js';
import { isInitialized, getRank, getWorldSize } from './group.js';

export interface DistributedSamplerOptions {
  /** the number of ranks (default: the default group's world size) */
  numReplicas?: number;
  /** this rank (default: the default group's rank) */
  rank?: number;
  /** a new order every epoch, fixed by (seed, epoch) (default true, like torch) */
  shuffle?: boolean;
  /** the shuffle seed; must be the same on every rank (default 0) */
  seed?: number;
  /** drop the tail so shards are equal instead of padding with repeats (default false) */
  dropLast?: boolean;
}

const SAMPLER_KEYS: OptionKeys<DistributedSamplerOptions> = { numReplicas: true, rank: true, shuffle: true, seed: true, dropLast: true };

export class DistributedSampler implements Iterable<number> {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  private epoch = 0;

  constructor(
    readonly dataset: Dataset<unknown> | { readonly length: number },
    options: DistributedSamplerOptions = {},
  ) {
    const o = checkOptions('DistributedSampler', options, SAMPLER_KEYS);
    if (!dataset || typeof dataset.length !== 'number') throw new TypeError('DistributedSampler: dataset must have a length');
    const needGroup = o.numReplicas === undefined || o.rank === undefined;
    if (needGroup && !isInitialized())
      throw new Error(
        'DistributedSampler: the default process group is not initialized; call distributed.initProcessGroup() first or pass numReplicas and rank',
      );
    this.numReplicas = positiveInt('DistributedSampler', 'numReplicas', o.numReplicas ?? getWorldSize());
    this.rank = nonNegativeInt('DistributedSampler', 'rank', o.rank ?? getRank());
    if (this.rank >= this.numReplicas)
      throw new RangeError(`DistributedSampler: rank ${this.rank} is not below numReplicas ${this.numReplicas}`);
    this.shuffle = bool('DistributedSampler', 'shuffle', o.shuffle, true);
    this.seed = finite('DistributedSampler', 'seed', o.seed, 0);
    this.dropLast = bool('DistributedSampler', 'dropLast', o.dropLast, false);
  }

  /** Samples this rank gets per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.numReplicas) : Math.ceil(n / this.numReplicas);
  }

  /** Samples over all ranks per epoch (after padding or dropping). */
  get totalSize(): number {
    return this.length * this.numReplicas;
  }

  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new RangeError(`DistributedSampler.setEpoch: epoch must be a non-negative integer, got ${epoch}`);
    this.epoch = epoch;
  }

  /** This rank's dataset indices for `epoch`. */
  indices(epoch = this.epoch): Int32Array {
    const n = this.dataset.length;
    let order: Int32Array;
    if (this.shuffle) order = permutation(n, deriveSeed(this.seed, epoch));
    else {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
    }
    const total = this.totalSize;
    const full = new Int32Array(total);
    if (total <= n) full.set(order.subarray(0, total));
    else for (let i = 0; i < total; i++) full[i] = order[i % n]!; // pad with the order's start
    const out = new Int32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = full[this.rank + i * this.numReplicas]!;
    return out;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }

  /**
   * A DataLoader over this rank's shard: its epoch e uses indices(e) (fit's setEpoch reaches the
   * sampler through it). `shuffle` is the sampler's; the loader does not reorder the shard.
   */
  loader<B = Tensor[]>(options: Omit<DataLoaderOptions<unknown, B>, 'shuffle' | 'seed'> = {}): DataLoader<B> {
    const ds = this.dataset as Dataset<unknown>;
    if (typeof (ds as { get?: unknown }).get !== 'function')
      throw new TypeError('DistributedSampler.loader: the dataset must have get(index) (e.g. a TensorDataset)');
    return new DataLoader<B>(ds, { ...options, sampler: this });
  }
}
