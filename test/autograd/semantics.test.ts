// Autograd semantics (PyTorch's): accumulation, retainGraph, errors, noGrad, detach, reuse,
// diamonds, retainGrad, and grads left consistent by a failed backward.
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, noGrad, enableGrad, isGradEnabled, type Tensor } from '../../lib/index.js';
import { record } from '../../lib/autograd/record.js';
import { describeBackends } from '../util/backends.js';

describeBackends('autograd semantics', (ctx) => {
  const leaf = (v: number[]) => ctx.t(v, { dtype: 'float64', requiresGrad: true });

  it('outputs of ops on grad inputs require grad and are not leaves', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      const c = ctx.t([3, 4], { dtype: 'float64' });
      const y = x.mul(c);
      expect(y.requiresGrad).toBe(true);
      expect(y.isLeaf).toBe(false);
      expect(y.gradFn).not.toBeNull();
      expect(c.mul(c).requiresGrad).toBe(false);
      expect(x.isLeaf).toBe(true);
    }));

  it('gradients accumulate across two backward calls; zeroing by hand', () =>
    tidy(() => {
      const x = leaf([1, 2, 3]);
      x.mul(2).sum().backward();
      ctx.close(x.grad!, [2, 2, 2]);
      x.mul(x).sum().backward();
      ctx.close(x.grad!, [4, 6, 8]);
      x.grad!.dispose();
      x.grad = null;
      x.mul(3).sum().backward();
      ctx.close(x.grad!, [3, 3, 3]);
    }));

  it('retainGraph allows a second backward; without it the second fails clearly and changes nothing', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      const y = x.mul(x).sum();
      y.backward(null, { retainGraph: true });
      ctx.close(x.grad!, [2, 4]);
      y.backward();
      ctx.close(x.grad!, [4, 8]);
      expect(() => y.backward()).toThrow(/backward.*second time.*retainGraph/);
      ctx.close(x.grad!, [4, 8]);
      // a new graph that reaches a freed node fails before touching any grad
      const z = leaf([1, 1]);
      const shared = x.mul(z);
      shared.sum().backward();
      ctx.close(z.grad!, [1, 2]);
      const w = z.mul(2).sum().add(shared.sum());
      expect(() => w.backward()).toThrow(/second time/);
      ctx.close(z.grad!, [1, 2]);
    }));

  it('non-scalar backward needs a gradient; with one it works', () =>
    tidy(() => {
      const x = leaf([1, 2, 3]);
      const y = x.mul(2);
      expect(() => y.backward()).toThrow(/backward: grad can be implicitly created only for scalar outputs.*\(3,\)/);
      expect(x.grad).toBeNull();
      expect(() => y.backward(ctx.t([1, 2], { dtype: 'float64' }))).toThrow(/backward: gradient of shape \(2,\).*\(3,\)/);
      y.backward(ctx.t([1, 0.5, -1], { dtype: 'float64' }));
      ctx.close(x.grad!, [2, 1, -2]);
      // a float32 seed for a float64 output is cast
      const x2 = leaf([1]);
      x2.mul(3).backward(ctx.t([2]));
      ctx.close(x2.grad!, [6]);
    }));

  it('backward on a tensor that does not require grad fails', () =>
    tidy(() => {
      const c = ctx.t([1]);
      expect(() => c.sum().backward()).toThrow(/does not require grad/);
    }));

  it('backward on a leaf accumulates the seed', () =>
    tidy(() => {
      const x = ctx.t(3, { dtype: 'float64', requiresGrad: true });
      x.backward();
      ctx.close(x.grad!, 1);
    }));

  it('noGrad records nothing and restores the mode, even after a throw; enableGrad inside', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      const y = noGrad(() => {
        expect(isGradEnabled()).toBe(false);
        return x.mul(2);
      });
      expect(isGradEnabled()).toBe(true);
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(() => y.sum().backward()).toThrow(/does not require grad/);
      expect(() =>
        noGrad(() => {
          throw new Error('inner');
        }),
      ).toThrow('inner');
      expect(isGradEnabled()).toBe(true);
      const z = noGrad(() => enableGrad(() => x.mul(3)));
      expect(z.requiresGrad).toBe(true);
      z.sum().backward();
      ctx.close(x.grad!, [3, 3]);
    }));

  it('detach cuts the graph and shares values', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      const d = x.mul(2).detach();
      expect(d.requiresGrad).toBe(false);
      expect(d.isLeaf).toBe(true);
      ctx.close(d, [2, 4]);
      d.mul(x).sum().backward(); // d is a constant
      ctx.close(x.grad!, [2, 4]);
    }));

  it('a tensor used twice and in a diamond sums its gradients', () =>
    tidy(() => {
      const x = leaf([0.5, -1]);
      x.mul(x).add(x).sum().backward();
      ctx.close(x.grad!, [2, -1]);
      const v = leaf([0.3, 0.7]);
      const a = v.mul(2);
      a.exp().add(a.sin()).sum().backward();
      ctx.close(
        v.grad!,
        [0.3, 0.7].map((t) => 2 * (Math.exp(2 * t) + Math.cos(2 * t))),
      );
      const u = leaf([2]);
      u.add(u).add(u).mul(u).sum().backward(); // 3u²
      ctx.close(u.grad!, [12]);
    }));

  it('retainGrad keeps .grad on a non-leaf; others stay null', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      const a = x.mul(3).retainGrad();
      const b = a.add(1);
      a.mul(a).add(b).sum().backward();
      ctx.close(a.grad!, [7, 13]); // 2a + 1
      expect(b.grad).toBeNull();
      ctx.close(x.grad!, [21, 39]);
    }));

  it('grads of multi-output ops: only the used output flows', () =>
    tidy(() => {
      const x = leaf([0, 1, 2, 3, 4, 5]);
      const [p, q] = x.split(3);
      p!.mul(2).sum().backward();
      ctx.close(x.grad!, [2, 2, 2, 0, 0, 0]);
      void q;
    }));

  it('a backward that fails part-way leaves every .grad as it was', () =>
    tidy(() => {
      const x = leaf([1, 2]);
      x.mul(5).sum().backward();
      ctx.close(x.grad!, [5, 5]);
      const ok = x.mul(2);
      const boom = x.clone();
      record('boom', [boom], [x], () => {
        throw new Error('boom backward');
      });
      expect(() => ok.add(boom).sum().backward()).toThrow('boom backward');
      ctx.close(x.grad!, [5, 5]);
    }));

  it('backward inside tidy keeps leaf grads and frees the rest', () => {
    const before = wg.memory().tensors;
    const x = leaf([1, 2]);
    tidy(() => {
      x.mul(x).sum().backward();
    });
    ctx.close(x.grad!, [2, 4]);
    expect(wg.memory().tensors).toBe(before + 2); // x and x.grad
    x.dispose(); // frees its grad too
    expect(wg.memory().tensors).toBe(before);
  });

  it('the graph and its saved tensors are freed by backward and by disposing outputs', () => {
    const x = leaf([1, 2, 3]);
    const base = wg.memory().tensors;
    const z = tidy(() => x.exp().mul(x).sum());
    expect(wg.memory().tensors).toBeGreaterThan(base + 1); // z and the saved tensors
    z.backward();
    expect(wg.memory().tensors).toBe(base + 2); // z and x.grad: saved tensors released
    z.dispose();
    x.grad!.dispose();
    x.grad = null;
    const z2 = tidy(() => x.exp().mul(x).sum());
    expect(wg.memory().tensors).toBeGreaterThan(base + 1);
    z2.dispose(); // the last reference to the graph: its saved tensors go too
    expect(wg.memory().tensors).toBe(base);
    x.dispose();
  });

  it('requiresGrad only on floats; not clearable on non-leaves', () =>
    tidy(() => {
      expect(() => ctx.t([1], { dtype: 'int32', requiresGrad: true })).toThrow(/only floating point/);
      const x = leaf([1]);
      const y = x.mul(2);
      expect(() => {
        y.requiresGrad = false;
      }).toThrow(/non-leaf/);
      const t: Tensor = ctx.t([1]);
      t.requiresGrad_(true);
      expect(t.requiresGrad).toBe(true);
    }));
});
