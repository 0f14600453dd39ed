// The addon's 'basic' CPU kernels (native/cpu/basic*.cc: fill, cast, where, argmax / argmin)
// against the js backend's kernels (lib/backend/js/elementwise.ts, reduce.ts), the reference:
// fresh random inputs with many ties, NaN, ±inf, ±0 and int32 extremes; odd shapes and tails that
// are not a multiple of any vector width; rows long enough to be split over the pool; every host
// dtype (float32, float64, int32) and every dtype pair of cast (float -> int32 wraps modulo 2^32
// as an Int32Array store does); broadcasting where with each condition dtype; outputs poisoned.
// Every kernel is exact, so results must be BITWISE equal to the js kernel's on every ISA this CPU
// supports (in-process via cpuSelectIsa, and through WATTGRAD_CPU_ISA in a child process) and for
// 1, 2 and 3 threads. Also the js backend's routing (lib/backend/js/native-basic.ts) and the
// argument checks. Skips, saying why, without CPU kernels. Run with:
//   node scripts/build-native.mjs --no-cuda --out=build/cpu-dev
//   WATTGRAD_NATIVE=$PWD/build/cpu-dev/Release/wattgrad.node npx vitest run test/native/cpu-basic.test.ts
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { addonPath, cpu, noCpuLabel, rng, SEED } from './cpu-util.js';
import { JsHandle, type AnyArray } from '../../lib/backend/js/handle.js';
import * as jsEw from '../../lib/backend/js/elementwise.js';
import * as jsRed from '../../lib/backend/js/reduce.js';
import * as route from '../../lib/backend/js/native-basic.js';
import { jsKernels } from '../../lib/backend/js/index.js';
import type { HostDType } from '../../lib/dtype.js';

const nat = route.nativeBasic();
const has = !!cpu && !!nat;
const label =
  cpu && !nat
    ? process.env.WATTGRAD_CPU_KERNELS === 'js'
      ? ' [skipped: WATTGRAD_CPU_KERNELS=js]'
      : ' [skipped: the loaded addon has no basic kernels (rebuild it: npm run build:native)]'
    : noCpuLabel;
const isas = cpu ? cpu.cpuInfo().supportedIsas : [];
const initial = cpu ? { isa: cpu.cpuInfo().isa, threads: cpu.cpuGetNumThreads() } : null;
afterAll(() => {
  if (cpu && initial) {
    cpu.cpuSelectIsa(initial.isa);
    cpu.cpuSetNumThreads(initial.threads);
  }
  route.setNativeBasicAlwaysForTests(false);
});

const DTYPES: HostDType[] = ['float32', 'float64', 'int32'];
const H = (a: AnyArray, dt: HostDType): JsHandle => new JsHandle(a, dt);
function alloc(dt: HostDType, n: number): AnyArray {
  return dt === 'float32' ? new Float32Array(n) : dt === 'float64' ? new Float64Array(n) : new Int32Array(n);
}
/** an output poisoned with values no kernel writes here */
function poisoned(dt: HostDType, n: number): AnyArray {
  const a = alloc(dt, n);
  a.fill(dt === 'int32' ? -123456789 : NaN);
  return a;
}

const SPECIAL = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 0.5,
  2 ** 31 - 0.25,
  3e9,
  -3e9,
  1e20,
  -1e20,
  4294967301.5,
  2 ** 53 + 2,
  1e-40,
];

/**
 * Random values: `kind` 'ties' draws small integers (many equal values), 'wide' spans int32 wrap
 * territory; `specials` is the fraction of entries replaced by SPECIAL values (NaN, ±inf, ±0, ...).
 */
function values(dt: HostDType, n: number, r: () => number, kind: 'ties' | 'wide' | 'plain', specials = 0): AnyArray {
  const a = alloc(dt, n);
  for (let i = 0; i < n; i++) {
    let v = kind === 'ties' ? Math.round(8 * r()) : kind === 'wide' ? r() * 2 ** Math.floor(40 * (r() + 0.5)) : 2 * r();
    if (specials > 0 && r() + 0.5 < specials) v = SPECIAL[Math.floor((r() + 0.5) * SPECIAL.length)]!;
    if (dt === 'int32') {
      const w = r() + 0.5;
      v = w < 0.02 ? 2147483647 : w < 0.04 ? -2147483648 : kind === 'wide' ? Math.trunc(r() * 4e9) : Math.trunc(v);
    }
    a[i] = v;
  }
  return a;
}

