// One row of the optimize table: accuracy, size, latency, throughput and joules per 1,000
// predictions of a model on the MNIST test split.
//
// Latency: the test images cut into batches of `batchSize` once (outside the timed region), two
// warm-up batches per model, then rounds (timeModels): each round one pass over the batches per
// model, the models' order rotating, until each has at least `minBatches` timed; each batch is one
// forward under noGrad with its output read back (so on cuda the time includes the device work),
// timed with performance.now. p50 / p95 are over those per-batch times; samples/s is predictions /
// the summed batch time.
// Energy: an EnergyMeter window around exactly each timed pass, summed per model: joules are the
// counter difference (RAPL for the CPU, NVML for a GPU) where one can be read, else the meter's
// estimate (watts × seconds, `cpuWatts`), and the row says which. J / 1k = joules / predictions × 1000.
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
/** What does not depend on the machine's load: accuracy, size, FLOPs (timing comes from timeModels). */
export type ModelDescription = Pick<RowMeasurement, 'notes' | 'accuracy' | 'params' | 'nonzeroParams' | 'bytesOnDisk' | 'flopsPerSample'>;
export type ModelTiming = Pick<
  RowMeasurement,
  'latencyMs' | 'samplesPerSecond' | 'joules' | 'joulesPer1k' | 'energyMethod' | 'energyMeasured'
>;

const plain = <T>(fn: () => T): T => fn();

/** Accuracy, parameters, bytes on disk (writes o.file) and FLOPs of `model` (put in eval mode). */
export function describeModel(
  model: Module,
  x: Tensor,
  y: Tensor,
  o: Pick<MeasureOptions, 'file' | 'wrap' | 'int8Uncounted'>,
): ModelDescription {
  const wrap = o.wrap ?? plain;
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
  return { notes, accuracy, params, nonzeroParams: nonzero, bytesOnDisk, flopsPerSample };
}

export interface TimedModel {
  key: string;
  model: Module;
  wrap?: <T>(fn: () => T) => T;
}

/**
 * Latency, throughput and energy of several models over the same batches, in rounds: each round
 * times one pass over the batches per model (the order rotating), with its own energy window, until
 * every model has at least minBatches timed. On a machine whose load changes (other processes), every
 * model sees the same mix of quiet and busy moments, so the ratios between rows hold better than with
 * one model measured after the other.
 */
export function timeModels(
  models: TimedModel[],
  x: Tensor,
  o: Pick<MeasureOptions, 'batchSize' | 'minBatches' | 'meter'>,
): Map<string, ModelTiming> {
  const n = x.shape[0]!;
  const batches: Tensor[] = [];
  for (let i = 0; i < n; i += o.batchSize) batches.push(x.slice(0, i, Math.min(n, i + o.batchSize)));
  const state = models.map((m) => ({
    ...m,
    fwd: m.model as unknown as { forward(x: Tensor): Tensor },
    wrapFn: m.wrap ?? plain,
    times: [] as number[],
    predictions: 0,
    joules: 0,
    measured: true,
    method: '',
    none: false,
  }));
  try {
    for (const s of state) {
      s.model.eval();
      for (let w = 0; w < Math.min(2, batches.length); w++)
        noGrad(() => tidy(() => void s.wrapFn(() => s.fwd.forward(batches[w]!)).dataSync()));
    }
    synchronize();
    const rounds = Math.max(1, Math.ceil(o.minBatches / Math.max(1, batches.length)));
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < state.length; k++) {
        const s = state[(k + r) % state.length]!;
        const win = `${s.key} round ${r}`;
        let predictions = 0;
        o.meter.begin(win);
        for (const b of batches) {
          const t0 = performance.now();
          noGrad(() => tidy(() => void s.wrapFn(() => s.fwd.forward(b)).dataSync()));
          s.times.push(performance.now() - t0);
          predictions += b.shape[0]!;
        }
        const e = energyOf(o.meter.end(win, { samples: predictions }));
        s.predictions += predictions;
        if (e.joules === null) s.none = true;
        else s.joules += e.joules;
        s.measured &&= e.measured;
        if (!s.method) s.method = e.method;
      }
    }
  } finally {
    for (const b of batches) b.dispose();
  }
  const out = new Map<string, ModelTiming>();
  for (const s of state) {
    const total = s.times.reduce((a, t) => a + t, 0);
    const sorted = [...s.times].sort((a, b) => a - b);
    const joules = s.none ? null : s.joules;
    out.set(s.key, {
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), batches: s.times.length, batchSize: o.batchSize },
      samplesPerSecond: s.predictions / (total / 1000),
      joules,
      joulesPer1k: joules === null ? null : (joules / s.predictions) * 1000,
      energyMethod: s.method,
      energyMeasured: s.measured && joules !== null,
    });
  }
  return out;
}

/** describeModel + timeModels for one model. */
export function measureModel(name: string, model: Module, x: Tensor, y: Tensor, o: MeasureOptions): RowMeasurement {
  const d = describeModel(model, x, y, o);
  const t = timeModels([{ key: name, model, wrap: o.wrap }], x, o).get(name)!;
  return { ...d, ...t };
}
