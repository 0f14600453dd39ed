// What fit() does differently when the model is an nn.DistributedDataParallel over more than one
// rank (lib/train/fit.ts calls these at fixed points, so every rank issues the same collectives):
//   - progress bars and file-writing callbacks (ModelCheckpoint, CSVLogger, JSONLogger) on rank 0 only;
//   - each epoch's training and validation loss and metrics reduced across ranks: sample-weighted
//     means (exact for the loss, accuracy and mean-error metrics; precision/recall/F1/AUC become the
//     sample-weighted mean of the ranks' values), samples summed, throughput = all samples / slowest rank;
//   - energy: each rank measures its own windows; the result gets `distributed`: J per rank, their
//     sum, FLOPs over all ranks and FLOP/J over all ranks. Ranks sharing one machine read the same
//     package counters (RAPL) and GPUs, so their sum counts that machine once per rank there:
//     `sharedHost` says so.

import os from 'node:os';
import type { EnergyResult } from '../energy/index.js';
import type { EpochLog } from '../train/history.js';
import type { EvalResult } from '../train/fit.js';
import { currentGroup, isInitialized } from './group.js';
import { allReduceArray } from './collectives.js';
import { DistributedDataParallel } from './ddp.js';

export interface DistributedEnergy {
  worldSize: number;
  /** measured J of each rank (null where it measured nothing) */
  joulesPerRank: (number | null)[];
  /** the sum of the measured J (null when no rank measured) */
  totalJoules: number | null;
  /** FLOPs counted over all ranks */
  flops: number;
  /** flops / totalJoules */
  flopsPerJoule: number | null;
  samples: number;
  /** true when two or more ranks ran on one host (their counters overlap: the sum over-counts) */
  sharedHost: boolean;
}

export interface FitDistributed {
  rank: number;
  worldSize: number;
  isMain: boolean;
  /** this rank's training samples over the epochs run so far (before reduceTrain summed them) */
  readonly localSamples: number;
  /** drops callbacks that write files on ranks other than 0 */
  callbacks<C>(cbs: C[]): C[];
  reduceTrain(log: EpochLog): void;
  reduceEval(v: EvalResult): EvalResult;
  energy(e: EnergyResult): EnergyResult & { distributed?: DistributedEnergy };
}

const FILE_CALLBACKS = new Set(['ModelCheckpoint', 'CSVLogger', 'JSONLogger']);

function sum(values: number[]): Float64Array {
  const a = Float64Array.from(values);
  allReduceArray('fit', a, 'sum', false);
  return a;
}

function hostKey(): number {
  let h = 0;
  for (const c of os.hostname()) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

/** The DDP behaviour of fit, or null for a model that is not an nn.DistributedDataParallel over > 1 rank. */
export function fitDistributed(model: unknown): FitDistributed | null {
  if (!(model instanceof DistributedDataParallel) || !isInitialized()) return null;
  const g = currentGroup('fit');
  if (g.worldSize === 1) return null;
  const W = g.worldSize;
  const metricMean = (names: string[], values: Record<string, number>, n: number): Record<string, number> => {
    const all = sum([n, ...names.map((k) => (values[k] ?? 0) * n)]);
    const out: Record<string, number> = {};
    names.forEach((k, i) => (out[k] = all[i + 1]! / all[0]!));
    return out;
  };
  let localSamples = 0;
  return {
    rank: g.rank,
    worldSize: W,
    isMain: g.rank === 0,
    get localSamples() {
      return localSamples;
    },
    callbacks<C>(cbs: C[]): C[] {
      if (g.rank === 0) return cbs;
      return cbs.filter((c) => !FILE_CALLBACKS.has((c as object).constructor?.name ?? ''));
    },
    reduceTrain(log: EpochLog): void {
      const names = Object.keys(log.metrics).sort();
      const [n, lossSum, maxSec] = [log.samples, log.loss * log.samples, log.seconds];
      localSamples += n;
      const all = sum([n, lossSum]);
      const secs = new Float64Array(W);
      secs[g.rank] = maxSec;
      allReduceArray('fit', secs, 'sum', false);
      const slowest = Math.max(...secs);
      log.metrics = metricMean(names, log.metrics, n);
      log.loss = all[1]! / all[0]!;
      log.samples = all[0]!;
      log.seconds = slowest;
      log.samplesPerSecond = all[0]! / slowest;
    },
    reduceEval(v: EvalResult): EvalResult {
      const names = Object.keys(v.metrics).sort();
      const all = sum([v.samples, v.loss * v.samples]);
      return { ...v, loss: all[1]! / all[0]!, metrics: metricMean(names, v.metrics, v.samples), samples: all[0]! };
    },
    energy(e: EnergyResult): EnergyResult & { distributed?: DistributedEnergy } {
      // [joules (NaN when unmeasured), flops, samples, host key] per rank
      const row = new Float64Array(4 * W);
      row.set([e.joules ?? NaN, e.flops, e.samples ?? 0, hostKey()], 4 * g.rank);
      allReduceArray('fit', row, 'sum', false);
      const joulesPerRank: (number | null)[] = [];
      let total: number | null = null;
      let flops = 0;
      let samples = 0;
      const hosts = new Set<number>();
      for (let r = 0; r < W; r++) {
        const j = row[4 * r]!;
        joulesPerRank.push(Number.isNaN(j) ? null : j);
        if (!Number.isNaN(j)) total = (total ?? 0) + j;
        flops += row[4 * r + 1]!;
        samples += row[4 * r + 2]!;
        hosts.add(row[4 * r + 3]!);
      }
      const distributed: DistributedEnergy = {
        worldSize: W,
        joulesPerRank,
        totalJoules: total,
        flops,
        flopsPerJoule: total ? flops / total : null,
        samples,
        sharedHost: hosts.size < W,
      };
      return { ...e, distributed };
    },
  };
}
