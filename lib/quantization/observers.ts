// Observers: modules that watch the values flowing through a prepared model (calibration) and turn
// what they saw into quantization parameters, after torch.ao.quantization.observer.
//
//   MinMaxObserver                 running min and max (per tensor)
//   MovingAverageMinMaxObserver    min/max as an exponential moving average (averagingConstant 0.01)
//   HistogramObserver              a histogram of the values; the range is chosen to minimise the
//                                  quantization error over the histogram (torch's L2 search, here a
//                                  search over tail cuts), or cut at a percentile when `percentile`
//   PerChannelMinMaxObserver       min and max per channel along chAxis (weights: per output channel)
//
// Every observer is a Module whose forward(x) records x and returns x unchanged, so prepare() can
// put it in the forward path. calculateQparams() → { scale, zeroPoint } (Float32Array / Int32Array,
// length 1 or the channel count), by torch's _calculate_qparams:
//   affine:     scale = (max(hi, 0) − min(lo, 0)) / (qmax − qmin), zeroPoint = qmin − round(lo / scale)
//   symmetric:  scale = max(|lo|, |hi|) / ((qmax − qmin) / 2), zeroPoint = 0 (qint8) or 128 (quint8)
//   scale ≥ float32 eps; rounding half to even.
// Ranges: quint8 [0, 255] ([0, 127] with reduceRange), qint8 [−128, 127] ([−64, 63]); or
// quantMin/quantMax. The weight observers of the default qconfigs use qint8 [−127, 127] (torch's
// qnnpack-symmetric choice, and the convention of the dynamic layers: q and −q both representable).

import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { checkOptions } from '../options.js';
import { roundHalfEven, type QDType } from './qtensor.js';

export type QScheme = 'per_tensor_affine' | 'per_tensor_symmetric' | 'per_channel_affine' | 'per_channel_symmetric';

export interface ObserverOptions {
  /** 'quint8' (activations, default) or 'qint8' */
  dtype?: QDType;
  /** default per_tensor_affine (per_channel_symmetric for PerChannelMinMaxObserver) */
  qscheme?: QScheme;
  /** one bit less of range (torch's fbgemm default for activations: vpmaddubsw's int16 headroom) */
  reduceRange?: boolean;
  quantMin?: number;
  quantMax?: number;
  /** MovingAverage*: weight of the new batch (torch: 0.01) */
  averagingConstant?: number;
  /** PerChannel*: the channel axis (default 0) */
  chAxis?: number;
  /** HistogramObserver: number of bins (default 2048, torch's) */
  bins?: number;
  /** HistogramObserver: cut the range at this percentile of |values| tails (e.g. 99.99) instead of the error search */
  percentile?: number;
}

export interface QParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  dtype: QDType;
  qscheme: QScheme;
  quantMin: number;
  quantMax: number;
  /** null per tensor */
  axis: number | null;
}

const F32_EPS = 1.1920928955078125e-7;

const OPTION_KEYS = ['dtype', 'qscheme', 'reduceRange', 'quantMin', 'quantMax', 'averagingConstant', 'chAxis', 'bins', 'percentile'];

/** The integer range of a dtype (torch's _calculate_qmin_qmax). */
export function quantRange(dtype: QDType, reduceRange: boolean, quantMin?: number, quantMax?: number): [number, number] {
  if (quantMin !== undefined || quantMax !== undefined) {
    const [lo, hi] = dtype === 'qint8' ? [-128, 127] : [0, 255];
    const qmin = quantMin ?? lo,
      qmax = quantMax ?? hi;
    if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin < lo || qmax > hi || qmin >= qmax)
      throw new RangeError(
        `observer: quantMin/quantMax must be integers with ${lo} ≤ quantMin < quantMax ≤ ${hi} for ${dtype}, got ${qmin}, ${qmax}`,
      );
    return [qmin, qmax];
  }
  if (dtype === 'qint8') return reduceRange ? [-64, 63] : [-128, 127];
  return reduceRange ? [0, 127] : [0, 255];
}

