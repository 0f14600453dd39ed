// Creation: tensor() from JS data, constant fills, ranges, and Philox random tensors.

import { getBackend, getDefaultDevice } from '../backend/registry.js';
import { assertDType, fitsInt32, hostArray, int32Overflow, isFloat, type DType, type TypedArray } from '../dtype.js';
import { takeCounters } from '../random.js';
import { assertShape, fmtShape, numel } from '../shape.js';
import type { Tensor, NestedArray } from '../tensor.js';
import { assertPositiveInt, checkAlloc, empty, launch, nbytes } from './util.js';
import { checkOptions as checkKeys } from '../options.js';

export interface TensorOptions {
  /** 'int64' is accepted for torch-style labels and stored as int32 (values range-checked) */
  dtype?: DType | 'int64';
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o: TensorOptions | undefined): Tensor {
  if (o?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Checks the options before anything is allocated (a failed call leaves nothing behind). */
const TENSOR_OPTION_KEYS = ['dtype', 'device', 'requiresGrad'] as const;

/** Unknown keys are errors with a did-you-mean ({ dtyp: 'int32' } made float32 before). */
function checkTensorKeys(op: string, o: TensorOptions | undefined): void {
  checkKeys(op, o, op === 'tensor' ? [...TENSOR_OPTION_KEYS, 'shape'] : TENSOR_OPTION_KEYS);
  if (o?.requiresGrad !== undefined && typeof o.requiresGrad !== 'boolean')
    throw new TypeError(`${op}: requiresGrad must be true or false, got ${String(o.requiresGrad)}`);
}

function checkOptions(op: string, o: TensorOptions | undefined, dtype: DType): void {
  checkTensorKeys(op, o);
  if (o?.requiresGrad && !isFloat(dtype)) {
    throw new TypeError(`${op}: only floating point tensors can require gradients (got ${dtype})`);
  }
}

/** A creation dtype: 'int64' (torch labels) becomes int32, whose values are range-checked. */
function dtypeArg(op: string, d: unknown, fallback: DType): DType {
  if (d === undefined) return fallback;
  if (d === 'int64') return 'int32';
  return assertDType(d, op);
}

function shapeArg(op: string, shape: number | readonly number[]): number[] {
  return assertShape(op, typeof shape === 'number' ? [shape] : [...shape]);
}

/** Deepest nesting tensor() reads (a cyclic array would otherwise loop or overflow the stack). */
export const MAX_NESTING = 64;

function inferShape(op: string, data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    if (shape.length === MAX_NESTING) {
      throw new RangeError(
        `${op}: data is nested deeper than ${MAX_NESTING} levels (a cyclic array?); tensors made from nested arrays have at most ${MAX_NESTING} dimensions — pass a flat typed array with { shape } instead`,
      );
    }
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flattenInto(op: string, data: NestedArray, shape: number[], d: number, out: TypedArray, pos: { i: number }): void {
  if (d === shape.length) {
    const v = data as unknown;
    let x: number;
    if (typeof v === 'number') x = v;
    else if (typeof v === 'boolean') x = Number(v);
    else if (typeof v === 'bigint') {
      if (out instanceof Int32Array && !(v >= -2147483648n && v <= 2147483647n)) int32Overflow(op, v, ` at index ${pos.i}`);
      x = Number(v);
    } else {
      throw new TypeError(`${op}: expected a number at depth ${d}, got ${Array.isArray(v) ? 'an array (ragged nesting)' : typeof v}`);
    }
    if (out instanceof Int32Array && !fitsInt32(x)) int32Overflow(op, x, ` at index ${pos.i}`);
    out[pos.i++] = x;
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[d]) {
    throw new RangeError(
      `${op}: ragged nested array: expected length ${shape[d]} at depth ${d}, got ${Array.isArray(data) ? data.length : 'a number'} (inferred shape ${fmtShape(shape)})`,
    );
  }
  for (const x of data) flattenInto(op, x, shape, d + 1, out, pos);
}

/** Host views tensor() takes: ours, the other numeric typed arrays, and int64 (labels from numpy/torch files). */
type HostView =
  TypedArray | Uint8Array | Int8Array | Uint8ClampedArray | Int16Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

function dtypeOfArray(a: HostView): DType {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array || a instanceof BigInt64Array || a instanceof BigUint64Array) return 'int32';
  return 'float32';
}

/** Copies a typed array into the host array of dtype, refusing int32 overflow (and NaN/Infinity into int32). */
function convertView(op: string, a: HostView, dtype: DType): TypedArray {
  const out = hostArray(dtype, a.length);
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) {
    const toInt = out instanceof Int32Array;
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (toInt && !(v >= -2147483648n && v <= 2147483647n)) int32Overflow(op, v, ` at index ${i} of the ${a.constructor.name}`);
      out[i] = Number(v);
    }
    return out;
  }
  if (
    out instanceof Int32Array &&
    !(
      a instanceof Int32Array ||
      a instanceof Int16Array ||
      a instanceof Int8Array ||
      a instanceof Uint8Array ||
      a instanceof Uint16Array ||
      a instanceof Uint8ClampedArray
    )
  ) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (!fitsInt32(v)) int32Overflow(op, v, ` at index ${i} of the ${a.constructor.name}`);
      out[i] = v;
    }
    return out;
  }
  out.set(a as ArrayLike<number>);
  return out;
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
export function tensor(
  data: NestedArray | HostView | readonly number[] | readonly bigint[],
  options: TensorOptions & { shape?: number[] } = {},
): Tensor {
  const op = 'tensor';
  let dtype: DType;
  let values: TypedArray;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView) {
      throw new TypeError(
        `${op}: a DataView has no element type; pass a typed array over its buffer (e.g. new Float32Array(view.buffer, view.byteOffset, view.byteLength / 4))`,
      );
    }
    const arr = data as HostView;
    dtype = dtypeArg(op, options.dtype, dtypeOfArray(arr));
    shape = options.shape ? assertShape(op, options.shape) : [arr.length];
    if (numel(shape) !== arr.length)
      throw new RangeError(`${op}: shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${arr.length}`);
    values = convertView(op, arr, dtype);
  } else {
    dtype = dtypeArg(op, options.dtype, 'float32');
    const inferred = inferShape(op, data as NestedArray);
    values = hostArray(dtype, numel(inferred));
    flattenInto(op, data as NestedArray, inferred, 0, values, { i: 0 });
    shape = options.shape ? assertShape(op, options.shape) : inferred;
    if (numel(shape) !== values.length)
      throw new RangeError(`${op}: shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${values.length}`);
  }
  checkOptions(op, options, dtype);
  return finish(fromHost(values, shape, dtype, options.device), options);
}

