// RMSprop (momentum, centered, weight decay, maximize) — torch.optim.RMSprop's update, run by the
// fused rmspropStep kernel (one call per group and (device, dtype)):
//   g = ±grad + wd·p;  v = α·v + (1-α)·g²;  centered: ḡ = α·ḡ + (1-α)·g, avg = √(v - ḡ²) + eps, else √v + eps
//   momentum > 0: buf = momentum·buf + g/avg, p -= lr·buf;  else p -= lr·g/avg
// State per parameter (torch's names): square_avg, momentum_buffer (momentum > 0), grad_avg (centered).

import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { bool } from '../options.js';
import { Optimizer, hyperWhere, nonNegative, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  /** smoothing constant of the squared-gradient average (torch's alpha) */
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  protected readonly hyperNames = {
    lr: 'lr',
    alpha: 'alpha',
    eps: 'eps',
    weightDecay: 'weight_decay',
    momentum: 'momentum',
    centered: 'centered',
    maximize: 'maximize',
  };

  constructor(params: ParamsInput<RMSpropOptions>, o: Partial<RMSpropOptions> = {}) {
    // the base checks o's keys against these defaults (did-you-mean) and keeps a default for undefined values
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false }, o);
  }

  protected validate(h: RMSpropOptions, where: string): void {
    nonNegative('RMSprop', 'learning rate', h.lr, where);
    nonNegative('RMSprop', 'epsilon value', h.eps, where);
    nonNegative('RMSprop', 'momentum value', h.momentum, where);
    nonNegative('RMSprop', 'weight_decay value', h.weightDecay, where);
    nonNegative('RMSprop', 'alpha value', h.alpha, where);
    bool(hyperWhere('RMSprop', where), 'centered', h.centered);
    bool(hyperWhere('RMSprop', where), 'maximize', h.maximize);
  }

  protected updateGroup(g: ParamGroup<RMSpropOptions>, ps: Tensor[]): void {
    const names = ['square_avg', ...(g.momentum > 0 ? ['momentum_buffer'] : []), ...(g.centered ? ['grad_avg'] : [])];
    const st = ps.map((p) => {
      const s = this.stateOf(p, names);
      s.step++;
      return s.tensors;
    });
    ops.rmspropStep(
      ps,
      ps.map((p) => p.grad!),
      st.map((s) => s.square_avg!),
      g.momentum > 0 ? st.map((s) => s.momentum_buffer!) : null,
      g.centered ? st.map((s) => s.grad_avg!) : null,
      {
        lr: g.lr,
        alpha: g.alpha,
        eps: g.eps,
        weightDecay: g.weightDecay,
        momentum: g.momentum,
        centered: g.centered,
        maximize: g.maximize,
      },
    );
  }
}
