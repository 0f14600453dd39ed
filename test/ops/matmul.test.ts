import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, type Tensor } from '../../lib/index.js';
import { describeBackends, assertClose } from '../util/backends.js';

/** Reference torch.matmul for ≥2-D operands via broadcasting of batch dims. */
function refMatmul(a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[]): { shape: number[]; v: number[] } {
  const [m, k] = as.slice(-2) as [number, number];
  const n = bs[bs.length - 1]!;
  const ab = as.slice(0, -2),
    bb = bs.slice(0, -2);
  const nd = Math.max(ab.length, bb.length);
  const pa = [...Array(nd - ab.length).fill(1), ...ab],
    pb = [...Array(nd - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const total = batch.reduce((p, d) => p * d, 1);
  const v: number[] = [];
  for (let t = 0; t < total; t++) {
    let rem = t,
      ia = 0,
      ib = 0,
      sa = 1,
      sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const i = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
      if (pa[d] !== 1) ia += i * sa;
      if (pb[d] !== 1) ib += i * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[ia * m * k + r * k + q]! * b[ib * k * n + q * n + c]!;
        v.push(s);
      }
  }
  return { shape: [...batch, m, n], v };
}

describeBackends('matmul', (ctx) => {
  it('2-D by hand', () =>
    tidy(() => {
      ctx.close(
        ctx
          .t([
            [1, 2],
            [3, 4],
          ])
          .matmul(
            ctx.t([
              [5, 6],
              [7, 8],
            ]),
          ),
        [
          [19, 22],
          [43, 50],
        ],
      );
      ctx.close(
        ctx
          .t([
            [1, 2, 3],
            [4, 5, 6],
          ])
          .matmul(ctx.t([[1], [0], [-1]])),
        [[-2], [-2]],
      );
      ctx.close(wg.matmul(ctx.t([[2]]), ctx.t([[3, 4]])), [[6, 8]]);
    }));

  it('1-D cases like torch.matmul', () =>
    tidy(() => {
      const dot = ctx.t([1, 2, 3]).matmul(ctx.t([4, 5, 6]));
      expect(dot.shape).toEqual([]);
      ctx.close(dot, 32);
      ctx.close(
        ctx.t([1, 2]).matmul(
          ctx.t([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        ),
        [9, 12, 15],
      );
      ctx.close(
        ctx
          .t([
            [1, 2, 3],
            [4, 5, 6],
          ])
          .matmul(ctx.t([1, 0, -1])),
        [-2, -2],
      );
      const a = wg.arange(24, undefined, 1, { device: ctx.device, dtype: 'float32' }).reshape(2, 3, 4);
      const v3 = ctx.t([1, -1, 2]);
      const r = v3.matmul(a); // (3,) @ (2,3,4) → (2,4)
      expect(r.shape).toEqual([2, 4]);
      ctx.close(
        r,
        [0, 1].map((i) => [0, 1, 2, 3].map((k) => 12 * i + k - (12 * i + 4 + k) + 2 * (12 * i + 8 + k))),
      );
      const r2 = a.matmul(ctx.t([1, 0, 0, -1])); // (2,3,4) @ (4,) → (2,3)
      ctx.close(r2, [
        [-3, -3, -3],
        [-3, -3, -3],
      ]);
    }));

  it('batched and broadcast batches', () =>
    tidy(() => {
      const A = ctx.t([
        [
          [1, 0],
          [0, 1],
        ],
        [
          [0, 1],
          [1, 0],
        ],
      ]);
      const B = ctx.t([
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ]);
      ctx.close(A.matmul(B), [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [7, 8],
          [5, 6],
        ],
      ]);
      ctx.close(
        A.matmul(
          ctx.t([
            [1, 2],
            [3, 4],
          ]),
        ),
        [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [3, 4],
            [1, 2],
          ],
        ],
      );
      ctx.close(
        ctx
          .t([
            [1, 2],
            [3, 4],
          ])
          .matmul(A),
        [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [2, 1],
            [4, 3],
          ],
        ],
      );
    }));

  it('odd shapes and batch broadcasting against a reference', () =>
    tidy(() => {
      const cases: [number[], number[]][] = [
        [
          [2, 1, 3, 5],
          [4, 5, 2],
        ],
        [
          [1, 7, 3],
          [5, 3, 6],
        ],
        [
          [3, 1, 1],
          [1, 1, 4],
        ],
        [
          [5, 17, 33],
          [33, 9],
        ],
        [
          [2, 3, 4, 5],
          [2, 3, 5, 1],
        ],
        [
          [1, 4],
          [3, 4, 2],
        ],
      ];
      for (const [as, bs] of cases) {
        const a = wg.randn(as, { device: ctx.device });
        const b = wg.randn(bs, { device: ctx.device });
        const out = a.matmul(b);
        const ref = refMatmul(a.dataSync(), as, b.dataSync(), bs);
        expect(out.shape, `${as} @ ${bs}`).toEqual(ref.shape);
        assertClose(out.dataSync(), ref.v, { rtol: 1e-4, atol: 1e-5 }, `${as}@${bs}`);
      }
    }));

  it('float64 matmul', () =>
    tidy(() => {
      const a = ctx.t(
        [
          [1 / 3, 2],
          [1, 1e-9],
        ],
        { dtype: 'float64' },
      );
      const r = a.matmul(ctx.t([[3], [1]], { dtype: 'float64' }));
      expect(r.dtype).toBe('float64');
      ctx.close(r, [[3], [3 + 1e-9]]);
    }));

  it('linear with and without bias, leading dims', () =>
    tidy(() => {
      const x = ctx.t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const w = ctx.t([
        [1, 0, -1],
        [0.5, 0.5, 0.5],
      ]);
      const b = ctx.t([1, -1]);
      ctx.close(wg.linear(x, w, b), [
        [-1, 2],
        [-1, 6.5],
      ]);
      ctx.close(wg.linear(x, w), [
        [-2, 3],
        [-2, 7.5],
      ]);
      const x3 = x.reshape(2, 1, 3);
      ctx.close(wg.linear(x3, w, b), [[[-1, 2]], [[-1, 6.5]]]);
      const x1 = ctx.t([1, 2, 3]);
      ctx.close(wg.linear(x1, w, b), [-1, 2]);
    }));

  it('a large product stays accurate', () =>
    tidy(() => {
      const a: Tensor = wg.randn([64, 130], { device: ctx.device });
      const b: Tensor = wg.randn([130, 70], { device: ctx.device });
      const ref = refMatmul(a.dataSync(), [64, 130], b.dataSync(), [130, 70]);
      assertClose(a.matmul(b).dataSync(), ref.v, { rtol: 1e-4, atol: 1e-4 }, 'large');
    }));
});

describe('matmul with an empty inner dimension', () => {
  it('gives zeros of the right shape for k = 0 (batched and linear)', async () => {
    const { tensor, zeros, matmul, linear } = await import('../../lib/index.js');
    const a = zeros([2, 3, 0]);
    const b = zeros([0, 4]);
    const y = matmul(a, b);
    expect(y.shape).toEqual([2, 3, 4]);
    expect(Array.from(y.dataSync())).toEqual(new Array(24).fill(0));
    const l = linear(zeros([5, 0]), zeros([2, 0]), tensor([1, -1]));
    expect(l.shape).toEqual([5, 2]);
    expect(Array.from(l.dataSync())).toEqual([1, -1, 1, -1, 1, -1, 1, -1, 1, -1]);
    for (const t of [a, b, y, l]) t.dispose();
  });
});
