// Helpers every op uses: output allocation, kernel launch with cost accounting, argument checks,
// scalar/tensor coercion, and reducing a broadcast gradient back to an input's shape.

import type { Backend, KernelFns, KernelName } from '../backend/kernels.js';
import { recordCost } from '../backend/counter.js';
import { bytesPerElement, isFloat, promote, type DType } from '../dtype.js';
import { Storage } from '../memory.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { fmtShape, numel, sameShape, type Shape } from '../shape.js';

/** A new tensor of `shape` on backend b (contents undefined until a kernel writes it). */
export function empty(b: Backend, shape: Shape, dtype: DType): Tensor {
  const n = numel(shape);
  return new Tensor(new Storage(b, b.alloc(n, dtype), dtype, n), shape, dtype);
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
export function sumToShape(g: Tensor, shape: Shape, sumDims: (x: Tensor, dims: number[], keepdim: boolean) => Tensor, reshape: (x: Tensor, s: number[]) => Tensor): Tensor {
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
