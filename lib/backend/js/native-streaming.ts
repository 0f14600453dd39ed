// The streaming kernels of the js backend, native when the addon carries them (native/cpu/
// elementwise_kernels.h, SIMD per ISA + the thread pool; entry points generated from
// native/manifest/cpu/{softmax,norm,elementwise,reduce}.mjs): softmax / log-softmax and the
// fused cross-entropy, layer and batch norm, bias + activation, unary / unary-grad, broadcasting
// binary and the reductions. The addon works on the handles' own typed arrays (zero copy).
//
// The pure-JS kernel runs instead (exactly as without an addon) when: WATTGRAD_CPU_KERNELS=js;
// the addon lacks these entries; the dtype is int32 (the js integer semantics stay in JS); a
// handle is not a float array of `dtype`; the call is one the native kernel does not take (a bad
// cross-entropy target: the js kernel raises its own error); or the call is tiny (NATIVE_MIN).
//
// Results: float64 computes in float64 like the js kernels (sums in other orders); float32 runs
// exp/tanh/sigmoid in float32 SIMD (≤ 1 ulp exp, elementwise_simd.h) and every sum in float64.
// Identical run to run and for any thread count.

import type { CpuKernelBinding } from '../../../binding.js';
import type { Handle, KernelFns } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farrOf, JsHandle, type FloatArray } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import * as jsEw from './elementwise.js';
import * as jsRed from './reduce.js';
import * as jsSm from './softmax.js';
import * as jsNorm from './norm.js';

/** The op-name lists whose indexes are the native op codes (native/cpu/napi_elementwise.cc). */
export interface StreamOps {
  unary: string[];
  unaryGrad: string[];
  binary: string[];
  reduce: string[];
  activation: string[];
}

export type NativeStreamBinding = Pick<
  CpuKernelBinding,
  | 'cpuSoftmax'
  | 'cpuSoftmaxBackward'
  | 'cpuCrossEntropy'
  | 'cpuCrossEntropyBackward'
  | 'cpuLayerNorm'
  | 'cpuLayerNormBackward'
  | 'cpuBatchNorm'
  | 'cpuBatchNormBackward'
  | 'cpuUnary'
  | 'cpuUnaryGrad'
  | 'cpuBinary'
  | 'cpuAddBiasAct'
  | 'cpuReduce'
> & { cpuStreamOps(): StreamOps };

interface Stream {
  b: NativeStreamBinding;
  unary: Map<string, number>;
  unaryGrad: Map<string, number>;
  binary: Map<string, number>;
  reduce: Map<string, number>;
  act: Map<string, number>;
}

let cached: { from: unknown; s: Stream | null } | null = null;

const codes = (names: string[]): Map<string, number> => new Map(names.map((n, i) => [n, i]));

/** The streaming entry points of the loaded addon with their op codes, or null. */
export function nativeStream(): Stream | null {
  const n = nativeCpu();
  if (cached !== null && cached.from === n) return cached.s;
  const b = n as unknown as Partial<NativeStreamBinding> | null;
  let s: Stream | null = null;
  if (b && typeof b.cpuStreamOps === 'function' && typeof b.cpuSoftmax === 'function' && typeof b.cpuReduce === 'function') {
    const ops = b.cpuStreamOps();
    s = {
      b: b as NativeStreamBinding,
      unary: codes(ops.unary),
      unaryGrad: codes(ops.unaryGrad),
      binary: codes(ops.binary),
      reduce: codes(ops.reduce),
      act: codes(ops.activation),
    };
  }
  cached = { from: n, s };
  return s;
}

/**
 * Below these element counts the js kernel runs. Measured per call (CPU time, 1 thread, float32):
 * the generated N-API entry costs ~0.15–0.2 µs, while the js kernels' own set-up is 0.1–0.7 µs
 * (binary: 0.66 µs at 64 elements against 0.21 native; relu 0.38 vs 0.31; softmax rows of 16:
 * 1.07 vs 0.37), so native wins from a few dozen elements; a plain sum only from a few hundred.
 */
