// Elementwise ops: unary math and activations, binary arithmetic with broadcasting, comparisons,
// where, casts and device moves. Each backward sits next to its forward.

import type { BinaryOp, UnaryGradOp, UnaryOp } from '../backend/kernels.js';
import { getBackend, normalizeDevice } from '../backend/registry.js';
import { DTYPES, fitsInt32, int32Overflow, isFloat, type DType } from '../dtype.js';
import { needsGrad, record, save } from '../autograd/record.js';
import { broadcastShapes, broadcastStrides, fmtShape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { fromHost } from './creation.js';
import { empty, launch, nbytes, resultDtype, sameDevice, sumToShape } from './util.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';

// ---- raw launches (no autograd) --------------------------------------------------------------

/** y = op(x; a, b) with no recording. */
export function unaryRaw(op: UnaryOp, x: Tensor, a = 0, b = 0, flopsPerElement = 1): Tensor {
  const be = x.backend;
  const y = empty(be, x.shape, x.dtype);
  const n = x.size;
  launch(be, 'unary', flopsPerElement * n, nbytes(2 * n, x.dtype), op, x.handle, y.handle, n, x.dtype, a, b);
  return y;
}

function unaryGradRaw(op: UnaryGradOp, x: Tensor, y: Tensor, g: Tensor, a = 0, b = 0): Tensor {
  const be = g.backend;
  const dx = empty(be, g.shape, g.dtype);
  const n = g.size;
  launch(be, 'unaryGrad', 4 * n, nbytes(4 * n, g.dtype), op, x.handle, y.handle, g.handle, dx.handle, n, g.dtype, a, b);
  return dx;
}

export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  return sumToShape(
    g,
    shape,
    (x, dims, keep) => sum(x, dims, keep),
    (x, s) => reshape(x, s),
  );
}

// ---- casts and moves --------------------------------------------------------------------------

/** A copy converted to dtype (float→int truncates toward zero). Differentiable between floats. */
export function cast(x: Tensor, dtype: DType | 'int64'): Tensor {
  if (dtype === 'int64') dtype = 'int32'; // torch's .long(): int32 is wattgrad's integer dtype
  if (!DTYPES.includes(dtype)) throw new TypeError(`cast: unknown dtype ${String(dtype)}`);
  const be = x.backend;
  const y = empty(be, x.shape, dtype);
  const n = x.size;
  launch(be, 'cast', 0, nbytes(n, x.dtype) + nbytes(n, dtype), x.handle, y.handle, n, x.dtype, dtype);
  if (isFloat(dtype) && needsGrad(x)) {
    const from = x.dtype;
    record('cast', [y], [x], ([g]) => [cast(g!, from)]);
  }
  return y;
}

/** A copy (same device and dtype), differentiable. */
export function clone(x: Tensor): Tensor {
  const be = x.backend;
  const y = empty(be, x.shape, x.dtype);
  const n = x.size;
  const st = n ? [1] : [0];
  launch(be, 'stridedCopy', 0, nbytes(2 * n, x.dtype), x.handle, y.handle, [n], st, 0, st, 0, x.dtype, false);
  if (needsGrad(x)) record('clone', [y], [x], ([g]) => [g!]);
  return y;
}

/** Moves to a device ('cpu', 'cuda', 'cuda:N') or casts to a dtype; a new tensor either way. */
export function to(x: Tensor, target: string): Tensor {
  if (target === 'int64' || (DTYPES as readonly string[]).includes(target)) return cast(x, target as DType);
  const dev = normalizeDevice(target);
  if (dev === x.device) return clone(x);
  const dst = getBackend(dev);
  const host = x.dataSync();
  const y = fromHost(host, [...x.shape], x.dtype, dst.device);
  if (needsGrad(x)) {
    const src = x.device;
    record('to', [y], [x], ([g]) => [to(g!, src)]);
  }
  return y;
}

// ---- unary ------------------------------------------------------------------------------------

type UnaryBackward = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

function unaryOp(
  name: string,
  op: UnaryOp,
  x: Tensor,
  backward: UnaryBackward | null,
  a = 0,
  b = 0,
  flops = 1,
  needX = true,
  needY = false,
): Tensor {
  const y = unaryRaw(op, x, a, b, flops);
  if (backward && needsGrad(x)) {
    // only saved tensors may be touched in backward (x and y may be disposed by then); a backward
    // that needs neither gets g in their place (same shape, device and dtype)
    const [sx, sy] = [needX ? save(x)[0]! : null, needY ? save(y)[0]! : null];
    const saved = [sx, sy].filter((t): t is Tensor => t !== null);
    record(name, [y], [x], ([g]) => [backward(g!, sx ?? sy ?? g!, sy ?? sx ?? g!)], saved);
  }
  return y;
}

