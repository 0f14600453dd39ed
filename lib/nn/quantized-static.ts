// nn.quantized (static): the int8 layers quantization.convert() makes, after torch.ao.nn.quantized
// Linear / Conv2d / LinearReLU / ConvReLU2d and Quantize / DeQuantize.
//
// Weights: qint8 per output channel (or per tensor), from the qconfig's weight observer. Inputs:
// quantized with the scale and zero point calibrated for this layer (static: fixed after
// calibration; asymmetric quint8, or symmetric qint8, which the kernel reads as quint8 with the
// zero point + 128: the same real values). The int32 accumulation runs in qgemm (native VNNI /
// AVX2 when the addon has it, else the js reference); the output is dequantized to float32 with
// the float bias added and ReLU fused.
//
// Between int8 layers activations travel as float32 tensors, so the float layers in between
// (MaxPool2d, Flatten, ReLU, Dropout in eval) need no int8 versions; each int8 layer quantizes what
// it receives with its own calibrated parameters. Where torch would hand the next layer the
// integers of a requantized output, this hands it the float output and quantizes once at the next
// layer's input: one rounding per layer in both. Where convert() fused a MaxPool2d into a conv
// (fusedPool: the pool sat between this conv and another int8 layer), the conv returns the pooled
// output already on that layer's int8 grid (lib/quantization/qpool.ts), as torch's quantized
// max_pool2d pools quint8 tensors: the model's outputs are unchanged bit for bit. Inference only
// (backward is an error).
//
// State: the bias is the float32 buffer 'bias', the input parameters the buffers 'input_scale'
// (F32 [1]) and 'input_zero_point' (I32 [1]); the int8 weight, its scales and zero points are
// written by quantization.quantizedStateDict() as '<name>.weight' / '_scale' / '_zero_point'.

import { record, needsGrad } from '../autograd/record.js';
import { fromHost } from '../ops/creation.js';
import { Module } from './module.js';
import type { Tensor } from '../tensor.js';
import { QTensor } from '../quantization/qtensor.js';
import { qgemm } from '../quantization/qgemm.js';
import { convOutSize, qconv2d, type QConv2dArgs } from '../quantization/qconv.js';
import { qconv2dMaxPool, qconvPoolShape, type PoolWindow } from '../quantization/qpool.js';
import { nativeCpu } from '../backend/js/native-cpu.js';
import { getBackend } from '../backend/registry.js';
import { JsHandle, farr } from '../backend/js/handle.js';
import { empty } from '../ops/util.js';
import type { QDType } from '../quantization/qtensor.js';
import { badInput } from './layers/util.js';
import { fmtPair } from './module.js';
import type { QuantizedStorage } from './quantized.js';

/** How a static int8 layer quantizes its input (from the calibrated observer). */
export interface InputQParams {
  scale: number;
  zeroPoint: number;
  dtype: QDType;
  quantMin: number;
  quantMax: number;
}

const MAGIC = 6755399441055744; // 1.5 · 2^52: (t + MAGIC) − MAGIC rounds half to even for |t| < 2^51

/**
 * q = clamp(round(x / scale) + zp, qmin, qmax) (half to even, x · (1 / scale) in double), written
 * for the u8 × s8 kernel: qint8 values are shifted by +128 (and so is the zero point the kernel
 * gets). The addon's cpuQuantizeU8 does the same bit for bit when loaded (float32 input).
 */
export function quantizeForKernel(
  v: ArrayLike<number>,
  p: InputQParams,
  out = new Uint8Array(v.length),
): { data: Uint8Array; zeroPoint: number } {
  const shift = p.dtype === 'qint8' ? 128 : 0;
  const zp = p.zeroPoint,
    qmin = p.quantMin,
    qmax = p.quantMax;
  const nat = v instanceof Float32Array ? nativeCpu()?.cpuQuantizeU8 : undefined;
  if (typeof nat === 'function') {
    try {
      nat(v as Float32Array, out, v.length, p.scale, zp, qmin, qmax, shift);
    } catch (e) {
      throw new RangeError(`int8 layer: ${(e as Error).message}`);
    }
    return { data: out, zeroPoint: zp + shift };
  }
  const inv = 1 / p.scale;
  // clamp t first (so the rounding trick stays exact); anything below lo or above hi clamps anyway
  const lo = qmin - zp - 1,
    hi = qmax - zp + 1;
  for (let i = 0; i < v.length; i++) {
    let t = v[i]! * inv;
    if (t !== t) throw new RangeError(`int8 layer: input element ${i} is NaN; it cannot be quantized`);
    t = t < lo ? lo : t > hi ? hi : t;
    const r = t + MAGIC - MAGIC + zp;
    out[i] = (r < qmin ? qmin : r > qmax ? qmax : r) + shift;
  }
  return { data: out, zeroPoint: zp + shift };
}

