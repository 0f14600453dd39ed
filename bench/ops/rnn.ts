// LSTM / GRU, one layer, forward + backward over T steps, built the way the library's recurrent
// layers compute: one GEMM projects every step's input (X·W_ihᵀ + b_ih), then per step
// h·W_hhᵀ + b_hh and the fused gate kernel (lstmCell / gruCell). loss = Σ_t Σ h_t, backward to
// X and every weight (like torch nn.LSTM with an input that requires grad, loss = out.sum()).
// X is (T, B, I), W_ih is (G·H, I), W_hh is (G·H, H), G = 4 (LSTM) or 3 (GRU).
// FLOPs (GEMMs only): forward 2·T·B·G·H·(I+H), backward twice that → 3× in all.
// Bytes (approximate floor): weights read fwd + bwd and grads written, X, saved gates and states.

import { linear } from '../../lib/ops/matmul.js';
import { add } from '../../lib/ops/elementwise.js';
import { reshape, select, stack } from '../../lib/ops/shape.js';
import { sum } from '../../lib/ops/reduce.js';
import { gruGates, lstmGates } from '../../lib/ops/nn.js';
import { zeros } from '../../lib/ops/creation.js';
import { tidy } from '../../lib/memory.js';
import type { DType } from '../../lib/dtype.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchCase, BenchContext, Prepared, Validation } from '../lib/types.js';
import { allOf, compare, countedBy, disposeAll, randTensor, tolerance, toCpu } from '../lib/util.js';
import os from 'node:os';
import { nativeRnn, RNN_MODE } from '../../lib/backend/js/native-rnn.js';
import { rnnLayer, rnnLayerApplies } from '../../lib/ops/rnn-layer.js';

export type RnnKind = 'lstm' | 'gru';
export interface RnnShape {
  hidden: number;
  batch: number;
  steps: number;
  input: number;
}

export function rnnShapes(ctx: BenchContext): RnnShape[] {
  if (ctx.quick) return [{ hidden: 16, batch: 4, steps: 5, input: 8 }];
  if (ctx.backend === 'js') return [{ hidden: 128, batch: 32, steps: 28, input: 28 }];
  const out: RnnShape[] = [];
  for (const hidden of [512, 1024, 2048])
    for (const batch of [16, 64]) for (const steps of [25, 100]) out.push({ hidden, batch, steps, input: hidden });
  return out;
}

export const rnnId = (kind: RnnKind, s: RnnShape): string => `${kind} fwd+bwd h${s.hidden} b${s.batch} t${s.steps} i${s.input}`;

interface RnnParams {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor;
  bhh: Tensor;
  x: Tensor;
}

function makeParams(ctx: BenchContext, kind: RnnKind, s: RnnShape, dtype: DType, seed: number): RnnParams {
  const g = kind === 'lstm' ? 4 : 3;
  const a = 1 / Math.sqrt(s.hidden);
  return {
    wih: randTensor(ctx, [g * s.hidden, s.input], dtype, seed + 1, -a, a).requiresGrad_(),
    whh: randTensor(ctx, [g * s.hidden, s.hidden], dtype, seed + 2, -a, a).requiresGrad_(),
    bih: randTensor(ctx, [g * s.hidden], dtype, seed + 3, -a, a).requiresGrad_(),
    bhh: randTensor(ctx, [g * s.hidden], dtype, seed + 4, -a, a).requiresGrad_(),
    x: randTensor(ctx, [s.steps, s.batch, s.input], dtype, seed + 5).requiresGrad_(),
  };
}

/** One forward + backward; returns the loss (kept) — grads accumulate on the params. */
export function rnnStep(kind: RnnKind, s: RnnShape, p: RnnParams): Tensor {
  return tidy(() => {
    const { steps: T, batch: B, hidden: H, input: I } = s;
    const g = kind === 'lstm' ? 4 : 3;
    const xg = reshape(linear(reshape(p.x, [T * B, I]), p.wih, p.bih), [T, B, g * H]);
    let h = zeros([B, H], { device: p.x.device, dtype: p.x.dtype });
    let c = kind === 'lstm' ? zeros([B, H], { device: p.x.device, dtype: p.x.dtype }) : null;
    const outs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const xt = select(xg, 0, t);
      if (kind === 'lstm') {
        [h, c] = lstmGates(add(xt, linear(h, p.whh, p.bhh)), c!);
      } else {
        h = gruGates(xt, linear(h, p.whh, p.bhh), h);
      }
      outs.push(h);
    }
    const loss = sum(stack(outs, 0));
    loss.backward();
    return loss;
  });
}

