// Creation: tensor() from JS data, constant fills, ranges, and Philox random tensors.

import { getBackend, getDefaultDevice } from '../backend/registry.js';
import { assertDType, hostArray, isFloat, type DType, type TypedArray } from '../dtype.js';
import { takeCounters } from '../random.js';
import { assertShape, fmtShape, numel } from '../shape.js';
import { Tensor, type NestedArray } from '../tensor.js';
import { assertPositiveInt, empty, launch, nbytes } from './util.js';

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o: TensorOptions | undefined): Tensor {
  if (o?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Checks the options before anything is allocated (a failed call leaves nothing behind). */
function checkOptions(op: string, o: TensorOptions | undefined, dtype: DType): void {
  if (o?.requiresGrad && !isFloat(dtype)) {
    throw new TypeError(`${op}: only floating point tensors can require gradients (got ${dtype})`);
  }
}

function shapeArg(op: string, shape: number | readonly number[]): number[] {
  return assertShape(op, typeof shape === 'number' ? [shape] : [...shape]);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flattenInto(op: string, data: NestedArray, shape: number[], d: number, out: TypedArray, pos: { i: number }): void {
  if (d === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new TypeError(`${op}: expected a number at depth ${d}, got ${Array.isArray(data) ? 'an array (ragged nesting)' : typeof data}`);
    }
    out[pos.i++] = Number(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[d]) {
    throw new RangeError(`${op}: ragged nested array: expected length ${shape[d]} at depth ${d}, got ${Array.isArray(data) ? data.length : 'a number'} (inferred shape ${fmtShape(shape)})`);
  }
  for (const x of data) flattenInto(op, x, shape, d + 1, out, pos);
}

function dtypeOfArray(a: TypedArray): DType {
  return a instanceof Float64Array ? 'float64' : a instanceof Int32Array ? 'int32' : 'float32';
}

/** Uploads host values to a new tensor on `device`. */
export function fromHost(values: TypedArray, shape: number[], dtype: DType, device?: string): Tensor {
  const b = getBackend(device ?? getDefaultDevice());
  const t = empty(b, shape, dtype);
  if (values.length) b.upload(t.handle, values, dtype);
  return t;
}

/**
 * A tensor from nested arrays, a typed array (with `shape`, default 1-D), or a number (0-d).
 * dtype defaults to float32, or the typed array's own type.
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], options: TensorOptions & { shape?: number[] } = {}): Tensor {
  const op = 'tensor';
  let dtype: DType;
  let values: TypedArray;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    dtype = options.dtype ? assertDType(options.dtype, op) : dtypeOfArray(arr);
    shape = options.shape ? assertShape(op, options.shape) : [arr.length];
    if (numel(shape) !== arr.length) throw new RangeError(`${op}: shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${arr.length}`);
    values = hostArray(dtype, arr.length);
    values.set(arr as ArrayLike<number>);
  } else {
    dtype = options.dtype ? assertDType(options.dtype, op) : 'float32';
    const inferred = inferShape(data as NestedArray);
    values = hostArray(dtype, numel(inferred));
    flattenInto(op, data as NestedArray, inferred, 0, values, { i: 0 });
    shape = options.shape ? assertShape(op, options.shape) : inferred;
    if (numel(shape) !== values.length) throw new RangeError(`${op}: shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${values.length}`);
  }
  checkOptions(op, options, dtype);
  return finish(fromHost(values, shape, dtype, options.device), options);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: number | readonly number[], value: number, options: TensorOptions = {}): Tensor {
  const s = shapeArg('full', shape);
  const dtype = options.dtype ? assertDType(options.dtype, 'full') : 'float32';
  if (typeof value !== 'number') throw new TypeError(`full: value must be a number, got ${typeof value}`);
  checkOptions('full', options, dtype);
  const b = getBackend(options.device ?? getDefaultDevice());
  const t = empty(b, s, dtype);
  const n = numel(s);
  launch(b, 'fill', 0, nbytes(n, dtype), t.handle, n, value, dtype);
  return finish(t, options);
}

export function zeros(shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

function likeOpts(x: Tensor, o: TensorOptions): TensorOptions {
  return { dtype: o.dtype ?? x.dtype, device: o.device ?? x.device, requiresGrad: o.requiresGrad };
}

export function zerosLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return full(x.shape, 0, likeOpts(x, options));
}

export function onesLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return full(x.shape, 1, likeOpts(x, options));
}

export function fullLike(x: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return full(x.shape, value, likeOpts(x, options));
}

/** [start, end) by step, like torch.arange; int32 when all arguments are integers and no dtype is given. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`arange: step must be finite and nonzero, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError(`arange: start and end must be finite, got ${start}, ${end}`);
  const dtype = options.dtype ? assertDType(options.dtype, 'arange') : [start, end, step].every(Number.isInteger) ? 'int32' : 'float32';
  checkOptions('arange', options, dtype);
  const v = hostArray(dtype, n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return finish(fromHost(v, [n], dtype, options.device), options);
}

/** `steps` values evenly spaced from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  assertPositiveInt('linspace', 'steps', steps, true);
  const dtype = options.dtype ? assertDType(options.dtype, 'linspace') : 'float32';
  checkOptions('linspace', options, dtype);
  const v = hostArray(dtype, steps);
  const d = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) v[i] = i === steps - 1 && steps > 1 ? end : start + i * d;
  return finish(fromHost(v, [steps], dtype, options.device), options);
}

/** The n×m identity. */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  assertShape('eye', [n, m]);
  const dtype = options.dtype ? assertDType(options.dtype, 'eye') : 'float32';
  checkOptions('eye', options, dtype);
  const v = hostArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) v[i * m + i] = 1;
  return finish(fromHost(v, [n, m], dtype, options.device), options);
}

function randomFloat(op: string, options: TensorOptions): DType {
  const dtype = options.dtype ? assertDType(options.dtype, op) : 'float32';
  if (!isFloat(dtype)) throw new TypeError(`${op}: dtype must be a float type, got ${dtype}`);
  return dtype;
}

/** Uniform [low, high) from the Philox stream. */
export function uniform(shape: number | readonly number[], low = 0, high = 1, options: TensorOptions = {}): Tensor {
  const s = shapeArg('rand', shape);
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high)) throw new RangeError(`rand: need finite low <= high, got ${low}, ${high}`);
  const dtype = randomFloat('rand', options);
  const b = getBackend(options.device ?? getDefaultDevice());
  const t = empty(b, s, dtype);
  const n = numel(s);
  const { seed, offset } = takeCounters(n / 4);
  launch(b, 'randUniform', n, nbytes(n, dtype), t.handle, n, seed, offset, low, high, dtype);
  return finish(t, options);
}

