// Elementwise kernels: fill, cast, unary (+ fused gradient), broadcasting binary and where,
// and the fused bias + activation used after linear and conv layers.
// Arithmetic happens in float64 (JS numbers); storing into a Float32Array rounds once.

import type { Activation, BinaryOp, Handle, UnaryGradOp, UnaryOp } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { arr, farr, floatDType, hostDType, type AnyArray } from './handle.js';
import { gelu, geluGrad, geluTanh, geluTanhGrad, pow, roundHalfEven, sigmoid, sign, softplus, softplusGrad, tanhFast } from './math.js';

export function fill(out: Handle, n: number, value: number, dtype: DType): void {
  hostDType(dtype, 'fill');
  arr(out, 'fill').fill(value, 0, n);
}

export function cast(x: Handle, out: Handle, n: number, from: DType, to: DType): void {
  hostDType(from, 'cast');
  hostDType(to, 'cast');
  const src = arr(x, 'cast');
  const dst = arr(out, 'cast');
  if (to === 'int32' && from !== 'int32') {
    // float → int truncates toward zero (Int32Array stores ToInt32, which already truncates; NaN → 0)
    for (let i = 0; i < n; i++) dst[i] = Math.trunc(src[i]!);
  } else {
    for (let i = 0; i < n; i++) dst[i] = src[i]!;
  }
}

/** Unary ops that make sense on int32 storage (the rest need a float dtype). */
const INT_UNARY = new Set<UnaryOp>([
  'neg',
  'abs',
  'sign',
  'square',
  'relu',
  'clamp',
  'add_scalar',
  'mul_scalar',
  'rsub_scalar',
  'gt_scalar',
  'lt_scalar',
  'ge_scalar',
  'le_scalar',
  'eq_scalar',
  'ne_scalar',
  'pow_scalar',
]);

/** The scalar function of a unary op with its parameters bound. */
function unaryFn(op: UnaryOp, a: number, b: number): (x: number) => number {
  switch (op) {
    case 'neg':
      return (x) => -x;
    case 'abs':
      return Math.abs;
    case 'sign':
      return sign;
    case 'exp':
      return Math.exp;
    case 'expm1':
      return Math.expm1;
    case 'log':
      return Math.log;
    case 'log1p':
      return Math.log1p;
    case 'sqrt':
      return Math.sqrt;
    case 'rsqrt':
      return (x) => 1 / Math.sqrt(x);
    case 'square':
      return (x) => x * x;
    case 'reciprocal':
      return (x) => 1 / x;
    case 'sin':
      return Math.sin;
    case 'cos':
      return Math.cos;
    case 'floor':
      return Math.floor;
    case 'ceil':
      return Math.ceil;
    case 'round':
      return roundHalfEven;
    case 'tanh':
      return tanhFast;
    case 'sigmoid':
      return sigmoid;
    case 'relu':
      return (x) => (x < 0 ? 0 : x); // NaN passes through, like torch
    case 'gelu':
      return gelu;
    case 'gelu_tanh':
      return geluTanh;
    case 'silu':
      return (x) => x * sigmoid(x);
    case 'softplus':
      return softplus;
    case 'leaky_relu':
      return (x) => (x > 0 ? x : x * a);
    case 'elu':
      return (x) => (x > 0 ? x : a * Math.expm1(x));
    case 'clamp':
      return (x) => Math.min(Math.max(x, a), b);
    case 'add_scalar':
      return (x) => x + a;
    case 'mul_scalar':
      return (x) => x * a;
    case 'rsub_scalar':
      return (x) => a - x;
    case 'rdiv_scalar':
      return (x) => a / x;
    case 'pow_scalar':
      return (x) => pow(x, a);
    case 'rpow_scalar':
      return (x) => pow(a, x);
    case 'gt_scalar':
      return (x) => (x > a ? 1 : 0);
    case 'lt_scalar':
      return (x) => (x < a ? 1 : 0);
    case 'ge_scalar':
      return (x) => (x >= a ? 1 : 0);
    case 'le_scalar':
      return (x) => (x <= a ? 1 : 0);
    case 'eq_scalar':
      return (x) => (x === a ? 1 : 0);
    case 'ne_scalar':
      return (x) => (x !== a ? 1 : 0);
  }
  throw new TypeError(`unary: unknown op ${String(op)}`);
}

