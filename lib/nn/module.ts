// Module: the base of every layer and model, after torch.nn.Module.
//
// Registration is by assignment, like PyTorch: any own property holding a Parameter is a
// parameter, any own property holding a Module is a child, and tensors passed to
// registerBuffer() are buffers (BatchNorm's running statistics). Names are the property names, so
// stateDict() keys are PyTorch's ('0.weight', 'bn1.running_mean', 'weight_ih_l0', …) when the
// properties are named as in PyTorch. Discovery follows property order (integer-like names such as
// Sequential's '0', '1', … come first, in numeric order — JavaScript's own rule).
//
// Calling convention: `model.forward(x)` (a JS object cannot be called like `model(x)`).

import { summarize, type ModelSummary, type SummaryOptions } from './summary.js';
import { noGrad } from '../autograd/mode.js';
import type { DType } from '../dtype.js';
import { DTYPES, isFloat } from '../dtype.js';
import { keep } from '../memory.js';
import { normalizeDevice } from '../backend/registry.js';
import { fmtShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { bool, checkOptions } from '../options.js';
import { copyInto } from './inplace.js';
import { Parameter } from './parameter.js';

/** A state dict: PyTorch's key → tensor (parameters and persistent buffers), in registration order. */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** throw on missing or unexpected keys (default true); shape mismatches always throw */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any[], any>;

type Slots = Record<string, unknown>;

const BUFFERS = Symbol('buffers');
const NON_PERSISTENT = Symbol('nonPersistent');

export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** true in training mode (dropout active, batch norm uses batch statistics) */
  training = true;
  private readonly [BUFFERS] = new Set<string>();
  private readonly [NON_PERSISTENT] = new Set<string>();

  abstract forward(...args: In): Out;

  /** The class name shown by toString(). */
  get name(): string {
    return this.constructor.name;
  }

  // ---- registration -------------------------------------------------------------------------
  /** Registers (or replaces) a buffer: saved in stateDict (unless persistent is false), moved by to(). */
  registerBuffer(name: string, t: Tensor | null, { persistent = true } = {}): void {
    this.checkSlotName('registerBuffer', 'buffer', name);
    const slots = this as unknown as Slots;
    if (t !== null) keep(t);
    slots[name] = t;
    this[BUFFERS].add(name);
    if (!persistent) this[NON_PERSISTENT].add(name);
    else this[NON_PERSISTENT].delete(name);
  }

  /** Registers a parameter under `name` (the same as assigning a Parameter to this[name]). */
  registerParameter(name: string, p: Parameter | null): void {
    this.checkSlotName('registerParameter', 'parameter', name);
    (this as unknown as Slots)[name] = p;
  }

  /** Registers a child module under `name` (the same as assigning it to this[name]). */
  registerModule(name: string, m: AnyModule | null): void {
    this.checkSlotName('registerModule', 'module', name);
    (this as unknown as Slots)[name] = m;
  }

  /**
   * A slot name must be a non-empty string without '.', and must not shadow a method or property
   * of the module ('forward', 'training', '__proto__' would break it; torch: "attribute 'x' already
   * exists"). Replacing a parameter, buffer or child (or an empty slot) is fine.
   */
  private checkSlotName(op: string, what: string, name: string): void {
    if (typeof name !== 'string' || name.includes('.') || name === '')
      throw new RangeError(
        `${op}: invalid ${what} name ${typeof name === 'string' ? `'${name}'` : String(name)} (a non-empty string without '.')`,
      );
    const owns = Object.prototype.hasOwnProperty.call(this, name);
    if (name === '__proto__' || (!owns && name in this))
      throw new RangeError(`${op}: '${name}' is already a method or property of ${this.name}; choose another ${what} name`);
    const cur = owns ? (this as unknown as Slots)[name] : undefined;
    if (cur !== undefined && cur !== null && !(cur instanceof Tensor) && !(cur instanceof Module)) {
      throw new RangeError(`${op}: attribute '${name}' already exists on ${this.name} (${typeof cur}); choose another ${what} name`);
    }
  }

  // ---- traversal ----------------------------------------------------------------------------
  /** This module's own parameters (not its children's), by property name. */
  *namedOwnParameters(): Generator<[string, Parameter]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Parameter) yield [k, v];
  }

  /** This module's own buffers (null ones skipped). */
  *namedOwnBuffers(): Generator<[string, Tensor]> {
    const slots = this as unknown as Slots;
    for (const k of this[BUFFERS]) {
      const v = slots[k];
      if (v instanceof Tensor) yield [k, v];
    }
  }

  /** Direct children, by property name. */
  *namedChildren(): Generator<[string, AnyModule]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Module) yield [k, v];
  }

  *children(): Generator<AnyModule> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, depth first, each once, with dotted names ('' for this). */
  *namedModules(prefix = '', seen = new Set<AnyModule>()): Generator<[string, AnyModule]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [k, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${k}` : k, seen);
  }

  *modules(): Generator<AnyModule> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Every parameter with its dotted name ('fc1.weight'); a shared parameter appears once. */
  *namedParameters(): Generator<[string, Parameter]> {
    const seen = new Set<Parameter>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, p] of m.namedOwnParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [prefix ? `${prefix}.${k}` : k, p];
      }
    }
  }

  /** Every parameter (what an optimizer takes). */
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, b] of m.namedOwnBuffers()) yield [prefix ? `${prefix}.${k}` : k, b];
    }
  }

  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** A parameter or buffer by dotted name, or undefined. */
  getTensor(name: string): Tensor | undefined {
    const parts = name.split('.');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk down the module tree starts here
    let m: AnyModule = this;
    for (const part of parts.slice(0, -1)) {
      const c = (m as unknown as Slots)[part];
      if (!(c instanceof Module)) return undefined;
      m = c;
    }
    const v = (m as unknown as Slots)[parts[parts.length - 1]!];
    return v instanceof Tensor ? v : undefined;
  }

  /** Total number of elements over all parameters (only trainable ones when asked). */
  numParameters({ trainableOnly = false } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  // ---- modes and grads ----------------------------------------------------------------------
  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    // train('false') or train(0) would have set training to a truthy string / a falsy number
    if (typeof mode !== 'boolean')
      throw new TypeError(
        `${this.constructor.name}.train: mode must be true or false, got ${typeof mode === 'string' ? JSON.stringify(mode) : String(mode)}`,
      );
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off, batch norm uses running statistics). */
  eval(): this {
    return this.train(false);
  }

  /** Sets every parameter's grad to null, disposing it. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Sets requiresGrad on every parameter (freeze with false). */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  // ---- state --------------------------------------------------------------------------------
  /**
   * Parameters and persistent buffers by PyTorch key. The tensors are the module's own (not
   * copies): read or serialise them, do not dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules()) {
      const key = (k: string): string => (prefix ? `${prefix}.${k}` : k);
      for (const [k, p] of m.namedOwnParameters()) out[key(k)] = p;
      for (const [k, b] of m.namedOwnBuffers()) if (!m[NON_PERSISTENT].has(k)) out[key(k)] = b;
    }
    return out;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers in place (the Parameter
   * objects stay the same, so an optimizer built on them stays valid). Values are moved to each
   * tensor's device and cast to its dtype; shapes must match. The caller keeps ownership of `sd`.
   */
  loadStateDict(sd: Record<string, Tensor> | Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    // a misspelt { strcit: false } or strict: 'false' would load strictly without a word
    const strict = bool('loadStateDict', 'strict', checkOptions('loadStateDict', options, ['strict']).strict, true);
    if (sd instanceof Map) sd = Object.fromEntries(sd) as Record<string, Tensor>;
    if (sd === null || typeof sd !== 'object')
      throw new TypeError(`loadStateDict: expected a state dict { name: Tensor }, got ${sd === null ? 'null' : typeof sd}`);
    const own = this.stateDict();
    // own keys only: a key named 'constructor' or 'toString' must not match Object.prototype's
    const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
    const missingKeys = Object.keys(own).filter((k) => !has(sd, k));
    const unexpectedKeys = Object.keys(sd).filter((k) => !has(own, k));
    quantizedMismatch(this, sd);
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
      throw new Error(`loadStateDict: error(s) loading state dict for ${this.name}: ${parts.join('; ')}`);
    }
    // check every entry before copying any: a bad entry leaves the module unchanged
    const pairs: [string, Tensor, Tensor][] = [];
    for (const [k, dst] of Object.entries(own)) {
      if (!has(sd, k)) continue;
      const src = sd[k];
      if (!(src instanceof Tensor))
        throw new TypeError(`loadStateDict: '${k}' is not a tensor (got ${src === null ? 'null' : typeof src})`);
      if (src.isDisposed) throw new Error(`loadStateDict: '${k}' is a disposed tensor`);
      if (!sameShape(src.shape, dst.shape)) {
        throw new RangeError(
          `loadStateDict: size mismatch for ${k}: copying a param with shape ${fmtShape(src.shape)}, the shape in ${this.name} is ${fmtShape(dst.shape)}`,
        );
      }
      pairs.push([k, dst, src]);
    }
    for (const [k, dst, src] of pairs) copyInto(dst, src, `loadStateDict(${k})`);
    for (const m of this.modules()) m.onStateLoaded();
    return { missingKeys, unexpectedKeys };
  }

  /** Hook for modules that mirror buffer values on the host (BatchNorm's batch count). */
  protected onStateLoaded(): void {}

  // ---- devices and dtypes -------------------------------------------------------------------
  /**
   * Moves every parameter and buffer to a device ('cpu', 'cuda', 'cuda:N') or casts the floating
   * point ones to a dtype ('float64', …); int buffers (num_batches_tracked) keep their dtype.
   *
   * Parameters move in place (Tensor._replaceStorage), so they keep their identity and an
   * optimizer made before stays valid; buffers are replaced by moved copies.
   */
  to(target: string | DType): this {
    const isDtype = (DTYPES as readonly string[]).includes(target);
    const convert = (t: Tensor): Tensor | null => {
      if (isDtype) return isFloat(t.dtype) && t.dtype !== target ? ops.cast(t, target as DType) : null;
      return t.device === normalizeDevice(target) ? null : ops.to(t, target);
    };
    noGrad(() => {
      for (const m of this.modules()) {
        const slots = m as unknown as Slots;
        for (const [, p] of m.namedOwnParameters()) {
          const moved = convert(p);
          if (!moved) continue;
          const g = p.grad ? convert(p.grad) : null;
          p._replaceStorage(moved);
          moved.dispose();
          if (p.grad && g) {
            p.grad.dispose();
            p.grad = keep(g);
          }
        }
        for (const [k, b] of [...m.namedOwnBuffers()]) {
          const moved = convert(b);
          if (!moved) continue;
          b.dispose();
          slots[k] = keep(moved);
        }
      }
    });
    return this;
  }

  /** Casts floating point parameters and buffers to float64. */
  double(): this {
    return this.to('float64');
  }

  /** Casts floating point parameters and buffers to float32. */
  float(): this {
    return this.to('float32');
  }

  cpu(): this {
    return this.to('cpu');
  }

  cuda(device = 'cuda'): this {
    return this.to(device);
  }

  /** Frees every parameter (and its grad) and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const [, p] of m.namedOwnParameters()) {
        p.grad?.dispose();
        p.grad = null;
        p.dispose();
      }
      for (const [, b] of m.namedOwnBuffers()) b.dispose();
    }
  }

  // ---- printing -----------------------------------------------------------------------------
  /**
   * A Keras / torchinfo-style table (output shapes, parameters, FLOPs, activation bytes, totals)
   * from one dry forward on `input`: a shape with the batch dimension, a tensor, or a list of them.
   * Prints it unless `print: false`; returns the rows and totals either way (see nn/summary.ts).
   */
  summary(input: readonly number[] | Tensor | readonly (readonly number[] | Tensor)[], options: SummaryOptions = {}): ModelSummary {
    return summarize(this as unknown as AnyModule, input, options);
  }

  /** The text inside the parentheses of this module's line, like torch's extra_repr. */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-style summary: `Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=true)\n …)`. */
  toString(): string {
    const kids = [...this.namedChildren()];
    const extra = this.extraRepr();
    if (!kids.length) return `${this.name}(${extra})`;
    const lines: string[] = [];
    if (extra) lines.push(...extra.split('\n'));
    for (const [k, m] of kids) {
      const sub = m
        .toString()
        .split('\n')
        .map((l, i) => (i === 0 ? l : `  ${l}`))
        .join('\n');
      lines.push(`(${k}): ${sub}`);
    }
    return `${this.name}(\n${lines.map((l) => `  ${l}`).join('\n')}\n)`;
  }
}

/**
 * int8 checkpoints and int8 models (lib/quantization) do not load through loadStateDict: an int8
 * layer's weight is not a Tensor. Say what to do instead of a list of missing and unexpected keys
 * (or, with strict: false, a silent cast of int8 values into float weights).
 */
function quantizedMismatch(model: AnyModule, sd: Record<string, Tensor>): void {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(sd, k);
  for (const [prefix, m] of model.namedModules()) {
    const k = (s: string): string => (prefix ? `${prefix}.${s}` : s);
    const qt = (m as { quantizedTensors?: () => Record<string, unknown> }).quantizedTensors;
    if ((m as { isQuantized?: unknown }).isQuantized === true && typeof qt === 'function') {
      for (const name of Object.keys(qt.call(m))) {
        if (has(k(`${name}_scale`)))
          throw new Error(
            `loadStateDict: int8 weights ('${k(name)}', '${k(`${name}_scale`)}') do not load through loadStateDict: use quantization.loadQuantized(model, file)`,
          );
        if (has(k(name)))
          throw new Error(
            `loadStateDict: '${k(name)}' is a float weight but ${prefix || 'the model'} is an int8 layer (${m.name}): load float weights into the float model before quantizing (model.loadStateDict(sd), then quantization.quantizeDynamic(model))`,
          );
      }
      continue;
    }
    for (const [name] of m.namedOwnParameters()) {
      if (has(k(`${name}_scale`)) && has(k(`${name}_zero_point`))) {
        throw new Error(
          `loadStateDict: this is an int8 checkpoint ('${k(`${name}_scale`)}', '${k(`${name}_zero_point`)}') and ${model.name}'s ${prefix || 'root'} is a float ${m.name}: quantize the model first and load with quantization.loadQuantized — const q = quantization.quantizeDynamic(model); quantization.loadQuantized(q, file) — or load the float checkpoint it was made from`,
        );
      }
    }
  }
}

/** Formats a number pair like torch's repr: (3, 3). */
export function fmtPair(p: readonly [number, number]): string {
  return `(${p[0]}, ${p[1]})`;
}
