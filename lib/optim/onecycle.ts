// OneCycleLR (Smith & Topin's 1cycle policy), with torch.optim.lr_scheduler.OneCycleLR's exact
// schedule: the lr rises from maxLr/divFactor to maxLr over the first pctStart of the steps, then
// anneals to initial/finalDivFactor ('cos' or 'linear'); threePhase goes back down to the initial
// lr before the final anneal. With cycleMomentum the momentum (SGD, RMSprop) or β1 (Adam, AdamW)
// moves the opposite way, between maxMomentum and baseMomentum. Step it once per batch
// (fit: schedulerInterval 'step'); stepping past totalSteps is an error, as in torch.

import { LRScheduler, type SchedulerStateDict } from './schedulers.js';
import type { Optimizer } from './optimizer.js';
import { bool, checkOptions, finite, inRange, type OptionKeys } from '../options.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;

export interface OneCycleLROptions {
  /** the peak lr: one for all groups or one per group */
  maxLr: number | number[];
  /** total number of steps; or give epochs and stepsPerEpoch */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** fraction of the steps spent raising the lr (default 0.3) */
  pctStart?: number;
  /** 'cos' (default) or 'linear' */
  annealStrategy?: 'cos' | 'linear';
  /** cycle momentum / β1 inversely to the lr (default true) */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  /** initial lr = maxLr / divFactor (default 25) */
  divFactor?: number;
  /** final lr = initial lr / finalDivFactor (default 1e4) */
  finalDivFactor?: number;
  /** three phases (up, down to the initial lr, anneal to the final lr) instead of two */
  threePhase?: boolean;
}

const ONE_CYCLE_KEYS: OptionKeys<OneCycleLROptions> = {
  maxLr: true,
  totalSteps: true,
  epochs: true,
  stepsPerEpoch: true,
  pctStart: true,
  annealStrategy: true,
  cycleMomentum: true,
  baseMomentum: true,
  maxMomentum: true,
  divFactor: true,
  finalDivFactor: true,
  threePhase: true,
};

interface Phase {
  end: number;
  startLr: 'initial' | 'max' | 'min';
  endLr: 'initial' | 'max' | 'min';
  startM: 'base' | 'max';
  endM: 'base' | 'max';
}

