// Each collective against a hand-computed result, for float32, float64 and int32, at 2 and 3
// ranks (mpirun --oversubscribe on this machine). The worker (workers/collectives.ts) gives rank
// r the input values(r): ±(r+1)(i+1), plus r/4 for floats.
import { describe, expect, it } from 'vitest';
import { implSkipReason, runRanks, type Impl } from './harness.js';

// Open MPI always (CI installs it); MPICH where Debian's mpich package is installed
const reasons: Record<Impl, string | null> = { openmpi: implSkipReason('openmpi'), mpich: implSkipReason('mpich') };
for (const [impl, why] of Object.entries(reasons)) if (why) console.warn(`test/distributed/collectives (${impl}): skipped: ${why}`);
const IMPL_NAME: Record<Impl, string> = { openmpi: 'Open MPI', mpich: 'MPICH' };

type DT = 'float32' | 'float64' | 'int32';
const N = 6;
function values(r: number, n: number, dtype: DT, salt = 0): number[] {
  return Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (r + 1) * (i + 1 + salt) + (dtype === 'int32' ? 0 : r / 4));
}
const f32 = (x: number): number => Math.fround(x);
function reduce(rows: number[][], op: string): number[] {
  return rows[0]!.map((_, i) => {
    const col = rows.map((row) => row[i]!);
    if (op === 'sum') return col.reduce((a, b) => a + b, 0);
    if (op === 'avg') return col.reduce((a, b) => a + b, 0) / col.length;
    if (op === 'max') return Math.max(...col);
    return Math.min(...col);
  });
}

describe.each([
  ['openmpi', 2],
  ['openmpi', 3],
  ['mpich', 2],
  ['mpich', 3],
] as const)('collectives (%s) on %i ranks', (impl, W) => {
  it.skipIf(reasons[impl] !== null)(
    'allReduce (sum, avg, max, min), broadcast, allGather, reduceScatter: every dtype, sync and async, equal the hand-computed results',
    async () => {
      const run = await runRanks(W, 'collectives', { timeoutMs: 90_000, impl });
      expect(run.code, run.stderr).toBe(0);
      expect(run.results.length).toBe(W);
      for (let r = 0; r < W; r++) {
        const res = run.results[r] as {
          out: Record<string, number[]>;
          errors: Record<string, string>;
          info: { size: number; rank: number; impl: string; thread: string };
          rankEnv: { rank: number; worldSize: number; source: string };
        };
        expect(res.info).toMatchObject({ rank: r, size: W, impl: IMPL_NAME[impl] });
        expect(['multiple', 'serialized']).toContain(res.info.thread);
        expect(res.rankEnv).toMatchObject({ rank: r, worldSize: W, source: impl });
        const o = res.out;
        for (const dtype of ['float32', 'float64', 'int32'] as DT[]) {
          const tol = dtype === 'float32' ? 1e-6 : 1e-12;
          const near = (got: number[] | undefined, want: number[], what: string): void => {
            expect(got, what).toBeDefined();
            expect(got!.length, what).toBe(want.length);
            want.forEach((w, i) =>
              expect(Math.abs(got![i]! - w), `${what}[${i}]: ${got![i]} vs ${w}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w))),
            );
          };
          const inputs = Array.from({ length: W }, (_, k) => values(k, N, dtype));
          const ops = dtype === 'int32' ? ['sum', 'max', 'min'] : ['sum', 'avg', 'max', 'min'];
          for (const op of ops) {
            near(o[`allReduce.${dtype}.${op}`], reduce(inputs, op), `rank ${r} allReduce ${dtype} ${op}`);
            near(o[`allReduceAsync.${dtype}.${op}`], reduce(inputs, op), `rank ${r} allReduceAsync ${dtype} ${op}`);
          }
          // sanity of the hand formula itself: sum of ±(k+1)(i+1) over ranks
          if (dtype === 'int32') expect(reduce(inputs, 'sum')[0]).toBe((W * (W + 1)) / 2);
          near(o[`broadcast.${dtype}`], values(W - 1, N, dtype), `rank ${r} broadcast ${dtype}`);
          near(o[`broadcastAsync.${dtype}`], values(0, N, dtype), `rank ${r} broadcastAsync ${dtype}`);
          near(o[`allGather.${dtype}`], inputs.flat(), `rank ${r} allGather ${dtype}`);
          near(o[`allGatherIntoTensor.${dtype}`], inputs.flat(), `rank ${r} allGatherIntoTensor ${dtype}`);
          const blocks = (salt: number): number[][] => Array.from({ length: W }, (_, k) => values(k, N, dtype, salt));
          near(o[`reduceScatter.${dtype}.sum`], reduce(blocks(r), 'sum'), `rank ${r} reduceScatter ${dtype} sum`);
          near(o[`reduceScatter.${dtype}.max`], reduce(blocks(r), 'max'), `rank ${r} reduceScatter ${dtype} max`);
          near(o[`reduceScatterTensor.${dtype}.min`], reduce(blocks(r), 'min'), `rank ${r} reduceScatterTensor ${dtype} min`);
          if (dtype === 'float32') expect(o[`allReduce.float32.sum`]![1]).toBe(f32(reduce(inputs, 'sum')[1]!));
        }
        // 8 async allReduces in flight together: element 999 of tensor k summed over ranks
        const want = Array.from({ length: 8 }, (_, k) =>
          Array.from({ length: W }, (_, q) => values(q, 1000, 'float64', k)[999]!).reduce((a, b) => a + b, 0),
        );
        expect(o.manyAsync).toEqual(want);
        // rank 0's event loop turned while its allReduceAsync waited for the busy ranks
        if (r === 0) {
          expect(o.asyncTicks![0]).toBeGreaterThan(0);
          expect(o.asyncTicks![1]).toBe(1);
        }
        expect(o.late).toEqual(
          reduce(
            Array.from({ length: W }, (_, k) => values(k, N, 'float64')),
            'sum',
          ),
        );
        const e = res.errors;
        expect(e.dtype).toMatch(/allGatherIntoTensor: output is float64 but input is float32/);
        expect(e.shape).toMatch(/allGatherIntoTensor: output \(\d+,\) must hold worldSize/);
        expect(e.listLength).toMatch(new RegExp(`allGather: tensorList must be an array of worldSize \\(${W}\\) tensors, got 1`));
        expect(e.op).toMatch(/op 'avg' needs a float tensor/);
        expect(e.src).toMatch(new RegExp(`broadcast: src must be a rank in \\[0, ${W}\\), got ${W}`));
        expect(e['init twice']).toMatch(/already initialized/);
      }
    },
    120_000,
  );
});