function checkInputParams(who: string, p: InputQParams): void {
  const [lo, hi] = p.dtype === 'qint8' ? [-128, 127] : [0, 255];
  if (!(p.scale > 0) || !Number.isFinite(p.scale))
    throw new RangeError(`${who}: input scale must be a positive finite number, got ${p.scale}`);
  if (!(Number.isInteger(p.quantMin) && Number.isInteger(p.quantMax) && lo <= p.quantMin && p.quantMin < p.quantMax && p.quantMax <= hi))
    throw new RangeError(`${who}: input range [${p.quantMin}, ${p.quantMax}] is not inside ${p.dtype}'s [${lo}, ${hi}]`);
  if (!Number.isInteger(p.zeroPoint) || p.zeroPoint < lo || p.zeroPoint > hi)
    throw new RangeError(`${who}: input zero point ${p.zeroPoint} is not an integer in ${p.dtype}'s range`);
}

/** Per-output-channel scales and zero points of a weight (a per-tensor weight repeats its one). */
function channelParams(q: QTensor, n: number): { scale: Float32Array; zeroPoint: Int32Array } {
  if (q.axis === null) return { scale: new Float32Array(n).fill(q.scale[0]!), zeroPoint: new Int32Array(n).fill(q.zeroPoint[0]!) };
  return { scale: q.scale, zeroPoint: q.zeroPoint };
}

/**
 * A float32 cpu tensor of `shape` whose storage the kernel writes into (the js backend's pooled
 * storage: no fresh, page-faulting array per call, no copy); contents undefined until written.
 */
export function cpuOutput(shape: number[], who: string): { y: Tensor; data: Float32Array } {
  const y = empty(getBackend('cpu'), shape, 'float32', who);
  return { y, data: farr(y.handle, 'float32', who) as Float32Array };
}

/** The float32 values of a cpu tensor without a copy (the js backend's storage, read only). */
export function hostValues(x: Tensor): Float32Array {
  const h = x.handle;
  if (h instanceof JsHandle && h.data instanceof Float32Array) return h.data.length === x.size ? h.data : h.data.subarray(0, x.size);
  return x.dataSync() as Float32Array;
}

function floatInput(who: string, x: Tensor): void {
  if (x.dtype !== 'float32') throw new TypeError(`${who}: expected float32 input, got ${x.dtype}; cast with x.float()`);
  if (x.device !== 'cpu')
    throw new Error(
      `${who}: input is on ${x.device}, but int8 layers run on the cpu (the CUDA int8 kernels are not wired into layers): move the input to 'cpu'`,
    );
}

function inferenceOnly(who: string, y: Tensor, x: Tensor): void {
  if (needsGrad(x))
    record(`quantized.${who}`, [y], [x], () => {
      throw new Error(
        `${who}: backward through a static int8 layer is not supported (inference only: train with quantization.prepareQat, then convert)`,
      );
    });
}

/** The common state of static int8 layers: input qparams (buffers + host copy), weight, bias. */
abstract class StaticQuantizedBase extends Module {
  readonly isQuantized = true;
  /** static layers quantize with fixed parameters: never a reduced range chosen per batch */
  readonly reduceRange = false;
  readonly relu: boolean;
  qweight: QTensor;
  declare bias: Tensor | null;
  declare input_scale: Tensor;
  declare input_zero_point: Tensor;
  protected inputQ: InputQParams;
  protected wScale: Float32Array;
  protected wZero: Int32Array;
  protected biasHost: Float32Array | null;
  /** the quantized input, reused between calls (a fresh zero-filled array per call costs page faults); forward only */
  private qScratch: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  protected inputScratch(n: number): Uint8Array<ArrayBuffer> {
    if (this.qScratch.length < n) this.qScratch = new Uint8Array(n);
    return this.qScratch.length === n ? this.qScratch : this.qScratch.subarray(0, n);
  }