/**
 * The same forward + backward the way nn.LSTM / nn.GRU run it on the js backend with the addon's
 * CPU kernels (since d61139a): one rnnLayer op for the sequence (cpuRnnForward / cpuRnnBackward).
 */
export function rnnLayerStep(kind: RnnKind, s: RnnShape, p: RnnParams): Tensor {
  return tidy(() => {
    const h0 = zeros([s.batch, s.hidden], { device: p.x.device, dtype: p.x.dtype });
    const c0 = kind === 'lstm' ? zeros([s.batch, s.hidden], { device: p.x.device, dtype: p.x.dtype }) : null;
    const r = rnnLayer(kind === 'lstm' ? 'LSTM' : 'GRU', p.x, h0, c0, p.wih, p.whh, p.bih, p.bhh);
    if (!r) throw new Error(`bench ${kind}: rnnLayer did not apply although rnnLayerApplies said it would`);
    const loss = sum(r.out);
    loss.backward();
    return loss;
  });
}

function clearGrads(p: RnnParams): void {
  for (const t of Object.values(p) as Tensor[]) {
    t.grad?.dispose();
    t.grad = null;
  }
}

export function rnnCase(kind: RnnKind, s: RnnShape, dtype: DType): BenchCase {
  const g = kind === 'lstm' ? 4 : 3;
  const { hidden: H, batch: B, steps: T, input: I } = s;
  const fwd = 2 * T * B * g * H * (I + H);
  const e = dtype === 'float32' ? 4 : 2;
  const weights = g * H * (I + H + 2);
  return {
    op: kind,
    id: rnnId(kind, s),
    shape: `hidden ${H} batch ${B} T ${T} input ${I}`,
    dtype,
    flops: 3 * fwd,
    bytes: e * (3 * weights + T * B * (2 * I + 2 * g * H + 4 * H)),
    inputBytes: e * (weights + T * B * I),
    memoryBytes: e * (4 * weights + T * B * (2 * I + 4 * g * H + 8 * H)),
    kernels: ['matmul'],
    prepare(ctx: BenchContext): Prepared {
      const p = makeParams(ctx, kind, s, dtype, 31);
      // what nn.LSTM / nn.GRU run: the whole-sequence native op where it applies, else the op path
      const layer = ctx.backend === 'js' && rnnLayerApplies(p.x);
      return {
        run() {
          (layer ? rnnLayerStep : rnnStep)(kind, s, p).dispose();
          clearGrads(p);
        },
        validate(): Validation {
          if (ctx.backend === 'js') {
            if (nativeRnn() && dtype === 'float32') return nativeSequence(ctx, kind, s, p);
            return { ok: true, worst: 0, against: 'js is the reference backend (cells checked against torch fixtures in test/)' };
          }
          // same weights and inputs, a reduced shape when the full one is slow on js
          const small = T * B * g * H * (I + H) > 3e8;
          const vs: RnnShape = small ? { hidden: 64, batch: 4, steps: 5, input: 64 } : s;
          const q = small ? makeParams(ctx, kind, vs, dtype, 41) : p;
          const qc: RnnParams = {
            wih: toCpu(q.wih).requiresGrad_(),
            whh: toCpu(q.whh).requiresGrad_(),
            bih: toCpu(q.bih).requiresGrad_(),
            bhh: toCpu(q.bhh).requiresGrad_(),
            x: toCpu(q.x).requiresGrad_(),
          };
          const l = rnnStep(kind, vs, q);
          const lc = rnnStep(kind, vs, qc);
          const tol = tolerance(dtype, vs.steps * vs.hidden);
          const r = allOf([
            compare(
              l.dataSync(),
              lc.dataSync(),
              { atol: tol.atol * vs.batch * vs.hidden, rtol: tol.rtol },
              `js backend${small ? ` at hidden ${vs.hidden} batch ${vs.batch} T ${vs.steps}` : ''}`,
            ),
            compare(q.whh.grad!.dataSync(), qc.whh.grad!.dataSync(), tol, 'js backend dW_hh'),
            compare(q.x.grad!.dataSync(), qc.x.grad!.dataSync(), tol, 'js backend dX'),
          ]);
          disposeAll([l, lc]);
          clearGrads(q);
          clearGrads(qc);
          disposeAll(Object.values(qc));
          if (q !== p) disposeAll(Object.values(q));
          return r;
        },
        counted() {
          const r = countedBy(['matmul'], () => rnnStep(kind, s, p).dispose());
          clearGrads(p);
          return r;
        },
        dispose() {
          clearGrads(p);
          disposeAll(Object.values(p));
        },
      };
    },
  };
}

