// The addon's conv2d and pooling CPU kernels (native/cpu/conv2d.cc, pool2d.cc) against the js
// backend's kernels, the reference: fresh random inputs (seed printed in failures), odd shapes
// (channels and sizes that are no multiple of any vector width, stride 2, padding, dilation,
// groups, depthwise, batch 1, 1×1 kernels, images split over several chunks), outputs poisoned
// with NaN beforehand, float32 and float64, on every ISA this CPU supports (in process via
// cpuSelectIsa, and through WATTGRAD_CPU_ISA in a child process). conv2d is checked against a
// rigorous rounding bound (the GEMM accumulates in the dtype, the js kernel in double); pooling
// must equal the js kernel bit for bit. Results identical for 1, 2 and 3 threads and run to
// run; the routing in the js backend (native when it can, js for what it cannot); argument checks.
// Run with a cpu build:
//   npm run build:native -- --no-cuda --out=build/conv
//   WATTGRAD_NATIVE=$PWD/build/conv/Release/wattgrad.node npx vitest run test/native/cpu-conv.test.ts
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Conv2dParams, Pool2dParams } from '../../lib/backend/kernels.js';
import { JsHandle } from '../../lib/backend/js/handle.js';
import * as jsConv from '../../lib/backend/js/conv2d.js';
import * as jsPool from '../../lib/backend/js/pool.js';
import * as routed from '../../lib/backend/js/native-conv.js';
import type { NativeConvBinding } from '../../lib/backend/js/native-conv.js';
import { resetNativeCpuForTests } from '../../lib/backend/js/native-cpu.js';
import { manualSeed, randint, randn, tidy } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';
import { mnistCnn } from '../../lib/models/index.js';
import { addonPath, cpu, noCpuLabel, randArray, rng, SEED, type F } from './cpu-util.js';

const conv =
  cpu && typeof (cpu as unknown as Partial<NativeConvBinding>).cpuConv2d === 'function' ? (cpu as unknown as NativeConvBinding) : null;
const label = noCpuLabel || (conv ? '' : ' [skipped: the loaded addon has no conv2d kernels (rebuild: npm run build:native)]');
const isas = conv ? cpu!.cpuInfo().supportedIsas : [];
const initial = conv ? { isa: cpu!.cpuInfo().isa, threads: cpu!.cpuGetNumThreads() } : null;
afterAll(() => {
  if (conv && initial) {
    cpu!.cpuSelectIsa(initial.isa);
    cpu!.cpuSetNumThreads(initial.threads);
  }
});

type DT = 'float32' | 'float64';
const h = (a: F | Int32Array, dtype: DT | 'int32'): JsHandle => new JsHandle(a, dtype);
const alloc = (dtype: DT, n: number): F => (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n));

interface CS {
  n: number;
  c: number;
  hw: [number, number];
  k: number;
  r: [number, number];
  s?: [number, number];
  p?: [number, number];
  d?: [number, number];
  g?: number;
}

function cp(s: CS): Conv2dParams {
  const [inH, inW] = s.hw,
    [kH, kW] = s.r,
    [strideH, strideW] = s.s ?? [1, 1],
    [padH, padW] = s.p ?? [0, 0],
    [dilationH, dilationW] = s.d ?? [1, 1];
  const out = (i: number, k: number, st: number, pd: number, dl: number): number =>
    Math.max(0, Math.floor((i + 2 * pd - dl * (k - 1) - 1) / st) + 1);
  return {
    batch: s.n,
    inC: s.c,
    inH,
    inW,
    outC: s.k,
    kH,
    kW,
    outH: out(inH, kH, strideH, padH, dilationH),
    outW: out(inW, kW, strideW, padW, dilationW),
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups: s.g ?? 1,
  };
}

const geom = (
  p: Conv2dParams,
): [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number] => [
  p.batch,
  p.inC,
  p.inH,
  p.inW,
  p.outC,
  p.kH,
  p.kW,
  p.outH,
  p.outW,
  p.strideH,
  p.strideW,
  p.padH,
  p.padW,
  p.dilationH,
  p.dilationW,
  p.groups,
];

