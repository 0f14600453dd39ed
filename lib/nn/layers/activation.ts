// Activation layers: thin modules over the elementwise ops.

import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module } from '../module.js';
import { inRange } from '../../options.js';

/** A dim argument: an integer (negative counts from the end; checked against the input in the op). */
function dimArg(layer: string, dim: unknown): number {
  return inRange(layer, 'dim', dim, { integer: true });
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return ops.relu(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return ops.tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return ops.sigmoid(x);
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return ops.silu(x);
  }
}

export class Softplus extends Module {
  forward(x: Tensor): Tensor {
    return ops.softplus(x);
  }
}

/** GELU, exact (erf) or with the tanh approximation. */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh')
      throw new RangeError(`GELU: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  }
  forward(x: Tensor): Tensor {
    return ops.gelu(x, this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (!Number.isFinite(negativeSlope)) throw new RangeError(`LeakyReLU: negative_slope must be finite, got ${negativeSlope}`);
  }
  forward(x: Tensor): Tensor {
    return ops.leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    inRange('ELU', 'alpha', alpha, {});
  }
  forward(x: Tensor): Tensor {
    return ops.elu(x, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** softmax along dim (default -1, the last; torch requires it explicitly). */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
    dimArg('Softmax', dim);
  }
  forward(x: Tensor): Tensor {
    return ops.softmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
    dimArg('LogSoftmax', dim);
  }
  forward(x: Tensor): Tensor {
    return ops.logSoftmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
