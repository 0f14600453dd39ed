// In-place ops on every backend: each gives exactly what its out-of-place twin gives, writes the
// tensor's own storage (views see it), returns the tensor, and refuses what torch refuses
// (growing the shape by broadcasting, a float result into int32, int32 overflow).
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { manualSeed, noGrad, tidy, type Tensor } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

describeBackends('in-place ops', (ctx) => {
  const A = [
    [1.5, -2, 3.25],
    [0.5, 4, -6],
  ];
  const B = [
    [2, 0.5, -1],
    [3, -0.25, 8],
  ];
  const row = [0.5, -1, 2];
  const fresh = (v: number[][] | number[] = A, dtype: 'float32' | 'float64' | 'int32' = 'float32'): Tensor =>
    ctx.t(v as number[], { dtype });
  const same = (a: Tensor, b: Tensor): void => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));

  it('arithmetic equals the out-of-place op, scalar and tensor (broadcast) operands, float32 and float64', () =>
    tidy(() => {
      for (const dt of ['float32', 'float64'] as const) {
        const b = ctx.t(B, { dtype: dt });
        const r = ctx.t(row, { dtype: dt });
        const cases: [(t: Tensor) => Tensor, (t: Tensor) => Tensor][] = [
          [(t) => t.add_(b), (t) => t.add(b)],
          [(t) => t.add_(b, -0.5), (t) => t.add(b, -0.5)],
          [(t) => t.add_(r), (t) => t.add(r)],
          [(t) => t.add_(2.5), (t) => t.add(2.5)],
          [(t) => t.sub_(b), (t) => t.sub(b)],
          [(t) => t.sub_(r, 3), (t) => t.sub(r, 3)],
          [(t) => t.sub_(0.75), (t) => t.sub(0.75)],
          [(t) => t.mul_(b), (t) => t.mul(b)],
          [(t) => t.mul_(r), (t) => t.mul(r)],
          [(t) => t.mul_(-3), (t) => t.mul(-3)],
          [(t) => t.div_(b), (t) => t.div(b)],
          [(t) => t.div_(3), (t) => t.div(3)],
          [(t) => t.clamp_(-1, 2), (t) => t.clamp(-1, 2)],
          [(t) => t.clamp_(null, 0), (t) => t.clamp(null, 0)],
        ];
        for (const [inplace, outOfPlace] of cases) {
          const t = fresh(A, dt);
          const expected = outOfPlace(t);
          const r2 = inplace(t);
          expect(r2).toBe(t); // returns the tensor itself
          same(t, expected);
        }
      }
    }));

  it('writes the storage: reshape views see the values, clones do not', () =>
    tidy(() => {
      const t = fresh();
      const v = t.reshape(6);
      const c = t.clone();
      t.mul_(2).add_(1);
      ctx.close(v, [4, -3, 7.5, 2, 9, -11]);
      ctx.close(c, A);
      v.zero_();
      ctx.close(t, [
        [0, 0, 0],
        [0, 0, 0],
      ]);
    }));

  it('fill_, zero_, copy_ (broadcast, cast, cross-dtype) and random fills', () =>
    tidy(() => {
      const t = fresh();
      t.fill_(-7.5);
      ctx.close(t, [
        [-7.5, -7.5, -7.5],
        [-7.5, -7.5, -7.5],
      ]);
      t.copy_(ctx.t(row));
      ctx.close(t, [row, row]);
      t.copy_(ctx.t(B, { dtype: 'float64' }));
      ctx.close(t, B);
      const i = fresh([0, 0], 'int32');
      i.copy_(ctx.t([2.7, -2.7])); // float → int truncates, like torch
      expect(i.toArray()).toEqual([2, -2]);
      i.fill_(-3.9);
      expect(i.toArray()).toEqual([-3, -3]);
      i.zero_();
      expect(i.toArray()).toEqual([0, 0]);
      // uniform_/normal_ draw from the same Philox stream as rand/randn
      manualSeed(7);
      const u = fresh().uniform_(-2, 3);
      manualSeed(7);
      same(u, wg.uniform([2, 3], -2, 3, { device: ctx.device }));
      manualSeed(8);
      const n = fresh().normal_(1, 0.5);
      manualSeed(8);
      same(n, wg.normal([2, 3], 1, 0.5, { device: ctx.device }));
    }));

  it('int32 in place: integer arithmetic stays int32, a float result or an overflowing value is refused', () =>
    tidy(() => {
      const i = fresh([1, -2, 3], 'int32');
      i.add_(2)
        .mul_(3)
        .sub_(ctx.t([1, 1, 1], { dtype: 'int32' }))
        .clamp_(0, 10);
      expect(i.dtype).toBe('int32');
      expect(i.toArray()).toEqual([8, 0, 10]);
      expect(() => i.add_(2.5)).toThrow(/add_: the result type float32 can't be cast to the tensor's int32 in place/);
      expect(() => i.div_(2)).toThrow(/div_: the result type float32 can't be cast/);
      expect(() => i.mul_(ctx.t([1, 2, 3]))).toThrow(/mul_: the result type float32 can't be cast/);
      expect(() => i.clamp_(0.5, 2)).toThrow(/clamp_: the result type float32/);
      expect(() => i.fill_(3e9)).toThrow(/fill_: value 3000000000 cannot be converted to type int32 without overflow/);
      expect(() => i.add_(2 ** 31)).toThrow(/add_: value 2147483648 cannot be converted to type int32 without overflow/);
      expect(() => i.uniform_()).toThrow(/uniform_: needs a floating point tensor, got int32/);
      expect(i.toArray()).toEqual([8, 0, 10]); // refused calls wrote nothing
      expect(i.version).toBe(4);
    }));

  it('refuses a broadcast that would grow the tensor, other devices and bad arguments, writing nothing', () =>
    tidy(() => {
      const t = fresh(row);
      expect(() => t.add_(ctx.t(A))).toThrow(/add_: output with shape \(3,\) doesn't match the broadcast shape \(2,3\)/);
      expect(() => t.copy_(ctx.t(A))).toThrow(/copy_: src of shape \(2,3\) cannot be broadcast to the tensor's shape \(3,\)/);
      expect(() => t.mul_('2' as never)).toThrow(/mul_: expected a tensor or a number, got string/);
      expect(() => t.clamp_(2, 1)).toThrow(/clamp_: min 2 is greater than max 1/);
      expect(() => t.uniform_(1, 0)).toThrow(/uniform_: low 1 is greater than high 0/);
      expect(() => t.normal_(0, -1)).toThrow(/normal_: std must be >= 0/);
      expect(() => t.normal_(NaN)).toThrow(/normal_: mean and std must be finite numbers/);
      ctx.close(t, row);
      expect(t.version).toBe(0);
      const d = ctx.t([1]);
      d.dispose();
      expect(() => d.add_(1)).toThrow(/used after dispose/);
    }));

  it('0-d and empty tensors', () =>
    tidy(() => {
      const s = ctx.t(2);
      s.mul_(ctx.t(3)).add_(1);
      expect(s.item()).toBe(7);
      const e = wg.zeros([0, 3], { device: ctx.device });
      e.add_(ctx.t(row)).fill_(1).uniform_();
      expect(e.shape).toEqual([0, 3]);
      expect(e.version).toBe(3);
    }));

  it('in noGrad a write to a leaf that requires grad is allowed (manual SGD step)', () =>
    tidy(() => {
      const w = ctx.t(row).requiresGrad_(true);
      w.mul(ctx.t([1, 2, 3]))
        .sum()
        .backward();
      noGrad(() => w.sub_(w.grad!, 0.1));
      ctx.close(w, [0.4, -1.2, 1.7]);
      expect(w.isLeaf).toBe(true);
    }));
});