const CONV: CS[] = [
  { n: 1, c: 1, hw: [5, 5], k: 1, r: [3, 3] },
  { n: 2, c: 3, hw: [11, 13], k: 5, r: [3, 3], p: [1, 1] },
  { n: 3, c: 7, hw: [17, 9], k: 19, r: [5, 3], s: [2, 2], p: [2, 1] },
  { n: 2, c: 6, hw: [15, 15], k: 9, r: [3, 3], d: [2, 3], p: [2, 3] },
  { n: 2, c: 6, hw: [10, 12], k: 9, r: [3, 3], g: 3, p: [1, 1] },
  { n: 3, c: 8, hw: [9, 9], k: 8, r: [3, 3], g: 8, p: [1, 1], s: [2, 1] }, // depthwise
  { n: 2, c: 13, hw: [7, 11], k: 17, r: [1, 1] }, // 1×1: no im2col
  { n: 2, c: 12, hw: [7, 11], k: 6, r: [1, 1], g: 2 }, // 1×1, groups
  { n: 2, c: 5, hw: [9, 8], k: 3, r: [1, 1], s: [2, 2] }, // 1×1 strided: im2col
  { n: 1, c: 2, hw: [3, 4], k: 3, r: [5, 5], p: [1, 2] }, // kernel larger than the image
  { n: 2, c: 3, hw: [2, 2], k: 2, r: [3, 3] }, // empty output
  { n: 1, c: 16, hw: [28, 28], k: 33, r: [5, 5], p: [2, 2] },
  { n: 5, c: 8, hw: [40, 40], k: 10, r: [5, 5], p: [2, 2] }, // several chunks (forward, grad-weight)
  { n: 64, c: 4, hw: [6, 7], k: 5, r: [2, 2], s: [2, 2] }, // many small images
  // the direct kernels (conv_direct.h: stride 1, one group, rows of at least half a vector):
  { n: 3, c: 16, hw: [14, 14], k: 32, r: [5, 5], p: [2, 2] }, // the small CNN's conv2: masked row tails
  { n: 2, c: 3, hw: [19, 17], k: 7, r: [3, 3], p: [1, 1] }, // channel tail of the tile, a 1-lane segment
  { n: 2, c: 4, hw: [9, 12], k: 8, r: [3, 3], p: [3, 2] }, // padding > kernel - 1: grad-input falls back
  { n: 17, c: 2, hw: [11, 33], k: 12, r: [2, 4], p: [0, 1], d: [3, 1] }, // 33-wide rows, dilation, odd taps
];

type Pass = 'fwd' | 'gi' | 'gw';
interface ConvData {
  x: F;
  w: F;
  dy: F;
}

function convData(dtype: DT, p: Conv2dParams, seed: number): ConvData {
  const r = rng(seed);
  return {
    x: randArray(dtype, p.batch * p.inC * p.inH * p.inW, r),
    w: randArray(dtype, p.outC * (p.inC / p.groups) * p.kH * p.kW, r),
    dy: randArray(dtype, p.batch * p.outC * p.outH * p.outW, r),
  };
}

function outLen(p: Conv2dParams, pass: Pass): number {
  return pass === 'fwd'
    ? p.batch * p.outC * p.outH * p.outW
    : pass === 'gi'
      ? p.batch * p.inC * p.inH * p.inW
      : p.outC * (p.inC / p.groups) * p.kH * p.kW;
}

function nativeConv(dtype: DT, p: Conv2dParams, d: ConvData, pass: Pass): F {
  const out = alloc(dtype, outLen(p, pass)).fill(NaN); // poisoned: every element must be written
  if (pass === 'fwd') conv!.cpuConv2d(d.x, d.w, out, ...geom(p));
  else if (pass === 'gi') conv!.cpuConv2dGradInput(d.dy, d.w, out, ...geom(p));
  else conv!.cpuConv2dGradWeight(d.x, d.dy, out, ...geom(p));
  return out;
}

/** The js kernel of a pass, in `dtype` (the reference) or in float64 on |inputs| (the error scale). */
function jsConvPass(dtype: DT, p: Conv2dParams, d: ConvData, pass: Pass): F {
  const out = alloc(dtype, outLen(p, pass));
  if (pass === 'fwd') jsConv.conv2d(h(d.x, dtype), h(d.w, dtype), h(out, dtype), p, dtype);
  else if (pass === 'gi') jsConv.conv2dGradInput(h(d.dy, dtype), h(d.w, dtype), h(out, dtype), p, dtype);
  else jsConv.conv2dGradWeight(h(d.x, dtype), h(d.dy, dtype), h(out, dtype), p, dtype);
  return out;
}

function absData(d: ConvData): ConvData {
  const abs = (a: F): Float64Array => Float64Array.from(a, Math.abs);
  return { x: abs(d.x), w: abs(d.w), dy: abs(d.dy) };
}

/** The longest sum behind one output element of a pass. */
function reduction(p: Conv2dParams, pass: Pass): number {
  const cg = p.inC / p.groups,
    kg = p.outC / p.groups;
  return pass === 'fwd' ? cg * p.kH * p.kW : pass === 'gi' ? kg * p.kH * p.kW : p.batch * p.outH * p.outW;
}

