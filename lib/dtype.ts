// dtypes: what a tensor's elements are, and the host typed array that holds them.
// bfloat16 / float16 are reserved names for the GPU; the js backend refuses them.

export type DType = 'float32' | 'float64' | 'int32' | 'bfloat16' | 'float16';
export type HostDType = 'float32' | 'float64' | 'int32';
export type FloatDType = 'float32' | 'float64' | 'bfloat16' | 'float16';

export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bfloat16', 'float16'];

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64': return 8;
    case 'float32': case 'int32': return 4;
    case 'bfloat16': case 'float16': return 2;
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
    case 'float64': return new Float64Array(n);
    case 'int32': return new Int32Array(n);
    default: return new Float32Array(n);
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
