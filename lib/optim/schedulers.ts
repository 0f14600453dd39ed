// Learning-rate schedulers, after torch.optim.lr_scheduler. Each computes the lr of every group
// in closed form from the epoch (step count) and the groups' initial lrs, so they compose:
// LinearWarmup ramps the lr up and then hands over to another scheduler.
//
// Usage: per iteration (or epoch) `optimizer.step(); scheduler.step();`. A new scheduler sets the
// lr for epoch 0 at once (like torch).

import type { Optimizer } from './optimizer.js';

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

  constructor(readonly optimizer: AnyOptimizer, { apply = true } = {}) {
    for (const g of optimizer.paramGroups) g.initialLr ??= g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    if (apply) this.apply();
  }

  /** The lr of each group at `epoch` (closed form). */
  abstract lrAt(epoch: number): number[];

  /** Advances one epoch (or to `epoch`) and sets the groups' lrs. */
  step(epoch?: number): void {
    this.lastEpoch = epoch ?? this.lastEpoch + 1;
    this.apply();
  }

  protected apply(): void {
    const lrs = this.lrAt(this.lastEpoch);
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
    if (typeof sd?.lastEpoch !== 'number') throw new TypeError(`${this.constructor.name}.loadStateDict: expected {lastEpoch, baseLrs, lastLrs}`);
    this.lastEpoch = sd.lastEpoch;
    if (Array.isArray(sd.baseLrs)) sd.baseLrs.forEach((b, i) => (this.baseLrs[i] = b));
    this.apply();
  }
}

/** lr = base · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, o: { stepSize: number; gamma?: number }) {
    super(optimizer, { apply: false });
    if (!Number.isInteger(o.stepSize) || o.stepSize < 1) throw new RangeError(`StepLR: stepSize must be a positive integer, got ${o.stepSize}`);
    this.stepSize = o.stepSize;
    this.gamma = o.gamma ?? 0.1;
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(e / this.stepSize));
  }
}

/** lr = base · gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: AnyOptimizer, readonly o: { gamma: number }) {
    super(optimizer, { apply: false });
    if (!(o.gamma > 0)) throw new RangeError(`ExponentialLR: gamma must be positive, got ${o.gamma}`);
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => b * this.o.gamma ** e);
  }
}

/** lr = base · lambda(epoch) (one function for all groups, or one per group). */
export class LambdaLR extends LRScheduler {
  constructor(optimizer: AnyOptimizer, readonly lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    super(optimizer, { apply: false });
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
    if (!(o.tMax > 0)) throw new RangeError(`CosineAnnealingLR: tMax must be positive, got ${o.tMax}`);
    this.tMax = o.tMax;
    this.etaMin = o.etaMin ?? 0;
    if (!(this.etaMin >= 0)) throw new RangeError(`CosineAnnealingLR: etaMin must be >= 0, got ${this.etaMin}`);
    this.apply();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * (1 + Math.cos((Math.PI * e) / this.tMax)) / 2);
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
    if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) throw new RangeError(`LinearWarmup: warmupSteps must be a non-negative integer, got ${o.warmupSteps}`);
    this.warmupSteps = o.warmupSteps;
    this.startFactor = o.startFactor ?? 0;
    if (!(this.startFactor >= 0 && this.startFactor <= 1)) throw new RangeError(`LinearWarmup: startFactor must be in [0, 1], got ${this.startFactor}`);
    this.after = o.after ?? null;
    if (this.after && this.after.optimizer !== optimizer) throw new Error('LinearWarmup: the wrapped scheduler must drive the same optimizer');
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
