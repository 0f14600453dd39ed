// Reductions over the middle axis of (outer, r, inner): sum / max / min / prod and argmax / argmin.
// Sums and products accumulate in float64. max/min propagate NaN like torch; argmax/argmin return
// the first index of the extremum, and a NaN counts as the extremum (torch's rule).

import type { ArgReduceOp, Handle, ReduceOp } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { arr, hostDType, iarr } from './handle.js';

export function reduce(op: ReduceOp, x: Handle, out: Handle, outer: number, r: number, inner: number, dtype: DType): void {
  hostDType(dtype, 'reduce');
  const src = arr(x, 'reduce');
  const dst = arr(out, 'reduce');
  if (op !== 'sum' && op !== 'prod' && op !== 'max' && op !== 'min') throw new TypeError(`reduce: unknown op ${String(op)}`);
  const init = op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity;
  if (inner === 1) {
    // rows of r contiguous elements (a conv bias gradient, a mean loss): one float64 scalar per row
    for (let o = 0, base = 0; o < outer; o++, base += r) {
      let a = init;
      const end = base + r;
      switch (op) {
        case 'sum':
          for (let p = base; p < end; p++) a += src[p]!;
          break;
        case 'prod':
          for (let p = base; p < end; p++) a *= src[p]!;
          break;
        case 'max':
          for (let p = base; p < end; p++) {
            const v = src[p]!;
            if (v > a || v !== v) a = v;
          }
          break;
        case 'min':
          for (let p = base; p < end; p++) {
            const v = src[p]!;
            if (v < a || v !== v) a = v;
          }
          break;
      }
      dst[o] = a;
    }
    return;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(init);
    const base = o * r * inner;
    // walk r outside, inner inside: contiguous reads for any inner
    for (let j = 0; j < r; j++) {
      const row = base + j * inner;
      switch (op) {
        case 'sum':
          for (let i = 0; i < inner; i++) acc[i]! += src[row + i]!;
          break;
        case 'prod':
          for (let i = 0; i < inner; i++) acc[i]! *= src[row + i]!;
          break;
        case 'max':
          for (let i = 0; i < inner; i++) {
            const v = src[row + i]!;
            if (v > acc[i]! || v !== v) acc[i] = v;
          }
          break;
        case 'min':
          for (let i = 0; i < inner; i++) {
            const v = src[row + i]!;
            if (v < acc[i]! || v !== v) acc[i] = v;
          }
          break;
      }
    }
    const ob = o * inner;
    for (let i = 0; i < inner; i++) dst[ob + i] = acc[i]!;
  }
}

export function argReduce(op: ArgReduceOp, x: Handle, out: Handle, outer: number, r: number, inner: number, dtype: DType): void {
  hostDType(dtype, 'argReduce');
  if (op !== 'argmax' && op !== 'argmin') throw new TypeError(`argReduce: unknown op ${String(op)}`);
  const src = arr(x, 'argReduce');
  const dst = iarr(out, 'argReduce');
  const isMax = op === 'argmax';
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let p = o * r * inner + i;
      let best = r > 0 ? src[p]! : 0;
      let bi = 0;
      for (let j = 1; j < r && best === best; j++) {
        p += inner;
        const v = src[p]!;
        if ((isMax ? v > best : v < best) || v !== v) {
          best = v;
          bi = j;
        }
      }
      dst[o * inner + i] = bi;
    }
  }
}