/** The value a fill of dtype stores: int32 truncates toward zero and must not overflow (torch). */
export function fillValue(op: string, value: number, dtype: DType): number {
  if (typeof value !== 'number') throw new TypeError(`${op}: value must be a number, got ${typeof value}`);
  if (dtype !== 'int32') {
    // a finite value that would round to ±Infinity in the dtype is refused too (torch); ±Infinity itself is fine
    const overflow =
      dtype === 'float32'
        ? !Number.isFinite(Math.fround(value))
        : dtype === 'float16'
          ? Math.abs(value) >= 65520
          : dtype === 'bfloat16'
            ? Math.abs(value) >= 3.3961775292304616e38
            : false;
    if (Number.isFinite(value) && overflow)
      throw new RangeError(`${op}: value ${value} cannot be converted to type ${dtype} without overflow (use dtype 'float64')`);
    return value;
  }
  if (!fitsInt32(value)) int32Overflow(op, value);
  return Math.trunc(value);
}

function fullImpl(op: string, shape: number | readonly number[], value: number, options: TensorOptions): Tensor {
  const s = shapeArg(op, shape);
  const dtype = dtypeArg(op, options.dtype, 'float32');
  const v = fillValue(op, value, dtype);
  checkOptions(op, options, dtype);
  const b = getBackend(options.device ?? getDefaultDevice());
  const t = empty(b, s, dtype, op);
  const n = numel(s);
  launch(b, 'fill', 0, nbytes(n, dtype), t.handle, n, v, dtype);
  return finish(t, options);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: number | readonly number[], value: number, options: TensorOptions = {}): Tensor {
  return fullImpl('full', shape, value, options);
}

export function zeros(shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  return fullImpl('zeros', shape, 0, options);
}

export function ones(shape: number | readonly number[], options: TensorOptions = {}): Tensor {
  return fullImpl('ones', shape, 1, options);
}

function likeOpts(op: string, x: Tensor, o: TensorOptions): TensorOptions {
  checkTensorKeys(op, o);
  return { dtype: o.dtype ?? x.dtype, device: o.device ?? x.device, requiresGrad: o.requiresGrad };
}

