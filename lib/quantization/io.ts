// Saving and loading quantized models as safetensors.
//
// Key layout (one int8 Linear at '<name>', e.g. '1' in a Sequential, 'fc1' in a custom model; an int8
// LSTM/GRU writes the same three tensors for each of its weight_ih_l<k>[_reverse] / weight_hh_…,
// e.g. 'lstm.weight_ih_l0', 'lstm.weight_ih_l0_scale', 'lstm.weight_ih_l0_zero_point', and its float
// biases under torch's names 'lstm.bias_ih_l0', …):
//   <name>.weight             I8   (out, in)   the int8 weight values q
//   <name>.weight_scale       F32  (out)       per output channel (or (1) per tensor): w ≈ scale · (q − zero_point)
//   <name>.weight_zero_point  I32  (out)       0 for the symmetric weights quantizeDynamic makes
//   <name>.bias               F32  (out)       float, as in the float model (absent without bias)
// every other parameter and buffer as in model.stateDict(); and in __metadata__:
//   "wattgrad.quantization": "dynamic int8"
//   "wattgrad.quantized_layers": JSON { "<name>": { "type": "DynamicQuantizedLinear",
//                                  "qscheme": "per_channel_symmetric", "reduce_range": true } }
//
// Static int8 layers (quantization.convert: nn.quantized Linear / Conv2d, fused ReLU) write the same
// three weight tensors ('<name>.weight' is (out, in) or (out, in, kh, kw)), their float bias, and the
// calibrated input parameters as buffers of the state dict:
//   <name>.input_scale        F32  (1)
//   <name>.input_zero_point   I32  (1)       in the layer's input dtype (quint8, or qint8 for symmetric)
// "wattgrad.quantization" is then "static int8", and each layer's metadata entry adds
// { "relu", "input_dtype", "input_quant_min", "input_quant_max" } and, for Conv2d, { "stride",
// "padding", "dilation" }; a converted QuantStub is { "type": "Quantize", "scale", "zero_point",
// "dtype", "quant_min", "quant_max" }, a DeQuantStub { "type": "DeQuantize" }; and
//   "wattgrad.identity_modules": JSON [names of the nn.Identity modules (what fusion left)]
// so that loadQuantized can rebuild the int8 model from a fresh float model of the same architecture.
//
// The names follow ONNX Runtime's QuantizeLinear initializers (weight_quantized / _scale /
// _zero_point) rather than torch's state dict, whose '<name>._packed_params._packed_params' holds
// an opaque fbgemm-packed object and '<name>.scale' / '<name>.zero_point' the (unused, for dynamic
// layers) output qparams: safetensors stores plain arrays, so the int8 values, scales and zero points
// are written out as three plain tensors.

import { SafetensorsError, readSafetensors, rawToTensor, save, type RawTensor, type TensorMap } from '../io/safetensors.js';
import { nullProto } from '../io/json.js';
import type { AnyModule } from '../nn/module.js';
import { Module } from '../nn/module.js';
import { DynamicQuantizedLinear, DynamicQuantizedRNN } from '../nn/quantized.js';
import { DeQuantize, Quantize, QuantizedConv2d, QuantizedLinear, type InputQParams } from '../nn/quantized-static.js';
import { Identity } from '../nn/layers/linear.js';
import { PoolFusedIdentity, fuseInt8MaxPools } from './static.js';
import { fromHost } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { QTensor } from './qtensor.js';

export const QUANTIZATION_METADATA_KEY = 'wattgrad.quantization';
export const QUANTIZED_LAYERS_METADATA_KEY = 'wattgrad.quantized_layers';
export const IDENTITY_MODULES_METADATA_KEY = 'wattgrad.identity_modules';

const bytesOf = (a: Int8Array | Float32Array | Int32Array): Uint8Array =>
  new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
const key = (prefix: string, k: string): string => (prefix ? `${prefix}.${k}` : k);

type QLayer = DynamicQuantizedLinear | DynamicQuantizedRNN | QuantizedLinear | QuantizedConv2d;

const isStatic = (m: unknown): m is QuantizedLinear | QuantizedConv2d => m instanceof QuantizedLinear || m instanceof QuantizedConv2d;

function quantizedLayers(model: AnyModule): [string, QLayer][] {
  return [...model.namedModules()].filter(
    (e): e is [string, QLayer] => e[1] instanceof DynamicQuantizedLinear || e[1] instanceof DynamicQuantizedRNN || isStatic(e[1]),
  );
}

