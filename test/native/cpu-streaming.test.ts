// The addon's streaming CPU kernels (native/cpu/elementwise_kernels.h: softmax / log-softmax,
// fused cross-entropy, layer / batch norm, bias + activation, unary, unary-grad, broadcasting
// binary, reductions) against the js backend's kernels, the reference: fresh random inputs, odd
// sizes (not multiples of any vector width, 1-element rows, rows long enough to take the thread
// pool), -inf / huge / NaN inputs, broadcasting shapes, outputs poisoned with NaN, float32 and
// float64, on every ISA this CPU supports (in-process via cpuSelectIsa, and through
// WATTGRAD_CPU_ISA in a child process). Also: reductions (and every other kernel) bitwise equal for
// 1 and 2 threads and run to run; the exp's ULP error; the argument checks; the js backend's
// routing (lib/backend/js/native-streaming.ts). Skips, saying why, without CPU kernels. Run with:
//   node scripts/build-native.mjs --no-cuda --out=build/cpu-dev
//   WATTGRAD_NATIVE=build/cpu-dev/Release/wattgrad.node npx vitest run test/native/cpu-streaming.test.ts
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { addonPath, cpu, noCpuLabel, rng, SEED, type F } from './cpu-util.js';
import { JsHandle } from '../../lib/backend/js/handle.js';
import * as jsEw from '../../lib/backend/js/elementwise.js';
import * as jsRed from '../../lib/backend/js/reduce.js';
import * as jsSm from '../../lib/backend/js/softmax.js';
import * as jsNorm from '../../lib/backend/js/norm.js';
import * as route from '../../lib/backend/js/native-streaming.js';
import type { Activation, BinaryOp, ReduceOp, UnaryGradOp, UnaryOp } from '../../lib/backend/kernels.js';
import * as wg from '../../lib/index.js';
import { tidy, type Tensor } from '../../lib/index.js';
import { gradcheck } from '../util/gradcheck.js';

type DT = 'float32' | 'float64';
type Native = NonNullable<ReturnType<typeof route.nativeStream>>['b'];
const stream = cpu && typeof (cpu as unknown as { cpuStreamOps?: unknown }).cpuStreamOps === 'function' ? route.nativeStream() : null;
const nat = stream?.b as Native;
const label =
  cpu && !stream
    ? process.env.WATTGRAD_CPU_KERNELS === 'js'
      ? ' [skipped: WATTGRAD_CPU_KERNELS=js]'
      : ' [skipped: the loaded addon has no streaming kernels (rebuild it: npm run build:native)]'
    : noCpuLabel;
const isas = cpu ? cpu.cpuInfo().supportedIsas : [];
const initial = cpu ? { isa: cpu.cpuInfo().isa, threads: cpu.cpuGetNumThreads() } : null;
afterAll(() => {
  if (cpu && initial) {
    cpu.cpuSelectIsa(initial.isa);
    cpu.cpuSetNumThreads(initial.threads);
  }
  route.setNativeStreamingAlwaysForTests(false);
});

const H = (a: F | Int32Array, dt: DT | 'int32'): JsHandle => new JsHandle(a, dt);
const arr = (dt: DT, n: number): F => (dt === 'float32' ? new Float32Array(n) : new Float64Array(n));
const poisoned = (dt: DT, n: number): F => arr(dt, n).fill(NaN);
/** uniform in [-s, s) */
function rand(dt: DT, n: number, r: () => number, s = 1): F {
  const a = arr(dt, n);
  for (let i = 0; i < n; i++) a[i] = 2 * s * r();
  return a;
}

/**
 * First element where |got - ref| > atol + rtol·|ref| (NaN must meet NaN, ±inf the same inf), or null.
 * float32 tolerances are a few ulp of the result (the js kernels compute in float64 and round once).
 */
function firstBad(got: F, ref: F, rtol: number, atol: number, n = ref.length): string | null {
  for (let i = 0; i < n; i++) {
    const g = got[i]!,
      e = ref[i]!;
    if (Number.isNaN(e) ? Number.isNaN(g) : g === e || Math.abs(g - e) <= atol + rtol * Math.abs(e)) continue;
    return `element ${i} of ${n}: got ${g}, js reference ${e}`;
  }
  return null;
}
const tol = (dt: DT, k = 1): [number, number] => (dt === 'float32' ? [8e-7 * k, 1e-7 * k] : [1e-13 * k, 1e-15 * k]);

function same(a: F, b: F): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

// ---- the per-family checks (each returns null or the first mismatch) ----------------------

function softmaxInputs(dt: DT, rows: number, cols: number, r: () => number, special: boolean): F {
  const x = rand(dt, rows * cols, r, 4);
  if (special) {
    for (let i = 0; i < x.length; i += 7) x[i] = -Infinity;
    for (let i = 3; i < x.length; i += 11) x[i] = x[i]! * 2500; // ±1e4
    if (rows > 2) for (let j = 0; j < cols; j++) x[cols + j] = -Infinity; // an all -inf row: NaN in both
  }
  return x;
}

