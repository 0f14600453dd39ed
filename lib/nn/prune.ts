// Pruning, after torch.nn.utils.prune (unstructured masks), TF-MOT prune_low_magnitude (a sparsity
// schedule during training) and Torch-Pruning (structured: channels really removed).
//
// Unstructured, torch's reparametrisation: pruning `weight` of a module moves the Parameter to
// `weight_orig`, registers a buffer `weight_mask` (1 keep, 0 pruned) and makes `weight` a plain
// tensor weight_orig ⊙ weight_mask, recomputed before every forward. So the state dict holds
// weight_orig and weight_mask (torch's keys), the optimizer keeps training weight_orig (the
// Parameter object does not change), and the gradient of every pruned entry is exactly zero.
// remove() folds the mask in and puts the same Parameter back under `weight`.
//
//   l1Unstructured(module, 'weight', { amount })   prunes round(amount · n) of the entries not yet
//                                                  pruned, smallest |w| first (torch: repeated calls
//                                                  compound, like PruningContainer)
//   globalUnstructured([[m1, 'weight'], …], { amount })   the same over all the tensors together
//   PruningCallback({ schedule })                  for fit(): TF-MOT's schedule, the masks set to the
//                                                  schedule's sparsity of each layer at its steps and
//                                                  applied after every optimizer step
//   sparsity(model)                                zeros per layer and in total
//   pruneChannels(model, { amount, norm })         structured (see below)
//
// Masks are computed on the host (one read-back per pruned tensor per pruning step): pruning is
// rare (once, or every `frequency` steps), never on the per-batch path.

import { noGrad } from '../autograd/mode.js';
import { keep } from '../memory.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { checkOptions, inRange, oneOf, positiveInt } from '../options.js';
import type { Callback, TrainState } from '../train/callbacks.js';
import { copyInto } from './inplace.js';
import { Module, type AnyModule } from './module.js';
import { Parameter } from './parameter.js';
import { Sequential, Flatten } from './layers/container.js';
import { Conv2d } from './layers/conv.js';
import { Linear, Identity } from './layers/linear.js';
import { BatchNorm1d, BatchNorm2d } from './layers/norm.js';
import { Dropout } from './layers/dropout.js';
import { MaxPool2d, AvgPool2d } from './layers/pool.js';
import { ReLU, Tanh, Sigmoid, SiLU, Softplus, GELU, LeakyReLU, ELU } from './layers/activation.js';

type Slots = Record<string, unknown>;

// ---- amount --------------------------------------------------------------------------------

function checkAmount(where: string, amount: unknown): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount >= 1) {
    throw new RangeError(
      `${where}: amount must be a fraction in [0, 1) (0.5 prunes half), got ${typeof amount === 'number' ? amount : typeof amount}`,
    );
  }
  return amount;
}

// ---- the reparametrisation -----------------------------------------------------------------

/** The names pruned on each module, and the forward it had before (own property or the prototype's). */
const PRUNED = new WeakMap<AnyModule, { names: Set<string>; forward: { own: boolean; fn: (...a: unknown[]) => unknown } }>();

/** true when `module[name]` (or any tensor of module, without a name) is pruned. */
export function isPruned(module: AnyModule, name?: string): boolean {
  const e = PRUNED.get(module);
  return !!e && (name === undefined ? e.names.size > 0 : e.names.has(name));
}

function slot(m: AnyModule, k: string): unknown {
  return (m as unknown as Slots)[k];
}

/** weight = weight_orig ⊙ weight_mask for every pruned tensor of m (the old product is freed). */
function refresh(m: AnyModule): void {
  const e = PRUNED.get(m);
  if (!e) return;
  for (const name of e.names) {
    const orig = slot(m, `${name}_orig`) as Tensor;
    const mask = slot(m, `${name}_mask`) as Tensor;
    const old = slot(m, name) as Tensor | undefined;
    (m as unknown as Slots)[name] = keep(ops.mul(orig, mask));
    // the autograd graph of an earlier forward holds its own reference to what it saved
    if (old instanceof Tensor && !old.isDisposed) old.dispose();
  }
}