export function unary(op: UnaryOp, x: Handle, out: Handle, n: number, dtype: DType, a: number, b: number): void {
  if (hostDType(dtype, 'unary') === 'int32' && !INT_UNARY.has(op)) {
    throw new TypeError(`unary: op ${op} needs a float dtype, got int32`);
  }
  const src = arr(x, 'unary');
  const dst = arr(out, 'unary');
  // the hottest ops get their own loops; the rest go through a bound scalar function
  switch (op) {
    case 'relu':
      if (src instanceof Float32Array && dst instanceof Float32Array && n >= 64) {
        reluF32(src, dst, n);
        return;
      }
      for (let i = 0; i < n; i++) {
        const v = src[i]!;
        dst[i] = v < 0 ? 0 : v;
      }
      return;
    case 'add_scalar':
      for (let i = 0; i < n; i++) dst[i] = src[i]! + a;
      return;
    case 'mul_scalar':
      for (let i = 0; i < n; i++) dst[i] = src[i]! * a;
      return;
    case 'neg':
      for (let i = 0; i < n; i++) dst[i] = -src[i]!;
      return;
    default: {
      const f = unaryFn(op, a, b);
      for (let i = 0; i < n; i++) dst[i] = f(src[i]!);
    }
  }
}

// ReLU on float32 without branches. On activations of mixed sign `v < 0 ? 0 : v` mispredicts
// about every other element (~8 ns each, measured); on the int32 bits of the same buffer the
// select is a mask: with m = bits & 0x7fffffff,
//   v < 0  ⇔ sign set, m > 0 (not -0) and m ≤ 0x7f800000 (not NaN)
//   v > 0  ⇔ sign clear, m > 0 and m ≤ 0x7f800000
// each term an arithmetic shift of a difference. Results are bit-identical to the float loops
// (-0 and NaN pass through relu, relu' gives +0 where x ≤ 0 or NaN).

function reluF32(src: Float32Array, dst: Float32Array, n: number): void {
  const xi = new Int32Array(src.buffer, src.byteOffset, n);
  const oi = new Int32Array(dst.buffer, dst.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const b = xi[i]!;
    const m = b & 0x7fffffff;
    const neg = (b >> 31) & ((0 - m) >> 31) & ((m - 0x7f800001) >> 31); // -1 where v < 0
    oi[i] = b & ~neg;
  }
}

function reluGradF32(x: Float32Array, g: Float32Array, out: Float32Array, n: number): void {
  const xi = new Int32Array(x.buffer, x.byteOffset, n);
  const gi = new Int32Array(g.buffer, g.byteOffset, n);
  const oi = new Int32Array(out.buffer, out.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const b = xi[i]!;
    const m = b & 0x7fffffff;
    const pos = ~(b >> 31) & ((0 - m) >> 31) & ((m - 0x7f800001) >> 31); // -1 where x > 0
    oi[i] = gi[i]! & pos;
  }
}

/** f'(x) (or from y = f(x) where cheaper) for the ops with a fused backward. */
function gradFn(op: UnaryGradOp, a: number, b: number): (x: number, y: number) => number {
  switch (op) {
    case 'relu':
      return (x) => (x > 0 ? 1 : 0);
    case 'gelu':
      return (x) => geluGrad(x);
    case 'gelu_tanh':
      return (x) => geluTanhGrad(x);
    case 'silu':
      return (x) => {
        const s = sigmoid(x);
        return s * (1 + x * (1 - s));
      };
    case 'tanh':
      return (_x, y) => 1 - y * y;
    case 'sigmoid':
      return (_x, y) => y * (1 - y);
    case 'softplus':
      return (x) => softplusGrad(x);
    case 'leaky_relu':
      return (x) => (x > 0 ? 1 : a);
    case 'elu':
      return (x) => (x > 0 ? 1 : a * Math.exp(x));
    case 'clamp':
      return (x) => (x >= a && x <= b ? 1 : 0);
    case 'abs':
      return (x) => sign(x);
  }
  throw new TypeError(`unaryGrad: unknown op ${String(op)}`);
}

