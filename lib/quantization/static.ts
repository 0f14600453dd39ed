// Static post-training quantization and quantization-aware training, after torch.ao.quantization
// (eager mode):
//
//   const f = quantization.fuseModules(model.eval(), [['0', '1'], ['3', '4']]);  // Conv2d+ReLU, Linear+ReLU, Conv2d+BatchNorm2d(+ReLU)
//   const p = quantization.prepare(f, quantization.getDefaultQconfig('x86'));    // observers in
//   quantization.calibrate(p, loader, { batches: 32 });                           // forward passes
//   const q = quantization.convert(p);                                            // int8 Linear / Conv2d
//
//   QAT: const p = quantization.prepareQat(f, quantization.getDefaultQatQconfig('x86')); fit(p, …); const q = quantization.convert(p);
//   All in one: quantization.quantizeStatic(model, loader, { batches, qconfig }).
//
// prepare(model, qconfig, { inplace, layers }) (copy unless inplace, as torch) replaces every
// nn.Linear / nn.Conv2d (and the fused LinearReLU / ConvReLU2d) by an observed layer that shares
// its parameters and runs the qconfig's activation observer on its input; QuantStub gets an observer
// too. Other layers stay float. prepareQat does the same with FakeQuantize on the input and on the
// weight (straight-through estimator), in training mode. convert(prepared, { inplace }) replaces
// the observed layers with nn.quantized.Linear / Conv2d (their input scale / zero point from the
// observer, the weight quantized with the qconfig's weight observer), QuantStub with Quantize and
// DeQuantStub with DeQuantize; it refuses an observer that has seen no data (convert before
// calibrate). Differences from torch, by design: observers sit at each int8 layer's input rather
// than its output (activations travel as float32 between layers: nn/quantized-static.ts), so a
// model needs no QuantStub/DeQuantStub (they are accepted and honoured). Where an int8 conv is
// followed by a MaxPool2d and then another int8 layer, convert fuses the pool into the conv, which
// pools on the next layer's int8 grid (torch pools the quint8 tensor; same outputs bit for bit:
// fuseInt8MaxPools, quantization/qpool.ts).

