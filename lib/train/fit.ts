// The training loop: fit(), evaluate(), predict().
//
// Each step runs inside tidy(): forward, loss, backward, (clip), optimizer step, metric updates.
// The loss is never read per batch: each step adds loss·batchSize to a running sum that stays on
// the device, and the loop reads that sum back (asynchronously) only every `logInterval` batches
// and at the end of the epoch. Metrics accumulate on the device the same way (metrics.ts).
// Batches come from the DataLoader, which disposes each one when the next is requested, so memory
// stays flat over any number of epochs.

import { keep, tidy } from '../memory.js';
import { noGrad } from '../autograd/mode.js';
import { add, cat, mul } from '../ops/index.js';
import { synchronize } from '../backend/registry.js';
import { isTensor, type Tensor } from '../tensor.js';
import { EnergyMeter, formatEnergyProgress, type EnergyMeterOptions, type EnergyResult } from '../energy/index.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import type { Callback, TrainState } from './callbacks.js';
import { clipGradNorm } from '../optim/clip.js';
import { History, monitorValue, type EpochLog } from './history.js';
import { makeMetric, type Metric, type MetricSpec } from './metrics.js';
import { Progress, type ProgressOptions } from './progress.js';
import { resolveLossSpec, warnLossMismatch, type LossSpec } from './losses.js';
import { tensorDataLoader, tensorLoaders, type TensorData, type TensorFitOptions } from './tensor-data.js';
import { currentLr, modelDevice, type ModelLike, type OptimizerLike, type SchedulerLike } from './types.js';
import { bool, checkOptions, func, nonNegativeInt, oneOf, positive, positiveInt, string, type OptionKeys } from '../options.js';
import { checkCallbacks } from './callbacks.js';
import { fitDistributed } from '../distributed/fit-support.js';
import { fitAmp, type FitAmpOption } from '../amp/fit.js';

export { resolveLoss } from './losses.js';
export type { LossFn, LossSpec, LossName, LossConfig } from './losses.js';

/** Anything iterable over batches; a DataLoader also gives length and setEpoch. */
export interface BatchSource<B = unknown> extends Iterable<B> {
  readonly length?: number;
  setEpoch?(epoch: number): void;
}

/** Splits a batch into (input, target); default: [x, y] arrays or {x, y} objects. */
export type Unpack<B> = (batch: B) => [unknown, Tensor];

function defaultUnpack(b: unknown): [unknown, Tensor] {
  if (Array.isArray(b) && b.length >= 2 && isTensor(b[1])) return [b[0], b[1]];
  if (b && typeof b === 'object' && 'x' in b && 'y' in b && isTensor((b as { y: unknown }).y))
    return [(b as { x: unknown }).x, (b as { y: Tensor }).y];
  throw new TypeError('fit: a batch must be [input, target] (or {x, y}); pass `unpack` to split other batch shapes');
}

function batchSize(x: unknown, y: Tensor): number {
  if (isTensor(x) && x.ndim > 0) return x.shape[0]!;
  return y.ndim > 0 ? y.shape[0]! : 1;
}

function toDevice(x: unknown, device: string): unknown {
  if (isTensor(x)) return x.device === device ? x : x.to(device);
  if (Array.isArray(x)) return x.map((v) => toDevice(v, device));
  return x;
}

export interface FitOptions<B = unknown> extends TensorFitOptions {
  /** training batches: a DataLoader (its order is fixed per epoch by setEpoch), or any iterable; or give x and y */
  train?: BatchSource<B>;
  /** validation batches, evaluated after every epoch */
  validation?: BatchSource<B> | null;
  /** a name ('crossEntropy' (default), 'nll', 'bce', 'bceWithLogits', 'mse', 'l1', 'huber' or a Keras alias), { name, …options }, or (output, target) => scalar tensor */
  loss?: LossSpec;
  optimizer: OptimizerLike;
  /** last epoch to run (default 1); when resuming, the epochs already done count */
  epochs?: number;
  scheduler?: SchedulerLike | null;
  /** when to call scheduler.step(): after every 'epoch' (default) or every 'step' */
  schedulerInterval?: 'epoch' | 'step';
  /** e.g. ['accuracy'] */
  metrics?: MetricSpec[];
  callbacks?: Callback[];
  /** clip the global gradient norm to this before each step */
  clipGradNorm?: number | null;
  /** where inputs and targets go (default: the device of the model's first parameter) */
  device?: string;
  /** read the loss back every N batches (default 20) */
  logInterval?: number;
  /** measure energy per epoch and for the run: true, EnergyMeter options, or a meter */
  energy?: boolean | EnergyMeterOptions | EnergyMeter;
  /** progress output (default true); an object configures the stream */
  verbose?: boolean | ProgressOptions;
  /** a checkpoint to resume from (saveCheckpoint / ModelCheckpoint): restores model, optimizer, scheduler, RNG, history */
  resumeFrom?: string | null;
  /** splits a batch into [input, target] */
  unpack?: Unpack<B>;
  /** mixed precision: 'bf16' (autocast, no loss scaling), 'f16' (autocast + GradScaler), or { dtype, scaler } (lib/amp/fit.ts) */
  amp?: FitAmpOption;
}

