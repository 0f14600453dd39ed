// Backend kernels against PyTorch: every kernel-level fixture in test/fixtures/*.json (written by
// test/fixtures/make_fixtures.py, float64 CPU torch) is run through the backend kernels directly.
//
// - js backend: float64, rtol 1e-9 (the fixtures carry 12 significant digits).
// - js backend in float32 too, rtol 2e-4: the float32 path and the tolerance the cuda run uses.
// - cuda backend: the same cases in float32, rtol 2e-4; skipped when the addon or a GPU is missing,
//   a failure instead when WATTGRAD_REQUIRE_CUDA=1.
// Every output is poisoned (NaN, or -7 for int32) before the kernel runs, and every case checks
// that the backend's allocated bytes are back where they started after freeing.
//
// Tolerance per element: |got - want| <= rtol·|want| + rtol·max(1e-3, max|want|) (see compareClose).
// The op-level fixtures (nll/bce/mse reductions, full nn.LSTM modules, layer conv with bias) are
// for the nn tests; the parts of them that are one kernel are checked here too.

import { afterAll, describe, expect, it } from 'vitest';
import type {
  AdagradHyper,
  AdamHyper,
  Backend,
  Conv2dParams,
  Handle,
  Pool2dParams,
  RmspropHyper,
  SgdHyper,
  UnaryGradOp,
  UnaryOp,
} from '../../lib/backend/kernels.js';
import type { DType, HostDType, TypedArray } from '../../lib/dtype.js';
import { compareClose, compareExact, loadFixture, numel, tensorOf, toTyped, type FixtureTensor, type PoolCase } from '../util/fixtures.js';

// ---- backends under test ---------------------------------------------------------------------

interface Target {
  label: string;
  dtype: Extract<HostDType, 'float32' | 'float64'>;
  rtol: number;
  backend: Backend | null;
  /** why the backend is absent */
  reason: string;
  /** absent is a failure (js always; cuda with WATTGRAD_REQUIRE_CUDA=1) rather than a skip */
  required: boolean;
}

// Module paths in variables: these files are written concurrently, and a missing one must be a
// clear test failure/skip, not a type error in this file.
const JS_BACKEND = '../../lib/backend/js/index.js';
const CUDA_BACKEND = '../../lib/backend/cuda/index.js';
const NATIVE = '../../lib/native.js';

async function jsTarget(): Promise<Target> {
  const t: Target = { label: 'js', dtype: 'float64', rtol: 1e-9, backend: null, reason: '', required: true };
  try {
    const mod = (await import(JS_BACKEND)) as { createJsBackend?: () => Backend };
    if (typeof mod.createJsBackend !== 'function') throw new Error(`${JS_BACKEND} has no createJsBackend export`);
    t.backend = mod.createJsBackend();
  } catch (e) {
    t.reason = `js backend unavailable: ${(e as Error).message}`;
  }
  return t;
}

async function cudaTarget(): Promise<Target> {
  const required = process.env['WATTGRAD_REQUIRE_CUDA'] === '1';
  const t: Target = { label: 'cuda', dtype: 'float32', rtol: 2e-4, backend: null, reason: '', required };
  try {
    // loadNative() -> { binding, error }; cudaAvailability(binding) -> { available, reason };
    // createCudaBackend(binding, deviceIndex) -> Backend (the shapes lib/backend/cuda-loader.ts uses).
    type Availability = { available: boolean; reason?: string | null };
    const native = (await import(NATIVE)) as { loadNative?: () => { binding?: unknown; error?: string | null } };
    const cuda = (await import(CUDA_BACKEND)) as {
      createCudaBackend?: (binding: unknown, device: number) => Backend;
      cudaAvailability?: (binding: unknown) => Availability;
    };
    if (typeof native.loadNative !== 'function') throw new Error(`${NATIVE} has no loadNative export`);
    if (typeof cuda.createCudaBackend !== 'function') throw new Error(`${CUDA_BACKEND} has no createCudaBackend export`);
    const loaded = native.loadNative();
    if (!loaded.binding) throw new Error(`native addon not loaded: ${loaded.error ?? 'unknown reason'}`);
    const a = cuda.cudaAvailability?.(loaded.binding);
    if (a && !a.available) throw new Error(a.reason ?? 'no CUDA device');
    t.backend = cuda.createCudaBackend(loaded.binding, 0);
  } catch (e) {
    t.reason = `cuda backend unavailable: ${(e as Error).message}`;
  }
  return t;
}