/** Puts `mask` (0/1, the parameter's shape) on module[name], reparametrising it the first time. */
function setMask(where: string, m: AnyModule, name: string, mask: Float64Array | Float32Array): void {
  let e = PRUNED.get(m);
  if (!e?.names.has(name)) {
    const p = slot(m, name);
    if (!(p instanceof Parameter))
      throw new TypeError(
        `${where}: ${m.name} has no parameter '${name}'${p instanceof Tensor ? ' (it is a buffer or plain tensor)' : ''}`,
      );
    if (!e) {
      const own = Object.prototype.hasOwnProperty.call(m, 'forward');
      const fn = m.forward as (...a: unknown[]) => unknown;
      e = { names: new Set(), forward: { own, fn } };
      PRUNED.set(m, e);
      Object.defineProperty(m, 'forward', {
        value: function prunedForward(this: AnyModule, ...args: unknown[]): unknown {
          refresh(this);
          return fn.apply(this, args);
        },
        configurable: true,
        writable: true,
      });
    }
    delete (m as unknown as Slots)[name];
    (m as unknown as Slots)[`${name}_orig`] = p;
    e.names.add(name);
  }
  const orig = slot(m, `${name}_orig`) as Parameter;
  const old = slot(m, `${name}_mask`) as Tensor | null | undefined;
  const t = noGrad(() => ops.tensor(mask, { shape: [...orig.shape], dtype: orig.dtype, device: orig.device }));
  m.registerBuffer(`${name}_mask`, t);
  if (old instanceof Tensor && old !== t) old.dispose();
  noGrad(() => refresh(m));
}

/** The current mask of module[name] on the host (all ones when it is not pruned). */
function hostMask(m: AnyModule, name: string): Float64Array {
  if (isPruned(m, name)) return Float64Array.from((slot(m, `${name}_mask`) as Tensor).dataSync());
  const p = slot(m, name);
  if (!(p instanceof Tensor)) throw new TypeError(`prune: ${m.name} has no parameter '${name}'`);
  return new Float64Array(p.size).fill(1);
}

/** The trained values (weight_orig when pruned) on the host. */
function hostValues(m: AnyModule, name: string): Float64Array {
  const t = (isPruned(m, name) ? slot(m, `${name}_orig`) : slot(m, name)) as Tensor | undefined;
  if (!(t instanceof Tensor)) throw new TypeError(`prune: ${m.name} has no parameter '${name}'`);
  return Float64Array.from(t.dataSync());
}

/**
 * Indices of the k smallest scores among the entries with keep[i] = 1 (ties: the lower index first,
 * so the choice is deterministic).
 */
function smallest(scores: Float64Array, keepMask: Float64Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (keepMask[i]) idx.push(i);
  idx.sort((a, b) => scores[a]! - scores[b]! || a - b);
  return idx.slice(0, k);
}

function checkTarget(where: string, module: unknown, name: unknown): asserts module is AnyModule {
  if (!(module instanceof Module)) throw new TypeError(`${where}: expected an nn.Module, got ${module === null ? 'null' : typeof module}`);
  if (typeof name !== 'string' || !name)
    throw new TypeError(`${where}: name must be a parameter name such as 'weight', got ${String(name)}`);
}

export interface PruneOptions {
  /** fraction in [0, 1) of the entries still unpruned to prune now */
  amount: number;
}

/** torch.nn.utils.prune.l1_unstructured: zeroes the round(amount · n) unpruned entries of smallest |value|. */
export function l1Unstructured<M extends AnyModule>(module: M, name: string, o: PruneOptions): M {
  checkTarget('l1Unstructured', module, name);
  checkOptions('l1Unstructured', o, ['amount']);
  const amount = checkAmount('l1Unstructured', o?.amount);
  const mask = hostMask(module, name);
  const w = hostValues(module, name);
  const unpruned = mask.reduce((a, v) => a + (v ? 1 : 0), 0);
  for (const i of smallest(w.map(Math.abs), mask, Math.round(amount * unpruned))) mask[i] = 0;
  setMask('l1Unstructured', module, name, mask);
  return module;
}

