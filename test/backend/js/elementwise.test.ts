import { describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryGradOp, UnaryOp } from '../../../lib/backend/kernels.js';
import { erf, roundHalfEven } from '../../../lib/backend/js/math.js';
import { FLOATS, K, expectClose, h, numericGrad, poisoned, rnd, tolFor, vals } from './helpers.js';

describe('fill and cast', () => {
  it('fill writes n elements in every host dtype', () => {
    for (const dt of ['float32', 'float64', 'int32'] as const) {
      const o = poisoned(5, dt);
      K.fill(o, 5, 3, dt);
      expect(vals(o)).toEqual([3, 3, 3, 3, 3]);
    }
  });
  it('cast float→int32 truncates toward zero; int→float is exact', () => {
    const o = poisoned(6, 'int32');
    K.cast(h([1.9, -1.9, 2.5, -0.5, 7, -3.0000001]), o, 6, 'float64', 'int32');
    expect(vals(o)).toEqual([1, -1, 2, 0, 7, -3]);
    const f = poisoned(3, 'float32');
    K.cast(h([1, -2, 3], 'int32'), f, 3, 'int32', 'float32');
    expect(vals(f)).toEqual([1, -2, 3]);
    const d = poisoned(2, 'float32');
    K.cast(h([0.1, 1e300]), d, 2, 'float64', 'float32');
    expect(vals(d)).toEqual([Math.fround(0.1), Infinity]);
  });
});

describe('math helpers', () => {
  it('erf matches reference values to 1e-14 relative', () => {
    const ref: [number, number][] = [
      [1e-10, 1.1283791670955126e-10],
      [-0.1, -0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [4, 0.9999999845827421],
      [-5, -0.9999999999984626],
      [7, 1],
      [0, 0],
    ];
    for (const [x, e] of ref) expect(Math.abs(erf(x) - e)).toBeLessThanOrEqual(1e-14 * Math.max(Math.abs(e), 1e-300) + 1e-300);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });
  it('round is half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -3]);
  });
});

