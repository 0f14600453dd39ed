import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy } from '../../lib/index.js';
import { describeBackends, flat } from '../util/backends.js';

const X = [-2, -0.5, 0, 1, 3];
const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse; use the series/continued fraction via a high-precision routine
  const t = Math.abs(x);
  let sum = 0,
    term = t,
    n = 0;
  while (Math.abs(term) > 1e-17 && n < 200) {
    sum += term / (2 * n + 1);
    n++;
    term *= (-t * t) / n;
  }
  const r = (2 / Math.sqrt(Math.PI)) * sum;
  return x < 0 ? -r : r;
};

/** Reference broadcasting of a binary fn over nested arrays with NumPy rules. */
function bcast(
  a: number[],
  as: number[],
  b: number[],
  bs: number[],
  f: (x: number, y: number) => number,
): { shape: number[]; v: number[] } {
  const n = Math.max(as.length, bs.length);
  const pa = [...Array(n - as.length).fill(1), ...as];
  const pb = [...Array(n - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const size = shape.reduce((p, d) => p * d, 1);
  const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((p, d) => p * d, 1));
  const sa = strides(pa),
    sb = strides(pb),
    so = strides(shape);
  const v: number[] = [];
  for (let k = 0; k < size; k++) {
    let ia = 0,
      ib = 0;
    for (let d = 0; d < n; d++) {
      const i = Math.floor(k / so[d]!) % shape[d]!;
      if (pa[d] !== 1) ia += i * sa[d]!;
      if (pb[d] !== 1) ib += i * sb[d]!;
    }
    v.push(f(a[ia]!, b[ib]!));
  }
  return { shape, v };
}

function seq(n: number, scale = 0.37, shift = -1.1): number[] {
  return Array.from({ length: n }, (_, i) => Math.round((((i * 7919) % 23) * scale + shift) * 100) / 100 || 0.5);
}

describeBackends('elementwise', (ctx) => {
  const close = (t: wg.Tensor, e: number[]) => ctx.close(t, e);

  it('unary math by hand', () =>
    tidy(() => {
      const x = ctx.t(X);
      close(x.neg(), [2, 0.5, -0, -1, -3]);
      close(x.abs(), [2, 0.5, 0, 1, 3]);
      close(x.relu(), [0, 0, 0, 1, 3]);
      close(x.sign(), [-1, -1, 0, 1, 1]);
      close(x.square(), [4, 0.25, 0, 1, 9]);
      close(x.exp(), X.map(Math.exp));
      close(x.tanh(), X.map(Math.tanh));
      close(
        x.sigmoid(),
        X.map((v) => 1 / (1 + Math.exp(-v))),
      );
      close(ctx.t([0, 2]).sigmoid(), [0.5, 0.8807970779778823]);
      close(ctx.t([1, 4, 0.25]).sqrt(), [1, 2, 0.5]);
      close(ctx.t([1, 4, 0.25]).rsqrt(), [1, 0.5, 2]);
      close(ctx.t([1, Math.E, 0.5]).log(), [0, 1, Math.log(0.5)]);
      close(ctx.t([2, -4, 0.5]).reciprocal(), [0.5, -0.25, 2]);
      close(ctx.t([0.5, 1.5, 2.5, -0.5, -1.7]).round(), [0, 2, 2, -0, -2]);
      close(ctx.t([1.5, -1.5]).floor(), [1, -2]);
      close(ctx.t([1.5, -1.5]).ceil(), [2, -1]);
      close(ctx.t([0, Math.PI / 2]).sin(), [0, 1]);
      close(ctx.t([0, Math.PI]).cos(), [1, -1]);
      close(ctx.t([0, 1e-3]).log1p(), [0, Math.log1p(1e-3)]);
      close(ctx.t([0, 1e-3]).expm1(), [0, Math.expm1(1e-3)]);
    }));

  it('activations: gelu (erf and tanh), silu, softplus, leakyRelu, elu', () =>
    tidy(() => {
      const x = ctx.t(X);
      close(
        x.gelu(),
        X.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      );
      close(ctx.t([1, -1, 0]).gelu(), [0.8413447460685429, -0.15865525393145707, 0]);
      const k = Math.sqrt(2 / Math.PI);
      close(
        x.gelu('tanh'),
        X.map((v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3)))),
      );
      close(
        x.silu(),
        X.map((v) => v / (1 + Math.exp(-v))),
      );
      close(
        x.softplus(),
        X.map((v) => Math.log1p(Math.exp(v))),
      );
      close(x.leakyRelu(0.1), [-0.2, -0.05, 0, 1, 3]);
      close(
        x.elu(),
        X.map((v) => (v > 0 ? v : Math.expm1(v))),
      );
    }));

  it('clamp: both, one-sided', () =>
    tidy(() => {
      const x = ctx.t(X);
      close(x.clamp(-1, 1), [-1, -0.5, 0, 1, 1]);
      close(x.clamp(0), [0, 0, 0, 1, 3]);
      close(x.clamp(null, 0.5), [-2, -0.5, 0, 0.5, 0.5]);
    }));

  it('binary ops, same shape', () =>
    tidy(() => {
      const a = ctx.t([
        [1, 2],
        [3, 4],
      ]);
      const b = ctx.t([
        [5, -6],
        [0.5, 2],
      ]);
      ctx.close(a.add(b), [
        [6, -4],
        [3.5, 6],
      ]);
      ctx.close(a.sub(b), [
        [-4, 8],
        [2.5, 2],
      ]);
      ctx.close(a.mul(b), [
        [5, -12],
        [1.5, 8],
      ]);
      ctx.close(a.div(b), [
        [0.2, -1 / 3],
        [6, 2],
      ]);
      ctx.close(
        a.pow(
          ctx.t([
            [3, 2],
            [0.5, 0],
          ]),
        ),
        [
          [1, 4],
          [Math.sqrt(3), 1],
        ],
      );
      ctx.close(wg.maximum(a, b), [
        [5, 2],
        [3, 4],
      ]);
      ctx.close(wg.minimum(a, b), [
        [1, -6],
        [0.5, 2],
      ]);
      ctx.close(a.add(b, 2), [
        [11, -10],
        [4, 8],
      ]);
      ctx.close(a.sub(b, 0.5), [
        [-1.5, 5],
        [2.75, 3],
      ]);
    }));

  it('scalar operands on either side', () =>
    tidy(() => {
      const a = ctx.t([1, 2, 4]);
      close(a.add(1), [2, 3, 5]);
      close(wg.add(1, a), [2, 3, 5]);
      close(a.sub(1), [0, 1, 3]);
      close(wg.sub(1, a), [0, -1, -3]);
      close(a.mul(-2), [-2, -4, -8]);
      close(a.div(4), [0.25, 0.5, 1]);
      close(wg.div(4, a), [4, 2, 1]);
      close(a.pow(2), [1, 4, 16]);
      close(a.pow(0.5), [1, Math.SQRT2, 2]);
      close(a.pow(-1), [1, 0.5, 0.25]);
      close(wg.pow(2, a), [2, 4, 16]);
      close(wg.maximum(a, 2), [2, 2, 4]);
      close(wg.minimum(2, a), [1, 2, 2]);
    }));

  it('broadcasting: row, column, outer, leading dims', () =>
    tidy(() => {
      const a = ctx.t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      ctx.close(a.add(ctx.t([10, 20, 30])), [
        [11, 22, 33],
        [14, 25, 36],
      ]);
      ctx.close(a.mul(ctx.t([[2], [3]])), [
        [2, 4, 6],
        [12, 15, 18],
      ]);
      ctx.close(ctx.t([[1], [2]]).mul(ctx.t([[1, 2, 3]])), [
        [1, 2, 3],
        [2, 4, 6],
      ]);
      ctx.close(a.sub(ctx.t(1)), [
        [0, 1, 2],
        [3, 4, 5],
      ]);
      ctx.close(ctx.t(10).sub(a), [
        [9, 8, 7],
        [6, 5, 4],
      ]);
      const r = ctx.t([[[1, 2]]]).add(ctx.t([[10], [20], [30]]));
      ctx.close(r, [
        [
          [11, 12],
          [21, 22],
          [31, 32],
        ],
      ]);
    }));

  it('broadcasting odd shapes against a reference', () =>
    tidy(() => {
      const cases: [number[], number[]][] = [
        [
          [3, 1, 5],
          [4, 1],
        ],
        [
          [1, 7],
          [6, 1],
        ],
        [
          [2, 3, 1, 4],
          [3, 5, 1],
        ],
        [[5], [2, 1, 1, 5]],
        [[1], [3, 2]],
        [[], [2, 3]],
      ];
      for (const [as, bs] of cases) {
        const na = as.reduce((p, d) => p * d, 1),
          nb = bs.reduce((p, d) => p * d, 1);
        const av = seq(na),
          bv = seq(nb, 0.21, 0.3);
        const A = ctx.t(Float32Array.from(av), { shape: as }),
          B = ctx.t(Float32Array.from(bv), { shape: bs });
        for (const [name, f, ref] of [
          ['add', wg.add, (x: number, y: number) => x + y],
          ['mul', wg.mul, (x: number, y: number) => x * y],
          ['sub', wg.sub, (x: number, y: number) => x - y],
          ['div', wg.div, (x: number, y: number) => x / y],
          ['maximum', wg.maximum, Math.max],
        ] as const) {
          const out = (f as (a: wg.Tensor, b: wg.Tensor) => wg.Tensor)(A, B);
          const e = bcast(Array.from(A.dataSync()), as, Array.from(B.dataSync()), bs, ref);
          expect(out.shape, `${name} ${as} ${bs}`).toEqual(e.shape);
          const got = Array.from(out.dataSync());
          e.v.forEach((v, i) =>
            expect(Math.abs(got[i]! - Math.fround(v)), `${name} ${as}×${bs} [${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))),
          );
        }
      }
    }));

  it('comparisons give 1/0 in the operand dtype, with broadcasting and scalars', () =>
    tidy(() => {
      const a = ctx.t([1, 2, 3]);
      const b = ctx.t([3, 2, 1]);
      close(a.lt(b), [1, 0, 0]);
      close(a.le(b), [1, 1, 0]);
      close(a.gt(b), [0, 0, 1]);
      close(a.ge(b), [0, 1, 1]);
      close(a.eq(b), [0, 1, 0]);
      close(a.ne(b), [1, 0, 1]);
      close(a.gt(2), [0, 0, 1]);
      close(wg.lt(2, a), [0, 0, 1]); // 2 < a
      ctx.close(ctx.t([[1], [3]]).ge(ctx.t([1, 2, 3])), [
        [1, 0, 0],
        [1, 1, 1],
      ]);
      expect(a.gt(b).dtype).toBe('float32');
    }));

  it('where: tensors, scalars, broadcasting', () =>
    tidy(() => {
      const c = ctx.t([1, 0, 1]);
      close(wg.where(c, ctx.t([1, 2, 3]), ctx.t([10, 20, 30])), [1, 20, 3]);
      close(wg.where(c, ctx.t([1, 2, 3]), 0), [1, 0, 3]);
      close(wg.where(c, -1, ctx.t([10, 20, 30])), [-1, 20, -1]);
      ctx.close(wg.where(ctx.t([[1], [0]]), ctx.t([1, 2]), ctx.t(9)), [
        [1, 2],
        [9, 9],
      ]);
      const x = ctx.t([-1, 2, -3]);
      close(x.where(x.gt(0), 0), [0, 2, 0]);
    }));

  it('int32 paths: arithmetic stays int, true division and fractional scalars give float', () =>
    tidy(() => {
      const a = ctx.t([7, -3, 4], { dtype: 'int32' });
      const b = ctx.t([2, 2, -3], { dtype: 'int32' });
      const s = a.add(b);
      expect(s.dtype).toBe('int32');
      expect(s.toArray()).toEqual([9, -1, 1]);
      expect(a.sub(b).toArray()).toEqual([5, -5, 7]);
      expect(a.mul(b).toArray()).toEqual([14, -6, -12]);
      expect(a.neg().toArray()).toEqual([-7, 3, -4]);
      expect(a.abs().toArray()).toEqual([7, 3, 4]);
      expect(a.mul(3).toArray()).toEqual([21, -9, 12]);
      expect(a.add(1).dtype).toBe('int32');
      const q = a.div(b);
      expect(q.dtype).toBe('float32');
      close(q, [3.5, -1.5, -4 / 3]);
      close(a.div(2), [3.5, -1.5, 2]);
      const h = a.add(0.5);
      expect(h.dtype).toBe('float32');
      close(h, [7.5, -2.5, 4.5]);
      close(a.mul(0.5), [3.5, -1.5, 2]);
      const cmp = a.gt(b);
      expect(cmp.toArray()).toEqual([1, 0, 1]);
      // int32 + float32 promotes to float32
      const m = a.add(ctx.t([0.5, 0.5, 0.5]));
      expect(m.dtype).toBe('float32');
      close(m, [7.5, -2.5, 4.5]);
      expect(wg.maximum(a, b).toArray()).toEqual([7, 2, 4]);
      expect(a.clamp(-1, 5).toArray()).toEqual([5, -1, 4]);
    }));

  it('float64 keeps full precision; float32 + float64 promotes', () =>
    tidy(() => {
      const a = ctx.t([1 + 1e-12], { dtype: 'float64' });
      const r = a.sub(1);
      expect(r.dtype).toBe('float64');
      expect(r.item()).toBe(1 + 1e-12 - 1);
      const p = ctx.t([1]).add(ctx.t([2], { dtype: 'float64' }));
      expect(p.dtype).toBe('float64');
    }));

  it('0-d and empty tensors', () =>
    tidy(() => {
      const s = ctx.t(2).mul(ctx.t(3));
      expect(s.shape).toEqual([]);
      expect(s.item()).toBe(6);
      const e = ctx.t([]).add(1);
      expect(e.shape).toEqual([0]);
      const e2 = wg.zeros([0, 3], { device: ctx.device }).add(ctx.t([1, 2, 3]));
      expect(e2.shape).toEqual([0, 3]);
    }));

  it('large tensors stay exact on the elementwise fast paths', () =>
    tidy(() => {
      const n = 10007;
      const v = Float32Array.from({ length: n }, (_, i) => (i % 13) - 6);
      const x = ctx.t(v);
      const y = x.mul(x).sub(x);
      const got = y.dataSync();
      for (let i = 0; i < n; i += 97) expect(got[i]).toBe(v[i]! * v[i]! - v[i]!);
      expect(flat(y.sum().toArray())[0]).toBe(Array.from(v).reduce((a, b) => a + b * b - b, 0));
    }));
});
