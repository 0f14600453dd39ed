// Round to nearest even to bfloat16 / float16, keeping float32 storage.
//
// The js backend stores no 2-byte floats, so on CPU autocast computes with float32 tensors whose
// values are exactly the low-precision values torch's casts give (x.to(bfloat16).float()): the
// products of two such values are exact in float32 (8+8 or 11+11 significant bits ≤ 24), so a
// float32 GEMM over them is "low-precision inputs, fp32 accumulation", the same arithmetic as a
// bf16/f16 tensor-core GEMM, and rounding its output once more gives the low-precision result.
//
//   bfloat16: keep the top 16 bits of the float32 pattern, rounding the low 16 to nearest even
//             (the float32 exponent range: no new overflow or subnormals);
//   float16:  10 mantissa bits, normal down to 2^-14, subnormal multiples of 2^-24 below that,
//             ±Infinity past 65504 (65520 rounds up to Infinity, as in IEEE 754 and torch).
// NaN stays NaN (quieted); ±0 and ±Infinity are kept.

import { needsGrad, record } from '../autograd/record.js';
import { fromHost } from '../ops/creation.js';
import { cast } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import type { AutocastDType } from './state.js';

/** Rounds a float32 array to bfloat16 values in place (round to nearest even). */
export function roundBf16Array(f: Float32Array): Float32Array {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i]!;
    if ((b & 0x7f800000) === 0x7f800000) {
      if (b & 0x007fffff) u[i] = (b | 0x00400000) & 0xffff0000; // NaN: quiet, keep the top bits
      continue;
    }
    u[i] = (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
  }
  return f;
}

const TWO24 = 16777216;

/** Rounds a float32 array to float16 values in place (round to nearest even, IEEE 754 half). */
export function roundF16Array(f: Float32Array): Float32Array {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i]!;
    const a = b & 0x7fffffff;
    if (a >= 0x7f800000) {
      if (a > 0x7f800000) u[i] = b | 0x00400000;
      continue;
    }
    if (a >= 0x38800000) {
      // normal in float16 (|x| ≥ 2^-14): round the mantissa to 10 bits; past 65504 is Infinity
      let r = (a + 0xfff + ((a >>> 13) & 1)) & 0xffffe000;
      if (r > 0x477fe000) r = 0x7f800000;
      u[i] = (b & 0x80000000) | r;
      continue;
    }
    // subnormal in float16: a multiple of 2^-24 (the scaling by 2^24 is exact)
    const x = f[i]!;
    const s = Math.abs(x) * TWO24;
    const fl = Math.floor(s);
    const d = s - fl;
    const n = d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
    f[i] = (b & 0x80000000 ? -n : n) / TWO24;
    if (n === 0 && b & 0x80000000) f[i] = -0;
  }
  return f;
}

/** Rounds a float32 array in place to the values of dtype. */
export function roundArray(f: Float32Array, dtype: AutocastDType): Float32Array {
  return dtype === 'bfloat16' ? roundBf16Array(f) : roundF16Array(f);
}

/** One float32 number rounded to dtype's nearest value. */
export function roundValue(x: number, dtype: AutocastDType): number {
  return roundArray(new Float32Array([x]), dtype)[0]!;
}

/**
 * A float32 copy of x with every value rounded to dtype (on the js backend on the host; elsewhere by
 * a device cast pair).
 * Differentiable like torch's cast pair x.to(low).float(): the gradient reaching the low-precision
 * tensor is itself low precision, so backward rounds g the same way.
 */
export function roundTo(x: Tensor, dtype: AutocastDType): Tensor {
  if (x.dtype !== 'float32') throw new TypeError(`roundTo: expected a float32 tensor, got ${x.dtype} (autocast rounds float32 only)`);
  if (x.backend.name !== 'js') {
    // a backend with 2-byte storage (cuda) rounds on the device: float32 → low → float32, no readback;
    // the casts' backward casts g the same way
    const low = cast(x, dtype);
    const y = cast(low, 'float32');
    low.dispose();
    return y;
  }
  const host = x.dataSync() as Float32Array; // a copy: the js backend's read slices
  roundArray(host, dtype);
  const y = fromHost(host, [...x.shape], 'float32', x.device);
  if (needsGrad(x)) record(`roundTo(${dtype})`, [y], [x], ([g]) => [roundTo(g!, dtype)]);
  return y;
}