function fused(op: UnaryGradOp, a = 0, b = 0): UnaryBackward {
  return (g, x, y) => unaryGradRaw(op, x, y, g, a, b);
}

function assertFloatOp(op: string, x: Tensor): void {
  if (!isFloat(x.dtype))
    throw new TypeError(`${op}: expected a floating point tensor, got ${x.dtype} ${fmtShape(x.shape)} (cast with .float())`);
}

export function neg(x: Tensor): Tensor {
  return unaryOp('neg', 'neg', x, (g) => neg(g), 0, 0, 1, false);
}
export function exp(x: Tensor): Tensor {
  assertFloatOp('exp', x);
  return unaryOp('exp', 'exp', x, (g, _x, y) => mul(g, y), 0, 0, 8, false, true);
}
export function expm1(x: Tensor): Tensor {
  assertFloatOp('expm1', x);
  return unaryOp('expm1', 'expm1', x, (g, x) => mul(g, exp(x)), 0, 0, 8);
}
export function log(x: Tensor): Tensor {
  assertFloatOp('log', x);
  return unaryOp('log', 'log', x, (g, x) => div(g, x), 0, 0, 8);
}
export function log1p(x: Tensor): Tensor {
  assertFloatOp('log1p', x);
  return unaryOp('log1p', 'log1p', x, (g, x) => div(g, add(x, 1)), 0, 0, 8);
}
export function sqrt(x: Tensor): Tensor {
  assertFloatOp('sqrt', x);
  return unaryOp('sqrt', 'sqrt', x, (g, _x, y) => div(mul(g, 0.5), y), 0, 0, 4, false, true);
}
export function rsqrt(x: Tensor): Tensor {
  assertFloatOp('rsqrt', x);
  return unaryOp('rsqrt', 'rsqrt', x, (g, _x, y) => mul(mul(g, -0.5), pow(y, 3)), 0, 0, 4, false, true);
}
export function square(x: Tensor): Tensor {
  return unaryOp('square', 'square', x, (g, x) => mul(g, mul(x, 2)));
}
export function reciprocal(x: Tensor): Tensor {
  assertFloatOp('reciprocal', x);
  return unaryOp('reciprocal', 'reciprocal', x, (g, _x, y) => neg(mul(g, square(y))), 0, 0, 1, false, true);
}
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', 'abs', x, fused('abs'));
}
export function sign(x: Tensor): Tensor {
  return unaryOp('sign', 'sign', x, (g) => mulScalarZero(g), 0, 0, 1, false);
}
export function sin(x: Tensor): Tensor {
  assertFloatOp('sin', x);
  return unaryOp('sin', 'sin', x, (g, x) => mul(g, cos(x)), 0, 0, 8);
}
export function cos(x: Tensor): Tensor {
  assertFloatOp('cos', x);
  return unaryOp('cos', 'cos', x, (g, x) => neg(mul(g, sin(x))), 0, 0, 8);
}
function mulScalarZero(g: Tensor): Tensor {
  return unaryRaw('mul_scalar', g, 0);
}
export function floor(x: Tensor): Tensor {
  return unaryOp('floor', 'floor', x, mulScalarZero, 0, 0, 1, false);
}
export function ceil(x: Tensor): Tensor {
  return unaryOp('ceil', 'ceil', x, mulScalarZero, 0, 0, 1, false);
}
/** Round half to even, like torch.round. */
export function round(x: Tensor): Tensor {
  return unaryOp('round', 'round', x, mulScalarZero, 0, 0, 1, false);
}
export function tanh(x: Tensor): Tensor {
  assertFloatOp('tanh', x);
  return unaryOp('tanh', 'tanh', x, fused('tanh'), 0, 0, 8, false, true);
}
export function sigmoid(x: Tensor): Tensor {
  assertFloatOp('sigmoid', x);
  return unaryOp('sigmoid', 'sigmoid', x, fused('sigmoid'), 0, 0, 8, false, true);
}
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', 'relu', x, fused('relu'));
}
/** GELU; 'none' is the exact erf form (torch default), 'tanh' the approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  assertFloatOp('gelu', x);
  const op = approximate === 'tanh' ? 'gelu_tanh' : 'gelu';
  return unaryOp('gelu', op, x, fused(op), 0, 0, 16);
}
export function silu(x: Tensor): Tensor {
  assertFloatOp('silu', x);
  return unaryOp('silu', 'silu', x, fused('silu'), 0, 0, 8);
}
export function softplus(x: Tensor): Tensor {
  assertFloatOp('softplus', x);
  return unaryOp('softplus', 'softplus', x, fused('softplus'), 0, 0, 8);
}
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return unaryOp('leakyRelu', 'leaky_relu', x, fused('leaky_relu', negativeSlope), negativeSlope);
}
export function elu(x: Tensor, alpha = 1): Tensor {
  assertFloatOp('elu', x);
  return unaryOp('elu', 'elu', x, fused('elu', alpha), alpha, 0, 8);
}
/** Clamps to [min, max]; either bound may be omitted. Gradient passes where min ≤ x ≤ max. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (lo > hi) throw new RangeError(`clamp: min ${lo} is greater than max ${hi}`);
  // an int tensor with a fractional bound computes in float32 (torch), not truncated bounds
  const frac = (v: number): boolean => Number.isFinite(v) && !Number.isInteger(v);
  if (!isFloat(x.dtype) && (frac(lo) || frac(hi))) return withScalar(x, 0.5, (f) => clamp(f, min, max));
  return unaryOp('clamp', 'clamp', x, fused('clamp', lo, hi), lo, hi);
}

// ---- binary -----------------------------------------------------------------------------------

function scalarOperand(op: string, v: number): number {
  if (typeof v !== 'number') throw new TypeError(`${op}: expected a tensor or a number, got ${typeof v}`);
  return v;
}

/** a op b for two tensors with broadcasting and dtype promotion; no recording. */
export function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor, flopsPerElement = 1): Tensor {
  const be = sameDevice(op, a, b);
  const dtype = resultDtype(a, b);
  const shape = broadcastShapes(op, a.shape, b.shape); // before any allocation
  const ac = a.dtype === dtype ? a : cast(a, dtype);
  const bc = b.dtype === dtype ? b : cast(b, dtype);
  const out = empty(be, shape, dtype, op);
  const n = out.size;
  launch(
    be,
    'binary',
    flopsPerElement * n,
    nbytes(a.size + b.size + n, dtype),
    op,
    ac.handle,
    bc.handle,
    out.handle,
    shape,
    broadcastStrides(a.shape, shape),
    broadcastStrides(b.shape, shape),
    dtype,
  );
  if (ac !== a) ac.dispose();
  if (bc !== b) bc.dispose();
  return out;
}

