// nn.quantized.dynamic.LSTM and .GRU (torch's DynamicQuantizedLSTM / GRU): int8 weights, float gates.
//
// Each layer and direction keeps weight_ih (G·H, in) and weight_hh (G·H, H) as qint8 QTensors with
// per-output-channel symmetric scales, and the float biases as buffers named like torch's
// parameters ('bias_ih_l0', 'bias_hh_l0_reverse'). The forward follows nn.LSTM / nn.GRU (rnn.ts):
// per layer and direction one int8 product for all time steps' input projections (the whole
// sequence quantized as one batch), then per step an int8 product of the hidden state (quantized
// per step, dynamic) and the gates in float:
//   LSTM (gates i, f, g, o): c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')
//   GRU  (gates r, z, n):    n = tanh(xn + σ(r)·hn), h' = (1 − σ(z))·n + σ(z)·h   (hn includes b_hn)
// The recurrence runs on the host (float32 arrays), cpu only, inference only (eval: no dropout).
// Not supported: variable lengths (forward's { lengths }), proj_size.

import { record, needsGrad } from '../autograd/record.js';
import { recordCost } from '../backend/counter.js';
import { fromHost } from '../ops/creation.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { quantizeActivations, quantizeWeightPerChannel, type QTensor } from '../quantization/qtensor.js';
import { qgemm, qgemmOverridden } from '../quantization/qgemm.js';
import { nativeCpu } from '../backend/js/native-cpu.js';

/** What quantizeDynamic reads from a float nn.LSTM / nn.GRU. */
interface FloatRnn {
  mode: string;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  bidirectional: boolean;
  param(name: string): Tensor;
}

type NativeQlinearDynamic = (
  x: Float32Array,
  b: Int8Array,
  bScale: Float32Array,
  bZeroPoint: Int32Array,
  bias: Float32Array | null,
  out: Float32Array,
  qparams: Float64Array | null,
  m: number,
  n: number,
  k: number,
  reduceRange: boolean,
  relu: boolean,
) => void;
let nativeDynamic: NativeQlinearDynamic | null | undefined;

/** The addon's fused dynamic int8 Linear (cpuQlinearDynamicF32) when the loaded addon has it; looked up once. */
function nativeQlinearDynamic(): NativeQlinearDynamic | null {
  if (nativeDynamic !== undefined) return nativeDynamic;
  const b = nativeCpu() as unknown as { cpuQlinearDynamicF32?: NativeQlinearDynamic } | null;
  const f = b?.cpuQlinearDynamicF32;
  nativeDynamic = typeof f === 'function' ? (f.bind(b) as NativeQlinearDynamic) : null;
  return nativeDynamic;
}

const perTensorParams = new WeakMap<QTensor, { scale: Float32Array; zeroPoint: Int32Array }>();
/** Per-output-channel scales and zero points (a per-tensor weight's one repeated, made once per weight). */
function channelParams(q: QTensor, n: number): { scale: Float32Array; zeroPoint: Int32Array } {
  if (q.axis !== null) return { scale: q.scale, zeroPoint: q.zeroPoint };
  let p = perTensorParams.get(q);
  if (!p || p.scale.length !== n || p.scale[0] !== q.scale[0] || p.zeroPoint[0] !== q.zeroPoint[0]) {
    p = { scale: new Float32Array(n).fill(q.scale[0]!), zeroPoint: new Int32Array(n).fill(q.zeroPoint[0]!) };
    perTensorParams.set(q, p);
  }
  return p;
}

/**
 * y (m, n) = dequant(qint8(x) · qᵀ) + bias: the dynamic int8 linear on host arrays, into `out`
 * when given (else a new array). With the addon loaded (and no qgemm kernel installed by
 * setQgemmKernel) one native call does the min/max, the quantization straight into the GEMM's
 * packed buffer, the GEMM and the dequantization (cpuQlinearDynamicF32, bit for bit the js path
 * below); a NaN or infinity in x falls back to the js path, which names it.
 */
