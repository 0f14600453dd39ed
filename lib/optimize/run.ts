// runOptimize(): train a demo model on MNIST, apply each requested technique to it, and measure
// every result the same way (measure.ts), baseline first. `wattgrad optimize` (cli.ts) prints and
// writes what this returns.
//
// Techniques (each starts from the trained baseline unless said otherwise):
//   quantize dynamic   quantizeDynamic(baseline): int8 Linear/LSTM/GRU weights, activations per batch
//   quantize static    quantizeStatic(baseline, calibration batches): fuse, prepare, calibrate, convert
//   quantize qat       prepareQat(fused copy) → fine-tune → convert
//   prune X            global L1 magnitude pruning of every Linear/Conv2d weight to X, fine-tuned
//                      with the masks kept, then prune.remove (the zeros stay; the file stays dense)
//   prune-channels X   prune.pruneChannels(copy, X) (channels really removed, next layer rewired), fine-tuned
//   distill-from T     a student MLP 784-64-10 trained with Distiller from teacher T (the baseline when
//                      it is T, else T trained the same way), and the same student trained alone:
//                      same initial weights, batches, optimizer, epochs, and the same labelled subset
//                      (the first studentLimit training digits, default 300, for studentEpochs,
//                      default 30). Distillation helps where the student alone overfits its few
//                      labels; on many digits for few steps it does not (measured, js and torch,
//                      test/compress/distill_torch.py: 4,000 digits x 2 epochs, 126 Adam steps at
//                      lr 1e-3: alone 90.7%, distilled T 4 88.95% (torch: 91.0 vs 89.25); both
//                      underfit, and the soft term, nearly logit matching at T 4, converges more
//                      slowly than the hard CE). Teacher of 4,000 digits x 2 epochs, js, seeds 0-2:
//                      students on 300 x 30: alone 83.75/83.15/84.05%, distilled 85.85/86.05/85.9%;
//                      on 500 x 20: alone 87.25/86.0/87.2%, distilled 87.45/87.25/87.45%.
//   amp bf16|f16       the baseline architecture from the same initial weights trained with
//                      fit({ amp }) and measured under autocast
// static and qat need lib/quantization's prepare/calibrate/convert (quantizeStatic, prepareQat,
// convert); where that API is absent they fail with "not available yet".

import fs from 'node:fs';
import path from 'node:path';
import { autocast } from '../amp/autocast.js';
import { synchronize } from '../backend/registry.js';
import { DataLoader } from '../data/loader.js';
import { TensorDataset } from '../data/dataset.js';
import { loadMnist } from '../data/mnist.js';
import { EnergyMeter } from '../energy/meter.js';
import type { Module } from '../nn/module.js';
import { Distiller } from '../nn/distill.js';
import { Flatten, Linear, ReLU, Sequential, Conv2d } from '../nn/layers/index.js';
import * as prune from '../nn/prune.js';
import { Adam } from '../optim/adam.js';
import * as Q from '../quantization/index.js';
import { cloneModule } from '../quantization/copy.js';
import { manualSeed } from '../random.js';
import type { Tensor } from '../tensor.js';
import { fit } from '../train/fit.js';
import { MODELS, type DemoModelName } from '../models/index.js';
import { describeModel, timeModels, type RowMeasurement, type TimedModel } from './measure.js';

export type QuantizeMode = 'dynamic' | 'static' | 'qat';
export const QUANTIZE_MODES: readonly QuantizeMode[] = ['dynamic', 'static', 'qat'];

export interface OptimizeOptions {
  model: DemoModelName;
  quantize?: QuantizeMode[];
  /** unstructured sparsity in [0, 1) */
  prune?: number;
  /** fraction of channels in [0, 1) */
  pruneChannels?: number;
  /** the teacher's demo model */
  distillFrom?: DemoModelName;
  amp?: 'bf16' | 'f16';
  /** baseline epochs (default: the model's) */
  epochs?: number;
  /** fine-tuning epochs (default: the baseline's) */
  finetuneEpochs?: number;
  /** --distill-from: both students learn from the first N training samples (default 300) */
  studentLimit?: number;
  /** --distill-from: epochs of both students (default 30) */
  studentEpochs?: number;
  /** first N training samples */
  limit?: number;
  /** first N test samples (default all) */
  testLimit?: number;
  /** predictions per timed batch (default 64) */
  batchSize?: number;
  /** timed batches per row, at least (default 20) */
  minBatches?: number;
  seed?: number;
  /** the estimate's watts where no energy counter can be read (default 15) */
  cpuWatts?: number;
  /** model files go here (their sizes are the bytes on disk) */
  outDir: string;
  log?: (line: string) => void;
}

