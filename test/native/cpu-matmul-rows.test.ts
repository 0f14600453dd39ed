// The CPU matmul's x·Wᵀ path for few rows (native/cpu/gemm_driver.h GemmRowsB: B transposed and
// m ≤ 4·NR, W's rows read in place, op(A)ᵀ packed, tiles written transposed) against the js
// kernel: m around one, two and four NR-wide panels, n around the strip height MR and the
// narrow-head width (n ≤ NR/2 takes this path at any m, in chunks of 4·NR rows), k
// around the KC block (512 float32 / 256 float64 on AVX-512) and AVX-512's 16-step transposing
// pack of op(A), both transposes of A, poisoned outputs, every ISA this CPU supports.
// The path sums each element exactly as the packed path does, so a short product equals the same
// rows of a tall one (which takes the packed path) bit for bit; and 1, 2, 3 threads agree.
// Also the packed path's B read in place (B not transposed, A of at most 8 MR-row strips: full
// NR-wide panels unpacked, the edge panel packed): the same checks around 1, 3 and 8 strips.
//   WATTGRAD_NATIVE=build/cpu-dev/Release/wattgrad.node npx vitest run test/native/cpu-matmul-rows.test.ts
import { afterAll, describe, expect, it } from 'vitest';
import { absScale, cpu, firstBad, jsRef, noCpuLabel, randArray, rng, SEED, type F, type MM } from './cpu-util.js';

const isas = cpu ? cpu.cpuInfo().supportedIsas : [];
const initial = cpu ? { isa: cpu.cpuInfo().isa, threads: cpu.cpuGetNumThreads() } : null;
afterAll(() => {
  if (cpu && initial) {
    cpu.cpuSelectIsa(initial.isa);
    cpu.cpuSetNumThreads(initial.threads);
  }
});

type D = 'float32' | 'float64';

/** The selected ISA's micro-tile for dtype: [MR, NR] (float64 tiles are half as wide). */
function tile(dtype: D): [number, number] {
  const [mr, nr] = cpu!.cpuInfo().sgemmTile.split('x').map(Number) as [number, number];
  return dtype === 'float32' ? [mr, nr] : [mr, nr / 2];
}

function mm(m: number, n: number, k: number, ta: boolean, tb = true): MM {
  return { batch: 1, m, n, k, ta, tb, aBS: m * k, bBS: k * n };
}

function run(dtype: D, A: F, B: F, s: MM): F {
  const out = dtype === 'float32' ? new Float32Array(s.m * s.n) : new Float64Array(s.m * s.n);
  out.fill(NaN); // poisoned: every element written, out never read
  cpu!.cpuMatmul(A, B, out, 1, s.m, s.n, s.k, s.ta, s.tb, s.aBS, s.bBS);
  return out;
}

function inputs(dtype: D, s: MM, seed: number): [F, F] {
  const r = rng(seed);
  return [randArray(dtype, s.m * s.k, r), randArray(dtype, s.k * s.n, r)];
}