function checkSoftmax(dt: DT, rows: number, cols: number, seed: number, special: boolean): string | null {
  const r = rng(seed);
  const x = softmaxInputs(dt, rows, cols, r, special);
  const n = rows * cols;
  for (const log of [false, true]) {
    const y = poisoned(dt, n),
      yr = poisoned(dt, n);
    nat.cpuSoftmax(x, y, rows, cols, log);
    jsSm.softmax(H(x, dt), H(yr, dt), rows, cols, log, dt);
    const [rt, at] = tol(dt, log ? 1 : 4);
    // log-softmax: absolute error ~ ulp of the inputs' magnitude (x - max - lse in the storage type)
    const bad = firstBad(y, yr, rt, log ? at * 4e4 : at);
    if (bad) return `softmax(log=${log}) forward: ${bad}`;
    // backward from the reference y (finite rows only: an all -inf row is NaN in both)
    const dy = rand(dt, n, r),
      dx = poisoned(dt, n),
      dxr = poisoned(dt, n);
    nat.cpuSoftmaxBackward(yr, dy, dx, rows, cols, log);
    jsSm.softmaxBackward(H(yr, dt), H(dy, dt), H(dxr, dt), rows, cols, log, dt);
    const bb = firstBad(dx, dxr, rt * 4, at * 8 * Math.max(1, Math.sqrt(cols)));
    if (bb) return `softmax(log=${log}) backward: ${bb}`;
  }
  return null;
}

function checkXent(dt: DT, rows: number, cols: number, seed: number, ls: number): string | null {
  const r = rng(seed);
  const x = rand(dt, rows * cols, r, 5);
  const ignore = -100;
  const t = new Int32Array(rows);
  for (let i = 0; i < rows; i++) t[i] = i % 5 === 3 ? ignore : Math.floor((r() + 0.5) * cols) % cols;
  const loss = poisoned(dt, rows),
    lr = poisoned(dt, rows);
  nat.cpuCrossEntropy(x, t, loss, rows, cols, ls, ignore);
  jsSm.crossEntropy(H(x, dt), H(t, 'int32'), H(lr, dt), rows, cols, ls, ignore, dt);
  const [rt, at] = tol(dt, 4);
  const b1 = firstBad(loss, lr, rt, at * 10);
  if (b1) return `crossEntropy(ε=${ls}) forward: ${b1}`;
  const dl = rand(dt, rows, r),
    dx = poisoned(dt, rows * cols),
    dxr = poisoned(dt, rows * cols);
  nat.cpuCrossEntropyBackward(x, t, dl, dx, rows, cols, ls, ignore);
  jsSm.crossEntropyBackward(H(x, dt), H(t, 'int32'), H(dl, dt), H(dxr, dt), rows, cols, ls, ignore, dt);
  const b2 = firstBad(dx, dxr, rt, at);
  return b2 && `crossEntropy(ε=${ls}) backward: ${b2}`;
}

function checkLayerNorm(dt: DT, rows: number, cols: number, seed: number, affine: boolean): string | null {
  const r = rng(seed);
  const x = rand(dt, rows * cols, r, 3);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + 100; // an offset: the mean must not cancel badly
  const g = affine ? rand(dt, cols, r) : null,
    b = affine ? rand(dt, cols, r) : null;
  const n = rows * cols;
  const y = poisoned(dt, n),
    yr = poisoned(dt, n),
    m = poisoned(dt, rows),
    mr = poisoned(dt, rows),
    s = poisoned(dt, rows),
    sr = poisoned(dt, rows);
  nat.cpuLayerNorm(x, g, b, y, m, s, rows, cols, 1e-5);
  jsNorm.layerNorm(H(x, dt), g && H(g, dt), b && H(b, dt), H(yr, dt), H(mr, dt), H(sr, dt), rows, cols, 1e-5, dt);
  const [rt, at] = tol(dt, 4);
  const b1 = firstBad(y, yr, rt, at) ?? firstBad(m, mr, rt, at) ?? firstBad(s, sr, rt, at);
  if (b1) return `layerNorm(affine=${affine}) forward: ${b1}`;
  const dy = rand(dt, n, r),
    dx = poisoned(dt, n),
    dxr = poisoned(dt, n);
  const dg = affine ? poisoned(dt, cols) : null,
    dgr = affine ? poisoned(dt, cols) : null,
    db = affine ? poisoned(dt, cols) : null,
    dbr = affine ? poisoned(dt, cols) : null;
  nat.cpuLayerNormBackward(dy, x, g, mr, sr, dx, dg, db, rows, cols);
  jsNorm.layerNormBackward(
    H(dy, dt),
    H(x, dt),
    g && H(g, dt),
    H(mr, dt),
    H(sr, dt),
    H(dxr, dt),
    dgr && H(dgr, dt),
    dbr && H(dbr, dt),
    rows,
    cols,
    dt,
  );
  const b2 =
    firstBad(dx, dxr, rt * 4, at * 4) ??
    (dg && firstBad(dg, dgr!, rt * 4, at * Math.sqrt(rows))) ??
    (db && firstBad(db, dbr!, rt * 4, at * Math.sqrt(rows)));
  return b2 && `layerNorm(affine=${affine}) backward: ${b2}`;
}