/** first index whose bits differ (NaN equals NaN, -0 differs from +0), or null */
function firstDiff(got: AnyArray, ref: AnyArray): string | null {
  if (got.length !== ref.length) return `length ${got.length} vs ${ref.length}`;
  for (let i = 0; i < ref.length; i++) {
    const a = got[i]!,
      b = ref[i]!;
    if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) return `element ${i}: native ${a}, js ${b}`;
  }
  return null;
}

// ---- argmax / argmin ----------------------------------------------------------------------------

// (outer, r, inner): 1-element rows, tails of every vector width, columns of 2 .. 37, rows split
// over pieces of 32768 (r above 65536 with few rows), r = 0, many short rows (four at a time)
const ARG_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 17, 1],
  [5, 31, 1],
  [4, 64, 1],
  [2, 129, 1],
  [7, 1000, 1],
  [1, 70001, 1],
  [2, 98305, 1],
  [4, 33, 5],
  [2, 9, 37],
  [3, 1, 19],
  [2, 200, 64],
  [1, 3, 2],
  [3, 50, 33],
  [1, 5000, 7],
  [6, 0, 3],
  [37, 10, 1],
  [9, 2, 1],
  [16, 63, 1],
  [13, 65, 1],
];

function argCase(dt: HostDType, shape: [number, number, number], r: () => number, kind: 'ties' | 'plain', specials: number): AnyArray {
  const [o, rr, i] = shape;
  return values(dt, o * rr * i, r, kind, specials);
}

function argBoth(op: 'argmax' | 'argmin', dt: HostDType, x: AnyArray, shape: [number, number, number]): [Int32Array, Int32Array] {
  const [o, r, i] = shape;
  const got = poisoned('int32', o * i) as Int32Array,
    ref = poisoned('int32', o * i) as Int32Array;
  nat!.cpuArgReduce(op === 'argmin', x, got, o, r, i);
  jsRed.argReduce(op, H(x, dt), H(ref, 'int32'), o, r, i, dt);
  return [got, ref];
}

/** rows with NaN / ±inf / ±0 placed where the vector passes and the tails meet them */
function nanRows(dt: 'float32' | 'float64', r: number): AnyArray[] {
  const rows: AnyArray[] = [];
  const base = (): AnyArray => {
    const a = alloc(dt, r);
    for (let i = 0; i < r; i++) a[i] = (i * 7919) % 13;
    return a;
  };
  for (const pos of [0, 1, r >> 1, r - 2, r - 1]) {
    if (pos < 0 || pos >= r) continue;
    const a = base();
    a[pos] = NaN;
    rows.push(a);
    const b = base();
    b[pos] = NaN;
    b[Math.min(r - 1, pos + 3)] = NaN;
    b[0] = Infinity;
    rows.push(b);
  }
  rows.push(alloc(dt, r).fill(NaN));
  rows.push(alloc(dt, r).fill(-Infinity));
  rows.push(alloc(dt, r).fill(Infinity));
  const z = alloc(dt, r).fill(-0);
  z[r - 1] = 0;
  rows.push(z);
  const z2 = alloc(dt, r).fill(0);
  z2[0] = -0;
  rows.push(z2);
  return rows;
}

// ---- where ----------------------------------------------------------------------------------------

interface WhereCase {
  out: number[];
  c: number[];
  a: number[];
  b: number[];
}
const WHERE_CASES: WhereCase[] = [
  { out: [], c: [], a: [], b: [] },
  { out: [1], c: [1], a: [1], b: [1] },
  { out: [1001], c: [1001], a: [1001], b: [1001] },
  { out: [37, 29], c: [37, 29], a: [37, 29], b: [] },
  { out: [37, 29], c: [37, 1], a: [29], b: [37, 29] },
  { out: [3, 5, 7], c: [1, 5, 7], a: [3, 1, 7], b: [3, 5, 1] },
  { out: [2, 1, 33], c: [2, 1, 33], a: [], b: [] },
  { out: [70003], c: [70003], a: [70003], b: [] },
  { out: [9, 8191], c: [9, 1], a: [9, 8191], b: [8191] },
  { out: [4, 3, 2, 5, 3], c: [4, 1, 2, 1, 3], a: [3, 1, 1], b: [4, 3, 2, 5, 3] },
  { out: [0, 4], c: [0, 4], a: [4], b: [] },
];