const NATIVE_MIN = { elementwise: 32, transcendental: 16, row: 16, reduce: 256 };
let minCheap = NATIVE_MIN.elementwise;
let minTrans = NATIVE_MIN.transcendental;
let minRow = NATIVE_MIN.row;
let minReduce = NATIVE_MIN.reduce;

/** Tests only: route every call of any size to the native kernels (true) or restore the thresholds. */
export function setNativeStreamingAlwaysForTests(always: boolean): void {
  minCheap = always ? 0 : NATIVE_MIN.elementwise;
  minTrans = always ? 0 : NATIVE_MIN.transcendental;
  minRow = always ? 0 : NATIVE_MIN.row;
  minReduce = always ? 0 : NATIVE_MIN.reduce;
}

/** An optional handle's float array: null for no handle, undefined when it is not usable (then: js). */
function faOpt(h: Handle | null, dtype: DType): FloatArray | null | undefined {
  return h === null ? null : (farrOf(h, dtype) ?? undefined);
}

const CHEAP_UNARY = new Set<string>(['neg', 'abs', 'sign', 'square', 'relu', 'clamp', 'add_scalar', 'mul_scalar', 'rsub_scalar']);

export const unary: KernelFns['unary'] = (op, x, out, n, dtype, a, b) => {
  const s = nativeStream();
  if (s !== null && n >= (CHEAP_UNARY.has(op) ? minCheap : minTrans)) {
    const code = s.unary.get(op);
    const X = farrOf(x, dtype),
      O = farrOf(out, dtype);
    if (code !== undefined && X !== null && O !== null) return s.b.cpuUnary(code, X, O, n, a, b);
  }
  jsEw.unary(op, x, out, n, dtype, a, b);
};

export const unaryGrad: KernelFns['unaryGrad'] = (op, x, y, dy, dx, n, dtype, a, b) => {
  const s = nativeStream();
  if (s !== null && n >= minCheap) {
    const code = s.unaryGrad.get(op);
    const X = farrOf(x, dtype),
      Y = farrOf(y, dtype),
      G = farrOf(dy, dtype),
      D = farrOf(dx, dtype);
    if (code !== undefined && X !== null && Y !== null && G !== null && D !== null) return s.b.cpuUnaryGrad(code, X, Y, G, D, n, a, b);
  }
  jsEw.unaryGrad(op, x, y, dy, dx, n, dtype, a, b);
};

const dims = new Int32Array(48); // [shape, aStrides, bStrides], reused (the call is synchronous)

export const binary: KernelFns['binary'] = (op, a, b, out, outShape, aStrides, bStrides, dtype) => {
  const s = nativeStream();
  const nd = outShape.length;
  if (s !== null && nd <= 16) {
    let n = 1;
    for (let d = 0; d < nd; d++) n *= outShape[d]!;
    const code = n >= minCheap ? s.binary.get(op) : undefined;
    const A = code !== undefined ? farrOf(a, dtype) : null,
      B = A !== null ? farrOf(b, dtype) : null,
      O = B !== null ? farrOf(out, dtype) : null;
    if (O !== null && aStrides.length === nd && bStrides.length === nd) {
      for (let d = 0; d < nd; d++) {
        dims[d] = outShape[d]!;
        dims[nd + d] = aStrides[d]!;
        dims[2 * nd + d] = bStrides[d]!;
      }
      return s.b.cpuBinary(code!, A!, B!, O, nd, dims);
    }
  }
  jsEw.binary(op, a, b, out, outShape, aStrides, bStrides, dtype);
};

export const addBiasAct: KernelFns['addBiasAct'] = (x, bias, out, outer, c, inner, act, dtype) => {
  const s = nativeStream();
  if (s !== null && outer * c * inner >= (act === 'none' || act === 'relu' ? minCheap : minTrans)) {
    const code = s.act.get(act);
    const X = farrOf(x, dtype),
      B = farrOf(bias, dtype),
      O = farrOf(out, dtype);
    if (code !== undefined && X !== null && B !== null && O !== null) return s.b.cpuAddBiasAct(X, B, O, outer, c, inner, code);
  }
  jsEw.addBiasAct(x, bias, out, outer, c, inner, act, dtype);
};

