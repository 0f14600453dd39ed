// One row of the optimize table: accuracy, size, latency, throughput and joules per 1,000
// predictions of a model on the MNIST test split.
//
// Latency: the test images cut into batches of `batchSize` once (outside the timed region), two
// warm-up batches, then whole passes over the batches until at least `minBatches` were timed; each
// batch is one forward under noGrad with its output read back (so on cuda the time includes the
// device work), timed with performance.now. p50 / p95 are over those per-batch times; samples/s is
// predictions / the summed batch time.
// Energy: an EnergyMeter window around exactly that timed loop: joules are the counter difference
// (RAPL for the CPU, NVML for a GPU) where one can be read, else the meter's estimate (watts × seconds,
// `cpuWatts`), and the row says which. J / 1k predictions = joules / predictions × 1000.
// Size: parameters (int8 layers counted by their elements), nonzero parameters (pruning masks or
// exact zeros after prune.remove), the bytes of the file the model saves to (safetensors; int8 layers
// through saveQuantized), FLOPs per sample from the op counter over one forward of a single image.

import fs from 'node:fs';
import { noGrad } from '../autograd/mode.js';
import { costDelta, costSnapshot } from '../backend/counter.js';
import { synchronize } from '../backend/registry.js';
import type { EnergyMeter, EnergyResult } from '../energy/meter.js';
import { save } from '../io/safetensors.js';
import { tidy } from '../memory.js';
import type { Module } from '../nn/module.js';
import { summarize, type SummaryTotals } from '../nn/summary.js';
import { argmax } from '../ops/reduce.js';
import { isQuantized, saveQuantized } from '../quantization/io.js';
import type { Tensor } from '../tensor.js';

export interface MeasureOptions {
  /** predictions per timed batch (default 64) */
  batchSize: number;
  /** at least this many timed batches (default 20) */
  minBatches: number;
  meter: EnergyMeter;
  /** where the model file is written (its size is bytes on disk) */
  file: string;
  /** the model's int8 kernels do not report FLOPs (static / QAT int8): the row shows none */
  int8Uncounted?: boolean;
  /** wraps every forward (autocast for the amp row) */
  wrap?: <T>(fn: () => T) => T;
}

export interface RowMeasurement {
  /** caveats found while measuring */
  notes: string[];
  accuracy: number;
  params: number;
  nonzeroParams: number;
  bytesOnDisk: number;
  /** null where the op counter does not see the kernels (the static int8 ones) */
  flopsPerSample: number | null;
  latencyMs: { p50: number; p95: number; batches: number; batchSize: number };
  samplesPerSecond: number;
  joules: number | null;
  joulesPer1k: number | null;
  /** 'measured: rapl' / 'measured: nvml-counter' / 'estimate: 15 W × s (no RAPL counter: …)' */
  energyMethod: string;
  energyMeasured: boolean;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  // linear interpolation between closest ranks (numpy's default)
  const r = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(r);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (r - lo);
}

/** Parameters as model.summary() counts them (int8 layers by their elements); nonzero: masks, or exact zeros after prune.remove. */
function countParams(model: Module, t: SummaryTotals, quantized: boolean): { params: number; nonzero: number } {
  if (quantized) return { params: t.params, nonzero: t.params };
  if (t.nonzeroParams !== undefined) return { params: t.params, nonzero: t.nonzeroParams };
  let nonzero = 0;
  for (const p of model.parameters()) {
    const v = p.dataSync();
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) nonzero++;
  }
  return { params: t.params, nonzero };
}

/** Top-1 accuracy over (x, y) in chunks of 500, every forward inside wrap (synchronous: autocast). */
function accuracyOf(fwd: { forward(x: Tensor): Tensor }, x: Tensor, y: Tensor, wrap: <T>(fn: () => T) => T): number {
  const n = x.shape[0]!;
  let correct = 0;
  for (let i = 0; i < n; i += 500) {
    const j = Math.min(n, i + 500);
    correct += noGrad(() =>
      tidy(() => {
        const pred = argmax(
          wrap(() => fwd.forward(x.slice(0, i, j))),
          1,
        ).dataSync();
        const t = y.slice(0, i, j).dataSync();
        let c = 0;
        for (let k = 0; k < pred.length; k++) if (pred[k] === t[k]) c++;
        return c;
      }),
    );
  }
  return correct / n;
}