/** element strides of `shape` broadcast to `out` (0 on broadcast and missing dims) */
function bstrides(shape: number[], out: number[]): number[] {
  const nd = out.length,
    off = nd - shape.length;
  const s = new Array<number>(nd).fill(0);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[off + d] = shape[d] === 1 ? 0 : acc;
    acc *= shape[d]!;
  }
  return s;
}
const numel = (s: number[]): number => s.reduce((p, v) => p * v, 1);

function condValues(dt: HostDType, n: number, r: () => number): AnyArray {
  const a = alloc(dt, n);
  const pool = dt === 'int32' ? [0, 1, -2, 0, 2147483647] : [0, -0, 1, NaN, -2.5, 0, Infinity, 1e-300];
  for (let i = 0; i < n; i++) a[i] = pool[Math.floor((r() + 0.5) * pool.length)]!;
  return a;
}

function whereBoth(cdt: HostDType, dt: HostDType, w: WhereCase, r: () => number): [AnyArray, AnyArray] {
  const C = condValues(cdt, Math.max(1, numel(w.c)), r),
    A = values(dt, Math.max(1, numel(w.a)), r, 'plain', 0.2),
    B = values(dt, Math.max(1, numel(w.b)), r, 'plain', 0.2);
  const n = numel(w.out);
  const got = poisoned(dt, n),
    ref = poisoned(dt, n);
  const nd = w.out.length;
  const st = [bstrides(w.c, w.out), bstrides(w.a, w.out), bstrides(w.b, w.out)];
  const dims = Int32Array.from([...w.out, ...st[0]!, ...st[1]!, ...st[2]!]);
  nat!.cpuWhere(
    C instanceof Float32Array ? C : null,
    C instanceof Float64Array ? C : null,
    C instanceof Int32Array ? C : null,
    A,
    B,
    got,
    nd,
    dims,
  );
  jsEw.where(H(C, cdt), H(A, dt), H(B, dt), H(ref, dt), w.out, st[0]!, st[1]!, st[2]!, cdt, dt);
  return [got, ref];
}

// ---- cast / fill ----------------------------------------------------------------------------------

const CAST_SIZES = [0, 1, 3, 7, 16, 17, 255, 256, 257, 1000, 70001];

function castBoth(from: HostDType, to: HostDType, x: AnyArray): [AnyArray, AnyArray] {
  const n = x.length;
  const got = poisoned(to, n),
    ref = poisoned(to, n);
  nat!.cpuCast(
    x,
    got instanceof Float32Array ? got : null,
    got instanceof Float64Array ? got : null,
    got instanceof Int32Array ? got : null,
    n,
  );
  jsEw.cast(H(x, from), H(ref, to), n, from, to);
  return [got, ref];
}

const FILL_VALUES = [3.7, -3.7, NaN, Infinity, -Infinity, -0, 1e20, 3e9, -2147483648.5, 1 / 3, 4294967301, 2 ** 31];