/** torch.nn.utils.prune.global_unstructured with L1: the smallest |value| over all the tensors together. */
export function globalUnstructured(params: readonly (readonly [AnyModule, string])[], o: PruneOptions): void {
  checkOptions('globalUnstructured', o, ['amount']);
  const amount = checkAmount('globalUnstructured', o?.amount);
  if (!Array.isArray(params) || !params.length)
    throw new TypeError('globalUnstructured: params must be a non-empty list of [module, name] pairs');
  params.forEach(([m, n]) => checkTarget('globalUnstructured', m, n));
  const masks = params.map(([m, n]) => hostMask(m, n));
  const values = params.map(([m, n]) => hostValues(m, n));
  const total = values.reduce((a, v) => a + v.length, 0);
  const allMask = new Float64Array(total);
  const allScore = new Float64Array(total);
  let off = 0;
  params.forEach((_, j) => {
    allMask.set(masks[j]!, off);
    allScore.set(values[j]!.map(Math.abs), off);
    off += values[j]!.length;
  });
  const unpruned = allMask.reduce((a, v) => a + (v ? 1 : 0), 0);
  for (const i of smallest(allScore, allMask, Math.round(amount * unpruned))) allMask[i] = 0;
  off = 0;
  params.forEach(([m, n], j) => {
    const len = values[j]!.length;
    setMask('globalUnstructured', m, n, allMask.slice(off, off + len));
    off += len;
  });
}

/** Sets module[name]'s mask so that exactly round(sparsity · n) entries are zero, smallest |w ⊙ mask| first (TF-MOT). */
export function magnitudeToSparsity(module: AnyModule, name: string, sparsity: number): void {
  checkTarget('magnitudeToSparsity', module, name);
  if (!(sparsity >= 0 && sparsity < 1)) throw new RangeError(`magnitudeToSparsity: sparsity must be in [0, 1), got ${sparsity}`);
  const mask = hostMask(module, name);
  const w = hostValues(module, name);
  const score = w.map((v, i) => Math.abs(v) * mask[i]!);
  const next = new Float64Array(w.length).fill(1);
  for (const i of smallest(score, next, Math.round(sparsity * w.length))) next[i] = 0;
  setMask('magnitudeToSparsity', module, name, next);
}

/** torch.nn.utils.prune.custom_from_mask: prunes where `mask` is 0 (combined with an existing mask). */
export function customFromMask<M extends AnyModule>(module: M, name: string, mask: Tensor): M {
  checkTarget('customFromMask', module, name);
  const cur = hostMask(module, name);
  if (!(mask instanceof Tensor) || mask.size !== cur.length)
    throw new RangeError(
      `customFromMask: mask must be a tensor shaped like ${module.name}.${name}, got ${mask instanceof Tensor ? fmtShape(mask.shape) : typeof mask}`,
    );
  const m = mask.dataSync();
  setMask(
    'customFromMask',
    module,
    name,
    cur.map((v, i) => (v && m[i] ? 1 : 0)),
  );
  return module;
}

/** torch.nn.utils.prune.remove: makes the pruning permanent (weight = orig ⊙ mask, the same Parameter object). */
export function remove<M extends AnyModule>(module: M, name: string): M {
  checkTarget('remove', module, name);
  const e = PRUNED.get(module);
  if (!e?.names.has(name)) throw new RangeError(`remove: parameter '${name}' of ${module.name} is not pruned`);
  const orig = slot(module, `${name}_orig`) as Parameter;
  const mask = slot(module, `${name}_mask`) as Tensor;
  const w = slot(module, name) as Tensor | undefined;
  noGrad(() => {
    const v = ops.mul(orig, mask);
    copyInto(orig, v, 'prune.remove');
    v.dispose();
  });
  if (w instanceof Tensor && !w.isDisposed) w.dispose();
  delete (module as unknown as Slots)[name];
  delete (module as unknown as Slots)[`${name}_orig`];
  module.registerBuffer(`${name}_mask`, null);
  delete (module as unknown as Slots)[`${name}_mask`];
  mask.dispose();
  (module as unknown as Slots)[name] = orig;
  e.names.delete(name);
  if (!e.names.size) {
    if (e.forward.own) Object.defineProperty(module, 'forward', { value: e.forward.fn, configurable: true, writable: true });
    else delete (module as unknown as { forward?: unknown }).forward;
    PRUNED.delete(module);
  }
  return module;
}

