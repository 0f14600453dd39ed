// Shared helpers for the js backend's kernel tests: handles from arrays, poisoned outputs,
// seeded random inputs (never zeros) and finite-difference gradients in float64.
import { expect } from 'vitest';
import { createJsBackend, type JsHandle } from '../../../lib/backend/js/index.js';
import type { HostDType } from '../../../lib/dtype.js';

export const be = createJsBackend();
export const K = be.kernels;
export const FLOATS = ['float32', 'float64'] as const;

export function h(values: ArrayLike<number>, dtype: HostDType = 'float64'): JsHandle {
  const x = be.alloc(values.length, dtype) as JsHandle;
  be.upload(
    x,
    dtype === 'float64' ? Float64Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values),
    dtype,
  );
  return x;
}

/** An output handle filled with NaN (floats) or a sentinel (int32), so unwritten elements show. */
export function poisoned(n: number, dtype: HostDType = 'float64'): JsHandle {
  const x = be.alloc(n, dtype) as JsHandle;
  x.data.fill(dtype === 'int32' ? -123456 : NaN);
  return x;
}

export function vals(x: JsHandle): number[] {
  return Array.from(x.data);
}

/** Deterministic pseudo-random numbers in [-1, -0.1] ∪ [0.1, 1] (never zero). */
export function rnd(n: number, seed = 1): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const u = s / 4294967296;
    const m = 0.1 + 0.9 * ((u * 2) % 1);
    out.push(u < 0.5 ? -m : m);
  }
  return out;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!,
      e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${what}[${i}] = ${a}, expected NaN`).toBe(true);
      continue;
    }
    if (!Number.isFinite(e)) {
      expect(a, `${what}[${i}]`).toBe(e);
      continue;
    }
    const err = Math.abs(a - e);
    if (!(err <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (|err| ${err} > tol ${tol})`);
    }
  }
}

export function tolFor(dtype: 'float32' | 'float64'): number {
  return dtype === 'float32' ? 2e-5 : 1e-12;
}

/**
 * Numeric gradient of L(x) = Σ_i f(x)_i · w_i with central differences (float64).
 * f takes a plain array and returns the output array.
 */
export function numericGrad(f: (x: number[]) => ArrayLike<number>, x: number[], w: ArrayLike<number>, step = 1e-6): number[] {
  const g: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const xp = x.slice();
    xp[i]! += step;
    const xm = x.slice();
    xm[i]! -= step;
    const yp = f(xp),
      ym = f(xm);
    let s = 0;
    for (let j = 0; j < w.length; j++) s += (yp[j]! - ym[j]!) * w[j]!;
    g.push(s / (2 * step));
  }
  return g;
}
