// dtypes: what a tensor's elements are, and the host typed array that holds them.
// bfloat16 / float16 are reserved names for the GPU; the js backend refuses them.

export type DType = 'float32' | 'float64' | 'int32' | 'bfloat16' | 'float16';
export type HostDType = 'float32' | 'float64' | 'int32';
export type FloatDType = 'float32' | 'float64' | 'bfloat16' | 'float16';

export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bfloat16', 'float16'];

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'bfloat16':
    case 'float16':
      return 2;
  }
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype !== 'int32';
}

export function assertDType(dtype: unknown, op = 'tensor'): DType {
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new TypeError(`${op}: unknown dtype ${String(dtype)} (expected one of ${DTYPES.join(', ')})`);
  }
  return dtype as DType;
}

/** The host typed array for a dtype; reduced-precision floats are read back as float32. */
export function hostArray(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    default:
      return new Float32Array(n);
  }
}

/** Type promotion for binary ops (torch rules restricted to our dtypes). */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  if (a === 'int32') return b;
  if (b === 'int32') return a;
  return 'float32'; // bfloat16 + float16
}

// ---- int32 range ------------------------------------------------------------------------------
// wattgrad has no int64, so values that torch would keep in int64 must fit int32 or be refused:
// a host value stored into int32 truncates toward zero (like torch) and must lie in
// [-2^31, 2^31); NaN and ±Infinity are refused too (torch: "value cannot be converted to type
// int32 without overflow"). Checked wherever host numbers enter an int32 tensor (tensor(),
// full/fill_, arange, collate); device-side casts (.int()) are not checked (no readback).

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** true when v truncates into int32 (NaN, ±Infinity and |v| ≥ 2^31 do not). */
export function fitsInt32(v: number): boolean {
  return v > -2147483649 && v < 2147483648;
}

/** Throws torch's overflow error, naming the op and where the value came from. */
export function int32Overflow(op: string, v: number | bigint, where = ''): never {
  throw new RangeError(
    `${op}: value ${String(v)}${where} cannot be converted to type int32 without overflow ` +
      `(int32 holds ${INT32_MIN}..${INT32_MAX}; wattgrad has no int64: use dtype 'float64', exact for integers up to 2^53)`,
  );
}

export function checkInt32(op: string, v: number, where = ''): void {
  if (!fitsInt32(v)) int32Overflow(op, v, where);
}