const js64 = await jsTarget();
const js32: Target = { ...js64, dtype: 'float32', rtol: 2e-4 };
const targets: Target[] = [js64, js32, await cudaTarget()];

// WATTGRAD_FIXTURE_REPORT=1 prints the worst error of every check (max |err| / max |expected|).
const report: { what: string; scaled: number }[] = [];
afterAll(() => {
  if (process.env['WATTGRAD_FIXTURE_REPORT'] !== '1') return;
  for (const [label, rtol] of [
    ['js float64', 1e-9],
    ['js float32', 2e-4],
    ['cuda float32', 2e-4],
  ] as const) {
    const rows = report.filter((r) => r.what.startsWith(label));
    if (rows.length === 0) continue;
    rows.sort((a, b) => b.scaled - a.scaled);
    console.log(
      `${label}: ${rows.length} checks, worst max|err|/max|want| (rtol ${rtol}):\n` +
        rows
          .slice(0, 12)
          .map((r) => `  ${r.scaled.toExponential(2)}  ${r.what}`)
          .join('\n'),
    );
  }
});

// ---- a small harness: handles, poisoned outputs, reads, comparisons -------------------------

class Run {
  private readonly live: Handle[] = [];
  readonly before: number;
  readonly failures: string[] = [];

  constructor(
    readonly be: Backend,
    readonly dtype: DType,
    readonly rtol: number,
    readonly label: string,
  ) {
    this.before = be.memory().allocated;
  }

  get k() {
    return this.be.kernels;
  }

  /** Uploads a fixture tensor (floats in the target dtype, int32 as int32). */
  in(t: FixtureTensor | ArrayLike<number>, int = false): Handle {
    const arr: TypedArray = 'shape' in t ? toTyped(t, this.dtype as HostDType) : this.typed(t, int);
    const isInt = 'shape' in t ? t.dtype === 'int32' : int;
    const h = this.be.alloc(Math.max(arr.length, 1), isInt ? 'int32' : this.dtype);
    this.live.push(h);
    if (arr.length > 0) this.be.upload(h, arr, isInt ? 'int32' : this.dtype);
    return h;
  }

  private typed(d: ArrayLike<number>, int: boolean): TypedArray {
    if (int) return Int32Array.from(d);
    return this.dtype === 'float32' ? Float32Array.from(d) : Float64Array.from(d);
  }

  /** A poisoned output of n elements. */
  out(n: number, int = false): Handle {
    const dt: DType = int ? 'int32' : this.dtype;
    const h = this.be.alloc(Math.max(n, 1), dt);
    this.live.push(h);
    this.k.fill(h, Math.max(n, 1), int ? -7 : NaN, dt);
    return h;
  }

  read(h: Handle, n: number, int = false): TypedArray {
    this.be.synchronize();
    return this.be.readSync(h, int ? 'int32' : this.dtype, n);
  }

  /** Compares a handle (or host array) with the expected values; collects failures. */
  check(what: string, got: Handle | ArrayLike<number>, want: FixtureTensor | ArrayLike<number>, rtol = this.rtol): void {
    const n = 'data' in want ? want.data.length : want.length;
    const isInt = 'dtype' in want && want.dtype === 'int32';
    const arr = isHandle(got) ? this.read(got, n, isInt) : got;
    const r = isInt ? compareExact(`${this.label} ${what}`, arr, want) : compareClose(`${this.label} ${what}`, arr, want, rtol);
    if (!r.ok) this.failures.push(r.message);
    if (!isInt) report.push({ what: `${this.label} ${what}`, scaled: r.maxAbs / Math.max(r.scale, 1e-300) });
  }

  /** Frees everything, then asserts no failures and no leaked bytes. */
  finish(): void {
    for (const h of this.live) this.be.free(h);
    this.live.length = 0;
    const after = this.be.memory().allocated;
    expect(this.failures, this.failures.join('\n')).toEqual([]);
    expect(after, `${this.label}: allocated bytes after freeing`).toBe(this.before);
  }
}

/** Host data is a plain or typed array; anything else is backend storage. */
function isHandle(x: Handle | ArrayLike<number>): x is Handle {
  return !Array.isArray(x) && !ArrayBuffer.isView(x);
}

/** Runs fn with a fresh Run and finishes it (frees, checks, leak check) even when fn throws. */
function withRun(t: Target, label: string, fn: (r: Run) => void): void {
  const r = new Run(t.backend!, t.dtype, t.rtol, `${t.label} ${t.dtype} ${label}`);
  try {
    fn(r);
  } finally {
    r.finish();
  }
}