function asTensor(op: string, v: TensorLike): Tensor {
  if (v instanceof Tensor) return v;
  throw new TypeError(`${op}: expected a tensor, got ${typeof v}`);
}

/** An int tensor meeting a fractional scalar computes in float32 (torch's promotion). */
function withScalar(x: Tensor, s: number, f: (x: Tensor) => Tensor): Tensor {
  if (isFloat(x.dtype) || Number.isInteger(s)) return f(x);
  const fx = cast(x, 'float32');
  const r = f(fx);
  fx.dispose();
  return r;
}

/** a + alpha·b (torch.add). */
export function add(a: TensorLike, b: TensorLike, alpha = 1): Tensor {
  if (typeof a === 'number') return add(asTensor('add', b), a);
  if (typeof b === 'number' && !isFloat(a.dtype) && !Number.isInteger(b * alpha)) return withScalar(a, b * alpha, (x) => add(x, b, alpha));
  if (typeof b === 'number') {
    return unaryOp('add', 'add_scalar', a, (g) => g, scalarOperand('add', b) * alpha, 0, 1, false);
  }
  if (alpha !== 1) return add(a, mul(b, alpha));
  const out = binaryRaw('add', a, b);
  if (needsGrad(a, b)) {
    const [sa, sb] = [a.shape, b.shape];
    record('add', [out], [a, b], ([g]) => [a.requiresGrad ? sumTo(g!, sa) : null, b.requiresGrad ? sumTo(g!, sb) : null]);
  }
  return out;
}

