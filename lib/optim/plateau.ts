// ReduceLROnPlateau: multiplies every group's lr by `factor` once the monitored value has not
// improved for more than `patience` epochs — torch.optim.lr_scheduler.ReduceLROnPlateau's rules:
//   better (mode min, rel): v < best·(1 - threshold)   (abs: v < best - threshold)
//   better (mode max, rel): v > best·(1 + threshold)   (abs: v > best + threshold)
//   after a reduction, `cooldown` epochs pass before bad epochs count again;
//   lr = max(lr·factor, minLr), skipped when the change is not larger than eps.
// Call step(value) once per epoch with the value; fit() does it for you with `monitor`
// ('val_loss' by default, 'loss' when there is no validation set).

import { Optimizer } from './optimizer.js';
import { checkOptions, nonNegative, nonNegativeInt, string, type OptionKeys } from '../options.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the value should fall (a loss); 'max': rise (an accuracy) */
  mode?: 'min' | 'max';
  /** new lr = lr · factor (default 0.1, must be < 1) */
  factor?: number;
  /** epochs without improvement tolerated before a reduction (default 10) */
  patience?: number;
  /** the least change that counts as an improvement (default 1e-4) */
  threshold?: number;
  /** 'rel' (default): threshold relative to the best; 'abs': absolute */
  thresholdMode?: 'rel' | 'abs';
  /** epochs to wait after a reduction before counting bad epochs again (default 0) */
  cooldown?: number;
  /** lower bound of the lr: one for all groups or one per group (default 0) */
  minLr?: number | number[];
  /** reductions smaller than this are skipped (default 1e-8) */
  eps?: number;
  /** what fit() passes to step(): a history key such as 'val_loss' (default), 'loss', 'val_accuracy' */
  monitor?: string;
}

const PLATEAU_KEYS: OptionKeys<ReduceLROnPlateauOptions> = {
  mode: true,
  factor: true,
  patience: true,
  threshold: true,
  thresholdMode: true,
  cooldown: true,
  minLr: true,
  eps: true,
  monitor: true,
};

export interface PlateauStateDict {
  lastEpoch: number;
  best: number;
  numBadEpochs: number;
  cooldownCounter: number;
  lastLrs: number[];
  [k: string]: unknown;
}

