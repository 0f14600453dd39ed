// int8 storage for quantized models, and the affine quantization arithmetic.
//
// Why a holder and not an 'int8' dtype: the tensor library's dtypes (lib/dtype.ts) are the ones
// every backend kernel implements (unary, binary, reductions, matmul, conv, …); adding 'int8' and
// 'uint8' would mean teaching each kernel (js and cuda) what to do with them, or guarding each op
// against them, for types that quantized inference only ever feeds to one kind of kernel (qgemm).
// So a QTensor is a small, immutable host-side holder (like torch's quantized tensor, whose
// storage only quantized kernels read): the int8/uint8 values, the shape, and the affine
// parameters — one scale and zero point per tensor, or per channel along `axis` — with
// real = scale · (q − zeroPoint). It is not a Tensor: no autograd, no device, no ops.
//
// Conventions (and where they come from):
//   - weights: qint8, per output channel, symmetric (zeroPoint 0), scale = max|w| / 127 and
//     q ∈ [−127, 127] (ONNX Runtime's symmetric int8 range; torch's observer uses max|w| / 127.5
//     with [−128, 127]). Keeping −128 out means q and −q are both representable and the products of
//     uint8 activations with weights stay in the range int8 SIMD kernels assume.
//   - activations: quint8, per tensor, asymmetric (a zero point), computed per batch from the batch's
//     min and max widened to include 0 (so 0 is exact, as padding and ReLU need). With reduceRange
//     (torch's fbgemm default for dynamic quantization) the range is [0, 127] instead of [0, 255]: a
//     u8 × s8 pair sum in AVX2's vpmaddubsw saturates at int16, and 7-bit activations keep
//     2 · 127 · 127 < 32767.
//   - rounding: half to even (torch's nearbyint), then clamp.

import { nativeCpu } from '../backend/js/native-cpu.js';

export type QDType = 'qint8' | 'quint8';

/** Rounds half to even (2.5 → 2, 3.5 → 4), as C's nearbyint in the default mode. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export class QTensor {
  /** number of elements */
  readonly size: number;
  constructor(
    readonly dtype: QDType,
    readonly shape: readonly number[],
    /** the quantized values, row-major */
    readonly data: Int8Array | Uint8Array,
    /** one scale per tensor (length 1) or per channel along `axis` */
    readonly scale: Float32Array,
    readonly zeroPoint: Int32Array,
    /** the channel axis of per-channel parameters, null for per-tensor */
    readonly axis: number | null,
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== this.size)
      throw new RangeError(`QTensor: ${data.length} values for shape [${shape.join(', ')}] (${this.size} elements)`);
    if ((dtype === 'qint8') !== data instanceof Int8Array)
      throw new TypeError(`QTensor: ${dtype} data must be an ${dtype === 'qint8' ? 'Int8Array' : 'Uint8Array'}`);
    const channels = axis === null ? 1 : shape[axis];
    if (channels === undefined) throw new RangeError(`QTensor: axis ${axis} out of range for shape [${shape.join(', ')}]`);
    if (scale.length !== channels || zeroPoint.length !== channels) {
      throw new RangeError(
        `QTensor: ${axis === null ? 'per-tensor' : `per-channel (axis ${axis}, ${channels} channels)`} parameters need ${channels} scales and zero points, got ${scale.length} and ${zeroPoint.length}`,
      );
    }
    for (let i = 0; i < channels; i++) {
      if (!(scale[i]! > 0) || !Number.isFinite(scale[i]!))
        throw new RangeError(`QTensor: scale[${i}] must be a positive finite number, got ${scale[i]}`);
    }
  }

  /** Bytes of the values plus their scales (float32) and zero points (int32). */
  get nbytes(): number {
    return this.data.byteLength + this.scale.byteLength + this.zeroPoint.byteLength;
  }

  /** real values, row-major: scale · (q − zeroPoint) */
  dequantize(): Float32Array {
    const out = new Float32Array(this.size);
    const { data, scale, zeroPoint } = this;
    if (this.axis === null) {
      for (let i = 0; i < this.size; i++) out[i] = scale[0]! * (data[i]! - zeroPoint[0]!);
      return out;
    }
    // channel c of element i: (i / inner) % channels, inner = product of the dims after axis
    const inner = this.shape.slice(this.axis + 1).reduce((a, b) => a * b, 1);
    const channels = this.shape[this.axis]!;
    for (let i = 0; i < this.size; i++) {
      const c = Math.floor(i / inner) % channels;
      out[i] = scale[c]! * (data[i]! - zeroPoint[c]!);
    }
    return out;
  }
}

