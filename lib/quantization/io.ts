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
// The names follow ONNX Runtime's QuantizeLinear initializers (weight_quantized / _scale /
// _zero_point) rather than torch's state dict, whose '<name>._packed_params._packed_params' holds
// an opaque fbgemm-packed object and '<name>.scale' / '<name>.zero_point' the (unused, for dynamic
// layers) output qparams: safetensors stores plain arrays, so the int8 values, scales and zero points
// are written out as three plain tensors.

import { SafetensorsError, readSafetensors, rawToTensor, save, type RawTensor, type TensorMap } from '../io/safetensors.js';
import { nullProto } from '../io/json.js';
import type { AnyModule } from '../nn/module.js';
import { DynamicQuantizedLinear, DynamicQuantizedRNN } from '../nn/quantized.js';
import type { Tensor } from '../tensor.js';
import { QTensor } from './qtensor.js';

export const QUANTIZATION_METADATA_KEY = 'wattgrad.quantization';
export const QUANTIZED_LAYERS_METADATA_KEY = 'wattgrad.quantized_layers';

const bytesOf = (a: Int8Array | Float32Array | Int32Array): Uint8Array =>
  new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
const key = (prefix: string, k: string): string => (prefix ? `${prefix}.${k}` : k);

type QLayer = DynamicQuantizedLinear | DynamicQuantizedRNN;

function quantizedLayers(model: AnyModule): [string, QLayer][] {
  return [...model.namedModules()].filter(
    (e): e is [string, QLayer] => e[1] instanceof DynamicQuantizedLinear || e[1] instanceof DynamicQuantizedRNN,
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
  for (const [prefix, m] of quantizedLayers(model)) {
    const first = Object.values(m.quantizedTensors())[0]!;
    layers[prefix] = {
      type: m.name,
      qscheme: first.axis === null ? 'per_tensor_symmetric' : 'per_channel_symmetric',
      reduce_range: m.reduceRange,
    };
  }
  return { [QUANTIZATION_METADATA_KEY]: 'dynamic int8', [QUANTIZED_LAYERS_METADATA_KEY]: JSON.stringify(layers) };
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

/**
 * Loads an int8 checkpoint written by saveQuantized into a quantized model of the same
 * architecture (quantizeDynamic(model) first). Everything is checked before anything changes.
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
      const [out, inn] = cur.shape as [number, number];
      const data = decodeTyped(raws[0]!, 'I8', names[0]!, [out, inn], path) as Int8Array;
      const perTensor = raws[1]!.shape[0] === 1 && out !== 1;
      const ch = perTensor ? 1 : out;
      const scale = decodeTyped(raws[1]!, 'F32', names[1]!, [ch], path) as Float32Array;
      const zp = decodeTyped(raws[2]!, 'I32', names[2]!, [ch], path) as Int32Array;
      try {
        loaded[qname] = new QTensor('qint8', [out, inn], data, scale, zp, perTensor ? null : 0);
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
