// Recurrent layers RNN (tanh / relu), LSTM (gates i, f, g, o) and GRU (gates r, z, n), multi-layer,
// batchFirst, bidirectional, dropout between layers; parameters named and shaped as torch's
// (weight_ih_l0 (G·H, in), weight_hh_l0 (G·H, H), bias_ih_l0, bias_hh_l0, …_reverse).
//
// Per layer and direction: ONE linear over all time steps, x (T·B, in) → (T·B, G·H), then per step
// hg = h·W_hhᵀ + b_hh and the fused gate op (lstmGates / gruGates; tanh/relu of the sum for RNN).
// Nothing is read back to the host.
//
// Variable-length batches (like torch's pack_padded_sequence → LSTM → pad_packed_sequence): pass
// forward(x, state, { lengths }) with one length per sequence. Steps at or after a sequence's
// length leave its state untouched (the forward direction carries its last valid state to the
// end; the reverse direction starts at the sequence's own last valid step) and output zeros, so
// the output equals pad_packed_sequence(…, total_length=T) and the final states are those at each
// sequence's last valid step. A step is masked only when some sequence has ended by then.

import { isTensor, type Tensor } from '../../tensor.js';
import { fmtShape } from '../../shape.js';
import * as ops from '../../ops/index.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { uniform_ } from '../init.js';
import { checkOptions, type OptionKeys } from '../../options.js';
import { bool, layerOptions, newParam, positiveInt, probability, type FactoryOptions } from './util.js';
import { unbind0 } from './unbind.js';
import { rnnLayer, rnnLayerApplies } from '../../ops/rnn-layer.js';

export type RnnMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/** The Elman mode for a nonlinearity option (RNN and RNNCell), with the error naming the layer. */
export function elmanMode(layer: string, nonlinearity: unknown = 'tanh'): RnnMode {
  if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') {
    throw new RangeError(`${layer}: nonlinearity must be 'tanh' or 'relu', got '${String(nonlinearity)}'`);
  }
  return nonlinearity === 'tanh' ? 'RNN_TANH' : 'RNN_RELU';
}

/** Gates per mode: the rows of W_ih / W_hh are G·H. */
export const GATES: Record<RnnMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

export interface StepWeights {
  wHh: Tensor;
  bHh: Tensor | null;
}

/**
 * One time step from the precomputed input projection xg (B, G·H) and the state: returns the new
 * [h, c] (c is null except for LSTM). Intermediates are disposed (the tape keeps what it needs).
 */
export function rnnStep(mode: RnnMode, xg: Tensor, h: Tensor, c: Tensor | null, w: StepWeights): [Tensor, Tensor | null] {
  const hg = ops.linear(h, w.wHh, w.bHh);
  if (mode === 'GRU') {
    const hn = ops.gruGates(xg, hg, h);
    hg.dispose();
    return [hn, null];
  }
  const s = ops.add(xg, hg);
  hg.dispose();
  if (mode === 'LSTM') {
    const [hn, cn] = ops.lstmGates(s, c!);
    s.dispose();
    return [hn, cn];
  }
  const hn = mode === 'RNN_TANH' ? ops.tanh(s) : ops.relu(s);
  s.dispose();
  return [hn, null];
}

export interface RnnOptions extends FactoryOptions {
  numLayers?: number;
  bias?: boolean;
  /** input and output are (B, T, feature) instead of (T, B, feature) */
  batchFirst?: boolean;
  /** dropout on the outputs of each layer except the last (training only) */
  dropout?: number;
  bidirectional?: boolean;
}

const RNN_KEYS = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'] satisfies (keyof RnnOptions)[];

/** Options of a recurrent forward pass. */
export interface RnnForwardOptions {
  /**
   * Valid steps of each sequence in the batch, each in 1..T (any order): steps past a sequence's
   * length are padding; see the header. Host numbers (an array or Int32Array) or a 1-D tensor
   * (read back to the host, a sync point on a GPU: prefer host numbers there).
   */
  lengths?: ArrayLike<number> | Tensor | null;
}