/** null, or the first element where |native − js| exceeds 2(k+2)·eps·Σ|terms| (holds for any summation order). */
function convBad(dtype: DT, p: Conv2dParams, d: ConvData, pass: Pass, got: F): string | null {
  const ref = jsConvPass(dtype, p, d, pass);
  const scale = jsConvPass('float64', p, absData(d), pass);
  const k = reduction(p, pass);
  const eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  if (got.length !== ref.length) return `length ${got.length} vs ${ref.length}`;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i]! - ref[i]!);
    if (!(e <= 2 * (k + 2) * eps * scale[i]! + Number.MIN_VALUE)) return `element ${i}: native ${got[i]}, js ${ref[i]} (scale ${scale[i]})`;
  }
  return null;
}

const same = (a: F | Int32Array, b: F | Int32Array): boolean =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// ---- pooling ----

interface PS {
  n: number;
  c: number;
  hw: [number, number];
  k: [number, number];
  s?: [number, number];
  p?: [number, number];
  d?: [number, number];
  inc?: boolean;
}

function pp(s: PS): Pool2dParams {
  const [inH, inW] = s.hw,
    [kH, kW] = s.k,
    [strideH, strideW] = s.s ?? s.k,
    [padH, padW] = s.p ?? [0, 0],
    [dilationH, dilationW] = s.d ?? [1, 1];
  const out = (i: number, k: number, st: number, pd: number, dl: number): number =>
    Math.max(0, Math.floor((i + 2 * pd - dl * (k - 1) - 1) / st) + 1);
  return {
    batch: s.n,
    channels: s.c,
    inH,
    inW,
    outH: out(inH, kH, strideH, padH, dilationH),
    outW: out(inW, kW, strideW, padW, dilationW),
    kH,
    kW,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    countIncludePad: s.inc ?? true,
  };
}

const qgeom = (
  p: Pool2dParams,
): [number, number, number, number, number, number, number, number, number, number, number, number, number, number] => [
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
];

const POOL: PS[] = [
  { n: 2, c: 3, hw: [8, 8], k: [2, 2] },
  { n: 1, c: 5, hw: [13, 11], k: [3, 3], s: [2, 2] }, // overlapping windows
  { n: 2, c: 3, hw: [9, 10], k: [3, 2], s: [2, 1], p: [1, 1], inc: false },
  { n: 2, c: 2, hw: [9, 10], k: [3, 3], s: [1, 2], p: [1, 1], inc: true },
  { n: 1, c: 4, hw: [15, 14], k: [3, 2], s: [2, 3], d: [2, 2], p: [1, 0] },
  { n: 3, c: 17, hw: [7, 7], k: [7, 7], s: [1, 1] }, // global
  { n: 64, c: 8, hw: [12, 12], k: [2, 2] }, // many planes over the threads
  { n: 3, c: 5, hw: [9, 23], k: [2, 2] }, // the 2×2/2 float32 fast path: odd sizes, a scalar tail of 3
];

/** Inputs with ties, ±0 and a few NaN (max pooling's rule for them is checked too). */
function poolInput(dtype: DT, n: number, seed: number, nan: boolean): F {
  const r = rng(seed);
  const a = alloc(dtype, n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < -0.4 ? Math.round(u * 4) / 4 : nan && u > 0.48 ? NaN : u < -0.35 ? -0 : 2 * u;
  }
  return a;
}

