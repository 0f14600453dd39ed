// Losses: the functional forms (the ops, with torch's semantics) and module forms holding the
// options. forward(input, target) → loss tensor ('mean' by default, like torch).

import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import type { CrossEntropyOptions, NllOptions, Reduction } from '../ops/index.js';
import { Module } from './module.js';
import { checkOptions, inRange } from '../options.js';

export { mseLoss, l1Loss, crossEntropy, nllLoss, binaryCrossEntropy, bceWithLogits, huberLoss } from '../ops/index.js';
export type { Reduction, CrossEntropyOptions, NllOptions } from '../ops/index.js';

function checkReduction(loss: string, r: Reduction): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none')
    throw new RangeError(`${loss}: reduction must be 'mean', 'sum' or 'none', got '${String(r)}'`);
  return r;
}

/** Base of the loss modules: forward(input, target). */
export abstract class Loss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;
  /** reduction as a string ('mean', 'sum', 'none'), or { reduction } like the other losses' options */
  constructor(reduction: Reduction | { reduction?: Reduction } = 'mean') {
    super();
    if (reduction !== null && typeof reduction === 'object')
      reduction = checkOptions(this.constructor.name, reduction, ['reduction']).reduction ?? 'mean';
    this.reduction = checkReduction(this.constructor.name, reduction);
  }
  override extraRepr(): string {
    return this.reduction === 'mean' ? '' : `reduction='${this.reduction}'`;
  }
}

export class MSELoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.mseLoss(input, target, { reduction: this.reduction });
  }
}

export class L1Loss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.l1Loss(input, target, { reduction: this.reduction });
  }
}

/** Logits (N, C[, …]) and int32 class indices (N[, …]), or class probabilities shaped like the logits. */
export class CrossEntropyLoss extends Loss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  /** false: the input holds probabilities (see crossEntropy) */
  readonly fromLogits: boolean;
  constructor(o: CrossEntropyOptions = {}) {
    super(checkOptions('CrossEntropyLoss', o, ['reduction', 'labelSmoothing', 'ignoreIndex', 'fromLogits']).reduction);
    inRange('CrossEntropyLoss', 'ignoreIndex', o.ignoreIndex, { integer: true }, -100);
    if (o.fromLogits !== undefined && typeof o.fromLogits !== 'boolean')
      throw new TypeError(`CrossEntropyLoss: fromLogits must be true or false, got ${String(o.fromLogits)}`);
    this.ignoreIndex = o.ignoreIndex ?? -100;
    this.labelSmoothing = o.labelSmoothing ?? 0;
    this.fromLogits = o.fromLogits ?? true;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1))
      throw new RangeError(`CrossEntropyLoss: label_smoothing must be in [0, 1], got ${this.labelSmoothing}`);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.crossEntropy(input, target, {
      reduction: this.reduction,
      ignoreIndex: this.ignoreIndex,
      labelSmoothing: this.labelSmoothing,
      fromLogits: this.fromLogits,
    });
  }
}

/** Log-probabilities (N, C[, …]) and int32 class indices. */
export class NLLLoss extends Loss {
  readonly ignoreIndex: number;
  constructor(o: NllOptions = {}) {
    super(checkOptions('NLLLoss', o, ['reduction', 'ignoreIndex']).reduction);
    inRange('NLLLoss', 'ignoreIndex', o.ignoreIndex, { integer: true }, -100);
    this.ignoreIndex = o.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.nllLoss(input, target, { reduction: this.reduction, ignoreIndex: this.ignoreIndex });
  }
}

/** Probabilities in [0, 1] against targets in [0, 1]; optional per-element weight (broadcast). */
export class BCELoss extends Loss {
  constructor(readonly o: { reduction?: Reduction; weight?: Tensor | null } = {}) {
    super(checkOptions('BCELoss', o, ['reduction', 'weight']).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.binaryCrossEntropy(input, target, { reduction: this.reduction, weight: this.o.weight ?? undefined });
  }
}

/** Logits against targets in [0, 1], computed stably; posWeight (broadcast over the last dim) like torch. */
export class BCEWithLogitsLoss extends Loss {
  constructor(readonly o: { reduction?: Reduction; posWeight?: Tensor | null } = {}) {
    super(checkOptions('BCEWithLogitsLoss', o, ['reduction', 'posWeight']).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.bceWithLogits(input, target, { reduction: this.reduction, posWeight: this.o.posWeight ?? undefined });
  }
}

/** torch.nn.HuberLoss: quadratic within delta (default 1), linear outside. */
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(o: { reduction?: Reduction; delta?: number } = {}) {
    super(checkOptions('HuberLoss', o, ['reduction', 'delta']).reduction);
    this.delta = inRange('HuberLoss', 'delta', o.delta, { min: 0, minOpen: true }, 1);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return ops.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}
