// The addon's fused optimizer steps (native/cpu/optim*.cc) against the js kernels
// (lib/backend/js/optim.ts), the reference: SGD (momentum, dampening, nesterov, weight decay,
// maximize, first step) and Adam / AdamW / amsgrad (both lerp branches: β1 above and below 0.5)
// over groups of tensors with odd sizes (1, 3, vector tails, across the 16384-element chunks), in
// float32 and float64, on every ISA this CPU supports (in-process via cpuSelectIsa, and through
// WATTGRAD_CPU_ISA in a child process). The native step does the js arithmetic element for
// element, so multi-step trajectories must be BITWISE equal; also for 1, 2 and 3 threads, through
// the js backend's routed kernel table, and the argument checks.
// Skips, saying why, when the loaded addon has no CPU kernels. Run with a cpu build:
//   node scripts/build-native.mjs --no-cuda --out=build/cpu-dev
//   WATTGRAD_NATIVE=$PWD/build/cpu-dev/Release/wattgrad.node npx vitest run test/native/cpu-optim.test.ts
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { AdamHyper, SgdHyper } from '../../lib/backend/kernels.js';
import { JsHandle } from '../../lib/backend/js/handle.js';
import { adamStep as jsAdam, sgdStep as jsSgd } from '../../lib/backend/js/optim.js';
import { jsKernels } from '../../lib/backend/js/index.js';
import type { NativeOptimBinding } from '../../lib/backend/js/native-optim.js';
import { addonPath, cpu, noCpuLabel, randArray, rng, SEED, type F } from './cpu-util.js';

const nat = cpu as unknown as (NativeOptimBinding & NonNullable<typeof cpu>) | null;
const hasOptim = !!nat && typeof nat.cpuAdamStep === 'function';
const isas = cpu ? cpu.cpuInfo().supportedIsas : [];
const initial = cpu ? { isa: cpu.cpuInfo().isa, threads: cpu.cpuGetNumThreads() } : null;
afterAll(() => {
  if (cpu && initial) {
    cpu.cpuSelectIsa(initial.isa);
    cpu.cpuSetNumThreads(initial.threads);
  }
});

type DT = 'float32' | 'float64';
const SIZES = [1, 3, 7, 16, 17, 1000, 16383, 16385, 40003];
const NUMELS = Int32Array.from(SIZES); // the native entries take the counts as an Int32Array

/** k independent copies of `count` random arrays per size (params, grads, states). */
function group(dtype: DT, sizes: number[], seed: number, scale: number[]): F[][] {
  const r = rng(seed);
  return scale.map((s) =>
    sizes.map((n) => {
      const a = randArray(dtype, n, r);
      for (let i = 0; i < n; i++) a[i] = s < 0 ? Math.abs(a[i]!) * -s : a[i]! * s; // s < 0: non-negative (v)
      return a;
    }),
  );
}
const clone = (g: F[][]): F[][] => g.map((l) => l.map((a) => a.slice()));
const H = (l: F[], dtype: DT): JsHandle[] => l.map((a) => new JsHandle(a, dtype));

/** First array/element whose bits differ (NaN equal to NaN), or null. */
function firstDiff(got: F[][], ref: F[][]): string | null {
  for (let l = 0; l < ref.length; l++)
    for (let t = 0; t < ref[l]!.length; t++) {
      const a = got[l]![t]!,
        b = ref[l]![t]!;
      for (let i = 0; i < b.length; i++)
        if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))
          return `list ${l} tensor ${t} (n=${b.length}) element ${i}: native ${a[i]}, js ${b[i]}`;
    }
  return null;
}