describe.skipIf(!conv)(`native CPU conv2d vs the js kernels${label}`, () => {
  for (const isa of isas) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${isa} ${dtype}: forward, grad-input, grad-weight on odd shapes, poisoned outputs`, () => {
        expect(cpu!.cpuSelectIsa(isa)).toBe(true);
        let seed = SEED;
        for (const s of CONV) {
          const p = cp(s);
          const d = convData(dtype, p, seed++);
          for (const pass of ['fwd', 'gi', 'gw'] as const) {
            const bad = convBad(dtype, p, d, pass, nativeConv(dtype, p, d, pass));
            expect(bad, `${isa} ${dtype} ${pass} ${JSON.stringify(s)} seed ${seed - 1}: ${bad}`).toBeNull();
          }
        }
      });
    }
  }

  it('inf and NaN in the input reach exactly the outputs they touch, on every ISA (the direct kernels read past row ends)', () => {
    // column 0 and the last column of a row: the lanes past the end of one row read the next one
    const shapes = [CONV[14]!, CONV[15]!, CONV[17]!, CONV[2]!];
    for (const isa of isas) {
      cpu!.cpuSelectIsa(isa);
      shapes.forEach((s, si) => {
        const p = cp(s);
        const d = convData('float32', p, SEED + 57 * si);
        const plane = p.inH * p.inW;
        const at = (n: number, c: number, hh: number, ww: number): number => (n * p.inC + c) * plane + hh * p.inW + ww;
        d.x[at(0, 0, 1, 0)] = Infinity;
        d.x[at(p.batch - 1, p.inC - 1, p.inH - 2, p.inW - 1)] = -Infinity;
        d.x[at(0, p.inC - 1, Math.floor(p.inH / 2), p.inW - 1)] = NaN;
        d.dy[((p.batch - 1) * p.outC + 0) * p.outH * p.outW + p.outW] = Infinity; // row 1, column 0 of dy
        for (const pass of ['fwd', 'gi', 'gw'] as const) {
          const got = nativeConv('float32', p, d, pass);
          const ref = jsConvPass('float32', p, d, pass);
          let nonFinite = 0;
          for (let i = 0; i < ref.length; i++) {
            const r = ref[i]!,
              g = got[i]!;
            const where = `${isa} ${pass} ${JSON.stringify(s)} element ${i}: native ${g}, js ${r}`;
            if (Number.isNaN(r) || !Number.isFinite(r)) {
              nonFinite++;
              expect(Object.is(g, r) || (Number.isNaN(g) && Number.isNaN(r)), where).toBe(true);
            } else expect(Math.abs(g - r) <= 1e-4 * (1 + Math.abs(r)), where).toBe(true);
          }
          expect(nonFinite, `${isa} ${pass}: the inf/NaN inputs reach some outputs`).toBeGreaterThan(0);
        }
      });
    }
    cpu!.cpuSelectIsa(initial!.isa);
  });

  it('results are identical for 1, 2 and 3 threads and run to run, on every ISA', () => {
    const shapes = [CONV[2]!, CONV[4]!, CONV[11]!, CONV[12]!, CONV[13]!, CONV[14]!, CONV[15]!, CONV[17]!];
    for (const isa of isas) {
      cpu!.cpuSelectIsa(isa);
      for (const dtype of ['float32', 'float64'] as const) {
        shapes.forEach((s, si) => {
          const p = cp(s);
          const d = convData(dtype, p, SEED + 31 * si);
          for (const pass of ['fwd', 'gi', 'gw'] as const) {
            cpu!.cpuSetNumThreads(1);
            const one = nativeConv(dtype, p, d, pass);
            for (const t of [2, 3]) {
              cpu!.cpuSetNumThreads(t);
              expect(
                same(nativeConv(dtype, p, d, pass), one),
                `${isa} ${dtype} ${pass} ${JSON.stringify(s)}: ${t} threads differ from 1`,
              ).toBe(true);
            }
            expect(same(nativeConv(dtype, p, d, pass), one), `${isa} ${dtype} ${pass} ${JSON.stringify(s)}: run to run`).toBe(true);
          }
        });
      }
    }
    cpu!.cpuSetNumThreads(initial!.threads);
    cpu!.cpuSelectIsa(initial!.isa);
  });

  it('the direct kernels split a batch into chunks of images with the same results, bit for bit (WATTGRAD_CONV_CHUNK_FLOATS, child process)', () => {
    // chunks of 1-2 images instead of 16 MiB: forward and grad-input per chunk, grad-weight's sums carried across
    const shapes = [CONV[14]!, CONV[15]!, CONV[17]!];
    for (const isa of isas) {
      shapes.forEach((s, si) => {
        const p = cp(s);
        const d = convData('float32', p, SEED + 91 * si);
        const script = `
          const b = require(${JSON.stringify(addonPath)});
          const { x, w, dy, g } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
          const out = (n) => new Float32Array(n).fill(NaN);
          const y = out(${outLen(p, 'fwd')}), dx = out(${outLen(p, 'gi')}), dw = out(${outLen(p, 'gw')});
          b.cpuConv2d(Float32Array.from(x), Float32Array.from(w), y, ...g);
          b.cpuConv2dGradInput(Float32Array.from(dy), Float32Array.from(w), dx, ...g);
          b.cpuConv2dGradWeight(Float32Array.from(x), Float32Array.from(dy), dw, ...g);
          process.stdout.write(JSON.stringify({ y: Array.from(y), dx: Array.from(dx), dw: Array.from(dw) }));`;
        const input = JSON.stringify({ x: Array.from(d.x), w: Array.from(d.w), dy: Array.from(d.dy), g: geom(p) });
        const plane = p.inC * (p.inH + 2 * p.padH) * (p.inW + 2 * p.padW);
        const r = JSON.parse(
          execFileSync(process.execPath, ['-e', script], {
            input,
            env: { ...process.env, WATTGRAD_CPU_ISA: isa, WATTGRAD_NUM_THREADS: '2', WATTGRAD_CONV_CHUNK_FLOATS: String(plane + 1) },
            encoding: 'utf8',
            maxBuffer: 1 << 26,
          }),
        ) as { y: number[]; dx: number[]; dw: number[] };
        cpu!.cpuSelectIsa(isa);
        for (const [pass, got] of [
          ['fwd', r.y],
          ['gi', r.dx],
          ['gw', r.dw],
        ] as const)
          expect(
            same(Float32Array.from(got), nativeConv('float32', p, d, pass)),
            `${isa} ${pass} ${JSON.stringify(s)}: chunked differs`,
          ).toBe(true);
      });
    }
    cpu!.cpuSelectIsa(initial!.isa);
  });

  it('WATTGRAD_CPU_ISA picks each supported ISA at load (child process) and conv2d matches the reference', () => {
    const p = cp(CONV[2]!);
    const d = convData('float32', p, SEED + 77);
    const script = `
      const b = require(${JSON.stringify(addonPath)});
      const { x, w, dy, g } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const out = (n) => new Float32Array(n).fill(NaN);
      const y = out(${outLen(p, 'fwd')}), dx = out(${outLen(p, 'gi')}), dw = out(${outLen(p, 'gw')});
      b.cpuConv2d(Float32Array.from(x), Float32Array.from(w), y, ...g);
      b.cpuConv2dGradInput(Float32Array.from(dy), Float32Array.from(w), dx, ...g);
      b.cpuConv2dGradWeight(Float32Array.from(x), Float32Array.from(dy), dw, ...g);
      process.stdout.write(JSON.stringify({ isa: b.cpuInfo().isa, y: Array.from(y), dx: Array.from(dx), dw: Array.from(dw) }));`;
    const input = JSON.stringify({ x: Array.from(d.x), w: Array.from(d.w), dy: Array.from(d.dy), g: geom(p) });
    for (const isa of isas) {
      const r = JSON.parse(
        execFileSync(process.execPath, ['-e', script], {
          input,
          env: { ...process.env, WATTGRAD_CPU_ISA: isa, WATTGRAD_NUM_THREADS: '2' },
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        }),
      ) as { isa: string; y: number[]; dx: number[]; dw: number[] };
      expect(r.isa).toBe(isa);
      expect(convBad('float32', p, d, 'fwd', Float32Array.from(r.y)), isa).toBeNull();
      expect(convBad('float32', p, d, 'gi', Float32Array.from(r.dx)), isa).toBeNull();
      expect(convBad('float32', p, d, 'gw', Float32Array.from(r.dw)), isa).toBeNull();
    }
  });

  it('batch 0 writes nothing; an empty output zeroes the gradients', () => {
    const p = cp({ n: 2, c: 3, hw: [2, 2], k: 2, r: [3, 3] }); // outH = outW = 0
    const d = convData('float32', p, SEED + 5);
    expect(Array.from(nativeConv('float32', p, d, 'gi'))).toEqual(new Array(outLen(p, 'gi')).fill(0));
    expect(Array.from(nativeConv('float32', p, d, 'gw'))).toEqual(new Array(outLen(p, 'gw')).fill(0));
    const p0 = cp({ n: 0, c: 3, hw: [5, 5], k: 2, r: [3, 3] });
    const untouched = new Float32Array(4).fill(7);
    conv!.cpuConv2d(new Float32Array(0), new Float32Array(54), untouched, ...geom(p0));
    expect(Array.from(untouched)).toEqual([7, 7, 7, 7]);
    const dw = new Float32Array(54).fill(NaN);
    conv!.cpuConv2dGradWeight(new Float32Array(0), new Float32Array(0), dw, ...geom(p0));
    expect(Array.from(dw)).toEqual(new Array(54).fill(0));
  });

  it('checks its arguments: count, lengths, dtypes, overlap, groups, strides', () => {
    const p = cp({ n: 2, c: 4, hw: [6, 6], k: 4, r: [3, 3], g: 2 });
    const f = (n: number): Float32Array => new Float32Array(n);
    const [xs, ws, ys] = [2 * 4 * 36, 4 * 2 * 9, 2 * 4 * 16];
    expect(() => conv!.cpuConv2d(f(xs - 1), f(ws), f(ys), ...geom(p))).toThrow(/cpuConv2d: x holds 287 elements, needs 288/);
    expect(() => conv!.cpuConv2dGradInput(f(ys), f(ws), f(xs - 2), ...geom(p))).toThrow(
      /cpuConv2dGradInput: dx holds 286 elements, needs 288/,
    );
    expect(() => conv!.cpuConv2dGradWeight(f(xs), new Float64Array(ys), f(ws), ...geom(p))).toThrow(
      /cpuConv2dGradWeight: x, dy and dw must have the same/,
    );
    expect(() => conv!.cpuConv2d(new Int32Array(xs) as unknown as F, f(ws), f(ys), ...geom(p))).toThrow(
      /x must be a Float32Array or Float64Array/,
    );
    const shared = f(xs + ys);
    expect(() => conv!.cpuConv2d(shared.subarray(0, xs), f(ws), shared.subarray(xs - 1), ...geom(p))).toThrow(/cpuConv2d: y overlaps x/);
    const g = geom(p);
    g[15] = 3;
    expect(() => conv!.cpuConv2d(f(xs), f(ws), f(ys), ...g)).toThrow(/channels \(4 in, 4 out\) must be divisible by groups 3/);
    const s = geom(p);
    s[9] = 0;
    expect(() => conv!.cpuConv2d(f(xs), f(ws), f(ys), ...s)).toThrow(/strides and dilations must be >= 1/);
    const neg = geom(p);
    neg[11] = -1;
    expect(() => conv!.cpuConv2d(f(xs), f(ws), f(ys), ...neg)).toThrow(/padH must be a non-negative integer/);
    expect(() => (conv!.cpuConv2d as unknown as (...a: unknown[]) => void)(f(xs), f(ws), f(ys))).toThrow(
      /cpuConv2d: expected 19 arguments/,
    );
  });
});

describe.skipIf(!conv)(`native CPU pooling vs the js kernels, bit for bit${label}`, () => {
  for (const isa of isas) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${isa} ${dtype}: max / avg / adaptive avg, forward and backward, poisoned outputs`, () => {
        cpu!.cpuSelectIsa(isa);
        let seed = SEED + 500;
        for (const s of POOL) {
          const p = pp(s);
          const xn = p.batch * p.channels * p.inH * p.inW,
            yn = p.batch * p.channels * p.outH * p.outW;
          const x = poolInput(dtype, xn, seed++, true);
          const dy = randArray(dtype, yn, rng(seed++));
          const tag = `${isa} ${dtype} ${JSON.stringify(s)} seed ${seed - 2}`;
          // max
          const y = alloc(dtype, yn).fill(NaN),
            am = new Int32Array(yn).fill(-7);
          conv!.cpuMaxPool2d(x, y, am, ...qgeom(p));
          const yr = alloc(dtype, yn),
            amr = new Int32Array(yn);
          jsPool.maxPool2d(h(x, dtype), h(yr, dtype), h(amr, 'int32'), p, dtype);
          expect(same(y, yr), `maxPool2d ${tag}`).toBe(true);
          expect(same(am, amr), `maxPool2d argmax ${tag}`).toBe(true);
          const dx = alloc(dtype, xn).fill(NaN),
            dxr = alloc(dtype, xn);
          conv!.cpuMaxPool2dBackward(dy, amr, dx, ...qgeom(p));
          jsPool.maxPool2dBackward(h(dy, dtype), h(amr, 'int32'), h(dxr, dtype), p, dtype);
          expect(same(dx, dxr), `maxPool2dBackward ${tag}`).toBe(true);
          // avg (no NaN in the input: a NaN sum would hide the rounding check)
          const xa = poolInput(dtype, xn, seed++, false);
          for (const inc of [true, false]) {
            const q = { ...p, countIncludePad: inc };
            const ya = alloc(dtype, yn).fill(NaN),
              yar = alloc(dtype, yn);
            conv!.cpuAvgPool2d(xa, ya, ...qgeom(q), inc);
            jsPool.avgPool2d(h(xa, dtype), h(yar, dtype), q, dtype);
            expect(same(ya, yar), `avgPool2d include=${inc} ${tag}`).toBe(true);
            const dxa = alloc(dtype, xn).fill(NaN),
              dxar = alloc(dtype, xn);
            conv!.cpuAvgPool2dBackward(dy, dxa, ...qgeom(q), inc);
            jsPool.avgPool2dBackward(h(dy, dtype), h(dxar, dtype), q, dtype);
            expect(same(dxa, dxar), `avgPool2dBackward include=${inc} ${tag}`).toBe(true);
          }
        }
        // adaptive: sizes that do not divide (overlapping windows), up- and down-sampling
        for (const [inH, inW, outH, outW] of [
          [7, 9, 3, 4],
          [5, 5, 7, 2],
          [13, 6, 1, 1],
          [8, 8, 4, 4],
        ] as const) {
          const [b, c] = [2, 3];
          const x = poolInput(dtype, b * c * inH * inW, seed++, false);
          const dy = randArray(dtype, b * c * outH * outW, rng(seed++));
          const y = alloc(dtype, dy.length).fill(NaN),
            yr = alloc(dtype, dy.length);
          conv!.cpuAdaptiveAvgPool2d(x, y, b, c, inH, inW, outH, outW);
          jsPool.adaptiveAvgPool2d(h(x, dtype), h(yr, dtype), b, c, inH, inW, outH, outW, dtype);
          expect(same(y, yr), `adaptiveAvgPool2d ${isa} ${dtype} ${inH}x${inW}->${outH}x${outW}`).toBe(true);
          const dx = alloc(dtype, x.length).fill(NaN),
            dxr = alloc(dtype, x.length);
          conv!.cpuAdaptiveAvgPool2dBackward(dy, dx, b, c, inH, inW, outH, outW);
          jsPool.adaptiveAvgPool2dBackward(h(dy, dtype), h(dxr, dtype), b, c, inH, inW, outH, outW, dtype);
          expect(same(dx, dxr), `adaptiveAvgPool2dBackward ${isa} ${dtype} ${inH}x${inW}->${outH}x${outW}`).toBe(true);
        }
      });
    }
  }

  it('pooling is identical for 1 and 3 threads', () => {
    const p = pp(POOL[6]!);
    const x = poolInput('float32', p.batch * p.channels * p.inH * p.inW, SEED + 3, true);
    const run = (): [Float32Array, Int32Array] => {
      const y = new Float32Array(p.batch * p.channels * p.outH * p.outW),
        am = new Int32Array(y.length);
      conv!.cpuMaxPool2d(x, y, am, ...qgeom(p));
      return [y, am];
    };
    cpu!.cpuSetNumThreads(1);
    const [y1, a1] = run();
    cpu!.cpuSetNumThreads(3);
    const [y3, a3] = run();
    cpu!.cpuSetNumThreads(initial!.threads);
    expect(same(y1, y3) && same(a1, a3)).toBe(true);
  });

  it('maxPool2dBackward on 2×2/2 windows: -1 and an argmax outside its own window (in range) scatter as in the js kernel', () => {
    const p = pp({ n: 2, c: 3, hw: [9, 11], k: [2, 2] }); // odd sizes: a last row and column in no window
    const n = p.batch * p.channels * p.outH * p.outW;
    const x = poolInput('float32', p.batch * p.channels * p.inH * p.inW, SEED + 5, true) as Float32Array;
    const y = new Float32Array(n),
      am = new Int32Array(n);
    conv!.cpuMaxPool2d(x, y, am, ...qgeom(p));
    const dy = randArray('float32', n, rng(SEED + 6)) as Float32Array;
    dy[3] = -0;
    for (const edit of [(a: Int32Array) => a, (a: Int32Array) => ((a[2] = -1), a), (a: Int32Array) => ((a[p.outH * p.outW + 7] = 0), a)]) {
      const a = edit(Int32Array.from(am));
      const dx = new Float32Array(x.length).fill(NaN),
        dxr = new Float32Array(x.length).fill(NaN);
      conv!.cpuMaxPool2dBackward(dy, a, dx, ...qgeom(p));
      jsPool.maxPool2dBackward(h(dy, 'float32'), h(a, 'int32'), h(dxr, 'float32'), p, 'float32');
      expect(same(dx, dxr)).toBe(true);
    }
  });

  it('maxPool2dBackward refuses an argmax out of range, like the js kernel', () => {
    const p = pp({ n: 1, c: 2, hw: [4, 4], k: [2, 2] });
    const am = new Int32Array(8);
    am[5] = 16;
    expect(() => conv!.cpuMaxPool2dBackward(new Float32Array(8), am, new Float32Array(32), ...qgeom(p))).toThrow(
      /cpuMaxPool2dBackward: argmax 16 out of range \[0, 16\)/,
    );
    expect(() =>
      jsPool.maxPool2dBackward(h(new Float32Array(8), 'float32'), h(am, 'int32'), h(new Float32Array(32), 'float32'), p, 'float32'),
    ).toThrow(/maxPool2dBackward: argmax 16 out of range \[0, 16\)/);
    expect(() => conv!.cpuMaxPool2d(new Float32Array(32), new Float32Array(8), new Int32Array(7), ...qgeom(p))).toThrow(
      /cpuMaxPool2d: argmax holds 7 elements, needs 8/,
    );
  });
});