describe('unary', () => {
  const x = [-25, -2.5, -1, -0.5, 0, 0.5, 1, 1.5, 2.5, 25];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const cases: [UnaryOp, number, number, (v: number) => number][] = [
    ['neg', 0, 0, (v) => -v],
    ['abs', 0, 0, Math.abs],
    ['sign', 0, 0, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0)],
    ['exp', 0, 0, Math.exp],
    ['expm1', 0, 0, Math.expm1],
    ['log', 0, 0, Math.log],
    ['log1p', 0, 0, Math.log1p],
    ['sqrt', 0, 0, Math.sqrt],
    ['rsqrt', 0, 0, (v) => 1 / Math.sqrt(v)],
    ['square', 0, 0, (v) => v * v],
    ['reciprocal', 0, 0, (v) => 1 / v],
    ['sin', 0, 0, Math.sin],
    ['cos', 0, 0, Math.cos],
    ['floor', 0, 0, Math.floor],
    ['ceil', 0, 0, Math.ceil],
    ['round', 0, 0, roundHalfEven],
    ['tanh', 0, 0, Math.tanh],
    ['sigmoid', 0, 0, sig],
    ['relu', 0, 0, (v) => Math.max(v, 0)],
    ['silu', 0, 0, (v) => v * sig(v)],
    ['softplus', 0, 0, (v) => (v > 20 ? v : Math.log(1 + Math.exp(v)))],
    ['leaky_relu', 0.1, 0, (v) => (v > 0 ? v : 0.1 * v)],
    ['elu', 1.5, 0, (v) => (v > 0 ? v : 1.5 * (Math.exp(v) - 1))],
    ['clamp', -1, 2, (v) => Math.min(Math.max(v, -1), 2)],
    ['add_scalar', 2, 0, (v) => v + 2],
    ['mul_scalar', 3, 0, (v) => v * 3],
    ['rsub_scalar', 1, 0, (v) => 1 - v],
    ['rdiv_scalar', 2, 0, (v) => 2 / v],
    ['pow_scalar', 2, 0, (v) => v ** 2],
    ['rpow_scalar', 2, 0, (v) => 2 ** v],
    ['gt_scalar', 0.5, 0, (v) => +(v > 0.5)],
    ['lt_scalar', 0.5, 0, (v) => +(v < 0.5)],
    ['ge_scalar', 0.5, 0, (v) => +(v >= 0.5)],
    ['le_scalar', 0.5, 0, (v) => +(v <= 0.5)],
    ['eq_scalar', 0.5, 0, (v) => +(v === 0.5)],
    ['ne_scalar', 0.5, 0, (v) => +(v !== 0.5)],
  ];
  for (const dt of FLOATS) {
    it(`every op against its definition (${dt})`, () => {
      for (const [op, a, b, f] of cases) {
        const o = poisoned(x.length, dt);
        K.unary(op, h(x, dt), o, x.length, dt, a, b);
        const xr = dt === 'float32' ? x.map(Math.fround) : x;
        expectClose(
          vals(o),
          xr.map(f).map((v) => (dt === 'float32' ? Math.fround(v) : v)),
          tolFor(dt),
          op,
        );
      }
    });
  }
  it('gelu (erf form) and gelu_tanh match torch values', () => {
    const o = poisoned(4);
    K.unary('gelu', h([1, -1, 3, -3]), o, 4, 'float64', 0, 0);
    expectClose(vals(o), [0.8413447460685429, -0.15865525393145707, 3 * 0.9986501019683699, -3 * 0.0013498980316300946], 1e-13, 'gelu');
    K.unary('gelu_tanh', h([1, -1, 3, -3]), o, 4, 'float64', 0, 0);
    const gt = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    expectClose(vals(o), [1, -1, 3, -3].map(gt), 1e-15, 'gelu_tanh');
    expect(Math.abs(vals(o)[0]! - 0.8411919906082768)).toBeLessThan(1e-12);
  });
  it('NaN and negatives: log/sqrt/pow of negatives give NaN, relu keeps NaN', () => {
    const o = poisoned(4);
    K.unary('log', h([-1, NaN, 0, 1]), o, 4, 'float64', 0, 0);
    expect(vals(o)).toEqual([NaN, NaN, -Infinity, 0]);
    K.unary('pow_scalar', h([-8, 4, 1, NaN]), o, 4, 'float64', 0.5, 0);
    expect(vals(o)).toEqual([NaN, 2, 1, NaN]);
    K.unary('relu', h([NaN, -1, 2, 0]), o, 4, 'float64', 0, 0);
    expect(vals(o)).toEqual([NaN, 0, 2, 0]);
  });
  it('int32 ops that make sense, and a TypeError for the rest', () => {
    const o = poisoned(4, 'int32');
    K.unary('neg', h([1, -2, 3, 0], 'int32'), o, 4, 'int32', 0, 0);
    expect(vals(o)).toEqual([-1, 2, -3, 0]);
    K.unary('abs', h([1, -2, 3, 0], 'int32'), o, 4, 'int32', 0, 0);
    expect(vals(o)).toEqual([1, 2, 3, 0]);
    K.unary('sign', h([5, -2, 0, 1], 'int32'), o, 4, 'int32', 0, 0);
    expect(vals(o)).toEqual([1, -1, 0, 1]);
    K.unary('add_scalar', h([5, -2, 0, 1], 'int32'), o, 4, 'int32', 3, 0);
    expect(vals(o)).toEqual([8, 1, 3, 4]);
    K.unary('gt_scalar', h([5, -2, 0, 1], 'int32'), o, 4, 'int32', 0, 0);
    expect(vals(o)).toEqual([1, 0, 0, 1]);
    expect(() => K.unary('exp', h([1], 'int32'), o, 1, 'int32', 0, 0)).toThrow(TypeError);
  });
});

describe('unaryGrad', () => {
  const ops: [UnaryGradOp, UnaryOp, number, number][] = [
    ['relu', 'relu', 0, 0],
    ['gelu', 'gelu', 0, 0],
    ['gelu_tanh', 'gelu_tanh', 0, 0],
    ['silu', 'silu', 0, 0],
    ['tanh', 'tanh', 0, 0],
    ['sigmoid', 'sigmoid', 0, 0],
    ['softplus', 'softplus', 0, 0],
    ['leaky_relu', 'leaky_relu', 0.2, 0],
    ['elu', 'elu', 0.7, 0],
    ['clamp', 'clamp', -0.5, 0.6],
    ['abs', 'abs', 0, 0],
  ];
  const x = rnd(9, 3)
    .map((v) => v * 3)
    .concat([21, -21]);
  for (const [gop, op, a, b] of ops) {
    it(`${gop}: dx = dy·f'(x) against central differences (float64), float32 close`, () => {
      const n = x.length;
      const y = poisoned(n);
      K.unary(op, h(x), y, n, 'float64', a, b);
      const dy = rnd(n, 7);
      const dx = poisoned(n);
      K.unaryGrad(gop, h(x), y, h(dy), dx, n, 'float64', a, b);
      const f = (xs: number[]) => {
        const o = poisoned(n);
        K.unary(op, h(xs), o, n, 'float64', a, b);
        return o.data;
      };
      expectClose(vals(dx), numericGrad(f, x, dy), 1e-6, gop);
      const y32 = poisoned(n, 'float32');
      K.unary(op, h(x, 'float32'), y32, n, 'float32', a, b);
      const dx32 = poisoned(n, 'float32');
      K.unaryGrad(gop, h(x, 'float32'), y32, h(dy, 'float32'), dx32, n, 'float32', a, b);
      expectClose(vals(dx32), vals(dx), 1e-5, gop + ' f32');
    });
  }
});

