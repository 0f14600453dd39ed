// Fused optimizer steps over lists of tensors, in place, with torch.optim's exact update rules
// (the single-tensor "for-loop" implementations of SGD, Adam, AdamW, RMSprop and Adagrad).

import type { AdagradHyper, AdamHyper, Handle, RmspropHyper, SgdHyper } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, type FloatArray } from './handle.js';

/**
 * torch.optim.SGD, per element:
 *   g = maximize ? -grad : grad;  g += wd·p
 *   buf = firstStep ? g : momentum·buf + (1-dampening)·g;  g = nesterov ? g + momentum·buf : buf
 *   p -= lr·g
 */
export function sgdStep(
  params: Handle[],
  grads: Handle[],
  momentumBufs: Handle[] | null,
  numels: number[],
  h: SgdHyper,
  dtype: DType,
): void {
  floatDType(dtype, 'sgdStep');
  const { lr, momentum, dampening, nesterov, weightDecay: wd, maximize, firstStep } = h;
  if (params.length !== grads.length || params.length !== numels.length)
    throw new RangeError('sgdStep: params, grads and numels must have the same length');
  if (momentum !== 0 && (!momentumBufs || momentumBufs.length !== params.length))
    throw new RangeError('sgdStep: momentum needs one buffer per parameter');
  for (let t = 0; t < params.length; t++) {
    const P = farr(params[t]!, dtype, 'sgdStep');
    const G = farr(grads[t]!, dtype, 'sgdStep');
    const M = momentum !== 0 ? farr(momentumBufs![t]!, dtype, 'sgdStep') : null;
    const n = numels[t]!;
    for (let i = 0; i < n; i++) {
      let g = maximize ? -G[i]! : G[i]!;
      if (wd !== 0) g += wd * P[i]!;
      if (M) {
        const buf = firstStep ? g : momentum * M[i]! + (1 - dampening) * g;
        M[i] = buf;
        const b = M[i]!; // the stored (rounded) buffer, as torch reads it back
        g = nesterov ? g + momentum * b : b;
      }
      P[i] = P[i]! - lr * g;
    }
  }
}

/** torch.lerp(a, b, w) = w < 0.5 ? a + w·(b-a) : b - (b-a)·(1-w). */
function lerp(a: number, b: number, w: number): number {
  return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
}

/**
 * torch.optim.Adam / AdamW, per element:
 *   g = maximize ? -grad : grad;  AdamW: p *= 1 - lr·wd;  Adam: g += wd·p
 *   m = lerp(m, g, 1-β1);  v = β2·v + (1-β2)·g²;  amsgrad: vmax = max(vmax, v)
 *   p -= (lr / (1-β1^t)) · m / (√(v or vmax) / √(1-β2^t) + eps)
 */
export function adamStep(
  params: Handle[],
  grads: Handle[],
  expAvg: Handle[],
  expAvgSq: Handle[],
  maxExpAvgSq: Handle[] | null,
  numels: number[],
  h: AdamHyper,
  dtype: DType,
): void {
  floatDType(dtype, 'adamStep');
  const { lr, beta1, beta2, eps, weightDecay: wd, decoupled, amsgrad, maximize, step } = h;
  const nT = params.length;
  if (grads.length !== nT || expAvg.length !== nT || expAvgSq.length !== nT || numels.length !== nT) {
    throw new RangeError('adamStep: params, grads, expAvg, expAvgSq and numels must have the same length');
  }
  if (amsgrad && (!maxExpAvgSq || maxExpAvgSq.length !== nT))
    throw new RangeError('adamStep: amsgrad needs maxExpAvgSq for every parameter');
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const w1 = 1 - beta1;
  const c2 = 1 - beta2;
  const pScale = 1 - lr * wd;
  for (let t = 0; t < nT; t++) {
    const P = farr(params[t]!, dtype, 'adamStep');
    const G = farr(grads[t]!, dtype, 'adamStep');
    const M = farr(expAvg[t]!, dtype, 'adamStep');
    const V = farr(expAvgSq[t]!, dtype, 'adamStep');
    const VM = amsgrad ? farr(maxExpAvgSq![t]!, dtype, 'adamStep') : null;
    const n = numels[t]!;
    if (!VM && !maximize && (wd === 0 || decoupled) && w1 < 0.5) {
      // the common case (Adam/AdamW, no amsgrad, β1 > 0.5) without per-element branches; the
      // same arithmetic as the general loop below, m and v read back after the store (rounded)
      adamPlain(P, G, M, V, n, w1, beta2, c2, wd === 0 ? 1 : pScale, bc2Sqrt, eps, stepSize);
      continue;
    }
    for (let i = 0; i < n; i++) {
      let g = maximize ? -G[i]! : G[i]!;
      if (wd !== 0) {
        if (decoupled) P[i] = P[i]! * (1 - lr * wd);
        else g += wd * P[i]!;
      }
      M[i] = lerp(M[i]!, g, 1 - beta1);
      V[i] = V[i]! * beta2 + (1 - beta2) * g * g;
      let v = V[i]!;
      if (VM) {
        VM[i] = Math.max(VM[i]!, v);
        v = VM[i]!;
      }
      const denom = Math.sqrt(v) / bc2Sqrt + eps;
      P[i] = P[i]! - stepSize * (M[i]! / denom);
    }
  }
}

