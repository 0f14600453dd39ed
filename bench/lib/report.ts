// The report: console tables per op, the JSON written by --json, and the per-device section of
// bench/RESULTS.md rewritten by --write-results (other devices' sections are kept).

import fs from 'node:fs';
import type { E2eResult } from '../e2e/train.js';
import type { Roofline } from './roofline.js';
import type { CaseResult } from './types.js';
import { renderCpuNative, type CpuNativeReport } from './cpu-native.js';

export interface BenchMeta {
  date: string;
  backend: 'js' | 'cuda';
  /** 'cpu: <model>' or 'gpu: <name>' — the RESULTS.md section key */
  deviceKey: string;
  deviceName: string;
  driver: string | null;
  commit: string | null;
  node: string;
  cpu: string;
  cores: number;
  quick: boolean;
  timingMethod: string;
  peers: Record<string, string | null>;
  notes: string[];
}

export interface BenchReport {
  meta: BenchMeta;
  roofline: Roofline;
  cases: CaseResult[];
  e2e: E2eResult[];
  /** js backend: the native CPU matmul vs FMA peak and PyTorch CPU (bench/lib/cpu-native.ts) */
  cpuNative?: CpuNativeReport | null;
}

// ---- number formatting ----------------------------------------------------------------------

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0.01) return `${(ms * 1000).toFixed(2)} µs`;
  if (ms < 1) return `${(ms * 1000).toFixed(1)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}

export function fmtRate(x: number | null | undefined, unit: string): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const p: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, s] of p) if (Math.abs(x) >= v) return `${(x / v).toFixed(x / v >= 100 ? 0 : x / v >= 10 ? 1 : 2)} ${s}${unit}`;
  return `${x.toFixed(2)} ${unit}`;
}

const fmtPct = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(x < 10 ? 1 : 0)}%`;
const fmtX = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');

function peerColumns(rows: CaseResult[]): string[] {
  const seen: string[] = [];
  for (const r of rows)
    for (const p of r.peers) {
      const k = `${p.peer}${p.dtype !== r.dtype ? ` ${p.dtype}` : ''}`;
      if (!seen.includes(k)) seen.push(k);
    }
  return seen;
}

function validCell(r: CaseResult): string {
  if (!r.validation) return '—';
  return r.validation.ok ? 'ok' : `FAIL (${r.validation.note ?? `worst ${r.validation.worst.toExponential(1)}`})`;
}

function counterCell(r: CaseResult): string {
  if (!r.counter) return '—';
  return r.counter.flopsMatch ? 'ok' : `differs: ${r.counter.flops.toExponential(3)} vs ${r.flops.toExponential(3)}`;
}

/** Rows of one op family as a table (markdown pipes; readable on a console too). */
export function opTable(rows: CaseResult[]): string[] {
  const peers = peerColumns(rows);
  const gpu = rows.some((r) => r.pctDatasheet !== null);
  const head = [
    'shape',
    'dtype',
    'median',
    'FLOP/s',
    'bytes/s',
    '% roofline',
    ...(gpu ? ['% datasheet'] : []),
    'bound',
    'valid',
    'counter',
    ...peers.map((p) => `vs ${p}`),
  ];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    if (r.skipped || r.error || !r.timing) {
      out.push(
        `| ${r.shape} | ${r.dtype} | ${r.skipped ? `skipped: ${r.skipped}` : `error: ${(r.error ?? '').split('\n')[0]}`} |${' |'.repeat(head.length - 3)}`,
      );
      continue;
    }
    const pc = peers.map((p) => {
      const m = r.peers.find((x) => `${x.peer}${x.dtype !== r.dtype ? ` ${x.dtype}` : ''}` === p);
      return m ? `${fmtX(m.speedup)} (${fmtMs(m.medianMs)})` : '—';
    });
    out.push(
      `| ${[
        r.shape,
        r.dtype,
        fmtMs(r.timing.medianMs),
        fmtRate(r.flopsPerSecond, 'FLOP/s'),
        fmtRate(r.bytesPerSecond, 'B/s'),
        fmtPct(r.pctRoofline),
        ...(gpu ? [fmtPct(r.pctDatasheet)] : []),
        r.bound ?? '—',
        validCell(r),
        counterCell(r),
        ...pc,
      ].join(' | ')} |`,
    );
  }
  return out;
}

