// Callbacks: hooks into fit(). Every hook is optional and may be async.
//
//   onTrainBegin(state)            before the first epoch
//   onEpochBegin(epoch, state)     epoch is 1-based
//   onBatchEnd(batch, info, state) after each optimizer step; info.loss is the mean loss since the
//                                  previous log point, present only at log intervals (null otherwise:
//                                  reading it every batch would stall the GPU); setting
//                                  state.stopTraining here ends the epoch after this batch (Keras),
//                                  then validation and onEpochEnd run for the partial epoch
//   onEpochEnd(epoch, log, state)  after validation; set state.stopTraining = true to stop
//   onTrainEnd(state)              after the last epoch (also after an early stop)

import fs from 'node:fs';
import path from 'node:path';
import { clone } from '../ops/index.js';
import { keep } from '../memory.js';
import type { Tensor } from '../tensor.js';
import { checkWritablePath } from '../io/atomic.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { save } from '../io/safetensors.js';
import { monitorValue, type EpochLog, type History } from './history.js';
import { stateDictEntries, type ModelLike, type OptimizerLike, type SchedulerLike } from './types.js';
import {
  bool,
  checkOptions,
  didYouMean,
  finite,
  nearest,
  nonNegativeInt,
  oneOf,
  positiveInt,
  string,
  type OptionKeys,
} from '../options.js';

export interface TrainState {
  model: ModelLike;
  optimizer: OptimizerLike;
  scheduler: SchedulerLike | null;
  history: History;
  /** current epoch, 1-based (0 before the first) */
  epoch: number;
  /** the last epoch fit will run */
  epochs: number;
  /** optimizer steps so far, over all epochs */
  step: number;
  /** set by a callback to stop after this epoch */
  stopTraining: boolean;
  stopReason?: string;
  /** fit's GradScaler when it trains with amp (ModelCheckpoint stores its state) */
  scaler?: { stateDict(): unknown; loadStateDict(s: unknown): unknown } | null;
}

export interface BatchInfo {
  /** mean loss since the previous log point; null between log points */
  loss: number | null;
  /** global step */
  step: number;
  /** samples in this batch */
  size: number;
}

type Maybe<T> = T | Promise<T>;

export interface Callback {
  onTrainBegin?(state: TrainState): Maybe<void>;
  onTrainEnd?(state: TrainState): Maybe<void>;
  onEpochBegin?(epoch: number, state: TrainState): Maybe<void>;
  onEpochEnd?(epoch: number, log: EpochLog, state: TrainState): Maybe<void>;
  onBatchEnd?(batch: number, info: BatchInfo, state: TrainState): Maybe<void>;
}

export type Mode = 'min' | 'max' | 'auto';

const HOOKS: OptionKeys<Callback> = { onTrainBegin: true, onTrainEnd: true, onEpochBegin: true, onEpochEnd: true, onBatchEnd: true };
const HOOK_NAMES = Object.keys(HOOKS);

/**
 * Checks a callbacks list: an array of objects whose hooks are functions; in a plain-object callback
 * a function named like a hook but not one (a misspelt `{ onEpochEnds }`, which would never run) is
 * an error. Other keys (state) are allowed.
 */
export function checkCallbacks(where: string, cbs: unknown): Callback[] {
  if (cbs === undefined || cbs === null) return [];
  if (!Array.isArray(cbs)) throw new TypeError(`${where}: callbacks must be an array, got ${typeof cbs}`);
  cbs.forEach((cb, i) => {
    if (!cb || typeof cb !== 'object')
      throw new TypeError(`${where}: callbacks[${i}] is not a callback object (got ${cb === null ? 'null' : typeof cb})`);
    const proto = Object.getPrototypeOf(cb);
    if (proto === Object.prototype || proto === null) {
      // a plain object may carry state ({ seen: 0, onEpochEnd() { this.seen++ } }); a function that
      // looks like a hook but is none ({ onEpochEnds }) would never run: that is the error
      for (const [k, f] of Object.entries(cb as object)) {
        if (HOOK_NAMES.includes(k) || typeof f !== 'function') continue;
        const near = nearest(k, HOOK_NAMES);
        if (near !== undefined || /^on[A-Z_]/.test(k))
          throw new TypeError(`${where}: callbacks[${i}]: unknown option '${k}'${didYouMean(k, HOOK_NAMES)} (it would never be called)`);
      }
    }
    for (const h of HOOK_NAMES) {
      const f = (cb as Record<string, unknown>)[h];
      if (f !== undefined && typeof f !== 'function') throw new TypeError(`${where}: callbacks[${i}].${h} must be a function`);
    }
  });
  return cbs as Callback[];
}