/** torch's _calculate_qparams for one channel. */
export function qparamsFromRange(lo: number, hi: number, qmin: number, qmax: number, symmetric: boolean, dtype: QDType): [number, number] {
  const mn = Math.min(lo, 0),
    mx = Math.max(hi, 0);
  if (symmetric) {
    const m = Math.max(-mn, mx);
    let scale = Math.fround(m / ((qmax - qmin) / 2));
    if (!(scale > F32_EPS)) scale = Math.fround(F32_EPS);
    const zp = dtype === 'quint8' ? Math.round((qmin + qmax + 1) / 2) : 0; // 128 (64 with reduceRange) / 0
    return [scale, zp];
  }
  let scale = Math.fround((mx - mn) / (qmax - qmin));
  if (!(scale > F32_EPS)) scale = Math.fround(F32_EPS);
  const zp = Math.max(qmin, Math.min(qmax, qmin - roundHalfEven(mn / scale)));
  return [scale, zp];
}

function hostValues(x: Tensor, who: string): ArrayLike<number> {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new TypeError(`${who}: observes float tensors, got ${x.dtype}`);
  return x.dataSync() as ArrayLike<number>;
}

/** The common part: options, the range, calculateQparams from min/max per channel. */
export abstract class ObserverBase extends Module {
  readonly dtype: QDType;
  readonly qscheme: QScheme;
  readonly reduceRange: boolean;
  readonly quantMin: number;
  readonly quantMax: number;
  /** batches seen (convert refuses an observer that saw none) */
  count = 0;
  /** min and max per channel (length 1 per tensor), ±Infinity before data */
  minVal: Float64Array;
  maxVal: Float64Array;

  constructor(o: ObserverOptions, defaults: { qscheme: QScheme; dtype: QDType }) {
    super();
    const L = new.target.name;
    checkOptions(L, o, OPTION_KEYS);
    this.dtype = o.dtype ?? defaults.dtype;
    if (this.dtype !== 'quint8' && this.dtype !== 'qint8')
      throw new RangeError(`${L}: dtype must be 'quint8' or 'qint8', got ${JSON.stringify(this.dtype)}`);
    this.qscheme = o.qscheme ?? defaults.qscheme;
    const schemes: QScheme[] = ['per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric'];
    if (!schemes.includes(this.qscheme))
      throw new RangeError(`${L}: qscheme must be one of ${schemes.join(', ')}, got ${JSON.stringify(this.qscheme)}`);
    this.reduceRange = o.reduceRange ?? false;
    [this.quantMin, this.quantMax] = quantRange(this.dtype, this.reduceRange, o.quantMin, o.quantMax);
    this.minVal = new Float64Array([Infinity]);
    this.maxVal = new Float64Array([-Infinity]);
  }

  get symmetric(): boolean {
    return this.qscheme.endsWith('symmetric');
  }
  get perChannel(): boolean {
    return this.qscheme.startsWith('per_channel');
  }
  /** the channel axis of per-channel parameters, null per tensor */
  get axis(): number | null {
    return null;
  }

  /** Records x (no gradient flows through the record) and returns x. */
  forward(x: Tensor): Tensor {
    this.observe(hostValues(x, this.name), x.shape);
    this.count++;
    return x;
  }

  protected abstract observe(v: ArrayLike<number>, shape: readonly number[]): void;

  /** The range to quantize, per channel (HistogramObserver narrows it). */
  protected range(): [Float64Array, Float64Array] {
    return [this.minVal, this.maxVal];
  }

