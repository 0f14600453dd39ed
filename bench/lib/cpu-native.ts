// The native CPU matmul (native/cpu/, behind the js backend) against the machine's measured FMA
// peak and PyTorch CPU (bench/peers/torch_cpu_matmul.py), at 1 thread and at all threads, in the
// same run. Square fp32 n³ through the public matmul op on cpu tensors; medians of single calls
// after warm-up. The peak is the addon's register-only FMA loop of the selected ISA
// (cpuFmaPeak), per thread count. Every figure is printed with the load average beside it: on a
// shared machine they are not final.
//
//   npm run bench -- --op matmul            (js backend: this section runs when the addon has CPU kernels)

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { nativeCpu } from '../../lib/backend/js/native-cpu.js';
import { matmul } from '../../lib/ops/matmul.js';
import { randn } from '../../lib/ops/creation.js';
import { packageRoot } from '../../lib/native.js';
import { peerEnv, peerPython, renderCpuGoals, type CpuGoalsReport } from './cpu-goals.js';

export interface CpuNativeRow {
  n: number;
  threads: number;
  nativeGflops: number;
  pctPeak: number;
  torchGflops: number | null;
  /** native / torch */
  ratio: number | null;
}

export interface CpuNativeReport {
  isa: string;
  supportedIsas: string[];
  sgemmTile: string;
  peakGflops: Record<number, number>;
  torch: string | null;
  rows: CpuNativeRow[];
  loadBefore: number[];
  loadAfter: number[];
  notes: string[];
  /** the CPU goal table (bench/lib/cpu-goals.ts), when it ran */
  goals?: CpuGoalsReport | null;
}

interface TorchCpuJson {
  torch: string;
  threads: number;
  blas: string;
  cases: { n: number; gflops: number }[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeNative(n: number, budgetMs: number): number {
  const a = randn([n, n]),
    b = randn([n, n]);
  for (let i = 0; i < 2; i++) matmul(a, b).dispose();
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (times.length < 5 || (performance.now() < end && times.length < 200)) {
    const t0 = process.hrtime.bigint();
    matmul(a, b).dispose();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  a.dispose();
  b.dispose();
  return median(times);
}

/** Runs the section, or returns null (with the reason logged) when the CPU kernels are not native. */
export function runCpuNative(sizes: number[], budgetMs: number, log: (l: string) => void): CpuNativeReport | null {
  const cpu = nativeCpu();
  if (!cpu) {
    log('bench: native CPU matmul: skipped (no addon with CPU kernels, or WATTGRAD_CPU_KERNELS=js)');
    return null;
  }
  const info = cpu.cpuInfo();
  const all = info.defaultThreads;
  const threadCounts = all > 1 ? [1, all] : [1];
  const loadBefore = os.loadavg();
  const notes: string[] = [];
  const peakGflops: Record<number, number> = {};
  const rows: CpuNativeRow[] = [];
  let torchInfo: string | null = null;
  const script = path.join(packageRoot(), 'bench', 'peers', 'torch_cpu_matmul.py');
  const env = peerEnv(notes);
  for (const t of threadCounts) {
    cpu.cpuSetNumThreads(t);
    // peak: the best of many short register-loop runs, taken before and after the matmuls (the
    // best run is the one least disturbed by other load; one long run under load reads low)
    const peak = (): number => {
      let b = 0;
      for (let r = 0; r < 15; r++) b = Math.max(b, cpu.cpuFmaPeak(4e6, t));
      return b;
    };
    let best = peak();
    let torch: TorchCpuJson | null = null;
    const r = spawnSync(peerPython(), [script, '--threads', String(t), '--sizes', sizes.join(','), '--budget-ms', String(budgetMs)], {
      encoding: 'utf8',
      timeout: 600_000,
      env,
    });
    if (r.status === 0) {
      torch = JSON.parse(r.stdout) as TorchCpuJson;
      torchInfo = `PyTorch ${torch.torch} CPU (${torch.blas}), torch.set_num_threads(t) and openblas_set_num_threads(t), same run`;
    } else {
      notes.push(`torch CPU peer failed at ${t} thread(s): ${(r.stderr || r.error?.message || '').split('\n').slice(-3).join(' ')}`);
    }
    const mine: CpuNativeRow[] = [];
    for (const n of sizes) {
      const ms = timeNative(n, budgetMs);
      const g = (2 * n ** 3) / (ms / 1e3) / 1e9;
      const tg = torch?.cases.find((c) => c.n === n)?.gflops ?? null;
      mine.push({ n, threads: t, nativeGflops: g, pctPeak: 0, torchGflops: tg, ratio: tg ? g / tg : null });
    }
    best = Math.max(best, peak());
    peakGflops[t] = best;
    log(`bench: native CPU: ${info.isa} FMA peak ${best.toFixed(1)} GFLOP/s at ${t} thread(s)`);
    for (const row of mine) {
      row.pctPeak = (100 * row.nativeGflops) / best;
      rows.push(row);
      log(
        `bench: native CPU matmul ${row.n}³ fp32, ${t} thread(s): ${row.nativeGflops.toFixed(1)} GFLOP/s (${row.pctPeak.toFixed(0)}% of peak)` +
          (row.torchGflops ? `, torch ${row.torchGflops.toFixed(1)} GFLOP/s, ${row.ratio!.toFixed(2)}×` : ''),
      );
    }
  }
  cpu.cpuSetNumThreads(info.threads);
  const loadAfter = os.loadavg();
  notes.push(
    `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after, on ${os.cpus().length} logical cores: figures under other load are not final`,
  );
  return {
    isa: info.isa,
    supportedIsas: info.supportedIsas,
    sgemmTile: info.sgemmTile,
    peakGflops,
    torch: torchInfo,
    rows,
    loadBefore,
    loadAfter,
    notes,
  };
}

/** Console / markdown lines of the section. */
export function renderCpuNative(r: CpuNativeReport): string {
  const lines = [
    `### native CPU matmul vs FMA peak and PyTorch CPU (fp32, ${r.isa}, micro-tile ${r.sgemmTile}; ISAs here: ${r.supportedIsas.join(', ')})`,
    '',
    `- peer: ${r.torch ?? 'none'}`,
    '',
    '| n³ | threads | native GFLOP/s | % of FMA peak (peak GFLOP/s) | PyTorch GFLOP/s | native / PyTorch |',
    '|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.n} | ${x.threads} | ${x.nativeGflops.toFixed(1)} | ${x.pctPeak.toFixed(0)}% (${r.peakGflops[x.threads]!.toFixed(0)}) | ${x.torchGflops?.toFixed(1) ?? '–'} | ${x.ratio ? `${x.ratio.toFixed(2)}×` : '–'} |`,
    ),
    '',
    ...r.notes.map((n) => `- ${n}`),
  ];
  if (r.goals) lines.push('', renderCpuGoals(r.goals));
  return lines.join('\n');
}
