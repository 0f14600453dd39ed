// Fused optimizer steps over many tensors (one adamStep / sgdStep op call per step).
// AdamW fp32: reads p, g, m, v and writes p, m, v: 28 bytes/param (the floor is bandwidth).
// SGD with momentum: reads p, g, buf, writes p, buf: 20 bytes/param.
// FLOPs use the op layer's convention (16/param AdamW, 4/param SGD); GB/s is the figure of merit.

import { adamStep, sgdStep } from '../../lib/ops/optim.js';
import type { AdamHyper, SgdHyper } from '../../lib/backend/kernels.js';
import type { DType } from '../../lib/dtype.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchCase, BenchContext, Prepared, Validation } from '../lib/types.js';
import { allOf, compare, countedBy, disposeAll, randTensor, tolerance, toCpu } from '../lib/util.js';
import os from 'node:os';
import { nativeOptim } from '../../lib/backend/js/native-optim.js';
import { nativeCpu } from '../../lib/backend/js/native-cpu.js';
import { adamStep as jsAdamKernel, sgdStep as jsSgdKernel } from '../../lib/backend/js/optim.js';
import { JsHandle } from '../../lib/backend/js/handle.js';

export type OptimKind = 'adamw' | 'sgd';
export interface OptimShape {
  params: number;
  tensors: number;
}

export function optimShapes(ctx: BenchContext): OptimShape[] {
  if (ctx.quick) return ctx.backend === 'js' ? [{ params: 1e4, tensors: 10 }] : [{ params: 1e6, tensors: 100 }];
  if (ctx.backend === 'js') return [{ params: 1e6, tensors: 100 }];
  return [
    { params: 1e6, tensors: 100 },
    { params: 1e8, tensors: 1000 },
    { params: 1e9, tensors: 1000 },
  ];
}

const fmtCount = (n: number): string => (n >= 1e9 ? `${n / 1e9}e9` : n >= 1e6 ? `${n / 1e6}e6` : `${n}`);
export const optimId = (kind: OptimKind, s: OptimShape): string => `${kind} ${fmtCount(s.params)} params ${s.tensors} tensors`;

export function splitSizes(total: number, count: number): number[] {
  const base = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) => base + (i < total % count ? 1 : 0));
}

interface OptimState {
  p: Tensor[];
  g: Tensor[];
  m: Tensor[];
  v: Tensor[];
}

function makeState(ctx: BenchContext, kind: OptimKind, sizes: number[], dtype: DType, seed: number): OptimState {
  const s: OptimState = { p: [], g: [], m: [], v: [] };
  sizes.forEach((n, i) => {
    s.p.push(randTensor(ctx, [n], dtype, seed + 4 * i));
    s.g.push(randTensor(ctx, [n], dtype, seed + 4 * i + 1, -0.1, 0.1));
    s.m.push(randTensor(ctx, [n], dtype, seed + 4 * i + 2, -0.01, 0.01));
    if (kind === 'adamw') s.v.push(randTensor(ctx, [n], dtype, seed + 4 * i + 3, 0, 1e-4));
  });
  return s;
}

const adamH = (step: number): AdamHyper => ({
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  decoupled: true,
  amsgrad: false,
  maximize: false,
  step,
});
const sgdH: SgdHyper = { lr: 0.01, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, firstStep: false };

function step(kind: OptimKind, s: OptimState, i: number): void {
  if (kind === 'adamw') adamStep(s.p, s.g, s.m, s.v, null, adamH(i + 1));
  else sgdStep(s.p, s.g, s.m, sgdH);
}

export function optimCase(kind: OptimKind, shape: OptimShape, dtype: DType): BenchCase {
  const n = shape.params;
  const perParam = kind === 'adamw' ? 28 : 20;
  return {
    op: kind,
    id: optimId(kind, shape),
    shape: `${fmtCount(n)} params in ${shape.tensors} tensors`,
    dtype,
    flops: (kind === 'adamw' ? 16 : 4) * n,
    bytes: perParam * n,
    inputBytes: perParam * n,
    memoryBytes: (kind === 'adamw' ? 16 : 12) * n,
    kernels: [kind === 'adamw' ? 'adamStep' : 'sgdStep'],
    prepare(ctx: BenchContext): Prepared {
      const st = makeState(ctx, kind, splitSizes(n, shape.tensors), dtype, 51);
      const all = (s: OptimState): Tensor[] => [...s.p, ...s.g, ...s.m, ...s.v];
      return {
        run(i) {
          step(kind, st, i);
        },
        validate(): Validation {
          if (ctx.backend === 'js') {
            if (!nativeOptim())
              return { ok: true, worst: 0, against: 'js is the reference backend (checked against torch fixtures in test/)' };
            return validateNative(ctx, kind, st, dtype);
          }
          const small = makeState(ctx, kind, [1000, 777, 5], dtype, 61);
          const cpu: OptimState = { p: small.p.map(toCpu), g: small.g.map(toCpu), m: small.m.map(toCpu), v: small.v.map(toCpu) };
          step(kind, small, 4);
          step(kind, cpu, 4);
          const tol = tolerance(dtype, 4);
          const vs: Validation[] = [];
          for (const key of ['p', 'm', 'v'] as const) {
            small[key].forEach((t, i) =>
              vs.push(compare(t.dataSync(), cpu[key][i]!.dataSync(), tol, `js backend, one step over 3 tensors (${key})`)),
            );
          }
          disposeAll([...all(small), ...all(cpu)]);
          return allOf(vs);
        },
        counted() {
          return countedBy([kind === 'adamw' ? 'adamStep' : 'sgdStep'], () => step(kind, st, 0));
        },
        dispose() {
          disposeAll(all(st));
        },
      };
    },
  };
}

