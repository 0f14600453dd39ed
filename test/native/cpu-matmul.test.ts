// The addon's CPU matmul (native/cpu/) against the js backend's kernel, the reference: fresh
// random inputs, odd shapes (tails that are not a multiple of any vector width, edges of every
// cache block: KC=256 and 512, MC, the L2 runs of B micro-panels, NC=4096), all four transposes, batch broadcast (stride 0), K=0,
// outputs poisoned with NaN beforehand, in float32 and float64, on every ISA this CPU supports
// (in-process via cpuSelectIsa, and through WATTGRAD_CPU_ISA in a child process). Also: results
// identical for 1, 2 and 3 threads and run to run, and the argument checks.
// Skips, saying why, when the loaded addon has no CPU kernels. Run with a cpu build:
//   node scripts/build-native.mjs --no-cuda --out=build/cpu-dev
//   WATTGRAD_NATIVE=build/cpu-dev/Release/wattgrad.node npx vitest run test/native/cpu-matmul.test.ts
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { absScale, addonPath, cpu, firstBad, jsRef, noCpuLabel, randArray, rng, SEED, type F, type MM } from './cpu-util.js';

const isas = cpu ? cpu.cpuInfo().supportedIsas : [];
const initial = cpu ? { isa: cpu.cpuInfo().isa, threads: cpu.cpuGetNumThreads() } : null;
afterAll(() => {
  if (cpu && initial) {
    cpu.cpuSelectIsa(initial.isa);
    cpu.cpuSetNumThreads(initial.threads);
  }
});

function mm(m: number, n: number, k: number, o: Partial<MM> = {}): MM {
  return { batch: 1, m, n, k, ta: false, tb: false, aBS: m * k, bBS: k * n, ...o };
}

// shapes: below and above the no-packing thresholds (m·n·k 8192, m < 4, and up to 32³: k ≤ 8,
// whole-vector B rows narrower than a panel, long dot products), vector tails, block edges
const SHAPES: MM[] = [
  mm(1, 1, 1),
  mm(3, 5, 7),
  mm(20, 20, 20),
  mm(21, 20, 20),
  mm(16, 16, 64),
  mm(4, 2000, 4),
  mm(10, 10, 300),
  mm(32, 32, 32),
  mm(33, 32, 32),
  mm(2, 67, 45),
  mm(1, 300, 257),
  mm(13, 31, 17),
  mm(15, 33, 29),
  mm(37, 41, 43),
  mm(97, 130, 259),
  mm(350, 70, 300),
  mm(170, 49, 513),
  mm(6, 4100, 40),
  mm(29, 4099, 35),
  mm(230, 150, 1030),
  // narrow x·Wᵀ (n ≤ NR/2 with B transposed: GemmRowsB, in chunks of 4·NR rows above that;
  // cpu-matmul-rows.test.ts)
  mm(40, 10, 300),
  mm(64, 13, 1570),
  mm(150, 10, 301),
];

function runNative(dtype: 'float32' | 'float64', A: F, B: F, s: MM): F {
  const out = dtype === 'float32' ? new Float32Array(s.batch * s.m * s.n) : new Float64Array(s.batch * s.m * s.n);
  out.fill(NaN); // poisoned: the kernel must write every element and never read out
  cpu!.cpuMatmul(A, B, out, s.batch, s.m, s.n, s.k, s.ta, s.tb, s.aBS, s.bBS);
  return out;
}

function inputs(dtype: 'float32' | 'float64', s: MM, seed: number): [F, F] {
  const r = rng(seed);
  const aLen = s.batch === 0 ? 0 : (s.batch - 1) * s.aBS + s.m * s.k;
  const bLen = s.batch === 0 ? 0 : (s.batch - 1) * s.bBS + s.k * s.n;
  return [randArray(dtype, aLen, r), randArray(dtype, bLen, r)];
}

function check(dtype: 'float32' | 'float64', s: MM, seed: number): void {
  const [A, B] = inputs(dtype, s, seed);
  const got = runNative(dtype, A, B, s);
  const ref = jsRef(dtype, A, B, s);
  const bad = firstBad(got, ref, absScale(A, B, s), s.k, dtype);
  expect(bad, `${dtype} ${JSON.stringify(s)} seed ${seed} isa ${cpu!.cpuInfo().isa}: ${bad}`).toBeNull();
}