  calculateQparams(): QParams {
    if (this.count === 0)
      throw new Error(
        `${this.name}: no data observed yet; run calibration batches through the prepared model (quantization.calibrate(model, loader)) before convert`,
      );
    const [lo, hi] = this.range();
    const n = lo.length;
    const scale = new Float32Array(n),
      zeroPoint = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      const l = Number.isFinite(lo[c]!) ? lo[c]! : 0,
        h = Number.isFinite(hi[c]!) ? hi[c]! : 0;
      [scale[c], zeroPoint[c]] = qparamsFromRange(l, h, this.quantMin, this.quantMax, this.symmetric, this.dtype);
    }
    return {
      scale,
      zeroPoint,
      dtype: this.dtype,
      qscheme: this.qscheme,
      quantMin: this.quantMin,
      quantMax: this.quantMax,
      axis: this.axis,
    };
  }

  override extraRepr(): string {
    const r = this.count
      ? `min_val=${this.minVal.length === 1 ? this.minVal[0]!.toPrecision(4) : '[…]'}, max_val=${this.maxVal.length === 1 ? this.maxVal[0]!.toPrecision(4) : '[…]'}`
      : 'no data';
    return `dtype=${this.dtype}, qscheme=${this.qscheme}, quant_min=${this.quantMin}, quant_max=${this.quantMax}, ${r}`;
  }

  /** A factory with these options (torch's Observer.with_args), for a QConfig. */
  static withArgs<T extends ObserverBase>(this: new (o?: ObserverOptions) => T, o: ObserverOptions = {}): () => T {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const C = this;
    const f = (): T => new C(o);
    Object.defineProperty(f, 'name', { value: `${C.name}.withArgs(${JSON.stringify(o)})` });
    return f;
  }
}

function minMax(v: ArrayLike<number>, who: string): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
    if (x !== x) throw new RangeError(`${who}: observed a NaN; NaN cannot be quantized (check the model and the calibration data)`);
  }
  if (v.length && (!Number.isFinite(lo) || !Number.isFinite(hi)))
    throw new RangeError(`${who}: observed an infinity; it cannot be quantized`);
  return [lo, hi];
}

/** Running min and max over every batch seen. */
export class MinMaxObserver extends ObserverBase {
  constructor(o: ObserverOptions = {}) {
    super(o, { qscheme: 'per_tensor_affine', dtype: 'quint8' });
    if (this.perChannel) throw new RangeError(`${this.name}: qscheme ${this.qscheme} is per channel: use PerChannelMinMaxObserver`);
  }
  protected observe(v: ArrayLike<number>): void {
    const [lo, hi] = minMax(v, this.name);
    this.minVal[0] = Math.min(this.minVal[0]!, lo);
    this.maxVal[0] = Math.max(this.maxVal[0]!, hi);
  }
}

/** min and max as moving averages: m ← m + c · (batch − m), the first batch taken as is (torch). */
export class MovingAverageMinMaxObserver extends ObserverBase {
  readonly averagingConstant: number;
  constructor(o: ObserverOptions = {}) {
    super(o, { qscheme: 'per_tensor_affine', dtype: 'quint8' });
    this.averagingConstant = o.averagingConstant ?? 0.01;
    if (!(this.averagingConstant > 0 && this.averagingConstant <= 1))
      throw new RangeError(`${this.name}: averagingConstant must be in (0, 1], got ${this.averagingConstant}`);
    if (this.perChannel) throw new RangeError(`${this.name}: qscheme ${this.qscheme} is per channel`);
  }
  protected observe(v: ArrayLike<number>): void {
    const [lo, hi] = minMax(v, this.name);
    if (this.count === 0) {
      this.minVal[0] = lo;
      this.maxVal[0] = hi;
    } else {
      const c = this.averagingConstant;
      this.minVal[0] = this.minVal[0]! + c * (lo - this.minVal[0]!);
      this.maxVal[0] = this.maxVal[0]! + c * (hi - this.maxVal[0]!);
    }
  }
}

