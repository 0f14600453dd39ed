// Layer norm over the last axis and batch norm over (n, ·, hw) per channel, forward and backward.
// Statistics are computed in float64 with the two-pass (mean, then centred squares) formula.

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType } from './handle.js';

/**
 * x, y (rows, cols); gamma, beta (cols) or null; mean, rstd (rows) saved for the backward.
 * y = (x - mean)·rstd·gamma + beta, rstd = 1/√(var + eps), var biased.
 */
export function layerNorm(
  x: Handle,
  gamma: Handle | null,
  beta: Handle | null,
  y: Handle,
  mean: Handle,
  rstd: Handle,
  rows: number,
  cols: number,
  eps: number,
  dtype: DType,
): void {
  floatDType(dtype, 'layerNorm');
  const X = farr(x, dtype, 'layerNorm');
  const G = gamma ? farr(gamma, dtype, 'layerNorm') : null;
  const B = beta ? farr(beta, dtype, 'layerNorm') : null;
  const Y = farr(y, dtype, 'layerNorm');
  const M = farr(mean, dtype, 'layerNorm');
  const R = farr(rstd, dtype, 'layerNorm');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += X[o + j]!;
    const mu = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) {
      const d = X[o + j]! - mu;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / cols + eps);
    M[r] = mu;
    R[r] = rs;
    for (let j = 0; j < cols; j++) {
      let t = (X[o + j]! - mu) * rs;
      if (G) t *= G[j]!;
      if (B) t += B[j]!;
      Y[o + j] = t;
    }
  }
}

/**
 * x̂ = (x - mean)·rstd, g = dy·gamma:
 *   dx = rstd·(g - mean(g) - x̂·mean(g·x̂)),  dgamma = Σ_rows dy·x̂,  dbeta = Σ_rows dy.
 */
export function layerNormBackward(
  dy: Handle,
  x: Handle,
  gamma: Handle | null,
  mean: Handle,
  rstd: Handle,
  dx: Handle,
  dgamma: Handle | null,
  dbeta: Handle | null,
  rows: number,
  cols: number,
  dtype: DType,
): void {
  floatDType(dtype, 'layerNormBackward');
  const DY = farr(dy, dtype, 'layerNormBackward');
  const X = farr(x, dtype, 'layerNormBackward');
  const G = gamma ? farr(gamma, dtype, 'layerNormBackward') : null;
  const M = farr(mean, dtype, 'layerNormBackward');
  const R = farr(rstd, dtype, 'layerNormBackward');
  const DX = farr(dx, dtype, 'layerNormBackward');
  const dg = new Float64Array(cols);
  const db = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = M[r]!,
      rs = R[r]!;
    let sg = 0,
      sgx = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (X[o + j]! - mu) * rs;
      const d = DY[o + j]!;
      const g = G ? d * G[j]! : d;
      sg += g;
      sgx += g * xh;
      dg[j]! += d * xh;
      db[j]! += d;
    }
    sg /= cols;
    sgx /= cols;
    for (let j = 0; j < cols; j++) {
      const xh = (X[o + j]! - mu) * rs;
      const g = G ? DY[o + j]! * G[j]! : DY[o + j]!;
      DX[o + j] = rs * (g - sg - xh * sgx);
    }
  }
  if (dgamma) farr(dgamma, dtype, 'layerNormBackward').set(dg);
  if (dbeta) farr(dbeta, dtype, 'layerNormBackward').set(db);
}

/**
 * x, y (n, c, hw). Training (or no running stats): batch mean and biased var per channel; the
 * running stats (when given, training only) become (1-momentum)·running + momentum·batch, with the
 * unbiased var. Eval: the running stats. saveMean / saveInvStd (c) record what was used.
 */
