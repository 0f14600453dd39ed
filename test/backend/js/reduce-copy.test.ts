import { describe, expect, it } from 'vitest';
import { FLOATS, K, expectClose, h, poisoned, rnd, tolFor, vals } from './helpers.js';

describe('reduce', () => {
  it('sum/max/min/prod over the middle axis against a naive loop', () => {
    const [outer, r, inner] = [3, 5, 7];
    const x = rnd(outer * r * inner, 2);
    for (const dt of FLOATS) {
      for (const op of ['sum', 'max', 'min', 'prod'] as const) {
        const o = poisoned(outer * inner, dt);
        K.reduce(op, h(x, dt), o, outer, r, inner, dt);
        const xr = dt === 'float32' ? x.map(Math.fround) : x;
        const exp: number[] = [];
        for (let a = 0; a < outer; a++)
          for (let c = 0; c < inner; c++) {
            const col = Array.from({ length: r }, (_, j) => xr[(a * r + j) * inner + c]!);
            exp.push(
              op === 'sum'
                ? col.reduce((s, v) => s + v, 0)
                : op === 'prod'
                  ? col.reduce((s, v) => s * v, 1)
                  : op === 'max'
                    ? Math.max(...col)
                    : Math.min(...col),
            );
          }
        expectClose(vals(o), exp, tolFor(dt), op);
      }
    }
  });
  it('r = 0 writes the identity (sum 0), int32 sums, NaN propagates through max', () => {
    const o = poisoned(2);
    K.reduce('sum', h([]), o, 2, 0, 1, 'float64');
    expect(vals(o)).toEqual([0, 0]);
    const oi = poisoned(1, 'int32');
    K.reduce('sum', h([1, 2, 3], 'int32'), oi, 1, 3, 1, 'int32');
    expect(vals(oi)).toEqual([6]);
    const on = poisoned(1);
    K.reduce('max', h([1, NaN, 3]), on, 1, 3, 1, 'float64');
    expect(Number.isNaN(on.data[0])).toBe(true);
  });
  it('argmax/argmin return the first extremum; NaN counts as the max', () => {
    const o = poisoned(4, 'int32');
    // (outer 2, r 3, inner 2)
    const x = [1, 5, 3, 5, 3, 0, /* */ 2, 2, 2, 2, -1, 7];
    K.argReduce('argmax', h(x), o, 2, 3, 2, 'float64');
    expect(vals(o)).toEqual([1, 0, 0, 2]);
    K.argReduce('argmin', h(x, 'float32'), o, 2, 3, 2, 'float32');
    expect(vals(o)).toEqual([0, 2, 2, 0]);
    const o1 = poisoned(1, 'int32');
    K.argReduce('argmax', h([1, NaN, 9, NaN]), o1, 1, 4, 1, 'float64');
    expect(vals(o1)).toEqual([1]);
    K.argReduce('argmax', h([4, 9, 9], 'int32'), o1, 1, 3, 1, 'int32');
    expect(vals(o1)).toEqual([1]);
  });
});

describe('stridedCopy', () => {
  it('transposes a (2,3) into (3,2)', () => {
    for (const dt of ['float32', 'float64', 'int32'] as const) {
      const o = poisoned(6, dt);
      K.stridedCopy(h([1, 2, 3, 4, 5, 6], dt), o, [3, 2], [1, 3], 0, [2, 1], 0, dt, false);
      expect(vals(o)).toEqual([1, 4, 2, 5, 3, 6]);
    }
  });
  it('slices with an offset, expands with stride 0, and accumulates', () => {
    const src = h([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // (3, 4)
    const o = poisoned(4);
    K.stridedCopy(src, o, [2, 2], [4, 1], 5, [2, 1], 0, 'float64', false); // x[1:3, 1:3]
    expect(vals(o)).toEqual([5, 6, 9, 10]);
    const e = poisoned(6);
    K.stridedCopy(h([7, 8]), e, [3, 2], [0, 1], 0, [2, 1], 0, 'float64', false);
    expect(vals(e)).toEqual([7, 8, 7, 8, 7, 8]);
    const acc = h([1, 1, 1, 1, 1, 1]);
    K.stridedCopy(h([10, 20, 30]), acc, [3], [1], 0, [2], 1, 'float64', true);
    expect(vals(acc)).toEqual([1, 11, 1, 21, 1, 31]);
    const s = h([0, 0, 0]);
    K.stridedCopy(h([4, 5]), s, [], [], 1, [], 2, 'float64', false);
    expect(vals(s)).toEqual([0, 0, 5]);
  });
  it('a 4-d permute against a naive loop (cat piece into the middle of dst)', () => {
    const shape = [2, 3, 4, 5];
    const x = rnd(120, 9);
    const o = poisoned(2 * 5 * 4 * 3 + 7, 'float32');
    o.data.fill(0);
    // permute (0, 3, 2, 1): dst shape (2, 5, 4, 3) contiguous, placed at offset 7
    K.stridedCopy(h(x, 'float32'), o, shape, [60, 20, 5, 1], 0, [60, 1, 3, 12], 7, 'float32', false);
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 3; b++)
        for (let c = 0; c < 4; c++)
          for (let d = 0; d < 5; d++) {
            expect(o.data[7 + a * 60 + d * 12 + c * 3 + b]).toBe(Math.fround(x[a * 60 + b * 20 + c * 5 + d]!));
          }
    expect(Array.from(o.data.slice(0, 7))).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});