export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  private readonly phases: Phase[];
  private readonly lrs: { initial: number; max: number; min: number }[];
  private readonly moms: { base: number; max: number }[];
  private readonly useBeta1: boolean;

  constructor(optimizer: AnyOptimizer, o: OneCycleLROptions) {
    super(optimizer, { apply: false });
    const name = 'OneCycleLR';
    checkOptions(name, o, ONE_CYCLE_KEYS);
    if (o) {
      bool(name, 'threePhase', o.threePhase, false);
      bool(name, 'cycleMomentum', o.cycleMomentum, true);
      finite(name, 'baseMomentum', o.baseMomentum, 0.85);
      finite(name, 'maxMomentum', o.maxMomentum, 0.95);
    }
    if (!o || o.maxLr === undefined) throw new TypeError(`${name}: maxLr is required`);
    if (o.totalSteps !== undefined) {
      if (!Number.isInteger(o.totalSteps) || o.totalSteps <= 0)
        throw new RangeError(`${name}: expected a positive integer totalSteps, got ${o.totalSteps}`);
      this.totalSteps = o.totalSteps;
    } else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      if (!Number.isInteger(o.epochs) || o.epochs <= 0)
        throw new RangeError(`${name}: expected a positive integer epochs, got ${o.epochs}`);
      if (!Number.isInteger(o.stepsPerEpoch) || o.stepsPerEpoch <= 0)
        throw new RangeError(`${name}: expected a positive integer stepsPerEpoch, got ${o.stepsPerEpoch}`);
      this.totalSteps = o.epochs * o.stepsPerEpoch;
    } else throw new TypeError(`${name}: give totalSteps, or epochs and stepsPerEpoch`);
    const pct = o.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new RangeError(`${name}: expected pctStart in [0, 1], got ${pct}`);
    this.annealStrategy = o.annealStrategy ?? 'cos';
    if (this.annealStrategy !== 'cos' && this.annealStrategy !== 'linear')
      throw new RangeError(`${name}: annealStrategy must be 'cos' or 'linear', got '${String(this.annealStrategy)}'`);
    const T = this.totalSteps;
    this.phases = o.threePhase
      ? [
          { end: pct * T - 1, startLr: 'initial', endLr: 'max', startM: 'max', endM: 'base' },
          { end: 2 * pct * T - 2, startLr: 'max', endLr: 'initial', startM: 'base', endM: 'max' },
          { end: T - 1, startLr: 'initial', endLr: 'min', startM: 'max', endM: 'max' },
        ]
      : [
          { end: pct * T - 1, startLr: 'initial', endLr: 'max', startM: 'max', endM: 'base' },
          { end: T - 1, startLr: 'max', endLr: 'min', startM: 'base', endM: 'max' },
        ];
    const groups = optimizer.paramGroups;
    const maxLrs = Array.isArray(o.maxLr) ? o.maxLr : groups.map(() => o.maxLr as number);
    if (maxLrs.length !== groups.length) throw new RangeError(`${name}: expected ${groups.length} values for maxLr, got ${maxLrs.length}`);
    const div = o.divFactor ?? 25;
    const finalDiv = o.finalDivFactor ?? 1e4;
    if (!(div > 0) || !(finalDiv > 0))
      throw new RangeError(`${name}: divFactor and finalDivFactor must be > 0, got ${div} and ${finalDiv}`);
    this.lrs = maxLrs.map((m) => {
      inRange(name, 'maxLr', m, { min: 0 });
      const initial = m / div;
      return { initial, max: m, min: initial / finalDiv };
    });
    // torch sets each group's initial_lr to maxLr / divFactor
    groups.forEach((g, i) => {
      g.initialLr = this.lrs[i]!.initial;
      this.baseLrs[i] = this.lrs[i]!.initial;
    });
    this.cycleMomentum = o.cycleMomentum ?? true;
    const g0 = groups[0] as unknown as Record<string, unknown>;
    this.useBeta1 = Array.isArray(g0.betas);
    if (this.cycleMomentum && !this.useBeta1 && typeof g0.momentum !== 'number') {
      throw new Error(`${name}: optimizer must support momentum or betas with cycleMomentum enabled (pass cycleMomentum: false)`);
    }
    const base = o.baseMomentum ?? 0.85;
    const max = o.maxMomentum ?? 0.95;
    this.moms = groups.map(() => ({ base, max }));
    this.apply();
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  /** [lr, momentum] of group i at step e (torch's get_lr). */
  private at(i: number, e: number): [number, number] {
    if (e > this.totalSteps) {
      throw new RangeError(`OneCycleLR: tried to step ${e} times; the specified number of total steps is ${this.totalSteps}`);
    }
    let start = 0;
    for (let k = 0; k < this.phases.length; k++) {
      const ph = this.phases[k]!;
      if (e <= ph.end || k === this.phases.length - 1) {
        const pct = (e - start) / (ph.end - start);
        const l = this.lrs[i]!;
        const m = this.moms[i]!;
        return [this.anneal(l[ph.startLr], l[ph.endLr], pct), this.anneal(m[ph.startM], m[ph.endM], pct)];
      }
      start = ph.end;
    }
    throw new Error('OneCycleLR: no phase'); // unreachable: the last phase always matches
  }

  lrAt(e: number): number[] {
    return this.lrs.map((_, i) => this.at(i, e)[0]);
  }

  protected override apply(): void {
    super.apply();
    if (!this.cycleMomentum) return;
    this.optimizer.paramGroups.forEach((g, i) => {
      const m = this.at(i, this.lastEpoch)[1];
      const r = g as unknown as Record<string, unknown>;
      if (this.useBeta1) r.betas = [m, (r.betas as number[])[1]!];
      else r.momentum = m;
    });
  }

  /** The momentum (or β1) of each group set by the last step. */
  getLastMomentum(): number[] {
    return this.optimizer.paramGroups.map((g) => {
      const r = g as unknown as Record<string, unknown>;
      return this.useBeta1 ? (r.betas as number[])[0]! : (r.momentum as number);
    });
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), totalSteps: this.totalSteps };
  }
}
