import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

describeBackends('creation', (ctx) => {
  const dev = { device: ctx.device };

  it('tensor() infers shape and defaults to float32', () =>
    tidy(() => {
      const x = ctx.t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(x.shape).toEqual([2, 3]);
      expect(x.dtype).toBe('float32');
      expect(x.device).toBe(ctx.device);
      expect(x.requiresGrad).toBe(false);
      expect(x.grad).toBeNull();
      expect(x.toArray()).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(x.dataSync()).toBeInstanceOf(Float32Array);
    }));

  it('tensor() from numbers, typed arrays, with dtype and shape', () =>
    tidy(() => {
      const s = ctx.t(3.5);
      expect(s.shape).toEqual([]);
      expect(s.item()).toBe(3.5);
      expect(s.toArray()).toBe(3.5);
      const d = ctx.t([1.25, 2.5], { dtype: 'float64' });
      expect(d.dtype).toBe('float64');
      expect(d.dataSync()).toBeInstanceOf(Float64Array);
      const i = ctx.t([1.9, -1.9, 3], { dtype: 'int32' });
      expect(i.dtype).toBe('int32');
      expect(Array.from(i.dataSync())).toEqual([1, -1, 3]);
      const f = ctx.t(Float64Array.of(1, 2, 3, 4, 5, 6), { shape: [3, 2] });
      expect(f.dtype).toBe('float64');
      expect(f.toArray()).toEqual([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const e = ctx.t([]);
      expect(e.shape).toEqual([0]);
      expect(e.toArray()).toEqual([]);
    }));

  it('requiresGrad option', () =>
    tidy(() => {
      const x = ctx.t([1, 2], { requiresGrad: true });
      expect(x.requiresGrad).toBe(true);
      expect(x.isLeaf).toBe(true);
    }));

  it('zeros, ones, full, zerosLike, onesLike', () =>
    tidy(() => {
      ctx.close(wg.zeros([2, 2], dev), [
        [0, 0],
        [0, 0],
      ]);
      ctx.close(wg.ones(3, dev), [1, 1, 1]);
      ctx.close(wg.full([2], 7.5, dev), [7.5, 7.5]);
      const i = wg.full([2, 1], 3, { ...dev, dtype: 'int32' });
      expect(i.dtype).toBe('int32');
      expect(i.toArray()).toEqual([[3], [3]]);
      const x = ctx.t([[1, 2, 3]], { dtype: 'float64' });
      const z = wg.zerosLike(x);
      expect([z.shape, z.dtype, z.device]).toEqual([[1, 3], 'float64', ctx.device]);
      ctx.close(z, [[0, 0, 0]]);
      ctx.close(wg.onesLike(x), [[1, 1, 1]]);
      ctx.close(wg.zeros([], dev), 0);
      expect(wg.zeros([0, 3], dev).shape).toEqual([0, 3]);
    }));

  it('arange', () =>
    tidy(() => {
      const a = wg.arange(5, undefined, 1, dev);
      expect(a.dtype).toBe('int32');
      expect(a.toArray()).toEqual([0, 1, 2, 3, 4]);
      expect(wg.arange(2, 8, 3, dev).toArray()).toEqual([2, 5]);
      expect(wg.arange(5, 0, -2, dev).toArray()).toEqual([5, 3, 1]);
      const f = wg.arange(0, 1, 0.25, dev);
      expect(f.dtype).toBe('float32');
      ctx.close(f, [0, 0.25, 0.5, 0.75]);
      ctx.close(wg.arange(0, 3, 1, { ...dev, dtype: 'float64' }), [0, 1, 2]);
      expect(wg.arange(3, 3, 1, dev).shape).toEqual([0]);
    }));

  it('linspace and eye', () =>
    tidy(() => {
      ctx.close(wg.linspace(0, 1, 5, dev), [0, 0.25, 0.5, 0.75, 1]);
      ctx.close(wg.linspace(-1, 1, 1, dev), [-1]);
      ctx.close(wg.linspace(2, -2, 3, dev), [2, 0, -2]);
      ctx.close(wg.eye(2, undefined, dev), [
        [1, 0],
        [0, 1],
      ]);
      ctx.close(wg.eye(2, 3, dev), [
        [1, 0, 0],
        [0, 1, 0],
      ]);
    }));

  it('reads back: data(), dataSync(), toArray(), item(), array()', async () => {
    const x = ctx.t([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
    expect(await x.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const s = x.sum();
    expect(s.item()).toBe(10);
    // a copy: changing it does not change the tensor
    const d = x.dataSync();
    d[0] = 100;
    expect(x.dataSync()[0]).toBe(1);
    x.dispose();
    s.dispose();
  });

  it('to(device), cpu(), to(dtype), cast, clone', () =>
    tidy(() => {
      const x = ctx.t([1.5, -2.5]);
      const c = x.cpu();
      expect(c.device).toBe('cpu');
      expect(c.toArray()).toEqual([1.5, -2.5]);
      const back = c.to(ctx.device);
      expect(back.device).toBe(ctx.device);
      expect(back.toArray()).toEqual([1.5, -2.5]);
      const d = x.to('float64');
      expect(d.dtype).toBe('float64');
      const i = x.int();
      expect(i.toArray()).toEqual([1, -2]); // truncates toward zero
      const k = x.clone();
      expect(k.toArray()).toEqual([1.5, -2.5]);
      expect(k.handle).not.toBe(x.handle);
    }));

  it('toString names shape, dtype and device', () =>
    tidy(() => {
      const s = ctx.t([1, 2]).toString();
      expect(s).toContain('(2,)');
      expect(s).toContain('float32');
      expect(s).toContain(ctx.device);
    }));
});

describe('dtypes', () => {
  it('bfloat16/float16 are reserved for the GPU: the js backend refuses them clearly', () => {
    const before = wg.memory().tensors;
    expect(() => wg.zeros([2], { dtype: 'bfloat16' })).toThrow(/bfloat16.*cuda/);
    expect(() => wg.tensor([1], { dtype: 'float16' })).toThrow(/float16.*cuda/);
    expect(wg.memory().tensors).toBe(before);
  });
  it('unknown dtype names the op', () => {
    expect(() => wg.tensor([1], { dtype: 'int8' as never })).toThrow(/tensor: unknown dtype int8/);
    expect(() => wg.zeros([1], { dtype: 'uint8' as never })).toThrow(/zeros: unknown dtype uint8/);
  });
});
