// model.summary(): a Keras / torchinfo-style table of a model, from one dry forward pass.
//
// For every module (in registration order, nested modules indented) it shows the output shape(s)
// of its forward, its own parameters (trainable / frozen), the FLOPs the op counter recorded while
// it ran (lib/backend/counter.ts; a container's figure includes its children's), and the bytes of
// its outputs. Totals: unique parameters, trainable and frozen; the whole forward's FLOPs; input,
// parameter and activation bytes (the leaves' outputs: what a training forward keeps alive).
//
// The dry run: random normal input of the given shape (int32 inputs: ones, e.g. token ids; or pass
// a tensor), in eval mode (no dropout, BatchNorm running stats untouched), under noGrad and tidy,
// with the RNG state restored afterwards, so a summary changes nothing about a later run and
// leaves no tensors behind.

import { noGrad } from '../autograd/mode.js';
import { costDelta, costSnapshot, type CostSnapshot } from '../backend/counter.js';
import { bytesPerElement, type DType } from '../dtype.js';
import { tidy } from '../memory.js';
import { full, randn } from '../ops/creation.js';
import { checkOptions, type OptionKeys } from '../options.js';
import { getRngState, setRngState } from '../random.js';
import { isTensor, type Tensor } from '../tensor.js';
import type { AnyModule } from './module.js';

export interface SummaryOptions {
  /** print the table (default true); the summary is returned either way */
  print?: boolean;
  /** where to print (default console.log) */
  log?: (text: string) => void;
  /** dtype of the generated input (default float32); int32 inputs are filled with ones */
  dtype?: DType;
  /** device of the generated input (default: the model's first parameter's) */
  device?: string;
  /** deepest nesting level shown (default: all); totals always count everything */
  depth?: number;
}

const SUMMARY_KEYS: OptionKeys<SummaryOptions> = { print: true, log: true, dtype: true, device: true, depth: true };

export interface SummaryRow {
  /** the module's path in the model ('' for the model itself, 'lstm', '0.2', …) */
  name: string;
  /** class name: 'Linear', 'LSTM', … */
  type: string;
  /** nesting level (0 = the model) */
  depth: number;
  /** shapes of the tensors the module's forward returned (nested outputs flattened), null if it never ran */
  outputShapes: number[][] | null;
  /** the module's own parameters (not its children's) */
  params: number;
  trainableParams: number;
  frozenParams: number;
  /** FLOPs counted while its forward ran (children included) */
  flops: number;
  /** bytes of its output tensors */
  activationBytes: number;
  /** times its forward ran in the dry pass */
  calls: number;
}

export interface SummaryTotals {
  params: number;
  trainableParams: number;
  frozenParams: number;
  paramBytes: number;
  flops: number;
  inputBytes: number;
  /** outputs of the leaf modules */
  activationBytes: number;
  /** input + parameters + activations */
  totalBytes: number;
  /** only when some tensor is pruned with a mask (nn.prune): parameters not masked to zero */
  nonzeroParams?: number;
  /** only with masks: bytes of the nonzero values alone (a sparse format adds its indices) */
  sparseParamBytes?: number;
  /** only with int8 layers (lib/quantization): the parameters they hold (counted in params, as frozen) */
  quantizedParams?: number;
  /** only with int8 layers: their bytes (int8 values, scales, zero points, float bias; in paramBytes) */
  quantizedBytes?: number;
  /** only with int8 layers: what those parameters take in float32 */
  quantizedFloat32Bytes?: number;
}

/** What an int8 layer (nn.quantized) reports about its storage; duck-typed to keep summary free of imports. */
function quantizedStorage(m: AnyModule): { elements: number; bytes: number; float32Bytes: number } | null {
  const f = (m as { quantizedStorage?: unknown }).quantizedStorage;
  return (m as { isQuantized?: unknown }).isQuantized === true && typeof f === 'function'
    ? (f.call(m) as { elements: number; bytes: number; float32Bytes: number })
    : null;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totals: SummaryTotals;
  inputShapes: number[][];
  /** the table as printed */
  text: string;
  toString(): string;
}

type Input = readonly number[] | Tensor | readonly (readonly number[] | Tensor)[];

function tensorsIn(x: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (isTensor(x)) out.push(x);
  else if (Array.isArray(x) && depth < 8) for (const v of x) tensorsIn(v, out, depth + 1);
  return out;
}

function isShape(x: unknown): x is readonly number[] {
  return Array.isArray(x) && x.every((d) => typeof d === 'number');
}

