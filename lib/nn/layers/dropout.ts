// Dropout: zeroes elements with probability p in training (mask from the Philox stream, so a
// manualSeed reproduces it) and scales the rest by 1/(1-p); the identity in eval.

import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module } from '../module.js';
import { probability } from './util.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    probability('Dropout', 'p', p);
  }
  forward(x: Tensor): Tensor {
    return ops.dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
