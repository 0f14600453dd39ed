// Row-wise softmax / log-softmax over the last axis and the fused cross-entropy, all numerically
// stable: every row subtracts its max before exponentiating; sums run in float64.
// x, y are (rows, cols); targets (rows) int32; loss (rows).

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, iarr, type FloatArray } from './handle.js';

/** max_j x[o + j] and log Σ_j exp(x[o + j] - max). */
function rowLogSumExp(x: FloatArray, o: number, cols: number): { max: number; lse: number } {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) { const v = x[o + j]!; if (v > max || v !== v) max = v; }
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[o + j]! - max);
  return { max, lse: Math.log(s) };
}

export function softmax(x: Handle, y: Handle, rows: number, cols: number, log: boolean, dtype: DType): void {
  floatDType(dtype, 'softmax');
  const X = farr(x, dtype, 'softmax');
  const Y = farr(y, dtype, 'softmax');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const { max, lse } = rowLogSumExp(X, o, cols);
    if (log) for (let j = 0; j < cols; j++) Y[o + j] = X[o + j]! - max - lse;
    else {
      const inv = Math.exp(-lse);
      for (let j = 0; j < cols; j++) Y[o + j] = Math.exp(X[o + j]! - max) * inv;
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
      for (let j = 0; j < cols; j++) DX[o + j] = DY[o + j]! - Math.exp(Y[o + j]!) * s;
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
export function crossEntropy(logits: Handle, targets: Handle, loss: Handle, rows: number, cols: number, labelSmoothing: number, ignoreIndex: number, dtype: DType): void {
  floatDType(dtype, 'crossEntropy');
  const X = farr(logits, dtype, 'crossEntropy');
  const T = iarr(targets, 'crossEntropy');
  const L = farr(loss, dtype, 'crossEntropy');
  checkTargets('crossEntropy', T, rows, cols, ignoreIndex);
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const t = T[r]!;
    if (t === ignoreIndex) { L[r] = 0; continue; }
    const o = r * cols;
    const { max, lse } = rowLogSumExp(X, o, cols);
    const shift = max + lse; // logp[j] = x[j] - shift
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
export function crossEntropyBackward(logits: Handle, targets: Handle, dloss: Handle, dlogits: Handle, rows: number, cols: number, labelSmoothing: number, ignoreIndex: number, dtype: DType): void {
  floatDType(dtype, 'crossEntropyBackward');
  const X = farr(logits, dtype, 'crossEntropyBackward');
  const T = iarr(targets, 'crossEntropyBackward');
  const DL = farr(dloss, dtype, 'crossEntropyBackward');
  const DX = farr(dlogits, dtype, 'crossEntropyBackward');
  checkTargets('crossEntropyBackward', T, rows, cols, ignoreIndex);
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const t = T[r]!;
    const o = r * cols;
    if (t === ignoreIndex) { DX.fill(0, o, o + cols); continue; }
    const g = DL[r]!;
    const { max, lse } = rowLogSumExp(X, o, cols);
    const shift = max + lse;
    const u = eps / cols;
    for (let j = 0; j < cols; j++) DX[o + j] = g * (Math.exp(X[o + j]! - shift) - (j === t ? 1 - eps : 0) - u);
  }
}
