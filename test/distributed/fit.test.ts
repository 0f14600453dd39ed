// fit() with an nn.DistributedDataParallel model on 2 and 3 ranks (workers/fit.ts).
import { describe, expect, it } from 'vitest';
import { runRanks, skipReason } from './harness.js';

const reason = skipReason();
if (reason) console.warn(`test/distributed/fit: skipped: ${reason}`);

interface FitResult {
  epochs: { loss: number; acc: number; valLoss: number; valAcc: number; samples: number }[];
  energy: {
    flops: number;
    distributed: { worldSize: number; joulesPerRank: (number | null)[]; flops: number; samples: number; sharedHost: boolean };
  } | null;
  checkpoint: boolean;
  afterTwo: number[];
  resumedEpochs: number;
  final: number[];
}

describe.skipIf(reason !== null).each([2, 3])('fit under DDP on %i ranks', (W) => {
  it('reduces epoch results over ranks, logs and checkpoints on rank 0, sums energy per rank, resumes on every rank', async () => {
    const run = await runRanks(W, 'fit', { timeoutMs: 90_000 });
    expect(run.code, run.stderr).toBe(0);
    const res = run.results as unknown as FitResult[];
    expect(res.length).toBe(W);
    // one progress output (rank 0's): each epoch's summary line once
    expect((run.stderr + run.stdout).match(/epoch 1\/2: loss/g)?.length).toBe(1);
    for (let r = 0; r < W; r++) {
      const x = res[r]!;
      // the same reduced numbers on every rank: all 60 training samples, all 30 validation samples' loss
      expect(x.epochs.length).toBe(2);
      x.epochs.forEach((e, i) => {
        expect(e.samples).toBe(60);
        expect(e.loss).toBeCloseTo(res[0]!.epochs[i]!.loss, 12);
        expect(e.acc).toBeCloseTo(res[0]!.epochs[i]!.acc, 12);
        expect(e.valLoss).toBeCloseTo(res[0]!.epochs[i]!.valLoss, 12);
        expect(e.valAcc).toBeCloseTo(res[0]!.epochs[i]!.valAcc, 12);
        expect(e.loss).toBeGreaterThan(0);
      });
      // accuracy over 60 samples is a multiple of 1/60 once reduced (it would not be for a rank's 60/W alone unless it happens to be)
      expect(Math.abs(x.epochs[1]!.acc * 60 - Math.round(x.epochs[1]!.acc * 60))).toBeLessThan(1e-9);
      expect(x.checkpoint).toBe(r === 0);
      expect(x.afterTwo).toEqual(res[0]!.afterTwo);
      expect(x.resumedEpochs).toBe(3);
      expect(x.final).toEqual(res[0]!.final);
      expect(x.final).not.toEqual(x.afterTwo);
      const d = x.energy!.distributed;
      expect(d.worldSize).toBe(W);
      expect(d.joulesPerRank.length).toBe(W);
      expect(d.sharedHost).toBe(true);
      expect(d.samples).toBe(60 * 2);
      expect(d.flops).toBeCloseTo(
        res.reduce((a, q) => a + q.energy!.flops, 0),
        0,
      );
    }
  }, 120_000);
});