/** Recomputes every pruned tensor of the model (orig ⊙ mask): fit's PruningCallback does it after each step. */
export function applyMasks(model: AnyModule): void {
  noGrad(() => {
    for (const m of model.modules()) refresh(m);
  });
}

// ---- reporting -----------------------------------------------------------------------------

export interface SparsityRow {
  /** dotted name of the tensor ('0.weight') */
  name: string;
  /** module class */
  type: string;
  size: number;
  zeros: number;
  sparsity: number;
  /** pruned with a mask */
  masked: boolean;
}

export interface SparsityReport {
  layers: SparsityRow[];
  total: { size: number; zeros: number; sparsity: number };
  toString(): string;
}

/**
 * Zeros of every pruned tensor and of every weight of the Linear and Conv2d layers, per layer and in
 * total (the effective values: orig ⊙ mask where masked).
 */
export function sparsity(model: AnyModule): SparsityReport {
  if (!(model instanceof Module)) throw new TypeError('sparsity: expected an nn.Module');
  const layers: SparsityRow[] = [];
  for (const [prefix, m] of model.namedModules()) {
    const names = new Set(PRUNED.get(m)?.names ?? []);
    if ((m instanceof Linear || m instanceof Conv2d) && !names.has('weight') && slot(m, 'weight') instanceof Tensor) names.add('weight');
    for (const n of names) {
      const masked = isPruned(m, n);
      const v = hostValues(m, n);
      const mask = hostMask(m, n);
      let zeros = 0;
      for (let i = 0; i < v.length; i++) if (v[i] === 0 || mask[i] === 0) zeros++;
      layers.push({
        name: prefix ? `${prefix}.${n}` : n,
        type: m.name,
        size: v.length,
        zeros,
        sparsity: v.length ? zeros / v.length : 0,
        masked,
      });
    }
  }
  const size = layers.reduce((a, r) => a + r.size, 0);
  const zeros = layers.reduce((a, r) => a + r.zeros, 0);
  const total = { size, zeros, sparsity: size ? zeros / size : 0 };
  const text = [
    ...layers.map(
      (r) => `${r.name} (${r.type}${r.masked ? ', masked' : ''}): ${r.zeros} of ${r.size} zero (${(100 * r.sparsity).toFixed(2)}%)`,
    ),
    `total: ${zeros} of ${size} zero (${(100 * total.sparsity).toFixed(2)}%)`,
  ].join('\n');
  return { layers, total, toString: () => text };
}

// ---- schedules (TF-MOT) --------------------------------------------------------------------
// As tfmot.sparsity.keras: the masks are updated at steps beginStep, beginStep + frequency, … up to
// endStep (ConstantSparsity: endStep -1 = no end). One difference: endStep itself is always an update
// step, so the final sparsity is reached even when endStep − beginStep is not a multiple of frequency.

export interface PruningSchedule {
  /** target sparsity at `step` */
  sparsity(step: number): number;
  /** whether the masks are updated at `step` */
  shouldPrune(step: number): boolean;
}

export interface PolynomialDecayOptions {
  initialSparsity: number;
  finalSparsity: number;
  /** first step that prunes (default 0) */
  beginStep?: number;
  /** the step at which finalSparsity is reached (required, after beginStep) */
  endStep: number;
  /** update the masks every `frequency` steps (default 100, TF-MOT's) */
  frequency?: number;
  /** the exponent (default 3, TF-MOT's) */
  power?: number;
}