export function e2eTable(rows: E2eResult[]): string[] {
  const peers = [...new Set(rows.flatMap((r) => r.peers.map((p) => p.peer)))];
  const head = [
    'model',
    'batch',
    'step (median)',
    'samples/s',
    'GFLOP/step',
    'J/sample',
    'J/epoch (60k, extrapolated)',
    'energy method',
    'valid',
    ...peers.map((p) => `vs ${p}`),
  ];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    if (r.error) {
      out.push(`| ${r.model} | ${r.batch} | error: ${r.error.split('\n')[0]} |${' |'.repeat(head.length - 3)}`);
      continue;
    }
    const e = r.energy;
    const pc = peers.map((p) => {
      const m = r.peers.find((x) => x.peer === p);
      return m ? `${fmtX(m.speedup)} (${m.samplesPerSecond.toFixed(0)}/s)` : '—';
    });
    out.push(
      `| ${[
        r.model.toUpperCase(),
        r.batch,
        fmtMs(r.stepMedianMs),
        r.samplesPerSecond.toFixed(0),
        (r.flopsPerStep / 1e9).toFixed(3),
        e.joulesPerSample === null ? 'unavailable' : e.joulesPerSample.toExponential(3),
        e.joulesPerEpoch === null ? 'unavailable' : e.joulesPerEpoch.toFixed(1),
        e.method,
        r.validation ? (r.validation.ok ? 'ok' : `FAIL (${r.validation.note ?? ''})`) : '—',
        ...pc,
      ].join(' | ')} |`,
    );
  }
  return out;
}

export function rooflineLines(r: Roofline): string[] {
  const out = [`- memory bandwidth (measured): ${fmtRate(r.bandwidth, 'B/s')} — ${r.bandwidthSource}`];
  for (const [d, f] of Object.entries(r.peakFlops)) out.push(`- peak ${d} (measured): ${fmtRate(f, 'FLOP/s')} — ${r.peakFlopsSource[d]}`);
  for (const l of r.leads)
    out.push(`- lead, not measured: ${l.label}: ${l.flops ? fmtRate(l.flops, 'FLOP/s') : fmtRate(l.bytesPerSecond, 'B/s')}`);
  return out;
}

/** Summary of js vs tfjs on the issue-2 goal (≥ 2× faster on matmul, conv2d and a training step). */
export function goalLines(rep: BenchReport): string[] {
  if (rep.meta.backend !== 'js') return [];
  const out: string[] = [];
  for (const r of rep.cases) {
    const p = r.peers.find((x) => x.peer === 'tfjs-cpu');
    if (p)
      out.push(
        `- ${r.op} ${r.shape}: ${fmtX(p.speedup)} tfjs (ours ${fmtMs(r.timing?.medianMs)}, tfjs ${fmtMs(p.medianMs)}) — ${p.speedup >= 2 ? 'meets' : 'below'} the 2× goal`,
      );
  }
  for (const r of rep.e2e) {
    const p = r.peers.find((x) => x.peer === 'tfjs-cpu');
    if (p)
      out.push(
        `- ${r.model.toUpperCase()} training step (batch ${r.batch}): ${fmtX(p.speedup)} tfjs (ours ${fmtMs(r.stepMedianMs)}, tfjs ${fmtMs(p.stepMedianMs)}) — ${p.speedup >= 2 ? 'meets' : 'below'} the 2× goal`,
      );
  }
  return out;
}