/** (a, b, c) -> (a, c, b): moves the middle axis last (and back, with b and c swapped). */
function swapLast2(d: ArrayLike<number>, a: number, b: number, c: number): number[] {
  const out = new Array<number>(a * b * c);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let l = 0; l < c; l++) out[(i * c + l) * b + j] = d[(i * b + j) * c + l]!;
  return out;
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

// ---- the suites --------------------------------------------------------------------------------

for (const t of targets) {
  const title = `torch fixtures on ${t.label} (${t.dtype})`;
  if (t.backend === null) {
    if (t.required) {
      describe(title, () => {
        it('backend is available', () => {
          throw new Error(t.reason);
        });
      });
    } else {
      describe.skip(`${title}: ${t.reason}`, () => {
        it('skipped', () => {});
      });
    }
    continue;
  }

  describe(title, () => {
    // ---- conv2d --------------------------------------------------------------------------------
    describe('conv2d', () => {
      for (const c of loadFixture('conv2d').cases) {
        it(c.name, () =>
          withRun(t, `conv2d/${c.name}`, (r) => {
            const p: Conv2dParams = c.params;
            const x = r.in(tensorOf(c, 'x')),
              w = r.in(tensorOf(c, 'w')),
              dy = r.in(tensorOf(c, 'dy'));
            const y = r.out(numel(tensorOf(c, 'y').shape));
            r.k.conv2d(x, w, y, p, r.dtype);
            r.check('conv2d y', y, tensorOf(c, 'y'));
            const dx = r.out(numel(tensorOf(c, 'x').shape));
            r.k.conv2dGradInput(dy, w, dx, p, r.dtype);
            r.check('conv2dGradInput dx', dx, tensorOf(c, 'dx'));
            const dw = r.out(numel(tensorOf(c, 'w').shape));
            r.k.conv2dGradWeight(x, dy, dw, p, r.dtype);
            r.check('conv2dGradWeight dw', dw, tensorOf(c, 'dw'));
          }),
        );
      }
    });

    describe('conv2d layer (bias via addBiasAct, dbias via reduce)', () => {
      for (const c of loadFixture('conv2d_layer').cases) {
        it(c.name, () =>
          withRun(t, `conv2d_layer/${c.name}`, (r) => {
            const xs = tensorOf(c, 'x').shape,
              ys = tensorOf(c, 'y').shape;
            const [kH, kW] = c.params.kernel_size,
              [sH, sW] = pair(c.params.stride);
            const [pH, pW] = pair(c.params.padding),
              [dH, dW] = pair(c.params.dilation);
            const p: Conv2dParams = {
              batch: xs[0]!,
              inC: xs[1]!,
              inH: xs[2]!,
              inW: xs[3]!,
              outC: ys[1]!,
              kH,
              kW,
              outH: ys[2]!,
              outW: ys[3]!,
              strideH: sH,
              strideW: sW,
              padH: pH,
              padW: pW,
              dilationH: dH,
              dilationW: dW,
              groups: c.params.groups,
            };
            const hw = p.outH * p.outW;
            const x = r.in(tensorOf(c, 'x')),
              w = r.in(c.state.weight),
              b = r.in(c.state.bias),
              dy = r.in(tensorOf(c, 'dy'));
            const y0 = r.out(numel(ys)),
              y = r.out(numel(ys));
            r.k.conv2d(x, w, y0, p, r.dtype);
            r.k.addBiasAct(y0, b, y, p.batch, p.outC, hw, 'none', r.dtype);
            r.check('y', y, tensorOf(c, 'y'));
            const dx = r.out(numel(xs)),
              dw = r.out(numel(c.state.weight.shape));
            r.k.conv2dGradInput(dy, w, dx, p, r.dtype);
            r.check('dx', dx, tensorOf(c, 'dx'));
            r.k.conv2dGradWeight(x, dy, dw, p, r.dtype);
            r.check('dweight', dw, c.grads.weight);
            const part = r.out(p.batch * p.outC),
              db = r.out(p.outC);
            r.k.reduce('sum', dy, part, p.batch * p.outC, hw, 1, r.dtype);
            r.k.reduce('sum', part, db, 1, p.batch, p.outC, r.dtype);
            r.check('dbias', db, c.grads.bias);
          }),
        );
      }
    });

    // ---- pooling -------------------------------------------------------------------------------
    describe('pool2d', () => {
      for (const c of loadFixture('pool2d').cases) {
        it(c.name, () =>
          withRun(t, `pool2d/${c.name}`, (r) => {
            const x = r.in(tensorOf(c, 'x')),
              dy = r.in(tensorOf(c, 'dy'));
            const ny = numel(tensorOf(c, 'y').shape),
              nx = numel(tensorOf(c, 'x').shape);
            const y = r.out(ny),
              dx = r.out(nx);
            const q = c.params;
            if (c.op === 'adaptive_avg_pool2d') {
              r.k.adaptiveAvgPool2d(x, y, q.batch, q.channels, q.inH, q.inW, q.outH, q.outW, r.dtype);
              r.check('adaptiveAvgPool2d y', y, tensorOf(c, 'y'));
              r.k.adaptiveAvgPool2dBackward(dy, dx, q.batch, q.channels, q.inH, q.inW, q.outH, q.outW, r.dtype);
              r.check('adaptiveAvgPool2dBackward dx', dx, tensorOf(c, 'dx'));
              return;
            }
            const p = poolParams(c);
            if (c.op === 'max_pool2d') {
              const am = r.out(ny, true);
              r.k.maxPool2d(x, y, am, p, r.dtype);
              r.check('maxPool2d y', y, tensorOf(c, 'y'));
              r.check('maxPool2d argmax', am, tensorOf(c, 'argmax'));
              const amRef = r.in(tensorOf(c, 'argmax'));
              r.k.maxPool2dBackward(dy, amRef, dx, p, r.dtype);
              r.check('maxPool2dBackward dx', dx, tensorOf(c, 'dx'));
            } else {
              r.k.avgPool2d(x, y, p, r.dtype);
              r.check('avgPool2d y', y, tensorOf(c, 'y'));
              r.k.avgPool2dBackward(dy, dx, p, r.dtype);
              r.check('avgPool2dBackward dx', dx, tensorOf(c, 'dx'));
            }
          }),
        );
      }
    });

    // ---- RNN cells -----------------------------------------------------------------------------
    describe('rnn cells', () => {
      for (const c of loadFixture('rnn_cells').cases) {
        if (c.cell !== 'lstm' && c.cell !== 'gru') continue; // rnn_tanh/relu cells have no kernel of their own
        it(c.name, () =>
          withRun(t, `rnn_cells/${c.name}`, (r) => {
            const { batch: B, hidden: H } = c.params;
            if (c.cell === 'lstm') {
              const gates = r.in(tensorOf(c, 'gates')),
                cPrev = r.in(tensorOf(c, 'cPrev'));
              const h = r.out(B * H),
                cc = r.out(B * H),
                act = r.out(B * 4 * H);
              r.k.lstmCell(gates, cPrev, h, cc, act, B, H, r.dtype);
              r.check('lstmCell h', h, tensorOf(c, 'h'));
              r.check('lstmCell c', cc, tensorOf(c, 'c'));
              r.check('lstmCell act', act, tensorOf(c, 'act'));
              const actRef = r.in(tensorOf(c, 'act')),
                cRef = r.in(tensorOf(c, 'c')),
                dh = r.in(tensorOf(c, 'dh'));
              const dc = c.params.hasDc ? r.in(tensorOf(c, 'dc')) : null;
              const dGates = r.out(B * 4 * H),
                dcPrev = r.out(B * H);
              r.k.lstmCellBackward(actRef, cPrev, cRef, dh, dc, dGates, dcPrev, B, H, r.dtype);
              r.check('lstmCellBackward dGates', dGates, tensorOf(c, 'dGates'));
              r.check('lstmCellBackward dcPrev', dcPrev, tensorOf(c, 'dcPrev'));
            } else {
              const xg = r.in(tensorOf(c, 'xg')),
                hg = r.in(tensorOf(c, 'hg')),
                hPrev = r.in(tensorOf(c, 'hPrev'));
              const h = r.out(B * H),
                saved = r.out(B * 4 * H);
              r.k.gruCell(xg, hg, hPrev, h, saved, B, H, r.dtype);
              r.check('gruCell h', h, tensorOf(c, 'h'));
              r.check('gruCell saved', saved, tensorOf(c, 'saved'));
              const savedRef = r.in(tensorOf(c, 'saved')),
                dh = r.in(tensorOf(c, 'dh'));
              const dxg = r.out(B * 3 * H),
                dhg = r.out(B * 3 * H),
                dhPrev = r.out(B * H);
              r.k.gruCellBackward(savedRef, hPrev, dh, dxg, dhg, dhPrev, B, H, r.dtype);
              r.check('gruCellBackward dxg', dxg, tensorOf(c, 'dxg'));
              r.check('gruCellBackward dhg', dhg, tensorOf(c, 'dhg'));
              r.check('gruCellBackward dhPrev (direct)', dhPrev, tensorOf(c, 'dhPrevDirect'));
            }
          }),
        );
      }
    });

    // ---- softmax -------------------------------------------------------------------------------
    describe('softmax', () => {
      for (const c of loadFixture('softmax').cases) {
        it(c.name, () =>
          withRun(t, `softmax/${c.name}`, (r) => {
            const xs = tensorOf(c, 'x').shape,
              n = numel(xs);
            // dim 1 of a 3-D tensor: move it last on the host (the op layer permutes with stridedCopy)
            const moved = c.params.dim === 1 && xs.length === 3;
            const [a, b, cc] = [xs[0]!, xs[1]!, xs[2] ?? 1];
            const fwd = (d: number[]) => (moved ? swapLast2(d, a, b, cc) : d);
            const back = (d: ArrayLike<number>) => (moved ? swapLast2(d, a, cc, b) : Array.from(d));
            const cols = moved ? b : xs[xs.length - 1]!,
              rows = n / cols;
            const x = r.in(fwd(tensorOf(c, 'x').data));
            const y = r.out(n);
            r.k.softmax(x, y, rows, cols, c.params.log, r.dtype);
            r.check(`${c.op} y`, back(r.read(y, n)), tensorOf(c, 'y'));
            const yRef = r.in(fwd(tensorOf(c, 'y').data)),
              dy = r.in(fwd(tensorOf(c, 'dy').data));
            const dx = r.out(n);
            r.k.softmaxBackward(yRef, dy, dx, rows, cols, c.params.log, r.dtype);
            r.check(`${c.op} backward dx`, back(r.read(dx, n)), tensorOf(c, 'dx'));
          }),
        );
      }
    });

    // ---- losses --------------------------------------------------------------------------------
    describe('losses', () => {
      for (const c of loadFixture('losses').cases) {
        if (c.op === 'cross_entropy') {
          it(c.name, () =>
            withRun(t, `losses/${c.name}`, (r) => {
              const ls = c.params.labelSmoothing ?? 0,
                ign = c.params.ignoreIndex ?? -100;
              const lg = tensorOf(c, 'logits'),
                tg = tensorOf(c, 'target');
              const spatial = lg.shape.length === 3; // (N, C, d): classes moved last on the host
              const [N, C, d] = [lg.shape[0]!, lg.shape[1]!, lg.shape[2] ?? 1];
              const rows = N * d;
              const logits = r.in(spatial ? swapLast2(lg.data, N, C, d) : lg.data);
              const target = r.in(tg.data, true);
              const loss = r.out(rows);
              r.k.crossEntropy(logits, target, loss, rows, C, ls, ign, r.dtype);
              const lossRows = r.read(loss, rows);
              r.check('crossEntropy per-row loss', lossRows, tensorOf(c, 'lossRows'));
              // the op layer's reduction: mean over non-ignored rows, or sum
              const valid = tg.data.filter((v) => v !== ign).length;
              const total = Array.from(lossRows).reduce((s, v) => s + v, 0);
              if (c.params.reduction !== 'none') {
                r.check(`reduction ${c.params.reduction}`, [c.params.reduction === 'mean' ? total / valid : total], tensorOf(c, 'y'));
              }
              const gy = tensorOf(c, 'dy').data;
              const dlossRows =
                spatial || !('dlossRows' in c.tensors)
                  ? tg.data.map((v, i) =>
                      v === ign ? 0 : c.params.reduction === 'none' ? gy[i]! : c.params.reduction === 'sum' ? gy[0]! : gy[0]! / valid,
                    )
                  : tensorOf(c, 'dlossRows').data;
              const dloss = r.in(dlossRows);
              const dlogits = r.out(rows * C);
              r.k.crossEntropyBackward(logits, target, dloss, dlogits, rows, C, ls, ign, r.dtype);
              const got = r.read(dlogits, rows * C);
              r.check('crossEntropyBackward dlogits', spatial ? swapLast2(got, N, d, C) : got, tensorOf(c, 'dlogits'));
            }),
          );
        } else if (c.op === 'nll_loss') {
          it(`${c.name} (gather)`, () =>
            withRun(t, `losses/${c.name}`, (r) => {
              const inp = tensorOf(c, 'input'),
                tg = tensorOf(c, 'target');
              const [rows, C] = [inp.shape[0]!, inp.shape[1]!];
              const ign = c.params.ignoreIndex ?? -100;
              const x = r.in(inp),
                idx = r.in(tg);
              const picked = r.out(rows);
              r.k.gather(x, idx, picked, rows, C, 1, 1, r.dtype);
              const p = r.read(picked, rows);
              const perRow = tg.data.map((v, i) => (v === ign ? 0 : -p[i]!));
              const valid = tg.data.filter((v) => v !== ign).length;
              const sum = perRow.reduce((s, v) => s + v, 0);
              const red = c.params.reduction;
              r.check('nll loss', red === 'none' ? perRow : [red === 'sum' ? sum : sum / valid], tensorOf(c, 'y'));
              const gy = tensorOf(c, 'dy').data;
              const dPicked = tg.data.map((v, i) => (v === ign ? 0 : -(red === 'none' ? gy[i]! : red === 'sum' ? gy[0]! : gy[0]! / valid)));
              const dp = r.in(dPicked),
                dx = r.out(rows * C);
              r.k.gatherBackward(dp, idx, dx, rows, C, 1, 1, r.dtype);
              r.check('gatherBackward dinput', dx, tensorOf(c, 'dinput'));
            }));
        }
        // binary_cross_entropy(_with_logits) and mse_loss are composite ops: checked by the nn/ops tests.
      }
    });

    // ---- normalisation -------------------------------------------------------------------------
    describe('norm', () => {
      for (const c of loadFixture('norm').cases) {
        it(c.name, () =>
          withRun(t, `norm/${c.name}`, (r) => {
            const q = c.params;
            const nx = numel(tensorOf(c, 'x').shape);
            const x = r.in(tensorOf(c, 'x')),
              dy = r.in(tensorOf(c, 'dy'));
            const gamma = q.affine ? r.in(tensorOf(c, 'weight')) : null;
            const beta = q.affine ? r.in(tensorOf(c, 'bias')) : null;
            const y = r.out(nx),
              dx = r.out(nx);
            if (c.op === 'batch_norm') {
              const { n, c: C, hw } = q as { n: number; c: number; hw: number };
              const rm = q.trackRunningStats ? r.in(tensorOf(c, 'running_mean')) : null;
              const rv = q.trackRunningStats ? r.in(tensorOf(c, 'running_var')) : null;
              const sm = r.out(C),
                si = r.out(C);
              r.k.batchNorm(x, gamma, beta, rm, rv, y, sm, si, n, C, hw, q.training!, q.momentum!, q.eps, r.dtype);
              r.check('batchNorm y', y, tensorOf(c, 'y'));
              r.check('batchNorm saveMean', sm, tensorOf(c, 'saveMean'));
              r.check('batchNorm saveInvStd', si, tensorOf(c, 'saveInvStd'));
              if (rm !== null && rv !== null) {
                r.check('batchNorm running_mean after', rm, tensorOf(c, 'running_mean_after'));
                r.check('batchNorm running_var after', rv, tensorOf(c, 'running_var_after'));
              }
              const smRef = r.in(tensorOf(c, 'saveMean')),
                siRef = r.in(tensorOf(c, 'saveInvStd'));
              const dg = q.affine ? r.out(C) : null,
                db = q.affine ? r.out(C) : null;
              r.k.batchNormBackward(dy, x, gamma, smRef, siRef, dx, dg, db, n, C, hw, q.training!, r.dtype);
              r.check('batchNormBackward dx', dx, tensorOf(c, 'dx'));
              if (dg !== null && db !== null) {
                r.check('batchNormBackward dweight', dg, tensorOf(c, 'dweight'));
                r.check('batchNormBackward dbias', db, tensorOf(c, 'dbias'));
              }
            } else {
              const { rows, cols } = q as { rows: number; cols: number };
              const mean = r.out(rows),
                rstd = r.out(rows);
              r.k.layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, q.eps, r.dtype);
              r.check('layerNorm y', y, tensorOf(c, 'y'));
              r.check('layerNorm mean', mean, tensorOf(c, 'mean'));
              r.check('layerNorm rstd', rstd, tensorOf(c, 'rstd'));
              const meanRef = r.in(tensorOf(c, 'mean')),
                rstdRef = r.in(tensorOf(c, 'rstd'));
              const dg = q.affine ? r.out(cols) : null,
                db = q.affine ? r.out(cols) : null;
              r.k.layerNormBackward(dy, x, gamma, meanRef, rstdRef, dx, dg, db, rows, cols, r.dtype);
              r.check('layerNormBackward dx', dx, tensorOf(c, 'dx'));
              if (dg !== null && db !== null) {
                r.check('layerNormBackward dweight', dg, tensorOf(c, 'dweight'));
                r.check('layerNormBackward dbias', db, tensorOf(c, 'dbias'));
              }
            }
          }),
        );
      }
    });

    // ---- activations ---------------------------------------------------------------------------
    describe('activations (unary + unaryGrad)', () => {
      for (const c of loadFixture('activations').cases) {
        it(c.name, () =>
          withRun(t, `activations/${c.name}`, (r) => {
            const n = numel(tensorOf(c, 'x').shape);
            const { op, a, b } = c.params;
            const x = r.in(tensorOf(c, 'x')),
              y = r.out(n);
            r.k.unary(op as UnaryOp, x, y, n, r.dtype, a, b);
            r.check(`unary ${op} y`, y, tensorOf(c, 'y'));
            const yRef = r.in(tensorOf(c, 'y')),
              dy = r.in(tensorOf(c, 'dy')),
              dx = r.out(n);
            r.k.unaryGrad(op as UnaryGradOp, x, yRef, dy, dx, n, r.dtype, a, b);
            r.check(`unaryGrad ${op} dx`, dx, tensorOf(c, 'dx'));
          }),
        );
      }
    });

    // ---- embedding -----------------------------------------------------------------------------
    describe('embedding (indexSelect + indexSelectBackward)', () => {
      for (const c of loadFixture('embedding').cases) {
        it(c.name, () =>
          withRun(t, `embedding/${c.name}`, (r) => {
            const { numEmbeddings: V, embeddingDim: D, paddingIdx } = c.params;
            const idxT = tensorOf(c, 'indices'),
              nIdx = numel(idxT.shape);
            const w = r.in(tensorOf(c, 'weight')),
              idx = r.in(idxT),
              dy = r.in(tensorOf(c, 'dy'));
            const y = r.out(nIdx * D),
              dw = r.out(V * D);
            r.k.indexSelect(w, idx, y, 1, V, D, nIdx, r.dtype);
            r.check('indexSelect y', y, tensorOf(c, 'y'));
            r.k.indexSelectBackward(dy, idx, dw, 1, V, D, nIdx, r.dtype);
            const g = Array.from(r.read(dw, V * D));
            if (paddingIdx !== null) g.fill(0, paddingIdx * D, (paddingIdx + 1) * D); // op layer: padding row gets no grad
            r.check('indexSelectBackward dweight', g, tensorOf(c, 'dweight'));
          }),
        );
      }
    });

    // ---- optimizers ----------------------------------------------------------------------------
    describe('optim (sgdStep / adamStep / rmspropStep / adagradStep, 3 steps)', () => {
      for (const c of loadFixture('optim').cases) {
        it(c.name, () =>
          withRun(t, `optim/${c.name}`, (r) => {
            const q = c.params;
            const shapes = c.tensors.params0.map((p) => p.shape);
            const numels = shapes.map(numel);
            const params = c.tensors.params0.map((p) => r.in(p));
            const zeros = () => numels.map((n) => r.in(new Array<number>(n).fill(0)));
            const isSgd = c.optimizer === 'SGD';
            const isRms = c.optimizer === 'RMSprop';
            const isAdagrad = c.optimizer === 'Adagrad';
            const isAdam = !isSgd && !isRms && !isAdagrad;
            const mom = (isSgd || isRms) && (q.momentum ?? 0) !== 0 ? zeros() : null;
            const expAvg = isAdam ? zeros() : [],
              expAvgSq = isAdam ? zeros() : [];
            const maxSq = isAdam && q.amsgrad ? zeros() : null;
            const squareAvg = isRms ? zeros() : [];
            const gradAvg = isRms && q.centered ? zeros() : null;
            const stateSum = isAdagrad ? numels.map((n) => r.in(new Array<number>(n).fill(q.initial_accumulator_value ?? 0))) : [];
            c.steps.forEach((want, s) => {
              const grads = c.tensors.grads[s]!.map((g) => r.in(g));
              if (isSgd) {
                const h: SgdHyper = {
                  lr: q.lr,
                  momentum: q.momentum ?? 0,
                  dampening: q.dampening ?? 0,
                  nesterov: q.nesterov ?? false,
                  weightDecay: q.weight_decay,
                  maximize: q.maximize,
                  firstStep: s === 0,
                };
                r.k.sgdStep(params, grads, mom, numels, h, r.dtype);
              } else if (isRms) {
                const h: RmspropHyper = {
                  lr: q.lr,
                  alpha: q.alpha!,
                  eps: q.eps!,
                  weightDecay: q.weight_decay,
                  momentum: q.momentum ?? 0,
                  centered: q.centered ?? false,
                  maximize: q.maximize,
                };
                r.k.rmspropStep(params, grads, squareAvg, mom, gradAvg, numels, h, r.dtype);
              } else if (isAdagrad) {
                const h: AdagradHyper = {
                  clr: q.lr / (1 + s * (q.lr_decay ?? 0)),
                  eps: q.eps!,
                  weightDecay: q.weight_decay,
                  maximize: q.maximize,
                };
                r.k.adagradStep(params, grads, stateSum, numels, h, r.dtype);
              } else {
                const h: AdamHyper = {
                  lr: q.lr,
                  beta1: q.betas![0],
                  beta2: q.betas![1],
                  eps: q.eps!,
                  weightDecay: q.weight_decay,
                  decoupled: c.optimizer === 'AdamW',
                  amsgrad: q.amsgrad ?? false,
                  maximize: q.maximize,
                  step: s + 1,
                };
                r.k.adamStep(params, grads, expAvg, expAvgSq, maxSq, numels, h, r.dtype);
              }
              const at = `step ${s + 1}`;
              want.params.forEach((p, i) => r.check(`${at} param ${i}`, params[i]!, p));
              want.momentum_buffer?.forEach((p, i) => r.check(`${at} momentum_buffer ${i}`, mom![i]!, p));
              want.exp_avg?.forEach((p, i) => r.check(`${at} exp_avg ${i}`, expAvg[i]!, p));
              want.exp_avg_sq?.forEach((p, i) => r.check(`${at} exp_avg_sq ${i}`, expAvgSq[i]!, p));
              want.max_exp_avg_sq?.forEach((p, i) => r.check(`${at} max_exp_avg_sq ${i}`, maxSq![i]!, p));
              want.square_avg?.forEach((p, i) => r.check(`${at} square_avg ${i}`, squareAvg[i]!, p));
              want.grad_avg?.forEach((p, i) => r.check(`${at} grad_avg ${i}`, gradAvg![i]!, p));
              want.sum?.forEach((p, i) => r.check(`${at} sum ${i}`, stateSum[i]!, p));
            });
          }),
        );
      }
    });
  });
}

