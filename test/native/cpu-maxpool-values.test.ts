// Max pooling without indices (inference): lib/ops/conv.ts maxPool2d passes a null argmax when no
// backward will run, the js backend routes it to the addon's cpuMaxPool2dValues (native/cpu/qpool.cc)
// or to ./pool.js with a null argmax. Both must write the values of the indices path bit for bit
// (NaN the first, -0 before +0, padding never winning): checked on random float32 / float64 planes
// with NaNs, signed zeros and ties, odd sizes, the SSE2 2 × 2 fast path with a NaN in some groups,
// padding, dilation, ceil mode, overlapping windows, 1 and 2 threads, outputs poisoned first; and
// the op: values under noGrad equal the training path's, which still gets its gradient.
//   WATTGRAD_NATIVE=$PWD/build/int8speed2/Release/wattgrad.node npx vitest run test/native/cpu-maxpool-values.test.ts
import { afterAll, describe, expect, it } from 'vitest';
import type { Pool2dParams } from '../../lib/backend/kernels.js';
import { JsHandle } from '../../lib/backend/js/handle.js';
import * as jsPool from '../../lib/backend/js/pool.js';
import { maxPool2d as routedMaxPool2d } from '../../lib/backend/js/native-pool.js';
import { maxPool2d, noGrad, tensor, tidy } from '../../lib/index.js';
import { cpu, noCpuLabel, rng, SEED, type F } from './cpu-util.js';

const threads0 = cpu ? cpu.cpuInfo().threads : 1;
afterAll(() => cpu?.cpuSetNumThreads(threads0));

function outSize(inp: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = inp + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= inp + p) o--;
  return o;
}

interface Case {
  n: number;
  c: number;
  h: number;
  w: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  ceil: boolean;
}
const cs = (n: number, c: number, h: number, w: number, k: [number, number], o: Partial<Case> = {}): Case => ({
  n,
  c,
  h,
  w,
  k,
  s: o.s ?? k,
  p: o.p ?? [0, 0],
  d: o.d ?? [1, 1],
  ceil: o.ceil ?? false,
});
const cases: Case[] = [
  cs(4, 16, 24, 24, [2, 2]), // MNIST pool 1: the SSE2 fast path
  cs(2, 3, 13, 19, [2, 2]), // odd: a row and a column left over, fast-path tail
  cs(2, 2, 9, 10, [3, 3], { s: [2, 2], p: [1, 1] }), // overlapping, padded
  cs(1, 3, 11, 12, [2, 3], { s: [2, 2], d: [2, 1], ceil: true }), // dilation, ceil mode
  cs(3, 1, 7, 5, [3, 2], { s: [1, 1] }), // stride 1
  cs(1, 2, 5, 9, [1, 1], { s: [2, 3] }), // 1 × 1 windows, skipping cells
];

function params(c: Case): Pool2dParams {
  return {
    batch: c.n,
    channels: c.c,
    inH: c.h,
    inW: c.w,
    outH: outSize(c.h, c.k[0], c.s[0], c.p[0], c.d[0], c.ceil),
    outW: outSize(c.w, c.k[1], c.s[1], c.p[1], c.d[1], c.ceil),
    kH: c.k[0],
    kW: c.k[1],
    strideH: c.s[0],
    strideW: c.s[1],
    padH: c.p[0],
    padW: c.p[1],
    dilationH: c.d[0],
    dilationW: c.d[1],
    countIncludePad: true,
  };
}

/** random values with NaNs (sparse, so most fast-path groups have none), signed zeros and repeated values */
function input(dtype: 'float32' | 'float64', len: number, r: () => number): F {
  const a = dtype === 'float32' ? new Float32Array(len) : new Float64Array(len);
  for (let i = 0; i < len; i++) {
    const u = r() + 0.5;
    a[i] = u < 0.004 ? NaN : u < 0.05 ? -0 : u < 0.1 ? 0 : u < 0.2 ? 0.25 : 2 * r();
  }
  return a;
}

const bitsOf = (a: F): string[] => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)));

