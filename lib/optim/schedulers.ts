// Learning-rate schedulers, after torch.optim.lr_scheduler. Each computes the lr of every group
// in closed form from the epoch (step count) and the groups' initial lrs, so they compose:
// LinearWarmup ramps the lr up and then hands over to another scheduler.
//
// Usage: per iteration (or epoch) `optimizer.step(); scheduler.step();`. A new scheduler sets the
// lr for epoch 0 at once (like torch).

import { Optimizer } from './optimizer.js';
import { checkOptions, func, inRange, nonNegative, nonNegativeInt, positive, positiveInt } from '../options.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;

export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLrs: number[];
  [k: string]: unknown;
}

export abstract class LRScheduler {
  /** the epoch the current lrs are for (0 after construction) */
  lastEpoch = 0;
  readonly baseLrs: number[];
  private lastLrs: number[] = [];

  constructor(
    readonly optimizer: AnyOptimizer,
    { apply = true } = {},
  ) {
    if (!(optimizer instanceof Optimizer))
      throw new TypeError(
        `${new.target.name}: expected an optimizer as the first argument, got ${optimizer === null ? 'null' : typeof optimizer}`,
      );
    for (const g of optimizer.paramGroups) g.initialLr ??= g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    if (apply) this.apply();
  }

  /** The lr of each group at `epoch` (closed form). */
  abstract lrAt(epoch: number): number[];

  /** Advances one epoch (or to `epoch`) and sets the groups' lrs. */
  step(epoch?: number): void {
    const prev = this.lastEpoch;
    this.lastEpoch = epoch === undefined ? this.lastEpoch + 1 : nonNegative(`${this.constructor.name}.step`, 'epoch', epoch);
    try {
      this.apply();
    } catch (e) {
      this.lastEpoch = prev; // nothing changed: the lrs were checked before being set
      throw e;
    }
  }