export const reduce: KernelFns['reduce'] = (op, x, out, outer, r, inner, dtype) => {
  const s = nativeStream();
  if (s !== null && outer * r * inner >= minReduce) {
    const code = s.reduce.get(op);
    const X = farrOf(x, dtype),
      O = farrOf(out, dtype);
    if (code !== undefined && X !== null && O !== null) return s.b.cpuReduce(code, X, O, outer, r, inner);
  }
  jsRed.reduce(op, x, out, outer, r, inner, dtype);
};

export const softmax: KernelFns['softmax'] = (x, y, rows, cols, log, dtype) => {
  const s = nativeStream();
  if (s !== null && rows * cols >= minRow) {
    const X = farrOf(x, dtype),
      Y = farrOf(y, dtype);
    if (X !== null && Y !== null) return s.b.cpuSoftmax(X, Y, rows, cols, log);
  }
  jsSm.softmax(x, y, rows, cols, log, dtype);
};

export const softmaxBackward: KernelFns['softmaxBackward'] = (y, dy, dx, rows, cols, log, dtype) => {
  const s = nativeStream();
  if (s !== null && rows * cols >= minRow) {
    const Y = farrOf(y, dtype),
      G = farrOf(dy, dtype),
      D = farrOf(dx, dtype);
    if (Y !== null && G !== null && D !== null) return s.b.cpuSoftmaxBackward(Y, G, D, rows, cols, log);
  }
  jsSm.softmaxBackward(y, dy, dx, rows, cols, log, dtype);
};

/** Targets the native kernel takes: ints in [0, cols) or ignoreIndex (else the js kernel raises its error). */
function targetsOk(t: Handle, rows: number, cols: number, ignoreIndex: number): Int32Array | null {
  if (!(t instanceof JsHandle) || !(t.data instanceof Int32Array) || !Number.isInteger(ignoreIndex)) return null;
  const T = t.data;
  if (T.length < rows) return null;
  for (let r = 0; r < rows; r++) {
    const v = T[r]!;
    if (v !== ignoreIndex && !(v >= 0 && v < cols)) return null;
  }
  return T;
}

export const crossEntropy: KernelFns['crossEntropy'] = (logits, targets, loss, rows, cols, labelSmoothing, ignoreIndex, dtype) => {
  const s = nativeStream();
  if (s !== null && rows * cols >= minRow) {
    const X = farrOf(logits, dtype),
      L = farrOf(loss, dtype),
      T = targetsOk(targets, rows, cols, ignoreIndex);
    if (X !== null && L !== null && T !== null) return s.b.cpuCrossEntropy(X, T, L, rows, cols, labelSmoothing, ignoreIndex);
  }
  jsSm.crossEntropy(logits, targets, loss, rows, cols, labelSmoothing, ignoreIndex, dtype);
};

export const crossEntropyBackward: KernelFns['crossEntropyBackward'] = (
  logits,
  targets,
  dloss,
  dlogits,
  rows,
  cols,
  labelSmoothing,
  ignoreIndex,
  dtype,
) => {
  const s = nativeStream();
  if (s !== null && rows * cols >= minRow) {
    const X = farrOf(logits, dtype),
      G = farrOf(dloss, dtype),
      D = farrOf(dlogits, dtype),
      T = targetsOk(targets, rows, cols, ignoreIndex);
    // the kernel writes e^x into dlogits before it is done with the logits: never in place
    if (X !== null && G !== null && D !== null && T !== null && D.buffer !== X.buffer)
      return s.b.cpuCrossEntropyBackward(X, T, G, D, rows, cols, labelSmoothing, ignoreIndex);
  }
  jsSm.crossEntropyBackward(logits, targets, dloss, dlogits, rows, cols, labelSmoothing, ignoreIndex, dtype);
};

