// SGD / Adam / AdamW against torch.optim (test/fixtures/optim.json, 3 steps, params and state after
// each), hyper-parameter validation, param groups, null grads, stateDict round trips, and the
// one-kernel-per-group rule.
import { describe, expect, it } from 'vitest';
import { costDelta, costSnapshot, memory, tensor, tidy, type Tensor } from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import * as nn from '../../lib/nn/index.js';
import { loadFixture, type OptimCase } from '../util/fixtures.js';
import { close, ft, near } from '../nn/helpers.js';

function make(c: OptimCase, params: Tensor[]): optim.SGD | optim.Adam | optim.RMSprop | optim.Adagrad {
  const p = c.params;
  if (p.optimizer === 'SGD') {
    return new optim.SGD(params, {
      lr: p.lr,
      momentum: p.momentum,
      dampening: p.dampening,
      nesterov: p.nesterov,
      weightDecay: p.weight_decay,
      maximize: p.maximize,
    });
  }
  if (p.optimizer === 'RMSprop') {
    return new optim.RMSprop(params, {
      lr: p.lr,
      alpha: p.alpha,
      eps: p.eps,
      weightDecay: p.weight_decay,
      momentum: p.momentum,
      centered: p.centered,
      maximize: p.maximize,
    });
  }
  if (p.optimizer === 'Adagrad') {
    return new optim.Adagrad(params, {
      lr: p.lr,
      lrDecay: p.lr_decay,
      weightDecay: p.weight_decay,
      initialAccumulatorValue: p.initial_accumulator_value,
      eps: p.eps,
      maximize: p.maximize,
    });
  }
  const o = { lr: p.lr, betas: p.betas, eps: p.eps, weightDecay: p.weight_decay, amsgrad: p.amsgrad, maximize: p.maximize };
  return p.optimizer === 'Adam' ? new optim.Adam(params, o) : new optim.AdamW(params, o);
}

const STATE_KEYS = ['momentum_buffer', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'square_avg', 'grad_avg', 'sum'] as const;