/** min and max per channel along chAxis (weights: axis 0, the output channels). */
export class PerChannelMinMaxObserver extends ObserverBase {
  readonly chAxis: number;
  readonly averagingConstant: number | null;
  constructor(o: ObserverOptions = {}) {
    super(o, { qscheme: 'per_channel_symmetric', dtype: 'qint8' });
    this.chAxis = o.chAxis ?? 0;
    this.averagingConstant = o.averagingConstant ?? null;
    if (!this.perChannel)
      throw new RangeError(`${this.name}: qscheme must be per_channel_symmetric or per_channel_affine, got ${this.qscheme}`);
  }
  override get axis(): number {
    return this.chAxis;
  }
  protected observe(v: ArrayLike<number>, shape: readonly number[]): void {
    const ax = this.chAxis < 0 ? this.chAxis + shape.length : this.chAxis;
    const ch = shape[ax];
    if (ch === undefined) throw new RangeError(`${this.name}: chAxis ${this.chAxis} is out of range for shape [${shape.join(', ')}]`);
    if (this.minVal.length !== ch) {
      if (this.count > 0) throw new RangeError(`${this.name}: saw ${this.minVal.length} channels before, now ${ch}`);
      this.minVal = new Float64Array(ch).fill(Infinity);
      this.maxVal = new Float64Array(ch).fill(-Infinity);
    }
    const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    const lo = new Float64Array(ch).fill(Infinity),
      hi = new Float64Array(ch).fill(-Infinity);
    for (let i = 0; i < v.length; i++) {
      const c = Math.floor(i / inner) % ch;
      const x = v[i]!;
      if (!Number.isFinite(x)) throw new RangeError(`${this.name}: observed ${x} in channel ${c}; it cannot be quantized`);
      if (x < lo[c]!) lo[c] = x;
      if (x > hi[c]!) hi[c] = x;
    }
    const a = this.averagingConstant;
    for (let c = 0; c < ch; c++) {
      if (a === null || this.count === 0) {
        this.minVal[c] = a === null ? Math.min(this.minVal[c]!, lo[c]!) : lo[c]!;
        this.maxVal[c] = a === null ? Math.max(this.maxVal[c]!, hi[c]!) : hi[c]!;
      } else {
        this.minVal[c] = this.minVal[c]! + a * (lo[c]! - this.minVal[c]!);
        this.maxVal[c] = this.maxVal[c]! + a * (hi[c]! - this.maxVal[c]!);
      }
    }
  }
}

/**
 * A histogram of every value seen (bins over the running [min, max]; a wider batch re-bins the old
 * counts into the new range). calculateQparams picks the range: with `percentile` p, the
 * (100 − p)/2 % tails are cut from each side; otherwise the cut (lo, hi) of the histogram that
 * minimises the estimated squared quantization error Σ count · (x − Q(x))², clipping included —
 * torch's HistogramObserver idea (its _non_linear_param_search), searched here over tail cuts.
 */
export class HistogramObserver extends ObserverBase {
  readonly bins: number;
  readonly percentile: number | null;
  histogram: Float64Array;
  constructor(o: ObserverOptions = {}) {
    super(o, { qscheme: 'per_tensor_affine', dtype: 'quint8' });
    this.bins = o.bins ?? 2048;
    if (!Number.isInteger(this.bins) || this.bins < 16)
      throw new RangeError(`${this.name}: bins must be an integer ≥ 16, got ${this.bins}`);
    this.percentile = o.percentile ?? null;
    if (this.percentile !== null && !(this.percentile > 50 && this.percentile <= 100))
      throw new RangeError(`${this.name}: percentile must be in (50, 100], got ${this.percentile}`);
    if (this.perChannel) throw new RangeError(`${this.name}: qscheme ${this.qscheme} is per channel`);
    this.histogram = new Float64Array(this.bins);
  }