  /** Sets the groups' lrs for lastEpoch, after checking every one is a finite number >= 0. */
  protected apply(): void {
    const lrs = this.lrAt(this.lastEpoch);
    lrs.forEach((lr, i) => {
      if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
        throw new RangeError(
          `${this.constructor.name}: the schedule gives lr ${lr} for param group ${i} at epoch ${this.lastEpoch} (must be a finite number >= 0); the lr is unchanged`,
        );
      }
    });
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.lastLrs = lrs;
  }

  /** The lrs set by the last step. */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLrs: [...this.lastLrs] };
  }

  /** Restores the epoch (and base lrs) and sets the groups' lrs for it. */
  loadStateDict(sd: SchedulerStateDict): void {
    const where = `${this.constructor.name}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || sd.lastEpoch === undefined)
      throw new TypeError(`${where}: expected {lastEpoch, baseLrs, lastLrs}`);
    const epoch = nonNegative(where, 'lastEpoch', sd.lastEpoch);
    let base = this.baseLrs;
    if (sd.baseLrs !== undefined) {
      if (!Array.isArray(sd.baseLrs) || sd.baseLrs.length !== this.baseLrs.length) {
        throw new RangeError(
          `${where}: baseLrs must be an array of ${this.baseLrs.length} learning rates (one per param group), got ${JSON.stringify(sd.baseLrs)}`,
        );
      }
      base = sd.baseLrs.map((b, i) => nonNegative(where, `baseLrs[${i}]`, b));
    }
    // validate, then commit: a bad state leaves the scheduler and the lrs as they were
    const prevEpoch = this.lastEpoch;
    const prevBase = [...this.baseLrs];
    this.lastEpoch = epoch;
    base.forEach((b, i) => (this.baseLrs[i] = b));
    try {
      this.apply();
    } catch (e) {
      this.lastEpoch = prevEpoch;
      prevBase.forEach((b, i) => (this.baseLrs[i] = b));
      throw e;
    }
  }
}

/** lr = base · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, o: { stepSize: number; gamma?: number }) {
    super(optimizer, { apply: false });
    o = checkOptions('StepLR', o, ['stepSize', 'gamma']);
    this.stepSize = positiveInt('StepLR', 'stepSize', o.stepSize);
    this.gamma = positive('StepLR', 'gamma', o.gamma, 0.1);
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(e / this.stepSize));
  }
}

/** lr = base · gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly o: { gamma: number },
  ) {
    super(optimizer, { apply: false });
    o = checkOptions('ExponentialLR', o, ['gamma']);
    positive('ExponentialLR', 'gamma', o.gamma);
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => b * this.o.gamma ** e);
  }
}

/** lr = base · lambda(epoch) (one function for all groups, or one per group). */
export class LambdaLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[],
  ) {
    super(optimizer, { apply: false });
    if (Array.isArray(lrLambda)) lrLambda.forEach((f, i) => func('LambdaLR', `lrLambda[${i}]`, f));
    else func('LambdaLR', 'lrLambda', lrLambda);
    if (Array.isArray(lrLambda) && lrLambda.length !== optimizer.paramGroups.length) {
      throw new RangeError(`LambdaLR: expected ${optimizer.paramGroups.length} lr lambdas, got ${lrLambda.length}`);
    }
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b, i) => b * (Array.isArray(this.lrLambda) ? this.lrLambda[i]! : this.lrLambda)(e));
  }
}

/** torch's closed form: lr = etaMin + (base - etaMin)·(1 + cos(π·epoch / tMax)) / 2. */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: AnyOptimizer, o: { tMax: number; etaMin?: number }) {
    super(optimizer, { apply: false });
    o = checkOptions('CosineAnnealingLR', o, ['tMax', 'etaMin']);
    this.tMax = positive('CosineAnnealingLR', 'tMax', o.tMax);
    this.etaMin = nonNegative('CosineAnnealingLR', 'etaMin', o.etaMin, 0);
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * e) / this.tMax))) / 2);
  }
}

export interface LinearWarmupOptions {
  warmupSteps: number;
  /** the factor at epoch 0 (default 0); it rises linearly to 1 at warmupSteps */
  startFactor?: number;
  /** the schedule after warmup, run from its own epoch 0 at epoch warmupSteps */
  after?: LRScheduler | null;
}

/**
 * Linear warmup: lr = base · (startFactor + (1 - startFactor)·epoch / warmupSteps) while
 * epoch < warmupSteps; afterwards the wrapped scheduler's lr at (epoch - warmupSteps), or base.
 */
export class LinearWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly startFactor: number;
  readonly after: LRScheduler | null;
  constructor(optimizer: AnyOptimizer, o: LinearWarmupOptions) {
    super(optimizer, { apply: false });
    o = checkOptions('LinearWarmup', o, ['warmupSteps', 'startFactor', 'after']);
    this.warmupSteps = nonNegativeInt('LinearWarmup', 'warmupSteps', o.warmupSteps);
    this.startFactor = inRange('LinearWarmup', 'startFactor', o.startFactor, { min: 0, max: 1 }, 0);
    this.after = o.after ?? null;
    if (this.after !== null && !(this.after instanceof LRScheduler))
      throw new TypeError('LinearWarmup: after must be a scheduler (or null)');
    if (this.after && this.after.optimizer !== optimizer)
      throw new Error('LinearWarmup: the wrapped scheduler must drive the same optimizer');
    this.apply();
  }
  lrAt(e: number): number[] {
    if (e < this.warmupSteps) {
      const f = this.startFactor + (1 - this.startFactor) * (e / this.warmupSteps);
      return this.baseLrs.map((b) => b * f);
    }
    return this.after ? this.after.lrAt(e - this.warmupSteps) : [...this.baseLrs];
  }
  protected override apply(): void {
    if (this.after) this.after.lastEpoch = Math.max(0, this.lastEpoch - this.warmupSteps);
    super.apply();
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), after: this.after?.stateDict() ?? null };
  }
}