/** Uniform [0, 1). */
export function rand(shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  return uniform(shape, 0, 1, options);
}

/** Normal(mean, std) from the Philox stream. */
export function normal(shape: number | readonly number[], mean = 0, std = 1, options: TensorOptions = {}): Tensor {
  const s = shapeArg('randn', shape);
  if (!(Number.isFinite(mean) && Number.isFinite(std) && std >= 0)) throw new RangeError(`randn: need a finite mean and std >= 0, got mean ${mean}, std ${std}`);
  const dtype = randomFloat('randn', options);
  const b = getBackend(options.device ?? getDefaultDevice());
  const t = empty(b, s, dtype);
  const n = numel(s);
  const { seed, offset } = takeCounters(n / 2);
  launch(b, 'randNormal', 10 * n, nbytes(n, dtype), t.handle, n, seed, offset, mean, std, dtype);
  return finish(t, options);
}

/** Standard normal. */
export function randn(shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  return normal(shape, 0, 1, options);
}

/** Integers uniform in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new RangeError(`randint: need integers low < high, got ${low}, ${high}`);
  const s = shapeArg('randint', shape);
  const dtype = options.dtype ? assertDType(options.dtype, 'randint') : 'int32';
  checkOptions('randint', options, dtype);
  if (high - low > 2 ** 24) throw new RangeError(`randint: range high - low must be at most 2^24, got ${high - low}`);
  const b = getBackend(options.device ?? getDefaultDevice());
  const n = numel(s);
  // uniform [low, high) in float64, floored, then cast (exact for |range| < 2^24 in float32 math too)
  const u = empty(b, s, 'float32');
  const { seed, offset } = takeCounters(n / 4);
  launch(b, 'randUniform', n, nbytes(n, 'float32'), u.handle, n, seed, offset, 0, high - low, 'float32');
  const f = empty(b, s, 'float32');
  launch(b, 'unary', n, nbytes(2 * n, 'float32'), 'floor', u.handle, f.handle, n, 'float32', 0, 0);
  launch(b, 'unary', n, nbytes(2 * n, 'float32'), 'add_scalar', f.handle, u.handle, n, 'float32', low, 0);
  // guard the rare rounding of high - ε up to high
  launch(b, 'unary', n, nbytes(2 * n, 'float32'), 'clamp', u.handle, f.handle, n, 'float32', low, high - 1);
  const t = empty(b, s, dtype);
  launch(b, 'cast', 0, nbytes(2 * n, 'float32'), f.handle, t.handle, n, 'float32', dtype);
  u.dispose();
  f.dispose();
  return finish(t, options);
}

export function randLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return rand(x.shape, likeOpts(x, options));
}

export function randnLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return randn(x.shape, likeOpts(x, options));
}