/** The summary of `model` for one forward on `input` (a shape with the batch dim, a tensor, or a list of them for several inputs). */
export function summarize(model: AnyModule, input: Input, o: SummaryOptions = {}): ModelSummary {
  checkOptions('summary', o, SUMMARY_KEYS);
  const where = `${model.constructor.name}.summary`;
  const list: (readonly number[] | Tensor)[] =
    (isShape(input) && input.length) || isTensor(input)
      ? [input as readonly number[] | Tensor]
      : Array.isArray(input) && !isShape(input)
        ? [...input]
        : [];
  if (!list.length)
    throw new TypeError(`${where}: pass the input shape with the batch dimension (e.g. [1, 1, 28, 28]), a tensor, or a list of them`);
  for (const s of list) {
    if (!isTensor(s) && (!isShape(s) || !s.length || !s.every((d) => Number.isInteger(d) && d > 0))) {
      throw new RangeError(`${where}: an input shape must be positive integers including the batch dimension, got ${JSON.stringify(s)}`);
    }
  }
  if (o.depth !== undefined && (!Number.isInteger(o.depth) || o.depth < 0))
    throw new RangeError(`${where}: depth must be an integer >= 0, got ${o.depth}`);
  let device = o.device;
  if (device === undefined)
    for (const p of model.parameters()) {
      device = p.device;
      break;
    }
  const dtype = o.dtype ?? 'float32';

  const mods = [...model.namedModules()];
  const rows: SummaryRow[] = mods.map(([name, m]) => {
    let params = 0,
      trainable = 0;
    for (const [, p] of m.namedOwnParameters()) {
      params += p.size;
      if (p.requiresGrad) trainable += p.size;
    }
    params += quantizedStorage(m)?.elements ?? 0; // frozen: int8 layers do not train
    return {
      name,
      type: m.constructor.name,
      depth: name === '' ? 0 : name.split('.').length,
      outputShapes: null,
      params,
      trainableParams: trainable,
      frozenParams: params - trainable,
      flops: 0,
      activationBytes: 0,
      calls: 0,
    };
  });

  // wrap every forward to record its outputs and the cost between entry and exit
  const restore: (() => void)[] = [];
  mods.forEach(([, m], i) => {
    const row = rows[i]!;
    const own = Object.prototype.hasOwnProperty.call(m, 'forward');
    const orig = m.forward as (...a: unknown[]) => unknown;
    const wrapped = function (this: AnyModule, ...args: unknown[]): unknown {
      const c0: CostSnapshot = costSnapshot();
      const out = orig.apply(this, args);
      row.flops += costDelta(c0, costSnapshot()).flops;
      const ts = tensorsIn(out);
      if (row.outputShapes === null) row.outputShapes = ts.map((t) => [...t.shape]);
      row.activationBytes += ts.reduce((a, t) => a + t.size * bytesPerElement(t.dtype), 0);
      row.calls++;
      return out;
    };
    Object.defineProperty(m, 'forward', { value: wrapped, configurable: true, writable: true });
    restore.push(() => {
      if (own) Object.defineProperty(m, 'forward', { value: orig, configurable: true, writable: true });
      else delete (m as unknown as { forward?: unknown }).forward;
    });
  });

  const wasTraining = model.training;
  const rng = getRngState();
  let inputShapes: number[][] = [];
  let inputBytes = 0;
  let total = 0;
  try {
    model.eval();
    noGrad(() =>
      tidy(() => {
        const xs = list.map((s) => {
          if (isTensor(s)) return device && s.device !== device ? s.to(device) : s;
          // non-zero values: zeros would hide shape bugs behind exact cancellations and skip nothing
          return dtype === 'int32' ? full(s, 1, { dtype, device }) : randn(s, { dtype, device });
        });
        inputShapes = xs.map((x) => [...x.shape]);
        inputBytes = xs.reduce((a, x) => a + x.size * bytesPerElement(x.dtype), 0);
        const c0 = costSnapshot();
        try {
          (model.forward as (...a: unknown[]) => unknown)(...xs);
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new (e instanceof RangeError ? RangeError : Error)(
            `${where}: the dry forward on input ${inputShapes.map((s) => `(${s.join(', ')})`).join(', ')} failed: ${msg}`,
          );
        }
        total = costDelta(c0, costSnapshot()).flops;
      }),
    );
  } finally {
    for (const r of restore) r();
    setRngState(rng);
    model.train(wasTraining !== false);
  }

  let params = 0,
    trainable = 0,
    paramBytes = 0;
  for (const p of model.parameters()) {
    params += p.size;
    if (p.requiresGrad) trainable += p.size;
    paramBytes += p.size * bytesPerElement(p.dtype);
  }
  let qParams = 0,
    qBytes = 0,
    qFloat = 0,
    hasQuantized = false;
  for (const m of model.modules()) {
    const q = quantizedStorage(m);
    if (!q) continue;
    hasQuantized = true;
    qParams += q.elements;
    qBytes += q.bytes;
    qFloat += q.float32Bytes;
  }
  params += qParams;
  paramBytes += qBytes;
  // pruning masks (nn.prune: a buffer <name>_mask beside a parameter <name>_orig): the zeros they force
  let masked = 0,
    maskedBytes = 0,
    hasMasks = false;
  for (const m of model.modules()) {
    for (const [k, b] of m.namedOwnBuffers()) {
      if (!k.endsWith('_mask')) continue;
      const orig = (m as unknown as Record<string, unknown>)[`${k.slice(0, -5)}_orig`];
      if (!isTensor(orig)) continue;
      hasMasks = true;
      let z = 0;
      const d = b.dataSync() as ArrayLike<number>;
      for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
      masked += z;
      maskedBytes += z * bytesPerElement(orig.dtype);
    }
  }
  const leaf = new Set(mods.filter(([, m]) => [...m.children()].length === 0).map(([n]) => n));
  const activationBytes = rows
    .filter((r) => leaf.has(r.name) || (r.name === '' && leaf.size === 1 && leaf.has('')))
    .reduce((a, r) => a + r.activationBytes, 0);
  const totals: SummaryTotals = {
    params,
    trainableParams: trainable,
    frozenParams: params - trainable,
    paramBytes,
    flops: total,
    inputBytes,
    activationBytes,
    totalBytes: inputBytes + paramBytes + activationBytes,
  };
  if (hasQuantized) {
    totals.quantizedParams = qParams;
    totals.quantizedBytes = qBytes;
    totals.quantizedFloat32Bytes = qFloat;
  }
  if (hasMasks) {
    totals.nonzeroParams = params - masked;
    totals.sparseParamBytes = paramBytes - maskedBytes;
  }
  const text = formatSummary(
    model.constructor.name,
    rows.filter((r) => o.depth === undefined || r.depth <= o.depth),
    totals,
    inputShapes,
  );
  const s: ModelSummary = { rows, totals, inputShapes, text, toString: () => text };
  if (o.print !== false) (o.log ?? console.log)(text);
  return s;
}