/** True when the model holds at least one int8 layer. */
export function isQuantized(model: AnyModule): boolean {
  return quantizedLayers(model).length > 0;
}

/** model.stateDict() plus each int8 layer's weight, weight_scale and weight_zero_point (raw I8/F32/I32). */
export function quantizedStateDict(model: AnyModule): Record<string, Tensor | RawTensor> {
  const out: Record<string, Tensor | RawTensor> = nullProto();
  Object.assign(out, model.stateDict());
  for (const [prefix, m] of quantizedLayers(model)) {
    for (const [name, q] of Object.entries(m.quantizedTensors())) {
      out[key(prefix, name)] = { dtype: 'I8', shape: [...q.shape], data: bytesOf(q.data as Int8Array) };
      out[key(prefix, `${name}_scale`)] = { dtype: 'F32', shape: [q.scale.length], data: bytesOf(q.scale) };
      out[key(prefix, `${name}_zero_point`)] = { dtype: 'I32', shape: [q.zeroPoint.length], data: bytesOf(q.zeroPoint) };
    }
  }
  return out;
}

/** The __metadata__ describing a quantized model's int8 layers. */
export function quantizationMetadata(model: AnyModule): Record<string, string> {
  const layers: Record<string, unknown> = {};
  let anyStatic = false;
  for (const [prefix, m] of quantizedLayers(model)) {
    const first = Object.values(m.quantizedTensors())[0]!;
    const e: Record<string, unknown> = {
      type: m instanceof QuantizedLinear || m instanceof QuantizedConv2d ? m.constructor.name : m.name,
      qscheme: first.axis === null ? 'per_tensor_symmetric' : 'per_channel_symmetric',
      reduce_range: m.reduceRange,
    };
    if (isStatic(m)) {
      anyStatic = true;
      const ip = m.inputQParams;
      Object.assign(e, { relu: m.relu, input_dtype: ip.dtype, input_quant_min: ip.quantMin, input_quant_max: ip.quantMax });
      if (m instanceof QuantizedConv2d) Object.assign(e, { stride: m.stride, padding: m.padding, dilation: m.dilation });
    }
    layers[prefix] = e;
  }
  const identities: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof Quantize) {
      const p = m.qparams;
      layers[name] = {
        type: 'Quantize',
        scale: p.scale,
        zero_point: p.zeroPoint,
        dtype: p.dtype,
        quant_min: p.quantMin,
        quant_max: p.quantMax,
      };
    } else if (m instanceof DeQuantize) layers[name] = { type: 'DeQuantize' };
    else if (m instanceof Identity && !(m instanceof PoolFusedIdentity) && name) identities.push(name); // a fused pool is re-fused on load
  }
  const md: Record<string, string> = {
    [QUANTIZATION_METADATA_KEY]: anyStatic ? 'static int8' : 'dynamic int8',
    [QUANTIZED_LAYERS_METADATA_KEY]: JSON.stringify(layers),
  };
  if (anyStatic) md[IDENTITY_MODULES_METADATA_KEY] = JSON.stringify(identities);
  return md;
}

/** Writes a quantized model to a .safetensors file (layout in the header of this file). */
export function saveQuantized(path: string, model: AnyModule, metadata: Record<string, string> = {}): void {
  if (!isQuantized(model))
    throw new Error(
      `saveQuantized: ${model.name} has no int8 layers; quantize it first (quantization.quantizeDynamic(model)) or save a float model with io.save(path, model.stateDict())`,
    );
  save(path, quantizedStateDict(model) as TensorMap, { metadata: { ...metadata, ...quantizationMetadata(model) } });
}

function decodeTyped(
  raw: RawTensor,
  want: 'I8' | 'F32' | 'I32',
  name: string,
  shape: number[],
  where: string,
): Int8Array | Float32Array | Int32Array {
  if (raw.dtype !== want) throw new SafetensorsError(`${where}: tensor '${name}' is ${raw.dtype}, expected ${want}`);
  if (raw.shape.length !== shape.length || raw.shape.some((d, i) => d !== shape[i]))
    throw new SafetensorsError(
      `${where}: tensor '${name}' has shape [${raw.shape.join(', ')}], the model's layer needs [${shape.join(', ')}]`,
    );
  const copy = raw.data.slice(); // aligned, owned (little-endian hosts: every platform Node supports in practice)
  return want === 'I8' ? new Int8Array(copy.buffer) : want === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
}