describe.skipIf(!has)(`native CPU basic kernels (fill, cast, where, argmax / argmin) vs the js kernels${label}`, () => {
  for (const isa of isas) {
    it(`${isa}: argmax / argmin over every dtype and shape, ties, NaN / ±inf / ±0, poisoned outputs`, () => {
      expect(cpu!.cpuSelectIsa(isa)).toBe(true);
      const r = rng(SEED + 1);
      for (const dt of DTYPES)
        for (const shape of ARG_SHAPES)
          for (const [kind, sp] of [
            ['ties', 0],
            ['plain', 0],
            ['ties', 0.01],
            ['plain', 0.3],
          ] as const) {
            const x = argCase(dt, shape, r, kind, sp);
            for (const op of ['argmax', 'argmin'] as const) {
              const [got, ref] = argBoth(op, dt, x, shape);
              expect(firstDiff(got, ref), `${op} ${dt} ${shape.join('x')} ${kind} ${sp} seed ${SEED}`).toBeNull();
            }
          }
      // the js kernel's answers are not all zero: these cases mean something
      const x = values('float32', 3000, rng(SEED + 2), 'plain');
      const [, ref] = argBoth('argmax', 'float32', x, [1, 3000, 1]);
      expect(ref[0]).toBeGreaterThan(0);
    });

    it(`${isa}: argmax / argmin with NaN at the edges of vectors and tails, all-NaN, all-inf and ±0 rows`, () => {
      expect(cpu!.cpuSelectIsa(isa)).toBe(true);
      for (const dt of ['float32', 'float64'] as const)
        for (const r of [2, 5, 16, 33, 64, 131, 1000, 70001])
          for (const row of nanRows(dt, r)) {
            for (const op of ['argmax', 'argmin'] as const) {
              const [got, ref] = argBoth(op, dt, row, [1, r, 1]);
              expect(firstDiff(got, ref), `${op} ${dt} row of ${r}`).toBeNull();
              // the same values as columns: (r, inner) with the row repeated over 19 columns
              const cols = alloc(dt, r * 19);
              for (let j = 0; j < r; j++) for (let i = 0; i < 19; i++) cols[j * 19 + i] = i % 3 === 0 ? row[j]! : row[(j + i) % r]!;
              const [g2, r2] = argBoth(op, dt, cols, [1, r, 19]);
              expect(firstDiff(g2, r2), `${op} ${dt} columns of ${r}`).toBeNull();
            }
          }
    });

    it(`${isa}: cast between every pair of float32 / float64 / int32 (wrapping float -> int32), odd sizes`, () => {
      expect(cpu!.cpuSelectIsa(isa)).toBe(true);
      const r = rng(SEED + 3);
      for (const from of DTYPES)
        for (const to of DTYPES)
          for (const n of CAST_SIZES)
            for (const kind of ['wide', 'plain'] as const) {
              const x = values(from, n, r, kind, 0.1);
              const [got, ref] = castBoth(from, to, x);
              expect(firstDiff(got, ref), `${from} -> ${to} n ${n} ${kind} seed ${SEED}`).toBeNull();
            }
      // the wrap is really exercised: 3e9 -> -1294967296, as an Int32Array store
      const [w] = castBoth('float64', 'int32', Float64Array.from([3e9, -3.9, NaN, -Infinity, 4294967301.5]));
      expect(Array.from(w)).toEqual([-1294967296, -3, 0, 0, 5]);
    });

    it(`${isa}: fill of every dtype (float32 rounding, int32 wrap), only the first n elements`, () => {
      expect(cpu!.cpuSelectIsa(isa)).toBe(true);
      for (const dt of DTYPES)
        for (const n of [0, 1, 5, 33, 70003])
          for (const v of FILL_VALUES) {
            const got = poisoned(dt, n + 3),
              ref = poisoned(dt, n + 3);
            nat!.cpuFill(got, n, v);
            jsEw.fill(H(ref, dt), n, v, dt);
            expect(firstDiff(got, ref), `${dt} n ${n} value ${v}`).toBeNull();
          }
    });

    it(`${isa}: where with broadcasting, every condition dtype x value dtype (NaN true, -0 false)`, () => {
      expect(cpu!.cpuSelectIsa(isa)).toBe(true);
      const r = rng(SEED + 4);
      let picked = 0;
      for (const cdt of DTYPES)
        for (const dt of DTYPES)
          for (const w of WHERE_CASES) {
            const [got, ref] = whereBoth(cdt, dt, w, r);
            expect(firstDiff(got, ref), `cond ${cdt} ${dt} ${JSON.stringify(w)} seed ${SEED}`).toBeNull();
            picked += got.length;
          }
      expect(picked).toBeGreaterThan(0);
    });
  }

  it('identical bits for 1, 2 and 3 threads on inputs that take the pool', () => {
    cpu!.cpuSelectIsa(initial!.isa);
    const r = rng(SEED + 5);
    const x = values('float32', 3 * 70001, r, 'ties', 0.001);
    const xd = values('float64', 200001, r, 'wide', 0.05);
    const run = (): AnyArray[] => {
      const outs: AnyArray[] = [];
      for (const shape of [
        [3, 70001, 1],
        [1, 210003, 1],
        [3, 7, 10000],
        [300, 700, 1],
      ] as [number, number, number][])
        outs.push(argBoth('argmax', 'float32', x, shape)[0]);
      outs.push(castBoth('float64', 'int32', xd)[0], castBoth('float64', 'float32', xd)[0]);
      outs.push(whereBoth('float64', 'float32', { out: [9, 30001], c: [9, 1], a: [9, 30001], b: [] }, rng(SEED + 6))[0]);
      return outs;
    };
    cpu!.cpuSetNumThreads(1);
    const one = run();
    for (const t of [2, 3]) {
      cpu!.cpuSetNumThreads(t);
      const many = run();
      for (let i = 0; i < one.length; i++) expect(firstDiff(many[i]!, one[i]!), `${t} threads, output ${i}`).toBeNull();
    }
    cpu!.cpuSetNumThreads(initial!.threads);
  });

  it('the js backend routes fill / cast / where / argReduce to the addon (any size) and falls back when it must', () => {
    cpu!.cpuSelectIsa(initial!.isa);
    const kernels = cpu!.cpuInfo().kernels;
    for (const k of ['fill', 'cast', 'where', 'argReduce']) expect(kernels).toContain(k);
    const r = rng(SEED + 7);
    for (const always of [true, false]) {
      route.setNativeBasicAlwaysForTests(always);
      for (const n of [5, 300, 70001]) {
        const x = values('float64', n, r, 'wide', 0.1);
        const a = poisoned('int32', n),
          b = poisoned('int32', n);
        jsKernels.cast(H(x, 'float64'), H(a, 'int32'), n, 'float64', 'int32');
        jsEw.cast(H(x, 'float64'), H(b, 'int32'), n, 'float64', 'int32');
        expect(firstDiff(a, b)).toBeNull();
        const am = poisoned('int32', 1),
          bm = poisoned('int32', 1);
        jsKernels.argReduce('argmin', H(x, 'float64'), H(am, 'int32'), 1, n, 1, 'float64');
        jsRed.argReduce('argmin', H(x, 'float64'), H(bm, 'int32'), 1, n, 1, 'float64');
        expect(am[0]).toBe(bm[0]);
        const f = poisoned('float32', n),
          g = poisoned('float32', n);
        jsKernels.fill(H(f, 'float32'), n, 1 / 3, 'float32');
        jsEw.fill(H(g, 'float32'), n, 1 / 3, 'float32');
        expect(firstDiff(f, g)).toBeNull();
        const c = values('int32', n, r, 'ties'),
          wo = poisoned('float64', n),
          wr = poisoned('float64', n);
        jsKernels.where(H(c, 'int32'), H(x, 'float64'), H(x, 'float64'), H(wo, 'float64'), [n], [1], [1], [0], 'int32', 'float64');
        jsEw.where(H(c, 'int32'), H(x, 'float64'), H(x, 'float64'), H(wr, 'float64'), [n], [1], [1], [0], 'int32', 'float64');
        expect(firstDiff(wo, wr)).toBeNull();
      }
    }
    route.setNativeBasicAlwaysForTests(true);
    // in place (out is an input's storage): the js kernel, in order, as before
    const s = Float64Array.from([1.5, -2.5, 3.5, 7]);
    jsKernels.cast(H(s, 'float64'), H(s, 'float64'), 4, 'float64', 'float64');
    expect(Array.from(s)).toEqual([1.5, -2.5, 3.5, 7]);
    const c = Int32Array.from([1, 0, 1, 0]);
    jsKernels.where(H(c, 'int32'), H(s, 'float64'), H(s, 'float64'), H(s, 'float64'), [4], [1], [0], [1], 'int32', 'float64');
    expect(Array.from(s)).toEqual([1.5, -2.5, 1.5, 7]);
    // a handle of the wrong storage type: the js kernel raises its own error
    expect(() => jsKernels.argReduce('argmax', H(s, 'float64'), H(new Float32Array(1), 'float32' as never), 1, 4, 1, 'float64')).toThrow(
      /argReduce: index tensors must be int32/,
    );
    route.setNativeBasicAlwaysForTests(false);
  });

  it('WATTGRAD_CPU_ISA picks each ISA at load (child process): argmax, cast and where match the js kernels', () => {
    const r = rng(SEED + 8);
    const x = values('float32', 5003, r, 'ties', 0.002);
    const xw = values('float64', 3001, r, 'wide', 0.1);
    const am = poisoned('int32', 1) as Int32Array;
    jsRed.argReduce('argmax', H(x, 'float32'), H(am, 'int32'), 1, 5003, 1, 'float32');
    const ac = poisoned('int32', 41) as Int32Array;
    jsRed.argReduce('argmin', H(x, 'float32'), H(ac, 'int32'), 1, 122, 41, 'float32');
    const ci = poisoned('int32', 3001) as Int32Array;
    jsEw.cast(H(xw, 'float64'), H(ci, 'int32'), 3001, 'float64', 'int32');
    const script = `
      const b = require(${JSON.stringify(addonPath)});
      const { x, xw } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const X = Float32Array.from(x, Number), XW = Float64Array.from(xw, Number);
      const am = new Int32Array(1).fill(-1), ac = new Int32Array(41).fill(-1), ci = new Int32Array(3001).fill(-1);
      b.cpuArgReduce(false, X, am, 1, 5003, 1);
      b.cpuArgReduce(true, X, ac, 1, 122, 41);
      b.cpuCast(XW, null, null, ci, 3001);
      process.stdout.write(JSON.stringify({ isa: b.cpuInfo().isa, am: Array.from(am), ac: Array.from(ac), ci: Array.from(ci) }));`;
    const input = JSON.stringify({ x: Array.from(x, String), xw: Array.from(xw, String) });
    for (const isa of isas) {
      const out = JSON.parse(
        execFileSync(process.execPath, ['-e', script], { input, env: { ...process.env, WATTGRAD_CPU_ISA: isa }, encoding: 'utf8' }),
      ) as { isa: string; am: number[]; ac: number[]; ci: number[] };
      expect(out.isa).toBe(isa);
      expect(out.am).toEqual(Array.from(am));
      expect(out.ac).toEqual(Array.from(ac));
      expect(out.ci).toEqual(Array.from(ci));
    }
  });

  it('checks its arguments: one output / condition, sizes, dims, overlap', () => {
    const f = new Float32Array(8).fill(1.5);
    expect(() => nat!.cpuCast(f, new Float32Array(8), new Float64Array(8), null, 8)).toThrow(
      /cpuCast: exactly one of outF32, outF64 and outI32 must be given/,
    );
    expect(() => nat!.cpuCast(f, null, null, null, 8)).toThrow(/cpuCast: exactly one/);
    expect(() => nat!.cpuCast(f, null, new Float64Array(7), null, 8)).toThrow(/cpuCast: outF64 holds 7 elements, needs 8/);
    expect(() => nat!.cpuCast(f, f, null, null, 8)).toThrow(/cpuCast: .*overlap|share/);
    expect(() => nat!.cpuArgReduce(false, f, new Int32Array(1), 2, 4, 1)).toThrow(/cpuArgReduce: out holds 1 elements, needs 2/);
    expect(() => nat!.cpuArgReduce(false, f, new Int32Array(2), 2, 5, 1)).toThrow(/cpuArgReduce: x holds 8 elements, needs 10/);
    expect(() => nat!.cpuFill(new Float32Array(3), 4, 1)).toThrow(/cpuFill: out holds 3 elements, needs 4/);
    const c = new Int32Array(8);
    expect(() => nat!.cpuWhere(null, null, null, f, f, new Float32Array(8), 1, Int32Array.from([8, 1, 1, 1]))).toThrow(
      /cpuWhere: exactly one of condF32, condF64 and condI32 must be given/,
    );
    expect(() => nat!.cpuWhere(null, null, c, f, f, new Float32Array(8), 1, Int32Array.from([9, 1, 1, 1]))).toThrow(
      /cpuWhere: dims .* reach past the end/,
    );
    expect(() => nat!.cpuWhere(null, null, c, f, new Float64Array(8), new Float32Array(8), 1, Int32Array.from([8, 1, 1, 1]))).toThrow(
      /cpuWhere: a, b and out must have the same dtype/,
    );
    expect(() => nat!.cpuWhere(null, null, c, f, f, new Float32Array(8), 1, Int32Array.from([8, 1, 1]))).toThrow(
      /cpuWhere: dims holds 3 elements, needs 4/,
    );
  });
});
