// Adagrad (lr decay, weight decay, initial accumulator, maximize) — torch.optim.Adagrad's update,
// run by the fused adagradStep kernel (one call per group, (device, dtype) and step count):
//   clr = lr / (1 + (t - 1)·lr_decay);  g = ±grad + wd·p;  sum += g²;  p -= clr·g / (√sum + eps)
// State per parameter (torch's name): sum, starting at initial_accumulator_value.

import { keep } from '../memory.js';
import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { bool } from '../options.js';
import { Optimizer, hyperWhere, nonNegative, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  /** the accumulator's starting value */
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

export class Adagrad extends Optimizer<AdagradOptions> {
  protected readonly hyperNames = {
    lr: 'lr',
    lrDecay: 'lr_decay',
    weightDecay: 'weight_decay',
    initialAccumulatorValue: 'initial_accumulator_value',
    eps: 'eps',
    maximize: 'maximize',
  };

  constructor(params: ParamsInput<AdagradOptions>, o: Partial<AdagradOptions> = {}) {
    // the base checks o's keys against these defaults (did-you-mean) and keeps a default for undefined values
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false }, o);
  }

  protected validate(h: AdagradOptions, where: string): void {
    nonNegative('Adagrad', 'learning rate', h.lr, where);
    nonNegative('Adagrad', 'lr_decay value', h.lrDecay, where);
    nonNegative('Adagrad', 'weight_decay value', h.weightDecay, where);
    nonNegative('Adagrad', 'initial_accumulator_value', h.initialAccumulatorValue, where);
    nonNegative('Adagrad', 'epsilon value', h.eps, where);
    bool(hyperWhere('Adagrad', where), 'maximize', h.maximize);
  }

  protected updateGroup(g: ParamGroup<AdagradOptions>, ps: Tensor[]): void {
    // group by the step count each parameter reaches now (the decayed lr depends on it)
    const bySteps = new Map<number, Tensor[]>();
    for (const p of ps) {
      let s = this.state.get(p);
      if (!s) {
        s = { step: 0, tensors: { sum: keep(ops.fullLike(p, g.initialAccumulatorValue)) } };
        this.state.set(p, s);
      }
      s.step++;
      const l = bySteps.get(s.step);
      if (l) l.push(p);
      else bySteps.set(s.step, [p]);
    }
    for (const [step, list] of bySteps) {
      ops.adagradStep(
        list,
        list.map((p) => p.grad!),
        list.map((p) => this.state.get(p)!.tensors.sum!),
        { clr: g.lr / (1 + (step - 1) * g.lrDecay), eps: g.eps, weightDecay: g.weightDecay, maximize: g.maximize },
      );
    }
  }
}