import { noGrad } from '../autograd/mode.js';
import { tidy } from '../memory.js';
import { Module, type AnyModule } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';
import { Conv2d } from '../nn/layers/conv.js';
import { ReLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/norm.js';
import { Flatten, Sequential } from '../nn/layers/container.js';
import { MaxPool2d } from '../nn/layers/pool.js';
import { Identity } from '../nn/layers/linear.js';
import { Parameter } from '../nn/parameter.js';
import { conv2d } from '../ops/conv.js';
import { relu } from '../ops/elementwise.js';
import { linear } from '../ops/matmul.js';
import { fromHost } from '../ops/creation.js';
import { isTensor, Tensor } from '../tensor.js';
import { checkOptions, bool } from '../options.js';
import { cloneModule } from './copy.js';
import { QTensor, roundHalfEven } from './qtensor.js';
import {
  HistogramObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  ObserverBase,
  PerChannelMinMaxObserver,
  type QParams,
} from './observers.js';
import { FakeQuantize } from './fake-quantize.js';
import { DeQuantize, Quantize, QuantizedConv2d, QuantizedLinear, type InputQParams } from '../nn/quantized-static.js';
import { DynamicQuantizedLinear, DynamicQuantizedRNN } from '../nn/quantized.js';

type ObsOrFq = ObserverBase | FakeQuantize;

/** torch's QConfig: factories of the activation and the weight observer (or FakeQuantize for QAT). */
export interface QConfig {
  activation: () => ObsOrFq;
  weight: () => ObsOrFq;
}

export type QBackend = 'x86' | 'fbgemm' | 'qnnpack' | 'symmetric';

const WEIGHT_PER_CHANNEL = { dtype: 'qint8', qscheme: 'per_channel_symmetric', quantMin: -127, quantMax: 127 } as const;

/**
 * torch.ao.quantization.get_default_qconfig: 'x86' / 'fbgemm': HistogramObserver (quint8, affine,
 * reduceRange) on activations, per-channel symmetric qint8 weights; 'qnnpack': the same without
 * reduceRange and per-tensor symmetric weights; 'symmetric': symmetric qint8 activations (MinMax)
 * and per-channel weights. Weights use [−127, 127] (see observers.ts).
 */
export function getDefaultQconfig(backend: QBackend = 'x86'): QConfig {
  switch (backend) {
    case 'x86':
    case 'fbgemm':
      return {
        activation: HistogramObserver.withArgs({ reduceRange: true }),
        weight: PerChannelMinMaxObserver.withArgs(WEIGHT_PER_CHANNEL),
      };
    case 'qnnpack':
      return {
        activation: HistogramObserver.withArgs({ reduceRange: false }),
        weight: MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric', quantMin: -127, quantMax: 127 }),
      };
    case 'symmetric':
      return {
        activation: MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' }),
        weight: PerChannelMinMaxObserver.withArgs(WEIGHT_PER_CHANNEL),
      };
    default:
      throw new RangeError(`getDefaultQconfig: backend must be 'x86', 'fbgemm', 'qnnpack' or 'symmetric', got ${JSON.stringify(backend)}`);
  }
}

/**
 * torch.ao.quantization.get_default_qat_qconfig: FakeQuantize with MovingAverageMinMaxObserver on
 * activations (quint8, reduceRange for x86/fbgemm), FakeQuantize with per-channel symmetric qint8
 * on weights (the current weight's range at every step).
 */
export function getDefaultQatQconfig(backend: QBackend = 'x86'): QConfig {
  const reduceRange = backend === 'x86' || backend === 'fbgemm';
  if (!['x86', 'fbgemm', 'qnnpack', 'symmetric'].includes(backend))
    throw new RangeError(`getDefaultQatQconfig: backend must be 'x86', 'fbgemm', 'qnnpack' or 'symmetric', got ${JSON.stringify(backend)}`);
  const act =
    backend === 'symmetric'
      ? FakeQuantize.withArgs({ observer: MovingAverageMinMaxObserver, dtype: 'qint8', qscheme: 'per_tensor_symmetric' })
      : FakeQuantize.withArgs({ observer: MovingAverageMinMaxObserver, reduceRange });
  return {
    activation: act,
    weight: FakeQuantize.withArgs({ observer: PerChannelMinMaxObserver, ...WEIGHT_PER_CHANNEL, averagingConstant: 1 }),
  };
}

// ---- stubs and fused modules ---------------------------------------------------------------

/** Marks where float input becomes quantized (torch's QuantStub); identity until converted. */
export class QuantStub extends Module {
  activationPostProcess: ObsOrFq | null = null;
  forward(x: Tensor): Tensor {
    return this.activationPostProcess ? this.activationPostProcess.forward(x) : x;
  }
}

/** Marks where quantized activations become float again (torch's DeQuantStub); identity. */
export class DeQuantStub extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** quant → module → dequant (torch's QuantWrapper). */
export class QuantWrapper extends Module {
  readonly quant = new QuantStub();
  readonly dequant = new DeQuantStub();
  constructor(readonly module: AnyModule) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.dequant.forward((this.module as Module<[Tensor], Tensor>).forward(this.quant.forward(x)));
  }
}

/** Linear followed by ReLU, fused (torch.ao.nn.intrinsic.LinearReLU): children '0' and '1'. */
export class LinearReLU extends Sequential {
  constructor(lin: Linear, r: ReLU = new ReLU()) {
    super(lin, r);
  }
}

/** Conv2d (BatchNorm folded in, if any) followed by ReLU (torch.ao.nn.intrinsic.ConvReLU2d). */
export class ConvReLU2d extends Sequential {
  constructor(conv: Conv2d, r: ReLU = new ReLU()) {
    super(conv, r);
  }
}

function childOf(root: AnyModule, path: string, who: string): [AnyModule, string, AnyModule] {
  const parts = path.split('.');
  let parent: AnyModule = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = (parent as unknown as Record<string, unknown>)[parts[i]!];
    if (!(next instanceof Module)) throw new Error(`${who}: no module '${path}' in ${root.name} (at '${parts.slice(0, i + 1).join('.')}')`);
    parent = next;
  }
  const key = parts[parts.length - 1]!;
  const m = (parent as unknown as Record<string, unknown>)[key];
  if (!(m instanceof Module)) throw new Error(`${who}: no module '${path}' in ${root.name}`);
  return [parent, key, m];
}