/** The keys fit() accepts (the compiler keeps this in step with FitOptions). */
export const FIT_KEYS: OptionKeys<FitOptions> = {
  train: true,
  validation: true,
  loss: true,
  optimizer: true,
  epochs: true,
  scheduler: true,
  schedulerInterval: true,
  metrics: true,
  callbacks: true,
  clipGradNorm: true,
  device: true,
  logInterval: true,
  energy: true,
  verbose: true,
  resumeFrom: true,
  unpack: true,
  amp: true,
  x: true,
  y: true,
  batchSize: true,
  validationSplit: true,
  validationData: true,
  shuffle: true,
  seed: true,
};

/** Throws unless x is iterable (a DataLoader, an array of batches, a generator). */
function checkIterable(where: string, name: string, x: unknown): void {
  if (x === null || typeof x !== 'object' || typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new TypeError(`${where}: ${name} must be a DataLoader or an iterable of batches, got ${x === null ? 'null' : typeof x}`);
  }
}

/** Trains `model` and returns the history (per-epoch loss, metrics, validation, time, samples/s). */
export async function fit<B = unknown>(model: ModelLike, o: FitOptions<B>): Promise<History> {
  if (!model || typeof model.forward !== 'function' || typeof model.parameters !== 'function')
    throw new TypeError('fit: the first argument must be a model (an nn.Module or an object with forward and parameters)');
  if (!o) throw new TypeError('fit: options.train (a DataLoader or iterable of batches) is required');
  checkOptions('fit', o, FIT_KEYS);
  const fromTensors = tensorLoaders('fit', o);
  if (fromTensors)
    o = {
      ...o,
      train: fromTensors.train as BatchSource<B>,
      validation: (fromTensors.validation ?? o.validation) as BatchSource<B> | null | undefined,
    };
  if (!o.train) throw new TypeError('fit: options.train (a DataLoader or iterable of batches) or x and y (tensors) is required');
  checkIterable('fit', 'train', o.train);
  if (o.validation !== undefined && o.validation !== null) checkIterable('fit', 'validation', o.validation);
  const train = o.train;
  if (!o.optimizer) throw new TypeError('fit: options.optimizer is required');
  if (typeof o.optimizer.step !== 'function' || typeof o.optimizer.zeroGrad !== 'function')
    throw new TypeError('fit: optimizer must have step() and zeroGrad() (e.g. new optim.Adam(model.parameters()))');
  const loss = resolveLossSpec(o.loss, 'fit');
  const lossFn = loss.fn;
  warnLossMismatch('fit', model, loss);
  const logInterval = positiveInt('fit', 'logInterval', o.logInterval, 20);
  const clip = o.clipGradNorm === null || o.clipGradNorm === undefined ? null : positive('fit', 'clipGradNorm', o.clipGradNorm);
  const unpack = (o.unpack === undefined ? defaultUnpack : func('fit', 'unpack', o.unpack)) as Unpack<unknown>;
  // under nn.DistributedDataParallel: logs, files and progress on rank 0, epoch results reduced over ranks
  const dist = fitDistributed(model);
  const callbacks = dist ? dist.callbacks(checkCallbacks('fit', o.callbacks)) : checkCallbacks('fit', o.callbacks);
  const scheduler = o.scheduler ?? null;
  if (scheduler !== null && typeof scheduler.step !== 'function')
    throw new TypeError('fit: scheduler must have step() (e.g. new optim.StepLR(optimizer, { stepSize: 10 }))');
  const schedulerInterval = oneOf('fit', 'schedulerInterval', o.schedulerInterval, ['epoch', 'step'], 'epoch');
  if (o.metrics !== undefined && !Array.isArray(o.metrics))
    throw new TypeError(`fit: metrics must be an array (e.g. ['accuracy']), got ${typeof o.metrics}`);
  if (o.device !== undefined) string('fit', 'device', o.device);
  if (o.verbose !== undefined && typeof o.verbose !== 'object') bool('fit', 'verbose', o.verbose);
  if (o.resumeFrom !== undefined && o.resumeFrom !== null) string('fit', 'resumeFrom', o.resumeFrom);
  const epochs = nonNegativeInt('fit', 'epochs', o.epochs, 1);
  const amp = fitAmp(o.amp, o.optimizer);

  let history = new History();
  let startEpoch = 0;
  if (o.resumeFrom) {
    const ck = loadCheckpoint(o.resumeFrom, { model, optimizer: o.optimizer, scheduler, scaler: amp?.scaler ?? null });
    startEpoch = ck.epoch;
    if (ck.history) history = ck.history;
  }
  const device = o.device ?? modelDevice(model);
  const params = [...model.parameters()];
  const metrics = (o.metrics ?? []).map(makeMetric);
  const progress = o.verbose === false || (dist && !dist.isMain) ? null : new Progress(typeof o.verbose === 'object' ? o.verbose : {});

  let meter: EnergyMeter | null = null;
  let ownMeter = false;
  if (o.energy) {
    if (o.energy instanceof EnergyMeter) meter = o.energy;
    else {
      meter = new EnergyMeter({ synchronize, ...(typeof o.energy === 'object' ? o.energy : {}) });
      ownMeter = true;
    }
  }

  const state: TrainState = {
    model,
    optimizer: o.optimizer,
    scheduler,
    history,
    epoch: startEpoch,
    epochs,
    step: history.steps.length ? history.steps[history.steps.length - 1]!.step : 0,
    stopTraining: false,
    scaler: amp?.scaler ?? null,
  };
  const call = async <K extends keyof Callback>(k: K, ...args: Parameters<NonNullable<Callback[K]>>): Promise<void> => {
    for (const cb of callbacks) {
      const f = cb[k] as ((...a: unknown[]) => unknown) | undefined;
      if (f) {
        const r = f.apply(cb, args);
        if (r && typeof (r as Promise<void>).then === 'function') await r;
      }
    }
  };

  const runName = 'fit';
  if (meter && startEpoch < epochs) meter.begin(runName);
  try {
    await call('onTrainBegin', state);
    for (let epoch = startEpoch + 1; epoch <= epochs; epoch++) {
      state.epoch = epoch;
      await call('onEpochBegin', epoch, state);
      const log = await trainEpoch(epoch);
      dist?.reduceTrain(log);
      if (o.validation) {
        const t0 = performance.now();
        let v = await evaluate(model, o.validation, {
          loss: lossFn,
          metrics: (o.metrics ?? []).map((m) => (typeof m === 'string' ? m : cloneMetric(m))),
          device,
          unpack: o.unpack as Unpack<unknown> | undefined,
        });
        if (dist) v = dist.reduceEval(v);
        log.valLoss = v.loss;
        log.valMetrics = v.metrics;
        log.valSeconds = (performance.now() - t0) / 1000;
      }
      if (scheduler && schedulerInterval === 'epoch') stepScheduler(scheduler, log, !!o.validation);
      history.epochs.push(log);
      await call('onEpochEnd', epoch, log, state);
      progress?.epochEnd(log);
      if (state.stopTraining) {
        history.stoppedEarly = true;
        history.stopReason = state.stopReason ?? `stopped by a callback after epoch ${epoch}`;
        progress?.message(history.stopReason);
        break;
      }
    }
    if (meter && meter.openWindows().includes(runName)) {
      history.energy = meter.end(runName, {
        samples: dist ? dist.localSamples : history.epochs.slice(-(state.epoch - startEpoch)).reduce((a, e) => a + e.samples, 0),
      });
      if (dist) history.energy = dist.energy(history.energy);
    }
    await call('onTrainEnd', state);
  } finally {
    if (meter) {
      for (const w of meter.openWindows()) if (w === runName || w.startsWith('epoch ')) meter.cancel(w);
      if (ownMeter) meter.close();
    }
    progress?.close();
    for (const m of metrics) m.dispose();
  }
  return history;

  async function trainEpoch(epoch: number): Promise<EpochLog> {
    model.train();
    train.setEpoch?.(epoch - 1);
    for (const m of metrics) m.reset();
    const nb = typeof train.length === 'number' ? train.length : NaN;
    progress?.epochBegin(epoch, epochs, nb);
    const lr = currentLr(o.optimizer);
    const winName = `epoch ${epoch}`;
    meter?.begin(winName);
    const t0 = performance.now();
    let lossSum: Tensor | null = null;
    let samples = 0;
    let batches = 0;
    let lastRead = { sum: 0, samples: 0 };
    let shown: { loss?: number; metrics?: Record<string, number> } = {};
    try {
      for (const batch of train as Iterable<unknown>) {
        const [x0, y0] = unpack(batch);
        const bs = batchSize(x0, y0);
        const prev: Tensor | null = lossSum;
        const next: Tensor = tidy(() => {
          const x = toDevice(x0, device);
          const y = toDevice(y0, device) as Tensor;
          o.optimizer.zeroGrad();
          const forward = (): [Tensor, Tensor] => {
            const out = model.forward(x) as Tensor;
            // a model may define its own training loss (Keras' compute_loss), e.g. nn.Distiller
            return [out, model.computeLoss ? model.computeLoss({ x, y, yPred: out, loss: lossFn }) : lossFn(out, y)];
          };
          const [out, l] = amp ? amp.forward(forward) : forward();
          if (l.size !== 1) throw new RangeError(`fit: the loss must be a scalar, got shape [${l.shape.join(', ')}]`);
          if (amp) amp.backwardAndStep(l, clip === null ? null : () => clipGradNorm(params, clip));
          else {
            l.backward();
            if (clip !== null) clipGradNorm(params, clip);
            o.optimizer.step();
          }
          for (const m of metrics) m.update(out, y);
          return noGrad(() => {
            const s = mul(l.detach(), bs);
            return prev ? add(prev, s) : s;
          });
        });
        prev?.dispose();
        lossSum = keep(next);
        if (scheduler && schedulerInterval === 'step') scheduler.step();
        samples += bs;
        batches++;
        state.step++;
        const logPoint = batches % logInterval === 0 || batches === nb;
        let lossNow: number | null = null;
        if (logPoint) {
          const total = (await lossSum.data())[0]!;
          lossNow = (total - lastRead.sum) / (samples - lastRead.samples);
          lastRead = { sum: total, samples };
          history.steps.push({ step: state.step, epoch, loss: lossNow });
          const mv: Record<string, number> = {};
          for (const m of metrics) mv[m.name] = await m.compute();
          shown = { loss: total / samples, metrics: mv };
        }
        if (progress) {
          const el = (performance.now() - t0) / 1000;
          const energy = logPoint && meter ? formatEnergyProgress(meter.progress(winName)) : undefined;
          progress.update(batches, { ...shown, samplesPerSecond: samples / el, energy }, logPoint);
        }
        if (callbacks.length) await call('onBatchEnd', batches - 1, { loss: lossNow, step: state.step, size: bs }, state);
        if (state.stopTraining) break; // e.g. TerminateOnNaN: the rest of the epoch is not run
      }
      if (batches === 0)
        throw new RangeError(
          `fit: the training data gave no batches in epoch ${epoch} (an empty dataset, or dropLast with fewer samples than batchSize)`,
        );
      const total = lossSum ? (await lossSum.data())[0]! : NaN;
      let energy: EnergyResult | undefined;
      if (meter) energy = meter.end(winName, { samples });
      if (energy && dist) energy = dist.energy(energy);
      const seconds = (performance.now() - t0) / 1000;
      const mv: Record<string, number> = {};
      for (const m of metrics) mv[m.name] = await m.compute();
      const log: EpochLog = {
        epoch,
        loss: total / samples,
        metrics: mv,
        seconds,
        samples,
        samplesPerSecond: samples / seconds,
        steps: batches,
      };
      if (lr !== undefined) log.lr = lr;
      if (energy) log.energy = energy;
      return log;
    } finally {
      (lossSum as Tensor | null)?.dispose();
    }
  }
}