/** a - alpha·b. */
export function sub(a: TensorLike, b: TensorLike, alpha = 1): Tensor {
  if (typeof a === 'number') {
    const t = asTensor('sub', b);
    if (!isFloat(t.dtype) && !Number.isInteger(a)) return withScalar(t, a, (x) => sub(a, x));
    return unaryOp('sub', 'rsub_scalar', t, (g) => neg(g), a, 0, 1, false);
  }
  if (typeof b === 'number') return add(a, -b * alpha);
  if (alpha !== 1) return sub(a, mul(b, alpha));
  const out = binaryRaw('sub', a, b);
  if (needsGrad(a, b)) {
    const [sa, sb] = [a.shape, b.shape];
    record('sub', [out], [a, b], ([g]) => [a.requiresGrad ? sumTo(g!, sa) : null, b.requiresGrad ? neg(sumTo(g!, sb)) : null]);
  }
  return out;
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number') return mul(asTensor('mul', b), a);
  if (typeof b === 'number' && !isFloat(a.dtype) && !Number.isInteger(b)) return withScalar(a, b, (x) => mul(x, b));
  if (typeof b === 'number') {
    const s = scalarOperand('mul', b);
    return unaryOp('mul', 'mul_scalar', a, (g) => mul(g, s), s, 0, 1, false);
  }
  const out = binaryRaw('mul', a, b);
  if (needsGrad(a, b)) {
    // da needs b and db needs a: save only those (torch does the same)
    const needA = a.requiresGrad;
    const needB = b.requiresGrad;
    const sa = needB ? save(a)[0]! : null;
    const sb = needA ? save(b)[0]! : null;
    const [aShape, bShape] = [[...a.shape], [...b.shape]];
    record(
      'mul',
      [out],
      [a, b],
      ([g]) => [needA ? sumTo(mul(g!, sb!), aShape) : null, needB ? sumTo(mul(g!, sa!), bShape) : null],
      [sa, sb].filter((t): t is Tensor => t !== null),
    );
  }
  return out;
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number') {
    const t = asTensor('div', b);
    if (!isFloat(t.dtype)) return withScalar(t, 0.5, (x) => div(a, x)); // int / int is true division
    const s = a;
    return unaryOp('div', 'rdiv_scalar', t, (g, x, y) => neg(div(mul(g, y), x)), s, 0, 1, true, true);
  }
  if (typeof b === 'number') {
    const s = scalarOperand('div', b);
    if (isFloat(a.dtype)) return mul(a, 1 / s);
    const fa = cast(a, 'float32');
    const r = mul(fa, 1 / s);
    fa.dispose();
    return r;
  }
  const fa = isFloat(a.dtype) || isFloat(b.dtype) ? a : cast(a, 'float32');
  const out = binaryRaw('div', fa, b);
  if (needsGrad(a, b)) {
    const [sb, so] = save(b, out);
    record(
      'div',
      [out],
      [fa, b],
      ([g]) => [
        fa.requiresGrad ? sumTo(div(g!, sb!), fa.shape) : null,
        b.requiresGrad ? sumTo(neg(div(mul(g!, so!), sb!)), sb!.shape) : null,
      ],
      [sb!, so!],
    );
  }
  if (fa !== a) fa.dispose();
  return out;
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number') {
    const t = asTensor('pow', b);
    const base = scalarOperand('pow', a);
    if (!isFloat(t.dtype)) {
      // torch: an integer base keeps the int dtype, a fractional one gives float32
      if (!Number.isInteger(base)) return withScalar(t, 0.5, (x) => pow(base, x));
      const f = cast(t, 'float64');
      const p = pow(base, f);
      const r = cast(p, t.dtype);
      f.dispose();
      p.dispose();
      return r;
    }
    return unaryOp('pow', 'rpow_scalar', t, (g, _x, y) => mul(g, mul(y, Math.log(base))), base, 0, 8, false, true);
  }
  if (typeof b === 'number') {
    const e = scalarOperand('pow', b);
    if (!isFloat(a.dtype)) {
      if (!Number.isInteger(e)) return withScalar(a, e, (x) => pow(x, e)); // int ** 0.5 is float32, as in torch
      if (e < 0)
        throw new RangeError(
          `pow: integers to negative integer powers are not allowed (${a.dtype} ${fmtShape(a.shape)} ** ${e}); cast to float first (.float())`,
        );
    }
    if (e === 2) return square(a);
    return unaryOp('pow', 'pow_scalar', a, (g, x) => mul(g, mul(pow(x, e - 1), e)), e, 0, 8);
  }
  const out = binaryRaw('pow', a, b, 8);
  if (needsGrad(a, b)) {
    const [sa, sb, so] = save(a, b, out);
    record(
      'pow',
      [out],
      [a, b],
      ([g]) => [
        a.requiresGrad ? sumTo(mul(g!, mul(sb!, pow(sa!, sub(sb!, 1)))), sa!.shape) : null,
        b.requiresGrad ? sumTo(mul(g!, mul(so!, log(sa!))), sb!.shape) : null,
      ],
      [sa!, sb!, so!],
    );
  }
  return out;
}