describe.skipIf(!conv)(`js backend routing of conv2d and pooling${label}`, () => {
  it('routes to the native kernel (its rounding) and falls back to js for aliased outputs', () => {
    const p = cp({ n: 2, c: 5, hw: [9, 9], k: 7, r: [3, 3], p: [1, 1] });
    const d = convData('float32', p, SEED + 11);
    const nat = nativeConv('float32', p, d, 'fwd');
    const y = new Float32Array(nat.length);
    routed.conv2d(h(d.x, 'float32'), h(d.w, 'float32'), h(y, 'float32'), p, 'float32');
    expect(same(y, nat)).toBe(true);
    // an output that shares the input's buffer goes to the js kernel
    const buf = new Float32Array(d.x.length + nat.length);
    buf.set(d.x);
    const xv = buf.subarray(0, d.x.length),
      yv = buf.subarray(d.x.length);
    routed.conv2d(h(xv, 'float32'), h(d.w, 'float32'), h(yv, 'float32'), p, 'float32');
    expect(same(yv, jsConvPass('float32', p, d, 'fwd'))).toBe(true);
    // bad groups: the js kernel's own error
    expect(() => routed.conv2d(h(d.x, 'float32'), h(d.w, 'float32'), h(y, 'float32'), { ...p, groups: 2 }, 'float32')).toThrow(
      /conv2d: channels \(5 in, 7 out\) must be divisible by groups 2/,
    );
  });
});