function childSlot(root: AnyModule, name: string, path: string): [Record<string, unknown>, string, AnyModule] {
  const parts = name.split('.');
  let parent: AnyModule = root;
  for (const p of parts.slice(0, -1)) {
    const next = (parent as unknown as Record<string, unknown>)[p];
    if (!(next instanceof Module))
      throw new SafetensorsError(`loadQuantized: ${path} has int8 layer '${name}', but ${root.name} has no module '${p}' on that path`);
    parent = next;
  }
  const k = parts[parts.length - 1]!;
  const m = (parent as unknown as Record<string, unknown>)[k];
  if (!(m instanceof Module))
    throw new SafetensorsError(`loadQuantized: ${path} has int8 layer '${name}', but ${root.name} has no module there`);
  return [parent as unknown as Record<string, unknown>, k, m];
}

/** A float model of the right architecture becomes the static int8 model the file describes. */
function rebuildStatic(model: AnyModule, c: ReturnType<typeof readSafetensors>, path: string): void {
  let layers: Record<string, Record<string, unknown>>;
  let identities: string[];
  try {
    layers = JSON.parse(c.metadata[QUANTIZED_LAYERS_METADATA_KEY] ?? '{}') as typeof layers;
    identities = JSON.parse(c.metadata[IDENTITY_MODULES_METADATA_KEY] ?? '[]') as string[];
  } catch {
    throw new SafetensorsError(`loadQuantized: ${path} has unreadable '${QUANTIZED_LAYERS_METADATA_KEY}' metadata`);
  }
  if (Object.prototype.hasOwnProperty.call(layers, ''))
    throw new SafetensorsError(
      `loadQuantized: ${path} quantizes the root module itself; convert a model that contains the layer and load into that`,
    );
  const plan: [Record<string, unknown>, string, AnyModule][] = [];
  for (const [name, e] of Object.entries(layers)) {
    const [parent, k] = childSlot(model, name, path);
    const raw = (n: string): RawTensor => {
      const r = c.tensors.get(`${name}.${n}`);
      if (!r) throw new SafetensorsError(`loadQuantized: ${path} has no '${name}.${n}' for the int8 layer '${name}'`);
      return r;
    };
    let m: AnyModule;
    if (e.type === 'Quantize') {
      m = new Quantize({
        scale: e.scale as number,
        zeroPoint: e.zero_point as number,
        dtype: e.dtype as InputQParams['dtype'],
        quantMin: e.quant_min as number,
        quantMax: e.quant_max as number,
      });
    } else if (e.type === 'DeQuantize') {
      m = new DeQuantize();
    } else if (e.type === 'QuantizedLinear' || e.type === 'QuantizedConv2d') {
      const w = raw('weight');
      const shape = [...w.shape];
      const ch = raw('weight_scale').shape[0] ?? 0;
      const perTensor = ch === 1 && shape[0] !== 1;
      const q = new QTensor(
        'qint8',
        shape,
        decodeTyped(w, 'I8', `${name}.weight`, shape, path) as Int8Array,
        decodeTyped(raw('weight_scale'), 'F32', `${name}.weight_scale`, [ch], path) as Float32Array,
        decodeTyped(raw('weight_zero_point'), 'I32', `${name}.weight_zero_point`, [ch], path) as Int32Array,
        perTensor ? null : 0,
      );
      const b = c.tensors.get(`${name}.bias`);
      const bias = b
        ? fromHost(decodeTyped(b, 'F32', `${name}.bias`, [shape[0]!], path) as Float32Array, [shape[0]!], 'float32', 'cpu')
        : null;
      const input: InputQParams = {
        scale: (decodeTyped(raw('input_scale'), 'F32', `${name}.input_scale`, [1], path) as Float32Array)[0]!,
        zeroPoint: (decodeTyped(raw('input_zero_point'), 'I32', `${name}.input_zero_point`, [1], path) as Int32Array)[0]!,
        dtype: e.input_dtype as InputQParams['dtype'],
        quantMin: e.input_quant_min as number,
        quantMax: e.input_quant_max as number,
      };
      try {
        m =
          e.type === 'QuantizedLinear'
            ? new QuantizedLinear(shape[1]!, shape[0]!, q, bias, input, e.relu === true)
            : new QuantizedConv2d(
                shape[1]!,
                q,
                bias,
                input,
                e.stride as [number, number],
                e.padding as [number, number],
                e.dilation as [number, number],
                e.relu === true,
              );
      } catch (err) {
        throw new SafetensorsError(`loadQuantized: ${path}, layer '${name}': ${(err as Error).message}`);
      }
    } else {
      throw new SafetensorsError(
        `loadQuantized: ${path}: layer '${name}' has type ${String(e.type)}, which a static int8 model cannot hold; quantize the model first, then load`,
      );
    }
    plan.push([parent, k, m]);
  }
  for (const name of identities)
    plan.push([...childSlot(model, name, path).slice(0, 2), new Identity()] as [Record<string, unknown>, string, AnyModule]);
  for (const [parent, k, m] of plan) {
    const old = parent[k] as AnyModule;
    parent[k] = m;
    old.dispose();
  }
  fuseInt8MaxPools(model); // as convert did (the file keeps the float MaxPool2d's place)
  model.eval(); // an int8 model is for inference (as convert's result)
}