const int = (n: number): string => n.toLocaleString('en-US');

/** 1234 → '1.23 K', FLOPs with SI prefixes. */
function si(n: number): string {
  if (n < 1000) return String(n);
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}

function shapes(s: number[][] | null): string {
  if (s === null) return '--';
  if (!s.length) return '()';
  return s.map((x) => `[${x.join(', ')}]`).join(', ');
}

function formatSummary(modelName: string, rows: SummaryRow[], t: SummaryTotals, inputShapes: number[][]): string {
  const head = ['Layer (type)', 'Output shape', 'Param #', 'Trainable', 'FLOPs', 'Activations'];
  const body = rows.map((r) => [
    `${'  '.repeat(r.depth)}${r.name === '' ? modelName : `${r.name.split('.').pop()} (${r.type})`}`,
    shapes(r.outputShapes),
    r.params ? int(r.params) : '--',
    r.params ? (r.frozenParams === 0 ? 'yes' : r.trainableParams === 0 ? 'no' : `${int(r.trainableParams)} of ${int(r.params)}`) : '--',
    r.calls ? si(r.flops) : '--',
    r.calls ? bytes(r.activationBytes) : '--',
  ]);
  const w = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, j) => (j >= 2 ? c.padStart(w[j]!) : c.padEnd(w[j]!)))
      .join('  ')
      .trimEnd();
  const width = w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1);
  const out = [
    `Model: ${modelName}, input ${inputShapes.map((s) => `[${s.join(', ')}]`).join(', ')}`,
    '='.repeat(width),
    line(head),
    '='.repeat(width),
    ...body.map(line),
    '='.repeat(width),
    `Total params: ${int(t.params)} (${bytes(t.paramBytes)})`,
    `Trainable params: ${int(t.trainableParams)}`,
    `Non-trainable params: ${int(t.frozenParams)}`,
    ...(t.nonzeroParams !== undefined
      ? [
          `Nonzero params: ${int(t.nonzeroParams)} of ${int(t.params)} (${(100 * (1 - t.nonzeroParams / Math.max(1, t.params))).toFixed(1)}% pruned; values ${bytes(t.sparseParamBytes ?? 0)})`,
        ]
      : []),
    ...(t.quantizedParams !== undefined
      ? [
          `Int8 layer params: ${int(t.quantizedParams)} (${bytes(t.quantizedBytes ?? 0)} with scales, zero points and float bias; float32: ${bytes(t.quantizedFloat32Bytes ?? 0)}, ${((t.quantizedFloat32Bytes ?? 0) / Math.max(1, t.quantizedBytes ?? 1)).toFixed(2)}x larger)`,
        ]
      : []),
    `Forward FLOPs: ${int(t.flops)} (${si(t.flops)}FLOP)`,
    '-'.repeat(width),
    `Input size: ${bytes(t.inputBytes)}`,
    `Forward activations: ${bytes(t.activationBytes)}`,
    `Params size: ${bytes(t.paramBytes)}`,
    `Estimated total: ${bytes(t.totalBytes)}`,
    '='.repeat(width),
  ];
  return out.join('\n');
}