/** conv with bn folded in: w · γ/√(var + ε) per output channel, (b − mean) · γ/√(var + ε) + β. */
function foldBn(conv: Conv2d, bn: BatchNorm2d, where: string): Conv2d {
  if (conv.training || bn.training)
    throw new Error(
      `fuseModules: folding BatchNorm2d into Conv2d (${where}) needs eval mode (call model.eval() first: the running statistics are folded in); for QAT fold in eval mode, then prepareQat`,
    );
  if (!bn.running_mean || !bn.running_var)
    throw new Error(`fuseModules: BatchNorm2d at ${where} tracks no running statistics; it cannot be folded`);
  if (bn.numFeatures !== conv.outChannels)
    throw new Error(`fuseModules: BatchNorm2d(${bn.numFeatures}) does not match Conv2d's ${conv.outChannels} output channels at ${where}`);
  const K = conv.outChannels;
  const w = Float64Array.from(conv.weight.dataSync() as ArrayLike<number>);
  const b = conv.bias ? Float64Array.from(conv.bias.dataSync() as ArrayLike<number>) : new Float64Array(K);
  const mean = bn.running_mean.dataSync() as ArrayLike<number>,
    vr = bn.running_var.dataSync() as ArrayLike<number>;
  const gamma = bn.weight ? (bn.weight.dataSync() as ArrayLike<number>) : null,
    beta = bn.bias ? (bn.bias.dataSync() as ArrayLike<number>) : null;
  const per = w.length / K;
  const nw = new Float32Array(w.length),
    nb = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    const f = (gamma ? gamma[k]! : 1) / Math.sqrt(vr[k]! + bn.eps);
    for (let i = 0; i < per; i++) nw[k * per + i] = w[k * per + i]! * f;
    nb[k] = (b[k]! - mean[k]!) * f + (beta ? beta[k]! : 0);
  }
  const dev = conv.weight.device;
  const oldW = conv.weight,
    oldB = conv.bias;
  conv.weight = Parameter.from(fromHost(nw, [...oldW.shape], 'float32', dev), oldW.requiresGrad);
  conv.bias = Parameter.from(fromHost(nb, [K], 'float32', dev), oldW.requiresGrad);
  oldW.dispose();
  oldB?.dispose();
  return conv;
}

/**
 * torch.ao.quantization.fuse_modules: each group of dotted names (['0', '1'], ['features.0',
 * 'features.1', 'features.2']) becomes one module at the first name, Identity at the others:
 * [Conv2d, ReLU] → ConvReLU2d; [Linear, ReLU] → LinearReLU; [Conv2d, BatchNorm2d] → Conv2d with the
 * BatchNorm folded (eval mode); [Conv2d, BatchNorm2d, ReLU] → ConvReLU2d of the folded conv.
 * A copy unless `inplace` (torch's default too).
 */
export function fuseModules<M extends AnyModule>(model: M, groups: string[] | string[][], o: { inplace?: boolean } = {}): M {
  checkOptions('fuseModules', o, ['inplace']);
  if (!(model instanceof Module)) throw new TypeError('fuseModules: expected a Module');
  const list: string[][] = groups.length && typeof groups[0] === 'string' ? [groups as string[]] : (groups as string[][]);
  const root = bool('fuseModules', 'inplace', o.inplace, false) ? model : cloneModule(model);
  for (const g of list) {
    if (!Array.isArray(g) || g.length < 2)
      throw new RangeError(`fuseModules: each group needs at least two module names, got ${JSON.stringify(g)}`);
    const found = g.map((n) => childOf(root, n, 'fuseModules'));
    const mods = found.map((f) => f[2]);
    const kinds = mods.map((m) => m.constructor.name).join(', ');
    let fused: AnyModule;
    const isExact = (m: AnyModule, C: abstract new (...a: never[]) => unknown): boolean => m.constructor === C;
    if (mods.length === 2 && isExact(mods[0]!, Conv2d) && isExact(mods[1]!, ReLU))
      fused = new ConvReLU2d(mods[0] as Conv2d, mods[1] as ReLU);
    else if (mods.length === 2 && isExact(mods[0]!, Linear) && isExact(mods[1]!, ReLU))
      fused = new LinearReLU(mods[0] as Linear, mods[1] as ReLU);
    else if (mods.length === 2 && isExact(mods[0]!, Conv2d) && isExact(mods[1]!, BatchNorm2d))
      fused = foldBn(mods[0] as Conv2d, mods[1] as BatchNorm2d, g.join(' + '));
    else if (mods.length === 3 && isExact(mods[0]!, Conv2d) && isExact(mods[1]!, BatchNorm2d) && isExact(mods[2]!, ReLU))
      fused = new ConvReLU2d(foldBn(mods[0] as Conv2d, mods[1] as BatchNorm2d, g.join(' + ')), mods[2] as ReLU);
    else
      throw new Error(
        `fuseModules: cannot fuse [${g.join(', ')}] (${kinds}): the patterns are [Conv2d, ReLU], [Linear, ReLU], [Conv2d, BatchNorm2d] and [Conv2d, BatchNorm2d, ReLU]`,
      );
    const [p0, k0] = found[0]!;
    (p0 as unknown as Record<string, unknown>)[k0] = fused;
    for (const [p, k, m] of found.slice(1)) {
      (p as unknown as Record<string, unknown>)[k] = new Identity();
      if (m instanceof BatchNorm2d) m.dispose();
    }
  }
  return root;
}

