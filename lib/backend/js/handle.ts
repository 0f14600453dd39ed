// JsHandle: the js backend's storage, a typed array of the dtype it was allocated with,
// plus the small accessors every kernel file uses to reach the numbers behind a Handle.

import type { Handle } from '../kernels.js';
import type { DType, HostDType } from '../../dtype.js';

export type FloatArray = Float32Array | Float64Array;
export type AnyArray = Float32Array | Float64Array | Int32Array;

export class JsHandle implements Handle {
  constructor(
    readonly data: AnyArray,
    readonly dtype: HostDType,
  ) {}
  get byteLength(): number {
    return this.data.byteLength;
  }
}

function handleOf(h: Handle, kernel: string): JsHandle {
  if (!(h instanceof JsHandle)) throw new TypeError(`${kernel}: expected a js backend handle`);
  return h;
}

/** The typed array behind h, any host dtype. */
export function arr(h: Handle, kernel: string): AnyArray {
  return handleOf(h, kernel).data;
}

/** The float array behind h; `dtype` must be float32 or float64 and match the storage. */
export function farr(h: Handle, dtype: DType, kernel: string): FloatArray {
  const d = handleOf(h, kernel).data;
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new TypeError(`${kernel}: dtype ${dtype} is not supported on the js backend (float32 or float64)`);
  }
  if (d instanceof Int32Array) throw new TypeError(`${kernel}: expected a ${dtype} handle, got int32`);
  return d;
}

/**
 * The float array of `dtype` behind h, or null when it holds the other float type: for the native
 * fast paths, which run the js kernel on null. With `kernel`, what farr refuses throws as farr does
 * (not a js handle, int32 storage, a dtype other than float32 / float64); without it, those give
 * null too (and the js kernel raises its own error).
 */
export function farrOf(h: Handle, dtype: DType, kernel?: string): FloatArray | null {
  if (kernel !== undefined) {
    const d = farr(h, dtype, kernel);
    return (dtype === 'float32' ? d instanceof Float32Array : d instanceof Float64Array) ? d : null;
  }
  if (!(h instanceof JsHandle)) return null;
  const d = h.data;
  if (dtype === 'float32') return d instanceof Float32Array ? d : null;
  if (dtype === 'float64') return d instanceof Float64Array ? d : null;
  return null;
}

/** The int32 index array behind h. */
export function iarr(h: Handle, kernel: string): Int32Array {
  const d = handleOf(h, kernel).data;
  if (!(d instanceof Int32Array)) throw new TypeError(`${kernel}: index tensors must be int32`);
  return d;
}

/** Checks a dtype the js backend can hold (float32, float64, int32). */
export function hostDType(dtype: DType, kernel: string): HostDType {
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'int32') return dtype;
  throw new TypeError(`${kernel}: dtype ${dtype} is only available on cuda`);
}

/** Checks a float dtype (float32, float64). */
export function floatDType(dtype: DType, kernel: string): 'float32' | 'float64' {
  if (dtype === 'float32' || dtype === 'float64') return dtype;
  throw new TypeError(`${kernel}: dtype ${dtype} is not supported on the js backend (float32 or float64)`);
}