function checkMode(who: string, mode: unknown): Mode {
  return oneOf(who, 'mode', mode, ['min', 'max', 'auto'], 'auto');
}

function resolveMode(mode: Mode, monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /acc|accuracy|auc|f1|precision|recall/i.test(monitor) ? 'max' : 'min';
}

function improved(mode: 'min' | 'max', value: number, best: number, minDelta: number): boolean {
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

/** The monitored value (NaN/±Inf as they are); throws when the log has no such entry. */
function readMonitor(who: string, log: EpochLog, monitor: string): number {
  const v = monitorValue(log, monitor);
  if (v === undefined) {
    const have = [
      'loss',
      ...Object.keys(log.metrics),
      ...(log.valLoss !== undefined ? ['valLoss'] : []),
      ...Object.keys(log.valMetrics ?? {}).map((k) => `val${k.charAt(0).toUpperCase()}${k.slice(1)}`),
    ];
    const near = nearest(monitor, have);
    throw new RangeError(
      `${who}: monitor '${monitor}' is not in the epoch log${near ? ` — did you mean '${near}'?` : ''} (available: ${have.join(', ')}); pass validation data for val* monitors`,
    );
  }
  return v;
}

/** Copies of a model's state-dict tensors that survive tidy scopes. */
function snapshot(model: ModelLike): Map<string, Tensor> {
  return new Map(stateDictEntries(model.stateDict()).map(([k, t]) => [k, keep(clone(t.detach()))]));
}

function disposeSnapshot(s: Map<string, Tensor> | null): void {
  if (s) for (const t of s.values()) t.dispose();
}

export interface EarlyStoppingOptions {
  /** what to watch (default 'valLoss'; 'loss', 'accuracy', 'valAccuracy', …) */
  monitor?: string;
  /** epochs without improvement before stopping (default 3) */
  patience?: number;
  /** smallest change that counts as an improvement (default 0) */
  minDelta?: number;
  /** 'auto' (default): 'max' for accuracy-like names, else 'min' */
  mode?: Mode;
  /** put the best epoch's weights back into the model when training ends (default false) */
  restoreBestWeights?: boolean;
}

const EARLY_STOPPING_KEYS: OptionKeys<EarlyStoppingOptions> = {
  monitor: true,
  patience: true,
  minDelta: true,
  mode: true,
  restoreBestWeights: true,
};

/** Stops training when `monitor` has not improved for `patience` epochs. */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: 'min' | 'max';
  readonly restoreBestWeights: boolean;
  best = NaN;
  bestEpoch = 0;
  stoppedEpoch = 0;
  private wait = 0;
  private bestWeights: Map<string, Tensor> | null = null;

  constructor(o: EarlyStoppingOptions = {}) {
    o = checkOptions('EarlyStopping', o, EARLY_STOPPING_KEYS);
    this.monitor = string('EarlyStopping', 'monitor', o.monitor, 'valLoss');
    this.patience = nonNegativeInt('EarlyStopping', 'patience', o.patience, 3);
    this.minDelta = Math.abs(finite('EarlyStopping', 'minDelta', o.minDelta, 0));
    this.mode = resolveMode(checkMode('EarlyStopping', o.mode), this.monitor);
    this.restoreBestWeights = bool('EarlyStopping', 'restoreBestWeights', o.restoreBestWeights, false);
  }

  onTrainBegin(): void {
    this.best = NaN;
    this.bestEpoch = 0;
    this.stoppedEpoch = 0;
    this.wait = 0;
    disposeSnapshot(this.bestWeights);
    this.bestWeights = null;
  }

  onEpochEnd(epoch: number, log: EpochLog, state: TrainState): void {
    const v = readMonitor('EarlyStopping', log, this.monitor);
    // a NaN value never improves (Keras): it counts towards patience
    if (!Number.isNaN(v) && (Number.isNaN(this.best) || improved(this.mode, v, this.best, this.minDelta))) {
      this.best = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) {
        disposeSnapshot(this.bestWeights);
        this.bestWeights = snapshot(state.model);
      }
      return;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      state.stopTraining = true;
      state.stopReason = `early stopping: ${this.monitor} did not improve for ${this.patience} epoch(s) (best ${this.best.toPrecision(5)} at epoch ${this.bestEpoch})`;
    }
  }

  onTrainEnd(state: TrainState): void {
    if (this.restoreBestWeights && this.bestWeights && this.bestEpoch !== state.epoch) {
      state.model.loadStateDict(Object.fromEntries(this.bestWeights));
    }
    disposeSnapshot(this.bestWeights);
    this.bestWeights = null;
  }
}