describe.skipIf(!cpu)(`native CPU matmul vs the js kernel${noCpuLabel}`, () => {
  for (const isa of isas) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${isa} ${dtype}: odd shapes, all transposes, poisoned outputs`, () => {
        expect(cpu!.cpuSelectIsa(isa)).toBe(true);
        expect(cpu!.cpuInfo().isa).toBe(isa);
        let seed = SEED;
        for (const s of SHAPES) {
          for (const ta of [false, true]) for (const tb of [false, true]) check(dtype, { ...s, ta, tb }, seed++);
        }
      });

      it(`${isa} ${dtype}: batched, with either side broadcast (batch stride 0)`, () => {
        cpu!.cpuSelectIsa(isa);
        let seed = SEED + 1000;
        for (const [m, n, k] of [
          [5, 9, 7],
          [40, 33, 70],
          [70, 90, 300],
        ] as const) {
          for (const ta of [false, true])
            for (const tb of [false, true]) {
              check(dtype, mm(m, n, k, { batch: 3, ta, tb }), seed++);
              check(dtype, mm(m, n, k, { batch: 4, ta, tb, aBS: 0 }), seed++);
              check(dtype, mm(m, n, k, { batch: 2, ta, tb, bBS: 0 }), seed++);
            }
        }
      });
    }
  }

  it('K = 0 writes zeros over poisoned outputs; m or n = 0 or batch = 0 write nothing', () => {
    const out = new Float32Array(12).fill(NaN);
    cpu!.cpuMatmul(new Float32Array(0), new Float32Array(0), out, 2, 2, 3, 0, false, false, 0, 0);
    expect(Array.from(out)).toEqual(new Array(12).fill(0));
    const untouched = new Float64Array(4).fill(7);
    cpu!.cpuMatmul(new Float64Array(8), new Float64Array(0), untouched, 1, 4, 0, 2, false, false, 8, 0);
    cpu!.cpuMatmul(new Float64Array(0), new Float64Array(8), untouched, 1, 0, 4, 2, false, false, 0, 8);
    cpu!.cpuMatmul(new Float64Array(0), new Float64Array(0), untouched, 0, 2, 2, 2, false, false, 4, 4);
    expect(Array.from(untouched)).toEqual([7, 7, 7, 7]);
  });

  it('results are identical for 1, 2 and 3 threads and run to run, on every ISA', () => {
    const shapes: MM[] = [
      mm(350, 70, 300),
      mm(40, 700, 300),
      mm(3, 5000, 300),
      // no-packing dot products split by columns (four at a time) over the threads
      mm(3, 5000, 300, { tb: true }),
      mm(600, 20, 700),
      // ic blocks sized per thread count (m over MC, and over 2 and 3 threads), k over 2 KC blocks
      mm(470, 140, 1100),
      mm(20, 30, 40, { batch: 16 }),
      mm(70, 90, 300, { batch: 5, aBS: 0, tb: true }),
    ];
    for (const isa of isas) {
      cpu!.cpuSelectIsa(isa);
      for (const dtype of ['float32', 'float64'] as const) {
        shapes.forEach((s, si) => {
          const [A, B] = inputs(dtype, s, SEED + 7 * si);
          cpu!.cpuSetNumThreads(1);
          const one = runNative(dtype, A, B, s);
          for (const t of [2, 3]) {
            cpu!.cpuSetNumThreads(t);
            const got = runNative(dtype, A, B, s);
            expect(
              Buffer.from(got.buffer).equals(Buffer.from(one.buffer)),
              `${isa} ${dtype} ${JSON.stringify(s)}: ${t} threads differ from 1`,
            ).toBe(true);
          }
          const again = runNative(dtype, A, B, s);
          expect(Buffer.from(again.buffer).equals(Buffer.from(one.buffer)), `${isa} ${dtype} ${JSON.stringify(s)}: run to run`).toBe(true);
          expect(firstBad(one, jsRef(dtype, A, B, s), absScale(A, B, s), s.k, dtype)).toBeNull();
        });
      }
    }
    cpu!.cpuSetNumThreads(initial!.threads);
  });

  it('WATTGRAD_CPU_ISA picks each supported ISA at load (child process) and the result matches the reference', () => {
    const s = mm(67, 45, 291, { tb: true });
    const [A, B] = inputs('float32', s, SEED + 99);
    const ref = jsRef('float32', A, B, s);
    const scale = absScale(A, B, s);
    // inputs travel on stdin (too big for argv)
    const script = `
      const b = require(${JSON.stringify(addonPath)});
      const { a, b: bb } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const C = new Float32Array(${s.m * s.n}).fill(NaN);
      b.cpuMatmul(Float32Array.from(a), Float32Array.from(bb), C, 1, ${s.m}, ${s.n}, ${s.k}, false, true, 0, 0);
      process.stdout.write(JSON.stringify({ isa: b.cpuInfo().isa, threads: b.cpuGetNumThreads(), c: Array.from(C) }));`;
    const input = JSON.stringify({ a: Array.from(A), b: Array.from(B) });
    for (const isa of isas) {
      const r = JSON.parse(
        execFileSync(process.execPath, ['-e', script], {
          input,
          env: { ...process.env, WATTGRAD_CPU_ISA: isa, WATTGRAD_NUM_THREADS: '2' },
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        }),
      ) as { isa: string; threads: number; c: number[] };
      expect(r.isa).toBe(isa);
      expect(r.threads).toBe(2);
      expect(firstBad(Float32Array.from(r.c), ref, scale, s.k, 'float32'), isa).toBeNull();
    }
  });

  it('an unsupported or unknown WATTGRAD_CPU_ISA falls back to the best ISA with a warning', () => {
    const out = execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(addonPath)}).cpuInfo().isa)`], {
      env: { ...process.env, WATTGRAD_CPU_ISA: 'avx9000' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe(isas[0]);
  });

  it('WATTGRAD_NUM_THREADS sizes the pool at load; a bad value warns and keeps the default', () => {
    const probe = `const b = require(${JSON.stringify(addonPath)}); process.stdout.write(JSON.stringify(b.cpuInfo()))`;
    const run = (v: string): { stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, ['-e', probe], { env: { ...process.env, WATTGRAD_NUM_THREADS: v }, encoding: 'utf8' });
      return { stdout: r.stdout, stderr: r.stderr };
    };
    const three = JSON.parse(run('3').stdout) as { threads: number; defaultThreads: number };
    expect(three.threads).toBe(3);
    expect(three.defaultThreads).toBe(3);
    const bad = run('lots');
    const info = JSON.parse(bad.stdout) as { threads: number };
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.threads).toBeLessThanOrEqual(os.cpus().length);
    expect(bad.stderr).toMatch(/WATTGRAD_NUM_THREADS=lots is not a positive integer; using the physical core count/);
  });

  it('checks its arguments: lengths, dtypes, overlap', () => {
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() => cpu!.cpuMatmul(f(5), f(6), f(4), 1, 2, 2, 3, false, false, 0, 0)).toThrow(
      /cpuMatmul: .*needs a 6, b 6, out 4 elements; got 5, 6, 4/,
    );
    expect(() => cpu!.cpuMatmul(f(6), f(6), f(4), 2, 2, 2, 3, false, false, 6, 0)).toThrow(/out 8 elements/);
    expect(() => cpu!.cpuMatmul(f(6), new Float64Array(6), f(4), 1, 2, 2, 3, false, false, 0, 0)).toThrow(/same dtype/);
    expect(() => cpu!.cpuMatmul(new Int32Array(6) as unknown as Float32Array, f(6), f(4), 1, 2, 2, 3, false, false, 0, 0)).toThrow(
      /Float32Array or Float64Array/,
    );
    expect(() => cpu!.cpuMatmul(f(6), f(6), f(4), 1, 2.5, 2, 3, false, false, 0, 0)).toThrow(/m must be a non-negative integer/);
    const shared = f(20);
    expect(() => cpu!.cpuMatmul(shared.subarray(0, 6), f(6), shared.subarray(4, 8), 1, 2, 2, 3, false, false, 0, 0)).toThrow(/overlaps/);
    expect(() => cpu!.cpuSetNumThreads(0)).toThrow(/setNumThreads: n must be an integer from 1 to 255/);
  });
});