/** scheduler.step(), or step(monitored value) for a ReduceLROnPlateau-like scheduler (stepsOnMetric). */
function stepScheduler(s: SchedulerLike, log: EpochLog, hasValidation: boolean): void {
  const p = s as SchedulerLike & { stepsOnMetric?: boolean; monitor?: string; step(v?: number): void };
  if (!p.stepsOnMetric) {
    s.step();
    return;
  }
  const key = p.monitor ?? (hasValidation ? 'val_loss' : 'loss');
  const v = monitorValue(log, key);
  if (typeof v !== 'number')
    throw new RangeError(
      `fit: the scheduler monitors '${key}', which this epoch's log does not have (${hasValidation ? '' : 'no validation data; '}set its monitor option, e.g. 'loss')`,
    );
  p.step(v);
}

function cloneMetric(m: Metric): Metric {
  const C = m.constructor as new () => Metric;
  try {
    return new C();
  } catch {
    return m;
  }
}

export interface EvaluateOptions<B = unknown> {
  loss?: LossSpec | null;
  metrics?: MetricSpec[];
  device?: string;
  unpack?: Unpack<B>;
}

export const EVALUATE_KEYS: OptionKeys<EvaluateOptions> = { loss: true, metrics: true, device: true, unpack: true };

export interface EvalResult {
  /** mean loss over the samples (NaN with loss: null) */
  loss: number;
  metrics: Record<string, number>;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
}