function checkBatchNorm(
  dt: DT,
  n: number,
  c: number,
  hw: number,
  seed: number,
  training: boolean,
  stats: boolean,
  affine: boolean,
): string | null {
  const r = rng(seed);
  const N = n * c * hw;
  const x = rand(dt, N, r, 2);
  const g = affine ? rand(dt, c, r) : null,
    b = affine ? rand(dt, c, r) : null;
  const rm0 = stats ? rand(dt, c, r) : null,
    rv0 = stats ? rand(dt, c, r).map((v) => 1 + Math.abs(v)) : null;
  const rm = rm0 && rm0.slice(),
    rv = rv0 && rv0.slice(),
    rmr = rm0 && rm0.slice(),
    rvr = rv0 && rv0.slice();
  const y = poisoned(dt, N),
    yr = poisoned(dt, N),
    sm = poisoned(dt, c),
    smr = poisoned(dt, c),
    si = poisoned(dt, c),
    sir = poisoned(dt, c);
  nat.cpuBatchNorm(x, g, b, rm, rv, y, sm, si, n, c, hw, training, 0.1, 1e-5);
  const h = (a: F | null): JsHandle | null => a && H(a, dt);
  jsNorm.batchNorm(H(x, dt), h(g), h(b), h(rmr), h(rvr), H(yr, dt), H(smr, dt), H(sir, dt), n, c, hw, training, 0.1, 1e-5, dt);
  const [rt, at] = tol(dt, 4);
  const what = `batchNorm(training=${training}, stats=${stats}, affine=${affine})`;
  // the batch mean and variance sum n·hw values in another order than the js loop: y = (x - mean)·invstd·g + b
  // carries that rounding (~sqrt(n·hw) ulps of the mean) also where it cancels to nearly 0, so atol grows with sqrt(n·hw)
  const sq = Math.sqrt(n * hw);
  const b1 =
    firstBad(y, yr, rt, at * sq) ??
    firstBad(sm, smr, rt, at) ??
    firstBad(si, sir, rt, at) ??
    (rm && firstBad(rm, rmr!, rt, at)) ??
    (rv && firstBad(rv, rvr!, rt, at));
  if (b1) return `${what} forward: ${b1}`;
  const dy = rand(dt, N, r),
    dx = poisoned(dt, N),
    dxr = poisoned(dt, N);
  const dg = affine ? poisoned(dt, c) : null,
    dgr = affine ? poisoned(dt, c) : null,
    db = affine ? poisoned(dt, c) : null,
    dbr = affine ? poisoned(dt, c) : null;
  nat.cpuBatchNormBackward(dy, x, g, smr, sir, dx, dg, db, n, c, hw, training);
  jsNorm.batchNormBackward(H(dy, dt), H(x, dt), h(g), H(smr, dt), H(sir, dt), H(dxr, dt), h(dgr), h(dbr), n, c, hw, training, dt);
  const b2 =
    firstBad(dx, dxr, rt * 8, at * 8 * sq) ?? (dg && firstBad(dg, dgr!, rt * 4, at * sq)) ?? (db && firstBad(db, dbr!, rt * 4, at * sq));
  return b2 && `${what} backward: ${b2}`;
}

const ACTS: Activation[] = ['none', 'relu', 'gelu', 'tanh', 'sigmoid'];
function checkBiasAct(dt: DT, outer: number, c: number, inner: number, seed: number): string | null {
  const r = rng(seed);
  const N = outer * c * inner;
  const x = rand(dt, N, r, 4),
    bias = rand(dt, c, r);
  for (const act of ACTS) {
    const o = poisoned(dt, N),
      or = poisoned(dt, N);
    nat.cpuAddBiasAct(x, bias, o, outer, c, inner, stream!.act.get(act)!);
    jsEw.addBiasAct(H(x, dt), H(bias, dt), H(or, dt), outer, c, inner, act, dt);
    const [rt, at] = tol(dt, 2);
    // gelu: the js erf (math.ts, ~1e-15 relative) leaves 1 + erf(x/√2) with ~1e-15 absolute error
    // where it cancels (x < -3); libm's erf is the native one
    const bad = firstBad(o, or, rt, act === 'gelu' && dt === 'float64' ? 1e-14 : at);
    if (bad) return `addBiasAct(${act}) (${outer}, ${c}, ${inner}): ${bad}`;
  }
  return null;
}

/** Every unary op with parameters; a = 0.1 / 0.3 are not float32-exact (the float64 lanes path). */
const UNARY: [UnaryOp, number, number][] = [
  ['neg', 0, 0],
  ['abs', 0, 0],
  ['sign', 0, 0],
  ['exp', 0, 0],
  ['expm1', 0, 0],
  ['log', 0, 0],
  ['log1p', 0, 0],
  ['sqrt', 0, 0],
  ['rsqrt', 0, 0],
  ['square', 0, 0],
  ['reciprocal', 0, 0],
  ['sin', 0, 0],
  ['cos', 0, 0],
  ['floor', 0, 0],
  ['ceil', 0, 0],
  ['round', 0, 0],
  ['tanh', 0, 0],
  ['sigmoid', 0, 0],
  ['relu', 0, 0],
  ['gelu', 0, 0],
  ['gelu_tanh', 0, 0],
  ['silu', 0, 0],
  ['softplus', 0, 0],
  ['leaky_relu', 0.01, 0],
  ['leaky_relu', 0.25, 0],
  ['elu', 1, 0],
  ['clamp', -0.5, 0.75],
  ['clamp', -0.1, 0.3],
  ['clamp', -Infinity, 0.5],
  ['add_scalar', 0.1, 0],
  ['add_scalar', 2, 0],
  ['mul_scalar', 0.3, 0],
  ['mul_scalar', -1.5, 0],
  ['rsub_scalar', 1, 0],
  ['rdiv_scalar', 0.7, 0],
  ['pow_scalar', 2.5, 0],
  ['rpow_scalar', 1.7, 0],
  ['gt_scalar', 0.1, 0],
  ['lt_scalar', 0, 0],
  ['ge_scalar', 0.5, 0],
  ['le_scalar', -0.2, 0],
  ['eq_scalar', 0.5, 0],
  ['ne_scalar', 0.5, 0],
];

