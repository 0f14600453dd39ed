// The CPU speed goals of issue 12, side by side with PyTorch CPU in the same run, at 1 thread and
// at all cores: the js backend's cases through whatever kernels are native when it runs (the
// addon's CPU kernels behind the same ops; the rest pure JS), against
// bench/peers/torch_ops.py --device cpu --goals --threads t (torch.set_num_threads and OpenBLAS's
// own pool set to t). ratio = PyTorch median / ours: ≥ 1.0 means at least as fast.
//
//   matmul fp32 512³–2048³        ≥ 85% of the measured FMA peak and ≥ 1.0×   (rows of cpu-native.ts)
//   small-CNN conv layers fwd+bwd ≥ 1.0×  (n32: 1→16 28×28 and 16→32 14×14, k5 p2; each pass and the sum)
//   MNIST CNN train step b64      ≥ 1.0×
//   LSTM, GRU h128 b32 T28 fwd+bwd ≥ 1.0×
//   MLP 784-256-10 Adam step b32  ≥ 1.0×  (and the bench's 784-256-128-10 MLP, for reference)
//   AdamW 1e6 params              ≥ 80% of the memory bandwidth (the addon's triad probe, same threads)
//
// Runs from bench/run.ts on the js backend when the addon has CPU kernels (skip: --no-cpu-goals).
// Every figure carries the load average: on a shared machine they are not final.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { cpuKernelsInfo, nativeCpu } from '../../lib/backend/js/native-cpu.js';
import { packageRoot } from '../../lib/native.js';
import { linear } from '../../lib/ops/matmul.js';
import { relu } from '../../lib/ops/elementwise.js';
import { fromHost } from '../../lib/ops/creation.js';
import type { Tensor } from '../../lib/tensor.js';
import { convCases } from '../ops/conv2d.js';
import { rnnCases } from '../ops/rnn.js';
import { optimCases } from '../ops/optim.js';
import { makeModel, makeTrainer, type Model } from '../e2e/models.js';
import type { CpuNativeRow } from './cpu-native.js';
import { timeCpu } from './timing.js';
import type { BenchCase, BenchContext } from './types.js';
import { disposeAll, randomArray, randomInts, randTensor } from './util.js';

export interface CpuGoalRow {
  goal: string;
  id: string;
  threads: number;
  oursMs: number | null;
  torchMs: number | null;
  /** torch median / ours (> 1: we are faster) */
  ratio: number | null;
  /**
   * at 1 thread: the same ratio by median process CPU time per call (torch's cpu_ms / ours), which
   * other load on a shared machine disturbs far less than wall-clock medians taken minutes apart
   */
  cpuRatio?: number | null;
  /** the goal's own figure when it is not the ratio (% of FMA peak, % of bandwidth) */
  figure?: string;
  met: boolean | null;
  error?: string;
}

export interface CpuGoalsReport {
  native: string[];
  isa: string | null;
  threadCounts: number[];
  /** per thread count: the peer's torch version, BLAS and threads, or why it failed */
  peers: Record<number, string>;
  rows: CpuGoalRow[];
  notes: string[];
}

interface PeerJson {
  torch: string;
  threads: number;
  blas?: Record<string, string | number | null>;
  errors?: string[];
  cases: { id: string; peer: string; median_ms: number | null; cpu_ms?: number | null; note?: string }[];
}

const G = {
  matmul: 'matmul fp32 512³–2048³: ≥ 85% of FMA peak, ≥ 1.0× PyTorch',
  conv: 'small-CNN conv layers fwd+bwd: ≥ 1.0×',
  cnn: 'MNIST CNN train step b64: ≥ 1.0×',
  rnn: 'LSTM / GRU h128 b32 T28 fwd+bwd: ≥ 1.0×',
  mlp: 'MLP 784-256-10 Adam step b32: ≥ 1.0×',
  adamw: 'AdamW 1e6 params: ≥ 80% of memory bandwidth',
};
const MLP1 = 'mlp784-256-10';

/** The environment for the peer: OpenBLAS picks its own kernel core unless told (noted). */
export function peerEnv(notes: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env['OPENBLAS_CORETYPE'] && !env['WATTGRAD_PEER_KEEP_CORETYPE']) {
    notes.push(
      `OPENBLAS_CORETYPE=${env['OPENBLAS_CORETYPE']} was set in this environment; removed for the peer so OpenBLAS runs the kernels it picks for this CPU (the stronger peer; WATTGRAD_PEER_KEEP_CORETYPE=1 keeps it)`,
    );
    delete env['OPENBLAS_CORETYPE'];
  }
  return env;
}

