// nn.quantized: int8 inference layers, after torch.ao.nn.quantized.
//
// nn.quantized.dynamic.Linear (torch's DynamicQuantizedLinear): the weight is a QTensor of qint8
// values with one symmetric scale per output channel, made once by fromFloat(); at each forward
// the input batch is quantized to quint8 with a scale and zero point from its own min and max
// (dynamic quantization), multiplied by the int8 weight with int32 accumulation (qgemm, whose js
// reference a native kernel can replace: lib/quantization/qgemm.ts setQgemmKernel), and
// dequantized to float32 with the bias added (and ReLU applied when `relu`).
//
// Inference only: there is no gradient through rounding; a backward through the layer is an error
// (use quantization-aware training, not yet written, to train with quantization in the loop).
// CPU only for now: the int8 kernel is the js one (no CUDA int8 kernel yet).
//
// State: the bias is a float32 buffer 'bias' (so it is in stateDict(); null without bias); the int8
// weight with its scales and zero points is `qweight`, saved by quantization.quantizedStateDict()
// as '<name>.weight' (I8), '<name>.weight_scale' (F32) and '<name>.weight_zero_point' (I32).

import { record, needsGrad } from '../autograd/record.js';
import { fromHost } from '../ops/creation.js';
import { Module } from './module.js';
import type { Tensor } from '../tensor.js';
import { QTensor, quantizeWeightPerChannel } from '../quantization/qtensor.js';
import { badInput } from './layers/util.js';
import { DynamicQuantizedRNN, DynamicQuantizedLSTM, DynamicQuantizedGRU, dynamicLinearHost } from './quantized-rnn.js';
import { cpuOutput, hostValues } from './quantized-static.js';

/** What a quantized layer stores, for model.summary() and size reports (duck-typed by them). */
export interface QuantizedStorage {
  /** parameters the layer stands for (weight and bias elements, as in the float layer) */
  elements: number;
  /** bytes it stores: int8 values, their scales and zero points, and the float bias */
  bytes: number;
  /** bytes the same parameters take in float32 */
  float32Bytes: number;
}

export interface DynamicLinearOptions {
  /** quantize activations to [0, 127] instead of [0, 255] (torch's fbgemm default: true) */
  reduceRange?: boolean;
  /** apply ReLU to the output inside the kernel (torch's LinearReLU) */
  relu?: boolean;
}

export class DynamicQuantizedLinear extends Module {
  /** marks quantized layers (Module.loadStateDict and summary look for it) */
  readonly isQuantized = true;
  readonly reduceRange: boolean;
  readonly relu: boolean;
  qweight: QTensor;
  declare bias: Tensor | null;

  /** Use fromFloat() (or quantization.quantizeDynamic): the weight is (out, in) qint8 per channel. */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    qweight: QTensor,
    bias: Tensor | null,
    o: DynamicLinearOptions = {},
  ) {
    super();
    if (
      !(qweight instanceof QTensor) ||
      qweight.dtype !== 'qint8' ||
      qweight.shape.length !== 2 ||
      qweight.shape[0] !== outFeatures ||
      qweight.shape[1] !== inFeatures
    ) {
      throw new TypeError(`DynamicQuantizedLinear: qweight must be a qint8 QTensor of shape [${outFeatures}, ${inFeatures}]`);
    }
    if (qweight.axis !== 0 && qweight.axis !== null)
      throw new RangeError(
        `DynamicQuantizedLinear: weight parameters must be per output channel (axis 0) or per tensor, got axis ${qweight.axis}`,
      );
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== outFeatures || bias.dtype !== 'float32' || bias.device !== 'cpu')) {
      throw new RangeError(`DynamicQuantizedLinear: bias must be a float32 cpu tensor of shape [${outFeatures}]`);
    }
    this.qweight = qweight;
    this.registerBuffer('bias', bias);
    this.reduceRange = o.reduceRange ?? true;
    this.relu = o.relu ?? false;
  }

  /** The int8 layer of a float nn.Linear (its weight is read, not changed). */
  static fromFloat(
    lin: { inFeatures: number; outFeatures: number; weight: Tensor; bias: Tensor | null },
    o: DynamicLinearOptions = {},
  ): DynamicQuantizedLinear {
    const w = lin.weight;
    const q = quantizeWeightPerChannel(w.dataSync() as ArrayLike<number>, lin.outFeatures, lin.inFeatures);
    const bias = lin.bias
      ? fromHost(Float32Array.from(lin.bias.dataSync() as ArrayLike<number>), [lin.outFeatures], 'float32', 'cpu')
      : null;
    return new DynamicQuantizedLinear(lin.inFeatures, lin.outFeatures, q, bias, o); // the layer owns the bias buffer
  }

  override get name(): string {
    return 'DynamicQuantizedLinear';
  }

  /** The weight as float (scale · q), row-major (out, in). */
  dequantizedWeight(): Float32Array {
    return this.qweight.dequantize();
  }

  /** The int8 tensors by state-dict name, for saving (quantization.quantizedStateDict). */
  quantizedTensors(): Record<string, QTensor> {
    return { weight: this.qweight };
  }

  /** Replaces the int8 tensors (loading); shapes were checked by the caller. */
  setQuantizedTensors(t: Record<string, QTensor>): void {
    this.qweight = t.weight!;
  }

  quantizedStorage(): QuantizedStorage {
    const nb = this.bias ? this.bias.size : 0;
    return { elements: this.qweight.size + nb, bytes: this.qweight.nbytes + 4 * nb, float32Bytes: 4 * (this.qweight.size + nb) };
  }

  forward(x: Tensor): Tensor {
    const k = this.inFeatures,
      n = this.outFeatures;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== k) badInput(this.toString(), `(…, ${k}) float32`, x);
    if (x.dtype !== 'float32')
      throw new TypeError(
        `${this.name}: expected float32 input (dynamic quantization quantizes float32 activations), got ${x.dtype}; cast with x.float()`,
      );
    if (x.device !== 'cpu')
      throw new Error(
        `${this.name}: input is on ${x.device}, but int8 layers run on the cpu only (the int8 kernel is the js reference; no CUDA int8 kernel yet): move the model's input to 'cpu'`,
      );
    const m = x.size / k;
    const bias = this.bias ? hostValues(this.bias) : null; // zero-copy reads; the output is pooled storage
    const { y, data: out } = cpuOutput([...x.shape.slice(0, -1), n], this.name);
    dynamicLinearHost(hostValues(x), m, this.qweight, bias, this.reduceRange, this.relu, out);
    if (needsGrad(x)) {
      record('quantized.dynamic.Linear', [y], [x], () => {
        throw new Error(
          `${this.name}: backward through a quantized layer is not supported (int8 layers are inference only: run them under noGrad(), or train the float model and quantize after)`,
        );
      });
    }
    return y;
  }

  override extraRepr(): string {
    const qs = this.qweight.axis === null ? 'per_tensor_symmetric' : 'per_channel_symmetric';
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, dtype=qint8, qscheme=${qs}, reduce_range=${this.reduceRange}${this.relu ? ', relu=true' : ''}`;
  }
}

/** nn.quantized.dynamic: layers with int8 weights and activations quantized at run time. */
export const dynamic = { Linear: DynamicQuantizedLinear, LSTM: DynamicQuantizedLSTM, GRU: DynamicQuantizedGRU } as const;
export { DynamicQuantizedRNN, DynamicQuantizedLSTM, DynamicQuantizedGRU };
