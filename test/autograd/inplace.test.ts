// In-place ops under autograd: gradients equal torch's (fixtures from
// test/fixtures/make_edge_fixtures.py), float64 gradchecks, the version counter refusing a
// backward through a value changed after it was saved (in-place ops, optimizer steps,
// loadStateDict, nn.init), leaf rules, and views sharing history.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { memory, nn, noGrad, optim, tensor, tidy, type Tensor } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';
import { gradcheck } from '../util/gradcheck.js';

type Enc = number | 'inf' | '-inf' | 'nan';
interface Fx {
  shape: number[];
  data: Enc[];
}
interface Case {
  name: string;
  out?: Fx | Fx[];
  error?: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/edge_cases.json', import.meta.url), 'utf8')) as {
  X: number[];
  Z: number[];
  cases: Case[];
};
const byName = new Map(fixture.cases.map((c) => [c.name, c]));
const dec = (v: Enc): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : v);
function fx(name: string): Case {
  const c = byName.get(name);
  if (!c) throw new Error(`fixture case ${name} missing: run test/fixtures/make_edge_fixtures.py`);
  return c;
}
function grads(name: string): number[][] {
  const c = fx(name);
  if (!Array.isArray(c.out)) throw new Error(`${name}: expected gradients, torch said ${c.error}`);
  return c.out.map((g) => g.data.map(dec));
}
const VERSION_ERR = /one of the variables needed for gradient computation has been modified by an in-place operation/;

