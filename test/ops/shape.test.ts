import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, type Tensor } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

describeBackends('shape', (ctx) => {
  /** x[i][j][k] = 12i + 4j + k, shape (2, 3, 4) */
  const a3 = (): Tensor => wg.arange(24, undefined, 1, { device: ctx.device, dtype: 'float32' }).reshape([2, 3, 4]);
  const val = (i: number, j: number, k: number) => 12 * i + 4 * j + k;

  it('reshape/view with -1, flatten, squeeze, unsqueeze', () =>
    tidy(() => {
      const x = a3();
      expect(x.reshape(6, -1).shape).toEqual([6, 4]);
      expect(x.view([-1]).shape).toEqual([24]);
      expect(x.reshape(4, 6).toArray()).toEqual(Array.from({ length: 4 }, (_, r) => Array.from({ length: 6 }, (_, c) => r * 6 + c)));
      expect(x.flatten().shape).toEqual([24]);
      expect(x.flatten(1).shape).toEqual([2, 12]);
      expect(x.flatten(0, 1).shape).toEqual([6, 4]);
      const y = ctx.t([[[1], [2]]]); // (1, 2, 1)
      expect(y.squeeze().shape).toEqual([2]);
      expect(y.squeeze(0).shape).toEqual([2, 1]);
      expect(y.squeeze(-1).shape).toEqual([1, 2]);
      expect(y.squeeze(1).shape).toEqual([1, 2, 1]); // size 2: unchanged
      expect(ctx.t([1, 2]).unsqueeze(0).shape).toEqual([1, 2]);
      expect(ctx.t([1, 2]).unsqueeze(-1).shape).toEqual([2, 1]);
      expect(ctx.t([1, 2]).unsqueeze(1).toArray()).toEqual([[1], [2]]);
      expect(ctx.t(5).unsqueeze(0).shape).toEqual([1]);
    }));

  it('transpose, permute, T', () =>
    tidy(() => {
      const x = a3();
      const p = x.permute(2, 0, 1);
      expect(p.shape).toEqual([4, 2, 3]);
      expect(p.toArray()).toEqual([0, 1, 2, 3].map((k) => [0, 1].map((i) => [0, 1, 2].map((j) => val(i, j, k)))));
      const t = x.transpose(0, 2);
      expect(t.shape).toEqual([4, 3, 2]);
      expect(t.toArray()).toEqual([0, 1, 2, 3].map((k) => [0, 1, 2].map((j) => [0, 1].map((i) => val(i, j, k)))));
      expect(x.transpose(-1, -2).shape).toEqual([2, 4, 3]);
      expect(x.T.shape).toEqual([4, 3, 2]);
      expect(
        ctx
          .t([
            [1, 2, 3],
            [4, 5, 6],
          ])
          .t()
          .toArray(),
      ).toEqual([
        [1, 4],
        [2, 5],
        [3, 6],
      ]);
      expect(x.permute([0, 1, 2]).toArray()).toEqual(x.toArray());
    }));

  it('expand and broadcastTo', () =>
    tidy(() => {
      ctx.close(ctx.t([[1], [2]]).expand(2, 3), [
        [1, 1, 1],
        [2, 2, 2],
      ]);
      ctx.close(ctx.t([1, 2, 3]).expand([2, -1]), [
        [1, 2, 3],
        [1, 2, 3],
      ]);
      ctx.close(ctx.t(7).expand([2]), [7, 7]);
      ctx.close(ctx.t([[1, 2]]).broadcastTo([2, 2, 2]), [
        [
          [1, 2],
          [1, 2],
        ],
        [
          [1, 2],
          [1, 2],
        ],
      ]);
    }));

  it('cat along dims (negative too) and the static form', () =>
    tidy(() => {
      const a = ctx.t([
        [1, 2],
        [3, 4],
      ]);
      const b = ctx.t([[5, 6]]);
      ctx.close(wg.cat([a, b]), [
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      ctx.close(wg.cat([a, ctx.t([[7], [8]])], 1), [
        [1, 2, 7],
        [3, 4, 8],
      ]);
      ctx.close(wg.cat([a, ctx.t([[7], [8]]), a], -1), [
        [1, 2, 7, 1, 2],
        [3, 4, 8, 3, 4],
      ]);
      ctx.close(wg.cat([a]), [
        [1, 2],
        [3, 4],
      ]);
      ctx.close(wg.cat([ctx.t([]), ctx.t([1, 2])]), [1, 2]);
      const c = wg.cat([ctx.t([1, 2], { dtype: 'int32' }), ctx.t([3], { dtype: 'int32' })]);
      expect(c.dtype).toBe('int32');
      expect(c.toArray()).toEqual([1, 2, 3]);
    }));

  it('stack along a new dim', () =>
    tidy(() => {
      const a = ctx.t([1, 2]);
      const b = ctx.t([3, 4]);
      ctx.close(wg.stack([a, b]), [
        [1, 2],
        [3, 4],
      ]);
      ctx.close(wg.stack([a, b], 1), [
        [1, 3],
        [2, 4],
      ]);
      ctx.close(wg.stack([a, b], -1), [
        [1, 3],
        [2, 4],
      ]);
      ctx.close(wg.stack([ctx.t(1), ctx.t(2)]), [1, 2]);
    }));

  it('slice (step, negative bounds), narrow, select', () =>
    tidy(() => {
      const r = ctx.t([0, 1, 2, 3, 4]);
      ctx.close(r.slice(0, 0, 5, 2), [0, 2, 4]);
      ctx.close(r.slice(0, -2), [3, 4]);
      ctx.close(r.slice(0, 1, -1), [1, 2, 3]);
      ctx.close(r.slice(0, 3, 1), []);
      ctx.close(r.slice(0, 0, 100), [0, 1, 2, 3, 4]);
      const x = a3();
      expect(x.slice(1, 1, 3).toArray()).toEqual([0, 1].map((i) => [1, 2].map((j) => [0, 1, 2, 3].map((k) => val(i, j, k)))));
      expect(x.slice(-1, 1, 4, 2).toArray()).toEqual([0, 1].map((i) => [0, 1, 2].map((j) => [1, 3].map((k) => val(i, j, k)))));
      expect(x.narrow(2, 1, 2).shape).toEqual([2, 3, 2]);
      expect(x.select(0, 1).toArray()).toEqual([0, 1, 2].map((j) => [0, 1, 2, 3].map((k) => val(1, j, k))));
      expect(x.select(1, -1).toArray()).toEqual([0, 1].map((i) => [0, 1, 2, 3].map((k) => val(i, 2, k))));
      expect(r.select(0, 2).toArray()).toEqual(2);
    }));

  it('split and chunk', () =>
    tidy(() => {
      const r = ctx.t([0, 1, 2, 3, 4]);
      expect(r.split(2).map((t) => t.toArray())).toEqual([[0, 1], [2, 3], [4]]);
      expect(r.split([1, 4]).map((t) => t.toArray())).toEqual([[0], [1, 2, 3, 4]]);
      expect(r.chunk(3).map((t) => t.toArray())).toEqual([[0, 1], [2, 3], [4]]);
      expect(r.chunk(5).length).toBe(5);
      const m = ctx.t([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]);
      expect(m.chunk(2, 1).map((t) => t.toArray())).toEqual([
        [
          [1, 2],
          [5, 6],
        ],
        [
          [3, 4],
          [7, 8],
        ],
      ]);
      expect(wg.split(m, 1, 0).map((t) => t.shape)).toEqual([
        [1, 4],
        [1, 4],
      ]);
    }));

  it('indexSelect along dims, repeated indices', () =>
    tidy(() => {
      const x = ctx.t([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const i = ctx.t([2, 0, 2], { dtype: 'int32' });
      ctx.close(x.indexSelect(0, i), [
        [5, 6],
        [1, 2],
        [5, 6],
      ]);
      ctx.close(x.indexSelect(1, ctx.t([1], { dtype: 'int32' })), [[2], [4], [6]]);
      ctx.close(x.indexSelect(-1, ctx.t([1, 0], { dtype: 'int32' })), [
        [2, 1],
        [4, 3],
        [6, 5],
      ]);
    }));

  it('gather (torch docs example) along dim 1 and 0', () =>
    tidy(() => {
      const x = ctx.t([
        [1, 2],
        [3, 4],
      ]);
      ctx.close(
        x.gather(
          1,
          ctx.t(
            [
              [0, 0],
              [1, 0],
            ],
            { dtype: 'int32' },
          ),
        ),
        [
          [1, 1],
          [4, 3],
        ],
      );
      ctx.close(
        x.gather(
          0,
          ctx.t(
            [
              [1, 0],
              [0, 0],
            ],
            { dtype: 'int32' },
          ),
        ),
        [
          [3, 2],
          [1, 2],
        ],
      );
      ctx.close(x.gather(1, ctx.t([[1], [0]], { dtype: 'int32' })), [[2], [3]]);
    }));

  it('views share storage and outlive the original', () =>
    tidy(() => {
      const x = ctx.t([1, 2, 3, 4]);
      const v = x.reshape(2, 2);
      x.dispose();
      expect(v.toArray()).toEqual([
        [1, 2],
        [3, 4],
      ]);
    }));
});