export interface OptimizeRow extends Partial<RowMeasurement> {
  /** short key: 'baseline', 'dynamic', 'static', 'qat', 'prune', 'prune-channels', 'distill', 'student', 'amp' */
  key: string;
  technique: string;
  /** seconds spent producing it (training, fine-tuning, calibration, conversion) */
  prepareSeconds: number;
  notes: string[];
  /** set when the technique failed; the measurements are then absent */
  error?: string;
}

export interface OptimizeResult {
  model: DemoModelName;
  description: string;
  data: { source: string; train: number; test: number };
  epochs: number;
  finetuneEpochs: number;
  seed: number;
  machine: { platform: string; arch: string; cpus: number; node: string };
  /** one line on how energy was obtained for every row */
  energyNote: string;
  rows: OptimizeRow[];
}

/** lib/quantization's static API as this file uses it; looked up at run time (see the header). */
interface StaticApi {
  quantizeStatic(model: Module, data: Iterable<unknown>, o: { batches?: number }): Module;
  prepareQat(model: Module): Module;
  convert(model: Module): Module;
  fuseModules?(model: Module, groups: string[][], o: { inplace?: boolean }): Module;
  fusableModules?(model: Module): string[][];
}

export class NotAvailableError extends Error {}

/** Why --quantize static / qat cannot run in this build, or null when lib/quantization has the API. */
export function staticApiMissing(mode: 'static' | 'qat'): string | null {
  const q = Q as unknown as Partial<StaticApi>;
  const need = mode === 'static' ? (['quantizeStatic'] as const) : (['prepareQat', 'convert'] as const);
  const missing = need.filter((k) => typeof q[k] !== 'function');
  return missing.length
    ? `--quantize ${mode} is not available yet: lib/quantization does not export ${missing.join(', ')} in this build (dynamic is: --quantize dynamic)`
    : null;
}

function staticApi(mode: 'static' | 'qat'): StaticApi {
  const why = staticApiMissing(mode);
  if (why) throw new NotAvailableError(why);
  return Q as unknown as StaticApi;
}

/**
 * --distill-from's recipe. Hinton's soft-heavy weighting at T 4 (alpha weighs the hard CE); both
 * students learn from a small labelled subset for many epochs, where the teacher's soft targets
 * carry what the few labels do not (measured, test/compress/distill.test.ts and distill_torch.py).
 */
export const DISTILL_DEFAULTS = Object.freeze({ temperature: 4, alpha: 0.5, studentLimit: 300, studentEpochs: 30 });

/** The student of --distill-from: MLP 784-64-10 (the issue's target). */
export function studentMlp(): Sequential {
  return new Sequential(new Flatten(), new Linear(784, 64), new ReLU(), new Linear(64, 10));
}

