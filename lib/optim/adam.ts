// Adam (with L2 weight decay, amsgrad, maximize) — torch.optim.Adam's update, run by the fused
// adamStep kernel (one call per group and (device, dtype), for parameters at the same step count):
//   g = ±grad + wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  v̂max = max(v̂max, v) (amsgrad)
//   p -= lr/(1-β1ᵗ) · m / (√v(max)/√(1-β2ᵗ) + eps)
// AdamW (adamw.ts) is the same kernel with decoupled decay: p *= 1 - lr·wd.

import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { bool, inRange, nonNegative } from '../options.js';
import { Optimizer, hyperWhere, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

export class Adam extends Optimizer<AdamOptions> {
  protected readonly hyperNames = {
    lr: 'lr',
    betas: 'betas',
    eps: 'eps',
    weightDecay: 'weight_decay',
    amsgrad: 'amsgrad',
    maximize: 'maximize',
  };
  /** AdamW sets this: weight decay applied to the parameter, not the gradient */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsInput<AdamOptions>, o: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, o);
  }

  protected validate(h: AdamOptions, where: string): void {
    const w = hyperWhere(this.constructor.name, where);
    nonNegative(w, 'learning rate', h.lr);
    nonNegative(w, 'epsilon value', h.eps);
    nonNegative(w, 'weight_decay value', h.weightDecay);
    if (!Array.isArray(h.betas) || h.betas.length !== 2)
      throw new TypeError(`${w}: betas must be a pair [beta1, beta2], got ${JSON.stringify(h.betas)}`);
    h.betas.forEach((b, i) => inRange(w, `beta parameter at index ${i}:`, b, { min: 0, max: 1, maxOpen: true }));
    bool(w, 'amsgrad', h.amsgrad);
    bool(w, 'maximize', h.maximize);
  }

  protected updateGroup(g: ParamGroup<AdamOptions>, ps: Tensor[]): void {
    const names = g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    // group by the step count each parameter reaches now (all equal unless grads were skipped)
    const bySteps = new Map<number, Tensor[]>();
    for (const p of ps) {
      const s = this.stateOf(p, names);
      s.step++;
      const l = bySteps.get(s.step);
      if (l) l.push(p);
      else bySteps.set(s.step, [p]);
    }
    for (const [step, list] of bySteps) {
      const st = list.map((p) => this.state.get(p)!.tensors);
      ops.adamStep(
        list,
        list.map((p) => p.grad!),
        st.map((s) => s.exp_avg!),
        st.map((s) => s.exp_avg_sq!),
        g.amsgrad ? st.map((s) => s.max_exp_avg_sq!) : null,
        {
          lr: g.lr,
          beta1: g.betas[0],
          beta2: g.betas[1],
          eps: g.eps,
          weightDecay: g.weightDecay,
          decoupled: this.decoupled,
          amsgrad: g.amsgrad,
          maximize: g.maximize,
          step,
        },
      );
    }
  }
}