function sparsityValue(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new RangeError(`${where}: ${name} must be in [0, 1), got ${String(v)}`);
  return v;
}

function stepsOk(where: string, step: number, begin: number, end: number, frequency: number): boolean {
  if (step < begin) return false;
  if (end !== -1 && step > end) return false;
  return (step - begin) % frequency === 0 || step === end;
}

/** tfmot.sparsity.keras.PolynomialDecay: s(t) = final + (initial − final) · (1 − p)^power, p = (t − begin) / (end − begin) clipped to [0, 1]. */
export class PolynomialDecay implements PruningSchedule {
  readonly initialSparsity: number;
  readonly finalSparsity: number;
  readonly beginStep: number;
  readonly endStep: number;
  readonly frequency: number;
  readonly power: number;
  constructor(o: PolynomialDecayOptions) {
    const W = 'PolynomialDecay';
    if (!o || typeof o !== 'object')
      throw new TypeError(`${W}: pass { initialSparsity, finalSparsity, beginStep?, endStep, frequency?, power? }`);
    checkOptions(W, o, ['initialSparsity', 'finalSparsity', 'beginStep', 'endStep', 'frequency', 'power']);
    this.initialSparsity = sparsityValue(W, 'initialSparsity', o.initialSparsity);
    this.finalSparsity = sparsityValue(W, 'finalSparsity', o.finalSparsity);
    this.beginStep = inRange(W, 'beginStep', o.beginStep, { integer: true, min: 0 }, 0);
    this.endStep = inRange(W, 'endStep', o.endStep, { integer: true, min: 0 });
    if (this.endStep <= this.beginStep) throw new RangeError(`${W}: endStep (${this.endStep}) must be after beginStep (${this.beginStep})`);
    this.frequency = positiveInt(W, 'frequency', o.frequency, 100);
    this.power = inRange(W, 'power', o.power, { min: 0, minOpen: true }, 3);
  }
  sparsity(step: number): number {
    const p = Math.min(1, Math.max(0, (step - this.beginStep) / (this.endStep - this.beginStep)));
    return this.finalSparsity + (this.initialSparsity - this.finalSparsity) * (1 - p) ** this.power;
  }
  shouldPrune(step: number): boolean {
    return stepsOk('PolynomialDecay', step, this.beginStep, this.endStep, this.frequency);
  }
}

/** tfmot.sparsity.keras.ConstantSparsity: one target sparsity from beginStep on. */
export class ConstantSparsity implements PruningSchedule {
  readonly targetSparsity: number;
  readonly beginStep: number;
  readonly endStep: number;
  readonly frequency: number;
  constructor(o: { targetSparsity: number; beginStep?: number; endStep?: number; frequency?: number }) {
    const W = 'ConstantSparsity';
    if (!o || typeof o !== 'object') throw new TypeError(`${W}: pass { targetSparsity, beginStep?, endStep?, frequency? }`);
    checkOptions(W, o, ['targetSparsity', 'beginStep', 'endStep', 'frequency']);
    this.targetSparsity = sparsityValue(W, 'targetSparsity', o.targetSparsity);
    this.beginStep = inRange(W, 'beginStep', o.beginStep, { integer: true, min: 0 }, 0);
    this.endStep = inRange(W, 'endStep', o.endStep, { integer: true, min: -1 }, -1);
    this.frequency = positiveInt(W, 'frequency', o.frequency, 100);
  }
  sparsity(): number {
    return this.targetSparsity;
  }
  shouldPrune(step: number): boolean {
    return stepsOk('ConstantSparsity', step, this.beginStep, this.endStep, this.frequency);
  }
}

export interface PruningCallbackOptions {
  schedule: PruningSchedule;
  /** the tensors to prune (default: the weight of every Linear and Conv2d of the model fit trains) */
  params?: readonly (readonly [AnyModule, string])[];
}