export interface ModelCheckpointOptions {
  /** file path; '{epoch}' is replaced by the epoch number (default: overwrite one file) */
  path: string;
  /** only save when `monitor` improves (default false: every epoch) */
  saveBestOnly?: boolean;
  /** default 'valLoss' */
  monitor?: string;
  mode?: Mode;
  /** save the model's state dict only (default false: a full checkpoint with optimizer, scheduler, history, RNG) */
  weightsOnly?: boolean;
  /** save every N epochs (default 1) */
  every?: number;
}

const MODEL_CHECKPOINT_KEYS: OptionKeys<ModelCheckpointOptions> = {
  path: true,
  saveBestOnly: true,
  monitor: true,
  mode: true,
  weightsOnly: true,
  every: true,
};

/** True when every element of every tensor is finite (one readback per tensor; saving reads them anyway). */
function allFinite(entries: [string, Tensor][]): string | null {
  for (const [k, t] of entries) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16' && t.dtype !== 'bfloat16') continue;
    const d = t.dataSync();
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i] as number)) return k;
  }
  return null;
}

/**
 * Saves a checkpoint at the end of epochs (every one, or only the best). It never writes a model
 * that went bad: an epoch whose loss (or monitored value) is NaN/±Inf, or whose weights hold a
 * NaN/Inf, is skipped with a warning and the previous checkpoint stays (see `skipped`).
 */
export class ModelCheckpoint implements Callback {
  readonly options: Required<Omit<ModelCheckpointOptions, 'mode'>> & { mode: 'min' | 'max' };
  best = NaN;
  /** files written, in order */
  readonly saved: string[] = [];
  /** epochs not saved because the model went bad, with the reason */
  readonly skipped: { epoch: number; reason: string }[] = [];

  constructor(o: ModelCheckpointOptions) {
    if (!o || typeof o !== 'object') throw new TypeError('ModelCheckpoint: a path is required (new ModelCheckpoint({ path }))');
    checkOptions('ModelCheckpoint', o, MODEL_CHECKPOINT_KEYS);
    if (typeof o.path !== 'string' || o.path === '') throw new TypeError('ModelCheckpoint: a path is required');
    const monitor = string('ModelCheckpoint', 'monitor', o.monitor, 'valLoss');
    this.options = {
      path: o.path,
      saveBestOnly: bool('ModelCheckpoint', 'saveBestOnly', o.saveBestOnly, false),
      monitor,
      mode: resolveMode(checkMode('ModelCheckpoint', o.mode), monitor),
      weightsOnly: bool('ModelCheckpoint', 'weightsOnly', o.weightsOnly, false),
      every: positiveInt('ModelCheckpoint', 'every', o.every, 1),
    };
    if (this.options.saveBestOnly && o.every !== undefined && o.every !== 1)
      throw new RangeError('ModelCheckpoint: every and saveBestOnly do not combine (saveBestOnly checks every epoch)');
  }

