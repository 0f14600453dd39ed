// BatchNorm1d / BatchNorm2d (running statistics as buffers, torch names) and LayerNorm.

import { noGrad } from '../../autograd/mode.js';
import { keep } from '../../memory.js';
import { fmtShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { fillInto } from '../inplace.js';
import { badInput, bool, finiteArg, layerOptions, newParam, positiveInt, type FactoryOptions } from './util.js';

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** running-stat update factor; null = cumulative moving average (1 / batches seen) */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** Shared by BatchNorm1d / BatchNorm2d: statistics per channel (dim 1). */
export abstract class BatchNormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  /** int32 count of training batches (torch's num_batches_tracked, int64 there) */
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** host mirror of num_batches_tracked, so momentum=null needs no readback */
  private batches = 0;

  protected abstract checkInput(x: Tensor): void;

  constructor(
    readonly numFeatures: number,
    o: BatchNormOptions = {},
  ) {
    super();
    const L = this.constructor.name;
    o = layerOptions(L, o, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    positiveInt(L, 'num_features', numFeatures);
    this.eps = finiteArg(L, 'eps', o.eps, 1e-5, true);
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum;
    if (this.momentum !== null && !(typeof this.momentum === 'number' && this.momentum >= 0 && this.momentum <= 1))
      throw new RangeError(`${L}: momentum must be in [0, 1] or null, got ${this.momentum}`);
    this.affine = bool(L, 'affine', o.affine, true);
    this.trackRunningStats = bool(L, 'trackRunningStats', o.trackRunningStats, true);
    this.weight = this.affine ? newParam([numFeatures], o) : null;
    this.bias = this.affine ? newParam([numFeatures], o) : null;
    const f = { dtype: o.dtype ?? 'float32', device: o.device };
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', ops.zeros([numFeatures], f));
      this.registerBuffer('running_var', ops.ones([numFeatures], f));
      this.registerBuffer('num_batches_tracked', ops.zeros([], { dtype: 'int32', device: o.device }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  resetRunningStats(): void {
    noGrad(() => {
      if (this.running_mean) fillInto(this.running_mean, 0);
      if (this.running_var) fillInto(this.running_var, 1);
      if (this.num_batches_tracked) fillInto(this.num_batches_tracked, 0);
    });
    this.batches = 0;
  }

  /** ones / zeros for the affine parameters, running stats reset. */
  resetParameters(): void {
    this.resetRunningStats();
    noGrad(() => {
      if (this.weight) fillInto(this.weight, 1);
      if (this.bias) fillInto(this.bias, 0);
    });
  }

  protected override onStateLoaded(): void {
    this.batches = this.num_batches_tracked ? this.num_batches_tracked.item() : 0;
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const useBatchStats = this.training || !this.running_mean;
    let momentum = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      // num_batches_tracked += 1 without a readback (a new int tensor replaces the buffer)
      const next = noGrad(() => ops.add(this.num_batches_tracked!, 1));
      this.num_batches_tracked.dispose();
      this.num_batches_tracked = keep(next);
      this.batches++;
      if (this.momentum === null) momentum = 1 / this.batches;
    }
    // in training the running stats are updated in place by the kernel; without tracking, none
    const track = useBatchStats ? this.training && this.trackRunningStats : true;
    return ops.batchNorm(x, track ? this.running_mean : null, track ? this.running_var : null, this.weight, this.bias, {
      training: useBatchStats,
      momentum,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, track_running_stats=${this.trackRunningStats}`;
  }
}

/** Batch norm over (N, C) or (N, C, L). */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures)
      badInput(this.toString(), `(N, ${this.numFeatures}) or (N, ${this.numFeatures}, L)`, x);
  }
}

/** Batch norm over (N, C, H, W). */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4 || x.shape[1] !== this.numFeatures) badInput(this.toString(), `(N, ${this.numFeatures}, H, W)`, x);
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  /** with elementwiseAffine: learn a bias too (default true) */
  bias?: boolean;
}

/** Layer norm over the trailing normalizedShape dims, weight ones and bias zeros. */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  constructor(normalizedShape: number | number[], o: LayerNormOptions = {}) {
    super();
    o = layerOptions('LayerNorm', o, ['eps', 'elementwiseAffine', 'bias']);
    if (typeof normalizedShape !== 'number' && !Array.isArray(normalizedShape))
      throw new TypeError(`LayerNorm: normalized_shape must be a positive integer or an array of them, got ${typeof normalizedShape}`);
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (!this.normalizedShape.length) throw new RangeError('LayerNorm: normalized_shape must not be empty');
    for (const d of this.normalizedShape) positiveInt('LayerNorm', 'normalized_shape', d);
    this.eps = finiteArg('LayerNorm', 'eps', o.eps, 1e-5, true);
    this.elementwiseAffine = bool('LayerNorm', 'elementwiseAffine', o.elementwiseAffine, true);
    bool('LayerNorm', 'bias', o.bias, true);
    this.weight = this.elementwiseAffine ? newParam(this.normalizedShape, o) : null;
    this.bias = this.elementwiseAffine && o.bias !== false ? newParam(this.normalizedShape, o) : null;
    this.resetParameters();
  }
  resetParameters(): void {
    noGrad(() => {
      if (this.weight) fillInto(this.weight, 1);
      if (this.bias) fillInto(this.bias, 0);
    });
  }
  forward(x: Tensor): Tensor {
    const ns = this.normalizedShape;
    const tail = x.shape.slice(x.ndim - ns.length);
    if (x.ndim < ns.length || ns.some((d, i) => d !== tail[i])) badInput(this.toString(), `(…, ${ns.join(', ')})`, x);
    return ops.layerNorm(x, ns, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwise_affine=${this.elementwiseAffine}`;
  }
}