const SGD_CASES: Omit<SgdHyper, 'firstStep'>[] = [
  { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false },
  { lr: 0.05, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.01, maximize: true },
  { lr: 0.01, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, maximize: false },
  { lr: 0.03, momentum: 0.8, dampening: 0.1, nesterov: false, weightDecay: 1e-3, maximize: false },
  { lr: 0.02, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 5e-4, maximize: true },
];
const ADAM_CASES: Omit<AdamHyper, 'step'>[] = [
  { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: false, maximize: false },
  { lr: 2e-3, beta1: 0.9, beta2: 0.99, eps: 1e-6, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false },
  { lr: 1e-2, beta1: 0.8, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: false, amsgrad: true, maximize: false },
  { lr: 1e-3, beta1: 0.3, beta2: 0.9, eps: 1e-7, weightDecay: 0.05, decoupled: true, amsgrad: true, maximize: true },
  { lr: 5e-3, beta1: 0.5, beta2: 0.95, eps: 1e-8, weightDecay: 0, decoupled: true, amsgrad: false, maximize: true },
];

function sgdRun(dtype: DT, h: Omit<SgdHyper, 'firstStep'>, seed: number, steps: number, native: boolean): F[][] {
  const st = group(dtype, SIZES, seed, [1, 0.1, 0.01]); // p, g, buf
  const [P, G, M] = st as [F[], F[], F[]];
  const bufs = h.momentum !== 0 ? M : null;
  for (let s = 0; s < steps; s++) {
    const hh = { ...h, firstStep: s === 0 };
    if (native)
      nat!.cpuSgdStep(P, G, bufs, NUMELS, hh.lr, hh.momentum, hh.dampening, hh.nesterov, hh.weightDecay, hh.maximize, hh.firstStep);
    else jsSgd(H(P, dtype), H(G, dtype), bufs && H(bufs, dtype), SIZES, hh, dtype);
    // a fresh gradient each step (same on both sides: derived from the params)
    for (let t = 0; t < G.length; t++) for (let i = 0; i < G[t]!.length; i++) G[t]![i] = Math.sin(P[t]![i]! * 7 + s) * 0.1;
  }
  return st;
}

function adamRun(dtype: DT, h: Omit<AdamHyper, 'step'>, seed: number, steps: number, native: boolean): F[][] {
  const st = group(dtype, SIZES, seed, [1, 0.1, 0.01, -1e-3, -2e-3]); // p, g, m, v, vmax
  const [P, G, M, V, VM] = st as [F[], F[], F[], F[], F[]];
  const vmax = h.amsgrad ? VM : null;
  for (let s = 0; s < steps; s++) {
    const hh: AdamHyper = { ...h, step: s + 1 };
    if (native) {
      const stepSize = hh.lr / (1 - Math.pow(hh.beta1, hh.step));
      const bc2Sqrt = Math.sqrt(1 - Math.pow(hh.beta2, hh.step));
      nat!.cpuAdamStep(
        P,
        G,
        M,
        V,
        vmax,
        NUMELS,
        hh.lr,
        hh.beta1,
        hh.beta2,
        hh.eps,
        hh.weightDecay,
        hh.decoupled,
        hh.amsgrad,
        hh.maximize,
        stepSize,
        bc2Sqrt,
      );
    } else jsAdam(H(P, dtype), H(G, dtype), H(M, dtype), H(V, dtype), vmax && H(vmax, dtype), SIZES, hh, dtype);
    for (let t = 0; t < G.length; t++) for (let i = 0; i < G[t]!.length; i++) G[t]![i] = Math.sin(P[t]![i]! * 7 + s) * 0.1;
  }
  return st;
}