/**
 * A fit() callback in the manner of TF-MOT's prune_low_magnitude + UpdatePruningStep: at each step
 * the schedule names (the optimizer step count, 0 before the first), every tensor's mask is set to
 * the schedule's sparsity by magnitude (per layer); after every optimizer step the masks are applied
 * (weight = weight_orig ⊙ mask). Pruning persists after fit: call prune.remove() to make it permanent.
 */
export class PruningCallback implements Callback {
  readonly schedule: PruningSchedule;
  private params: (readonly [AnyModule, string])[] | null;
  /** the sparsity the masks were last set to (NaN before the first update) */
  lastSparsity = NaN;
  constructor(o: PruningCallbackOptions) {
    if (!o || typeof o !== 'object') throw new TypeError('PruningCallback: pass { schedule, params? }');
    checkOptions('PruningCallback', o, ['schedule', 'params']);
    if (!o.schedule || typeof o.schedule.sparsity !== 'function' || typeof o.schedule.shouldPrune !== 'function') {
      throw new TypeError(
        'PruningCallback: schedule must be a pruning schedule (e.g. new prune.PolynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, endStep: 1000 }))',
      );
    }
    this.schedule = o.schedule;
    if (o.params !== undefined) {
      if (!Array.isArray(o.params) || !o.params.length)
        throw new TypeError('PruningCallback: params must be a non-empty list of [module, name] pairs');
      o.params.forEach(([m, n]) => checkTarget('PruningCallback', m, n));
    }
    this.params = o.params ? [...o.params] : null;
  }

  private update(step: number): void {
    if (!this.params?.length) return;
    if (this.schedule.shouldPrune(step)) {
      const s = this.schedule.sparsity(step);
      for (const [m, n] of this.params) magnitudeToSparsity(m, n, s);
      this.lastSparsity = s;
    }
    for (const [m] of this.params) noGrad(() => refresh(m));
  }

  onTrainBegin(state: TrainState): void {
    if (this.params === null) {
      const model = state.model as unknown;
      if (!(model instanceof Module))
        throw new TypeError('PruningCallback: the model is not an nn.Module; pass params: [[module, "weight"], …]');
      this.params = [];
      for (const m of model.modules()) if (m instanceof Linear || m instanceof Conv2d) this.params.push([m, 'weight']);
      if (!this.params.length) throw new RangeError(`PruningCallback: ${model.name} has no Linear or Conv2d layer to prune; pass params`);
    }
    this.update(state.step);
  }

  onBatchEnd(_batch: number, _info: unknown, state: TrainState): void {
    this.update(state.step);
  }
}

// ---- structured: remove output channels ----------------------------------------------------

export interface ChannelPruneOptions {
  /** fraction in [0, 1) of each prunable layer's output channels (Conv2d) or features (Linear) to remove */
  amount: number;
  /** importance of a channel: the 'l1' (default) or 'l2' norm of its filter */
  norm?: 'l1' | 'l2';
}

export interface ChannelPruneLayer {
  /** dotted name of the pruned layer in the model */
  name: string;
  type: string;
  before: number;
  after: number;
  /** the output channels kept, ascending (indices into the layer before pruning) */
  kept: number[];
  /** the removed ones, ascending */
  removed: number[];
  /** the layers rewired to its new width (BatchNorm, the next Conv2d or Linear) */
  rewired: string[];
}

const PASS_THROUGH = [ReLU, Tanh, Sigmoid, SiLU, Softplus, GELU, LeakyReLU, ELU, Dropout, MaxPool2d, AvgPool2d, Identity] as const;
const isPassThrough = (m: AnyModule): boolean => PASS_THROUGH.some((C) => m instanceof C);

/** The leaves of nested Sequentials, in forward order, with dotted names. */
function chain(where: string, seq: Sequential, prefix = ''): [string, AnyModule][] {
  const out: [string, AnyModule][] = [];
  for (const [k, m] of seq.namedChildren()) {
    const n = prefix ? `${prefix}.${k}` : k;
    if (m instanceof Sequential) out.push(...chain(where, m, n));
    else out.push([n, m]);
  }
  return out;
}