/** Loss and metrics of `model` over `data`, in eval mode and without gradients. */
export async function evaluate<B = unknown>(
  model: ModelLike,
  data: BatchSource<B> | TensorData,
  o: EvaluateOptions<B> = {},
): Promise<EvalResult> {
  if (!model || typeof model.forward !== 'function') throw new TypeError('evaluate: the first argument must be a model');
  data = (tensorDataLoader('evaluate', data) ?? data) as BatchSource<B>;
  checkIterable('evaluate', 'data', data);
  o = checkOptions('evaluate', o, EVALUATE_KEYS);
  if (o.metrics !== undefined && !Array.isArray(o.metrics))
    throw new TypeError(`evaluate: metrics must be an array (e.g. ['accuracy']), got ${typeof o.metrics}`);
  if (o.device !== undefined) string('evaluate', 'device', o.device);
  if (o.unpack !== undefined) func('evaluate', 'unpack', o.unpack);
  const lossFn = o.loss === null ? null : resolveLossSpec(o.loss, 'evaluate').fn;
  const metrics = (o.metrics ?? ['accuracy']).map(makeMetric);
  const unpack = (o.unpack ?? defaultUnpack) as Unpack<unknown>;
  const device = o.device ?? modelDevice(model);
  const wasTraining = model.training;
  model.eval();
  const t0 = performance.now();
  let lossSum: Tensor | null = null;
  let samples = 0;
  try {
    for (const batch of data as Iterable<unknown>) {
      const [x0, y0] = unpack(batch);
      const bs = batchSize(x0, y0);
      const prev: Tensor | null = lossSum;
      const next: Tensor | null = noGrad((): Tensor | null =>
        tidy((): Tensor | null => {
          const x = toDevice(x0, device);
          const y = toDevice(y0, device) as Tensor;
          const out = model.forward(x) as Tensor;
          for (const m of metrics) m.update(out, y);
          if (!lossFn) return null;
          const s = mul(lossFn(out, y), bs);
          return prev ? add(prev, s) : s;
        }),
      );
      if (next) {
        prev?.dispose();
        lossSum = keep(next);
      }
      samples += bs;
    }
    if (samples === 0) throw new RangeError('evaluate: the data gave no samples (an empty dataset?); there is nothing to evaluate');
    const loss = lossSum ? (await lossSum.data())[0]! / samples : NaN;
    const mv: Record<string, number> = {};
    for (const m of metrics) mv[m.name] = await m.compute();
    const seconds = (performance.now() - t0) / 1000;
    return { loss, metrics: mv, samples, seconds, samplesPerSecond: samples / seconds };
  } finally {
    (lossSum as Tensor | null)?.dispose();
    for (const m of metrics) m.dispose();
    if (wasTraining !== false) model.train();
  }
}