function poolParams(c: PoolCase): Pool2dParams {
  const q = c.params;
  return {
    batch: q.batch,
    channels: q.channels,
    inH: q.inH,
    inW: q.inW,
    outH: q.outH,
    outW: q.outW,
    kH: q.kH!,
    kW: q.kW!,
    strideH: q.strideH!,
    strideW: q.strideW!,
    padH: q.padH!,
    padW: q.padW!,
    dilationH: q.dilationH!,
    dilationW: q.dilationW!,
    countIncludePad: q.countIncludePad!,
  };
}

// The op-level fixtures are for the nn tests; make sure they are present and well formed.
describe('op-level fixtures are present', () => {
  it('rnn_modules: state_dict keys, outputs and grads per parameter', () => {
    const f = loadFixture('rnn_modules');
    expect(f.cases.length).toBeGreaterThan(0);
    for (const c of f.cases) {
      expect(Object.keys(c.state)).toContain('weight_ih_l1');
      expect(Object.keys(c.grads).sort()).toEqual(Object.keys(c.state).sort());
      for (const k of ['input', 'output', 'h_n', 'dinput']) tensorOf(c, k);
      if (c.mode === 'LSTM') tensorOf(c, 'c_n');
    }
  });
  it('conv2d_layer, rnn_cells, losses (bce, mse) carry their tensors', () => {
    for (const c of loadFixture('conv2d_layer').cases) expect(c.state.bias.shape).toEqual([c.params.out_channels]);
    expect(loadFixture('rnn_cells').cases.map((c) => c.cell)).toEqual(expect.arrayContaining(['lstm', 'gru', 'rnn_tanh', 'rnn_relu']));
    const ops = new Set(loadFixture('losses').cases.map((c) => c.op));
    for (const op of ['binary_cross_entropy', 'binary_cross_entropy_with_logits', 'mse_loss']) expect(ops.has(op as never)).toBe(true);
  });
});