export function unaryGrad(
  op: UnaryGradOp,
  x: Handle,
  y: Handle,
  dy: Handle,
  dx: Handle,
  n: number,
  dtype: DType,
  a: number,
  b: number,
): void {
  floatDType(dtype, 'unaryGrad');
  const xs = farr(x, dtype, 'unaryGrad');
  const ys = farr(y, dtype, 'unaryGrad');
  const g = farr(dy, dtype, 'unaryGrad');
  const out = farr(dx, dtype, 'unaryGrad');
  if (op === 'relu') {
    if (xs instanceof Float32Array && g instanceof Float32Array && out instanceof Float32Array && n >= 64) {
      reluGradF32(xs, g, out, n);
      return;
    }
    for (let i = 0; i < n; i++) out[i] = xs[i]! > 0 ? g[i]! : 0;
    return;
  }
  const f = gradFn(op, a, b);
  for (let i = 0; i < n; i++) out[i] = g[i]! * f(xs[i]!, ys[i]!);
}

/**
 * Visits a broadcast index space row by row (the last dimension is the row). For each row it
 * calls visit(offsets..., rowLength) with the starting offset of every operand.
 */
function forEachRow(shape: number[], strides: number[][], visit: (offs: number[], len: number) => void): void {
  const nd = shape.length;
  const nOps = strides.length;
  for (const s of shape) if (s === 0) return;
  if (nd === 0) {
    visit(new Array<number>(nOps).fill(0), 1);
    return;
  }
  const len = shape[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  const offs = new Array<number>(nOps).fill(0);
  for (;;) {
    visit(offs, len);
    // odometer increment over dims 0..nd-2
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      for (let o = 0; o < nOps; o++) offs[o]! += strides[o]![d]!;
      if (idx[d]! < shape[d]!) break;
      for (let o = 0; o < nOps; o++) offs[o]! -= strides[o]![d]! * shape[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/** One row of a binary op: out[o + j] = x[ia + j*sa] op y[ib + j*sb]. */
function binaryRow(
  op: BinaryOp,
  x: AnyArray,
  ia: number,
  sa: number,
  y: AnyArray,
  ib: number,
  sb: number,
  out: AnyArray,
  o: number,
  len: number,
  isInt: boolean,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! + y[ib]!;
      return;
    case 'sub':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! - y[ib]!;
      return;
    case 'mul':
      if (isInt) for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = Math.imul(x[ia]!, y[ib]!);
      else for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! * y[ib]!;
      return;
    case 'div':
      if (isInt) for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = Math.trunc(x[ia]! / y[ib]!);
      else for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! / y[ib]!;
      return;
    case 'pow':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = pow(x[ia]!, y[ib]!);
      return;
    case 'maximum':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = Math.max(x[ia]!, y[ib]!);
      return;
    case 'minimum':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = Math.min(x[ia]!, y[ib]!);
      return;
    case 'eq':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! === y[ib]! ? 1 : 0;
      return;
    case 'ne':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! !== y[ib]! ? 1 : 0;
      return;
    case 'lt':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! < y[ib]! ? 1 : 0;
      return;
    case 'le':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! <= y[ib]! ? 1 : 0;
      return;
    case 'gt':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! > y[ib]! ? 1 : 0;
      return;
    case 'ge':
      for (let j = 0; j < len; j++, ia += sa, ib += sb) out[o + j] = x[ia]! >= y[ib]! ? 1 : 0;
      return;
  }
  throw new TypeError(`binary: unknown op ${String(op)}`);
}

export function binary(
  op: BinaryOp,
  a: Handle,
  b: Handle,
  out: Handle,
  outShape: number[],
  aStrides: number[],
  bStrides: number[],
  dtype: DType,
): void {
  const isInt = hostDType(dtype, 'binary') === 'int32';
  const x = arr(a, 'binary');
  const y = arr(b, 'binary');
  const o = arr(out, 'binary');
  const nd = outShape.length;
  if (aStrides.length !== nd || bStrides.length !== nd) throw new RangeError('binary: strides must have outShape.length entries');
  const cs = contiguousStrides(outShape);
  const aFlat = aStrides.every((s, d) => s === cs[d] || outShape[d] === 1);
  const bFlat = bStrides.every((s, d) => s === cs[d] || outShape[d] === 1);
  const n = outShape.reduce((p, s) => p * s, 1);
  if (aFlat && bFlat) {
    binaryRow(op, x, 0, 1, y, 0, 1, o, 0, n, isInt);
    return;
  }
  const sa = nd > 0 ? aStrides[nd - 1]! : 0;
  const sb = nd > 0 ? bStrides[nd - 1]! : 0;
  forEachRow(outShape, [aStrides, bStrides, cs], (offs, len) => {
    binaryRow(op, x, offs[0]!, sa, y, offs[1]!, sb, o, offs[2]!, len, isInt);
  });
}

export function where(
  cond: Handle,
  a: Handle,
  b: Handle,
  out: Handle,
  outShape: number[],
  condStrides: number[],
  aStrides: number[],
  bStrides: number[],
  condDtype: DType,
  dtype: DType,
): void {
  hostDType(condDtype, 'where');
  hostDType(dtype, 'where');
  const c = arr(cond, 'where');
  const x = arr(a, 'where');
  const y = arr(b, 'where');
  const o = arr(out, 'where');
  const nd = outShape.length;
  const cs = contiguousStrides(outShape);
  const last = (s: number[]): number => (nd > 0 ? s[nd - 1]! : 0);
  const sc = last(condStrides),
    sa = last(aStrides),
    sb = last(bStrides);
  forEachRow(outShape, [condStrides, aStrides, bStrides, cs], (offs, len) => {
    let ic = offs[0]!,
      ia = offs[1]!,
      ib = offs[2]!;
    const io = offs[3]!;
    for (let j = 0; j < len; j++, ic += sc, ia += sa, ib += sb) o[io + j] = c[ic]! !== 0 ? x[ia]! : y[ib]!;
  });
}

/** Scalar activation for the fused bias kernels (shared with the gradient side of the op layer). */
export function activationFn(act: Activation): (x: number) => number {
  switch (act) {
    case 'none':
      return (x) => x;
    case 'relu':
      return (x) => (x < 0 ? 0 : x);
    case 'gelu':
      return gelu;
    case 'tanh':
      return tanhFast;
    case 'sigmoid':
      return sigmoid;
  }
  throw new TypeError(`addBiasAct: unknown activation ${String(act)}`);
}

export function addBiasAct(
  x: Handle,
  bias: Handle,
  out: Handle,
  outer: number,
  c: number,
  inner: number,
  act: Activation,
  dtype: DType,
): void {
  const xs = farr(x, dtype, 'addBiasAct');
  const bs = farr(bias, dtype, 'addBiasAct');
  const o = farr(out, dtype, 'addBiasAct');
  const f = activationFn(act);
  if (inner === 1) {
    // linear layers: rows of c, bias along the row
    for (let r = 0, i = 0; r < outer; r++, i += c) {
      if (act === 'none') for (let ch = 0; ch < c; ch++) o[i + ch] = xs[i + ch]! + bs[ch]!;
      else if (act === 'relu')
        for (let ch = 0; ch < c; ch++) {
          const v = xs[i + ch]! + bs[ch]!;
          o[i + ch] = v < 0 ? 0 : v;
        }
      else for (let ch = 0; ch < c; ch++) o[i + ch] = f(xs[i + ch]! + bs[ch]!);
    }
    return;
  }
  let i = 0;
  for (let r = 0; r < outer; r++) {
    for (let ch = 0; ch < c; ch++) {
      const bv = bs[ch]!;
      const end = i + inner;
      if (act === 'none') for (; i < end; i++) o[i] = xs[i]! + bv;
      else if (act === 'relu')
        for (; i < end; i++) {
          const v = xs[i]! + bv;
          o[i] = v < 0 ? 0 : v;
        }
      else for (; i < end; i++) o[i] = f(xs[i]! + bv);
    }
  }
}
