// indexSelect / gather and their backwards (scatter-add). Indices are int32 and checked: a bad
// index throws a RangeError naming the kernel, the index and where it was found.
// indexSelect: x (outer, dimSize, inner), idx (nIdx)            → out (outer, nIdx, inner)
// gather:      x (outer, dimSize, inner), idx (outer, k, inner) → out (outer, k, inner)

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { arr, floatDType, hostDType, iarr } from './handle.js';

function checkIndex(kernel: string, v: number, dimSize: number, at: number): void {
  if (!(v >= 0 && v < dimSize)) throw new RangeError(`${kernel}: index ${v} out of range [0, ${dimSize}) at position ${at}`);
}

export function indexSelect(
  x: Handle,
  idx: Handle,
  out: Handle,
  outer: number,
  dimSize: number,
  inner: number,
  nIdx: number,
  dtype: DType,
): void {
  hostDType(dtype, 'indexSelect');
  const X = arr(x, 'indexSelect');
  const I = iarr(idx, 'indexSelect');
  const O = arr(out, 'indexSelect');
  for (let j = 0; j < nIdx; j++) checkIndex('indexSelect', I[j]!, dimSize, j);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      const src = (o * dimSize + I[j]!) * inner;
      const dst = (o * nIdx + j) * inner;
      for (let i = 0; i < inner; i++) O[dst + i] = X[src + i]!;
    }
  }
}

export function indexSelectBackward(
  dy: Handle,
  idx: Handle,
  dx: Handle,
  outer: number,
  dimSize: number,
  inner: number,
  nIdx: number,
  dtype: DType,
): void {
  floatDType(dtype, 'indexSelectBackward');
  const DY = arr(dy, 'indexSelectBackward');
  const I = iarr(idx, 'indexSelectBackward');
  const DX = arr(dx, 'indexSelectBackward');
  for (let j = 0; j < nIdx; j++) checkIndex('indexSelectBackward', I[j]!, dimSize, j);
  // accumulate in float64 so float32 sums of repeated indices round once
  const acc = new Float64Array(outer * dimSize * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      const dst = (o * dimSize + I[j]!) * inner;
      const src = (o * nIdx + j) * inner;
      for (let i = 0; i < inner; i++) acc[dst + i]! += DY[src + i]!;
    }
  }
  DX.set(acc);
}

export function gather(x: Handle, idx: Handle, out: Handle, outer: number, dimSize: number, inner: number, k: number, dtype: DType): void {
  hostDType(dtype, 'gather');
  const X = arr(x, 'gather');
  const I = iarr(idx, 'gather');
  const O = arr(out, 'gather');
  const total = outer * k * inner;
  for (let t = 0; t < total; t++) checkIndex('gather', I[t]!, dimSize, t);
  let t = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < inner; i++, t++) O[t] = X[(o * dimSize + I[t]!) * inner + i]!;
    }
  }
}

export function gatherBackward(
  dy: Handle,
  idx: Handle,
  dx: Handle,
  outer: number,
  dimSize: number,
  inner: number,
  k: number,
  dtype: DType,
): void {
  floatDType(dtype, 'gatherBackward');
  const DY = arr(dy, 'gatherBackward');
  const I = iarr(idx, 'gatherBackward');
  const DX = arr(dx, 'gatherBackward');
  const total = outer * k * inner;
  for (let t = 0; t < total; t++) checkIndex('gatherBackward', I[t]!, dimSize, t);
  const acc = new Float64Array(outer * dimSize * inner);
  let t = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < inner; i++, t++) acc[(o * dimSize + I[t]!) * inner + i]! += DY[t]!;
    }
  }
  DX.set(acc);
}