/**
 * The groups fuseModules accepts, found in every Sequential of the model (consecutive children):
 * Conv2d[, BatchNorm2d][, ReLU] and Linear, ReLU. Conv2d+BatchNorm2d groups are left out when the
 * model is in training mode (folding needs eval).
 */
export function fusableModules(model: AnyModule): string[][] {
  const out: string[][] = [];
  for (const [prefix, m] of model.namedModules()) {
    if (!(m instanceof Sequential) || m instanceof LinearReLU || m instanceof ConvReLU2d) continue;
    const kids = [...m.namedChildren()];
    const name = (k: string): string => (prefix ? `${prefix}.${k}` : k);
    for (let i = 0; i < kids.length; i++) {
      const [k, c] = kids[i]!;
      const next = kids[i + 1]?.[1],
        next2 = kids[i + 2]?.[1];
      if (c.constructor === Linear && next?.constructor === ReLU) {
        out.push([name(k), name(kids[i + 1]![0])]);
        i++;
      } else if (c.constructor === Conv2d) {
        if (next?.constructor === BatchNorm2d && !(c as AnyModule).training) {
          const g = [name(k), name(kids[i + 1]![0])];
          if (next2?.constructor === ReLU) g.push(name(kids[i + 2]![0]));
          out.push(g);
          i += g.length - 1;
        } else if (next?.constructor === ReLU) {
          out.push([name(k), name(kids[i + 1]![0])]);
          i++;
        }
      }
    }
  }
  return out;
}

// ---- observed (prepared) layers -----------------------------------------------------------

/** The observer inside an observer or a FakeQuantize. */
function observerOf(m: ObsOrFq): ObserverBase {
  return m instanceof FakeQuantize ? m.activationPostProcess : m;
}

function makeObs(f: () => ObsOrFq, what: string, qat: boolean): ObsOrFq {
  if (typeof f !== 'function') throw new TypeError(`prepare: qconfig.${what} must be a factory such as MinMaxObserver.withArgs({...})`);
  const o = f();
  if (!(o instanceof ObserverBase) && !(o instanceof FakeQuantize))
    throw new TypeError(`prepare: qconfig.${what}() must return an observer or a FakeQuantize, got ${o === null ? 'null' : typeof o}`);
  if (qat && !(o instanceof FakeQuantize))
    throw new TypeError(
      `prepareQat: qconfig.${what}() must return a FakeQuantize (quantization-aware training fake-quantizes); use getDefaultQatQconfig()`,
    );
  return o;
}