describeBackends('in-place autograd', (ctx) => {
  const f64 = { dtype: 'float64' as const, device: ctx.device };
  const leaf = (v: number[]): Tensor => tensor(v, { ...f64, requiresGrad: true });
  const X = fixture.X;
  const Z = fixture.Z;
  const close = (t: Tensor | null, expected: number[]): void => {
    expect(t, 'grad').not.toBeNull();
    ctx.close(t!, expected, { rtol: 1e-9, atol: 1e-9 });
  };

  it('gradients of in-place arithmetic match torch', () =>
    tidy(() => {
      {
        const x = leaf(X);
        const y = x.mul(2);
        y.add_(1);
        y.mul(y).sum().backward();
        close(x.grad, grads('inplace_add')[0]!);
      }
      {
        const x = leaf(X);
        const z = leaf(Z);
        const y = x.mul(2);
        y.mul_(z);
        y.mul(y).sum().backward();
        const [gx, gz] = grads('inplace_mul_tensor');
        close(x.grad, gx!);
        close(z.grad, gz!);
      }
      {
        const x = leaf(X);
        const z = leaf(Z);
        const y = x.mul(2);
        y.div_(z);
        y.mul(y).sum().backward();
        const [gx, gz] = grads('inplace_div_tensor');
        close(x.grad, gx!);
        close(z.grad, gz!);
      }
      {
        const x = leaf(X);
        const z = leaf(Z);
        const y = x.exp().mul(1);
        y.sub_(z, 3);
        y.mul(y).sum().backward();
        const [gx, gz] = grads('inplace_sub_alpha');
        close(x.grad, gx!);
        close(z.grad, gz!);
      }
      {
        const x = leaf(X);
        const y = x.mul(2);
        y.clamp_(-1, 4);
        y.mul(y).sum().backward();
        close(x.grad, grads('inplace_clamp')[0]!);
      }
    }));

  it('overwrites (zero_, fill_, copy_, uniform_) give the old history a zero gradient and route copy_ to its source', () =>
    tidy(() => {
      {
        const x = leaf(X);
        const y = x.mul(2);
        expect(y.zero_()).toBe(y);
        y.add(x).sum().backward();
        close(x.grad, grads('inplace_zero')[0]!);
      }
      {
        const x = leaf(X);
        const s = leaf([2]);
        const y = x.mul(2);
        y.copy_(s);
        ctx.close(y, [2, 2, 2]);
        y.mul(x).sum().backward();
        const [gx, gs] = grads('inplace_copy_broadcast');
        close(x.grad, gx!);
        close(s.grad, gs!);
      }
      {
        const x = leaf(X);
        const y = x.mul(2);
        y.fill_(5).uniform_(-1, 1);
        y.sum().backward();
        close(x.grad, [0, 0, 0]);
      }
    }));

  it('a reshape view and its base share the in-place history', () =>
    tidy(() => {
      {
        const x = leaf(X);
        const y = x.mul(2);
        const v = y.view(3, 1);
        y.mul_(3);
        ctx.close(v, [[6], [-12], [18]]);
        v.mul(v).sum().backward();
        close(x.grad, grads('inplace_base_then_view')[0]!);
      }
      {
        const x = leaf(X);
        const y = x.mul(2);
        const v = y.view(3, 1);
        v.mul_(3);
        ctx.close(y, [6, -12, 18]);
        y.mul(y).sum().backward();
        close(x.grad, grads('inplace_view_then_base')[0]!);
      }
      {
        // a sibling view (another reshape of the same base) follows too; grad = 2·3 per element
        const x = leaf(X);
        const y = x.mul(2);
        const v1 = y.view(3, 1);
        const v2 = y.view(1, 3);
        v1.mul_(3);
        ctx.close(v2, [[6, -12, 18]]);
        v2.sum().backward();
        close(x.grad, [6, 6, 6]);
      }
    }));

  it('a tensor that needs no grad takes the history of what is written into it', () =>
    tidy(() => {
      const w = leaf(Z);
      const b = wg.zeros([3], f64);
      b.add_(w);
      b.mul_(2);
      expect(b.requiresGrad).toBe(true);
      expect(b.isLeaf).toBe(false);
      b.mul(b).sum().backward();
      close(w.grad, grads('inplace_buffer_takes_grad')[0]!);
    }));

  it('gradcheck (float64) of every in-place op on a non-leaf', () =>
    tidy(() => {
      wg.manualSeed(3);
      const a = wg.randn([2, 3], f64).requiresGrad_(true);
      const b = tidy(() => wg.rand([2, 3], f64).add(0.5)).requiresGrad_(true);
      const row = wg.randn([3], f64).requiresGrad_(true);
      const fns: ((a: Tensor, b: Tensor, r: Tensor) => Tensor)[] = [
        (a, b) => a.mul(1.5).add_(b, 0.7),
        (a, b) => a.mul(1.5).sub_(b, 2),
        (a, _b, r) => a.exp().mul(1).add_(r), // broadcast operand
        (a, b) => a.mul(1.5).mul_(b),
        (a, b) => a.sin().mul(1).div_(b),
        (a) => a.mul(1).add_(0.25).mul_(-3).div_(7).sub_(1),
        (a) => a.mul(1).clamp_(-0.4, 0.5),
        (a, b) => a.mul(1).copy_(b).mul(a),
        (a, _b, r) => a.mul(1).copy_(r).mul(a), // broadcast source
        (a, b) => a.tanh().mul(1).fill_(2).mul(b),
        (a, b) => {
          const y = a.mul(1);
          const v = y.reshape(3, 2);
          v.mul_(b.reshape(3, 2));
          return y.mul(y);
        },
      ];
      for (const f of fns) {
        const r = gradcheck(f, [a, b, row], ctx.name === 'cuda' ? { atol: 1e-4, rtol: 1e-3 } : {});
        expect(r.checked).toBeGreaterThan(0);
      }
    }));

  it('backward refuses values changed after they were saved, like torch', () =>
    tidy(() => {
      // exp saved its output; add_ changed it
      expect(fx('inplace_saved_output').error).toMatch(/modified by an inplace operation/);
      {
        const x = leaf(X);
        const y = x.exp();
        y.add_(1);
        const loss = y.sum();
        expect(() => loss.backward()).toThrow(VERSION_ERR);
        expect(() => loss.backward()).toThrow(
          /exp's saved tensor 0 \(\(3,\) float64\) is at version 1, last modified by add_; expected version 0/,
        );
        expect(x.grad).toBeNull(); // a refused backward changes no .grad
      }
      // mul saved its other factor; add_ on it (a tensor that needs no grad) changed it
      expect(fx('inplace_saved_input').error).toMatch(/modified by an inplace operation/);
      {
        const a = leaf(X);
        const b = tensor(Z, f64);
        const y = a.mul(b);
        b.add_(1);
        expect(() => y.sum().backward()).toThrow(VERSION_ERR);
      }
      // y.mul_(y): mul saved y itself as the other factor
      expect(fx('inplace_mul_self').error).toMatch(/modified by an inplace operation/);
      {
        const x = leaf(X);
        const y = x.mul(2);
        y.mul_(y);
        expect(() => y.sum().backward()).toThrow(VERSION_ERR);
      }
      // a write through detach() shares the version counter
      {
        const x = leaf(X);
        const s = x.sigmoid();
        s.detach().mul_(2);
        expect(() => s.sum().backward()).toThrow(/sigmoid's saved tensor/);
      }
    }));

  it('refuses in-place writes to leaves that require grad (and their views) while grad mode is on', () =>
    tidy(() => {
      expect(fx('inplace_leaf').error).toMatch(/leaf Variable that requires grad/);
      const p = leaf(X);
      for (const f of [
        (t: Tensor) => t.add_(1),
        (t: Tensor) => t.zero_(),
        (t: Tensor) => t.copy_(tensor(Z, f64)),
        (t: Tensor) => t.normal_(),
        (t: Tensor) => t.clamp_(0),
      ]) {
        expect(() => f(p)).toThrow(
          /a leaf tensor that requires grad \(\(3,\) float64\) is being used in an in-place operation; write it inside noGrad/,
        );
      }
      const v = p.reshape(3, 1);
      expect(() => v.mul_(2)).toThrow(/a view of a leaf tensor that requires grad/);
      ctx.close(p, X); // nothing was written
      expect(p.version).toBe(0);
      // inside noGrad it is allowed (manual SGD), and the version moves
      noGrad(() => p.sub_(tensor([1, 1, 1], f64), 0.5));
      ctx.close(
        p,
        X.map((v) => v - 0.5),
      );
      expect(p.version).toBe(1);
      expect(p.isLeaf).toBe(true);
    }));

  it('optimizer.step() between forward and backward raises at backward when the parameter was saved (torch agrees)', () =>
    tidy(() => {
      expect(fx('second_layer_changed_before_backward').error).toMatch(/modified by an inplace operation/);
      const build = () => {
        const l1 = new nn.Linear(3, 4, { dtype: 'float64', device: ctx.device });
        const l2 = new nn.Linear(4, 1, { dtype: 'float64', device: ctx.device });
        noGrad(() => {
          l1.weight.copy_(wg.arange(12, undefined, 1, f64).reshape(4, 3).div(10).sub(0.5));
          l1.bias!.fill_(0.1);
          l2.weight.copy_(tensor([[0.3, -0.2, 0.1, 0.4]], f64));
          l2.bias!.fill_(-0.1);
        });
        return [l1, l2] as const;
      };
      const input = tensor([X], f64);
      {
        const [l1, l2] = build();
        const loss = l2.forward(l1.forward(input).tanh()).sum();
        const opt = new optim.SGD(l2.parameters(), { lr: 0.1 });
        for (const p of l2.parameters()) p.grad = wg.onesLike(p).keep();
        opt.step();
        expect(() => loss.backward()).toThrow(
          /linear's saved tensor \d \(\(1,4\) float64\) is at version \d+, last modified by sgdStep \(optimizer step\)/,
        );
        l1.dispose();
        l2.dispose();
      }
      {
        // the first layer's weight is saved by nothing (its input needs no grad): torch gives grads, so do we
        const [l1, l2] = build();
        const loss = l2.forward(l1.forward(input).tanh()).sum();
        noGrad(() => l1.weight.add_(1));
        loss.backward();
        const [g1, g2] = grads('first_layer_changed_before_backward');
        close(l1.weight.grad!.reshape(12), g1!);
        close(l2.weight.grad!.reshape(4), g2!);
        l1.dispose();
        l2.dispose();
      }
      {
        // loadStateDict and nn.init between forward and backward
        const [l1, l2] = build();
        const loss = l2.forward(l1.forward(input).tanh()).sum();
        l2.loadStateDict(l2.stateDict());
        expect(() => loss.backward()).toThrow(/last modified by loadStateDict\(weight\)/);
        const loss2 = l2.forward(l1.forward(input).tanh()).sum();
        nn.init.normal_(l2.weight);
        expect(() => loss2.backward()).toThrow(VERSION_ERR);
        l1.dispose();
        l2.dispose();
      }
    }));

  it('retainGraph, then an optimizer step: the second backward is refused', () =>
    tidy(() => {
      const w = leaf([0.5, -0.25]);
      const x = tensor([1, 2], f64).requiresGrad_(true);
      const loss = x.mul(w).sum().mul(x.sum());
      expect(() => loss.backward({ retainGraph: true } as never)).toThrow(
        /backward: grad must be a tensor of shape \(\) or null, got a plain object \(options go second: backward\(null, \{ retainGraph: true \}\)\)/,
      );
      loss.backward(null, { retainGraph: true });
      const opt = new optim.SGD([w], { lr: 0.01 });
      opt.step();
      expect(() => loss.backward()).toThrow(/mul's saved tensor .* last modified by sgdStep \(optimizer step\)/);
    }));

  it('in-place ops leak nothing and free their graphs', () => {
    const before = memory().tensors;
    tidy(() => {
      const x = leaf(X);
      const y = x.mul(2);
      const v = y.view(3, 1);
      y.add_(1).mul_(tensor(Z, f64)).clamp_(-5, 5);
      v.sum().backward();
    });
    expect(memory().tensors).toBe(before);
  });
});

describe('version counter', () => {
  it('moves with every in-place write, is shared by views and detach(), and not by clones', () =>
    tidy(() => {
      const t = wg.zeros([2, 2]);
      const v = t.reshape(4);
      const d = t.detach();
      const c = t.clone();
      expect([t.version, v.version, d.version]).toEqual([0, 0, 0]);
      t.add_(1);
      v.mul_(2);
      d.fill_(3);
      t.zero_();
      expect([t.version, v.version, d.version, c.version]).toEqual([4, 4, 4, 0]);
      noGrad(() => nn.init.uniform_(t));
      expect(t.version).toBe(5);
    }));

  it("a training batchNorm moves its running statistics' version once per forward; eval does not", () =>
    tidy(() => {
      const bn = new nn.BatchNorm1d(2);
      const v0 = bn.running_mean!.version;
      bn.forward(
        tensor([
          [1, 2],
          [3, 5],
        ]),
      ).dispose();
      bn.forward(
        tensor([
          [0, 1],
          [2, 2],
        ]),
      ).dispose();
      expect(bn.running_mean!.version).toBe(v0 + 2);
      expect(bn.running_var!.version).toBe(v0 + 2);
      bn.eval();
      bn.forward(
        tensor([
          [1, 2],
          [3, 5],
        ]),
      ).dispose();
      expect(bn.running_mean!.version).toBe(v0 + 2);
      bn.dispose();
    }));
});