  constructor(qweight: QTensor, bias: Tensor | null, input: InputQParams, relu: boolean) {
    super();
    const n = qweight.shape[0]!;
    if (!(qweight instanceof QTensor) || qweight.dtype !== 'qint8') throw new TypeError(`${this.name}: the weight must be a qint8 QTensor`);
    if (qweight.axis !== 0 && qweight.axis !== null)
      throw new RangeError(`${this.name}: weight parameters must be per output channel (axis 0) or per tensor, got axis ${qweight.axis}`);
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== n || bias.dtype !== 'float32' || bias.device !== 'cpu'))
      throw new RangeError(`${this.name}: bias must be a float32 cpu tensor of shape [${n}]`);
    checkInputParams(this.name, input);
    this.qweight = qweight;
    this.relu = relu;
    this.registerBuffer('bias', bias);
    this.registerBuffer('input_scale', fromHost(new Float32Array([input.scale]), [1], 'float32', 'cpu'));
    this.registerBuffer('input_zero_point', fromHost(new Int32Array([input.zeroPoint]), [1], 'int32', 'cpu'));
    this.inputQ = { ...input, scale: Math.fround(input.scale) };
    ({ scale: this.wScale, zeroPoint: this.wZero } = channelParams(qweight, n));
    this.biasHost = bias ? Float32Array.from(bias.dataSync() as ArrayLike<number>) : null;
  }

  /** the input quantization parameters */
  get inputQParams(): InputQParams {
    return { ...this.inputQ };
  }

  protected override onStateLoaded(): void {
    const p = {
      ...this.inputQ,
      scale: (this.input_scale.dataSync() as Float32Array)[0]!,
      zeroPoint: (this.input_zero_point.dataSync() as Int32Array)[0]!,
    };
    checkInputParams(this.name, p);
    this.inputQ = p;
    this.biasHost = this.bias ? Float32Array.from(this.bias.dataSync() as ArrayLike<number>) : null;
  }

  quantizedTensors(): Record<string, QTensor> {
    return { weight: this.qweight };
  }
  setQuantizedTensors(t: Record<string, QTensor>): void {
    this.qweight = t.weight!;
    ({ scale: this.wScale, zeroPoint: this.wZero } = channelParams(this.qweight, this.qweight.shape[0]!));
  }
  dequantizedWeight(): Float32Array {
    return this.qweight.dequantize();
  }
  quantizedStorage(): QuantizedStorage {
    const nb = this.bias ? this.bias.size : 0;
    return { elements: this.qweight.size + nb, bytes: this.qweight.nbytes + 4 * nb + 8, float32Bytes: 4 * (this.qweight.size + nb) };
  }
  protected qRepr(): string {
    const i = this.inputQ;
    return `dtype=qint8, qscheme=${this.qweight.axis === null ? 'per_tensor_symmetric' : 'per_channel_symmetric'}, input=${i.dtype}(scale=${i.scale.toPrecision(4)}, zero_point=${i.zeroPoint})${this.relu ? ', relu=true' : ''}`;
  }
}