/** A few SGD steps of the MNIST CNN (plus an AvgPool2d / AdaptiveAvgPool2d / grouped-conv head) on random digits; the losses and final weights. */
function train(dtype: DT, kernels: 'js' | 'native'): { losses: number[]; weights: Float64Array[]; nativeConv: boolean } {
  const prev = process.env.WATTGRAD_CPU_KERNELS;
  if (kernels === 'js') process.env.WATTGRAD_CPU_KERNELS = 'js';
  else delete process.env.WATTGRAD_CPU_KERNELS;
  resetNativeCpuForTests();
  try {
    manualSeed(1234);
    const cnn = mnistCnn();
    const side = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1, stride: 2 }),
      new nn.ReLU(),
      new nn.Conv2d(4, 4, 3, { groups: 2, dilation: 2, padding: 2 }),
      new nn.AvgPool2d(3, { stride: 2, padding: 1 }),
      new nn.AdaptiveAvgPool2d(3),
      new nn.Flatten(),
      new nn.Linear(36, 10),
    );
    if (dtype === 'float64') {
      cnn.double();
      side.double();
    }
    const params = [...cnn.parameters(), ...side.parameters()];
    const opt = new optim.SGD(params, { lr: 0.05, momentum: 0.9 });
    const lossFn = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      tidy(() => {
        const x = randn([16, 1, 28, 28], { dtype });
        const y = randint(0, 10, [16]);
        const loss = lossFn.forward(cnn.forward(x).add(side.forward(x)), y);
        loss.backward();
        opt.step();
        opt.zeroGrad();
        losses.push(loss.item());
      });
    }
    const weights = params.map((q) => Float64Array.from(q.dataSync() as ArrayLike<number>));
    opt.dispose();
    cnn.dispose();
    side.dispose();
    return { losses, weights, nativeConv: routed.nativeConv() !== null };
  } finally {
    if (prev === undefined) delete process.env.WATTGRAD_CPU_KERNELS;
    else process.env.WATTGRAD_CPU_KERNELS = prev;
    resetNativeCpuForTests();
  }
}