describe('optimizers vs torch.optim fixture', () => {
  for (const c of loadFixture('optim').cases) {
    it(c.name, () => {
      const before = memory().tensors;
      tidy(() => {
        const params = c.tensors.params0.map((t) => nn.Parameter.from(ft(t)));
        const opt = make(c, params);
        c.steps.forEach((s, k) => {
          params.forEach((p, i) => (p.grad = ft(c.tensors.grads[k]![i]!).keep()));
          opt.step();
          opt.zeroGrad();
          params.forEach((p, i) => close(`step ${k + 1} param ${i}`, p, s.params[i]!, 1e-10));
          for (const key of STATE_KEYS) {
            const exp = s[key];
            if (!exp) continue;
            params.forEach((p, i) => close(`step ${k + 1} ${key} ${i}`, opt.state.get(p)!.tensors[key], exp[i]!, 1e-10));
          }
        });
        opt.dispose();
        for (const p of params) p.dispose();
      });
      expect(memory().tensors).toBe(before);
    });
  }

  it('a stateDict round trip continues exactly like the original (Adam amsgrad)', () =>
    tidy(() => {
      const c = loadFixture('optim').cases.find((x) => x.name === 'adam_amsgrad_wd')!;
      const pa = c.tensors.params0.map((t) => nn.Parameter.from(ft(t)));
      const a = make(c, pa);
      pa.forEach((p, i) => (p.grad = ft(c.tensors.grads[0]![i]!).keep()));
      a.step();
      const sd = a.stateDict();
      expect(Object.keys(sd.state)).toEqual(['0', '1']);
      expect(sd.state['0']!.step).toBe(1);
      expect(Object.keys(sd.state['0']!).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
      expect(sd.param_groups[0]).toMatchObject({
        params: [0, 1],
        lr: 0.01,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weight_decay: 0.05,
        amsgrad: true,
        maximize: false,
      });
      // a fresh optimizer on copies of the params, loaded from the state dict
      const pb = pa.map((p) => nn.Parameter.from(p.clone()));
      const b = make(c, pb);
      b.loadStateDict(sd);
      for (const [pp, oo] of [
        [pa, a],
        [pb, b],
      ] as const) {
        pp.forEach((p, i) => (p.grad = ft(c.tensors.grads[1]![i]!).keep()));
        oo.step();
      }
      pb.forEach((p, i) => close(`param ${i}`, p, { shape: [...pa[i]!.shape], data: Array.from(pa[i]!.dataSync()) }, 1e-14));
      pb.forEach((p, i) => close(`param ${i} vs torch`, p, c.steps[1]!.params[i]!, 1e-10));
      a.dispose();
      b.dispose();
    }));

  for (const name of ['rmsprop_centered_momentum_wd_maximize', 'adagrad_lr_decay_wd']) {
    it(`a stateDict round trip continues exactly like torch (${name})`, () =>
      tidy(() => {
        const c = loadFixture('optim').cases.find((x) => x.name === name)!;
        const pa = c.tensors.params0.map((t) => nn.Parameter.from(ft(t)));
        const a = make(c, pa);
        pa.forEach((p, i) => (p.grad = ft(c.tensors.grads[0]![i]!).keep()));
        a.step();
        const sd = a.stateDict();
        const keys = c.params.optimizer === 'RMSprop' ? ['grad_avg', 'momentum_buffer', 'square_avg', 'step'] : ['step', 'sum'];
        expect(Object.keys(sd.state['1']!).sort()).toEqual(keys);
        if (c.params.optimizer === 'RMSprop')
          expect(sd.param_groups[0]).toMatchObject({ alpha: 0.99, momentum: 0.5, centered: true, weight_decay: 0.1, maximize: true });
        else expect(sd.param_groups[0]).toMatchObject({ lr_decay: 0.1, weight_decay: 0.05, initial_accumulator_value: 0, eps: 1e-10 });
        const pb = pa.map((p) => nn.Parameter.from(p.clone()));
        const b = make(c, pb);
        b.loadStateDict(sd);
        for (let k = 1; k < 3; k++) {
          pb.forEach((p, i) => (p.grad = ft(c.tensors.grads[k]![i]!).keep()));
          b.step();
          b.zeroGrad();
          pb.forEach((p, i) => close(`step ${k + 1} param ${i} vs torch`, p, c.steps[k]!.params[i]!, 1e-10));
        }
        a.dispose();
        b.dispose();
      }));
  }

  it('SGD momentum stateDict round trip restores buffers and hyper-parameters', () =>
    tidy(() => {
      const p = nn.Parameter.from(tensor([1, 2, 3], { dtype: 'float64' }));
      const o = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
      p.grad = tensor([1, 1, 1], { dtype: 'float64' }).keep();
      o.step();
      const sd = o.stateDict();
      expect(sd.param_groups[0]).toMatchObject({
        lr: 0.1,
        momentum: 0.9,
        dampening: 0,
        weight_decay: 0,
        nesterov: false,
        maximize: false,
        params: [0],
      });
      const o2 = new optim.SGD([p], { lr: 0.5 });
      o2.loadStateDict(sd);
      expect(o2.paramGroups[0]!.lr).toBe(0.1);
      expect(o2.paramGroups[0]!.momentum).toBe(0.9);
      near(o2.state.get(p)!.tensors.momentum_buffer!, [1, 1, 1]);
      o.dispose();
      o2.dispose();
    }));
});

describe('optimizer behaviour', () => {
  it('validates hyper-parameters with clear errors', () =>
    tidy(() => {
      const p = [nn.Parameter.from(tensor([1, 2]))];
      expect(() => new optim.SGD(p, { lr: -1 })).toThrow(/SGD: invalid learning rate -1/);
      expect(() => new optim.SGD(p, { lr: 0.1, momentum: -0.5 })).toThrow(/momentum/);
      expect(() => new optim.SGD(p, { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
      expect(() => new optim.SGD(p, { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/zero dampening/);
      expect(() => new optim.SGD(p, { weightDecay: -1 })).toThrow(/weight_decay/);
      expect(() => new optim.Adam(p, { betas: [1, 0.999] })).toThrow(/invalid beta parameter at index 0: 1/);
      expect(() => new optim.Adam(p, { betas: [0.9, -0.1] })).toThrow(/index 1/);
      expect(() => new optim.Adam(p, { eps: -1e-8 })).toThrow(/epsilon/);
      expect(() => new optim.AdamW(p, { weightDecay: -0.1 })).toThrow(/AdamW: invalid weight_decay/);
      expect(() => new optim.Adam([])).toThrow(/empty parameter list/);
      expect(() => new optim.SGD([{ params: p }, { params: p }])).toThrow(/more than one parameter group/);
      expect(new optim.AdamW(p).paramGroups[0]!.weightDecay).toBe(0.01);
      expect(() => new optim.RMSprop(p, { alpha: -0.1 })).toThrow(/RMSprop: invalid alpha value -0.1/);
      expect(() => new optim.RMSprop(p, { momentum: -1 })).toThrow(/RMSprop: invalid momentum/);
      expect(() => new optim.Adagrad(p, { lrDecay: -1 })).toThrow(/Adagrad: invalid lr_decay value -1/);
      expect(() => new optim.Adagrad(p, { initialAccumulatorValue: -1 })).toThrow(/initial_accumulator_value/);
      expect(new optim.RMSprop(p).paramGroups[0]).toMatchObject({ lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false });
      expect(new optim.Adagrad(p).paramGroups[0]).toMatchObject({ lr: 0.01, lrDecay: 0, eps: 1e-10, initialAccumulatorValue: 0 });
      p[0]!.dispose();
    }));

  it('param groups override defaults; params with null grads are skipped', () =>
    tidy(() => {
      const a = nn.Parameter.from(tensor([1, 1], { dtype: 'float64' }));
      const b = nn.Parameter.from(tensor([1, 1], { dtype: 'float64' }));
      const c = nn.Parameter.from(tensor([5], { dtype: 'float64' }));
      const o = new optim.SGD([{ params: [a, c] }, { params: [b], lr: 1 }], { lr: 0.1 });
      a.grad = tensor([1, 2], { dtype: 'float64' }).keep();
      b.grad = tensor([1, 2], { dtype: 'float64' }).keep();
      o.step();
      near(a, [0.9, 0.8], 1e-12);
      near(b, [0, -1], 1e-12);
      near(c, [5]);
      expect(o.getLr()).toEqual([0.1, 1]);
      o.zeroGrad();
      expect(a.grad).toBeNull();
      for (const t of [a, b, c]) t.dispose();
    }));

  it('runs one fused kernel per parameter group', () =>
    tidy(() => {
      const m = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
      const x = tensor([[1, 2, 3]]);
      for (const [name, mk, kernel] of [
        ['SGD', () => new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }), 'sgdStep'],
        ['Adam', () => new optim.Adam(m.parameters()), 'adamStep'],
        ['AdamW', () => new optim.AdamW(m.parameters(), { amsgrad: true }), 'adamStep'],
        ['RMSprop', () => new optim.RMSprop(m.parameters(), { momentum: 0.9, centered: true }), 'rmspropStep'],
        ['Adagrad', () => new optim.Adagrad(m.parameters(), { lrDecay: 0.1 }), 'adagradStep'],
      ] as const) {
        const o = mk();
        for (let s = 0; s < 2; s++) {
          m.forward(x).sum().backward();
          const c0 = costSnapshot();
          o.step();
          const d = costDelta(c0, costSnapshot());
          // the first SGD momentum step allocates its buffers (fill); afterwards only the step kernel
          if (s === 1) expect(Object.keys(d.byKernel), name).toEqual([kernel]);
          expect(d.byKernel[kernel]!.calls, name).toBe(1);
          o.zeroGrad();
        }
        o.dispose();
      }
      m.dispose();
    }));
});
