// Helpers every op uses: output allocation, kernel launch with cost accounting, argument checks,
// scalar/tensor coercion, and reducing a broadcast gradient back to an input's shape.

import type { Backend, KernelFns, KernelName } from '../backend/kernels.js';
import { recordCost } from '../backend/counter.js';
import { bytesPerElement, isFloat, promote, type DType } from '../dtype.js';
import { Storage } from '../memory.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { fmtShape, numel, sameShape, type Shape } from '../shape.js';

/** Bytes in decimal units, as a person reads them: 4 TB, 512 MB, 12 kB. */
export function fmtBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${n >= 100 || u === 0 ? Math.round(n) : Number(n.toPrecision(3))} ${units[u]}`;
}

/**
 * Refuses, before any allocation, a tensor larger than the backend can hold, naming the op,
 * the shape and the bytes (instead of V8's "Invalid typed array length").
 */
export function checkAlloc(op: string, b: Backend, shape: Shape, dtype: DType): void {
  const n = numel(shape);
  const max = b.maxElements;
  if (max !== undefined && n > max) {
    const bpe = bytesPerElement(dtype);
    throw new RangeError(
      `${op}: ${fmtShape(shape)} ${dtype} needs ${fmtBytes(n * bpe)}; the ${b.name} backend's limit is ${max} elements per tensor (${fmtBytes(max * bpe)} of ${dtype})`,
    );
  }
}

/** A new tensor of `shape` on backend b (contents undefined until a kernel writes it). `op` names the caller in errors. */
export function empty(b: Backend, shape: Shape, dtype: DType, op = 'alloc'): Tensor {
  const n = numel(shape);
  checkAlloc(op, b, shape, dtype);
  let h;
  try {
    h = b.alloc(n, dtype);
  } catch (e) {
    // the host could not back a size the backend accepts (V8: "Array buffer allocation failed")
    if (e instanceof RangeError && /allocation failed|Invalid typed array length/i.test(e.message)) {
      throw new RangeError(
        `${op}: out of memory allocating ${fmtShape(shape)} ${dtype} (${fmtBytes(n * bytesPerElement(dtype))}) on ${b.device}: ${e.message}`,
      );
    }
    // a device allocator's OutOfMemoryError keeps its class and fields; the message gains the op and shape
    if (e instanceof Error && e.name === 'OutOfMemoryError' && op !== 'alloc') {
      e.message = `${op}: ${fmtShape(shape)} ${dtype} (${fmtBytes(n * bytesPerElement(dtype))}): ${e.message}`;
    }
    throw e;
  }
  return new Tensor(new Storage(b, h, dtype, n), shape, dtype);
}

/** Launches kernel k on b and reports its cost to the counter. */
export function launch<K extends KernelName>(b: Backend, k: K, flops: number, bytes: number, ...args: Parameters<KernelFns[K]>): void {
  (b.kernels[k] as (...a: unknown[]) => void)(...args);
  recordCost(k, flops, bytes);
}

/** Bytes of n elements of dtype. */
export function nbytes(n: number, dtype: DType): number {
  return n * bytesPerElement(dtype);
}

/** All tensors on one device, or an error naming the op and the devices. */
export function sameDevice(op: string, ...xs: (Tensor | null | undefined)[]): Backend {
  let b: Backend | null = null;
  for (const x of xs) {
    if (!x) continue;
    const xb = x.backend;
    if (b === null) b = xb;
    else if (b !== xb) {
      throw new Error(`${op}: expected all tensors on one device, found ${b.device} and ${xb.device} (move them with .to(device))`);
    }
  }
  if (b === null) throw new Error(`${op}: no tensor argument`);
  return b;
}

export function assertFloat(op: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new TypeError(`${op}: expected a floating point tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
}

export function assertDtype(op: string, x: Tensor, dtype: DType, what = 'input'): void {
  if (x.dtype !== dtype) throw new TypeError(`${op}: ${what} must be ${dtype}, got ${x.dtype} ${fmtShape(x.shape)}`);
}

export function assertNdim(op: string, x: Tensor, ndims: number[], what = 'input'): void {
  if (!ndims.includes(x.ndim)) {
    throw new RangeError(`${op}: ${what} must have ${ndims.join(' or ')} dimensions, got shape ${fmtShape(x.shape)}`);
  }
}

export function assertPositiveInt(op: string, name: string, v: number, allowZero = false): void {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new RangeError(`${op}: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
}

/** The dtype two operands compute in (a number adopts the tensor's dtype, like torch). */
export function resultDtype(a: TensorLike, b: TensorLike): DType {
  if (typeof a === 'number') return (b as Tensor).dtype;
  if (typeof b === 'number') return a.dtype;
  return promote(a.dtype, b.dtype);
}

/** Reduces a gradient of a broadcast result back to `shape` by summing the broadcast dims. */
export function sumToShape(
  g: Tensor,
  shape: Shape,
  sumDims: (x: Tensor, dims: number[], keepdim: boolean) => Tensor,
  reshape: (x: Tensor, s: number[]) => Tensor,
): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead) dims.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) dims.push(i);
  }
  const s = dims.length ? sumDims(g, dims, true) : g;
  const r = reshape(s, [...shape]);
  if (s !== g && s !== r) s.dispose();
  return r;
}
