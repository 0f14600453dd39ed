// Helpers shared by the op benchmarks: seeded random host data, moving tensors between devices,
// comparing outputs, input rotation, and the counter window of one call.

import { costDelta, costSnapshot } from '../../lib/backend/counter.js';
import type { DType, TypedArray } from '../../lib/dtype.js';
import { fromHost, uniform } from '../../lib/ops/creation.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchContext, Validation } from './types.js';

/** xorshift32 in [-1, 1): deterministic, fast, never all zeros. */
export function randomArray(n: number, seed = 1, low = -1, high = 1): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const scale = (high - low) / 4294967296;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    a[i] = low + s * scale;
  }
  return a;
}

export function randomInts(n: number, high: number, seed = 1): Int32Array {
  const r = randomArray(n, seed, 0, 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(high - 1, Math.floor(r[i]! * high));
  return out;
}

/**
 * A random tensor on the context's device. Small tensors come from host data (seeded); large ones
 * on a GPU (> 64 Ki elements) are drawn on the device with the Philox RNG (no host array, no upload).
 */
export function randTensor(ctx: BenchContext, shape: number[], dtype: DType, seed: number, low = -1, high = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > (ctx.device === 'cpu' ? 64 * 1024 * 1024 : 65536)) return uniform(shape, low, high, { device: ctx.device, dtype });
  return fromHost(randomArray(n, seed, low, high), shape, dtype, ctx.device);
}

/** A copy of t on the js backend (float32 for reduced-precision dtypes). */
export function toCpu(t: Tensor): Tensor {
  const d = t.dataSync();
  const dtype: DType = t.dtype === 'bfloat16' || t.dtype === 'float16' ? 'float32' : t.dtype;
  return fromHost(d, [...t.shape], dtype, 'cpu');
}

/** Tolerances by dtype for results of long reductions (K up to ~10^4). */
export function tolerance(dtype: string, k = 1): { atol: number; rtol: number } {
  const grow = Math.sqrt(Math.max(1, k));
  if (dtype === 'bfloat16') return { atol: 2e-2 * grow, rtol: 2e-2 };
  if (dtype === 'float16') return { atol: 5e-3 * grow, rtol: 5e-3 };
  if (dtype === 'float64') return { atol: 1e-9 * grow, rtol: 1e-9 };
  return { atol: 2e-5 * grow, rtol: 1e-4 };
}

/** Element-wise comparison; worst = max |a−b| / (atol + rtol·|b|). */
export function compare(
  ours: TypedArray,
  ref: TypedArray | Float64Array,
  tol: { atol: number; rtol: number },
  against: string,
): Validation {
  if (ours.length !== ref.length) return { ok: false, worst: Infinity, against, note: `length ${ours.length} vs ${ref.length}` };
  let worst = 0;
  let where = -1;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!,
      b = ref[i]!;
    const e = Math.abs(a - b) / (tol.atol + tol.rtol * Math.abs(b));
    if (!(e <= worst)) {
      worst = Number.isNaN(e) ? Infinity : e;
      where = i;
    }
  }
  return { ok: worst <= 1, worst, against, ...(worst > 1 ? { note: `index ${where}: ${ours[where]} vs ${ref[where]}` } : {}) };
}

/** Merges several validations (all must pass). */
export function allOf(vs: Validation[]): Validation {
  const bad = vs.find((v) => !v.ok);
  const worst = Math.max(0, ...vs.map((v) => v.worst));
  return { ok: !bad, worst, against: [...new Set(vs.map((v) => v.against))].join('; '), ...(bad?.note ? { note: bad.note } : {}) };
}

/**
 * How many copies of the inputs to rotate through so the working set exceeds the cache
 * (2× the last-level cache), capped by `maxCopies` and by memory.
 */
export function rotationCopies(ctx: BenchContext, inputBytes: number, maxCopies = 8): number {
  if (inputBytes <= 0) return 1;
  const want = Math.ceil((2 * ctx.cacheBytes) / inputBytes);
  const memCap = ctx.memoryBytes ? Math.floor((0.25 * ctx.memoryBytes) / inputBytes) : maxCopies;
  return Math.max(1, Math.min(want, maxCopies, memCap));
}

/** FLOPs and bytes the counter recorded for `kernels` while fn ran. */
export function countedBy(kernels: string[], fn: () => void): { flops: number; bytes: number } {
  const a = costSnapshot();
  fn();
  const d = costDelta(a, costSnapshot());
  let flops = 0,
    bytes = 0;
  for (const k of kernels) {
    flops += d.byKernel[k]?.flops ?? 0;
    bytes += d.byKernel[k]?.bytes ?? 0;
  }
  return { flops, bytes };
}

export function disposeAll(ts: Iterable<Tensor | null | undefined>): void {
  for (const t of ts) if (t && !t.isDisposed) t.dispose();
}

/** "32x3x224x224" */
export const dims = (s: readonly number[]): string => s.join('x');
