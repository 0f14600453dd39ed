// Shared by test/native/cpu-*.test.ts: the addon's CPU kernels (if the loaded addon has them),
// fresh random inputs and the js reference. The suites skip, saying why, without them.
import { loadNative } from '../../lib/native.js';
import type { NativeCpuBinding } from '../../lib/backend/js/native-cpu.js';
import { JsHandle } from '../../lib/backend/js/handle.js';
import { matmul as jsMatmul } from '../../lib/backend/js/matmul.js';

const load = loadNative();
const b = load.binding as unknown as Partial<NativeCpuBinding> | null;
/** the addon's CPU entry points, or null */
export const cpu: NativeCpuBinding | null = b && typeof b.cpuMatmul === 'function' ? (b as NativeCpuBinding) : null;
/** the addon file, for child processes */
export const addonPath = load.path;
/** appended to describe names when skipping */
export const noCpuLabel = cpu
  ? ''
  : ` [skipped: ${load.binding ? 'the loaded addon has no CPU kernels (rebuild: npm run build:native)' : `no native addon built (${load.error})`}]`;

/** A fresh seed per run (printed in failures) and a small xorshift generator over it. */
export const SEED = (Date.now() ^ (process.pid << 8)) >>> 0;
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296 - 0.5;
  };
}

export type F = Float32Array | Float64Array;
export function randArray(T: 'float32' | 'float64', n: number, r: () => number): F {
  const a = T === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * r();
  return a;
}

export interface MM {
  batch: number;
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  aBS: number;
  bBS: number;
}

/** The js backend's matmul (the reference), into a fresh array of out's type. */
export function jsRef(dtype: 'float32' | 'float64', A: F, B: F, s: MM): F {
  const out = dtype === 'float32' ? new Float32Array(s.batch * s.m * s.n) : new Float64Array(s.batch * s.m * s.n);
  jsMatmul(
    new JsHandle(A, dtype),
    new JsHandle(B, dtype),
    new JsHandle(out, dtype),
    s.batch,
    s.m,
    s.n,
    s.k,
    s.ta,
    s.tb,
    s.aBS,
    s.bBS,
    dtype,
  );
  return out;
}

/** Σ_p |op(A)(i,p)|·|op(B)(p,j)| per element: the scale of the rounding error bound. */
export function absScale(A: F, B: F, s: MM): Float64Array {
  const out = new Float64Array(s.batch * s.m * s.n);
  for (let bi = 0; bi < s.batch; bi++) {
    for (let i = 0; i < s.m; i++) {
      for (let j = 0; j < s.n; j++) {
        let acc = 0;
        for (let p = 0; p < s.k; p++) {
          const a = A[bi * s.aBS + (s.ta ? p * s.m + i : i * s.k + p)]!;
          const bb = B[bi * s.bBS + (s.tb ? j * s.k + p : p * s.n + j)]!;
          acc += Math.abs(a * bb);
        }
        out[(bi * s.m + i) * s.n + j] = acc;
      }
    }
  }
  return out;
}

/** First element where |got - ref| exceeds (k+2)·eps·scale (a rigorous bound for any summation order), or null. */
export function firstBad(got: F, ref: F, scale: Float64Array, k: number, dtype: 'float32' | 'float64'): string | null {
  const eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    if (!(d <= 2 * (k + 2) * eps * scale[i]! + Number.MIN_VALUE))
      return `element ${i}: got ${got[i]}, js reference ${ref[i]} (scale ${scale[i]})`;
  }
  return null;
}