export function zerosLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return fullImpl('zerosLike', x.shape, 0, likeOpts('zerosLike', x, options));
}

export function onesLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return fullImpl('onesLike', x.shape, 1, likeOpts('onesLike', x, options));
}

export function fullLike(x: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return fullImpl('fullLike', x.shape, value, likeOpts('fullLike', x, options));
}

/** [start, end) by step, like torch.arange; int32 when all arguments are integers and no dtype is given. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`arange: step must be finite and nonzero, got ${step}`);
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError(`arange: start and end must be finite, got ${start}, ${end}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = dtypeArg('arange', options.dtype, [start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  checkOptions('arange', options, dtype);
  if (dtype === 'int32' && n > 0) {
    // torch would use int64 here (or wrap, given int32): refuse values past int32 instead
    const last = start + (n - 1) * step;
    if (!fitsInt32(start)) int32Overflow('arange', start, ' (start)');
    if (!fitsInt32(last)) int32Overflow('arange', last, ` (element ${n - 1} of [${start}, ${end}) by ${step})`);
  }
  checkAlloc('arange', getBackend(options.device ?? getDefaultDevice()), [n], dtype);
  const v = hostArray(dtype, n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return finish(fromHost(v, [n], dtype, options.device), options);
}

/** `steps` values evenly spaced from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  assertPositiveInt('linspace', 'steps', steps, true);
  const dtype = dtypeArg('linspace', options.dtype, 'float32');
  checkOptions('linspace', options, dtype);
  if (dtype === 'int32' && steps > 0) for (const e of [start, end]) if (!fitsInt32(e)) int32Overflow('linspace', e);
  checkAlloc('linspace', getBackend(options.device ?? getDefaultDevice()), [steps], dtype);
  const v = hostArray(dtype, steps);
  const d = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) v[i] = i === steps - 1 && steps > 1 ? end : start + i * d;
  return finish(fromHost(v, [steps], dtype, options.device), options);
}

/** The n×m identity. */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  assertShape('eye', [n, m]);
  const dtype = dtypeArg('eye', options.dtype, 'float32');
  checkOptions('eye', options, dtype);
  checkAlloc('eye', getBackend(options.device ?? getDefaultDevice()), [n, m], dtype);
  const v = hostArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) v[i * m + i] = 1;
  return finish(fromHost(v, [n, m], dtype, options.device), options);
}

function randomFloat(op: string, options: TensorOptions): DType {
  checkTensorKeys(op, options);
  const dtype = dtypeArg(op, options.dtype, 'float32');
  if (!isFloat(dtype)) throw new TypeError(`${op}: dtype must be a float type, got ${dtype}`);
  return dtype;
}

/** Uniform [low, high) from the Philox stream. */
export function uniform(shape: number | readonly number[], low = 0, high = 1, options: TensorOptions = {}): Tensor {
  const s = shapeArg('rand', shape);
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high))
    throw new RangeError(`rand: need finite low <= high, got ${low}, ${high}`);
  const dtype = randomFloat('rand', options);
  const b = getBackend(options.device ?? getDefaultDevice());
  const t = empty(b, s, dtype, 'rand');
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
  if (!(Number.isFinite(mean) && Number.isFinite(std) && std >= 0))
    throw new RangeError(`randn: need a finite mean and std >= 0, got mean ${mean}, std ${std}`);
  const dtype = randomFloat('randn', options);
  const b = getBackend(options.device ?? getDefaultDevice());
  const t = empty(b, s, dtype, 'randn');
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
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low)
    throw new RangeError(`randint: need integers low < high, got ${low}, ${high}`);
  const s = shapeArg('randint', shape);
  const dtype = dtypeArg('randint', options.dtype, 'int32');
  checkOptions('randint', options, dtype);
  if (high - low > 2 ** 24) throw new RangeError(`randint: range high - low must be at most 2^24, got ${high - low}`);
  if (dtype === 'int32') for (const e of [low, high - 1]) if (!fitsInt32(e)) int32Overflow('randint', e);
  const b = getBackend(options.device ?? getDefaultDevice());
  const n = numel(s);
  // uniform [low, high) in float64, floored, then cast (exact for |range| < 2^24 in float32 math too)
  const u = empty(b, s, 'float32', 'randint');
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
  return rand(x.shape, likeOpts('randLike', x, options));
}

export function randnLike(x: Tensor, options: TensorOptions = {}): Tensor {
  return randn(x.shape, likeOpts('randnLike', x, options));
}