describe.skipIf(!hasOptim)(
  `native CPU optimizer steps vs the js kernels (bitwise)${hasOptim ? '' : noCpuLabel || ' [skipped: the addon has no cpuAdamStep]'}`,
  () => {
    for (const isa of isas) {
      for (const dtype of ['float32', 'float64'] as const) {
        it(`${isa} ${dtype}: SGD, 4-step trajectories, every option`, () => {
          expect(cpu!.cpuSelectIsa(isa)).toBe(true);
          SGD_CASES.forEach((h, ci) => {
            const seed = SEED + 31 * ci;
            const bad = firstDiff(sgdRun(dtype, h, seed, 4, true), sgdRun(dtype, h, seed, 4, false));
            expect(bad, `${isa} ${dtype} ${JSON.stringify(h)} seed ${seed}: ${bad}`).toBeNull();
          });
        });
        it(`${isa} ${dtype}: Adam / AdamW / amsgrad, 4-step trajectories, both lerp branches`, () => {
          expect(cpu!.cpuSelectIsa(isa)).toBe(true);
          ADAM_CASES.forEach((h, ci) => {
            const seed = SEED + 57 * ci;
            const bad = firstDiff(adamRun(dtype, h, seed, 4, true), adamRun(dtype, h, seed, 4, false));
            expect(bad, `${isa} ${dtype} ${JSON.stringify(h)} seed ${seed}: ${bad}`).toBeNull();
          });
        });
      }
    }

    it('identical bits for 1, 2 and 3 threads', () => {
      const h = ADAM_CASES[0]!;
      cpu!.cpuSetNumThreads(1);
      const one = adamRun('float32', h, SEED + 5, 3, true);
      for (const t of [2, 3]) {
        cpu!.cpuSetNumThreads(t);
        expect(firstDiff(adamRun('float32', h, SEED + 5, 3, true), one), `${t} threads`).toBeNull();
      }
      cpu!.cpuSetNumThreads(initial!.threads);
    });

    it('the js backend routes sgdStep / adamStep to the addon and matches the js kernel', () => {
      cpu!.cpuSelectIsa(initial!.isa);
      for (const dtype of ['float32', 'float64'] as const) {
        const a = group(dtype, SIZES, SEED + 9, [1, 0.1, 0.01, -1e-3]);
        const b = clone(a);
        const h: AdamHyper = { ...ADAM_CASES[0]!, step: 3 };
        jsKernels.adamStep(H(a[0]!, dtype), H(a[1]!, dtype), H(a[2]!, dtype), H(a[3]!, dtype), null, SIZES, h, dtype);
        jsAdam(H(b[0]!, dtype), H(b[1]!, dtype), H(b[2]!, dtype), H(b[3]!, dtype), null, SIZES, h, dtype);
        expect(firstDiff(a, b)).toBeNull();
        const s: SgdHyper = { ...SGD_CASES[4]!, firstStep: false };
        jsKernels.sgdStep(H(a[0]!, dtype), H(a[1]!, dtype), H(a[2]!, dtype), SIZES, s, dtype);
        jsSgd(H(b[0]!, dtype), H(b[1]!, dtype), H(b[2]!, dtype), SIZES, s, dtype);
        expect(firstDiff(a, b)).toBeNull();
      }
    });

    it('WATTGRAD_CPU_ISA picks each ISA at load (child process) and the AdamW step matches the js kernel bitwise', () => {
      const n = 16391;
      const r = rng(SEED + 77);
      const init = [
        randArray('float32', n, r),
        randArray('float32', n, r),
        randArray('float32', n, r),
        randArray('float32', n, r).map(Math.abs),
      ];
      const h: AdamHyper = { ...ADAM_CASES[3]!, step: 2 }; // AdamW, amsgrad (vmax starts as a copy of v), maximize
      const ref = init.map((a) => a.slice());
      const vm0 = init[3]!.slice();
      jsAdam(
        H([ref[0]!], 'float32'),
        H([ref[1]!], 'float32'),
        H([ref[2]!], 'float32'),
        H([ref[3]!], 'float32'),
        H([vm0], 'float32'),
        [n],
        h,
        'float32',
      );
      expect(Object.is(ref[0]![0], init[0]![0])).toBe(false); // the step moved the params
      const script = `
      const b = require(${JSON.stringify(addonPath)});
      const { s, h } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const [p, g, m, v] = s.map((a) => Float32Array.from(a));
      const vm = v.slice();
      b.cpuAdamStep([p], [g], [m], [v], [vm], new Int32Array([p.length]), h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.decoupled, h.amsgrad, h.maximize,
        h.lr / (1 - Math.pow(h.beta1, h.step)), Math.sqrt(1 - Math.pow(h.beta2, h.step)));
      process.stdout.write(JSON.stringify({ isa: b.cpuInfo().isa, p: Array.from(p), vm: Array.from(vm) }));`;
      const input = JSON.stringify({ s: init.map((a) => Array.from(a)), h });
      for (const isa of isas) {
        const out = JSON.parse(
          execFileSync(process.execPath, ['-e', script], {
            input,
            env: { ...process.env, WATTGRAD_CPU_ISA: isa },
            encoding: 'utf8',
            maxBuffer: 1 << 26,
          }),
        ) as { isa: string; p: number[]; vm: number[] };
        expect(out.isa).toBe(isa);
        expect(firstDiff([[Float32Array.from(out.p)], [Float32Array.from(out.vm)]], [[ref[0]!], [vm0]]), isa).toBeNull();
      }
    });

    it('checks its arguments: list lengths, dtypes, sizes, missing state', () => {
      const f = (n: number): Float32Array => new Float32Array(n).fill(0.5);
      const args = (p: F[], g: F[], m: F[], v: F[], vm: F[] | null, numels: number[], amsgrad = false) =>
        nat!.cpuAdamStep(p, g, m, v, vm, Int32Array.from(numels), 1e-3, 0.9, 0.999, 1e-8, 0, true, amsgrad, false, 1e-2, 0.03);
      expect(() => args([f(4)], [f(4), f(4)], [f(4)], [f(4)], null, [4])).toThrow(/cpuAdamStep: grads has 2 arrays, params has 1/);
      expect(() => args([f(4)], [f(3)], [f(4)], [f(4)], null, [4])).toThrow(
        /cpuAdamStep: grads\[0\] holds 3 elements, needs 4 \(params\[0\]\)/,
      );
      expect(() => args([f(4)], [new Float64Array(4)], [f(4)], [f(4)], null, [4])).toThrow(
        /cpuAdamStep: params, grads, .* must have the same dtype/,
      );
      expect(() => args([f(4), f(4)], [f(4), f(4)], [f(4), f(4)], [f(4), f(4)], null, [4])).toThrow(
        /cpuAdamStep: numels holds 1 elements, needs 2/,
      );
      expect(() => args([f(4)], [f(4)], [f(4)], [f(4)], null, [5])).toThrow(/cpuAdamStep: numels\[t\] exceeds the length of params\[t\]/);
      expect(() => args([f(4)], [f(4)], [f(4)], [f(4)], null, [4], true)).toThrow(
        /cpuAdamStep: amsgrad needs maxExpAvgSq for every parameter/,
      );
      expect(() => nat!.cpuSgdStep([f(2)], [f(2)], null, new Int32Array([2]), 0.1, 0.9, 0, false, 0, false, false)).toThrow(
        /cpuSgdStep: momentum needs one buffer per parameter/,
      );
      expect(() =>
        nat!.cpuSgdStep([new Int32Array(2) as unknown as F], [f(2)], null, new Int32Array([2]), 0.1, 0, 0, false, 0, false, false),
      ).toThrow(/params\[0\] must be a Float32Array or Float64Array/);
      const probe = (cpu as unknown as { cpuMemBandwidth: (mib: number, reps: number) => unknown }).cpuMemBandwidth;
      expect(() => probe(0, 1)).toThrow(/cpuMemBandwidth: mib must be 1..4096 and reps at least 1/);
      // the bandwidth probe the AdamW bench divides by: both STREAM figures and the pool size
      const bw = probe(4, 1) as { copy: number; triad: number; threads: number };
      expect(bw.copy).toBeGreaterThan(0);
      expect(bw.triad).toBeGreaterThan(0);
      expect(bw.threads).toBe(cpu!.cpuGetNumThreads());
      // an empty group and empty tensors are fine and write nothing
      nat!.cpuSgdStep([], [], null, new Int32Array(0), 0.1, 0, 0, false, 0, false, false);
      const p = f(3);
      nat!.cpuSgdStep([p], [f(3)], null, new Int32Array([0]), 0.1, 0, 0, false, 0, false, false);
      expect(Array.from(p)).toEqual([0.5, 0.5, 0.5]);
    });
  },
);
