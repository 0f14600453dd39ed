import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

const M = [
  [1, 5, 3],
  [4, 2, 6],
];

describeBackends('reduce', (ctx) => {
  it('sum over all, one dim, several dims, keepdim, negative dims', () =>
    tidy(() => {
      const x = ctx.t(M);
      ctx.close(x.sum(), 21);
      ctx.close(x.sum(0), [5, 7, 9]);
      ctx.close(x.sum(1), [9, 12]);
      ctx.close(x.sum(-1), [9, 12]);
      ctx.close(x.sum(-1, true), [[9], [12]]);
      ctx.close(x.sum(0, true), [[5, 7, 9]]);
      ctx.close(x.sum([0, 1]), 21);
      ctx.close(x.sum([0, -1], true), [[21]]);
      ctx.close(x.sum(null, true), [[21]]);
    }));

  it('sum over non-adjacent dims of a 3-D tensor', () =>
    tidy(() => {
      const x = wg.arange(24, undefined, 1, { device: ctx.device, dtype: 'float32' }).reshape(2, 3, 4);
      // x[i][j][k] = 12i + 4j + k
      ctx.close(
        x.sum([0, 2]),
        [0, 1, 2].map((j) => [0, 1].reduce((a, i) => a + [0, 1, 2, 3].reduce((b, k) => b + 12 * i + 4 * j + k, 0), 0)),
      );
      ctx.close(x.sum(-2), [
        [12, 15, 18, 21],
        [48, 51, 54, 57],
      ]);
      ctx.close(x.sum(1, true), [[[12, 15, 18, 21]], [[48, 51, 54, 57]]]);
      ctx.close(x.mean([0, 2], true), [[[7.5], [11.5], [15.5]]]);
    }));

  it('mean', () =>
    tidy(() => {
      const x = ctx.t(M);
      ctx.close(x.mean(), 3.5);
      ctx.close(x.mean(0), [2.5, 3.5, 4.5]);
      ctx.close(x.mean(1, true), [[3], [4]]);
    }));

  it('max/min with and without dim, keepdim, negative dims', () =>
    tidy(() => {
      const x = ctx.t(M);
      ctx.close(x.max(), 6);
      ctx.close(x.min(), 1);
      ctx.close(x.max(1), [5, 6]);
      ctx.close(x.max(0), [4, 5, 6]);
      ctx.close(x.min(-1), [1, 2]);
      ctx.close(x.min(0, true), [[1, 2, 3]]);
      ctx.close(
        ctx
          .t([
            [-3, -1],
            [-7, -2],
          ])
          .max(1),
        [-1, -2],
      );
    }));

  it('argmax/argmin are int32, first index on ties', () =>
    tidy(() => {
      const x = ctx.t(M);
      const a = x.argmax(1);
      expect(a.dtype).toBe('int32');
      expect(a.toArray()).toEqual([1, 2]);
      expect(x.argmax(0).toArray()).toEqual([1, 0, 1]);
      expect(x.argmax().toArray()).toEqual(5);
      expect(x.argmin(1).toArray()).toEqual([0, 1]);
      expect(x.argmax(-1, true).toArray()).toEqual([[1], [2]]);
      expect(x.argmax(null, true).toArray()).toEqual([[5]]);
      expect(ctx.t([3, 1, 3, 0]).argmax().item()).toBe(0);
      expect(ctx.t([3, 1, 3, 1]).argmin().item()).toBe(1);
    }));

  it('var and std (Bessel by default, correction 0), over dims and all', () =>
    tidy(() => {
      const x = ctx.t(M);
      ctx.close(x.var(1), [4, 4]);
      ctx.close(x.std(1), [2, 2]);
      ctx.close(x.var(1, false, 0), [8 / 3, 8 / 3]);
      ctx.close(x.var(), 3.5);
      ctx.close(x.std(0, true), [[Math.sqrt(4.5), Math.sqrt(4.5), Math.sqrt(4.5)]]);
    }));

  it('logsumexp is stable', () =>
    tidy(() => {
      const x = ctx.t(M);
      ctx.close(
        x.logsumexp(1),
        M.map((r) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0))),
      );
      ctx.close(x.logsumexp(0, true), [[0, 1, 2].map((j) => Math.log(Math.exp(M[0]![j]!) + Math.exp(M[1]![j]!)))]);
      ctx.close(ctx.t([1000, 1000]).logsumexp(0), 1000 + Math.log(2));
      ctx.close(ctx.t([-1000, -1000]).logsumexp(-1), -1000 + Math.log(2));
    }));

  it('norm: 2, 1, inf, p', () =>
    tidy(() => {
      const x = ctx.t([
        [1, -5, 3],
        [-4, 2, 6],
      ]);
      ctx.close(x.norm(), Math.sqrt(91));
      ctx.close(x.norm(1, 1), [9, 12]);
      ctx.close(x.norm(Infinity, 1), [5, 6]);
      ctx.close(x.norm(2, 0, true), [[Math.sqrt(17), Math.sqrt(29), Math.sqrt(45)]]);
      ctx.close(x.norm(3, 0), [65 ** (1 / 3), 133 ** (1 / 3), 243 ** (1 / 3)]);
    }));

  it('int32 sum/max/argmax', () =>
    tidy(() => {
      const x = ctx.t(
        [
          [1, 2, 3],
          [4, -5, 6],
        ],
        { dtype: 'int32' },
      );
      const s = x.sum(1);
      // torch sums integers in int64; without int64 the sum is float64 (exact below 2^53)
      expect(s.dtype).toBe('float64');
      expect(s.toArray()).toEqual([6, 5]);
      expect(x.max(0).toArray()).toEqual([4, 2, 6]);
      expect(x.min().item()).toBe(-5);
      expect(x.argmin().item()).toBe(4);
    }));

  it('reduces a 0-d tensor and an empty sum', () =>
    tidy(() => {
      const s = ctx.t(4);
      ctx.close(s.sum(), 4);
      ctx.close(s.max(), 4);
      ctx.close(wg.zeros([0, 3], { device: ctx.device }).sum(0), [0, 0, 0]);
    }));

  it('float64 sums accumulate exactly enough', () =>
    tidy(() => {
      const n = 4097;
      const v = Float64Array.from({ length: n }, (_, i) => 0.1 * ((i % 7) - 3));
      const ref = v.reduce((a, b) => a + b, 0);
      const got = ctx.t(v).sum().item();
      expect(Math.abs(got - ref)).toBeLessThan(1e-10);
    }));
});