function energyOf(r: EnergyResult): { joules: number | null; method: string; measured: boolean } {
  if (r.joules !== null) {
    const m = [...r.gpu.filter((g) => g.joules !== null).map((g) => g.method), ...(r.cpu && r.cpu.joules !== null ? [r.cpu.method] : [])];
    return { joules: r.joules, method: `measured: ${[...new Set(m)].join(' + ')}`, measured: true };
  }
  if (r.estimatedJoules !== null) {
    const why = r.cpu?.note ?? r.warnings.find((w) => /estimated/.test(w)) ?? '';
    return { joules: r.estimatedJoules, method: `estimate: watts × seconds${why ? ` (${why})` : ''}`, measured: false };
  }
  return { joules: null, method: `unavailable: ${r.cpu?.method ?? 'no meter'}`, measured: false };
}

/** Measures `model` (eval mode) on the test images x and labels y. */
export async function measureModel(name: string, model: Module, x: Tensor, y: Tensor, o: MeasureOptions): Promise<RowMeasurement> {
  const wrap = o.wrap ?? (<T>(fn: () => T): T => fn());
  model.eval();
  const fwd = model as unknown as { forward(x: Tensor): Tensor };
  const accuracy = accuracyOf(fwd, x, y, wrap);
  const totals = summarize(model, [1, 1, 28, 28], { print: false }).totals;
  const quantized = (totals.quantizedParams ?? 0) > 0;

  // FLOPs of one single-image forward (the counter records every kernel call)
  const one = x.slice(0, 0, 1);
  const c0 = costSnapshot();
  noGrad(() => tidy(() => void wrap(() => fwd.forward(one)).dataSync()));
  const counted = costDelta(c0, costSnapshot());
  one.dispose();
  // the static int8 conv/GEMM record no cost: a figure would undercount, so none
  const flopsPerSample = quantized && o.int8Uncounted ? null : counted.flops;

  const { params, nonzero } = countParams(model, totals, quantized);
  const notes: string[] = [];
  if (isQuantized(model)) saveQuantized(o.file, model);
  else save(o.file, model.stateDict() as Record<string, Tensor>);
  let bytesOnDisk = fs.statSync(o.file).size;
  if (quantized && bytesOnDisk < (totals.quantizedBytes ?? 0)) {
    // the file lacks the int8 layers (saveQuantized does not know them yet): count what they hold
    notes.push(
      `bytes: saveQuantized does not write these int8 layers yet, so the figure is the state dict file (${bytesOnDisk} B) + the int8 storage model.summary() reports (${totals.quantizedBytes} B)`,
    );
    bytesOnDisk += totals.quantizedBytes!;
  }

  const n = x.shape[0]!;
  const batches: Tensor[] = [];
  for (let i = 0; i < n; i += o.batchSize) batches.push(x.slice(0, i, Math.min(n, i + o.batchSize)));
  const runBatch = (b: Tensor): void => noGrad(() => tidy(() => void wrap(() => fwd.forward(b)).dataSync()));
  try {
    for (let w = 0; w < Math.min(2, batches.length); w++) runBatch(batches[w]!);
    synchronize();
    const times: number[] = [];
    let predictions = 0;
    o.meter.begin(name);
    while (times.length < o.minBatches) {
      for (const b of batches) {
        const t0 = performance.now();
        runBatch(b);
        times.push(performance.now() - t0);
        predictions += b.shape[0]!;
      }
    }
    const r = o.meter.end(name, { samples: predictions });
    const total = times.reduce((a, t) => a + t, 0);
    const sorted = [...times].sort((a, b) => a - b);
    const e = energyOf(r);
    return {
      notes,
      accuracy,
      params,
      nonzeroParams: nonzero,
      bytesOnDisk,
      flopsPerSample,
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), batches: times.length, batchSize: o.batchSize },
      samplesPerSecond: predictions / (total / 1000),
      joules: e.joules,
      joulesPer1k: e.joules === null ? null : (e.joules / predictions) * 1000,
      energyMethod: e.method,
      energyMeasured: e.measured,
    };
  } finally {
    for (const b of batches) b.dispose();
  }
}
