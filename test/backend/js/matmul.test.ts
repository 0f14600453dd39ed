import { describe, expect, it } from 'vitest';
import { FLOATS, K, expectClose, h, poisoned, rnd, vals } from './helpers.js';

/** out[b] = op(A[b])·op(B[b]) by the definition. */
function naive(
  a: number[],
  b: number[],
  batch: number,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
  sa: number,
  sb: number,
): number[] {
  const out: number[] = [];
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = tA ? a[z * sa + p * m + i]! : a[z * sa + i * k + p]!;
          const bv = tB ? b[z * sb + j * k + p]! : b[z * sb + p * n + j]!;
          s += av * bv;
        }
        out.push(s);
      }
  return out;
}

function check(
  batch: number,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
  bcastA: boolean,
  bcastB: boolean,
  dt: 'float32' | 'float64',
): void {
  const sa = bcastA ? 0 : m * k,
    sb = bcastB ? 0 : k * n;
  const a = rnd((bcastA ? 1 : batch) * m * k, m * 7 + k),
    b = rnd((bcastB ? 1 : batch) * k * n, n * 13 + k);
  const ar = dt === 'float32' ? a.map(Math.fround) : a,
    br = dt === 'float32' ? b.map(Math.fround) : b;
  const o = poisoned(batch * m * n, dt);
  K.matmul(h(a, dt), h(b, dt), o, batch, m, n, k, tA, tB, sa, sb, dt);
  const tol = dt === 'float32' ? 1e-6 * Math.sqrt(k) * 4 : 1e-13 * k;
  expectClose(
    vals(o),
    naive(ar, br, batch, m, n, k, tA, tB, sa, sb).map((v) => (dt === 'float32' ? Math.fround(v) : v)),
    tol,
    `matmul ${batch}x${m}x${n}x${k} tA=${tA} tB=${tB}`,
  );
}

describe('matmul', () => {
  it('2x2 by hand', () => {
    const o = poisoned(4);
    K.matmul(h([1, 2, 3, 4]), h([5, 6, 7, 8]), o, 1, 2, 2, 2, false, false, 0, 0, 'float64');
    expect(vals(o)).toEqual([19, 22, 43, 50]);
    K.matmul(h([1, 2, 3, 4]), h([5, 6, 7, 8]), o, 1, 2, 2, 2, true, true, 0, 0, 'float64');
    expect(vals(o)).toEqual([23, 31, 34, 46]); // Aᵀ·Bᵀ
  });
  for (const dt of FLOATS) {
    it(`blocked path against naive on odd shapes, all transposes (${dt})`, () => {
      for (const [m, n, k] of [
        [1, 37, 300],
        [37, 1, 129],
        [33, 29, 131],
        [130, 259, 5],
        [5, 3, 700],
        [67, 130, 257],
      ] as const) {
        for (const tA of [false, true]) for (const tB of [false, true]) check(1, m, n, k, tA, tB, false, false, dt);
      }
    });
    it(`batched with batch-stride-0 broadcast (${dt})`, () => {
      check(3, 17, 21, 19, false, false, false, false, dt);
      check(3, 17, 21, 19, true, false, true, false, dt);
      check(4, 9, 40, 33, false, true, false, true, dt);
      check(2, 2, 2, 2, false, false, true, true, dt); // tiny path
    });
  }
  it('k = 0 writes zeros', () => {
    const o = poisoned(6);
    K.matmul(h([]), h([]), o, 1, 2, 3, 0, false, false, 0, 0, 'float64');
    expect(vals(o)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