/**
 * With the addon's CPU kernels: the whole-sequence kernel (cpuRnnForward + cpuRnnBackward, one
 * native call each for the T steps) on the case's weights, checked against the op path above
 * (loss, dW_hh, dX), and timed: the note gives its median beside the op path's, which is what the
 * nn layers run today.
 */
function nativeSequence(ctx: BenchContext, kind: RnnKind, s: RnnShape, p: RnnParams): Validation {
  const nat = nativeRnn()!;
  const { steps: T, batch: B, hidden: H, input: I } = s;
  const GH = (kind === 'lstm' ? 4 : 3) * H;
  const lstm = kind === 'lstm';
  const f = (t: Tensor): Float32Array => t.dataSync() as Float32Array;
  const [x, wIh, wHh, bIh, bHh] = [f(p.x), f(p.wih), f(p.whh), f(p.bih), f(p.bhh)];
  const z = (n: number): Float32Array => new Float32Array(n);
  const h0 = z(B * H),
    c0 = z(B * H),
    hs = z(T * B * H),
    cs = z(T * B * H),
    saved = z(T * B * 4 * H),
    dhs = z(T * B * H).fill(1); // loss = Σ_t Σ h_t
  const dx = z(T * B * I),
    dh0 = z(B * H),
    dc0 = z(B * H),
    dWih = z(GH * I),
    dWhh = z(GH * H),
    dbIh = z(GH),
    dbHh = z(GH);
  const mode = lstm ? RNN_MODE.LSTM : RNN_MODE.GRU;
  const run = (): void => {
    nat.cpuRnnForward(mode, x, h0, lstm ? c0 : null, wIh, wHh, bIh, bHh, hs, lstm ? cs : null, saved, T, B, I, H);
    nat.cpuRnnBackward(
      mode,
      x,
      h0,
      lstm ? c0 : null,
      wIh,
      wHh,
      hs,
      lstm ? cs : null,
      saved,
      dhs,
      null,
      null,
      dx,
      dh0,
      lstm ? dc0 : null,
      dWih,
      dWhh,
      dbIh,
      dbHh,
      T,
      B,
      I,
      H,
    );
  };
  run();
  const l = rnnStep(kind, s, p);
  const tol = tolerance('float32', T * H);
  let seqLoss = 0;
  for (const v of hs) seqLoss += v;
  const v = allOf([
    compare(new Float64Array([seqLoss]), l.dataSync(), { atol: tol.atol * B * H, rtol: tol.rtol }, 'loss'),
    compare(dWhh, p.whh.grad!.dataSync(), tol, 'dW_hh'),
    compare(dx, p.x.grad!.dataSync(), tol, 'dX'),
  ]);
  l.dispose();
  clearGrads(p);
  // and the layer op the timed run() calls (the path of nn.LSTM / nn.GRU) against the op path
  const ll = rnnLayerStep(kind, s, p);
  const lw = [ll.dataSync(), p.whh.grad!.dataSync(), p.x.grad!.dataSync()] as const;
  ll.dispose();
  clearGrads(p);
  const lo = rnnStep(kind, s, p);
  const layerV = allOf([
    compare(lw[0], lo.dataSync(), { atol: tol.atol * B * H, rtol: tol.rtol }, 'layer loss'),
    compare(lw[1], p.whh.grad!.dataSync(), tol, 'layer dW_hh'),
    compare(lw[2], p.x.grad!.dataSync(), tol, 'layer dX'),
  ]);
  lo.dispose();
  clearGrads(p);
  const both = allOf([v, layerV]);
  v.ok = both.ok;
  v.worst = both.worst;
  v.against =
    'the native whole-sequence kernel (cpuRnnForward/Backward, raw and as the rnnLayer op that nn.LSTM/GRU and the timed case run) vs the op path (the js backend with native cells and matmul)';
  const ts: number[] = [];
  const end = performance.now() + Math.max(300, ctx.budgetMs / 2);
  while (ts.length < 5 || (performance.now() < end && ts.length < 200)) {
    const t0 = process.hrtime.bigint();
    run();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ts.sort((a, b) => a - b);
  v.note =
    `native whole-sequence ${kind} kernel fwd+bwd: median ${ts[ts.length >> 1]!.toFixed(2)} ms (min ${ts[0]!.toFixed(2)}), ` +
    `load ${os.loadavg()[0]!.toFixed(1)}; the timed case runs it through rnnLayer, as nn.${kind.toUpperCase()} does`;
  ctx.log(`bench: ${v.note}`);
  return v;
}

export function rnnCases(ctx: BenchContext, kind: RnnKind): BenchCase[] {
  return rnnShapes(ctx).map((s) => rnnCase(kind, s, 'float32'));
}
