// The counter-based RNG: manualSeed reproduces rand/randn/randint/dropout; bounds; moments.
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

describeBackends('random', (ctx) => {
  const dev = { device: ctx.device };
  const draw = () =>
    tidy(() => [
      Array.from(wg.rand([7], dev).dataSync()),
      Array.from(wg.randn([5, 3], dev).dataSync()),
      Array.from(wg.randint(-3, 9, [11], dev).dataSync()),
      Array.from(wg.dropout(wg.ones([13], dev), 0.5).dataSync()),
      Array.from(wg.uniform([3], -2, 2, { ...dev, dtype: 'float64' }).dataSync()),
    ]);

  it('manualSeed reproduces rand, randn, randint and dropout; another seed differs', () => {
    wg.manualSeed(1234);
    const a = draw();
    wg.manualSeed(1234);
    const b = draw();
    expect(b).toEqual(a);
    wg.manualSeed(1235);
    const c = draw();
    expect(c[0]).not.toEqual(a[0]);
    expect(c[1]).not.toEqual(a[1]);
    expect(wg.initialSeed()).toBe(1235);
  });

  it('successive draws differ; getRngState/setRngState replays', () => {
    wg.manualSeed(7);
    const s = wg.getRngState();
    const first = tidy(() => Array.from(wg.rand([4], dev).dataSync()));
    const second = tidy(() => Array.from(wg.rand([4], dev).dataSync()));
    expect(second).not.toEqual(first);
    wg.setRngState(s);
    expect(tidy(() => Array.from(wg.rand([4], dev).dataSync()))).toEqual(first);
  });

  it('rand is in [0, 1) with mean 1/2 and variance 1/12', () =>
    tidy(() => {
      wg.manualSeed(3);
      const v = wg.rand([100000], dev).dataSync();
      let sum = 0,
        sq = 0,
        lo = Infinity,
        hi = -Infinity;
      for (const x of v) {
        sum += x;
        sq += x * x;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      const mean = sum / v.length;
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThan(1);
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
      expect(Math.abs(sq / v.length - mean * mean - 1 / 12)).toBeLessThan(0.002);
    }));

  it('randn on 1e5 samples: mean ≈ 0, std ≈ 1; normal(mean, std) scales', () =>
    tidy(() => {
      wg.manualSeed(4);
      const v = wg.randn([100000], dev).dataSync();
      let sum = 0,
        sq = 0;
      for (const x of v) {
        sum += x;
        sq += x * x;
      }
      const mean = sum / v.length;
      const std = Math.sqrt(sq / v.length - mean * mean);
      expect(Math.abs(mean)).toBeLessThan(0.015);
      expect(Math.abs(std - 1)).toBeLessThan(0.015);
      const n = wg.normal([100000], 3, 0.5, dev);
      expect(Math.abs(n.mean().item() - 3)).toBeLessThan(0.01);
      expect(Math.abs(n.std().item() - 0.5)).toBeLessThan(0.01);
    }));

  it('randint stays in [low, high), is int32, and hits every value', () =>
    tidy(() => {
      wg.manualSeed(5);
      const t = wg.randint(-2, 3, [5000], dev);
      expect(t.dtype).toBe('int32');
      const seen = new Set<number>();
      for (const x of t.dataSync()) {
        expect(Number.isInteger(x)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(-2);
        expect(x).toBeLessThan(3);
        seen.add(x);
      }
      expect([...seen].sort()).toEqual([-1, -2, 0, 1, 2].sort());
      const f = wg.randint(0, 2, [10], { ...dev, dtype: 'float32' });
      expect(f.dtype).toBe('float32');
      const big = wg.randint(0, 2 ** 24, [1000], dev).dataSync();
      for (const x of big) expect(x < 2 ** 24 && x >= 0).toBe(true);
    }));

  it('float64 draws and shapes', () =>
    tidy(() => {
      wg.manualSeed(6);
      const d = wg.randn([2, 3], { ...dev, dtype: 'float64' });
      expect(d.dtype).toBe('float64');
      expect(d.shape).toEqual([2, 3]);
      expect(wg.rand([], dev).shape).toEqual([]);
      expect(wg.randn([0], dev).shape).toEqual([0]);
      const x = ctx.t([[1, 2]]);
      expect(wg.randLike(x).shape).toEqual([1, 2]);
      expect(wg.randnLike(x).device).toBe(ctx.device);
    }));
});
