// Distributed benchmarks (MPI backend, CPU):
//   1. allReduce bandwidth: float32 buffers of 1–64 MB at 2 ranks, sync allReduce('sum'), median
//      of several runs; algbw = S / t, busbw = 2(n−1)/n · S / t (the ring's bytes per rank, what
//      nccl-tests reports), so the figure compares with the link's bandwidth.
//   2. training throughput: the MNIST CNN (the CLI's mnist-cnn) at 1 and 2 ranks, 1 thread each
//      (WATTGRAD_NUM_THREADS=1), the same global batch (64) split over the ranks; samples/s of
//      the global batch over timed steps after warm-up (rank 0, after a barrier).
//
//   npm run bench:dist [-- --write-results] [--quick]
// (compiles bench/ with tsconfig.bench.json, then runs dist-bench/bench/dist/dist.js). The parent
// starts each measurement under mpirun; a rank runs with --rank-mode. --write-results replaces the
// "dist" section of bench/RESULTS.md.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, randn, randint, tidy, crossEntropy } from '../../lib/index.js';
import * as dist from '../../lib/distributed/index.js';
import { findMpirun, mpirunArgs } from '../../lib/distributed/launch.js';
import { packageRoot } from '../../lib/native.js';
import { writeResultsSection } from '../lib/report.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');

interface BwRow {
  mb: number;
  ms: number;
  algbwGBs: number;
  busbwGBs: number;
}
interface TpRow {
  ranks: number;
  noSync: boolean;
  samplesPerSecond: number;
  stepMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function rankBandwidth(out: string): Promise<void> {
  const g = dist.initProcessGroup({ timeoutMs: 120_000 });
  const rows: BwRow[] = [];
  for (const mb of [1, 2, 4, 8, 16, 32, 64]) {
    const n = (mb * 1024 * 1024) / 4;
    const t = randn([n]);
    const reps = quick ? 3 : mb <= 8 ? 15 : 7;
    const times: number[] = [];
    for (let i = 0; i < reps + 2; i++) {
      dist.barrier();
      const t0 = performance.now();
      dist.allReduce(t, 'sum');
      const dt = performance.now() - t0;
      if (i >= 2) times.push(dt);
    }
    t.dispose();
    const ms = median(times);
    const bytes = mb * 1024 * 1024;
    const W = g.worldSize;
    rows.push({ mb, ms, algbwGBs: bytes / (ms / 1000) / 1e9, busbwGBs: ((2 * (W - 1)) / W) * (bytes / (ms / 1000)) / 1e9 });
  }
  if (g.rank === 0) fs.writeFileSync(out, JSON.stringify(rows));
}

async function rankThroughput(out: string, noSync = false): Promise<void> {
  const g = dist.initProcessGroup({ timeoutMs: 120_000 });
  const { MODELS } = await import('../../lib/models/index.js');
  manualSeed(0);
  const run = MODELS['mnist-cnn'].create({ lr: 0.002, epochs: 1, device: 'cpu' });
  const model = new dist.DistributedDataParallel(run.model);
  const per = 64 / g.worldSize;
  const x = randn([per, 1, 28, 28]).keep();
  const y = randint(0, 10, [per]).keep();
  const step = (): void => {
    run.optimizer.zeroGrad();
    // noSync: the same work without gradient communication (separates DDP's cost from the machine's)
    if (noSync) model.noSync(() => tidy(() => crossEntropy(model.forward(x), y).backward()));
    else tidy(() => crossEntropy(model.forward(x), y).backward());
    run.optimizer.step();
  };
  const warm = quick ? 2 : 4;
  const steps = quick ? 6 : 25;
  for (let i = 0; i < warm; i++) step();
  dist.barrier();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  dist.barrier();
  const ms = performance.now() - t0;
  if (g.rank === 0)
    fs.writeFileSync(out, JSON.stringify({ ranks: g.worldSize, noSync, samplesPerSecond: (64 * steps) / (ms / 1000), stepMs: ms / steps }));
}

function launch(np: number, mode: string): unknown {
  const mpirun = findMpirun();
  if (!mpirun) throw new Error('bench:dist: no mpirun (apt-get install openmpi-bin libopenmpi-dev)');
  const out = path.join(os.tmpdir(), `wattgrad-bench-dist-${process.pid}-${mode}-${np}.json`);
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(mpirun, mpirunArgs(np, [process.execPath, self, '--rank-mode', mode, out, ...(quick ? ['--quick'] : [])], mpirun), {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, WATTGRAD_NUM_THREADS: '1', WATTGRAD_QUIET: '1' },
  });
  if (r.status !== 0) throw new Error(`bench:dist: mpirun -np ${np} (${mode}) exited with ${r.status ?? r.signal}`);
  const v = JSON.parse(fs.readFileSync(out, 'utf8')) as unknown;
  fs.rmSync(out, { force: true });
  return v;
}

async function parent(): Promise<void> {
  const bw = launch(2, 'bandwidth') as BwRow[];
  const tp = [launch(1, 'throughput') as TpRow, launch(2, 'throughput') as TpRow, launch(2, 'throughput-nosync') as TpRow];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    '## Distributed (MPI backend, CPU)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${os.cpus().length} cores, Open MPI over shared memory (one host), ` +
      'ranks oversubscribed (`--oversubscribe`). **The machine was shared with other jobs while this ran: the figures are noisy; ' +
      'compare the ratios within the run.** Rerun: `npm run bench:dist -- --write-results`.',
    '',
    '### allReduce bandwidth, 2 ranks, float32, sync `allReduce(t, "sum")`',
    '',
    '| size | time (median) | algbw S/t | busbw 2(n−1)/n·S/t |',
    '|---:|---:|---:|---:|',
    ...bw.map((r) => `| ${r.mb} MB | ${r.ms.toFixed(2)} ms | ${r.algbwGBs.toFixed(2)} GB/s | ${r.busbwGBs.toFixed(2)} GB/s |`),
    '',
    '### Training throughput, MNIST CNN (mnist-cnn), global batch 64, 1 thread per rank',
    '',
    '| ranks | samples/s | step | speed-up |',
    '|---:|---:|---:|---:|',
    ...tp.map(
      (r) =>
        `| ${r.ranks}${r.noSync ? ' (noSync: same work, no gradient allReduce)' : ''} | ${r.samplesPerSecond.toFixed(1)} | ${r.stepMs.toFixed(1)} ms | ${(r.samplesPerSecond / tp[0]!.samplesPerSecond).toFixed(2)}× |`,
    ),
    '',
    'The noSync row runs the 2 ranks without communication: the gap between it and the 1-rank row is the machine (2 shared cores), ' +
      'the gap between it and the 2-rank row is the cost of DDP (bucket copies, the allReduce, waiting for the slower rank).',
  ];
  const body = lines.join('\n');
  console.log(body);
  if (args.includes('--write-results')) {
    writeResultsSection(path.join(packageRoot(), 'bench', 'RESULTS.md'), 'dist', body);
    console.log('wrote the dist section of bench/RESULTS.md');
  }
}

const modeAt = args.indexOf('--rank-mode');
if (modeAt >= 0) {
  const mode = args[modeAt + 1];
  const out = args[modeAt + 2]!;
  await (mode === 'bandwidth' ? rankBandwidth(out) : rankThroughput(out, mode === 'throughput-nosync'));
  dist.destroyProcessGroup();
} else {
  await parent();
}