function channelNorms(w: Float64Array, outC: number, norm: 'l1' | 'l2'): Float64Array {
  const per = w.length / outC;
  const s = new Float64Array(outC);
  for (let k = 0; k < outC; k++) {
    let a = 0;
    for (let i = k * per; i < (k + 1) * per; i++) a += norm === 'l1' ? Math.abs(w[i]!) : w[i]! * w[i]!;
    s[k] = norm === 'l1' ? a : Math.sqrt(a);
  }
  return s;
}

/** Replaces parameter/buffer `k` of m by its rows `idx` along `dim` (a new Parameter keeps requiresGrad). */
function selectSlot(m: AnyModule, k: string, dim: number, idx: number[]): void {
  const cur = slot(m, k);
  if (!(cur instanceof Tensor)) return;
  const next = noGrad(() => {
    const i = ops.tensor(Int32Array.from(idx), { dtype: 'int32', device: cur.device });
    const r = ops.indexSelect(cur, dim, i);
    i.dispose();
    return r;
  });
  if (cur instanceof Parameter) {
    const p = Parameter.from(next, cur.requiresGrad);
    cur.grad?.dispose();
    cur.dispose();
    (m as unknown as Slots)[k] = p;
  } else {
    m.registerBuffer(k, next);
    cur.dispose();
  }
}

function setField(m: AnyModule, k: string, v: number): void {
  (m as unknown as Slots)[k] = v;
}

/**
 * Structured pruning of an nn.Sequential (nested Sequentials are followed): each Conv2d / Linear
 * whose output feeds another Conv2d / Linear loses round(amount · channels) of its output channels
 * (smallest filter norm first), and the layers after it are rewired: a BatchNorm1d/2d keeps the
 * same channels, the next Conv2d drops those input channels, and a Linear after a Flatten drops the
 * input features that came from them (channel c of a (C, H, W) map is features c·H·W … (c+1)·H·W − 1).
 * The last Conv2d/Linear (the model's output) keeps its width. Between two such layers only
 * activations, Dropout, MaxPool2d/AvgPool2d, Identity, BatchNorm and Flatten may stand; anything
 * else (a custom module, a residual block, grouped convolutions) is an error naming it. The layers
 * get new Parameters: make the optimizer after pruning.
 */