export async function runOptimize(o: OptimizeOptions): Promise<OptimizeResult> {
  const log = o.log ?? ((): void => {});
  const spec = MODELS[o.model];
  const epochs = o.epochs ?? spec.defaults.epochs;
  const ftEpochs = o.finetuneEpochs ?? epochs;
  const seed = o.seed ?? 0;
  const batchSize = spec.defaults.batchSize;
  fs.mkdirSync(path.join(o.outDir, 'models'), { recursive: true });

  manualSeed(seed);
  const data = loadMnist({ trainLimit: o.limit, testLimit: o.testLimit });
  const [xTest, yTest] = data.test.tensors as [Tensor, Tensor];
  const meter = new EnergyMeter({ synchronize, estimate: { cpuWatts: o.cpuWatts ?? 15 } });
  const rows: OptimizeRow[] = [];
  const toTime: TimedModel[] = []; // timed together at the end, in rounds (measure.ts: timeModels)
  const loader = (s: number, ds: TensorDataset = data.train): DataLoader<unknown> =>
    new DataLoader(ds, { batchSize, shuffle: true, seed: s }) as DataLoader<unknown>;
  const train = async (model: Module, n: number, extra: { lr?: number; amp?: 'bf16' | 'f16' } = {}): Promise<void> => {
    await fit(model, {
      train: loader(seed),
      optimizer: new Adam(model.parameters(), { lr: extra.lr ?? spec.defaults.lr }),
      epochs: n,
      verbose: false,
      ...(extra.amp ? { amp: extra.amp } : {}),
      ...(o.model === 'mnist-lstm' ? { clipGradNorm: 1 } : {}),
    });
  };
  const measure = async (
    key: string,
    technique: string,
    model: Module,
    prepareSeconds: number,
    notes: string[] = [],
    extra: { wrap?: <T>(fn: () => T) => T; int8Uncounted?: boolean } = {},
  ): Promise<void> => {
    log(`measuring ${technique} (accuracy, size) …`);
    const m = describeModel(model, xTest, yTest, { file: path.join(o.outDir, 'models', `${key}.safetensors`), ...extra });
    if (m.flopsPerSample === null) notes.push('FLOPs: the static int8 kernels do not report to the op counter');
    rows.push({ key, technique, prepareSeconds, ...m, notes: [...notes, ...m.notes] });
    toTime.push({ key, model, wrap: extra.wrap });
  };
  const timed = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
    const t0 = performance.now();
    const r = await fn();
    return [r, (performance.now() - t0) / 1000];
  };
  const attempt = async (key: string, technique: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      const msg = (e as Error).message;
      log(`${technique}: failed: ${msg}`);
      rows.push({ key, technique, prepareSeconds: 0, notes: [], error: msg });
    }
  };

  try {
    // ---- baseline -----------------------------------------------------------------------------
    log(`training the baseline ${o.model} (${spec.description}), ${epochs} epoch(s) on ${data.train.length} samples …`);
    manualSeed(seed);
    const baseline: Module = spec.build();
    const init = cloneModule(baseline); // the amp row starts from the same weights
    const [, tBase] = await timed(() => train(baseline, epochs));
    await measure('baseline', `baseline fp32 (${o.model})`, baseline, tBase, [`${epochs} epoch(s), Adam lr ${spec.defaults.lr}`]);

    // ---- quantization ---------------------------------------------------------------------------
    for (const mode of o.quantize ?? []) {
      if (mode === 'dynamic') {
        await attempt('dynamic', 'dynamic int8', async () => {
          const [q, t] = await timed(() => Q.quantizeDynamic(baseline) as Module);
          await measure('dynamic', 'dynamic int8', q, t, [
            'int8 weights per channel (Linear/LSTM/GRU), activations quantized per batch; Conv2d stays float32',
          ]);
        });
      } else if (mode === 'static') {
        await attempt('static', 'static int8', async () => {
          const api = staticApi('static');
          const [q, t] = await timed(() => api.quantizeStatic(baseline, loader(seed + 1), { batches: 8 }));
          await measure(
            'static',
            'static int8',
            q,
            t,
            ['fused, calibrated on 8 training batches, per-channel weights, per-tensor activations'],
            {
              int8Uncounted: true,
            },
          );
        });
      } else {
        await attempt('qat', 'QAT int8', async () => {
          const api = staticApi('qat');
          const [q, t] = await timed(async () => {
            let copy = cloneModule(baseline).eval();
            if (api.fuseModules && api.fusableModules) copy = api.fuseModules(copy, api.fusableModules(copy), { inplace: true });
            const prepared = api.prepareQat(copy);
            await train(prepared, ftEpochs, { lr: spec.defaults.lr / 10 });
            return api.convert(prepared.eval());
          });
          await measure(
            'qat',
            'QAT int8',
            q,
            t,
            [`fake-quant fine-tuning ${ftEpochs} epoch(s) at lr ${spec.defaults.lr / 10}, then convert`],
            {
              int8Uncounted: true,
            },
          );
        });
      }
    }

    // ---- pruning --------------------------------------------------------------------------------
    if (o.prune !== undefined) {
      const amount = o.prune;
      const technique = `pruned ${Math.round(amount * 100)}% (unstructured)`;
      await attempt('prune', technique, async () => {
        const [m, t] = await timed(async () => {
          const m = cloneModule(baseline);
          const targets = [...m.modules()].filter((l) => l instanceof Linear || l instanceof Conv2d).map((l) => [l, 'weight'] as const);
          prune.globalUnstructured(targets, { amount });
          await train(m, ftEpochs, { lr: spec.defaults.lr / 2 });
          for (const [l, k] of targets) prune.remove(l, k);
          return m;
        });
        await measure('prune', technique, m, t, [
          `global L1 magnitude over every Linear/Conv2d weight, fine-tuned ${ftEpochs} epoch(s) with the masks kept`,
          'stored dense (zeros on disk): the sparsity shows in nonzero parameters, not in bytes or latency',
        ]);
      });
    }
    if (o.pruneChannels !== undefined) {
      const amount = o.pruneChannels;
      const technique = `channels pruned ${Math.round(amount * 100)}%`;
      await attempt('prune-channels', technique, async () => {
        const [m, t] = await timed(async () => {
          const m = cloneModule(baseline);
          prune.pruneChannels(m, { amount });
          await train(m, ftEpochs, { lr: spec.defaults.lr / 2 });
          return m;
        });
        await measure('prune-channels', technique, m, t, [
          `L1 filter norm, channels removed and the next layer rewired, fine-tuned ${ftEpochs} epoch(s)`,
        ]);
      });
    }

    // ---- distillation ---------------------------------------------------------------------------
    if (o.distillFrom !== undefined) {
      const tName = o.distillFrom;
      await attempt('distill', `distilled MLP 784-64-10 ← ${tName}`, async () => {
        let teacher: Module = baseline;
        let tTeacher = 0;
        if (tName !== o.model) {
          log(`training the teacher ${tName}, ${epochs} epoch(s) …`);
          manualSeed(seed + 7);
          teacher = MODELS[tName].build();
          [, tTeacher] = await timed(() => train(teacher, epochs));
        }
        const lr = 1e-3;
        const [xAll, yAll] = data.train.tensors as [Tensor, Tensor];
        const nStudent = Math.min(o.studentLimit ?? DISTILL_DEFAULTS.studentLimit, data.train.length);
        const sEpochs = o.studentEpochs ?? DISTILL_DEFAULTS.studentEpochs;
        const xs = xAll.slice(0, 0, nStudent);
        const ys = yAll.slice(0, 0, nStudent);
        const subset = new TensorDataset(xs, ys);
        try {
          manualSeed(seed + 11);
          const student = studentMlp();
          const alone = cloneModule(student); // the same initial weights
          const { temperature, alpha } = DISTILL_DEFAULTS;
          const budget = `${nStudent} training digits × ${sEpochs} epoch(s), Adam lr ${lr}`;
          const [, t] = await timed(() =>
            fit(new Distiller({ student, teacher, temperature, alpha }), {
              train: loader(seed, subset),
              optimizer: new Adam(student.parameters(), { lr }),
              epochs: sEpochs,
              verbose: false,
            }),
          );
          await measure('distill', `distilled MLP 784-64-10 ← ${tName}`, student, t + tTeacher, [
            `Distiller T=${temperature}, alpha=${alpha} (alpha weighs the hard CE), ${budget}${tName === o.model ? ' (teacher: the baseline)' : `; the teacher trained here in ${tTeacher.toFixed(1)} s (included)`}`,
          ]);
          const [, t2] = await timed(() =>
            fit(alone, { train: loader(seed, subset), optimizer: new Adam(alone.parameters(), { lr }), epochs: sEpochs, verbose: false }),
          );
          await measure('student', 'MLP 784-64-10 trained alone', alone, t2, [
            `the distilled student without the teacher: same initial weights, ${budget}, same batches`,
          ]);
        } finally {
          xs.dispose();
          ys.dispose();
        }
      });
    }

    // ---- mixed precision ------------------------------------------------------------------------
    if (o.amp !== undefined) {
      const ampMode = o.amp;
      const dtype = ampMode === 'bf16' ? 'bfloat16' : 'float16';
      await attempt('amp', `amp ${ampMode}`, async () => {
        const m = init;
        const [, t] = await timed(() => train(m, epochs, { amp: ampMode }));
        const onJs = xTest.backend.name === 'js';
        await measure(
          'amp',
          `amp ${ampMode}`,
          m,
          t,
          [
            `trained with fit({ amp: '${ampMode}' })${ampMode === 'f16' ? ' (GradScaler)' : ''} from the baseline's initial weights, inferred under autocast`,
            ...(onJs
              ? ['js backend: bf16/f16 emulated by rounding float32 (exact values, no speed-up: the rounding passes cost time)']
              : []),
          ],
          { wrap: <T>(fn: () => T): T => autocast({ dtype }, fn) },
        );
      });
    }
    // ---- latency and energy, every model in the same rounds ------------------------------------
    log(`timing ${toTime.length} model(s) in rounds …`);
    const timings = timeModels(toTime, xTest, { batchSize: o.batchSize ?? 64, minBatches: o.minBatches ?? 20, meter });
    for (const r of rows) Object.assign(r, timings.get(r.key) ?? {});
  } finally {
    meter.close();
    data.train.dispose();
    data.test.dispose();
  }

  const measured = rows.filter((r) => r.energyMethod !== undefined);
  const anyMeasured = measured.some((r) => r.energyMeasured);
  const energyNote = anyMeasured
    ? `energy measured by counter: ${[...new Set(measured.map((r) => r.energyMethod))].join('; ')}`
    : `energy is an ESTIMATE (no readable energy counter: ${measured[0]?.energyMethod ?? 'no rows'}): ${o.cpuWatts ?? 15} W × the timed seconds, so J/1k predictions here is proportional to latency; pass --cpu-watts W for your CPU, or run where RAPL/NVML can be read`;
  return {
    model: o.model,
    description: spec.description,
    data: { source: data.source, train: data.train.length, test: data.test.length },
    epochs,
    finetuneEpochs: ftEpochs,
    seed,
    machine: { platform: process.platform, arch: process.arch, cpus: (await import('node:os')).cpus().length, node: process.version },
    energyNote,
    rows,
  };
}
