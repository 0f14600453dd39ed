// Linear: y = x·Wᵀ + b with W (out, in), b (out), like torch.nn.Linear; and Identity.

import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { uniform_, kaimingUniform_ } from '../init.js';
import { badInput, bool, layerOptions, newParam, positiveInt, type FactoryOptions } from './util.js';

export interface LinearOptions extends FactoryOptions {
  bias?: boolean;
}

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LinearOptions = {},
  ) {
    super();
    o = layerOptions('Linear', o, ['bias']);
    bool('Linear', 'bias', o.bias, true);
    positiveInt('Linear', 'in_features', inFeatures, true);
    positiveInt('Linear', 'out_features', outFeatures, true);
    this.weight = newParam([outFeatures, inFeatures], o);
    this.bias = o.bias === false ? null : newParam([outFeatures], o);
    this.resetParameters();
  }

  /** torch's default: kaiming_uniform_(a=√5) → U(±1/√in), bias U(±1/√in). */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) badInput(this.toString(), `(…, ${this.inFeatures})`, x);
    return ops.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input (a placeholder layer). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