export function batchNorm(
  x: Handle,
  gamma: Handle | null,
  beta: Handle | null,
  runningMean: Handle | null,
  runningVar: Handle | null,
  y: Handle,
  saveMean: Handle,
  saveInvStd: Handle,
  n: number,
  c: number,
  hw: number,
  training: boolean,
  momentum: number,
  eps: number,
  dtype: DType,
): void {
  floatDType(dtype, 'batchNorm');
  const X = farr(x, dtype, 'batchNorm');
  const G = gamma ? farr(gamma, dtype, 'batchNorm') : null;
  const B = beta ? farr(beta, dtype, 'batchNorm') : null;
  const RM = runningMean ? farr(runningMean, dtype, 'batchNorm') : null;
  const RV = runningVar ? farr(runningVar, dtype, 'batchNorm') : null;
  const Y = farr(y, dtype, 'batchNorm');
  const SM = farr(saveMean, dtype, 'batchNorm');
  const SI = farr(saveInvStd, dtype, 'batchNorm');
  const count = n * hw;
  const useBatch = training || !RM || !RV;
  for (let ch = 0; ch < c; ch++) {
    let mu: number, invStd: number;
    if (useBatch) {
      let s = 0;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) s += X[o + i]!;
      }
      mu = s / count;
      let v = 0;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) {
          const d = X[o + i]! - mu;
          v += d * d;
        }
      }
      const varB = v / count;
      invStd = 1 / Math.sqrt(varB + eps);
      if (training && RM && RV) {
        const unbiased = count > 1 ? v / (count - 1) : varB;
        RM[ch] = (1 - momentum) * RM[ch]! + momentum * mu;
        RV[ch] = (1 - momentum) * RV[ch]! + momentum * unbiased;
      }
    } else {
      mu = RM![ch]!;
      invStd = 1 / Math.sqrt(RV![ch]! + eps);
    }
    SM[ch] = mu;
    SI[ch] = invStd;
    const scale = G ? G[ch]! * invStd : invStd;
    const shift = B ? B[ch]! : 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) Y[o + i] = (X[o + i]! - mu) * scale + shift;
    }
  }
}

/**
 * x̂ = (x - mean)·invStd, N = n·hw; dbeta = Σ dy, dgamma = Σ dy·x̂.
 * Training (batch statistics): dx = gamma·invStd/N·(N·dy - Σdy - x̂·Σ dy·x̂).
 * Eval (fixed running statistics): dx = gamma·invStd·dy.
 */
export function batchNormBackward(
  dy: Handle,
  x: Handle,
  gamma: Handle | null,
  saveMean: Handle,
  saveInvStd: Handle,
  dx: Handle,
  dgamma: Handle | null,
  dbeta: Handle | null,
  n: number,
  c: number,
  hw: number,
  training: boolean,
  dtype: DType,
): void {
  floatDType(dtype, 'batchNormBackward');
  const DY = farr(dy, dtype, 'batchNormBackward');
  const X = farr(x, dtype, 'batchNormBackward');
  const G = gamma ? farr(gamma, dtype, 'batchNormBackward') : null;
  const SM = farr(saveMean, dtype, 'batchNormBackward');
  const SI = farr(saveInvStd, dtype, 'batchNormBackward');
  const DX = farr(dx, dtype, 'batchNormBackward');
  const DG = dgamma ? farr(dgamma, dtype, 'batchNormBackward') : null;
  const DB = dbeta ? farr(dbeta, dtype, 'batchNormBackward') : null;
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const mu = SM[ch]!,
      is = SI[ch]!;
    let sdy = 0,
      sdyx = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = DY[o + i]!;
        sdy += d;
        sdyx += d * (X[o + i]! - mu) * is;
      }
    }
    if (DG) DG[ch] = sdyx;
    if (DB) DB[ch] = sdy;
    const gs = (G ? G[ch]! : 1) * is;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      if (training) {
        for (let i = 0; i < hw; i++) {
          const xh = (X[o + i]! - mu) * is;
          DX[o + i] = (gs / count) * (count * DY[o + i]! - sdy - xh * sdyx);
        }
      } else {
        for (let i = 0; i < hw; i++) DX[o + i] = gs * DY[o + i]!;
      }
    }
  }
}