/**
 * Per-row symmetric qint8 of a (rows, cols) row-major matrix (a Linear weight (out, in): one scale
 * per output channel). scale = max|w| / 127 (an all-zero row gets scale 1), q = clamp(round(w / scale), ±127).
 */
export function quantizeWeightPerChannel(w: ArrayLike<number>, rows: number, cols: number): QTensor {
  if (w.length !== rows * cols) throw new RangeError(`quantizeWeightPerChannel: ${w.length} values for a (${rows}, ${cols}) weight`);
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let c = 0; c < cols; c++) {
      const v = w[r * cols + c]!;
      if (!Number.isFinite(v))
        throw new RangeError(`quantizeWeightPerChannel: weight[${r}, ${c}] is ${v}; a weight with NaN or infinity cannot be quantized`);
      amax = Math.max(amax, Math.abs(v));
    }
    const s = Math.fround(amax > 0 ? amax / 127 : 1);
    scale[r] = s;
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, roundHalfEven(w[r * cols + c]! / s)));
  }
  return new QTensor('qint8', [rows, cols], q, scale, new Int32Array(rows), 0);
}

/** Affine parameters of a quint8 range [qmin, qmax] covering [min(lo, 0), max(hi, 0)] (torch's _calculate_qparams). */
export function activationParams(
  lo: number,
  hi: number,
  reduceRange: boolean,
): { scale: number; zeroPoint: number; qmin: number; qmax: number } {
  const qmin = 0;
  const qmax = reduceRange ? 127 : 255;
  const mn = Math.min(lo, 0);
  const mx = Math.max(hi, 0);
  let scale = Math.fround((mx - mn) / (qmax - qmin));
  // torch: scale = max(scale, eps) — an all-zero batch still gets a usable scale
  if (!(scale > Number.EPSILON)) scale = Math.fround(Number.EPSILON);
  const zeroPoint = Math.max(qmin, Math.min(qmax, qmin - roundHalfEven(mn / scale)));
  return { scale, zeroPoint, qmin, qmax };
}

/**
 * Dynamic per-tensor quint8 quantization of activations (one batch): min/max of the values, the
 * parameters above, q = clamp(round(x / scale) + zeroPoint, qmin, qmax).
 */
export function quantizeActivations(x: ArrayLike<number>, reduceRange = true): { data: Uint8Array; scale: number; zeroPoint: number } {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v !== v) throw new RangeError(`quantizeActivations: input element ${i} is NaN; NaN cannot be quantized`);
  }
  if (x.length === 0) {
    lo = 0;
    hi = 0;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi))
    throw new RangeError('quantizeActivations: the input holds an infinity; it cannot be quantized');
  const { scale, zeroPoint, qmin, qmax } = activationParams(lo, hi, reduceRange);
  const data = new Uint8Array(x.length);
  // the addon's cpuQuantizeU8 when loaded (the same rounding bit for bit), else the loop below
  const nat = x instanceof Float32Array ? nativeCpu()?.cpuQuantizeU8 : undefined;
  if (typeof nat === 'function') {
    nat(x as Float32Array, data, x.length, scale, zeroPoint, qmin, qmax, 0);
    return { data, scale, zeroPoint };
  }
  const inv = 1 / scale;
  // (t + 1.5·2^52) − 1.5·2^52 rounds half to even for |t| < 2^51 (= roundHalfEven); t clamped first
  const MAGIC = 6755399441055744;
  const tlo = qmin - zeroPoint - 1,
    thi = qmax - zeroPoint + 1;
  for (let i = 0; i < x.length; i++) {
    let t = x[i]! * inv;
    t = t < tlo ? tlo : t > thi ? thi : t;
    const q = t + MAGIC - MAGIC + zeroPoint;
    data[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return { data, scale, zeroPoint };
}
