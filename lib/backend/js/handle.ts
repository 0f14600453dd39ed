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
