// Row-wise softmax / log-softmax over the last axis and the fused cross-entropy, all numerically
// stable: every row subtracts its max before exponentiating; sums run in float64.
// x, y are (rows, cols); targets (rows) int32; loss (rows).
//
// Speed: e^x is the cost here (Math.exp ~13 ns), so each kernel exponentiates every element once,
// with expFast, keeping e^(x - max) of the row in a float64 scratch row when it is needed twice
// (softmax, the cross-entropy backward); max and sum are separate cheap passes.

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, iarr, type FloatArray } from './handle.js';
import { expFast } from './math.js';

let rowBuf = new Float64Array(0);

function scratchRow(cols: number): Float64Array {
  if (rowBuf.length < cols) rowBuf = new Float64Array(cols);
  return rowBuf;
}

/** max_j x[o + j]; NaN if any element is NaN. */
function rowMax(x: FloatArray, o: number, cols: number): number {
  // four independent chains (max is associative, and Math.max propagates NaN)
  let m0 = -Infinity,
    m1 = -Infinity,
    m2 = -Infinity,
    m3 = -Infinity;
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    m0 = Math.max(m0, x[o + j]!);
    m1 = Math.max(m1, x[o + j + 1]!);
    m2 = Math.max(m2, x[o + j + 2]!);
    m3 = Math.max(m3, x[o + j + 3]!);
  }
  for (; j < cols; j++) m0 = Math.max(m0, x[o + j]!);
  return Math.max(Math.max(m0, m1), Math.max(m2, m3));
}

/** Σ_j exp(x[o + j] - max), also stored in e[j] when e is given. */
function rowExpSum(x: FloatArray, o: number, cols: number, max: number, e: Float64Array | null): number {
  let s = 0;
  if (e)
    for (let j = 0; j < cols; j++) {
      const v = expFast(x[o + j]! - max);
      e[j] = v;
      s += v;
    }
  else for (let j = 0; j < cols; j++) s += expFast(x[o + j]! - max);
  return s;
}

export function softmax(x: Handle, y: Handle, rows: number, cols: number, log: boolean, dtype: DType): void {
  floatDType(dtype, 'softmax');
  const X = farr(x, dtype, 'softmax');
  const Y = farr(y, dtype, 'softmax');
  const e = log ? null : scratchRow(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const max = rowMax(X, o, cols);
    const lse = Math.log(rowExpSum(X, o, cols, max, e));
    if (log) for (let j = 0; j < cols; j++) Y[o + j] = X[o + j]! - max - lse;
    else {
      const inv = Math.exp(-lse);
      for (let j = 0; j < cols; j++) Y[o + j] = e![j]! * inv;
    }
  }
}

/** softmax: dx = y·(dy - Σ dy·y); log-softmax: dx = dy - exp(y)·Σ dy. */
export function softmaxBackward(y: Handle, dy: Handle, dx: Handle, rows: number, cols: number, log: boolean, dtype: DType): void {
  floatDType(dtype, 'softmaxBackward');
  const Y = farr(y, dtype, 'softmaxBackward');
  const DY = farr(dy, dtype, 'softmaxBackward');
  const DX = farr(dx, dtype, 'softmaxBackward');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    if (log) {
      for (let j = 0; j < cols; j++) s += DY[o + j]!;
      for (let j = 0; j < cols; j++) DX[o + j] = DY[o + j]! - expFast(Y[o + j]!) * s;
    } else {
      for (let j = 0; j < cols; j++) s += DY[o + j]! * Y[o + j]!;
      for (let j = 0; j < cols; j++) DX[o + j] = Y[o + j]! * (DY[o + j]! - s);
    }
  }
}

function checkTargets(kernel: string, T: Int32Array, rows: number, cols: number, ignoreIndex: number): void {
  for (let r = 0; r < rows; r++) {
    const t = T[r]!;
    if (t !== ignoreIndex && !(t >= 0 && t < cols)) {
      throw new RangeError(`${kernel}: target ${t} out of range [0, ${cols}) at row ${r}`);
    }
  }
}

/** loss[r] = -(1-ε)·logp[t] - ε/cols·Σ_j logp[j], logp = log_softmax(logits[r]); 0 when t == ignoreIndex. */
export function crossEntropy(
  logits: Handle,
  targets: Handle,
  loss: Handle,
  rows: number,
  cols: number,
  labelSmoothing: number,
  ignoreIndex: number,
  dtype: DType,
): void {
  floatDType(dtype, 'crossEntropy');
  const X = farr(logits, dtype, 'crossEntropy');
  const T = iarr(targets, 'crossEntropy');
  const L = farr(loss, dtype, 'crossEntropy');
  checkTargets('crossEntropy', T, rows, cols, ignoreIndex);
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const t = T[r]!;
    if (t === ignoreIndex) {
      L[r] = 0;
      continue;
    }
    const o = r * cols;
    const max = rowMax(X, o, cols);
    const shift = max + Math.log(rowExpSum(X, o, cols, max, null)); // logp[j] = x[j] - shift
    let l = -(1 - eps) * (X[o + t]! - shift);
    if (eps !== 0) {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += X[o + j]! - shift;
      l -= (eps / cols) * sum;
    }
    L[r] = l;
  }
}

/** dlogits[r] = dloss[r]·(softmax(logits[r]) - (1-ε)·onehot(t) - ε/cols); 0 for ignored rows. */
export function crossEntropyBackward(
  logits: Handle,
  targets: Handle,
  dloss: Handle,
  dlogits: Handle,
  rows: number,
  cols: number,
  labelSmoothing: number,
  ignoreIndex: number,
  dtype: DType,
): void {
  floatDType(dtype, 'crossEntropyBackward');
  const X = farr(logits, dtype, 'crossEntropyBackward');
  const T = iarr(targets, 'crossEntropyBackward');
  const DL = farr(dloss, dtype, 'crossEntropyBackward');
  const DX = farr(dlogits, dtype, 'crossEntropyBackward');
  checkTargets('crossEntropyBackward', T, rows, cols, ignoreIndex);
  const eps = labelSmoothing;
  const e = scratchRow(cols);
  for (let r = 0; r < rows; r++) {
    const t = T[r]!;
    const o = r * cols;
    if (t === ignoreIndex) {
      DX.fill(0, o, o + cols);
      continue;
    }
    const g = DL[r]!;
    const max = rowMax(X, o, cols);
    const inv = 1 / rowExpSum(X, o, cols, max, e); // softmax[j] = e[j]·inv
    const u = eps / cols;
    for (let j = 0; j < cols; j++) DX[o + j] = g * (e[j]! * inv - u);
    DX[o + t] = g * (e[t]! * inv - (1 - eps) - u);
  }
}