function unaryInputs(dt: DT, n: number, r: () => number): F {
  const x = rand(dt, n, r, 3);
  // specials and exact values the comparisons and rounding care about
  const sp = [0, -0, 0.5, -0.5, 2.5, NaN, Infinity, -Infinity, 0.1, 1e-30, 100, -100];
  for (let i = 0; i < sp.length && i * 13 < n; i++) x[i * 13] = sp[i]!;
  return x;
}

function checkUnary(dt: DT, n: number, seed: number): string | null {
  const r = rng(seed);
  const x = unaryInputs(dt, n, r);
  for (const [op, a, b] of UNARY) {
    const o = poisoned(dt, n),
      or = poisoned(dt, n);
    nat.cpuUnary(stream!.unary.get(op)!, x, o, n, a, b);
    jsEw.unary(op, H(x, dt), H(or, dt), n, dt, a, b);
    // exp/tanh/sigmoid: the js kernels use 2-ulp fast versions (math.ts), the native ≤ 1-ulp SIMD ones
    const [rt, at] = tol(dt, 4);
    const bad = firstBad(o, or, rt, at);
    if (bad) return `unary ${op}(a=${a}, b=${b}): ${bad}`;
  }
  return null;
}

const UNARY_GRAD: [UnaryGradOp, UnaryOp, number, number][] = [
  ['relu', 'relu', 0, 0],
  ['gelu', 'gelu', 0, 0],
  ['gelu_tanh', 'gelu_tanh', 0, 0],
  ['silu', 'silu', 0, 0],
  ['tanh', 'tanh', 0, 0],
  ['sigmoid', 'sigmoid', 0, 0],
  ['softplus', 'softplus', 0, 0],
  ['leaky_relu', 'leaky_relu', 0.01, 0],
  ['leaky_relu', 'leaky_relu', 0.5, 0],
  ['elu', 'elu', 1.5, 0],
  ['clamp', 'clamp', -0.5, 0.5],
  ['clamp', 'clamp', -0.3, 0.1],
  ['abs', 'abs', 0, 0],
];

function checkUnaryGrad(dt: DT, n: number, seed: number): string | null {
  const r = rng(seed);
  const x = unaryInputs(dt, n, r);
  const dy = rand(dt, n, r);
  for (const [op, fwd, a, b] of UNARY_GRAD) {
    const y = arr(dt, n);
    jsEw.unary(fwd, H(x, dt), H(y, dt), n, dt, a, b);
    const o = poisoned(dt, n),
      or = poisoned(dt, n);
    nat.cpuUnaryGrad(stream!.unaryGrad.get(op)!, x, y, dy, o, n, a, b);
    jsEw.unaryGrad(op, H(x, dt), H(y, dt), H(dy, dt), H(or, dt), n, dt, a, b);
    const [rt, at] = tol(dt, 4);
    const bad = firstBad(o, or, rt, at);
    if (bad) return `unaryGrad ${op}(a=${a}, b=${b}): ${bad}`;
  }
  return null;
}

const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
/** [a shape, b shape] pairs broadcasting like torch (right-aligned). */
const BCAST: [number[], number[]][] = [
  [[], []],
  [[1], [37]],
  [[37], [37]],
  [[5, 33], [33]],
  [
    [5, 33],
    [5, 1],
  ],
  [
    [5, 1],
    [1, 33],
  ],
  [
    [3, 1, 17],
    [4, 17],
  ],
  [
    [2, 3, 4, 5],
    [3, 1, 5],
  ],
  [
    [7, 1, 1],
    [1, 1, 9],
  ],
  [[1, 70000], [70000]],
  [[300, 257], [257]],
  [
    [300, 257],
    [300, 1],
  ],
  [
    [2, 1, 40000],
    [2, 3, 1],
  ],
];

function bcast(as: number[], bs: number[]): { out: number[]; sa: number[]; sb: number[] } {
  const nd = Math.max(as.length, bs.length);
  const A = [...new Array<number>(nd - as.length).fill(1), ...as];
  const B = [...new Array<number>(nd - bs.length).fill(1), ...bs];
  const out = A.map((a, i) => Math.max(a, B[i]!));
  const strides = (s: number[]): number[] => {
    const st = new Array<number>(nd);
    let acc = 1;
    for (let d = nd - 1; d >= 0; d--) {
      st[d] = s[d] === 1 ? 0 : acc;
      acc *= s[d]!;
    }
    return st;
  };
  return { out, sa: strides(A), sb: strides(B) };
}