  protected observe(v: ArrayLike<number>): void {
    const [lo, hi] = minMax(v, this.name);
    if (!v.length) return;
    const oldLo = this.minVal[0]!,
      oldHi = this.maxVal[0]!;
    const nlo = Math.min(lo, oldLo),
      nhi = Math.max(hi, oldHi);
    const B = this.bins;
    if (this.count > 0 && (nlo < oldLo || nhi > oldHi)) {
      // re-bin the old counts (each at its bin's centre) into the wider range
      const old = this.histogram;
      const h = new Float64Array(B);
      const ow = (oldHi - oldLo) / B,
        nw = (nhi - nlo) / B || 1;
      for (let b = 0; b < B; b++) {
        if (!old[b]) continue;
        const x = oldLo + (b + 0.5) * ow;
        h[Math.min(B - 1, Math.max(0, Math.floor((x - nlo) / nw)))]! += old[b]!;
      }
      this.histogram = h;
    }
    this.minVal[0] = nlo;
    this.maxVal[0] = nhi;
    const w = (nhi - nlo) / B;
    const h = this.histogram;
    if (!(w > 0)) {
      h[0]! += v.length;
      return;
    }
    const inv = 1 / w;
    for (let i = 0; i < v.length; i++) {
      const b = Math.floor((v[i]! - nlo) * inv);
      h[b >= B ? B - 1 : b]! += 1;
    }
  }

  /** Estimated Σ count · (x − Q(x))² for the quantization grid of [lo, hi]. */
  private error(lo: number, hi: number): number {
    const [scale, zp] = qparamsFromRange(lo, hi, this.quantMin, this.quantMax, this.symmetric, this.dtype);
    const B = this.bins,
      mn = this.minVal[0]!,
      w = (this.maxVal[0]! - mn) / B;
    let e = 0;
    for (let b = 0; b < B; b++) {
      const c = this.histogram[b]!;
      if (!c) continue;
      const x = mn + (b + 0.5) * w;
      const q = Math.max(this.quantMin, Math.min(this.quantMax, Math.round(x / scale) + zp));
      const d = x - scale * (q - zp);
      e += c * d * d;
    }
    return e;
  }

  protected override range(): [Float64Array, Float64Array] {
    const mn = this.minVal[0]!,
      mx = this.maxVal[0]!;
    const B = this.bins,
      w = (mx - mn) / B;
    if (!(w > 0)) return [this.minVal, this.maxVal];
    const h = this.histogram;
    let total = 0;
    for (let b = 0; b < B; b++) total += h[b]!;
    const cdf = new Float64Array(B + 1);
    for (let b = 0; b < B; b++) cdf[b + 1] = cdf[b]! + h[b]!;
    // the bin edge below which a fraction f of the values lie
    const edgeAt = (f: number): number => {
      const t = f * total;
      let b = 0;
      while (b < B && cdf[b + 1]! < t) b++;
      return b;
    };
    if (this.percentile !== null) {
      const tail = (100 - this.percentile) / 200;
      const lo = mn + edgeAt(tail) * w,
        hi = mn + (edgeAt(1 - tail) + 1) * w;
      return [new Float64Array([lo]), new Float64Array([hi])];
    }
    let best: [number, number] = [mn, mx];
    let bestErr = this.error(mn, mx);
    for (const tail of [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]) {
      for (const [fl, fh] of [
        [tail, tail],
        [0, tail],
        [tail, 0],
      ] as const) {
        const lo = fl ? mn + edgeAt(fl) * w : mn,
          hi = fh ? mn + (edgeAt(1 - fh) + 1) * w : mx;
        if (!(hi > lo)) continue;
        const e = this.error(lo, hi);
        if (e < bestErr) {
          bestErr = e;
          best = [lo, hi];
        }
      }
    }
    return [new Float64Array([best[0]]), new Float64Array([best[1]])];
  }
}

/** Marks a place for an observer and does nothing (torch's PlaceholderObserver / NoopObserver). */
export function isObserver(m: unknown): m is ObserverBase {
  return m instanceof ObserverBase;
}
