// nn.DistributedDataParallel on 2 and 3 ranks: after N SGD steps (momentum) the weights equal a
// single process trained on the concatenated batch (float64 to 1e-12, float32 to 1e-6), with one
// bucket and with many small buckets (overlap: allReduces start during backward), with noSync
// gradient accumulation; and mismatched models fail at construction naming the difference.
import { describe, expect, it } from 'vitest';
import { runRanks, skipReason } from './harness.js';

const reason = skipReason();
if (reason) console.warn(`test/distributed/ddp: skipped: ${reason}`);

interface DdpResult {
  weights: number[][];
  reference?: number[][];
  stats: { syncs: number; bucketsLaunched: number; launchedDuringBackward: number };
  buckets: { params: number; numel: number }[];
}

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

describe.skipIf(reason !== null)('DistributedDataParallel', () => {
  for (const [W, dtype, bucketMb, accum, tol] of [
    [2, 'float64', 25, 0, 1e-12],
    [3, 'float64', 0.0001, 0, 1e-12],
    [2, 'float32', 0.0001, 0, 1e-6],
    [3, 'float32', 25, 0, 1e-6],
    [2, 'float64', 0.0001, 1, 1e-12],
  ] as const) {
    it(`${W} ranks, ${dtype}, bucketMb ${bucketMb}${accum ? ', noSync accumulation' : ''}: weights after 4 SGD steps equal one process on the whole batch`, async () => {
      const run = await runRanks(W, 'ddp', { args: [dtype, String(bucketMb), '4', String(accum)], timeoutMs: 90_000 });
      expect(run.code, run.stderr).toBe(0);
      const res = run.results as unknown as DdpResult[];
      expect(res.length).toBe(W);
      const ref = res[0]!.reference!;
      // the weights moved (not a test on an untouched model)
      expect(ref.flat().some((v) => Math.abs(v) > 1e-3)).toBe(true);
      for (let r = 0; r < W; r++) {
        expect(maxDiff(res[r]!.weights, ref), `rank ${r}`).toBeLessThanOrEqual(tol);
        expect(maxDiff(res[r]!.weights, res[0]!.weights), `rank ${r} vs rank 0`).toBe(0);
        expect(res[r]!.stats.syncs).toBe(4);
      }
      const buckets = res[0]!.buckets;
      if (bucketMb < 0.001) {
        // 6 parameters (250 elements) in buckets of ≤ 104 bytes (or one parameter): several buckets,
        // the last layer's first (bias 2, then weight 16), some launched while backward still ran
        expect(buckets.length).toBeGreaterThan(2);
        expect(buckets.reduce((a, x) => a + x.numel, 0)).toBe(5 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2);
        expect(buckets[0]!.numel).toBe(dtype === 'float64' ? 2 : 2 + 16 + 8);
        expect(res[0]!.stats.launchedDuringBackward).toBeGreaterThan(0);
      } else expect(buckets.length).toBe(1);
    }, 120_000);
  }

  it('WATTGRAD_DIST_DEBUG=1: a collective called with another shape or dtype on one rank fails on every rank, naming it', async () => {
    const run = await runRanks(2, 'mismatch', { args: ['collective'], env: { WATTGRAD_DIST_DEBUG: '1' }, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect((run.results[0] as { error: string }).error).toMatch(
      /allReduce: rank 1 called allReduce of float64 \[4\] while rank 0 called allReduce of float32 \[3\] \(WATTGRAD_DIST_DEBUG\)/,
    );
    expect((run.results[1] as { error: string }).error).toMatch(
      /allReduce: rank 0 called allReduce of float32 \[3\] while rank 1 called allReduce of float64 \[4\] \(WATTGRAD_DIST_DEBUG\)/,
    );
  }, 90_000);

  it.each(['shape', 'name'])(
    'mismatched models (%s) fail at construction on every rank, naming the first difference',
    async (how) => {
      const run = await runRanks(2, 'mismatch', { args: [how], timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(0);
      for (const r of [0, 1]) {
        const e = (run.results[r] as { error: string }).error;
        expect(e).toMatch(/DistributedDataParallel: the model differs across ranks/);
        if (how === 'shape')
          expect(e).toMatch(
            /entry #0 is 'parameter 0\.weight float32 \(8,4\)' on rank 0 but 'parameter 0\.weight float32 \(9,4\)' on rank 1/,
          );
        else
          expect(e).toMatch(
            /entry #4 is '\(nothing: its list ends here\)' on rank 0 but 'buffer extra float32 \(8,4\)' on rank 1 \(rank 0 has 4 parameters and buffers, rank 1 has 5\)/,
          );
      }
    },
    90_000,
  );
});