function checkBinary(dt: DT, as: number[], bs: number[], seed: number, ops: BinaryOp[] = BINARY): string | null {
  const r = rng(seed);
  const { out, sa, sb } = bcast(as, bs);
  const na = as.reduce((p, s) => p * s, 1),
    nb = bs.reduce((p, s) => p * s, 1),
    n = out.reduce((p, s) => p * s, 1);
  const A = rand(dt, na, r, 2),
    B = rand(dt, nb, r, 2);
  // ties, signed zeros and NaN for maximum/minimum/comparisons
  for (let i = 0; i < Math.min(na, nb); i += 9) B[i] = A[i]!;
  if (na > 3) [A[1], A[2], A[3]] = [-0, NaN, 0];
  if (nb > 3) [B[1], B[2], B[3]] = [0, 1, -0];
  const dims = new Int32Array([...out, ...sa, ...sb]);
  for (const op of ops) {
    const o = poisoned(dt, n),
      or = poisoned(dt, n);
    nat.cpuBinary(stream!.binary.get(op)!, A, B, o, out.length, dims);
    jsEw.binary(op, H(A, dt), H(B, dt), H(or, dt), out, sa, sb, dt);
    // +, -, ·, /, max, min and comparisons are exact in both (float32: one rounding); pow is libm's
    const bad = op === 'pow' ? firstBad(o, or, ...tol(dt, 2)) : same(o, or) ? null : (firstBad(o, or, 0, 0) ?? 'signed zero differs');
    if (bad) return `binary ${op} [${as}] with [${bs}]: ${bad}`;
  }
  return null;
}

const REDUCE: ReduceOp[] = ['sum', 'max', 'min', 'prod'];
const RSHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 0, 1],
  [3, 17, 1],
  [1, 70001, 1],
  [2, 40000, 1],
  [5, 33, 7],
  [4, 9, 31],
  [1, 300, 257],
  [300, 257, 1],
  [2, 3, 40000],
  [7, 0, 3],
];

function reduceInputs(dt: DT, N: number, r: () => number, op: ReduceOp): F {
  const x = rand(dt, N, r, 2);
  if (op === 'prod') for (let i = 0; i < N; i++) x[i] = 1 + x[i]! / 64; // no underflow in long products
  return x;
}

function checkReduce(dt: DT, [outer, rr, inner]: [number, number, number], seed: number): string | null {
  const r = rng(seed);
  for (const op of REDUCE) {
    if (rr === 0 && op !== 'sum' && op !== 'prod') continue;
    const x = reduceInputs(dt, outer * rr * inner, r, op);
    // ±0 ties (the js kernel keeps the first zero it meets) and a NaN in one run
    if (op === 'max' || op === 'min') {
      for (let i = 0; i < x.length; i++) x[i] = op === 'max' ? -Math.abs(x[i]!) : Math.abs(x[i]!);
      if (x.length > 6) [x[2], x[5]] = [-0, 0];
      if (x.length > 40) x[x.length - 3] = NaN;
    }
    const o = poisoned(dt, outer * inner),
      or = poisoned(dt, outer * inner);
    nat.cpuReduce(stream!.reduce.get(op)!, x, o, outer, rr, inner);
    jsRed.reduce(op, H(x, dt), H(or, dt), outer, rr, inner, dt);
    const [rt, at] = tol(dt, 2);
    const bad =
      op === 'max' || op === 'min'
        ? same(o, or)
          ? null
          : (firstBad(o, or, 0, 0) ?? 'signed zero differs')
        : firstBad(o, or, rt * 4, at * Math.sqrt(rr));
    if (bad) return `reduce ${op} (${outer}, ${rr}, ${inner}): ${bad}`;
  }
  return null;
}

// ---- the suites ----------------------------------------------------------------------------

const SM_SHAPES: [number, number][] = [
  [1, 1],
  [4, 1],
  [1, 17],
  [5, 33],
  [7, 100],
  [3, 4099],
  [1, 70000],
  [300, 257],
];

