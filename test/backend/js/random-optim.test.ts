import { describe, expect, it } from 'vitest';
import { philox4x32, philox4x32Full } from '../../../lib/backend/js/index.js';
import { mulhi32 } from '../../../lib/backend/js/philox.js';
import { FLOATS, K, expectClose, h, poisoned, vals } from './helpers.js';

const hex = (w: ArrayLike<number>) => Array.from(w, (v) => (v >>> 0).toString(16).padStart(8, '0'));

describe('Philox4x32-10', () => {
  it('mulhi32 matches BigInt', () => {
    for (const [a, b] of [
      [0xd2511f53, 0xffffffff],
      [0xcd9e8d57, 0x12345678],
      [1, 1],
      [0xffffffff, 0xffffffff],
      [0x10000, 0x10000],
    ]) {
      expect(mulhi32(a!, b!)).toBe(Number((BigInt(a!) * BigInt(b!)) >> 32n));
    }
  });
  it('Random123 known-answer vectors', () => {
    expect(hex(philox4x32Full(0, 0, 0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    const f = 0xffffffff;
    expect(hex(philox4x32Full(f, f, f, f, f, f))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32Full(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toEqual([
      'd16cfe09',
      '94fdcceb',
      '5001e420',
      '24126ea1',
    ]);
    expect(hex(philox4x32(0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  });
});

describe('random kernels', () => {
  it('randUniform: element i is word i%4 of counter offset+floor(i/4), key = seed words', () => {
    const seed = 2 ** 32 * 3 + 12345,
      offset = 7;
    for (const dt of FLOATS) {
      const o = poisoned(10, dt);
      K.randUniform(o, 10, seed, offset, -2, 3, dt);
      for (let i = 0; i < 10; i++) {
        const w = philox4x32(offset + Math.floor(i / 4), 0, 12345, 3)[i % 4]!;
        const e = -2 + 5 * (w >>> 8) * 2 ** -24;
        expect(o.data[i]).toBe(dt === 'float32' ? Math.fround(e) : e);
      }
    }
    // a later offset continues the stream: elements 4.. of offset 0 == elements 0.. of offset 1
    const a = poisoned(12),
      b = poisoned(8);
    K.randUniform(a, 12, 42, 0, 0, 1, 'float64');
    K.randUniform(b, 8, 42, 1, 0, 1, 'float64');
    expect(vals(a).slice(4)).toEqual(vals(b));
    // counter above 2^32 carries into the high word
    const c = poisoned(1);
    K.randUniform(c, 1, 1, 2 ** 32 + 5, 0, 1, 'float64');
    expect(c.data[0]).toBe((philox4x32(5, 1, 1, 0)[0]! >>> 8) * 2 ** -24);
  });
  it('randNormal: Box–Muller on words 0, 1 of counter offset+floor(i/2); moments', () => {
    const o = poisoned(5);
    K.randNormal(o, 5, 9, 3, 1, 2, 'float64');
    for (let i = 0; i < 5; i++) {
      const [w0, w1] = philox4x32(3 + Math.floor(i / 2), 0, 9, 0);
      const u1 = ((w0! >>> 8) + 1) * 2 ** -24,
        u2 = (w1! >>> 8) * 2 ** -24;
      const r = Math.sqrt(-2 * Math.log(u1));
      expect(o.data[i]).toBe(1 + 2 * r * (i % 2 === 0 ? Math.cos(2 * Math.PI * u2) : Math.sin(2 * Math.PI * u2)));
    }
    const n = 40000;
    const big = poisoned(n, 'float32');
    K.randNormal(big, n, 123, 0, 0.5, 3, 'float32');
    let s = 0,
      s2 = 0;
    for (const v of big.data) {
      s += v;
      s2 += v * v;
    }
    const mean = s / n,
      std = Math.sqrt(s2 / n - mean * mean);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(std - 3)).toBeLessThan(0.05);
  });
  it('dropoutMask: u >= p keeps with scale 1/(1-p), from the uniform stream', () => {
    const n = 1001,
      p = 0.3;
    const m = poisoned(n, 'float32'),
      u = poisoned(n);
    K.dropoutMask(m, n, p, 77, 5, 'float32');
    K.randUniform(u, n, 77, 5, 0, 1, 'float64');
    let kept = 0;
    for (let i = 0; i < n; i++) {
      expect(m.data[i]).toBe(u.data[i]! >= p ? Math.fround(1 / 0.7) : 0);
      if (m.data[i]) kept++;
    }
    expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.05);
    expect(() => K.randUniform(poisoned(1), 1, -1, 0, 0, 1, 'float64')).toThrow(RangeError);
  });
});

describe('sgdStep (torch.optim.SGD)', () => {
  const base = { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, firstStep: true };
  it('plain, weight decay, maximize over a list of tensors', () => {
    const p1 = h([1, 2]),
      p2 = h([3]);
    K.sgdStep([p1, p2], [h([0.5, -1]), h([2])], null, [2, 1], base, 'float64');
    expectClose(vals(p1), [0.95, 2.1], 1e-15);
    expectClose(vals(p2), [2.8], 1e-15);
    const p3 = h([1], 'float32');
    K.sgdStep([p3], [h([0.5], 'float32')], null, [1], { ...base, weightDecay: 0.1, maximize: true }, 'float32');
    expect(p3.data[0]).toBe(Math.fround(1 - 0.1 * (-0.5 + 0.1)));
  });
  it('momentum: first step buf = g, then momentum·buf + (1-dampening)·g; nesterov', () => {
    const p = h([1]),
      buf = poisoned(1);
    const hyper = { ...base, momentum: 0.9, weightDecay: 0.1 };
    K.sgdStep([p], [h([0.5])], [buf], [1], hyper, 'float64');
    expectClose(vals(p), [0.94], 1e-15);
    expectClose(vals(buf), [0.6], 1e-15);
    K.sgdStep([p], [h([0.5])], [buf], [1], { ...hyper, firstStep: false }, 'float64');
    expectClose(vals(buf), [0.9 * 0.6 + 0.594], 1e-15);
    expectClose(vals(p), [0.94 - 0.1 * 1.134], 1e-15);
    K.sgdStep([p], [h([0.5])], [buf], [1], { ...hyper, firstStep: false, dampening: 0.5 }, 'float64');
    const g3 = 0.5 + 0.1 * 0.8266,
      b3 = 0.9 * 1.134 + 0.5 * g3;
    expectClose(vals(buf), [b3], 1e-14);
    expectClose(vals(p), [0.8266 - 0.1 * b3], 1e-14);
    const q = h([1]),
      qb = poisoned(1);
    K.sgdStep([q], [h([0.5])], [qb], [1], { ...hyper, nesterov: true }, 'float64');
    expectClose(vals(q), [1 - 0.1 * (0.6 + 0.9 * 0.6)], 1e-15);
  });
});

describe('adamStep (torch.optim.Adam / AdamW)', () => {
  const base = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false, step: 1 };
  const run = (p0: number[], g: number[], hy: typeof base, dt: 'float32' | 'float64' = 'float64') => {
    const p = h(p0, dt),
      m = h(
        p0.map(() => 0),
        dt,
      ),
      v = h(
        p0.map(() => 0),
        dt,
      );
    K.adamStep([p], [h(g, dt)], [m], [v], null, [p0.length], hy, dt);
    return { p: vals(p), m: vals(m), v: vals(v) };
  };
  it('first step moves each parameter by ≈ lr·sign(g)', () => {
    const r = run([1, -2], [0.5, -3], base);
    expectClose(r.m, [0.05, -0.3], 1e-15);
    expectClose(r.v, [0.001 * 0.25, 0.001 * 9], 1e-15);
    expectClose(r.p, [1 - ((0.1 / 0.1) * 0.05) / (0.5 + 1e-8), -2 + ((0.1 / 0.1) * 0.3) / (3 + 1e-8)], 1e-14); // step size lr/(1-β1) = 1
    const r32 = run([1, -2], [0.5, -3], base, 'float32');
    expectClose(r32.p, r.p, 1e-6);
  });
  it('Adam (L2) vs AdamW (decoupled) weight decay, maximize', () => {
    const l2 = run([1], [0.5], { ...base, weightDecay: 0.01 });
    const g = 0.51;
    expectClose(l2.p, [1 - (0.1 * g * 0.1) / 0.1 / (Math.sqrt(0.001 * g * g) / Math.sqrt(0.001) + 1e-8)], 1e-14);
    const w = run([1], [0.5], { ...base, weightDecay: 0.01, decoupled: true });
    expectClose(w.p, [0.999 - 0.05 / (0.5 + 1e-8)], 1e-14);
    const mx = run([1], [0.5], { ...base, maximize: true });
    expectClose(mx.p, [1 + 0.05 / (0.5 + 1e-8)], 1e-14);
  });
  it('two steps with bias correction, amsgrad keeps the max second moment', () => {
    const hy = { ...base, beta2: 0.5, amsgrad: true };
    const p = h([1]),
      m = h([0]),
      v = h([0]),
      vm = h([0]);
    K.adamStep([p], [h([1])], [m], [v], [vm], [1], hy, 'float64');
    K.adamStep([p], [h([0.1])], [m], [v], [vm], [1], { ...hy, step: 2 }, 'float64');
    const m1 = 0.1,
      v1 = 0.5,
      p1 = 1 - ((0.1 / 0.1) * m1) / (Math.sqrt(v1) / Math.sqrt(0.5) + 1e-8);
    const m2 = m1 + 0.1 * (0.1 - m1),
      v2 = 0.5 * v1 + 0.5 * 0.01;
    const p2 = p1 - ((0.1 / (1 - 0.81)) * m2) / (Math.sqrt(Math.max(v1, v2)) / Math.sqrt(1 - 0.25) + 1e-8);
    expectClose(vals(v), [v2], 1e-15);
    expectClose(vals(vm), [v1], 1e-15);
    expectClose(vals(m), [m2], 1e-15);
    expectClose(vals(p), [p2], 1e-14);
  });
});
