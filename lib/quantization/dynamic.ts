// quantization.quantizeDynamic: torch.ao.quantization.quantize_dynamic for wattgrad models.
//
//   const q = quantization.quantizeDynamic(model, { layers: [nn.Linear] });
//
// Every module whose class is exactly one of `layers` (torch matches type(mod) the same way, so a
// subclass with its own forward is left alone) is replaced by its dynamically quantized version:
// nn.Linear → nn.quantized.dynamic.Linear (int8 per-channel symmetric weights; activations quantized
// per batch to uint8 with reduceRange, torch's fbgemm default); nn.LSTM / nn.GRU →
// nn.quantized.dynamic.LSTM / GRU (int8 weight_ih/weight_hh, float gates; see nn/quantized-rnn.ts). The model is deep-copied first
// unless `inplace: true` (torch's default is a copy too); the original is never changed by a copy.
// Unlike torch, a bare nn.Linear passed as the model is converted too (torch swaps children only).
// The result is in eval mode and is for inference (a backward through an int8 layer is an error).

import { Module, type AnyModule } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';
import { LSTM, GRU, RNN } from '../nn/layers/rnn.js';
import { LSTMCell, GRUCell, RNNCell } from '../nn/layers/cells.js';
import { DynamicQuantizedLinear, DynamicQuantizedRNN } from '../nn/quantized.js';
import { bool, checkOptions } from '../options.js';
import { cloneModule } from './copy.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ModuleClass = abstract new (...args: any[]) => AnyModule;

export interface QuantizeDynamicOptions {
  /** the layer classes to quantize: nn.Linear, nn.LSTM, nn.GRU (default all three, like torch's default set) */
  layers?: ModuleClass[];
  /** the int8 type of the weights: only 'qint8' (torch's default; float16 dynamic quantization is not written) */
  dtype?: 'qint8';
  /** convert `model` itself instead of a copy (default false, like torch) */
  inplace?: boolean;
  /** quantize activations to 7 bits [0, 127] (default true, torch's fbgemm setting; see qtensor.ts) */
  reduceRange?: boolean;
}

const NOT_YET: [ModuleClass, string][] = [
  [RNN, 'nn.RNN'],
  [LSTMCell, 'nn.LSTMCell'],
  [GRUCell, 'nn.GRUCell'],
  [RNNCell, 'nn.RNNCell'],
];

function className(c: unknown): string {
  return typeof c === 'function' && c.name ? c.name : String(c);
}

/** Checks `layers`: each must be a class we can quantize dynamically, else a clear error. */
function checkLayers(layers: unknown): Set<ModuleClass> {
  if (!Array.isArray(layers) && !(layers instanceof Set))
    throw new TypeError(`quantizeDynamic: layers must be an array of layer classes (e.g. [nn.Linear]), got ${typeof layers}`);
  const out = new Set<ModuleClass>();
  for (const c of layers as Iterable<unknown>) {
    if (c === Linear || c === LSTM || c === GRU) {
      out.add(c as ModuleClass);
      continue;
    }
    const rnn = NOT_YET.find(([k]) => k === c);
    if (rnn)
      throw new Error(
        `quantizeDynamic: ${rnn[1]} is not supported yet (int8 layers exist for nn.Linear, nn.LSTM and nn.GRU); leave it out of layers and it stays float32`,
      );
    if (c === DynamicQuantizedLinear || (typeof c === 'function' && c.prototype instanceof DynamicQuantizedRNN))
      throw new Error(`quantizeDynamic: ${className(c)} is already quantized; name the float class (nn.Linear, nn.LSTM, nn.GRU)`);
    if (typeof c === 'function' && c.prototype instanceof Module) {
      throw new Error(
        `quantizeDynamic: nn.${className(c)} is not supported by dynamic quantization: only nn.Linear, nn.LSTM and nn.GRU are (dynamic quantization suits layers dominated by weight loads; convolutions need static quantization with calibration — prepare/convert — which is not written yet)`,
      );
    }
    throw new TypeError(
      `quantizeDynamic: layers must hold layer classes such as nn.Linear, got ${typeof c === 'function' ? `the function ${className(c)}` : c === null ? 'null' : typeof c}`,
    );
  }
  return out;
}

/** A model whose nn.Linear layers run with int8 weights: see the header. */
export function quantizeDynamic<M extends AnyModule>(model: M, options: QuantizeDynamicOptions = {}): M | DynamicQuantizedLinear {
  if (!(model instanceof Module)) throw new TypeError(`quantizeDynamic: expected a Module, got ${model === null ? 'null' : typeof model}`);
  const o = checkOptions('quantizeDynamic', options, ['layers', 'dtype', 'inplace', 'reduceRange']);
  const layers = checkLayers(o.layers ?? [Linear, LSTM, GRU]);
  if (o.dtype !== undefined && o.dtype !== 'qint8')
    throw new RangeError(
      `quantizeDynamic: dtype must be 'qint8' (int8 weights), got ${JSON.stringify(o.dtype)}; float16 dynamic quantization is not supported`,
    );
  const inplace = bool('quantizeDynamic', 'inplace', o.inplace, false);
  const reduceRange = bool('quantizeDynamic', 'reduceRange', o.reduceRange, true);
  const root = inplace ? model : cloneModule(model);
  const convert = (m: AnyModule): AnyModule | null => {
    if (m.constructor === Linear && layers.has(Linear)) {
      const q = DynamicQuantizedLinear.fromFloat(m as unknown as Linear, { reduceRange });
      q.eval();
      return q;
    }
    const ctor = (m as { constructor: unknown }).constructor as ModuleClass;
    if ((ctor === LSTM || ctor === GRU) && layers.has(ctor)) {
      const rnn = m as unknown as LSTM; // eval semantics: no dropout between layers
      const q = DynamicQuantizedRNN.fromFloat(rnn, { reduceRange });
      q.eval();
      return q;
    }
    return null;
  };
  const direct = convert(root);
  if (direct) {
    if (!inplace) root.dispose(); // our copy; an in-place root Linear stays the caller's
    return direct as DynamicQuantizedLinear;
  }
  const seen = new Map<AnyModule, AnyModule>();
  const replaced: AnyModule[] = [];
  const walk = (parent: AnyModule): void => {
    for (const [k, child] of [...parent.namedChildren()]) {
      let q = seen.get(child);
      if (q === undefined) {
        q = convert(child) ?? child;
        seen.set(child, q);
        if (q === child) walk(child);
        else replaced.push(child);
      }
      (parent as unknown as Record<string, unknown>)[k] = q;
    }
  };
  walk(root);
  // the replaced float layers' weights are freed unless a remaining layer shares them (tied weights)
  const live = new Set<unknown>([...root.parameters(), ...root.buffers()]);
  for (const m of replaced) {
    for (const [, p] of m.namedOwnParameters())
      if (!live.has(p)) {
        live.add(p);
        p.grad?.dispose();
        p.grad = null;
        p.dispose();
      }
    for (const [, b] of m.namedOwnBuffers())
      if (!live.has(b)) {
        live.add(b);
        b.dispose();
      }
  }
  root.eval();
  return root;
}