/** One tensor of the common Adam/AdamW case; pScale = 1 - lr·wd (AdamW) or 1 (no decay: skipped). */
function adamPlain(
  P: FloatArray,
  G: FloatArray,
  M: FloatArray,
  V: FloatArray,
  n: number,
  w1: number,
  beta2: number,
  c2: number,
  pScale: number,
  bc2Sqrt: number,
  eps: number,
  stepSize: number,
): void {
  const decay = pScale !== 1;
  for (let i = 0; i < n; i++) {
    const g = G[i]!;
    let p = P[i]!;
    if (decay) {
      P[i] = p * pScale;
      p = P[i]!;
    }
    const m0 = M[i]!;
    M[i] = m0 + w1 * (g - m0); // lerp(m, g, w1) with w1 < 0.5
    V[i] = V[i]! * beta2 + c2 * g * g;
    const denom = Math.sqrt(V[i]!) / bc2Sqrt + eps;
    P[i] = p - stepSize * (M[i]! / denom);
  }
}

/**
 * torch.optim.RMSprop, per element:
 *   g = maximize ? -grad : grad;  g += wd·p
 *   v = α·v + (1-α)·g²;  centered: ḡ = α·ḡ + (1-α)·g, avg = √(v - ḡ²) + eps;  else avg = √v + eps
 *   momentum > 0: buf = momentum·buf + g/avg, p -= lr·buf;  else p -= lr·g/avg
 */
export function rmspropStep(
  params: Handle[],
  grads: Handle[],
  squareAvg: Handle[],
  momentumBufs: Handle[] | null,
  gradAvg: Handle[] | null,
  numels: number[],
  h: RmspropHyper,
  dtype: DType,
): void {
  floatDType(dtype, 'rmspropStep');
  const { lr, alpha, eps, weightDecay: wd, momentum, centered, maximize } = h;
  const nT = params.length;
  if (grads.length !== nT || squareAvg.length !== nT || numels.length !== nT) {
    throw new RangeError('rmspropStep: params, grads, squareAvg and numels must have the same length');
  }
  if (momentum > 0 && (!momentumBufs || momentumBufs.length !== nT))
    throw new RangeError('rmspropStep: momentum needs one buffer per parameter');
  if (centered && (!gradAvg || gradAvg.length !== nT)) throw new RangeError('rmspropStep: centered needs gradAvg for every parameter');
  const c = 1 - alpha;
  for (let t = 0; t < nT; t++) {
    const P = farr(params[t]!, dtype, 'rmspropStep');
    const G = farr(grads[t]!, dtype, 'rmspropStep');
    const V = farr(squareAvg[t]!, dtype, 'rmspropStep');
    const M = momentum > 0 ? farr(momentumBufs![t]!, dtype, 'rmspropStep') : null;
    const A = centered ? farr(gradAvg![t]!, dtype, 'rmspropStep') : null;
    const n = numels[t]!;
    for (let i = 0; i < n; i++) {
      let g = maximize ? -G[i]! : G[i]!;
      if (wd !== 0) g += wd * P[i]!;
      V[i] = V[i]! * alpha + c * g * g;
      let avg: number;
      if (A) {
        A[i] = A[i]! * alpha + c * g;
        const a = A[i]!;
        avg = Math.sqrt(V[i]! - a * a) + eps;
      } else avg = Math.sqrt(V[i]!) + eps;
      if (M) {
        M[i] = M[i]! * momentum + g / avg;
        P[i] = P[i]! - lr * M[i]!;
      } else P[i] = P[i]! - lr * (g / avg);
    }
  }
}

/**
 * torch.optim.Adagrad, per element (clr = lr / (1 + (step-1)·lr_decay), from the op layer):
 *   g = maximize ? -grad : grad;  g += wd·p;  s += g²;  p -= clr·g / (√s + eps)
 */
export function adagradStep(params: Handle[], grads: Handle[], stateSum: Handle[], numels: number[], h: AdagradHyper, dtype: DType): void {
  floatDType(dtype, 'adagradStep');
  const { clr, eps, weightDecay: wd, maximize } = h;
  const nT = params.length;
  if (grads.length !== nT || stateSum.length !== nT || numels.length !== nT) {
    throw new RangeError('adagradStep: params, grads, stateSum and numels must have the same length');
  }
  for (let t = 0; t < nT; t++) {
    const P = farr(params[t]!, dtype, 'adagradStep');
    const G = farr(grads[t]!, dtype, 'adagradStep');
    const S = farr(stateSum[t]!, dtype, 'adagradStep');
    const n = numels[t]!;
    for (let i = 0; i < n; i++) {
      let g = maximize ? -G[i]! : G[i]!;
      if (wd !== 0) g += wd * P[i]!;
      S[i] = S[i]! + g * g;
      P[i] = P[i]! - clr * (g / (Math.sqrt(S[i]!) + eps));
    }
  }
}