export const peerPython = (): string => (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

function runPeer(threads: number, budgetMs: number, env: NodeJS.ProcessEnv): PeerJson | string {
  const script = path.join(packageRoot(), 'bench', 'peers', 'torch_ops.py');
  const file = path.join(os.tmpdir(), `wattgrad-cpu-goals-${process.pid}-${threads}.json`);
  const r = spawnSync(
    peerPython(),
    [script, '--device', 'cpu', '--goals', '--threads', String(threads), '--budget-ms', String(budgetMs), '--json', file],
    { encoding: 'utf8', timeout: 1_800_000, env },
  );
  if (r.status !== 0)
    return `torch_ops.py --device cpu failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-2).join(' ')}`;
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as PeerJson;
  fs.rmSync(file, { force: true });
  return j;
}

function describePeer(j: PeerJson): string {
  const b = j.blas ?? {};
  const blas = b['openblas_config']
    ? `OpenBLAS ${String(b['openblas_config']).split(' ')[1] ?? ''} core ${b['openblas_core']} (${b['libblas']}), ${b['openblas_threads']} OpenBLAS thread(s)`
    : `BLAS ${b['torch_blas_info'] ?? '?'} (${b['libblas'] ?? '?'})`;
  return `PyTorch ${j.torch} CPU, torch threads ${j.threads}, ${blas}${j.errors?.length ? `; errors: ${j.errors.join('; ')}` : ''}`;
}

/** Median process CPU time of one call (ms): at 1 thread, what other load disturbs least. */
function medianCpuMs(run: (i: number) => void, budgetMs: number): number {
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  for (let i = 0; samples.length < 5 || (performance.now() < end && samples.length < 200); i++) {
    const c0 = process.cpuUsage();
    run(i);
    const c = process.cpuUsage(c0);
    samples.push((c.user + c.system) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/** One Adam step of a model, the bench's trainer (forward, cross-entropy, backward, fused Adam). */
function trainCase(ctx: BenchContext, name: 'cnn' | 'mlp' | typeof MLP1, batch: number): { run(i: number): void; dispose(): void } {
  let model: Model;
  if (name === MLP1) {
    const shapes = [[256, 784], [256], [10, 256], [10]];
    const fan = [784, 784, 256, 256];
    const params = shapes.map((s, i) =>
      randTensor(ctx, s, 'float32', 201 + i, -1 / Math.sqrt(fan[i]!), 1 / Math.sqrt(fan[i]!)).requiresGrad_(),
    );
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
    model = { name: 'mlp', params, inputShape: (b) => [b, 784], forward: (x) => linear(relu(linear(x, w1, b1)), w2, b2) };
  } else {
    model = makeModel(ctx, name);
  }
  const trainer = makeTrainer(model);
  const data = Array.from({ length: 4 }, (_, i) => {
    const shape = model.inputShape(batch);
    const n = shape.reduce((a, b) => a * b, 1);
    return {
      x: fromHost(randomArray(n, 300 + i, 0, 1), shape, 'float32', 'cpu'),
      y: fromHost(randomInts(batch, 10, 400 + i), [batch], 'int32', 'cpu'),
    };
  });
  return {
    run: (i) => {
      const d = data[i % data.length]!;
      trainer.step(d.x, d.y);
    },
    dispose: () => {
      trainer.dispose();
      disposeAll([...model.params, ...data.flatMap((d) => [d.x, d.y])]);
    },
  };
}

interface Case {
  goal: string;
  id: string;
  make(): { run(i: number): void; dispose(): void };
}

function fromBench(goal: string, c: BenchCase, ctx: BenchContext): Case {
  return { goal, id: c.id, make: () => c.prepare(ctx) };
}

/** The goal cases other than matmul (full js-backend shapes whatever ctx.quick says). */
function goalCases(ctxIn: BenchContext): Case[] {
  const ctx: BenchContext = { ...ctxIn, backend: 'js', device: 'cpu', quick: false };
  return [
    ...convCases(ctx).map((c) => fromBench(G.conv, c, ctx)),
    { goal: G.cnn, id: 'train cnn b64', make: () => trainCase(ctx, 'cnn', 64) },
    ...rnnCases(ctx, 'lstm').map((c) => fromBench(G.rnn, c, ctx)),
    ...rnnCases(ctx, 'gru').map((c) => fromBench(G.rnn, c, ctx)),
    { goal: G.mlp, id: `train ${MLP1} b32`, make: () => trainCase(ctx, MLP1, 32) },
    { goal: G.mlp, id: 'train mlp b32', make: () => trainCase(ctx, 'mlp', 32) },
    ...optimCases(ctx, 'adamw').map((c) => fromBench(G.adamw, c, ctx)),
  ];
}

/** Every case id of the goal table (torch_ops.py --goals --list-ids prints the same set). */
export function goalCaseIds(ctx: BenchContext): string[] {
  const mm = [512, 1024, 2048].map((n) => `matmul ${n}x${n}x${n}`);
  const rest = goalCases(ctx).map((c) => c.id);
  return [...mm, ...rest];
}

/** Runs the goal table, or returns null (reason logged) without native CPU kernels. */
export function runCpuGoals(ctxIn: BenchContext, matmulRows: CpuNativeRow[], peakGflops: Record<number, number>): CpuGoalsReport | null {
  const log = ctxIn.log;
  const cpu = nativeCpu();
  if (!cpu) {
    log('bench: CPU goals: skipped (no addon with CPU kernels, or WATTGRAD_CPU_KERNELS=js)');
    return null;
  }
  // the goal shapes are the full js-backend ones even in --quick (short budgets there)
  const ctx: BenchContext = { ...ctxIn, backend: 'js', device: 'cpu', quick: false };
  const budgetMs = ctxIn.quick ? 150 : ctxIn.budgetMs;
  const info = cpu.cpuInfo();
  const ki = cpuKernelsInfo();
  const all = info.defaultThreads;
  const threadCounts = all > 1 ? [1, all] : [1];
  const notes: string[] = [];
  const env = peerEnv(notes);
  const cases = goalCases(ctx);
  const probe = (cpu as unknown as { cpuMemBandwidth?: (mib: number, reps: number) => { triad: number; copy: number; threads: number } })
    .cpuMemBandwidth;
  const peers: Record<number, string> = {};
  const rows: CpuGoalRow[] = [];
  const loadBefore = os.loadavg();
  for (const t of threadCounts) {
    cpu.cpuSetNumThreads(t);
    log(`bench: CPU goals at ${t} thread(s): PyTorch peer…`);
    const pj = runPeer(t, budgetMs, env);
    const torchMs = (id: string): number | null => (typeof pj === 'string' ? null : (pj.cases.find((c) => c.id === id)?.median_ms ?? null));
    const torchCpuMs = (id: string): number | null => (typeof pj === 'string' ? null : (pj.cases.find((c) => c.id === id)?.cpu_ms ?? null));
    peers[t] = typeof pj === 'string' ? pj : describePeer(pj);
    for (const m of matmulRows.filter((r) => r.threads === t)) {
      const id = `matmul ${m.n}x${m.n}x${m.n}`;
      const ours = ((2 * m.n ** 3) / (m.nativeGflops * 1e9)) * 1e3;
      // the matmul table's own peer figure (same thread count, same run), else this peer run's
      const tm = m.torchGflops ? ((2 * m.n ** 3) / (m.torchGflops * 1e9)) * 1e3 : torchMs(id);
      const ratio = tm ? tm / ours : null;
      rows.push({
        goal: G.matmul,
        id,
        threads: t,
        oursMs: ours,
        torchMs: tm,
        ratio,
        figure: `${m.pctPeak.toFixed(0)}% of ${peakGflops[t]?.toFixed(0) ?? '?'} GFLOP/s`,
        met: ratio !== null ? m.pctPeak >= 85 && ratio >= 1 : null,
      });
    }
    const bw = probe ? probe(256, 5) : null;
    let convOurs = 0,
      convTorch = 0,
      convOk = true,
      convOursCpu = 0,
      convTorchCpu = 0;
    for (const c of cases) {
      log(`bench: CPU goals: ${c.id}, ${t} thread(s)`);
      let oursMs: number | null = null,
        error: string | undefined;
      let prep: { run(i: number): void; dispose(): void } | null = null;
      let oursCpuMs: number | null = null;
      try {
        prep = c.make();
        oursMs = timeCpu((i) => prep!.run(i), { budgetMs, minSamples: 5 }).medianMs;
        if (t === 1) oursCpuMs = medianCpuMs((i) => prep!.run(i), budgetMs / 2);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      } finally {
        try {
          prep?.dispose();
        } catch {
          /* keep going */
        }
      }
      const tm = torchMs(c.id);
      const ratio = oursMs && tm ? tm / oursMs : null;
      const row: CpuGoalRow = { goal: c.goal, id: c.id, threads: t, oursMs, torchMs: tm, ratio, met: ratio !== null ? ratio >= 1 : null };
      const tc = torchCpuMs(c.id);
      if (t === 1) row.cpuRatio = oursCpuMs && tc ? tc / oursCpuMs : null;
      if (error) row.error = error;
      if (c.goal === G.adamw) {
        const n = 1e6;
        if (bw && oursMs) {
          const pct = ((28 * n) / (oursMs / 1e3) / 1e9 / bw.triad) * 100;
          // 28 MB a step: where the last-level cache holds it, the step is not bound by DRAM
          // and the % of the (DRAM) triad figure can pass 100
          const fits = 28 * n < ctxIn.cacheBytes;
          row.figure = `${pct.toFixed(0)}% of triad ${bw.triad.toFixed(1)} GB/s (28 B/param${fits ? `; ${(28 * n) / 1e6} MB fits the ${(ctxIn.cacheBytes / 2 ** 20).toFixed(0)} MiB LLC` : ''})`;
          row.met = pct >= 80;
        } else {
          row.figure = 'no bandwidth probe in this addon';
          row.met = null;
        }
      }
      if (c.goal === G.mlp && c.id === 'train mlp b32') {
        row.goal = 'the bench MLP 784-256-128-10 Adam step b32 (reference)';
        row.met = null;
      }
      if (c.goal === G.conv) {
        if (oursMs && tm) {
          convOurs += oursMs;
          convTorch += tm;
          convOursCpu += row.cpuRatio ? oursCpuMs! : NaN;
          convTorchCpu += row.cpuRatio ? tc! : NaN;
        } else convOk = false;
      }
      rows.push(row);
    }
    if (convOk && convOurs > 0) {
      const ratio = convTorch / convOurs;
      rows.push({
        goal: G.conv,
        id: 'conv2d layers fwd+grad-input+grad-weight, sum',
        threads: t,
        oursMs: convOurs,
        torchMs: convTorch,
        ratio,
        ...(t === 1 ? { cpuRatio: convOursCpu > 0 ? convTorchCpu / convOursCpu : null } : {}),
        met: ratio >= 1,
      });
    }
  }
  cpu.cpuSetNumThreads(info.threads);
  const loadAfter = os.loadavg();
  if (Math.max(loadBefore[0]!, loadAfter[0]!) > 0.5 * os.cpus().length && threadCounts.length > 1)
    notes.push(
      `PyTorch's all-core figures suffer most from other load: its OpenMP barriers wait for every thread, so one descheduled thread stalls each op; on a loaded machine the all-core ratios overstate ours`,
    );
  notes.push(
    `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after, on ${os.cpus().length} logical cores: figures under other load are not final`,
  );
  return { native: ki.native, isa: ki.isa, threadCounts, peers, rows, notes };
}

const ms = (x: number | null): string => (x === null ? '–' : x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0));

/** Markdown lines of the goal table. */
export function renderCpuGoals(r: CpuGoalsReport): string {
  const lines = [
    `### CPU goals vs PyTorch CPU, same run, at ${r.threadCounts.join(' and ')} thread(s)`,
    '',
    '- ratio = PyTorch median ÷ ours (≥ 1.0× is the goal); "goal figure": the goal\'s own measure where it is not the ratio',
    `- native CPU kernels when it ran: ${r.native.join(', ') || 'none'} (${r.isa ?? '–'}); everything else pure JS`,
    ...r.threadCounts.map((t) => `- peer at ${t} thread(s): ${r.peers[t] ?? '–'}`),
    '',
    '- "by CPU time": at 1 thread, the ratio of median process CPU time per call (PyTorch ÷ ours), which other load on a shared machine disturbs far less than the wall-clock medians (taken minutes apart)',
    '',
    '| goal | case | threads | ours ms | PyTorch ms | ours vs PyTorch | by CPU time | goal figure | met |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.goal} | ${x.id} | ${x.threads} | ${ms(x.oursMs)} | ${ms(x.torchMs)} | ${x.ratio !== null ? `${x.ratio.toFixed(2)}×` : '–'} | ${x.cpuRatio ? `${x.cpuRatio.toFixed(2)}×` : '–'} | ${x.figure ?? ''} | ${x.met === null ? '–' : x.met ? 'yes' : 'no'}${x.error ? ` (error: ${x.error.split('\n')[0]})` : ''} |`,
    ),
    '',
    ...r.notes.map((n) => `- ${n}`),
  ];
  return lines.join('\n');
}
