// Reductions over dims (sum, mean, max, min, argmax, argmin) and composites built on them
// (var, std, logsumexp, norm). The kernel reduces the middle axis of (outer, r, inner); adjacent
// reduced dims are merged into one launch.

import type { ReduceOp } from '../backend/kernels.js';
import { needsGrad, record } from '../autograd/record.js';
import { fmtShape, normDim, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, empty, launch, nbytes } from './util.js';
import { add, cast, exp, log, mul, ne, pow, sqrt, sub, abs, square, unaryRaw, where } from './elementwise.js';
import { expand, reshape, gatherBackwardRaw } from './shape.js';
import { bool, finite } from '../options.js';

/** Normalised, sorted, unique dims; null/undefined means all. */
export function reduceDims(op: string, x: Tensor, dim: number | number[] | null | undefined): number[] {
  if (dim === null || dim === undefined) return x.shape.map((_, i) => i);
  const ds = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(op, d, x.ndim));
  return [...new Set(ds)].sort((a, b) => a - b);
}

function keptShape(x: Tensor, dims: number[]): number[] {
  return x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

function outShape(x: Tensor, dims: number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(x, dims) : x.shape.filter((_, i) => !dims.includes(i));
}

/** Reduces `dims` of x with op, no recording; result has the keepdim shape. */
function reduceRaw(op: ReduceOp, x: Tensor, dims: number[]): Tensor {
  let cur = x;
  let shape = [...x.shape];
  // merge runs of adjacent dims, reduce from the last run to the first so indices stay valid
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d - 1) last[1] = d;
    else runs.push([d, d]);
  }
  for (let k = runs.length - 1; k >= 0; k--) {
    const [lo, hi] = runs[k]!;
    const outer = numel(shape, 0, lo);
    const r = numel(shape, lo, hi + 1);
    const inner = numel(shape, hi + 1);
    const next = [...shape];
    for (let d = lo; d <= hi; d++) next[d] = 1;
    const out = empty(x.backend, next, x.dtype);
    launch(
      x.backend,
      'reduce',
      outer * r * inner,
      nbytes(outer * r * inner + outer * inner, x.dtype),
      op,
      cur.handle,
      out.handle,
      outer,
      r,
      inner,
      x.dtype,
    );
    if (cur !== x) cur.dispose();
    cur = out;
    shape = next;
  }
  if (cur === x) {
    // nothing to reduce: a copy
    const out = empty(x.backend, x.shape, x.dtype);
    launch(x.backend, 'reduce', 0, nbytes(2 * x.size, x.dtype), 'sum', x.handle, out.handle, x.size, 1, 1, x.dtype);
    return out;
  }
  return cur;
}

function dropKept(t: Tensor, shape: number[]): Tensor {
  if (t.ndim === shape.length) return t;
  const r = reshape(t, shape);
  t.dispose();
  return r;
}

/**
 * Sum over dims (all by default). An int32 sum is float64: torch accumulates integer sums in
 * int64, and wattgrad has no int64, so the sum is taken and returned in float64, exact while
 * |sum| < 2^53 (any int32 input of up to 2^22 elements), instead of wrapping in int32.
 */
export function sum(x: Tensor, dim?: number | number[] | null, keepdim = false): Tensor {
  bool('sum', 'keepdim', keepdim); // keepdim must be a boolean: a torch-style { keepdim } / { correction } object was taken as true
  const dims = reduceDims('sum', x, dim);
  if (x.dtype === 'int32') {
    const xf = cast(x, 'float64');
    const r = sum(xf, dims, keepdim);
    xf.dispose();
    return r;
  }
  const kept = reduceRaw('sum', x, dims);
  const out = dropKept(kept, outShape(x, dims, keepdim));
  if (needsGrad(x)) {
    const xs = [...x.shape];
    const ks = keptShape(x, dims);
    record('sum', [out], [x], ([g]) => [expand(reshape(g!, ks), xs)]);
  }
  return out;
}

/** Mean over dims (all by default). */
export function mean(x: Tensor, dim?: number | number[] | null, keepdim = false): Tensor {
  bool('mean', 'keepdim', keepdim);
  assertFloat('mean', x);
  const dims = reduceDims('mean', x, dim);
  const count = dims.reduce((a, d) => a * x.shape[d]!, 1);
  const s = sum(x, dims, keepdim);
  const m = mul(s, 1 / count);
  s.dispose();
  return m;
}

/** max/min/argmax/argmin have no identity: reducing a dim of size 0 is an error (torch's rule). */
function assertNonEmptyDim(op: string, x: Tensor, d: number | null): void {
  if (d === null) {
    if (x.size === 0)
      throw new RangeError(
        `${op}: cannot reduce the empty tensor ${fmtShape(x.shape)} over all dims (it has no identity); pass a dim of non-zero size`,
      );
  } else if (x.shape[d] === 0) {
    throw new RangeError(
      `${op}: cannot reduce dim ${d} of size 0 of ${fmtShape(x.shape)} (it has no identity); reduce a dim of non-zero size`,
    );
  }
}

function extremum(name: 'max' | 'min', x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  if (dim === null || dim === undefined) {
    assertNonEmptyDim(name, x, null);
    const flat = reshape(x, [x.size]);
    const r = extremum(name, flat, 0, false);
    flat.dispose();
    return r;
  }
  const d = normDim(name, dim, x.ndim);
  assertNonEmptyDim(name, x, d);
  const kept = reduceRaw(name, x, [d]);
  const out = dropKept(kept, outShape(x, [d], keepdim));
  if (needsGrad(x)) {
    // the gradient goes to the first extreme element, like torch's max(dim) indices
    const idx = argReduce(name === 'max' ? 'argmax' : 'argmin', x, d, true);
    const xs = [...x.shape];
    const ks = keptShape(x, [d]);
    record(name, [out], [x], ([g]) => [gatherBackwardRaw(reshape(g!, ks), idx, xs, d)], [idx]);
  }
  return out;
}