export function renderMarkdown(rep: BenchReport): string {
  const m = rep.meta;
  const lines: string[] = [];
  lines.push(
    `## ${m.deviceKey.startsWith('gpu') ? 'GPU' : 'CPU'}: ${m.deviceName} (${m.backend} backend)${m.quick ? ' — QUICK MODE (tiny sizes)' : ''}`,
    '',
  );
  lines.push(
    `- date: ${m.date}`,
    `- device: ${m.deviceName}${m.driver ? `, driver ${m.driver}` : ''}`,
    `- commit: ${m.commit ?? 'unknown (no commits yet)'}`,
    `- node: ${m.node}; CPU: ${m.cpu} (${m.cores} logical cores)`,
    `- timing: ${m.timingMethod}; medians of many runs after warm-up; inputs random (never zeros), rotated when they fit in cache`,
  );
  for (const [k, v] of Object.entries(m.peers)) lines.push(`- peer ${k}: ${v ?? 'unavailable'}`);
  for (const n of m.notes) lines.push(`- note: ${n}`);
  lines.push('', '### Roofline', '', ...rooflineLines(rep.roofline), '');
  const goal = goalLines(rep);
  if (goal.length) lines.push('### js backend vs tfjs (goal: ≥ 2× faster; speedup = tfjs median / ours)', '', ...goal, '');
  const ops = [...new Set(rep.cases.map((c) => c.op))];
  for (const op of ops) lines.push(`### ${op}`, '', ...opTable(rep.cases.filter((c) => c.op === op)), '');
  if (rep.e2e.length) lines.push('### End-to-end training (synthetic MNIST-shaped batches, Adam lr 1e-3)', '', ...e2eTable(rep.e2e), '');
  lines.push(
    '"vs X" columns: X\'s median ÷ ours (> 1: we are faster), X measured in the same run. "% roofline": max(FLOPs / measured peak, bytes / measured bandwidth) ÷ median.',
    '',
  );
  if (rep.cpuNative) lines.push('', renderCpuNative(rep.cpuNative));
  return lines.join('\n');
}

export function renderConsole(rep: BenchReport): string {
  return renderMarkdown(rep);
}

// ---- RESULTS.md -----------------------------------------------------------------------------

const begin = (key: string): string => `<!-- bench:begin ${key} -->`;
const end = (key: string): string => `<!-- bench:end ${key} -->`;

export const RESULTS_HEADER = `# wattgrad benchmark results

The latest figures per device, written by \`npm run bench -- --write-results\` (each run rewrites
only the section of the device it ran on). How to run and what is measured: see \`bench/run.ts\`.

- CPU: \`npm run bench -- --backend js --write-results\` (peer: @tensorflow/tfjs CPU backend, same process).
- GPU: \`npm run bench -- --backend cuda --write-results\` (peer: PyTorch via \`bench/peers/torch_ops.py\`, same machine, same run).

Numbers are medians; on a shared machine they are noisy — compare ratios measured in the same run.
`;

export const GPU_PLACEHOLDER_KEY = 'gpu: none';
export const GPU_PLACEHOLDER = `## GPU: not yet measured (no GPU was available)

No GPU run has been recorded yet. The GPU suite (cuda backend vs PyTorch/cuBLAS/cuDNN on the
same shapes) is in \`bench/ops/*.ts\` and \`bench/peers/torch_ops.py\`; run it on the GPU machine with
\`npm run bench -- --backend cuda --write-results\`, or, from the GPU bundle's output (scripts/gpu-check.sh writes
bench.json), here: \`node dist-bench/bench/run.js --from-json bench.json --write-results\`.
`;

/** Replaces (or appends) the section `key` of RESULTS.md; keeps every other section. */
export function writeResultsSection(path: string, key: string, body: string, dropKeys: string[] = []): void {
  let text = fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : RESULTS_HEADER;
  for (const k of dropKeys) text = removeSection(text, k);
  const block = `${begin(key)}\n${body.trimEnd()}\n${end(key)}`;
  const a = text.indexOf(begin(key));
  const b = text.indexOf(end(key));
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + end(key).length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
}

function removeSection(text: string, key: string): string {
  const a = text.indexOf(begin(key));
  const b = text.indexOf(end(key));
  if (a < 0 || b < a) return text;
  return (text.slice(0, a).trimEnd() + '\n\n' + text.slice(b + end(key).length).trimStart()).trimEnd() + '\n';
}

export function hasSection(text: string, key: string): boolean {
  return text.includes(begin(key));
}