describe.skipIf(!stream)(`native CPU streaming kernels vs the js kernels${label}`, () => {
  for (const isa of isas) {
    for (const dt of ['float32', 'float64'] as const) {
      describe(`${isa} ${dt}`, () => {
        it('softmax / log-softmax forward and backward: odd widths, 1-element rows, long rows, -inf and ±1e4 inputs', () => {
          expect(cpu!.cpuSelectIsa(isa)).toBe(true);
          let seed = SEED;
          for (const [rows, cols] of SM_SHAPES)
            for (const special of [false, true]) expect(checkSoftmax(dt, rows, cols, seed++, special), `seed ${seed - 1}`).toBeNull();
        });

        it('cross-entropy forward and backward, with label smoothing and ignored rows', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 100;
          for (const [rows, cols] of [
            [1, 1],
            [6, 10],
            [33, 17],
            [4, 5000],
            [257, 300],
          ] as const)
            for (const ls of [0, 0.1]) expect(checkXent(dt, rows, cols, seed++, ls), `seed ${seed - 1}`).toBeNull();
        });

        it('layer norm forward and backward, with and without gamma/beta', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 200;
          for (const [rows, cols] of [
            [1, 1],
            [3, 7],
            [5, 33],
            [2, 4097],
            [300, 257],
            [1000, 70],
          ] as const)
            for (const affine of [false, true]) expect(checkLayerNorm(dt, rows, cols, seed++, affine), `seed ${seed - 1}`).toBeNull();
        });

        it('batch norm forward and backward: training and eval, with and without running stats and gamma/beta', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 300;
          for (const [n, c, hw] of [
            [1, 1, 1],
            [2, 3, 5],
            [4, 7, 33],
            [8, 3, 4100],
            [2, 5, 1],
          ] as const)
            for (const training of [true, false])
              for (const stats of [true, false])
                expect(checkBatchNorm(dt, n, c, hw, seed++, training, stats, (seed & 1) === 0), `seed ${seed - 1}`).toBeNull();
        });

        it('bias + activation (every activation) for linear (inner 1) and conv (inner > 1) layouts', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 400;
          for (const [o, c, i] of [
            [1, 1, 1],
            [3, 37, 1],
            [32, 256, 1],
            [300, 257, 1],
            [2, 5, 33],
            [4, 16, 4097],
          ] as const)
            expect(checkBiasAct(dt, o, c, i, seed++), `seed ${seed - 1}`).toBeNull();
        });

        it('unary: every op, specials (±0, NaN, ±inf), float32-inexact scalars, tails and threaded lengths', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 500;
          for (const n of [1, 7, 37, 1000, 70001]) expect(checkUnary(dt, n, seed++), `seed ${seed - 1}`).toBeNull();
        });

        it('unary grad: every op', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 600;
          for (const n of [1, 13, 1000, 70001]) expect(checkUnaryGrad(dt, n, seed++), `seed ${seed - 1}`).toBeNull();
        });

        it('binary: every op over broadcasting shapes (scalars, rows, columns, middle axes, long rows)', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 700;
          for (const [as, bs] of BCAST) {
            expect(checkBinary(dt, as, bs, seed++), `seed ${seed - 1}`).toBeNull();
            expect(checkBinary(dt, bs, as, seed++), `seed ${seed - 1} (swapped)`).toBeNull();
          }
        });

        it('reductions: sum / max / min / prod over inner 1 (short, long and chunked runs) and inner > 1', () => {
          cpu!.cpuSelectIsa(isa);
          let seed = SEED + 800;
          for (const s of RSHAPES) expect(checkReduce(dt, s, seed++), `seed ${seed - 1}`).toBeNull();
        });
      });
    }
  }

  it('results are bitwise identical for 1 and 2 threads and run to run (reductions, norms, softmax, elementwise)', () => {
    cpu!.cpuSelectIsa(initial!.isa);
    const r = rng(SEED + 900);
    const dt = 'float32';
    const runs = (): F[] => {
      const out: F[] = [];
      const x = xs;
      for (const [outer, rr, inner] of [
        [1, 200001, 1],
        [3, 70000, 1],
        [2, 300, 257],
        [64, 2000, 1],
      ] as const) {
        for (const op of REDUCE) {
          const o = arr(dt, outer * inner);
          nat.cpuReduce(stream!.reduce.get(op)!, x.subarray(0, outer * rr * inner), o, outer, rr, inner);
          out.push(o);
        }
      }
      const rows = 500,
        cols = 300;
      const y = arr(dt, rows * cols),
        m = arr(dt, rows),
        s = arr(dt, rows),
        dx = arr(dt, rows * cols),
        dg = arr(dt, cols),
        db = arr(dt, cols);
      nat.cpuLayerNorm(x.subarray(0, rows * cols), g, null, y, m, s, rows, cols, 1e-5);
      nat.cpuLayerNormBackward(x.subarray(1, 1 + rows * cols), x.subarray(0, rows * cols), g, m, s, dx, dg, db, rows, cols);
      const sm = arr(dt, rows * cols);
      nat.cpuSoftmax(x.subarray(0, rows * cols), sm, rows, cols, false);
      const bn = arr(dt, rows * cols),
        bm = arr(dt, 30),
        bi = arr(dt, 30);
      nat.cpuBatchNorm(x.subarray(0, rows * cols), null, null, null, null, bn, bm, bi, 50, 30, 100, true, 0.1, 1e-5);
      const u = arr(dt, 200001);
      nat.cpuUnary(stream!.unary.get('tanh')!, x.subarray(0, 200001), u, 200001, 0, 0);
      out.push(y, m, s, dx, dg, db, sm, bn, bm, bi, u);
      return out;
    };
    const xs = rand(dt, 600000, r, 3);
    const g = rand(dt, 300, r);
    cpu!.cpuSetNumThreads(1);
    const one = runs();
    cpu!.cpuSetNumThreads(2);
    const two = runs();
    const again = runs();
    cpu!.cpuSetNumThreads(initial!.threads);
    for (let i = 0; i < one.length; i++) {
      expect(same(one[i]!, two[i]!), `output ${i}: 1 vs 2 threads`).toBe(true);
      expect(same(two[i]!, again[i]!), `output ${i}: run to run`).toBe(true);
    }
  });

  it('exp (SIMD) is within 1 ulp of Math.exp in float32 and float64, subnormal results and overflow included', () => {
    const ulpF32 = (a: number, b: number): number => {
      if (a === b) return 0;
      const f = new Float32Array([a, b]);
      const i = new Int32Array(f.buffer);
      return Math.abs(i[0]! - i[1]!);
    };
    const ulpF64 = (a: number, b: number): number => {
      if (a === b) return 0;
      const f = new Float64Array([a, b]);
      const i = new BigInt64Array(f.buffer);
      return Number(i[0]! > i[1]! ? i[0]! - i[1]! : i[1]! - i[0]!);
    };
    const n = 400000;
    const xf = new Float32Array(n),
      xd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xf[i] = -103.9 + (192.6 * i) / n; // [-103.9, 88.7]: subnormal results below -87.3
      xd[i] = -745 + (1454.7 * i) / n; // [-745, 709.7]
    }
    for (const isa of isas) {
      cpu!.cpuSelectIsa(isa);
      const yf = new Float32Array(n),
        yd = new Float64Array(n);
      nat.cpuUnary(stream!.unary.get('exp')!, xf, yf, n, 0, 0);
      nat.cpuUnary(stream!.unary.get('exp')!, xd, yd, n, 0, 0);
      let mf = 0,
        md = 0;
      for (let i = 0; i < n; i++) {
        mf = Math.max(mf, ulpF32(yf[i]!, Math.fround(Math.exp(xf[i]!))));
        md = Math.max(md, ulpF64(yd[i]!, Math.exp(xd[i]!)));
      }
      expect(mf, `${isa} float32 max ulp`).toBeLessThanOrEqual(1);
      expect(md, `${isa} float64 max ulp`).toBeLessThanOrEqual(1);
      const sp = new Float32Array([Infinity, -Infinity, NaN, 89, -104, 0, -0]);
      const ys = new Float32Array(sp.length);
      nat.cpuUnary(stream!.unary.get('exp')!, sp, ys, sp.length, 0, 0);
      expect(Array.from(ys)).toEqual([Infinity, 0, NaN, Infinity, 0, 1, 1]);
    }
    cpu!.cpuSelectIsa(initial!.isa);
  });

  it('WATTGRAD_CPU_ISA picks each ISA at load for these kernels too (child process), matching the reference', () => {
    const rows = 37,
      cols = 1001;
    const x = softmaxInputs('float32', rows, cols, rng(SEED + 1000), true);
    const ref = poisoned('float32', rows * cols);
    jsSm.softmax(H(x, 'float32'), H(ref, 'float32'), rows, cols, false, 'float32');
    const sref = poisoned('float32', rows);
    const xr = rand('float32', rows * cols, rng(SEED + 1001));
    jsRed.reduce('sum', H(xr, 'float32'), H(sref, 'float32'), rows, cols, 1, 'float32');
    const script = `
      const b = require(${JSON.stringify(addonPath)});
      const { x, xr } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const y = new Float32Array(${rows * cols}).fill(NaN), s = new Float32Array(${rows}).fill(NaN);
      b.cpuSoftmax(Float32Array.from(x), y, ${rows}, ${cols}, false);
      b.cpuReduce(b.cpuStreamOps().reduce.indexOf('sum'), Float32Array.from(xr), s, ${rows}, ${cols}, 1);
      process.stdout.write(JSON.stringify({ isa: b.cpuInfo().isa, y: Array.from(y, String), s: Array.from(s) }));`;
    const input = JSON.stringify({ x: Array.from(x, (v) => (Number.isFinite(v) ? v : -1e300)), xr: Array.from(xr) });
    for (const isa of isas) {
      const out = JSON.parse(
        execFileSync(process.execPath, ['-e', script], {
          input,
          env: { ...process.env, WATTGRAD_CPU_ISA: isa },
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        }),
      ) as { isa: string; y: string[]; s: number[] };
      expect(out.isa).toBe(isa);
      expect(firstBad(Float32Array.from(out.y.map(Number)), ref, 4e-6, 4e-7), isa).toBeNull();
      expect(firstBad(Float32Array.from(out.s), sref, 1e-6, 1e-6), isa).toBeNull();
    }
  });

  it('argument checks name the entry point and the argument', () => {
    const f = new Float32Array(12),
      d = new Float64Array(12);
    expect(() => nat.cpuSoftmax(f, d as unknown as Float32Array, 3, 4, false)).toThrow(/cpuSoftmax: .*same dtype/);
    expect(() => nat.cpuSoftmax(f, new Float32Array(11), 3, 4, false)).toThrow(/cpuSoftmax: y holds 11 elements, needs 12/);
    expect(() => nat.cpuSoftmax(new Int32Array(12) as unknown as Float32Array, f, 3, 4, false)).toThrow(TypeError);
    expect(() => nat.cpuCrossEntropy(f, new Int32Array([0, 4, 1]), new Float32Array(3), 3, 4, 0, -100)).toThrow(
      /cpuCrossEntropy: target 4 out of range \[0, 4\) at row 1/,
    );
    expect(() => nat.cpuUnary(999, f, f, 12, 0, 0)).toThrow(/cpuUnary: unknown unary op code/);
    expect(() => nat.cpuReduce(99, f, f, 1, 12, 1)).toThrow(/cpuReduce: unknown reduce op code/);
    expect(() => nat.cpuBinary(0, f, f, f, 2, new Int32Array([3, 5, 5, 1, 5, 1]))).toThrow(/cpuBinary: dims .* reach past/);
    expect(() => nat.cpuBinary(0, f, f, f, 17, new Int32Array(51))).toThrow(/cpuBinary: at most 16 dimensions/);
  });

  it('the js backend routes through the native kernels (same results) and keeps js errors and int32 in JS', () => {
    route.setNativeStreamingAlwaysForTests(true);
    try {
      const r = rng(SEED + 1100);
      const dt = 'float32';
      const x = rand(dt, 6 * 10, r, 3);
      const y = poisoned(dt, 60),
        yr = poisoned(dt, 60);
      route.softmax(H(x, dt), H(y, dt), 6, 10, true, dt);
      jsSm.softmax(H(x, dt), H(yr, dt), 6, 10, true, dt);
      expect(firstBad(y, yr, 1e-6, 1e-6)).toBeNull();
      // a bad target: the js kernel's own RangeError
      expect(() =>
        route.crossEntropy(H(x, dt), H(new Int32Array([0, 1, 2, 3, 4, 10]), 'int32'), H(arr(dt, 6), dt), 6, 10, 0, -100, dt),
      ).toThrow(/crossEntropy: target 10 out of range \[0, 10\) at row 5/);
      // int32 binary keeps the js integer semantics (imul wraps)
      const a = new Int32Array([65536, 7]),
        b = new Int32Array([65536, -3]),
        o = new Int32Array(2);
      route.binary('mul', H(a, 'int32'), H(b, 'int32'), H(o, 'int32'), [2], [1], [1], 'int32');
      expect(Array.from(o)).toEqual([0, -21]);
      const s = poisoned(dt, 6),
        sr = poisoned(dt, 6);
      route.reduce('max', H(x, dt), H(s, dt), 6, 10, 1, dt);
      jsRed.reduce('max', H(x, dt), H(sr, dt), 6, 10, 1, dt);
      expect(same(s, sr)).toBe(true);
    } finally {
      route.setNativeStreamingAlwaysForTests(false);
    }
  });

  it('float64 gradchecks pass with every streaming kernel native (thresholds off)', () => {
    // count the native calls (the binding's functions wrapped for this test)
    const counted = [
      'cpuSoftmax',
      'cpuSoftmaxBackward',
      'cpuCrossEntropy',
      'cpuCrossEntropyBackward',
      'cpuLayerNorm',
      'cpuLayerNormBackward',
      'cpuBatchNorm',
      'cpuBatchNormBackward',
      'cpuAddBiasAct',
      'cpuReduce',
      'cpuBinary',
      'cpuUnary',
      'cpuUnaryGrad',
    ];
    const b = nat as unknown as Record<string, (...a: unknown[]) => unknown>;
    const saved: Record<string, unknown> = {};
    const calls: Record<string, number> = {};
    for (const k of counted) {
      const f = b[k]!;
      saved[k] = f;
      calls[k] = 0;
      b[k] = (...a: unknown[]) => {
        calls[k]!++;
        return f(...a);
      };
    }
    route.setNativeStreamingAlwaysForTests(true);
    try {
      tidy(() => {
        wg.manualSeed(7);
        const o = { dtype: 'float64' as const };
        const R = (shape: number[]): Tensor => tidy(() => wg.randn(shape, o)).requiresGrad_(true);
        const I = (v: number[]): Tensor => wg.tensor(v, { dtype: 'int32' });
        const fns: [(...xs: Tensor[]) => Tensor, Tensor[]][] = [
          [(a) => a.softmax(1), [R([3, 5])]],
          [(a) => a.logSoftmax(-1), [R([2, 3, 4])]],
          [(a) => wg.crossEntropy(a, I([2, -100, 1])), [R([3, 4])]],
          [(a) => wg.crossEntropy(a, I([2, 0, 3]), { labelSmoothing: 0.2, reduction: 'sum' }), [R([3, 4])]],
          [(x, w, b) => wg.layerNorm(x, 4, w, b), [R([3, 4]), R([4]), R([4])]],
          [(x, w, b) => wg.batchNorm(x, null, null, w, b, { training: true }), [R([2, 3, 2, 2]), R([3]), R([3])]],
          [(x, w, b) => wg.linear(x, w, b).relu(), [R([2, 3]), R([4, 3]), R([4])]],
          [(x, w, b) => wg.linear(x, w, b).tanh(), [R([2, 3]), R([4, 3]), R([4])]],
          [(a) => a.sum(1), [R([3, 4, 2])]],
          [(a) => a.max(1), [R([3, 5])]],
          [(a) => a.mean([0, 2]), [R([2, 3, 4])]],
          [(a, b) => a.mul(b).div(b.abs().add(1)), [R([3, 4]), R([4])]],
          [(a, b) => wg.maximum(a, b), [R([2, 3]), R([3, 1, 3])]],
          [(a) => a.sigmoid().mul(a.gelu()), [R([2, 5])]],
        ];
        for (const [f, xs] of fns) expect(gradcheck(f, xs).checked).toBeGreaterThan(0);
      });
      // and they did run natively
      for (const k of counted) expect(calls[k], k).toBeGreaterThan(0);
    } finally {
      route.setNativeStreamingAlwaysForTests(false);
      for (const k of counted) (nat as unknown as Record<string, unknown>)[k] = saved[k];
    }
  });
});