export interface PredictOptions {
  /** run in chunks of this many samples and concatenate (default: all at once) */
  batchSize?: number;
  device?: string;
}

export const PREDICT_KEYS: OptionKeys<PredictOptions> = { batchSize: true, device: true };

/** model(x) in eval mode without gradients (the caller owns the result). */
export function predict(model: ModelLike, x: Tensor, o: PredictOptions = {}): Tensor {
  if (!model || typeof model.forward !== 'function') throw new TypeError('predict: the first argument must be a model');
  if (!isTensor(x)) throw new TypeError(`predict: x must be a tensor, got ${x === null ? 'null' : typeof x}`);
  o = checkOptions('predict', o, PREDICT_KEYS);
  const chunk = o.batchSize === undefined ? undefined : positiveInt('predict', 'batchSize', o.batchSize);
  if (o.device !== undefined) string('predict', 'device', o.device);
  const wasTraining = model.training;
  model.eval();
  const device = o.device ?? modelDevice(model);
  try {
    return noGrad(() =>
      tidy(() => {
        const xs = toDevice(x, device) as Tensor;
        const n = xs.ndim > 0 ? xs.shape[0]! : 1;
        const bs = chunk ?? n;
        if (bs >= n) return model.forward(xs) as Tensor;
        const outs: Tensor[] = [];
        for (let i = 0; i < n; i += bs) {
          outs.push(tidy(() => model.forward(xs.slice(0, i, Math.min(i + bs, n))) as Tensor));
        }
        return cat(outs, 0);
      }),
    );
  } finally {
    if (wasTraining !== false) model.train();
  }
}