/**
 * Loads an int8 checkpoint written by saveQuantized into a quantized model of the same
 * architecture (quantizeDynamic(model) first), or, for a static int8 file, into a float model of
 * the same architecture (its layers are replaced by the int8 ones the file describes, and it is put
 * in eval mode). Everything
 * is checked before anything changes (a static rebuild: before the model's layers are replaced).
 */
export function loadQuantized(
  model: AnyModule,
  path: string,
  { strict = true }: { strict?: boolean } = {},
): { missingKeys: string[]; unexpectedKeys: string[] } {
  const c = readSafetensors(path);
  const layers = quantizedLayers(model);
  if (c.metadata[QUANTIZATION_METADATA_KEY] === undefined) {
    throw new Error(
      `loadQuantized: ${path} is a float checkpoint (no '${QUANTIZATION_METADATA_KEY}' metadata): load it into the float model and quantize after — model.loadStateDict(io.load('${path}')), then quantization.quantizeDynamic(model)`,
    );
  }
  if (!layers.length && c.metadata[QUANTIZATION_METADATA_KEY] === 'static int8') {
    rebuildStatic(model, c, path);
    layers.push(...quantizedLayers(model));
  }
  if (!layers.length) {
    throw new Error(
      `loadQuantized: ${model.name} has no int8 layers but ${path} is an int8 checkpoint (${c.metadata[QUANTIZATION_METADATA_KEY]}): quantize the model first — const q = quantization.quantizeDynamic(model); quantization.loadQuantized(q, '${path}')`,
    );
  }
  const rest = new Map(c.tensors);
  const updates: [QLayer, Record<string, QTensor>][] = [];
  for (const [prefix, m] of layers) {
    const loaded: Record<string, QTensor> = {};
    for (const [qname, cur] of Object.entries(m.quantizedTensors())) {
      const names = [qname, `${qname}_scale`, `${qname}_zero_point`].map((n) => key(prefix, n));
      const raws = names.map((n) => c.tensors.get(n));
      const absent = names.filter((_, i) => raws[i] === undefined);
      if (absent.length)
        throw new SafetensorsError(
          `loadQuantized: ${path} has no ${absent.join(', ')} for the int8 layer '${prefix}' (${m.toString().split('\n')[0]})`,
        );
      const shape = [...cur.shape];
      const out = shape[0]!;
      const data = decodeTyped(raws[0]!, 'I8', names[0]!, shape, path) as Int8Array;
      const perTensor = raws[1]!.shape[0] === 1 && out !== 1;
      const ch = perTensor ? 1 : out;
      const scale = decodeTyped(raws[1]!, 'F32', names[1]!, [ch], path) as Float32Array;
      const zp = decodeTyped(raws[2]!, 'I32', names[2]!, [ch], path) as Int32Array;
      try {
        loaded[qname] = new QTensor('qint8', shape, data, scale, zp, perTensor ? null : 0);
      } catch (e) {
        throw new SafetensorsError(`loadQuantized: ${path}, layer '${prefix}': ${(e as Error).message}`);
      }
      for (const n of names) rest.delete(n);
    }
    updates.push([m, loaded]);
  }
  const sd: Record<string, Tensor> = nullProto();
  try {
    for (const [n, raw] of rest) sd[n] = rawToTensor(raw, 'cpu', n);
    const r = model.loadStateDict(sd, { strict });
    for (const [m, q] of updates) m.setQuantizedTensors(q);
    return r;
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}
