// fit() on raw tensors, as in Keras' model.fit(x, y, batch_size, validation_split, validation_data,
// shuffle): the tensors become a TensorDataset and DataLoaders (no copies: batches are gathered
// from x and y). validationSplit holds out the LAST fraction of the samples, before shuffling,
// exactly like Keras (split at ceil(n·(1 - split))).

import { DataLoader } from '../data/loader.js';
import { Subset, TensorDataset } from '../data/dataset.js';
import { isTensor, type Tensor } from '../tensor.js';
import { bool, finite, inRange, positiveInt } from '../options.js';
import { fmtShape } from '../shape.js';

export interface TensorFitOptions {
  /** inputs (N, …): train on tensors instead of a loader (with y) */
  x?: Tensor;
  /** targets (N, …) for x */
  y?: Tensor;
  /** samples per batch with x/y (default 32) */
  batchSize?: number;
  /** hold out this fraction of x/y (the last samples, before shuffling) as validation data, in [0, 1) */
  validationSplit?: number;
  /** validation tensors [xVal, yVal] (instead of validationSplit or a validation loader) */
  validationData?: [Tensor, Tensor] | null;
  /** reshuffle the training samples every epoch (default true with x/y) */
  shuffle?: boolean;
  /** the shuffle seed (default 0) */
  seed?: number;
}

interface Loaders {
  train: DataLoader<Tensor[]>;
  validation: DataLoader<Tensor[]> | null;
}

function checkPair(where: string, xn: string, yn: string, x: unknown, y: unknown): [Tensor, Tensor] {
  if (!isTensor(x)) throw new TypeError(`${where}: ${xn} must be a tensor, got ${x === null ? 'null' : typeof x}`);
  if (!isTensor(y)) throw new TypeError(`${where}: ${yn} must be a tensor (the targets for ${xn}), got ${y === null ? 'null' : typeof y}`);
  if (x.ndim === 0 || y.ndim === 0 || x.shape[0] !== y.shape[0]) {
    throw new RangeError(`${where}: ${xn} ${fmtShape(x.shape)} and ${yn} ${fmtShape(y.shape)} must have the same first (sample) dimension`);
  }
  return [x, y];
}

/** DataLoaders over o.x / o.y (and validation data), or null when the options use loaders. */
export function tensorLoaders(where: string, o: TensorFitOptions & { train?: unknown; validation?: unknown }): Loaders | null {
  const tensorKeys = (['batchSize', 'validationSplit', 'validationData', 'shuffle', 'seed'] as const).filter(
    (k) => o[k] !== undefined && o[k] !== null,
  );
  if (o.x === undefined && o.y === undefined) {
    if (tensorKeys.length) {
      throw new TypeError(
        `${where}: ${tensorKeys.join(', ')} ${tensorKeys.length > 1 ? 'go' : 'goes'} with x and y (tensors); with a loader in train, set ${tensorKeys.includes('validationSplit') ? 'the split with data.randomSplit and ' : ''}batchSize/shuffle/seed on the DataLoader`,
      );
    }
    return null;
  }
  if (o.train !== undefined && o.train !== null)
    throw new TypeError(`${where}: give either train (a loader) or x and y (tensors), not both`);
  const [x, y] = checkPair(where, 'x', 'y', o.x, o.y);
  const batchSize = positiveInt(where, 'batchSize', o.batchSize, 32);
  const shuffle = bool(where, 'shuffle', o.shuffle, true);
  const seed = finite(where, 'seed', o.seed, 0);
  const split = inRange(where, 'validationSplit', o.validationSplit, { min: 0, max: 1, maxOpen: true }, 0);
  const hasValData = o.validationData !== undefined && o.validationData !== null;
  if (split > 0 && hasValData) throw new TypeError(`${where}: give validationSplit or validationData, not both`);
  if ((split > 0 || hasValData) && o.validation !== undefined && o.validation !== null) {
    throw new TypeError(`${where}: give validation (a loader) or ${split > 0 ? 'validationSplit' : 'validationData'}, not both`);
  }
  const ds = new TensorDataset(x, y);
  const n = ds.length;
  let trainDs: TensorDataset | Subset<Tensor[]> = ds;
  let valDs: TensorDataset | Subset<Tensor[]> | null = null;
  if (split > 0) {
    const at = Math.ceil(n * (1 - split));
    if (at === 0 || at === n)
      throw new RangeError(
        `${where}: validationSplit ${split} of ${n} samples leaves ${at === 0 ? 'no training' : 'no validation'} samples`,
      );
    trainDs = new Subset(
      ds,
      Array.from({ length: at }, (_, i) => i),
    );
    valDs = new Subset(
      ds,
      Array.from({ length: n - at }, (_, i) => at + i),
    );
  } else if (hasValData) {
    const v = o.validationData as unknown;
    if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`${where}: validationData must be [xVal, yVal]`);
    valDs = new TensorDataset(...checkPair(where, 'validationData[0]', 'validationData[1]', v[0], v[1]));
  }
  return {
    train: new DataLoader(trainDs, { batchSize, shuffle, seed }),
    validation: valDs ? new DataLoader(valDs, { batchSize }) : null,
  };
}

/** Tensors for evaluate(): { x, y, batchSize? } (Keras' evaluate(x, y, batch_size)). */
export interface TensorData {
  x: Tensor;
  y: Tensor;
  /** samples per batch (default 32) */
  batchSize?: number;
}

/** A DataLoader over { x, y, batchSize? }, or null when `data` is something else (a loader, an iterable). */
export function tensorDataLoader(where: string, data: unknown): DataLoader<Tensor[]> | null {
  if (!data || typeof data !== 'object' || typeof (data as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') return null;
  const d = data as Record<string, unknown>;
  if (!('x' in d) && !('y' in d)) return null;
  for (const k of Object.keys(d))
    if (k !== 'x' && k !== 'y' && k !== 'batchSize')
      throw new TypeError(`${where}: unknown key '${k}' in the data object (expected { x, y, batchSize? })`);
  const [x, y] = checkPair(where, 'x', 'y', d.x, d.y);
  return new DataLoader(new TensorDataset(x, y), { batchSize: positiveInt(where, 'batchSize', d.batchSize, 32) });
}
