import { describe, expect, it } from 'vitest';
import { FLOATS, K, expectClose, h, numericGrad, poisoned, rnd, vals } from './helpers.js';

describe('indexSelect / gather', () => {
  it('indexSelect (embedding and middle axis), backward accumulates repeats', () => {
    for (const dt of ['float32', 'float64', 'int32'] as const) {
      const o = poisoned(6, dt);
      K.indexSelect(h([10, 11, 20, 21, 30, 31], dt), h([2, 0, 2], 'int32'), o, 1, 3, 2, 3, dt);
      expect(vals(o)).toEqual([30, 31, 10, 11, 30, 31]);
    }
    // x (2, 3, 1), select along the middle axis
    const o2 = poisoned(4);
    K.indexSelect(h([1, 2, 3, 4, 5, 6]), h([1, 1], 'int32'), o2, 2, 3, 1, 2, 'float64');
    expect(vals(o2)).toEqual([2, 2, 5, 5]);
    for (const dt of FLOATS) {
      const dx = poisoned(6, dt);
      K.indexSelectBackward(h([1, 2, 3, 4, 5, 6], dt), h([2, 0, 2], 'int32'), dx, 1, 3, 2, 3, dt);
      expect(vals(dx)).toEqual([3, 4, 0, 0, 6, 8]);
    }
  });
  it('gather and gatherBackward along the middle axis', () => {
    // x (2, 3, 2); idx (2, 2, 2)
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const idx = h([2, 0, 0, 0, 1, 2, 1, 1], 'int32');
    for (const dt of ['float32', 'float64', 'int32'] as const) {
      const o = poisoned(8, dt);
      K.gather(h(x, dt), idx, o, 2, 3, 2, 2, dt);
      expect(vals(o)).toEqual([5, 2, 1, 2, 9, 12, 9, 10]);
    }
    const dx = poisoned(12);
    K.gatherBackward(h([1, 1, 1, 1, 1, 1, 1, 1]), idx, dx, 2, 3, 2, 2, 'float64');
    expect(vals(dx)).toEqual([1, 2, 0, 0, 1, 0, 0, 0, 2, 1, 0, 1]);
  });
  it('bad indices throw a RangeError naming the kernel', () => {
    expect(() => K.indexSelect(h([1, 2]), h([2], 'int32'), poisoned(1), 1, 2, 1, 1, 'float64')).toThrow(RangeError);
    expect(() => K.indexSelect(h([1, 2]), h([-1], 'int32'), poisoned(1), 1, 2, 1, 1, 'float64')).toThrow(/indexSelect: index -1/);
    expect(() => K.indexSelectBackward(h([1]), h([5], 'int32'), poisoned(2), 1, 2, 1, 1, 'float64')).toThrow(/indexSelectBackward/);
    expect(() => K.gather(h([1, 2]), h([3], 'int32'), poisoned(1), 1, 2, 1, 1, 'float64')).toThrow(/gather: index 3/);
    expect(() => K.gatherBackward(h([1]), h([2], 'int32'), poisoned(2), 1, 2, 1, 1, 'float64')).toThrow(/gatherBackward/);
  });
});

function refLogSoftmax(x: number[], rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = x.slice(r * cols, r * cols + cols);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    for (const v of row) out.push(v - lse);
  }
  return out;
}

describe('softmax / log-softmax', () => {
  it('forward against the definition, stable for large logits', () => {
    const x = rnd(3 * 5, 21)
      .map((v) => v * 4)
      .concat([1000, 1001, 1002, -1000, 999]);
    const ref = refLogSoftmax(x, 4, 5);
    for (const dt of FLOATS) {
      const tol = dt === 'float32' ? 1e-5 : 1e-13;
      const xr = dt === 'float32' ? x.map(Math.fround) : x;
      const refr = refLogSoftmax(xr, 4, 5);
      const y = poisoned(20, dt);
      K.softmax(h(x, dt), y, 4, 5, true, dt);
      expectClose(vals(y), refr, tol, 'logsoftmax');
      K.softmax(h(x, dt), y, 4, 5, false, dt);
      expectClose(vals(y), refr.map(Math.exp), tol, 'softmax');
    }
    expect(ref[15]).toBeCloseTo(-2 - Math.log(1 + Math.exp(-1) + Math.exp(-2) + Math.exp(-3)), 12);
  });
  for (const log of [false, true]) {
    it(`backward (log=${log}) against finite differences`, () => {
      const x = rnd(12, 22);
      const f = (xs: number[]) => {
        const y = poisoned(12);
        K.softmax(h(xs), y, 3, 4, log, 'float64');
        return y.data;
      };
      const dy = rnd(12, 23);
      const y = h(Array.from(f(x)));
      const dx = poisoned(12);
      K.softmaxBackward(y, h(dy), dx, 3, 4, log, 'float64');
      expectClose(vals(dx), numericGrad(f, x, dy), 1e-8, 'dx');
    });
  }
});

describe('crossEntropy', () => {
  const rows = 4,
    cols = 5;
  const x = rnd(rows * cols, 31).map((v) => v * 3);
  const t = [2, 0, 4, 1];
  for (const eps of [0, 0.1]) {
    it(`loss and backward, label smoothing ${eps}, ignoreIndex`, () => {
      const lp = refLogSoftmax(x, rows, cols);
      const ref = t.map((ti, r) =>
        r === 3 ? 0 : -(1 - eps) * lp[r * cols + ti]! - (eps / cols) * lp.slice(r * cols, r * cols + cols).reduce((s, v) => s + v, 0),
      );
      const tt = [2, 0, 4, -100];
      for (const dt of FLOATS) {
        const loss = poisoned(rows, dt);
        K.crossEntropy(h(x, dt), h(tt, 'int32'), loss, rows, cols, eps, -100, dt);
        expectClose(vals(loss), ref, dt === 'float32' ? 1e-5 : 1e-13, 'loss');
      }
      const f = (xs: number[]) => {
        const l = poisoned(rows);
        K.crossEntropy(h(xs), h(tt, 'int32'), l, rows, cols, eps, -100, 'float64');
        return l.data;
      };
      const dl = [0.5, -1, 2, 3];
      const dx = poisoned(rows * cols);
      K.crossEntropyBackward(h(x), h(tt, 'int32'), h(dl), dx, rows, cols, eps, -100, 'float64');
      expectClose(vals(dx), numericGrad(f, x, dl), 1e-8, 'dlogits');
      expect(vals(dx).slice(15)).toEqual([0, 0, 0, 0, 0]);
    });
  }
  it('targets out of range throw a RangeError naming the kernel', () => {
    expect(() => K.crossEntropy(h(x), h([5, 0, 0, 0], 'int32'), poisoned(4), rows, cols, 0, -100, 'float64')).toThrow(RangeError);
    expect(() => K.crossEntropy(h(x), h([0, -1, 0, 0], 'int32'), poisoned(4), rows, cols, 0, -100, 'float64')).toThrow(
      /crossEntropy: target -1/,
    );
    expect(() =>
      K.crossEntropyBackward(h(x), h([0, 0, 7, 0], 'int32'), h([1, 1, 1, 1]), poisoned(20), rows, cols, 0, -100, 'float64'),
    ).toThrow(/crossEntropyBackward/);
  });
});