function minmax(name: 'maximum' | 'minimum', a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number') return minmax(name, asTensor(name, b), a);
  if (typeof b === 'number') return name === 'maximum' ? clamp(a, b, null) : clamp(a, null, b);
  const out = binaryRaw(name, a, b);
  if (needsGrad(a, b)) {
    const [sa, sb] = save(a, b);
    record(
      name,
      [out],
      [a, b],
      ([g]) => {
        // ties split the gradient evenly, like torch
        const win = binaryRaw(name === 'maximum' ? 'gt' : 'lt', sa!, sb!);
        const tie = binaryRaw('eq', sa!, sb!);
        const wa = add(win, mul(tie, 0.5));
        const wb = sub(1, wa);
        return [a.requiresGrad ? sumTo(mul(g!, wa), sa!.shape) : null, b.requiresGrad ? sumTo(mul(g!, wb), sb!.shape) : null];
      },
      [sa!, sb!],
    );
  }
  return out;
}

export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return minmax('maximum', a, b);
}
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return minmax('minimum', a, b);
}

// ---- comparisons (no gradient; 1/0 in the operands' dtype) -------------------------------------

function compare(op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge', a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number') {
    const flip = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' } as const;
    return compare(flip[op], asTensor(op, b), a);
  }
  if (typeof b === 'number') return unaryRaw(`${op}_scalar` as UnaryOp, a, b);
  return binaryRaw(op, a, b);
}
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);

/** cond ? a : b elementwise with broadcasting; gradient flows to the chosen side. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const ta = typeof a === 'number' ? null : a;
  const tb = typeof b === 'number' ? null : b;
  const ref = ta ?? tb;
  const be = sameDevice('where', cond, ta, tb);
  const dtype = ta && tb ? resultDtype(ta, tb) : (ref?.dtype ?? 'float32');
  const mk = (v: TensorLike): Tensor =>
    typeof v === 'number' ? fromHost(toHost(dtype, v), [], dtype, be.device) : v.dtype === dtype ? v : cast(v, dtype);
  let shape = broadcastShapes('where', cond.shape, ta ? ta.shape : []);
  shape = broadcastShapes('where', shape, tb ? tb.shape : []);
  const A = mk(a);
  const B = mk(b);
  const out = empty(be, shape, dtype, 'where');
  launch(
    be,
    'where',
    out.size,
    nbytes(out.size * 4, dtype),
    cond.handle,
    A.handle,
    B.handle,
    out.handle,
    shape,
    broadcastStrides(cond.shape, shape),
    broadcastStrides(A.shape, shape),
    broadcastStrides(B.shape, shape),
    cond.dtype,
    dtype,
  );
  if (needsGrad(ta, tb)) {
    const [sc] = save(cond);
    const [sa, sb] = [A.shape, B.shape];
    record(
      'where',
      [out],
      [ta ? A : null, tb ? B : null],
      ([g]) => {
        const z = unaryRaw('mul_scalar', g!, 0);
        return [ta?.requiresGrad ? sumTo(where(sc!, g!, z), sa) : null, tb?.requiresGrad ? sumTo(where(sc!, z, g!), sb) : null];
      },
      [sc!],
    );
  }
  // temporaries: the node (if any) holds what it needs through its edges
  if (A !== a) A.dispose();
  if (B !== b) B.dispose();
  return out;
}

function toHost(dtype: DType, v: number) {
  if (dtype === 'int32' && !fitsInt32(v)) int32Overflow('where', v); // torch refuses it too; Int32Array.of would wrap
  return dtype === 'float64' ? Float64Array.of(v) : dtype === 'int32' ? Int32Array.of(v) : Float32Array.of(v);
}