export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  readonly monitor: string | undefined;
  /** fit() calls step(value of `monitor`) after each epoch instead of step() */
  readonly stepsOnMetric = true;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLrs: number[];

  constructor(
    readonly optimizer: AnyOptimizer,
    o: ReduceLROnPlateauOptions = {},
  ) {
    const name = 'ReduceLROnPlateau';
    if (!(optimizer instanceof Optimizer))
      throw new TypeError(`${name}: expected an optimizer as the first argument, got ${optimizer === null ? 'null' : typeof optimizer}`);
    o = checkOptions(name, o, PLATEAU_KEYS);
    this.mode = o.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max')
      throw new RangeError(`${name}: mode must be 'min' or 'max', got '${String(this.mode)}'`);
    this.thresholdMode = o.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs')
      throw new RangeError(`${name}: thresholdMode must be 'rel' or 'abs', got '${String(this.thresholdMode)}'`);
    this.factor = o.factor ?? 0.1;
    if (!(this.factor < 1) || !(this.factor >= 0)) throw new RangeError(`${name}: factor should be in [0, 1), got ${this.factor}`);
    this.patience = o.patience ?? 10;
    if (!Number.isInteger(this.patience) || this.patience < 0)
      throw new RangeError(`${name}: patience must be an integer >= 0, got ${this.patience}`);
    this.cooldown = o.cooldown ?? 0;
    if (!Number.isInteger(this.cooldown) || this.cooldown < 0)
      throw new RangeError(`${name}: cooldown must be an integer >= 0, got ${this.cooldown}`);
    this.threshold = o.threshold ?? 1e-4;
    if (!(this.threshold >= 0)) throw new RangeError(`${name}: threshold must be >= 0, got ${this.threshold}`);
    this.eps = o.eps ?? 1e-8;
    if (!(this.eps >= 0)) throw new RangeError(`${name}: eps must be >= 0, got ${this.eps}`);
    const n = optimizer.paramGroups.length;
    const min = o.minLr ?? 0;
    this.minLrs = Array.isArray(min) ? [...min] : Array.from({ length: n }, () => min);
    if (this.minLrs.length !== n) throw new RangeError(`${name}: expected ${n} values for minLr, got ${this.minLrs.length}`);
    this.minLrs.forEach((m, i) => nonNegative(name, Array.isArray(min) ? `minLr[${i}]` : 'minLr', m));
    this.monitor = o.monitor === undefined ? undefined : string(name, 'monitor', o.monitor);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.lastLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const { best, threshold: t } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (t + 1) : a > best + t;
  }

  /** One epoch with the monitored value (a number, or a 0-d tensor-like with item()). */
  step(metric?: number | { item(): number }): void {
    if (metric === undefined) throw new TypeError('ReduceLROnPlateau.step: pass the monitored value, e.g. scheduler.step(valLoss)');
    const v = typeof metric === 'number' ? metric : metric.item();
    this.lastEpoch++;
    if (this.isBetter(v)) {
      this.best = v;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const next = Math.max(g.lr * this.factor, this.minLrs[i]!);
        if (g.lr - next > this.eps) g.lr = next;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLrs = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  stateDict(): PlateauStateDict {
    return {
      lastEpoch: this.lastEpoch,
      best: this.best,
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastLrs: [...this.lastLrs],
    };
  }

  /** Restores the counters and sets the groups' lrs to the saved ones. */
  loadStateDict(sd: PlateauStateDict): void {
    if (typeof sd?.lastEpoch !== 'number' || typeof sd.numBadEpochs !== 'number') {
      throw new TypeError('ReduceLROnPlateau.loadStateDict: expected {lastEpoch, best, numBadEpochs, cooldownCounter, lastLrs}');
    }
    // validate everything, then commit: a bad state leaves the scheduler and the lrs as they were
    const where = 'ReduceLROnPlateau.loadStateDict';
    const lastEpoch = nonNegativeInt(where, 'lastEpoch', sd.lastEpoch);
    const numBadEpochs = nonNegativeInt(where, 'numBadEpochs', sd.numBadEpochs);
    const cooldownCounter = nonNegativeInt(where, 'cooldownCounter', sd.cooldownCounter, 0);
    if (sd.best !== null && sd.best !== undefined && (typeof sd.best !== 'number' || Number.isNaN(sd.best)))
      throw new RangeError(`${where}: invalid best ${String(sd.best)} (must be a number)`);
    let lrs: number[] | null = null;
    if (sd.lastLrs !== undefined) {
      if (!Array.isArray(sd.lastLrs) || sd.lastLrs.length !== this.optimizer.paramGroups.length)
        throw new RangeError(
          `${where}: lastLrs must be an array of ${this.optimizer.paramGroups.length} learning rates, got ${JSON.stringify(sd.lastLrs)}`,
        );
      lrs = sd.lastLrs.map((lr, i) => nonNegative(where, `lastLrs[${i}]`, lr));
    }
    this.lastEpoch = lastEpoch;
    // JSON turns ±Infinity into null: an empty history's best
    this.best = typeof sd.best === 'number' ? sd.best : this.mode === 'min' ? Infinity : -Infinity;
    this.numBadEpochs = numBadEpochs;
    this.cooldownCounter = cooldownCounter;
    if (lrs)
      lrs.forEach((lr, i) => {
        this.optimizer.paramGroups[i]!.lr = lr;
      });
    this.lastLrs = this.optimizer.paramGroups.map((g) => g.lr);
  }
}