/** The pure-JS kernels on host copies, the native step on the bench's tensors: same bits. */
function validateNative(ctx: BenchContext, kind: OptimKind, st: OptimState, dtype: DType): Validation {
  const small = makeState(ctx, kind, [1000, 777, 5], dtype, 61);
  const dt = dtype as 'float32' | 'float64';
  const host = (ts: Tensor[]): JsHandle[] => ts.map((t) => new JsHandle(t.dataSync() as Float32Array | Float64Array, dt));
  const ref = { p: host(small.p), g: host(small.g), m: host(small.m), v: host(small.v) };
  const numels = small.p.map((t) => t.size);
  step(kind, small, 4);
  if (kind === 'adamw') jsAdamKernel(ref.p, ref.g, ref.m, ref.v, null, numels, adamH(5), dtype);
  else jsSgdKernel(ref.p, ref.g, ref.m, numels, sgdH, dtype);
  let diffs = 0;
  for (const key of ['p', 'm', 'v'] as const)
    small[key].forEach((t, i) => {
      const a = t.dataSync(),
        b = ref[key][i]!.data;
      for (let j = 0; j < a.length; j++) if (!Object.is(a[j], b[j])) diffs++;
    });
  disposeAll([...small.p, ...small.g, ...small.m, ...small.v]);
  const v: Validation = {
    ok: diffs === 0,
    worst: diffs === 0 ? 0 : Infinity,
    against: 'the pure-JS kernel (lib/backend/js/optim.ts), bitwise, one step over 3 tensors',
  };
  // AdamW's figure of merit on the CPU: % of the machine's streaming bandwidth, measured here by
  // the addon's triad probe on the same threads (28 B/param: read p, g, m, v; write p, m, v)
  const probe = (
    nativeCpu() as unknown as { cpuMemBandwidth?: (mib: number, reps: number) => { triad: number; copy: number; threads: number } }
  )?.cpuMemBandwidth;
  const n = st.p.reduce((a, t) => a + t.size, 0);
  if (kind === 'adamw' && probe && n >= 1e6) {
    const bw = probe(256, 5);
    const ts: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = process.hrtime.bigint();
      step(kind, st, i);
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const ms = median(ts);
    const gbs = (28 * n) / (ms / 1e3) / 1e9;
    // the 1e6 case's 28 MB can sit in a large last-level cache: also time 8e6 params (224 MB a
    // step), which must stream from DRAM like the probe
    const big = makeState(ctx, kind, splitSizes(8e6, 8), dtype, 71);
    const tb: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = process.hrtime.bigint();
      step(kind, big, i);
      tb.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    disposeAll([...big.p, ...big.g, ...big.m, ...big.v]);
    const gbsBig = (28 * 8e6) / (median(tb) / 1e3) / 1e9;
    const pct = (g: number): string => `${((100 * g) / bw.triad).toFixed(0)}%`;
    v.note =
      `native AdamW ${n / 1e6}e6 params: ${ms.toFixed(2)} ms = ${gbs.toFixed(1)} GB/s = ${pct(gbs)} of the measured triad bandwidth ` +
      `${bw.triad.toFixed(1)} GB/s (copy ${bw.copy.toFixed(1)}; 3 x 256 MiB); 8e6 params (DRAM): ${median(tb).toFixed(1)} ms = ` +
      `${gbsBig.toFixed(1)} GB/s = ${pct(gbsBig)}; ${bw.threads} thread(s), load ${os.loadavg()[0]!.toFixed(1)}`;
    ctx.log(`bench: ${v.note}`);
  }
  return v;
}

export function optimCases(ctx: BenchContext, kind: OptimKind): BenchCase[] {
  return optimShapes(ctx).map((s) => optimCase(kind, s, 'float32'));
}