describe('max pooling without indices', () => {
  it(`the js kernel with a null argmax writes the indices path's values (seed ${SEED})`, () => {
    let seed = SEED;
    let nanCases = 0,
      negZeroCases = 0;
    for (const c of cases)
      for (const dtype of ['float32', 'float64'] as const) {
        const p = params(c);
        const x = input(dtype, c.n * c.c * c.h * c.w, rng(++seed));
        const ny = c.n * c.c * p.outH * p.outW;
        const want = dtype === 'float32' ? new Float32Array(ny) : new Float64Array(ny);
        jsPool.maxPool2d(new JsHandle(x, dtype), new JsHandle(want, dtype), new JsHandle(new Int32Array(ny), 'int32'), p, dtype);
        const got = dtype === 'float32' ? new Float32Array(ny).fill(7) : new Float64Array(ny).fill(7);
        jsPool.maxPool2d(new JsHandle(x, dtype), new JsHandle(got, dtype), null, p, dtype);
        expect(bitsOf(got), `${JSON.stringify(c)} ${dtype}`).toEqual(bitsOf(want));
        if (want.some((v) => Number.isNaN(v))) nanCases++;
        if (want.some((v) => Object.is(v, -0))) negZeroCases++;
      }
    expect(nanCases, 'some outputs are NaN (the NaN rule is exercised)').toBeGreaterThan(0);
    expect(negZeroCases, 'some outputs are -0 (the tie rule is exercised)').toBeGreaterThan(0);
  });

  it('the op: values under noGrad equal the training path, which still has its gradient', () => {
    const r = rng(SEED + 5);
    const v = Array.from({ length: 2 * 3 * 9 * 11 }, () => 2 * r());
    const y0 = noGrad(() => tidy(() => Array.from(maxPool2d(tensor(v).reshape([2, 3, 9, 11]), 2).dataSync())));
    const x = tensor(v).reshape([2, 3, 9, 11]);
    x.requiresGrad = true;
    const y = maxPool2d(x, 2);
    expect(Array.from(y.dataSync())).toEqual(y0);
    y.sum().backward();
    const g = Array.from(x.grad!.dataSync());
    expect(g.filter((e) => e === 1).length).toBe(y.size); // one 1 per window (distinct random values), zeros elsewhere
    expect(g.filter((e) => e !== 0 && e !== 1).length).toBe(0);
  });
});

describe.skipIf(!cpu || typeof cpu.cpuMaxPool2dValues !== 'function')(`native cpuMaxPool2dValues${noCpuLabel}`, () => {
  it(`equals cpuMaxPool2d's values bit for bit, 1 and 2 threads, poisoned outputs (seed ${SEED})`, () => {
    let seed = SEED + 100;
    for (const threads of [1, 2]) {
      cpu!.cpuSetNumThreads(threads);
      for (const c of cases)
        for (const dtype of ['float32', 'float64'] as const) {
          const p = params(c);
          const x = input(dtype, c.n * c.c * c.h * c.w, rng(++seed));
          const ny = c.n * c.c * p.outH * p.outW;
          const want = dtype === 'float32' ? new Float32Array(ny) : new Float64Array(ny);
          jsPool.maxPool2d(new JsHandle(x, dtype), new JsHandle(want, dtype), new JsHandle(new Int32Array(ny), 'int32'), p, dtype);
          const got = dtype === 'float32' ? new Float32Array(ny).fill(NaN) : new Float64Array(ny).fill(NaN);
          cpu!.cpuMaxPool2dValues(
            x,
            got,
            p.batch,
            p.channels,
            p.inH,
            p.inW,
            p.outH,
            p.outW,
            p.kH,
            p.kW,
            p.strideH,
            p.strideW,
            p.padH,
            p.padW,
            p.dilationH,
            p.dilationW,
          );
          expect(bitsOf(got), `${JSON.stringify(c)} ${dtype} ${threads} threads`).toEqual(bitsOf(want));
          // and the js backend's routed kernel (null argmax) takes the native path with the same result
          const routed = dtype === 'float32' ? new Float32Array(ny).fill(3) : new Float64Array(ny).fill(3);
          routedMaxPool2d(new JsHandle(x, dtype), new JsHandle(routed, dtype), null, p, dtype);
          expect(bitsOf(routed)).toEqual(bitsOf(want));
        }
    }
  });

  it('refuses a window with more padding than half the kernel (RangeError naming it)', () => {
    const x = new Float32Array(16),
      y = new Float32Array(16);
    expect(() => cpu!.cpuMaxPool2dValues(x, y, 1, 1, 4, 4, 4, 4, 2, 2, 1, 1, 2, 0, 1, 1)).toThrow(/at most half the kernel/);
  });
});
