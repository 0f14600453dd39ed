// Dynamic loss scaling (torch.amp.GradScaler semantics and defaults).
//
//   const scaler = new wg.amp.GradScaler();
//   scaler.scale(loss).backward();   // gradients of loss · S: small float16 gradients stay representable
//   scaler.step(optimizer);          // unscale (÷ S) and check; the step is skipped on inf/NaN gradients
//   scaler.update();                 // S × backoffFactor after a skipped step; × growthFactor after
//                                    // growthInterval clean steps in a row
// unscale_(optimizer) may be called before step (e.g. to clip the true gradients); it runs once per
// optimizer per step. The check sums g·0 over every gradient (inf·0 and NaN·0 are NaN, finite·0 is
// 0, so large finite gradients never read as overflow) and reads that one number back per step,
// as torch's step() does with found_inf.
// stateDict() uses torch's keys (scale, growth_factor, backoff_factor, growth_interval,
// _growth_tracker); saveCheckpoint({ scaler }) stores it and loadCheckpoint({ scaler }) restores it.

import { noGrad } from '../autograd/mode.js';
import { add, mul, sum } from '../ops/index.js';
import { checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';

export interface GradScalerOptions {
  /** the first scale (default 2^16) */
  initScale?: number;
  /** × after growthInterval steps without inf/NaN (default 2) */
  growthFactor?: number;
  /** × after a step with inf/NaN gradients (default 0.5) */
  backoffFactor?: number;
  /** clean steps in a row before growing (default 2000) */
  growthInterval?: number;
  /** false makes every method a pass-through (scale returns the loss, step just steps) */
  enabled?: boolean;
}

export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

/** What the scaler needs of an optimizer: its step and its parameter groups (every lib/optim optimizer). */
export interface ScalableOptimizer {
  step(): void;
  readonly paramGroups: readonly { readonly params: readonly Tensor[] }[];
}

type Stage = 'ready' | 'unscaled' | 'stepped';

function positiveNumber(where: string, name: string, v: unknown, dflt: number, above1?: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new RangeError(`${where}: ${name} must be a finite number > 0, got ${String(v)}`);
  if (above1 === true && v <= 1) throw new RangeError(`${where}: ${name} must be > 1, got ${v}`);
  if (above1 === false && v >= 1) throw new RangeError(`${where}: ${name} must be < 1, got ${v}`);
  return v;
}

export class GradScaler {
  private _scale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;
  private readonly enabled: boolean;
  private readonly stages = new Map<ScalableOptimizer, { stage: Stage; foundInf: boolean }>();
  /** steps skipped because of inf/NaN gradients, over this scaler's life */
  skippedSteps = 0;
  /** whether the last step() skipped the optimizer step */
  lastStepSkipped = false;

  constructor(o: GradScalerOptions = {}) {
    checkOptions('GradScaler', o, ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled']);
    this._scale = positiveNumber('GradScaler', 'initScale', o.initScale, 65536);
    this.growthFactor = positiveNumber('GradScaler', 'growthFactor', o.growthFactor, 2, true);
    this.backoffFactor = positiveNumber('GradScaler', 'backoffFactor', o.backoffFactor, 0.5, false);
    const gi = o.growthInterval ?? 2000;
    if (!Number.isInteger(gi) || gi < 1) throw new RangeError(`GradScaler: growthInterval must be an integer >= 1, got ${String(gi)}`);
    this.growthInterval = gi;
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean')
      throw new TypeError(`GradScaler: enabled must be a boolean, got ${typeof o.enabled}`);
    this.enabled = o.enabled ?? true;
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /** loss · scale (a new tensor; the loss itself is unchanged). Disabled: the loss. */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    if (!loss || typeof (loss as Tensor).dtype !== 'string') throw new TypeError('GradScaler.scale: expected a tensor (the loss)');
    return mul(loss, this._scale);
  }

  private entry(opt: ScalableOptimizer, where: string): { stage: Stage; foundInf: boolean } {
    if (!opt || typeof opt.step !== 'function' || !Array.isArray(opt.paramGroups))
      throw new TypeError(`GradScaler.${where}: expected an optimizer with step() and paramGroups (e.g. new optim.Adam(params))`);
    let e = this.stages.get(opt);
    if (!e) {
      e = { stage: 'ready', foundInf: false };
      this.stages.set(opt, e);
    }
    return e;
  }

  /** Divides the optimizer's gradients by the scale in place and records whether any is inf/NaN. */
  unscale_(optimizer: ScalableOptimizer): void {
    if (!this.enabled) return;
    const e = this.entry(optimizer, 'unscale_');
    if (e.stage === 'unscaled')
      throw new Error('GradScaler.unscale_: unscale_() has already been called on this optimizer since the last update()');
    if (e.stage === 'stepped') throw new Error('GradScaler.unscale_: unscale_() is being called after step()');
    const inv = 1 / this._scale;
    const check = noGrad(() => {
      let acc: Tensor | null = null;
      for (const g of optimizer.paramGroups)
        for (const p of g.params) {
          const gr = p.grad;
          if (!gr) continue;
          gr.mul_(inv);
          const z = sum(mul(gr, 0));
          const next: Tensor = acc ? add(acc, z) : z;
          if (acc) acc.dispose();
          if (next !== z) z.dispose();
          acc = next;
        }
      return acc;
    });
    let bad = false;
    if (check) {
      bad = !Number.isFinite(check.dataSync()[0]!);
      check.dispose();
    }
    e.foundInf = bad;
    e.stage = 'unscaled';
  }

  /** Unscales (unless unscale_ ran), then steps the optimizer unless a gradient is inf/NaN. Returns whether it stepped. */
  step(optimizer: ScalableOptimizer): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    const e = this.entry(optimizer, 'step');
    if (e.stage === 'stepped') throw new Error('GradScaler.step: step() has already been called since the last update()');
    if (e.stage === 'ready') this.unscale_(optimizer);
    e.stage = 'stepped';
    this.lastStepSkipped = e.foundInf;
    if (e.foundInf) {
      this.skippedSteps++;
      return false;
    }
    optimizer.step();
    return true;
  }

  /**
   * Updates the scale from this step's checks: backoff after inf/NaN in any optimizer, growth after
   * growthInterval clean steps (a growth to a non-finite scale is not taken, like torch's kernel).
   * newScale sets the scale directly instead.
   */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      this._scale = positiveNumber('GradScaler.update', 'newScale', newScale, 0);
      this.stages.clear();
      return;
    }
    const checked = [...this.stages.values()].filter((e) => e.stage !== 'ready');
    if (!checked.length) throw new Error('GradScaler.update: no inf checks were recorded prior to update() (call step(optimizer) first)');
    const foundInf = checked.some((e) => e.foundInf);
    if (foundInf) {
      this._scale *= this.backoffFactor;
      this.growthTracker = 0;
    } else if (++this.growthTracker === this.growthInterval) {
      const g = this._scale * this.growthFactor;
      if (Number.isFinite(Math.fround(g))) this._scale = g;
      this.growthTracker = 0;
    }
    this._scale = Math.fround(this._scale); // torch keeps the scale in a float32 tensor
    this.stages.clear();
  }

  getScale(): number {
    return this.enabled ? this._scale : 1;
  }
  getGrowthFactor(): number {
    return this.growthFactor;
  }
  setGrowthFactor(v: number): void {
    this.growthFactor = positiveNumber('GradScaler.setGrowthFactor', 'growthFactor', v, 0, true);
  }
  getBackoffFactor(): number {
    return this.backoffFactor;
  }
  setBackoffFactor(v: number): void {
    this.backoffFactor = positiveNumber('GradScaler.setBackoffFactor', 'backoffFactor', v, 0, false);
  }
  getGrowthInterval(): number {
    return this.growthInterval;
  }
  setGrowthInterval(v: number): void {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`GradScaler.setGrowthInterval: must be an integer >= 1, got ${String(v)}`);
    this.growthInterval = v;
  }
  getGrowthTracker(): number {
    return this.growthTracker;
  }

  /** torch's state_dict keys; {} when disabled (as torch). */
  stateDict(): GradScalerState | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this._scale,
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.growthTracker,
    };
  }

  loadStateDict(sd: unknown): void {
    if (!this.enabled) throw new Error('GradScaler.loadStateDict: this scaler is disabled (construct it with enabled: true to load state)');
    if (!sd || typeof sd !== 'object') throw new TypeError('GradScaler.loadStateDict: expected an object from stateDict()');
    const s = sd as Record<string, unknown>;
    if (Object.keys(s).length === 0)
      throw new RangeError('GradScaler.loadStateDict: the state dict is empty (it came from a disabled scaler)');
    const w = 'GradScaler.loadStateDict';
    if ([s.scale, s.growth_factor, s.backoff_factor].some((v) => v === undefined))
      throw new RangeError(`${w}: expected keys scale, growth_factor, backoff_factor, growth_interval, _growth_tracker`);
    const scale = positiveNumber(w, 'scale', s.scale, NaN);
    const gf = positiveNumber(w, 'growth_factor', s.growth_factor, NaN, true);
    const bf = positiveNumber(w, 'backoff_factor', s.backoff_factor, NaN, false);
    const gi = s.growth_interval;
    const gt = s._growth_tracker;
    if (typeof gi !== 'number' || !Number.isInteger(gi) || gi < 1)
      throw new RangeError(`${w}: growth_interval must be an integer >= 1, got ${String(gi)}`);
    if (typeof gt !== 'number' || !Number.isInteger(gt) || gt < 0)
      throw new RangeError(`${w}: _growth_tracker must be an integer >= 0, got ${String(gt)}`);
    this._scale = scale;
    this.growthFactor = gf;
    this.backoffFactor = bf;
    this.growthInterval = gi;
    this.growthTracker = gt;
  }
}