const FORWARD_KEYS: OptionKeys<RnnForwardOptions> = { lengths: true };

/** The state an LSTM takes and returns: [h, c], each (layers·directions, B, H). */
export type LstmState = [Tensor, Tensor];

type Slots = Record<string, unknown>;

/** Shared machinery of RNN / LSTM / GRU. */
export abstract class RNNBase<S> extends Module<[Tensor, (S | null)?, RnnForwardOptions?], [Tensor, S]> {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** parameter names per (layer, direction): [weight_ih, weight_hh, bias_ih?, bias_hh?] */
  private readonly names: string[][] = [];

  constructor(
    readonly mode: RnnMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    o: RnnOptions = {},
  ) {
    super();
    const L = this.constructor.name;
    o = layerOptions(L, o, [...RNN_KEYS, ...(mode === 'RNN_TANH' || mode === 'RNN_RELU' ? ['nonlinearity'] : [])]);
    positiveInt(L, 'input_size', inputSize);
    positiveInt(L, 'hidden_size', hiddenSize);
    this.numLayers = positiveInt(L, 'num_layers', o.numLayers ?? 1);
    this.bias = bool(L, 'bias', o.bias, true);
    this.batchFirst = bool(L, 'batchFirst', o.batchFirst, false);
    this.dropout = probability(L, 'dropout', o.dropout ?? 0, true);
    this.bidirectional = bool(L, 'bidirectional', o.bidirectional, false);
    const G = GATES[mode] * hiddenSize;
    const D = this.bidirectional ? 2 : 1;
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d ? '_reverse' : ''}`;
        const inL = l === 0 ? inputSize : hiddenSize * D;
        const names = [`weight_ih${sfx}`, `weight_hh${sfx}`];
        const slots = this as unknown as Slots;
        slots[names[0]!] = newParam([G, inL], o);
        slots[names[1]!] = newParam([G, hiddenSize], o);
        if (this.bias) {
          names.push(`bias_ih${sfx}`, `bias_hh${sfx}`);
          slots[names[2]!] = newParam([G], o);
          slots[names[3]!] = newParam([G], o);
        }
        this.names.push(names);
      }
    }
    this.resetParameters();
  }

  /** torch's default: every parameter U(-1/√H, 1/√H). */
  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) uniform_(p, -k, k);
  }

  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** The parameter of this module named as in torch ('weight_ih_l0', 'bias_hh_l1_reverse'). */
  param(name: string): Parameter {
    // own tensor slots only: param('constructor') or param('forward') must not return a function
    // (a slot may hold a plain tensor while a functional call swaps the weights)
    const p = Object.prototype.hasOwnProperty.call(this, name) ? (this as unknown as Slots)[name] : undefined;
    if (!isTensor(p))
      throw new RangeError(`${this.constructor.name}: no parameter '${name}' (parameters: ${this.names.flat().join(', ')})`);
    return p as Parameter;
  }

  private weights(l: number, d: number): { wIh: Tensor; bIh: Tensor | null; wHh: Tensor; bHh: Tensor | null } {
    const n = this.names[l * this.numDirections + d]!;
    return { wIh: this.param(n[0]!), wHh: this.param(n[1]!), bIh: n[2] ? this.param(n[2]) : null, bHh: n[3] ? this.param(n[3]) : null };
  }

  protected describe(): string {
    return this.toString().split('\n')[0]!;
  }

  /**
   * Runs the stack on x (T, B, in) (seq first) from the initial states h0s/c0s (one per layer and
   * direction); returns the output (T, B, D·H) and the final states.
   */
  protected run(
    x: Tensor,
    h0s: Tensor[],
    c0s: Tensor[] | null,
    lengths: Int32Array | null = null,
  ): { out: Tensor; hN: Tensor[]; cN: Tensor[] } {
    const [T, B] = x.shape as [number, number];
    // masks[t] (B, 1) int32, 1 where step t is valid; null where every sequence is still running
    const masks: (Tensor | null)[] = new Array<Tensor | null>(T).fill(null);
    let minLen = T;
    if (lengths) for (const n of lengths) minLen = Math.min(minLen, n);
    const maskAt = (t: number): Tensor | null => {
      if (!lengths || t < minLen) return null;
      let m = masks[t];
      if (!m)
        masks[t] = m = ops.tensor(
          Int32Array.from(lengths, (n) => (t < n ? 1 : 0)),
          { dtype: 'int32', device: x.device, shape: [B, 1] },
        );
      return m;
    };
    const H = this.hiddenSize;
    const D = this.numDirections;
    const G = GATES[this.mode] * H;
    const hN: Tensor[] = [];
    const cN: Tensor[] = [];
    let layerIn = x;
    for (let l = 0; l < this.numLayers; l++) {
      const dirOuts: Tensor[] = [];
      for (let d = 0; d < D; d++) {
        const w = this.weights(l, d);
        // the whole layer as one native op when the js backend has the addon's CPU kernels (no
        // lengths; the reverse direction runs on the time-reversed input); else the per-step ops below
        if (!lengths && rnnLayerApplies(layerIn)) {
          const rev =
            d === 1
              ? ops.tensor(
                  Int32Array.from({ length: T }, (_, i) => T - 1 - i),
                  { dtype: 'int32', device: x.device },
                )
              : null;
          const xin = rev ? ops.indexSelect(layerIn, 0, rev) : layerIn;
          const one = rnnLayer(this.mode, xin, h0s[l * D + d]!, c0s ? c0s[l * D + d]! : null, w.wIh, w.wHh, w.bIh, w.bHh);
          if (xin !== layerIn) xin.dispose();
          if (one) {
            dirOuts.push(rev ? ops.indexSelect(one.out, 0, rev) : one.out);
            if (rev) one.out.dispose();
            hN.push(one.hN);
            if (one.cN) cN.push(one.cN);
            rev?.dispose();
            continue;
          }
          rev?.dispose();
        }
        // one projection of every time step: (T·B, in) → (T, B, G·H)
        const flat = ops.reshape(layerIn, [T * B, layerIn.shape[2]!]);
        const proj = ops.linear(flat, w.wIh, w.bIh);
        const proj3 = ops.reshape(proj, [T, B, G]);
        const steps = unbind0(proj3);
        for (const t of [flat, proj, proj3]) t.dispose();
        let h = h0s[l * D + d]!;
        let c = c0s ? c0s[l * D + d]! : null;
        const hs: Tensor[] = new Array<Tensor>(T);
        const carried: Tensor[] = []; // states kept past a sequence's end (not outputs)
        for (let i = 0; i < T; i++) {
          const t = d === 0 ? i : T - 1 - i;
          let [hn, cn] = rnnStep(this.mode, steps[t]!, h, c, w);
          steps[t]!.dispose();
          const m = maskAt(t);
          if (m) {
            // ended sequences keep their state and output zeros (where is exact: no h + m·(hn − h))
            hs[t] = ops.where(m, hn, 0);
            const hk = ops.where(m, hn, h);
            hn.dispose();
            carried.push(hk);
            hn = hk;
            if (cn) {
              const ck = ops.where(m, cn, c!);
              cn.dispose();
              cn = ck;
            }
          } else hs[t] = hn;
          if (c && c !== c0s?.[l * D + d]) c.dispose();
          h = hn;
          c = cn;
        }
        dirOuts.push(ops.stack(hs, 0));
        hN.push(ops.clone(h));
        for (const t of hs) t.dispose();
        for (const t of carried) t.dispose();
        if (c) cN.push(c);
      }
      const out = D === 1 ? dirOuts[0]! : ops.cat(dirOuts, 2);
      if (D > 1) for (const t of dirOuts) t.dispose();
      if (layerIn !== x) layerIn.dispose();
      if (l < this.numLayers - 1 && this.dropout > 0 && this.training) {
        layerIn = ops.dropout(out, this.dropout, true);
        out.dispose();
      } else layerIn = out;
    }
    for (const m of masks) m?.dispose();
    return { out: layerIn, hN, cN };
  }

  /** Checks forward's options and the lengths (B of them, each in 1..T); null when none. */
  protected lengthsOf(opts: RnnForwardOptions | undefined, T: number, B: number, batched: boolean): Int32Array | null {
    const raw = checkOptions(`${this.describe()}.forward`, opts, FORWARD_KEYS).lengths;
    if (raw === undefined || raw === null) return null;
    let arr: ArrayLike<number>;
    if (isTensor(raw)) {
      // read on the host (like torch, which wants lengths on the cpu): a sync point on a GPU
      if (raw.ndim !== 1)
        throw new RangeError(
          `${this.describe()}: lengths must be a 1-D tensor or an array, one length per sequence, got a tensor ${fmtShape(raw.shape)}`,
        );
      arr = raw.dataSync();
    } else arr = raw;
    if (typeof arr.length !== 'number') throw new TypeError(`${this.describe()}: lengths must be an array of numbers, one per sequence`);
    const want = batched ? B : 1;
    if (arr.length !== want)
      throw new RangeError(
        `${this.describe()}: lengths has ${arr.length} entries but the batch has ${want} sequence${want === 1 ? '' : 's'}`,
      );
    const out = new Int32Array(arr.length);
    for (let b = 0; b < arr.length; b++) {
      const n = arr[b]!;
      if (!Number.isInteger(n) || n < 1 || n > T)
        throw new RangeError(`${this.describe()}: lengths[${b}] = ${n} must be an integer in 1..${T} (the padded sequence length)`);
      out[b] = n;
    }
    return out;
  }

  /** Normalises the input to (T, B, in) and checks it; returns it with how to undo. */
  protected prepare(input: Tensor): { x: Tensor; batched: boolean } {
    const I = this.inputSize;
    if ((input.ndim !== 3 && input.ndim !== 2) || input.shape[input.ndim - 1] !== I) {
      const want = this.batchFirst ? `(B, T, ${I})` : `(T, B, ${I})`;
      throw new RangeError(`${this.describe()}: expected input ${want} (or unbatched (T, ${I})), got ${fmtShape(input.shape)}`);
    }
    // torch: "Expected sequence length to be larger than 0 in RNN" (a batch of 0 is fine)
    if (input.shape[input.ndim === 3 && this.batchFirst ? 1 : 0] === 0) {
      const layout = input.ndim === 2 ? `(T, ${I})` : this.batchFirst ? `(B, T, ${I})` : `(T, B, ${I})`;
      throw new RangeError(
        `${this.describe()}: the sequence length T must be larger than 0, got input ${fmtShape(input.shape)} as ${layout}`,
      );
    }
    // torch: "input must have the type torch.float32, got type torch.float64"
    const w = this.param(this.names[0]![0]!);
    if (input.dtype !== w.dtype) {
      throw new TypeError(
        `${this.describe()}: input is ${input.dtype} ${fmtShape(input.shape)} but the weights are ${w.dtype}; cast the input (x.to('${w.dtype}')) or the module (.to('${input.dtype}'))`,
      );
    }
    if (input.ndim === 2) return { x: ops.unsqueeze(input, 1), batched: false };
    return { x: this.batchFirst ? ops.transpose(input, 0, 1) : input, batched: true };
  }

  /** Splits an initial state (L·D, B, H) (or (L·D, H) unbatched) into one (B, H) per layer and direction. */
  protected initialStates(what: string, s: Tensor | null | undefined, B: number, batched: boolean, like: Tensor): Tensor[] {
    const LD = this.numLayers * this.numDirections;
    const H = this.hiddenSize;
    if (s === null || s === undefined) {
      return Array.from({ length: LD }, () => ops.zeros([B, H], { dtype: like.dtype, device: like.device }));
    }
    const want = batched ? [LD, B, H] : [LD, H];
    if (s.ndim !== want.length || s.shape.some((v, i) => v !== want[i])) {
      throw new RangeError(`${this.describe()}: expected ${what} ${fmtShape(want)}, got ${fmtShape(s.shape)}`);
    }
    const s3 = batched ? s : ops.unsqueeze(s, 1);
    const parts = unbind0(s3);
    if (s3 !== s) s3.dispose();
    return parts;
  }

  /** Output back to the caller's layout. */
  protected finishOutput(out: Tensor, batched: boolean): Tensor {
    if (!batched) {
      const r = ops.squeeze(out, 1);
      out.dispose();
      return r;
    }
    if (!this.batchFirst) return out;
    const r = ops.transpose(out, 0, 1);
    out.dispose();
    return r;
  }

  protected finishState(parts: Tensor[], batched: boolean): Tensor {
    const s = ops.stack(parts, 0);
    for (const p of parts) p.dispose();
    if (batched) return s;
    const r = ops.squeeze(s, 1);
    s.dispose();
    return r;
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (this.mode === 'RNN_RELU') s += `, nonlinearity='relu'`;
    if (!this.bias) s += ', bias=false';
    if (this.batchFirst) s += ', batch_first=true';
    if (this.dropout) s += `, dropout=${this.dropout}`;
    if (this.bidirectional) s += ', bidirectional=true';
    return s;
  }
}

/** Runs one state-only recurrence (RNN, GRU). */
abstract class HiddenOnly extends RNNBase<Tensor> {
  /** input (T, B, in) or (B, T, in) with batchFirst; h0 (L·D, B, H) → [output (…, D·H), hN (L·D, B, H)] */
  forward(input: Tensor, h0?: Tensor | null, opts?: RnnForwardOptions): [Tensor, Tensor] {
    const { x, batched } = this.prepare(input);
    let lengths: Int32Array | null;
    try {
      lengths = this.lengthsOf(opts, x.shape[0]!, x.shape[1]!, batched);
    } catch (e) {
      if (x !== input) x.dispose();
      throw e;
    }
    const hs = this.initialStates('h0', h0, x.shape[1]!, batched, x);
    const { out, hN } = this.run(x, hs, null, lengths);
    for (const h of hs) h.dispose();
    if (x !== input) x.dispose();
    return [this.finishOutput(out, batched), this.finishState(hN, batched)];
  }
}

export interface RNNOptions extends RnnOptions {
  nonlinearity?: 'tanh' | 'relu';
}

/** Elman RNN: h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu). */
export class RNN extends HiddenOnly {
  constructor(inputSize: number, hiddenSize: number, o: RNNOptions = {}) {
    super(elmanMode('RNN', o.nonlinearity), inputSize, hiddenSize, o);
  }
}

/** GRU, torch's gate order r, z, n: n = tanh(xn + r·(h·W_hnᵀ + b_hn)), h' = (1-z)·n + z·h. */
export class GRU extends HiddenOnly {
  constructor(inputSize: number, hiddenSize: number, o: RnnOptions = {}) {
    super('GRU', inputSize, hiddenSize, o);
  }
}

/** LSTM, torch's gate order i, f, g, o. forward(input, [h0, c0]?) → [output, [hN, cN]]. */
export class LSTM extends RNNBase<LstmState> {
  constructor(inputSize: number, hiddenSize: number, o: RnnOptions = {}) {
    super('LSTM', inputSize, hiddenSize, o);
  }
  forward(input: Tensor, state?: LstmState | null, opts?: RnnForwardOptions): [Tensor, LstmState] {
    const { x, batched } = this.prepare(input);
    const B = x.shape[1]!;
    let lengths: Int32Array | null;
    try {
      if (state && (!Array.isArray(state) || state.length !== 2))
        throw new TypeError(`${this.describe()}: the initial state must be [h0, c0]`);
      lengths = this.lengthsOf(opts, x.shape[0]!, B, batched);
    } catch (e) {
      if (x !== input) x.dispose();
      throw e;
    }
    const hs = this.initialStates('h0', state?.[0], B, batched, x);
    const cs = this.initialStates('c0', state?.[1], B, batched, x);
    const { out, hN, cN } = this.run(x, hs, cs, lengths);
    for (const t of [...hs, ...cs]) t.dispose();
    if (x !== input) x.dispose();
    return [this.finishOutput(out, batched), [this.finishState(hN, batched), this.finishState(cN, batched)]];
  }
}