/** Linear (or LinearReLU) with an observer at its input; QAT: FakeQuantize on input and weight. */
export class ObservedLinear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly inputActivationPostProcess: ObsOrFq;
  readonly weightFakeQuant: FakeQuantize | null;
  constructor(
    lin: Linear,
    readonly relu: boolean,
    readonly qconfig: QConfig,
    readonly qat: boolean,
  ) {
    super();
    this.weight = lin.weight;
    this.bias = lin.bias;
    this.inputActivationPostProcess = makeObs(qconfig.activation, 'activation', qat);
    this.weightFakeQuant = qat ? (makeObs(qconfig.weight, 'weight', true) as FakeQuantize) : null;
  }
  get inFeatures(): number {
    return this.weight.shape[1]!;
  }
  get outFeatures(): number {
    return this.weight.shape[0]!;
  }
  override get name(): string {
    return `${this.qat ? 'Qat' : 'Observed'}Linear${this.relu ? 'ReLU' : ''}`;
  }
  forward(x: Tensor): Tensor {
    const xi = this.inputActivationPostProcess.forward(x);
    const w = this.weightFakeQuant ? this.weightFakeQuant.forward(this.weight) : this.weight;
    const y = linear(xi, w, this.bias);
    return this.relu ? relu(y) : y;
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Conv2d (or ConvReLU2d) with an observer at its input; QAT: FakeQuantize on input and weight. */
export class ObservedConv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly inputActivationPostProcess: ObsOrFq;
  readonly weightFakeQuant: FakeQuantize | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  constructor(
    conv: Conv2d,
    readonly relu: boolean,
    readonly qconfig: QConfig,
    readonly qat: boolean,
    where: string,
  ) {
    super();
    if (conv.groups !== 1)
      throw new Error(
        `prepare: Conv2d '${where}' has groups=${conv.groups}; the int8 convolution supports groups=1 only: leave it out with { exclude: ['${where}'] }`,
      );
    this.weight = conv.weight;
    this.bias = conv.bias;
    this.stride = conv.stride;
    this.dilation = conv.dilation;
    const p = conv.padding;
    if (p === 'valid') this.padding = [0, 0];
    else if (p === 'same') {
      const t = conv.kernelSize.map((k, i) => conv.dilation[i]! * (k - 1));
      if (t[0]! % 2 || t[1]! % 2)
        throw new Error(
          `prepare: Conv2d '${where}' has padding='same' with an even kernel (asymmetric padding), which the int8 convolution does not support`,
        );
      this.padding = [t[0]! / 2, t[1]! / 2];
    } else this.padding = p;
    this.inputActivationPostProcess = makeObs(qconfig.activation, 'activation', qat);
    this.weightFakeQuant = qat ? (makeObs(qconfig.weight, 'weight', true) as FakeQuantize) : null;
  }
  get inChannels(): number {
    return this.weight.shape[1]!;
  }
  get outChannels(): number {
    return this.weight.shape[0]!;
  }
  override get name(): string {
    return `${this.qat ? 'Qat' : 'Observed'}Conv${this.relu ? 'ReLU' : ''}2d`;
  }
  forward(x: Tensor): Tensor {
    const xi = this.inputActivationPostProcess.forward(x);
    const w = this.weightFakeQuant ? this.weightFakeQuant.forward(this.weight) : this.weight;
    const y = conv2d(xi, w, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
    return this.relu ? relu(y) : y;
  }
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=${this.weight.shape.slice(2).join('x')}, stride=${this.stride.join('x')}, padding=${this.padding.join('x')}`;
  }
}

// ---- prepare / calibrate / convert ------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ModuleClass = abstract new (...args: any[]) => AnyModule;

export interface PrepareOptions {
  /** change `model` itself (default false: a copy, as torch) */
  inplace?: boolean;
  /** dotted names of layers to leave float (torch: qconfig = None on them) */
  exclude?: string[];
  /** the float layer classes to quantize: nn.Linear and/or nn.Conv2d (default both) */
  layers?: ModuleClass[];
}

function checkLayers(who: string, layers: unknown): Set<ModuleClass> {
  if (!Array.isArray(layers)) throw new TypeError(`${who}: layers must be an array of layer classes, e.g. [nn.Linear, nn.Conv2d]`);
  const s = new Set<ModuleClass>();
  for (const c of layers as unknown[]) {
    if (c === Linear || c === Conv2d) s.add(c as ModuleClass);
    else if (typeof c === 'function' && (c as { prototype?: unknown }).prototype instanceof Module)
      throw new Error(
        `${who}: static int8 for nn.${(c as { name: string }).name} is not supported: only nn.Linear and nn.Conv2d have int8 kernels (nn.LSTM / nn.GRU: use quantizeDynamic; other layers stay float between the int8 ones)`,
      );
    else throw new TypeError(`${who}: layers must hold layer classes such as nn.Linear, got ${typeof c}`);
  }
  return s;
}

function checkQconfig(who: string, q: unknown): QConfig {
  if (q === null || typeof q !== 'object' || typeof (q as QConfig).activation !== 'function' || typeof (q as QConfig).weight !== 'function')
    throw new TypeError(`${who}: qconfig must be { activation, weight } observer factories, e.g. quantization.getDefaultQconfig('x86')`);
  return q as QConfig;
}

function prepareImpl<M extends AnyModule>(who: string, model: M, qconfig: QConfig, o: PrepareOptions, qat: boolean): M {
  if (!(model instanceof Module)) throw new TypeError(`${who}: expected a Module, got ${model === null ? 'null' : typeof model}`);
  checkOptions(who, o, ['inplace', 'exclude', 'layers']);
  checkQconfig(who, qconfig);
  const layers = checkLayers(who, o.layers ?? [Linear, Conv2d]);
  const exclude = new Set(o.exclude ?? []);
  const root = bool(who, 'inplace', o.inplace, false) ? model : cloneModule(model);
  const swap = (m: AnyModule, name: string): AnyModule | null => {
    if (exclude.has(name)) return m;
    if (m instanceof ObservedLinear || m instanceof ObservedConv2d)
      throw new Error(`${who}: '${name}' is already prepared (${m.name}); prepare the float model once`);
    if (
      m instanceof DynamicQuantizedLinear ||
      m instanceof DynamicQuantizedRNN ||
      m instanceof QuantizedLinear ||
      m instanceof QuantizedConv2d
    )
      throw new Error(`${who}: '${name}' is already quantized (${m.name}); prepare the float model`);
    if (m.constructor === Linear && layers.has(Linear)) return new ObservedLinear(m as Linear, false, qconfig, qat);
    if (m.constructor === Conv2d && layers.has(Conv2d)) return new ObservedConv2d(m as Conv2d, false, qconfig, qat, name);
    if (m instanceof LinearReLU && layers.has(Linear))
      return new ObservedLinear((m as unknown as Record<string, Linear>)['0']!, true, qconfig, qat);
    if (m instanceof ConvReLU2d && layers.has(Conv2d))
      return new ObservedConv2d((m as unknown as Record<string, Conv2d>)['0']!, true, qconfig, qat, name);
    if (m instanceof QuantStub) {
      m.activationPostProcess = makeObs(qconfig.activation, 'activation', qat);
      return m;
    }
    return null;
  };
  const direct = swap(root, '');
  if (direct && direct !== root) return direct as unknown as M;
  const walk = (parent: AnyModule, prefix: string): void => {
    for (const [k, child] of [...parent.namedChildren()]) {
      const name = prefix ? `${prefix}.${k}` : k;
      const r = swap(child, name);
      if (r === null) walk(child, name);
      else (parent as unknown as Record<string, unknown>)[k] = r;
    }
  };
  walk(root, '');
  return root;
}

/** torch.ao.quantization.prepare: see the header. */
export function prepare<M extends AnyModule>(model: M, qconfig: QConfig = getDefaultQconfig(), options: PrepareOptions = {}): M {
  const r = prepareImpl('prepare', model, qconfig, options, false);
  r.eval();
  return r;
}

/** torch.ao.quantization.prepare_qat: fake quantization in the forward path, training mode. */
export function prepareQat<M extends AnyModule>(model: M, qconfig: QConfig = getDefaultQatQconfig(), options: PrepareOptions = {}): M {
  const r = prepareImpl('prepareQat', model, qconfig, options, true);
  r.train();
  return r;
}

/** What calibrate() takes: a DataLoader or any iterable of batches, or one tensor (one batch). */
export type CalibrationData = Iterable<unknown> | Tensor;

/**
 * Runs up to `batches` batches (default all) through a prepared model in eval mode without grad,
 * so its observers record the activations. A batch is a tensor, an array whose first element is
 * the input ([x, y] from a DataLoader) or { x }. Returns the number of batches run.
 */
export function calibrate(model: AnyModule, data: CalibrationData, o: { batches?: number } = {}): number {
  checkOptions('calibrate', o, ['batches']);
  const limit = o.batches ?? Infinity;
  if (!(limit === Infinity || (Number.isInteger(limit) && limit > 0)))
    throw new RangeError(`calibrate: batches must be a positive integer, got ${o.batches}`);
  if (![...model.modules()].some((m) => m instanceof ObserverBase))
    throw new Error(`calibrate: ${model.name} has no observers; prepare it first (const p = quantization.prepare(model, qconfig))`);
  model.eval();
  const fwd = model as unknown as Module<[Tensor], Tensor>;
  const input = (b: unknown): Tensor => {
    if (isTensor(b)) return b;
    if (Array.isArray(b) && isTensor(b[0])) return b[0];
    if (b && typeof b === 'object' && isTensor((b as { x?: unknown }).x)) return (b as { x: Tensor }).x;
    throw new TypeError('calibrate: a batch must be a tensor, [x, …] or { x }');
  };
  let n = 0;
  const iter: Iterable<unknown> = data instanceof Tensor ? [data] : data;
  if (iter === null || typeof (iter as Iterable<unknown>)[Symbol.iterator] !== 'function')
    throw new TypeError('calibrate: data must be a DataLoader, an iterable of batches or a tensor');
  for (const b of iter) {
    if (n >= limit) break;
    const x = input(b);
    noGrad(() => tidy(() => void fwd.forward(x)));
    n++;
  }
  if (n === 0) throw new Error('calibrate: the data gave no batches; the observers saw nothing');
  return n;
}

function inputParams(obs: ObsOrFq, where: string): InputQParams {
  const o = observerOf(obs);
  if (o.count === 0)
    throw new Error(
      `convert: the observer of '${where}' has seen no data — convert before calibrate: run quantization.calibrate(prepared, loader) (or forward passes) after prepare and before convert`,
    );
  const q = o.calculateQparams();
  if (q.axis !== null) throw new Error(`convert: '${where}' has a per-channel activation observer; activations are quantized per tensor`);
  return { scale: q.scale[0]!, zeroPoint: q.zeroPoint[0]!, dtype: q.dtype, quantMin: q.quantMin, quantMax: q.quantMax };
}

/** Quantizes values with observer parameters (per channel along axis 0, or per tensor). */
export function quantizeWithQparams(v: ArrayLike<number>, shape: readonly number[], q: QParams): QTensor {
  if (q.dtype !== 'qint8') throw new RangeError(`convert: weights must be qint8, the weight observer gives ${q.dtype}`);
  if (q.axis !== null && q.axis !== 0)
    throw new RangeError(`convert: per-channel weights must be along axis 0 (output channels), got ${q.axis}`);
  const data = new Int8Array(v.length);
  const C = q.axis === null ? 1 : shape[0]!;
  const inner = v.length / C;
  for (let c = 0; c < C; c++) {
    const s = q.scale[c]!,
      zp = q.zeroPoint[c]!;
    for (let i = c * inner, e = i + inner; i < e; i++) {
      const r = roundHalfEven(v[i]! / s) + zp;
      data[i] = r < q.quantMin ? q.quantMin : r > q.quantMax ? q.quantMax : r;
    }
  }
  return new QTensor('qint8', [...shape], data, q.scale, q.zeroPoint, q.axis);
}

function weightQTensor(m: ObservedLinear | ObservedConv2d): QTensor {
  const obs = m.weightFakeQuant ? observerOf(m.weightFakeQuant) : observerOf(makeObs(m.qconfig.weight, 'weight', false));
  noGrad(() => obs.forward(m.weight));
  return quantizeWithQparams(m.weight.dataSync() as ArrayLike<number>, m.weight.shape, obs.calculateQparams());
}

function hostBias(b: Parameter | null): Tensor | null {
  return b ? fromHost(Float32Array.from(b.dataSync() as ArrayLike<number>), [b.shape[0]!], 'float32', 'cpu') : null;
}

/** What stands where convert() fused a MaxPool2d into the int8 conv before it (an Identity; saveQuantized does not list it). */
export class PoolFusedIdentity extends Identity {
  override get name(): string {
    return 'Identity';
  }
  override extraRepr(): string {
    return 'MaxPool2d fused into the int8 conv before it';
  }
}

/**
 * In every Sequential of a converted model, a QuantizedConv2d (or ConvReLU2d) followed by a
 * MaxPool2d (Identity modules between them allowed) and then by another int8 layer (after
 * Identity / Flatten modules) becomes one int8 conv → max-pool → requantize step: the conv pools
 * its output and puts it on the grid of that layer's input parameters (lib/quantization/qpool.ts:
 * max commutes with the monotone quantization, so the model's outputs are bit for bit the unfused
 * ones), and the MaxPool2d's place holds an Identity, as fuse_modules leaves. Returns how many
 * pools were fused. convert() runs it (fuseMaxPool: false leaves the pools float), and so does
 * loadQuantized.
 */
export function fuseInt8MaxPools(root: AnyModule): number {
  let fused = 0;
  for (const [, seq] of [...root.namedModules()]) {
    if (!(seq instanceof Sequential)) continue;
    const kids = [...seq.namedChildren()];
    for (let i = 0; i < kids.length; i++) {
      const conv = kids[i]![1];
      if (!(conv instanceof QuantizedConv2d) || conv.fusedPool) continue;
      let j = i + 1;
      while (j < kids.length && kids[j]![1].constructor === Identity) j++;
      const pool = kids[j]?.[1];
      if (!(pool instanceof MaxPool2d) || pool.constructor !== MaxPool2d) continue;
      let k = j + 1;
      while (k < kids.length && (kids[k]![1] instanceof Identity || kids[k]![1].constructor === Flatten)) k++;
      const next = kids[k]?.[1];
      if (!(next instanceof QuantizedConv2d || next instanceof QuantizedLinear)) continue;
      conv.fusedPool = [
        {
          kernel: [...pool.kernelSize],
          stride: [...pool.stride],
          padding: [...pool.padding],
          dilation: [...pool.dilation],
          ceilMode: pool.ceilMode,
        },
        next,
      ];
      const slot = new PoolFusedIdentity();
      (seq as unknown as Record<string, unknown>)[kids[j]![0]] = slot;
      kids[j] = [kids[j]![0], slot];
      fused++;
    }
  }
  return fused;
}

export interface ConvertOptions {
  /** change `model` itself (default false: a copy, as torch) */
  inplace?: boolean;
  /** fuse each MaxPool2d between two int8 layers into the conv before it (default true; outputs unchanged, see fuseInt8MaxPools) */
  fuseMaxPool?: boolean;
}

/** torch.ao.quantization.convert: see the header. The result is in eval mode, for inference. */
export function convert<M extends AnyModule>(model: M, o: ConvertOptions = {}): M {
  return convertImpl(model, o, !o.inplace);
}

function convertImpl<M extends AnyModule>(model: M, o: ConvertOptions, free: boolean): M {
  if (!(model instanceof Module)) throw new TypeError(`convert: expected a Module, got ${model === null ? 'null' : typeof model}`);
  checkOptions('convert', o, ['inplace', 'fuseMaxPool']);
  const fusePools = bool('convert', 'fuseMaxPool', o.fuseMaxPool, true);
  const mods = [...model.modules()];
  if (!mods.some((m) => m instanceof ObservedLinear || m instanceof ObservedConv2d || (m instanceof QuantStub && m.activationPostProcess)))
    throw new Error(`convert: ${model.name} has no observed layers; prepare it (quantization.prepare(model, qconfig)) and calibrate first`);
  const root = bool('convert', 'inplace', o.inplace, false) ? model : cloneModule(model);
  const conv = (m: AnyModule, name: string): AnyModule | null => {
    const where = name || 'the model';
    if (m instanceof ObservedLinear) {
      const q = new QuantizedLinear(
        m.inFeatures,
        m.outFeatures,
        weightQTensor(m),
        hostBias(m.bias),
        inputParams(m.inputActivationPostProcess, where),
        m.relu,
      );
      return q;
    }
    if (m instanceof ObservedConv2d)
      return new QuantizedConv2d(
        m.inChannels,
        weightQTensor(m),
        hostBias(m.bias),
        inputParams(m.inputActivationPostProcess, where),
        m.stride,
        m.padding,
        m.dilation,
        m.relu,
      );
    if (m instanceof QuantStub) return m.activationPostProcess ? new Quantize(inputParams(m.activationPostProcess, where)) : m;
    if (m instanceof DeQuantStub) return new DeQuantize();
    return null;
  };
  const replaced: AnyModule[] = [];
  const direct = conv(root, '');
  let out: AnyModule = root;
  if (direct) {
    replaced.push(root);
    out = direct;
  } else {
    const walk = (parent: AnyModule, prefix: string): void => {
      for (const [k, child] of [...parent.namedChildren()]) {
        const name = prefix ? `${prefix}.${k}` : k;
        const r = conv(child, name);
        if (r === null) walk(child, name);
        else if (r !== child) {
          (parent as unknown as Record<string, unknown>)[k] = r;
          replaced.push(child);
        }
      }
    };
    walk(root, '');
  }
  // free the float weights of the replaced layers (our copy's; an in-place model's are the caller's to keep)
  if (free) {
    const live = new Set<unknown>([...out.parameters(), ...out.buffers()]);
    for (const m of replaced) for (const [, p] of m.namedOwnParameters()) if (!live.has(p)) p.dispose();
  }
  if (fusePools) fuseInt8MaxPools(out);
  out.eval();
  return out as M;
}

/**
 * fuse (every fusableModules group, eval mode) → prepare → calibrate → convert in one call; the
 * model itself is not changed. Options: qconfig (default getDefaultQconfig('x86')), batches
 * (default 32), fuse (default true), fuseMaxPool (convert's, default true), exclude, layers.
 */
export function quantizeStatic<M extends AnyModule>(
  model: M,
  data: CalibrationData,
  o: { qconfig?: QConfig; batches?: number; fuse?: boolean; fuseMaxPool?: boolean; exclude?: string[]; layers?: ModuleClass[] } = {},
): M {
  checkOptions('quantizeStatic', o, ['qconfig', 'batches', 'fuse', 'fuseMaxPool', 'exclude', 'layers']);
  const wasTraining = model.training;
  const copy = cloneModule(model).eval();
  if (wasTraining) model.train();
  const fused = bool('quantizeStatic', 'fuse', o.fuse, true) ? fuseModules(copy, fusableModules(copy), { inplace: true }) : copy;
  const p = prepare(fused, o.qconfig ?? getDefaultQconfig(), { inplace: true, exclude: o.exclude, layers: o.layers });
  calibrate(p, data, { batches: o.batches ?? 32 });
  return convertImpl(p, { inplace: true, fuseMaxPool: o.fuseMaxPool }, true);
}