function naiveBinary(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'div':
      return a / b;
    case 'pow':
      return a ** b;
    case 'maximum':
      return Math.max(a, b);
    case 'minimum':
      return Math.min(a, b);
    case 'eq':
      return +(a === b);
    case 'ne':
      return +(a !== b);
    case 'lt':
      return +(a < b);
    case 'le':
      return +(a <= b);
    case 'gt':
      return +(a > b);
    case 'ge':
      return +(a >= b);
  }
}

describe('binary and where with broadcasting', () => {
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
  it('(2,3,4) op (3,1) broadcast, all ops, float32 and float64', () => {
    const shape = [2, 3, 4];
    const a = rnd(24, 11).map((v) => Math.abs(v) * 2);
    const b = [0.5, a[5]!, 2]; // equal element for eq/ne
    for (const dt of FLOATS) {
      for (const op of ops) {
        const o = poisoned(24, dt);
        K.binary(op, h(a, dt), h(b, dt), o, shape, [12, 4, 1], [0, 1, 0], dt);
        const r = (v: number) => (dt === 'float32' ? Math.fround(v) : v);
        const exp: number[] = [];
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) exp.push(r(naiveBinary(op, r(a[i * 12 + j * 4 + k]!), r(b[j]!))));
        expectClose(vals(o), exp, tolFor(dt), op);
      }
    }
  });
  it('transposed operand strides, scalar (rank 0), int32', () => {
    const o = poisoned(6, 'int32');
    // a is (3,2) viewed as (2,3) by strides [1,2]; b is a scalar broadcast
    K.binary('sub', h([1, 2, 3, 4, 5, 6], 'int32'), h([10], 'int32'), o, [2, 3], [1, 2], [0, 0], 'int32');
    expect(vals(o)).toEqual([-9, -7, -5, -8, -6, -4]);
    K.binary('mul', h([65536, 3], 'int32'), h([65536, -4], 'int32'), o, [2], [1], [1], 'int32');
    expect(vals(o).slice(0, 2)).toEqual([0, -12]); // wraps like int32
    const s = poisoned(1);
    K.binary('add', h([2]), h([3]), s, [], [], [], 'float64');
    expect(vals(s)).toEqual([5]);
  });
  it('where picks a or b by cond != 0, broadcasting all three', () => {
    const o = poisoned(6);
    K.where(h([1, 0, 2], 'int32'), h([10, 20]), h([-1, -2, -3, -4, -5, -6]), o, [2, 3], [0, 1], [1, 0], [3, 1], 'int32', 'float64');
    expect(vals(o)).toEqual([10, -2, 10, 20, -5, 20]);
    const o2 = poisoned(3, 'float32');
    K.where(h([0, NaN, 1], 'float32'), h([1, 2, 3], 'float32'), h([7, 8, 9], 'float32'), o2, [3], [1], [1], [1], 'float32', 'float32');
    expect(vals(o2)).toEqual([7, 2, 3]);
  });
});

describe('addBiasAct', () => {
  it('adds bias per channel and applies the activation', () => {
    const x = rnd(2 * 3 * 4, 5);
    const bias = [0.5, -0.25, 1];
    const acts = {
      none: (v: number) => v,
      relu: (v: number) => Math.max(0, v),
      tanh: Math.tanh,
      sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
      gelu: (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
    };
    for (const dt of FLOATS) {
      for (const [act, f] of Object.entries(acts)) {
        const o = poisoned(24, dt);
        K.addBiasAct(h(x, dt), h(bias, dt), o, 2, 3, 4, act as 'none', dt);
        const r = (v: number) => (dt === 'float32' ? Math.fround(v) : v);
        expectClose(
          vals(o),
          x.map((v, i) => f(r(v) + r(bias[Math.floor(i / 4) % 3]!))),
          tolFor(dt),
          act,
        );
      }
    }
  });
});