const same = (a: F, b: F): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe.skipIf(!cpu)(`native CPU matmul, x·Wᵀ with few rows${noCpuLabel}`, () => {
  for (const isa of isas) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${isa} ${dtype}: m around 1, 2 and 4 panels, n around MR and NR/2, k around KC, vs the js kernel`, () => {
        expect(cpu!.cpuSelectIsa(isa)).toBe(true);
        const [MR, NR] = tile(dtype);
        const kc = dtype === 'float32' ? 512 : 256;
        let seed = SEED;
        const ms = [4, 5, NR - 1, NR, NR + 1, 2 * NR + 1, 4 * NR, 4 * NR + 1, 9 * NR + 3];
        const ns = [10, NR / 2 + 1, 3 * MR + 1, 2 * MR, 67];
        const ks = [37, kc - 1, kc + 3];
        for (const m of ms)
          for (const n of ns)
            for (const k of ks)
              for (const ta of [false, true]) {
                const s = mm(m, n, k, ta);
                const [A, B] = inputs(dtype, s, seed++);
                const got = run(dtype, A, B, s);
                const bad = firstBad(got, jsRef(dtype, A, B, s), absScale(A, B, s), s.k, dtype);
                expect(bad, `${isa} ${dtype} ${JSON.stringify(s)} seed ${seed - 1}: ${bad}`).toBeNull();
              }
      });

      it(`${isa} ${dtype}: a short product equals the same rows of a tall one (packed path) bit for bit`, () => {
        cpu!.cpuSelectIsa(isa);
        const [MR, NR] = tile(dtype);
        const kc = dtype === 'float32' ? 512 : 256;
        for (const ta of [false, true])
          for (const [n, k] of [
            [3 * MR + 5, 2 * kc + 9],
            [NR + 3, 1500],
          ] as const) {
            const tall = 4 * NR + 7;
            const st = mm(tall, n, k, ta);
            const r = rng(SEED + n + k);
            // A stored k×m when transposed: build the tall A, then each short one from its rows
            const At = randArray(dtype, tall * k, r);
            const B = randArray(dtype, k * n, r);
            const big = run(dtype, At, B, st);
            // (m ≥ 4 and m·n·k over 32³: not the unpacked small path)
            for (const m of [5, NR - 1, NR, 2 * NR + 3, 4 * NR].filter((v) => v >= 4)) {
              const A = dtype === 'float32' ? new Float32Array(m * k) : new Float64Array(m * k);
              for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) A[ta ? p * m + i : i * k + p] = At[ta ? p * tall + i : i * k + p]!;
              const small = run(dtype, A, B, mm(m, n, k, ta));
              expect(same(small, big.subarray(0, m * n)), `${isa} ${dtype} m ${m} of ${tall}, n ${n}, k ${k}, ta ${ta}`).toBe(true);
            }
          }
      });
    }
  }

  it('results are identical for 1, 2 and 3 threads and run to run, on every ISA', () => {
    for (const isa of isas) {
      cpu!.cpuSelectIsa(isa);
      for (const dtype of ['float32', 'float64'] as const) {
        const [MR, NR] = tile(dtype);
        [
          mm(NR, 40 * MR + 3, 700, false),
          mm(2 * NR - 3, 9 * MR, 300, true),
          mm(7, 5 * MR + 1, 1100, false),
          // a narrow head in row chunks over the threads
          mm(9 * NR + 3, 10, 700, false),
        ].forEach((s, si) => {
          const [A, B] = inputs(dtype, s, SEED + 11 * si);
          cpu!.cpuSetNumThreads(1);
          const one = run(dtype, A, B, s);
          for (const t of [2, 3]) {
            cpu!.cpuSetNumThreads(t);
            expect(same(run(dtype, A, B, s), one), `${isa} ${dtype} ${JSON.stringify(s)}: ${t} threads differ from 1`).toBe(true);
          }
          expect(same(run(dtype, A, B, s), one), `${isa} ${dtype} ${JSON.stringify(s)}: run to run`).toBe(true);
          expect(firstBad(one, jsRef(dtype, A, B, s), absScale(A, B, s), s.k, dtype)).toBeNull();
        });
      }
    }
    cpu!.cpuSetNumThreads(initial!.threads);
  });
});

describe.skipIf(!cpu)(`native CPU matmul, B not transposed read in place at few rows${noCpuLabel}`, () => {
  for (const isa of isas) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${isa} ${dtype}: m around 1, 3 and 8 strips, n around NR, k around KC, vs the js kernel`, () => {
        expect(cpu!.cpuSelectIsa(isa)).toBe(true);
        const [MR, NR] = tile(dtype);
        const kc = dtype === 'float32' ? 512 : 256;
        let seed = SEED + 5000;
        for (const m of [4, MR - 1, MR + 1, 3 * MR, 8 * MR, 8 * MR + 1])
          for (const n of [10, NR + 1, 2 * NR, 3 * NR + 5])
            for (const k of [37, kc + 3])
              for (const ta of [false, true]) {
                const s = mm(m, n, k, ta, false);
                const [A, B] = inputs(dtype, s, seed++);
                const got = run(dtype, A, B, s);
                const bad = firstBad(got, jsRef(dtype, A, B, s), absScale(A, B, s), s.k, dtype);
                expect(bad, `${isa} ${dtype} ${JSON.stringify(s)} seed ${seed - 1}: ${bad}`).toBeNull();
              }
      });

      it(`${isa} ${dtype}: a short product equals the same rows of a tall one (B packed) bit for bit`, () => {
        cpu!.cpuSelectIsa(isa);
        const [MR, NR] = tile(dtype);
        const kc = dtype === 'float32' ? 512 : 256;
        for (const ta of [false, true])
          for (const [n, k] of [
            [3 * NR + 5, 2 * kc + 9],
            [NR + 3, 1500],
          ] as const) {
            const tall = 8 * MR + 9;
            const r = rng(SEED + 3 * n + k);
            const At = randArray(dtype, tall * k, r);
            const B = randArray(dtype, k * n, r);
            const big = run(dtype, At, B, mm(tall, n, k, ta, false));
            for (const m of [5, MR, 3 * MR - 2, 8 * MR]) {
              const A = dtype === 'float32' ? new Float32Array(m * k) : new Float64Array(m * k);
              for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) A[ta ? p * m + i : i * k + p] = At[ta ? p * tall + i : i * k + p]!;
              const small = run(dtype, A, B, mm(m, n, k, ta, false));
              expect(same(small, big.subarray(0, m * n)), `${isa} ${dtype} m ${m} of ${tall}, n ${n}, k ${k}, ta ${ta}`).toBe(true);
            }
          }
      });
    }
  }

  it('results are identical for 1, 2 and 3 threads and run to run, on every ISA', () => {
    for (const isa of isas) {
      cpu!.cpuSelectIsa(isa);
      for (const dtype of ['float32', 'float64'] as const) {
        const [MR, NR] = tile(dtype);
        [
          mm(3 * MR + 2, 9 * NR + 3, 700, false, false),
          mm(8 * MR, 5 * NR, 300, true, false),
          mm(6, 40 * NR + 1, 1100, false, false),
        ].forEach((s, si) => {
          const [A, B] = inputs(dtype, s, SEED + 13 * si);
          cpu!.cpuSetNumThreads(1);
          const one = run(dtype, A, B, s);
          for (const t of [2, 3]) {
            cpu!.cpuSetNumThreads(t);
            expect(same(run(dtype, A, B, s), one), `${isa} ${dtype} ${JSON.stringify(s)}: ${t} threads differ from 1`).toBe(true);
          }
          expect(same(run(dtype, A, B, s), one), `${isa} ${dtype} ${JSON.stringify(s)}: run to run`).toBe(true);
          expect(firstBad(one, jsRef(dtype, A, B, s), absScale(A, B, s), s.k, dtype)).toBeNull();
        });
      }
    }
    cpu!.cpuSetNumThreads(initial!.threads);
  });
});