export const layerNorm: KernelFns['layerNorm'] = (x, gamma, beta, y, mean, rstd, rows, cols, eps, dtype) => {
  const s = nativeStream();
  if (s !== null && rows * cols >= minRow) {
    const X = farrOf(x, dtype),
      G = faOpt(gamma, dtype),
      B = faOpt(beta, dtype),
      Y = farrOf(y, dtype),
      M = farrOf(mean, dtype),
      R = farrOf(rstd, dtype);
    if (X !== null && G !== undefined && B !== undefined && Y !== null && M !== null && R !== null)
      return s.b.cpuLayerNorm(X, G, B, Y, M, R, rows, cols, eps);
  }
  jsNorm.layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, eps, dtype);
};

export const layerNormBackward: KernelFns['layerNormBackward'] = (dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols, dtype) => {
  const s = nativeStream();
  if (s !== null && rows * cols >= minRow) {
    const DY = farrOf(dy, dtype),
      X = farrOf(x, dtype),
      G = faOpt(gamma, dtype),
      M = farrOf(mean, dtype),
      R = farrOf(rstd, dtype),
      DX = farrOf(dx, dtype),
      DG = faOpt(dgamma, dtype),
      DB = faOpt(dbeta, dtype);
    if (DY !== null && X !== null && G !== undefined && M !== null && R !== null && DX !== null && DG !== undefined && DB !== undefined)
      return s.b.cpuLayerNormBackward(DY, X, G, M, R, DX, DG, DB, rows, cols);
  }
  jsNorm.layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols, dtype);
};

export const batchNorm: KernelFns['batchNorm'] = (
  x,
  gamma,
  beta,
  runningMean,
  runningVar,
  y,
  saveMean,
  saveInvStd,
  n,
  c,
  hw,
  training,
  momentum,
  eps,
  dtype,
) => {
  const s = nativeStream();
  if (s !== null && n * c * hw >= minRow) {
    const X = farrOf(x, dtype),
      G = faOpt(gamma, dtype),
      B = faOpt(beta, dtype),
      RM = faOpt(runningMean, dtype),
      RV = faOpt(runningVar, dtype),
      Y = farrOf(y, dtype),
      SM = farrOf(saveMean, dtype),
      SI = farrOf(saveInvStd, dtype);
    if (
      X !== null &&
      G !== undefined &&
      B !== undefined &&
      RM !== undefined &&
      RV !== undefined &&
      Y !== null &&
      SM !== null &&
      SI !== null
    )
      return s.b.cpuBatchNorm(X, G, B, RM, RV, Y, SM, SI, n, c, hw, training, momentum, eps);
  }
  jsNorm.batchNorm(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, n, c, hw, training, momentum, eps, dtype);
};

export const batchNormBackward: KernelFns['batchNormBackward'] = (
  dy,
  x,
  gamma,
  saveMean,
  saveInvStd,
  dx,
  dgamma,
  dbeta,
  n,
  c,
  hw,
  training,
  dtype,
) => {
  const s = nativeStream();
  if (s !== null && n * c * hw >= minRow) {
    const DY = farrOf(dy, dtype),
      X = farrOf(x, dtype),
      G = faOpt(gamma, dtype),
      SM = farrOf(saveMean, dtype),
      SI = farrOf(saveInvStd, dtype),
      DX = farrOf(dx, dtype),
      DG = faOpt(dgamma, dtype),
      DB = faOpt(dbeta, dtype);
    if (DY !== null && X !== null && G !== undefined && SM !== null && SI !== null && DX !== null && DG !== undefined && DB !== undefined)
      return s.b.cpuBatchNormBackward(DY, X, G, SM, SI, DX, DG, DB, n, c, hw, training);
  }
  jsNorm.batchNormBackward(dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, n, c, hw, training, dtype);
};
