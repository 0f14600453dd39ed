// Callbacks: hooks into fit(). Every hook is optional and may be async.
//
//   onTrainBegin(state)            before the first epoch
//   onEpochBegin(epoch, state)     epoch is 1-based
//   onBatchEnd(batch, info, state) after each optimizer step; info.loss is the mean loss since the
//                                  previous log point, present only at log intervals (null otherwise:
//                                  reading it every batch would stall the GPU)
//   onEpochEnd(epoch, log, state)  after validation; set state.stopTraining = true to stop
//   onTrainEnd(state)              after the last epoch (also after an early stop)

import fs from 'node:fs';
import path from 'node:path';
import { clone } from '../ops/index.js';
import { keep } from '../memory.js';
import type { Tensor } from '../tensor.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { save } from '../io/safetensors.js';
import { monitorValue, type EpochLog, type History } from './history.js';
import { stateDictEntries, type ModelLike, type OptimizerLike, type SchedulerLike } from './types.js';

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

function resolveMode(mode: Mode, monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /acc|accuracy|auc|f1|precision|recall/i.test(monitor) ? 'max' : 'min';
}

function improved(mode: 'min' | 'max', value: number, best: number, minDelta: number): boolean {
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

function readMonitor(who: string, log: EpochLog, monitor: string): number {
  const v = monitorValue(log, monitor);
  if (v === undefined || Number.isNaN(v)) {
    const have = ['loss', ...Object.keys(log.metrics), ...(log.valLoss !== undefined ? ['valLoss'] : []),
      ...Object.keys(log.valMetrics ?? {}).map((k) => `val${k.charAt(0).toUpperCase()}${k.slice(1)}`)];
    throw new RangeError(`${who}: monitor '${monitor}' is not in the epoch log (available: ${have.join(', ')}); pass validation data for val* monitors`);
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
    this.monitor = o.monitor ?? 'valLoss';
    this.patience = o.patience ?? 3;
    this.minDelta = Math.abs(o.minDelta ?? 0);
    this.mode = resolveMode(o.mode ?? 'auto', this.monitor);
    this.restoreBestWeights = o.restoreBestWeights ?? false;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`EarlyStopping: patience must be a non-negative integer, got ${o.patience}`);
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
    if (Number.isNaN(this.best) || improved(this.mode, v, this.best, this.minDelta)) {
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

/** Saves a checkpoint at the end of epochs (every one, or only the best). */
export class ModelCheckpoint implements Callback {
  readonly options: Required<Omit<ModelCheckpointOptions, 'mode'>> & { mode: 'min' | 'max' };
  best = NaN;
  /** files written, in order */
  readonly saved: string[] = [];

  constructor(o: ModelCheckpointOptions) {
    if (!o || typeof o.path !== 'string' || o.path === '') throw new TypeError('ModelCheckpoint: a path is required');
    const monitor = o.monitor ?? 'valLoss';
    this.options = {
      path: o.path, saveBestOnly: o.saveBestOnly ?? false, monitor, mode: resolveMode(o.mode ?? 'auto', monitor),
      weightsOnly: o.weightsOnly ?? false, every: o.every ?? 1,
    };
  }

  get lastPath(): string | undefined {
    return this.saved[this.saved.length - 1];
  }

  onEpochEnd(epoch: number, log: EpochLog, state: TrainState): void {
    const o = this.options;
    if (o.saveBestOnly) {
      const v = readMonitor('ModelCheckpoint', log, o.monitor);
      if (!Number.isNaN(this.best) && !improved(o.mode, v, this.best, 0)) return;
      this.best = v;
    } else if (epoch % o.every !== 0) return;
    const file = o.path.replace(/\{epoch\}/g, String(epoch));
    if (o.weightsOnly) {
      save(file, state.model.stateDict(), { metadata: { epoch: String(epoch) } });
    } else {
      saveCheckpoint(file, { model: state.model, optimizer: state.optimizer, scheduler: state.scheduler, epoch, history: state.history });
    }
    this.saved.push(file);
  }
}

function row(log: EpochLog, cols: string[]): Record<string, number | string | undefined> {
  const r: Record<string, number | string | undefined> = {
    epoch: log.epoch, loss: log.loss, val_loss: log.valLoss, seconds: log.seconds, samples_per_second: log.samplesPerSecond, lr: log.lr,
    energy_j: log.energy?.joules ?? undefined,
  };
  for (const [k, v] of Object.entries(log.metrics)) r[k] = v;
  for (const [k, v] of Object.entries(log.valMetrics ?? {})) r[`val_${k}`] = v;
  return Object.fromEntries(cols.map((c) => [c, r[c]]));
}

/** One CSV row per epoch: epoch, loss, metrics, val_loss, val metrics, seconds, samples_per_second, lr, energy_j. */
export class CSVLogger implements Callback {
  private cols: string[] | null = null;
  constructor(readonly path: string, readonly options: { append?: boolean; separator?: string } = {}) {}

  onTrainBegin(): void {
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
  constructor(readonly path: string, readonly options: { append?: boolean } = {}) {}

  onTrainBegin(): void {
    fs.mkdirSync(path.dirname(path.resolve(this.path)), { recursive: true });
    if (!this.options.append) fs.writeFileSync(this.path, '');
  }

  onEpochEnd(_epoch: number, log: EpochLog): void {
    const { energy, ...rest } = log;
    const out: Record<string, unknown> = { ...rest };
    if (energy) out.energy = { joules: energy.joules, flops: energy.flops, flopsPerJoule: energy.flopsPerJoule, co2eGrams: energy.co2eGrams, method: energy.gpu.map((g) => g.method).concat(energy.cpu ? [energy.cpu.method] : []) };
    fs.appendFileSync(this.path, JSON.stringify(out) + '\n');
  }
}

/** A callback from plain functions: new LambdaCallback({ onEpochEnd: (e, log) => … }). */
export class LambdaCallback implements Callback {
  constructor(hooks: Callback) {
    Object.assign(this, hooks);
  }
}
