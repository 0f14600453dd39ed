// `wattgrad train <model> --nproc N`: the parent starts N ranks of the same command through the
// installed mpirun; each rank (which sees the launcher's environment) joins the process group,
// wraps the model in DistributedDataParallel and trains on its DistributedSampler shard. The
// global --batch-size is split evenly over the ranks, so N ranks take the same optimisation steps
// as one process with that batch size.

import { spawn } from 'node:child_process';
import type { Dataset } from '../data/dataset.js';
import type { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { findMpirun, mpirunArgs, NO_MPIRUN } from './launch.js';
import { destroyProcessGroup, initProcessGroup, launchEnv } from './group.js';
import { DistributedDataParallel } from './ddp.js';
import { DistributedSampler } from './sampler.js';
import type { DistributedEnergy } from './fit-support.js';

/** True when this process is a rank started by an MPI launcher (not the `--nproc` parent). */
export function underLauncher(): boolean {
  return launchEnv().source !== null;
}

/**
 * The parent side: runs `mpirun -np N node <this script> <argv>` with the terminal attached and
 * resolves to its exit code. Throws when no mpirun is installed.
 */
export function launchRanks(nproc: number, argv: string[]): Promise<number> {
  const mpirun = findMpirun();
  if (!mpirun) throw new Error(`train --nproc ${nproc}: ${NO_MPIRUN}`);
  const script = process.argv[1];
  if (!script) throw new Error('train --nproc: cannot tell which script to start on each rank (process.argv[1] is empty)');
  const args = mpirunArgs(nproc, [process.execPath, ...process.execArgv, script, ...argv], mpirun);
  return new Promise((resolve, reject) => {
    const child = spawn(mpirun, args, { stdio: 'inherit' });
    child.on('error', (e) => reject(new Error(`train --nproc: could not start ${mpirun}: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 129 : 1)));
  });
}

export interface RankSetup {
  rank: number;
  worldSize: number;
  /** the per-rank batch size (the global one / worldSize) */
  batchSize: number;
  wrap<M extends Module<[Tensor], Tensor>>(model: M): DistributedDataParallel<[Tensor], Tensor>;
  trainLoader(ds: Dataset<unknown>, seed: number): DataLoader<Tensor[]>;
  testLoader(ds: Dataset<unknown>): DataLoader<Tensor[]>;
  close(): void;
}

/** The rank side: joins the group started by mpirun and says how to shard. */
export function setupRank(nproc: number, globalBatch: number): RankSetup {
  const g = initProcessGroup({ backend: 'mpi' });
  if (g.worldSize !== nproc) {
    destroyProcessGroup();
    throw new Error(
      `train --nproc ${nproc}: the launcher started ${g.worldSize} ranks; start it as wattgrad train ... --nproc N alone, or match -np`,
    );
  }
  if (globalBatch % g.worldSize !== 0)
    throw new Error(
      `train --nproc ${nproc}: --batch-size ${globalBatch} must be a multiple of the ${nproc} ranks (each rank takes an equal share)`,
    );
  const batchSize = globalBatch / g.worldSize;
  return {
    rank: g.rank,
    worldSize: g.worldSize,
    batchSize,
    wrap: (model) => new DistributedDataParallel(model),
    trainLoader: (ds, seed) => new DistributedSampler(ds, { shuffle: true, seed }).loader({ batchSize }),
    testLoader: (ds) => new DistributedSampler(ds, { shuffle: false }).loader({ batchSize: 500 }),
    close: () => destroyProcessGroup(),
  };
}

/** One line for the CLI: J per rank, the total and FLOP/J over all ranks. */
export function formatDistributedEnergy(e: DistributedEnergy): string {
  const j = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(1)} J`);
  const fpj = e.flopsPerJoule === null ? 'n/a' : `${(e.flopsPerJoule / 1e9).toFixed(3)} GFLOP/J`;
  return (
    `over ${e.worldSize} ranks: ${e.joulesPerRank.map((x, r) => `rank ${r} ${j(x)}`).join(', ')}; total ${j(e.totalJoules)}, ${fpj} over all ranks` +
    (e.sharedHost ? ' (ranks share this host: each read the same counters, so the total counts the machine once per rank)' : '')
  );
}