export function max(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  bool('max', 'keepdim', keepdim);
  return extremum('max', x, dim, keepdim);
}
export function min(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  bool('min', 'keepdim', keepdim);
  return extremum('min', x, dim, keepdim);
}

function argReduce(op: 'argmax' | 'argmin', x: Tensor, d: number, keepdim: boolean): Tensor {
  const outer = numel(x.shape, 0, d);
  const r = x.shape[d]!;
  const inner = numel(x.shape, d + 1);
  const out = empty(x.backend, outShape(x, [d], keepdim), 'int32');
  launch(
    x.backend,
    'argReduce',
    x.size,
    nbytes(x.size, x.dtype) + nbytes(outer * inner, 'int32'),
    op,
    x.handle,
    out.handle,
    outer,
    r,
    inner,
    x.dtype,
  );
  return out;
}

function argOp(op: 'argmax' | 'argmin', x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  if (dim === null || dim === undefined) {
    assertNonEmptyDim(op, x, null);
    const flat = reshape(x, [x.size]);
    const r = argReduce(op, flat, 0, false);
    flat.dispose();
    if (!keepdim) return r;
    const k = reshape(
      r,
      x.shape.map(() => 1),
    );
    r.dispose();
    return k;
  }
  const d = normDim(op, dim, x.ndim);
  assertNonEmptyDim(op, x, d);
  return argReduce(op, x, d, keepdim);
}

/** Index of the first maximum along dim (of the flattened tensor when dim is omitted), int32. */
export function argmax(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  bool('argmax', 'keepdim', keepdim);
  return argOp('argmax', x, dim, keepdim);
}
export function argmin(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  bool('argmin', 'keepdim', keepdim);
  return argOp('argmin', x, dim, keepdim);
}

/** Variance with Bessel's correction by default (torch.var). */
export function variance(x: Tensor, dim?: number | number[] | null, keepdim = false, correction = 1): Tensor {
  bool('var', 'keepdim', keepdim);
  finite('var', 'correction', correction);
  const dims = reduceDims('var', x, dim);
  const count = dims.reduce((a, d) => a * x.shape[d]!, 1);
  const m = mean(x, dims, true);
  const d = sub(x, m);
  const sq = square(d);
  const s = sum(sq, dims, keepdim);
  const v = mul(s, 1 / Math.max(count - correction, 0));
  for (const t of [m, d, sq, s]) t.dispose();
  return v;
}

export function std(x: Tensor, dim?: number | number[] | null, keepdim = false, correction = 1): Tensor {
  bool('std', 'keepdim', keepdim);
  finite('std', 'correction', correction);
  const v = variance(x, dim, keepdim, correction);
  const r = sqrt(v);
  v.dispose();
  return r;
}

/**
 * log Σ exp along dim, stable: subtracts the row max, except where that max is ±Infinity, which
 * is replaced by 0 (torch's rule), so all −∞ gives −∞ (and an empty dim −∞), +∞ gives +∞.
 */
export function logsumexp(x: Tensor, dim: number, keepdim = false): Tensor {
  bool('logsumexp', 'keepdim', keepdim);
  assertFloat('logsumexp', x);
  const d = normDim('logsumexp', dim, x.ndim);
  const m0 = reduceRaw('max', x, [d]); // constant w.r.t. the gradient
  const inf = unaryRaw('abs', m0);
  const isInf = unaryRaw('eq_scalar', inf, Infinity);
  const m = where(isInf, 0, m0);
  for (const t of [m0, inf, isInf]) t.dispose();
  const z = sub(x, m);
  const e = exp(z);
  const s = sum(e, d, true);
  const l = log(s);
  const r = add(l, m);
  const out = keepdim ? r : reshape(r, outShape(x, [d], false));
  for (const t of [m, z, e, s, l]) t.dispose();
  if (out !== r) r.dispose();
  return out;
}

/** p-norm (Σ|x|^p)^(1/p) over dims (all by default); p = Infinity is max |x|, -Infinity min |x|, 0 the count of non-zeros (torch). */
export function norm(x: Tensor, p = 2, dim?: number | number[] | null, keepdim = false): Tensor {
  bool('norm', 'keepdim', keepdim);
  const dims = reduceDims('norm', x, dim);
  const a = abs(x);
  let out: Tensor;
  if (p === Infinity && dims.some((d) => x.shape[d] === 0)) {
    out = sum(a, dims, keepdim); // the norm of nothing is 0 (torch), which max cannot give
  } else if (p === 0) {
    // torch: the number of non-zero elements (no gradient)
    const nz = ne(x, 0);
    out = sum(nz, dims, keepdim);
    nz.dispose();
  } else if (p === Infinity || p === -Infinity) {
    // max |x| (min |x| for -Infinity); the gradient goes to the first extreme element
    let cur = a;
    for (const d of [...dims].reverse()) {
      const n = p === Infinity ? max(cur, d, true) : min(cur, d, true);
      if (cur !== a) cur.dispose();
      cur = n;
    }
    out = keepdim ? cur : reshape(cur, outShape(x, dims, false));
    if (out !== cur) cur.dispose();
  } else if (p === 1) {
    out = sum(a, dims, keepdim);
  } else if (p === 2) {
    const sq = square(x);
    const s = sum(sq, dims, keepdim);
    out = sqrt(s);
    sq.dispose();
    s.dispose();
  } else {
    const pw = pow(a, p);
    const s = sum(pw, dims, keepdim);
    out = pow(s, 1 / p);
    pw.dispose();
    s.dispose();
  }
  a.dispose();
  return out;
}