/** torch.ao.nn.quantized.Linear (and LinearReLU with relu). */
export class QuantizedLinear extends StaticQuantizedBase {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    qweight: QTensor,
    bias: Tensor | null,
    input: InputQParams,
    relu = false,
  ) {
    super(qweight, bias, input, relu);
    if (qweight.shape.length !== 2 || qweight.shape[0] !== outFeatures || qweight.shape[1] !== inFeatures)
      throw new TypeError(`QuantizedLinear: the weight must have shape [${outFeatures}, ${inFeatures}], got [${qweight.shape.join(', ')}]`);
  }
  override get name(): string {
    return this.relu ? 'QuantizedLinearReLU' : 'QuantizedLinear';
  }
  forward(x: Tensor): Tensor {
    const k = this.inFeatures,
      n = this.outFeatures;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== k) badInput(this.toString(), `(…, ${k}) float32`, x);
    floatInput(this.name, x);
    const m = x.size / k;
    const a = quantizeForKernel(hostValues(x), this.inputQ, this.inputScratch(x.size));
    const { y, data: out } = cpuOutput([...x.shape.slice(0, -1), n], this.name);
    qgemm({
      m,
      n,
      k,
      a: a.data,
      aScale: this.inputQ.scale,
      aZeroPoint: a.zeroPoint,
      b: this.qweight.data as Int8Array,
      bScale: this.wScale,
      bZeroPoint: this.wZero,
      bias: this.biasHost,
      relu: this.relu,
      out,
    });
    inferenceOnly(this.name, y, x);
    return y;
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, ${this.qRepr()}`;
  }
}

/** torch.ao.nn.quantized.Conv2d (and ConvReLU2d with relu); groups = 1. */
export class QuantizedConv2d extends StaticQuantizedBase {
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    qweight: QTensor,
    bias: Tensor | null,
    input: InputQParams,
    readonly stride: [number, number],
    readonly padding: [number, number],
    readonly dilation: [number, number],
    relu = false,
  ) {
    super(qweight, bias, input, relu);
    if (qweight.shape.length !== 4 || qweight.shape[1] !== inChannels)
      throw new TypeError(`QuantizedConv2d: the weight must have shape [out, ${inChannels}, R, S], got [${qweight.shape.join(', ')}]`);
    this.outChannels = qweight.shape[0]!;
    this.kernelSize = [qweight.shape[2]!, qweight.shape[3]!];
  }
  override get name(): string {
    return this.relu ? 'QuantizedConvReLU2d' : 'QuantizedConv2d';
  }
  /**
   * The MaxPool2d fused after this conv and the int8 layer it feeds (quantization.convert does it,
   * see lib/quantization/qpool.ts): forward then returns the pooled output on the grid of that
   * layer's input parameters (read at each call: a loaded state dict changes them), bit for bit
   * what the unfused conv → pool → quantize gives there. A pair, not an object: cloneModule copies
   * arrays element by element, so a copy's pair points at the copy's next layer.
   */
  fusedPool: [window: PoolWindow, next: StaticQuantizedBase] | null = null;

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) badInput(this.toString(), `(N, ${this.inChannels}, H, W) float32`, x);
    floatInput(this.name, x);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const a = quantizeForKernel(hostValues(x), this.inputQ, this.inputScratch(x.size));
    const [oh, ow] = convOutSize({
      h: H,
      width: W,
      r: this.kernelSize[0],
      s: this.kernelSize[1],
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
    });
    if (!(oh > 0 && ow > 0)) badInput(this.toString(), `(N, ${C}, H, W) at least as large as the dilated kernel`, x);
    const args: QConv2dArgs = {
      x: a.data,
      xScale: this.inputQ.scale,
      xZeroPoint: a.zeroPoint,
      w: this.qweight.data as Int8Array,
      wScale: this.wScale,
      wZeroPoint: this.wZero,
      bias: this.biasHost,
      n: N,
      c: C,
      h: H,
      width: W,
      k: this.outChannels,
      r: this.kernelSize[0],
      s: this.kernelSize[1],
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      relu: this.relu,
    };
    if (this.fusedPool) {
      const [window, next] = this.fusedPool;
      const shape = qconvPoolShape(args, oh, ow, window);
      if (!(shape[2] > 0 && shape[3] > 0))
        badInput(this.toString(), `(N, ${C}, H, W) whose conv output is at least the fused pool kernel ${window.kernel.join('×')}`, x);
      const { y, data } = cpuOutput(shape, this.name);
      qconv2dMaxPool(args, { oh, ow }, window, next.inputQParams, { out: data });
      inferenceOnly(this.name, y, x);
      return y;
    }
    const { y, data } = cpuOutput([N, this.outChannels, oh, ow], this.name);
    qconv2d(args, { out: data });
    inferenceOnly(this.name, y, x);
    return y;
  }
  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}`;
    if (this.padding[0] || this.padding[1]) s += `, padding=${fmtPair(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${fmtPair(this.dilation)}`;
    const p = this.fusedPool?.[0];
    const pool = p ? `, max_pool=(kernel_size=${fmtPair(p.kernel)}, stride=${fmtPair(p.stride)}, padding=${fmtPair(p.padding)})` : '';
    return `${s}, ${this.qRepr()}${pool}`;
  }
}

/**
 * torch.ao.nn.quantized.Quantize (what a QuantStub becomes): snaps its float input to the int8 grid
 * of the calibrated scale / zero point (values scale · (q − zp), as float32; see the header).
 */
export class Quantize extends Module {
  constructor(readonly qparams: InputQParams) {
    super();
    checkInputParams('Quantize', qparams);
  }
  forward(x: Tensor): Tensor {
    floatInput('Quantize', x);
    const p = this.qparams;
    const q = quantizeForKernel(hostValues(x), p);
    const out = new Float32Array(q.data.length);
    for (let i = 0; i < out.length; i++) out[i] = p.scale * (q.data[i]! - q.zeroPoint);
    const y = fromHost(out, [...x.shape], 'float32', 'cpu');
    inferenceOnly('Quantize', y, x);
    return y;
  }
  override extraRepr(): string {
    return `scale=${this.qparams.scale.toPrecision(4)}, zero_point=${this.qparams.zeroPoint}, dtype=${this.qparams.dtype}`;
  }
}

/** torch.ao.nn.quantized.DeQuantize (what a DeQuantStub becomes): activations are float already. */
export class DeQuantize extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