export function pruneChannels(model: AnyModule, o: ChannelPruneOptions): { layers: ChannelPruneLayer[] } {
  const W = 'pruneChannels';
  if (!(model instanceof Sequential))
    throw new TypeError(
      `${W}: only nn.Sequential models can be followed (got ${model instanceof Module ? model.name : typeof model}); a model with branches or a custom forward needs its layers pruned by hand`,
    );
  checkOptions(W, o, ['amount', 'norm']);
  const amount = checkAmount(W, o?.amount);
  const norm = oneOf(W, 'norm', o.norm, ['l1', 'l2'], 'l1');
  const leaves = chain(W, model);
  for (const [n, m] of leaves) {
    if (isPruned(m)) throw new RangeError(`${W}: ${n} (${m.name}) carries an unstructured pruning mask; call prune.remove() on it first`);
  }
  const layers: ChannelPruneLayer[] = [];
  for (let i = 0; i < leaves.length; i++) {
    const [pName, prod] = leaves[i]!;
    if (!(prod instanceof Conv2d || prod instanceof Linear)) continue;
    if (prod instanceof Conv2d && prod.groups !== 1)
      throw new RangeError(`${W}: ${pName} is a grouped Conv2d (groups=${prod.groups}); channel pruning supports groups=1 only`);
    // follow to the consumer
    const between: [string, AnyModule][] = [];
    let consumer: [string, Conv2d | Linear] | null = null;
    let flatten: string | null = null;
    for (let j = i + 1; j < leaves.length; j++) {
      const [n, m] = leaves[j]!;
      if (m instanceof Conv2d || m instanceof Linear) {
        consumer = [n, m];
        break;
      }
      if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) between.push([n, m]);
      else if (m instanceof Flatten) {
        if (m.startDim !== 1 || (m.endDim !== -1 && m.endDim !== 3))
          throw new RangeError(
            `${W}: ${n} is Flatten(start_dim=${m.startDim}, end_dim=${m.endDim}); only Flatten(1, -1) after a Conv2d can be followed`,
          );
        flatten = n;
      } else if (!isPassThrough(m)) {
        throw new RangeError(
          `${W}: cannot follow ${n} (${m.name}) after ${pName} (${prod.name}): between two Conv2d/Linear layers only activations, Dropout, pooling, Identity, BatchNorm and Flatten are supported`,
        );
      }
    }
    if (!consumer) continue; // the output layer keeps its width
    const [cName, cons] = consumer;
    if (cons instanceof Conv2d && cons.groups !== 1)
      throw new RangeError(`${W}: ${cName} is a grouped Conv2d (groups=${cons.groups}); channel pruning supports groups=1 only`);
    if (cons instanceof Conv2d && (prod instanceof Linear || flatten))
      throw new RangeError(`${W}: cannot follow ${pName} (${prod.name}) into ${cName} (Conv2d)`);
    const outC = prod instanceof Conv2d ? prod.outChannels : prod.outFeatures;
    let spatial = 1;
    if (cons instanceof Linear) {
      if (prod instanceof Conv2d && !flatten) throw new RangeError(`${W}: ${pName} (Conv2d) reaches ${cName} (Linear) without a Flatten`);
      if (cons.inFeatures % outC)
        throw new RangeError(`${W}: ${cName} has ${cons.inFeatures} input features, not a multiple of ${pName}'s ${outC} channels`);
      spatial = cons.inFeatures / outC;
      if (prod instanceof Linear && spatial !== 1)
        throw new RangeError(`${W}: ${cName} has ${cons.inFeatures} input features but ${pName} gives ${outC}`);
    } else if (cons.inChannels !== outC) {
      throw new RangeError(`${W}: ${cName} takes ${cons.inChannels} channels but ${pName} gives ${outC}`);
    }
    for (const [n, bn] of between) {
      if ((bn as BatchNorm1d).numFeatures !== outC)
        throw new RangeError(`${W}: ${n} normalises ${(bn as BatchNorm1d).numFeatures} channels but ${pName} gives ${outC}`);
    }
    const nRemove = Math.min(Math.round(amount * outC), outC - 1);
    if (nRemove === 0) continue;
    const scores = channelNorms(Float64Array.from((prod.weight as Tensor).dataSync()), outC, norm);
    const all = Array.from({ length: outC }, (_, k) => k);
    const removed = smallest(scores, new Float64Array(outC).fill(1), nRemove).sort((a, b) => a - b);
    const gone = new Set(removed);
    const kept = all.filter((k) => !gone.has(k));
    // the producer: output rows
    selectSlot(prod, 'weight', 0, kept);
    selectSlot(prod, 'bias', 0, kept);
    setField(prod, prod instanceof Conv2d ? 'outChannels' : 'outFeatures', kept.length);
    const rewired: string[] = [];
    for (const [n, bn] of between) {
      for (const k of ['weight', 'bias', 'running_mean', 'running_var']) selectSlot(bn, k, 0, kept);
      setField(bn, 'numFeatures', kept.length);
      rewired.push(n);
    }
    // the consumer: input columns
    const cols = spatial === 1 ? kept : kept.flatMap((c) => Array.from({ length: spatial }, (_, s) => c * spatial + s));
    selectSlot(cons, 'weight', 1, cols);
    setField(cons, cons instanceof Conv2d ? 'inChannels' : 'inFeatures', cols.length);
    rewired.push(cName);
    layers.push({ name: pName, type: prod.name, before: outC, after: kept.length, kept, removed, rewired });
  }
  return { layers };
}
