// SGD with momentum, dampening, Nesterov, weight decay and maximize — torch.optim.SGD's update,
// run by the fused sgdStep kernel (one call per group and (device, dtype)):
//   g = ±grad + wd·p;  buf = g on the first step, else momentum·buf + (1 - dampening)·g;
//   g = nesterov ? g + momentum·buf : buf;  p -= lr·g

import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { bool, finite, nonNegative } from '../options.js';
import { Optimizer, hyperWhere, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  protected readonly hyperNames = {
    lr: 'lr',
    momentum: 'momentum',
    dampening: 'dampening',
    weightDecay: 'weight_decay',
    nesterov: 'nesterov',
    maximize: 'maximize',
  };

  constructor(params: ParamsInput<SGDOptions>, o: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, o);
  }

  protected validate(h: SGDOptions, where: string): void {
    const w = hyperWhere('SGD', where);
    nonNegative(w, 'learning rate', h.lr);
    nonNegative(w, 'momentum value', h.momentum);
    nonNegative(w, 'weight_decay value', h.weightDecay);
    finite(w, 'dampening', h.dampening);
    bool(w, 'nesterov', h.nesterov);
    bool(w, 'maximize', h.maximize);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new RangeError(
        `SGD: Nesterov momentum requires a momentum and zero dampening (got momentum ${h.momentum}, dampening ${h.dampening} in ${where})`,
      );
    }
  }

  protected updateGroup(g: ParamGroup<SGDOptions>, ps: Tensor[]): void {
    const h = {
      lr: g.lr,
      momentum: g.momentum,
      dampening: g.dampening,
      nesterov: g.nesterov,
      weightDecay: g.weightDecay,
      maximize: g.maximize,
    };
    if (g.momentum === 0) {
      ops.sgdStep(
        ps,
        ps.map((p) => p.grad!),
        null,
        { ...h, firstStep: false },
      );
      return;
    }
    // parameters with a momentum buffer already, and those on their first step (buf = g)
    const fresh = ps.filter((p) => !this.state.get(p)?.tensors.momentum_buffer);
    const old = ps.filter((p) => this.state.get(p)?.tensors.momentum_buffer);
    for (const [list, firstStep] of [
      [old, false],
      [fresh, true],
    ] as const) {
      if (!list.length) continue;
      const bufs = list.map((p) => this.stateOf(p, ['momentum_buffer']).tensors.momentum_buffer!);
      ops.sgdStep(
        list,
        list.map((p) => p.grad!),
        bufs,
        { ...h, firstStep },
      );
      for (const p of list) this.state.get(p)!.step++;
    }
  }
}