  /** A path that cannot be written fails here, before training, not at the first save. */
  onTrainBegin(): void {
    checkWritablePath('ModelCheckpoint', this.options.path.replace(/\{epoch\}/g, '0'));
  }

  private skip(epoch: number, reason: string): void {
    this.skipped.push({ epoch, reason });
    console.warn(`ModelCheckpoint: not saving epoch ${epoch}: ${reason}; the previous checkpoint is kept`);
  }

  get lastPath(): string | undefined {
    return this.saved[this.saved.length - 1];
  }

  onEpochEnd(epoch: number, log: EpochLog, state: TrainState): void {
    const o = this.options;
    let best: number | null = null;
    if (o.saveBestOnly) {
      const v = readMonitor('ModelCheckpoint', log, o.monitor);
      if (!Number.isFinite(v)) return this.skip(epoch, `${o.monitor} is ${v}`);
      if (!Number.isNaN(this.best) && !improved(o.mode, v, this.best, 0)) return;
      best = v;
    } else if (epoch % o.every !== 0) return;
    if (!Number.isFinite(log.loss)) return this.skip(epoch, `the training loss is ${log.loss}`);
    const monitored = monitorValue(log, o.monitor);
    if (monitored !== undefined && !Number.isFinite(monitored)) return this.skip(epoch, `${o.monitor} is ${monitored}`);
    const bad = allFinite(stateDictEntries(state.model.stateDict()));
    if (bad !== null) return this.skip(epoch, `weight '${bad}' holds NaN or Inf`);
    if (best !== null) this.best = best;
    const file = o.path.replace(/\{epoch\}/g, String(epoch));
    if (o.weightsOnly) {
      save(file, state.model.stateDict(), { metadata: { epoch: String(epoch) } });
    } else {
      saveCheckpoint(file, {
        model: state.model,
        optimizer: state.optimizer,
        scheduler: state.scheduler,
        scaler: state.scaler ?? null,
        epoch,
        history: state.history,
      });
    }
    this.saved.push(file);
  }
}

function row(log: EpochLog, cols: string[]): Record<string, number | string | undefined> {
  const r: Record<string, number | string | undefined> = {
    epoch: log.epoch,
    loss: log.loss,
    val_loss: log.valLoss,
    seconds: log.seconds,
    samples_per_second: log.samplesPerSecond,
    lr: log.lr,
    energy_j: log.energy?.joules ?? undefined,
  };
  for (const [k, v] of Object.entries(log.metrics)) r[k] = v;
  for (const [k, v] of Object.entries(log.valMetrics ?? {})) r[`val_${k}`] = v;
  return Object.fromEntries(cols.map((c) => [c, r[c]]));
}

/** One CSV row per epoch: epoch, loss, metrics, val_loss, val metrics, seconds, samples_per_second, lr, energy_j. */
export class CSVLogger implements Callback {
  private cols: string[] | null = null;
  constructor(
    readonly path: string,
    readonly options: { append?: boolean; separator?: string } = {},
  ) {
    string('CSVLogger', 'path', path);
    this.options = checkOptions('CSVLogger', options, ['append', 'separator']);
    bool('CSVLogger', 'append', this.options.append, false);
    string('CSVLogger', 'separator', this.options.separator, ',');
  }

  onTrainBegin(): void {
    checkWritablePath('CSVLogger', this.path); // names what is in the way, before training
    fs.mkdirSync(path.dirname(path.resolve(this.path)), { recursive: true });
    if (!this.options.append || !fs.existsSync(this.path)) {
      fs.writeFileSync(this.path, '');
      this.cols = null;
    } else {
      const first = fs.readFileSync(this.path, 'utf8').split('\n')[0];
      this.cols = first ? first.split(this.options.separator ?? ',') : null;
    }
  }