describe.skipIf(!conv)(`end to end: a CNN trained with native kernels matches the pure-JS run${label}`, () => {
  for (const [dtype, tol] of [
    ['float32', 2e-4],
    ['float64', 1e-10],
  ] as const) {
    it(`${dtype}: 4 SGD steps, losses and weights within rounding of WATTGRAD_CPU_KERNELS=js`, () => {
      const ref = train(dtype, 'js');
      const got = train(dtype, 'native');
      expect(ref.nativeConv).toBe(false);
      expect(got.nativeConv).toBe(true);
      for (let i = 0; i < ref.losses.length; i++)
        expect(Math.abs(got.losses[i]! - ref.losses[i]!), `loss ${i}`).toBeLessThanOrEqual(tol * Math.abs(ref.losses[i]!));
      // training moved the weights (the comparison is not of an untouched init)
      expect(ref.losses[3]).not.toBe(ref.losses[0]);
      ref.weights.forEach((w, k) => {
        const g = got.weights[k]!;
        let scale = 0,
          err = 0;
        for (let i = 0; i < w.length; i++) {
          scale = Math.max(scale, Math.abs(w[i]!));
          err = Math.max(err, Math.abs(g[i]! - w[i]!));
        }
        expect(err, `parameter ${k}`).toBeLessThanOrEqual(tol * scale);
      });
    });
  }
});