export function dynamicLinearHost(
  x: ArrayLike<number>,
  m: number,
  q: QTensor,
  bias: Float32Array | null,
  reduceRange: boolean,
  relu = false,
  out: Float32Array = new Float32Array(m * (q.shape[0] as number)),
): Float32Array {
  const [n, k] = q.shape as [number, number];
  const { scale: bScale, zeroPoint: bZeroPoint } = channelParams(q, n);
  const nat = x instanceof Float32Array && !qgemmOverridden() ? nativeQlinearDynamic() : null;
  let done = false;
  if (nat) {
    try {
      nat(x as Float32Array, q.data as Int8Array, bScale, bZeroPoint, bias, out, null, m, n, k, reduceRange, relu);
      done = true;
    } catch {
      done = false; // NaN / infinity (or out of memory): the js path below reports it
    }
  }
  if (!done) {
    const a = quantizeActivations(x, reduceRange);
    qgemm({
      m,
      n,
      k,
      a: a.data,
      aScale: a.scale,
      aZeroPoint: a.zeroPoint,
      b: q.data as Int8Array,
      bScale,
      bZeroPoint,
      bias,
      relu,
      out,
    });
  }
  recordCost('qgemm', 2 * m * n * k, m * k + n * k + 4 * m * n);
  return out;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export class DynamicQuantizedRNN extends Module<
  [Tensor, (Tensor | [Tensor, Tensor] | null)?, unknown?],
  [Tensor, Tensor | [Tensor, Tensor]]
> {
  readonly isQuantized = true;
  readonly reduceRange: boolean;
  /** per (layer, direction): [weight_ih, weight_hh] */
  qweights: [QTensor, QTensor][];
  /** per (layer, direction): the names [weight_ih…, weight_hh…, bias_ih…, bias_hh…] (torch's) */
  readonly names: string[][];

  protected constructor(
    readonly mode: 'LSTM' | 'GRU',
    readonly inputSize: number,
    readonly hiddenSize: number,
    readonly numLayers: number,
    readonly hasBias: boolean,
    readonly batchFirst: boolean,
    readonly bidirectional: boolean,
    reduceRange: boolean,
  ) {
    super();
    this.reduceRange = reduceRange;
    this.qweights = [];
    this.names = [];
  }

  /** The int8 version of a float nn.LSTM or nn.GRU (its weights are read, not changed). */
  static fromFloat(rnn: FloatRnn, o: { reduceRange?: boolean } = {}): DynamicQuantizedRNN {
    if (rnn.mode !== 'LSTM' && rnn.mode !== 'GRU')
      throw new Error(`quantizeDynamic: nn.RNN (${rnn.mode}) is not supported yet; LSTM and GRU are`);
    const Cls = rnn.mode === 'LSTM' ? DynamicQuantizedLSTM : DynamicQuantizedGRU;
    const m = new Cls(
      rnn.mode,
      rnn.inputSize,
      rnn.hiddenSize,
      rnn.numLayers,
      rnn.bias,
      rnn.batchFirst,
      rnn.bidirectional,
      o.reduceRange ?? true,
    );
    const D = rnn.bidirectional ? 2 : 1;
    for (let l = 0; l < rnn.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d ? '_reverse' : ''}`;
        const names = [`weight_ih${sfx}`, `weight_hh${sfx}`, `bias_ih${sfx}`, `bias_hh${sfx}`];
        const q = (name: string): QTensor => {
          const w = rnn.param(name);
          return quantizeWeightPerChannel(w.dataSync() as ArrayLike<number>, w.shape[0]!, w.shape[1]!);
        };
        m.qweights.push([q(names[0]!), q(names[1]!)]);
        if (rnn.bias) {
          for (const b of names.slice(2))
            m.registerBuffer(
              b,
              fromHost(Float32Array.from(rnn.param(b).dataSync() as ArrayLike<number>), [rnn.param(b).size], 'float32', 'cpu'),
            );
        }
        m.names.push(names);
      }
    }
    return m;
  }

  /** The int8 tensors by their torch names ('weight_ih_l0', …), for saving. */
  quantizedTensors(): Record<string, QTensor> {
    const out: Record<string, QTensor> = {};
    this.names.forEach((n, i) => {
      out[n[0]!] = this.qweights[i]![0];
      out[n[1]!] = this.qweights[i]![1];
    });
    return out;
  }

  /** Replaces the int8 tensors (loading); each must have the shape of the one it replaces. */
  setQuantizedTensors(t: Record<string, QTensor>): void {
    this.names.forEach((n, i) => {
      this.qweights[i] = [t[n[0]!]!, t[n[1]!]!];
    });
  }

  quantizedStorage(): { elements: number; bytes: number; float32Bytes: number } {
    let elements = 0,
      bytes = 0;
    for (const [a, b] of this.qweights) {
      elements += a.size + b.size;
      bytes += a.nbytes + b.nbytes;
    }
    for (const [, b] of this.namedOwnBuffers()) {
      elements += b.size;
      bytes += 4 * b.size;
    }
    return { elements, bytes, float32Bytes: 4 * elements };
  }

  private bias(i: number, which: 2 | 3): Float32Array | null {
    if (!this.hasBias) return null;
    return (this as unknown as Record<string, Tensor>)[this.names[i]![which]!]!.dataSync() as Float32Array;
  }

  forward(input: Tensor, state?: Tensor | [Tensor, Tensor] | null, opts?: unknown): [Tensor, Tensor | [Tensor, Tensor]] {
    const me = this.name;
    if (opts !== undefined && opts !== null)
      throw new Error(
        `${me}: forward options (variable lengths) are not supported by int8 recurrent layers yet; pad the batch or use the float layer`,
      );
    const I = this.inputSize,
      H = this.hiddenSize,
      D = this.bidirectional ? 2 : 1,
      L = this.numLayers;
    if ((input.ndim !== 3 && input.ndim !== 2) || input.shape[input.ndim - 1] !== I) {
      throw new RangeError(
        `${me}: expected input ${this.batchFirst ? `(B, T, ${I})` : `(T, B, ${I})`} (or unbatched (T, ${I})), got ${fmtShape(input.shape)}`,
      );
    }
    if (input.dtype !== 'float32') throw new TypeError(`${me}: expected float32 input, got ${input.dtype}`);
    if (input.device !== 'cpu')
      throw new Error(`${me}: input is on ${input.device}, but int8 layers run on the cpu only: move the input to 'cpu'`);
    const batched = input.ndim === 3;
    const T = batched ? input.shape[this.batchFirst ? 1 : 0]! : input.shape[0]!;
    const B = batched ? input.shape[this.batchFirst ? 0 : 1]! : 1;
    if (T === 0) throw new RangeError(`${me}: the sequence length T must be larger than 0, got input ${fmtShape(input.shape)}`);
    // x as (T, B, I) host rows
    const src = input.dataSync() as Float32Array;
    let layerIn = new Float32Array(T * B * I);
    if (batched && this.batchFirst) {
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) layerIn.set(src.subarray((b * T + t) * I, (b * T + t + 1) * I), (t * B + b) * I);
    } else layerIn.set(src);
    const isLstm = this.mode === 'LSTM';
    const stateShape = batched ? [L * D, B, H] : [L * D, H];
    const readState = (what: string, s: Tensor | undefined | null): Float32Array => {
      if (s === undefined || s === null) return new Float32Array(L * D * B * H);
      if (s.ndim !== stateShape.length || s.shape.some((v, i) => v !== stateShape[i]))
        throw new RangeError(`${me}: expected ${what} ${fmtShape(stateShape)}, got ${fmtShape(s.shape)}`);
      return Float32Array.from(s.dataSync() as ArrayLike<number>);
    };
    if (isLstm && state && (!Array.isArray(state) || state.length !== 2)) throw new TypeError(`${me}: the initial state must be [h0, c0]`);
    const h0 = readState('h0', isLstm ? (state as [Tensor, Tensor] | undefined)?.[0] : (state as Tensor | undefined));
    const c0 = isLstm ? readState('c0', (state as [Tensor, Tensor] | undefined)?.[1]) : null;
    const hN = new Float32Array(L * D * B * H);
    const cN = new Float32Array(L * D * B * H);
    const G = (isLstm ? 4 : 3) * H;
    let inF = I;
    for (let l = 0; l < L; l++) {
      const out = new Float32Array(T * B * D * H);
      for (let d = 0; d < D; d++) {
        const i = l * D + d;
        const [wIh, wHh] = this.qweights[i]!;
        const bIh = this.bias(i, 2),
          bHh = this.bias(i, 3);
        const proj = dynamicLinearHost(layerIn, T * B, wIh, bIh, this.reduceRange); // (T·B, G)
        const h = h0.slice(i * B * H, (i + 1) * B * H);
        const c = c0 ? c0.slice(i * B * H, (i + 1) * B * H) : null;
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const hg = dynamicLinearHost(h, B, wHh, bHh, this.reduceRange); // (B, G)
          for (let b = 0; b < B; b++) {
            const xo = (t * B + b) * G,
              ho = b * G;
            for (let j = 0; j < H; j++) {
              let hv: number;
              if (isLstm) {
                const ig = sigmoid(proj[xo + j]! + hg[ho + j]!);
                const fg = sigmoid(proj[xo + H + j]! + hg[ho + H + j]!);
                const gg = Math.tanh(proj[xo + 2 * H + j]! + hg[ho + 2 * H + j]!);
                const og = sigmoid(proj[xo + 3 * H + j]! + hg[ho + 3 * H + j]!);
                const cv = fg * c![b * H + j]! + ig * gg;
                c![b * H + j] = cv;
                hv = og * Math.tanh(cv);
              } else {
                const r = sigmoid(proj[xo + j]! + hg[ho + j]!);
                const z = sigmoid(proj[xo + H + j]! + hg[ho + H + j]!);
                const nn = Math.tanh(proj[xo + 2 * H + j]! + r * hg[ho + 2 * H + j]!);
                hv = (1 - z) * nn + z * h[b * H + j]!;
              }
              h[b * H + j] = hv;
              out[(t * B + b) * D * H + d * H + j] = hv;
            }
          }
        }
        hN.set(h, i * B * H);
        if (c) cN.set(c, i * B * H);
      }
      layerIn = out;
      inF = D * H;
    }
    void inF;
    // back to the caller's layout
    let y: Float32Array = layerIn;
    if (batched && this.batchFirst) {
      y = new Float32Array(T * B * D * H);
      for (let t = 0; t < T; t++)
        for (let b = 0; b < B; b++) y.set(layerIn.subarray((t * B + b) * D * H, (t * B + b + 1) * D * H), (b * T + t) * D * H);
    }
    const outShape = batched ? (this.batchFirst ? [B, T, D * H] : [T, B, D * H]) : [T, D * H];
    const yt = fromHost(y, outShape, 'float32', 'cpu');
    const hT = fromHost(hN, stateShape, 'float32', 'cpu');
    const cT = isLstm ? fromHost(cN, stateShape, 'float32', 'cpu') : null;
    const inputs = [input, ...(Array.isArray(state) ? state : state ? [state] : [])];
    if (needsGrad(...inputs)) {
      record(`quantized.dynamic.${this.mode}`, cT ? [yt, hT, cT] : [yt, hT], inputs, () => {
        throw new Error(
          `${me}: backward through a quantized layer is not supported (int8 layers are inference only: run them under noGrad(), or train the float model and quantize after)`,
        );
      });
    }
    return [yt, cT ? [hT, cT] : hT];
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.hasBias) s += ', bias=false';
    if (this.batchFirst) s += ', batch_first=true';
    if (this.bidirectional) s += ', bidirectional=true';
    return `${s}, dtype=qint8, reduce_range=${this.reduceRange}`;
  }
}

/** nn.quantized.dynamic.LSTM: made by quantizeDynamic (or DynamicQuantizedRNN.fromFloat(lstm)). */
export class DynamicQuantizedLSTM extends DynamicQuantizedRNN {}
/** nn.quantized.dynamic.GRU: made by quantizeDynamic (or DynamicQuantizedRNN.fromFloat(gru)). */
export class DynamicQuantizedGRU extends DynamicQuantizedRNN {}