  onEpochEnd(_epoch: number, log: EpochLog): void {
    const sep = this.options.separator ?? ',';
    if (!this.cols) {
      this.cols = ['epoch', 'loss', ...Object.keys(log.metrics)];
      if (log.valLoss !== undefined) this.cols.push('val_loss');
      this.cols.push(...Object.keys(log.valMetrics ?? {}).map((k) => `val_${k}`), 'seconds', 'samples_per_second', 'lr');
      if (log.energy) this.cols.push('energy_j');
      fs.appendFileSync(this.path, this.cols.join(sep) + '\n');
    }
    const r = row(log, this.cols);
    fs.appendFileSync(this.path, this.cols.map((c) => (r[c] === undefined || r[c] === null ? '' : String(r[c]))).join(sep) + '\n');
  }
}

/** One JSON object per epoch, one per line (JSON Lines); energy summarised to joules/FLOPs. */
export class JSONLogger implements Callback {
  constructor(
    readonly path: string,
    readonly options: { append?: boolean } = {},
  ) {
    string('JSONLogger', 'path', path);
    this.options = checkOptions('JSONLogger', options, ['append']);
    bool('JSONLogger', 'append', this.options.append, false);
  }

  onTrainBegin(): void {
    checkWritablePath('JSONLogger', this.path); // names what is in the way, before training
    fs.mkdirSync(path.dirname(path.resolve(this.path)), { recursive: true });
    if (!this.options.append) fs.writeFileSync(this.path, '');
  }

  onEpochEnd(_epoch: number, log: EpochLog): void {
    const { energy, ...rest } = log;
    const out: Record<string, unknown> = { ...rest };
    if (energy)
      out.energy = {
        joules: energy.joules,
        flops: energy.flops,
        flopsPerJoule: energy.flopsPerJoule,
        co2eGrams: energy.co2eGrams,
        method: energy.gpu.map((g) => g.method).concat(energy.cpu ? [energy.cpu.method] : []),
      };
    fs.appendFileSync(this.path, JSON.stringify(out) + '\n');
  }
}

/** A callback from plain functions: new LambdaCallback({ onEpochEnd: (e, log) => … }). */
export class LambdaCallback implements Callback {
  constructor(hooks: Callback) {
    checkOptions('LambdaCallback', hooks, HOOK_NAMES);
    for (const [k, f] of Object.entries(hooks ?? {}))
      if (f !== undefined && typeof f !== 'function') throw new TypeError(`LambdaCallback: ${k} must be a function`);
    Object.assign(this, hooks);
  }
}

/**
 * Stops training as soon as the loss is NaN or ±Inf (Keras' TerminateOnNaN). fit reads the loss
 * only at log intervals and at the end of an epoch, so that is where it is checked; the epoch is
 * cut short there and fit returns with history.stopReason saying where it happened. The CLI uses it
 * by default. `terminated` holds the epoch/step and value once it fired.
 */
export class TerminateOnNaN implements Callback {
  terminated: { epoch: number; step: number; loss: number } | null = null;

  constructor(o?: Record<string, never>) {
    checkOptions('TerminateOnNaN', o, []);
  }

  onTrainBegin(): void {
    this.terminated = null;
  }

  private stop(state: TrainState, loss: number, step: number, where: string): void {
    this.terminated = { epoch: state.epoch, step, loss };
    state.stopTraining = true;
    state.stopReason = `TerminateOnNaN: the loss is ${loss} at epoch ${state.epoch}, ${where}; training stopped (lower the learning rate, clip gradients, or check the data for NaN/Inf)`;
  }

  onBatchEnd(batch: number, info: BatchInfo, state: TrainState): void {
    if (info.loss !== null && !Number.isFinite(info.loss) && !this.terminated)
      this.stop(state, info.loss, info.step, `step ${info.step} (batch ${batch + 1})`);
  }

  onEpochEnd(_epoch: number, log: EpochLog, state: TrainState): void {
    if (!Number.isFinite(log.loss) && !this.terminated) this.stop(state, log.loss, state.step, `end of epoch (step ${state.step})`);
  }
}
