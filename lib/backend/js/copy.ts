// stridedCopy: the one data-movement kernel behind permute, slice, expand, cat and slice-backward.
//   dst[dstOffset + Σ i_d·dstStrides[d]] (+)= src[srcOffset + Σ i_d·srcStrides[d]]  over i ∈ shape

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { arr, hostDType } from './handle.js';

export function stridedCopy(
  src: Handle,
  dst: Handle,
  shape: number[],
  srcStrides: number[],
  srcOffset: number,
  dstStrides: number[],
  dstOffset: number,
  dtype: DType,
  accumulate: boolean,
): void {
  hostDType(dtype, 'stridedCopy');
  const s = arr(src, 'stridedCopy');
  const d = arr(dst, 'stridedCopy');
  const nd = shape.length;
  if (srcStrides.length !== nd || dstStrides.length !== nd) throw new RangeError('stridedCopy: strides must have shape.length entries');
  for (const n of shape) if (n === 0) return;
  if (nd === 0) {
    d[dstOffset] = accumulate ? d[dstOffset]! + s[srcOffset]! : s[srcOffset]!;
    return;
  }
  const len = shape[nd - 1]!;
  const ss = srcStrides[nd - 1]!;
  const ds = dstStrides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let so = srcOffset;
  let dof = dstOffset;
  for (;;) {
    // innermost row
    if (accumulate) {
      for (let j = 0, a = so, b = dof; j < len; j++, a += ss, b += ds) d[b] = d[b]! + s[a]!;
    } else if (ss === 1 && ds === 1) {
      d.set(s.subarray(so, so + len), dof);
    } else {
      for (let j = 0, a = so, b = dof; j < len; j++, a += ss, b += ds) d[b] = s[a]!;
    }
    let k = nd - 2;
    for (; k >= 0; k--) {
      idx[k]!++;
      so += srcStrides[k]!;
      dof += dstStrides[k]!;
      if (idx[k]! < shape[k]!) break;
      so -= srcStrides[k]! * shape[k]!;
      dof -= dstStrides[k]! * shape[k]!;
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}
