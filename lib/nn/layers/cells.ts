// Single-step cells RNNCell, LSTMCell, GRUCell with torch's parameters (weight_ih (G·H, in),
// weight_hh (G·H, H), bias_ih, bias_hh) and U(-1/√H, 1/√H) init. Input (B, in) or unbatched (in).

import type { Tensor } from '../../tensor.js';
import { fmtShape } from '../../shape.js';
import * as ops from '../../ops/index.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { uniform_ } from '../init.js';
import { bool, layerOptions, newParam, positiveInt, type FactoryOptions } from './util.js';
import { GATES, elmanMode, rnnStep, type RnnMode } from './rnn.js';

export interface CellOptions extends FactoryOptions {
  bias?: boolean;
}

abstract class CellBase<S, R> extends Module<[Tensor, (S | null)?], R> {
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(
    readonly mode: RnnMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    o: CellOptions = {},
  ) {
    super();
    const L = this.constructor.name;
    o = layerOptions(L, o, mode === 'RNN_TANH' || mode === 'RNN_RELU' ? ['bias', 'nonlinearity'] : ['bias']);
    bool(L, 'bias', o.bias, true);
    positiveInt(L, 'input_size', inputSize);
    positiveInt(L, 'hidden_size', hiddenSize);
    const G = GATES[mode] * hiddenSize;
    this.weight_ih = newParam([G, inputSize], o);
    this.weight_hh = newParam([G, hiddenSize], o);
    this.bias_ih = o.bias === false ? null : newParam([G], o);
    this.bias_hh = o.bias === false ? null : newParam([G], o);
    this.resetParameters();
  }

  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) uniform_(p, -k, k);
  }

  /** x as (B, in) plus whether it was unbatched. */
  protected input(x: Tensor): { x2: Tensor; batched: boolean } {
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new RangeError(`${this.toString()}: expected input (B, ${this.inputSize}) or (${this.inputSize}), got ${fmtShape(x.shape)}`);
    }
    return x.ndim === 2 ? { x2: x, batched: true } : { x2: ops.unsqueeze(x, 0), batched: false };
  }

  /** A state as (B, H): zeros when absent. */
  protected state(what: string, s: Tensor | null | undefined, B: number, batched: boolean, like: Tensor): Tensor {
    if (!s) return ops.zeros([B, this.hiddenSize], { dtype: like.dtype, device: like.device });
    const want = batched ? [B, this.hiddenSize] : [this.hiddenSize];
    if (s.ndim !== want.length || s.shape.some((v, i) => v !== want[i])) {
      throw new RangeError(`${this.toString()}: expected ${what} ${fmtShape(want)}, got ${fmtShape(s.shape)}`);
    }
    return batched ? s : ops.unsqueeze(s, 0);
  }

  protected step(x2: Tensor, h: Tensor, c: Tensor | null): [Tensor, Tensor | null] {
    const xg = ops.linear(x2, this.weight_ih, this.bias_ih);
    const r = rnnStep(this.mode, xg, h, c, { wHh: this.weight_hh, bHh: this.bias_hh });
    xg.dispose();
    return r;
  }

  protected unbatch(t: Tensor, batched: boolean): Tensor {
    if (batched) return t;
    const r = ops.squeeze(t, 0);
    t.dispose();
    return r;
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih ? '' : ', bias=false'}${this.mode === 'RNN_RELU' ? ", nonlinearity='relu'" : ''}`;
  }
}

abstract class HiddenCell extends CellBase<Tensor, Tensor> {
  /** x (B, in), h (B, H) (zeros when absent) → h' (B, H). */
  forward(x: Tensor, h?: Tensor | null): Tensor {
    const { x2, batched } = this.input(x);
    const h2 = this.state('hx', h, x2.shape[0]!, batched, x2);
    const [hn] = this.step(x2, h2, null);
    if (h2 !== h) h2.dispose();
    if (x2 !== x) x2.dispose();
    return this.unbatch(hn, batched);
  }
}

export class RNNCell extends HiddenCell {
  constructor(inputSize: number, hiddenSize: number, o: CellOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    super(elmanMode('RNNCell', o.nonlinearity), inputSize, hiddenSize, o);
  }
}

export class GRUCell extends HiddenCell {
  constructor(inputSize: number, hiddenSize: number, o: CellOptions = {}) {
    super('GRU', inputSize, hiddenSize, o);
  }
}

/** LSTM cell: forward(x, [h, c]?) → [h', c']. */
export class LSTMCell extends CellBase<[Tensor, Tensor], [Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, o: CellOptions = {}) {
    super('LSTM', inputSize, hiddenSize, o);
  }
  forward(x: Tensor, state?: [Tensor, Tensor] | null): [Tensor, Tensor] {
    const { x2, batched } = this.input(x);
    const B = x2.shape[0]!;
    const h = this.state('hx', state?.[0], B, batched, x2);
    const c = this.state('cx', state?.[1], B, batched, x2);
    const [hn, cn] = this.step(x2, h, c);
    if (h !== state?.[0]) h.dispose();
    if (c !== state?.[1]) c.dispose();
    if (x2 !== x) x2.dispose();
    return [this.unbatch(hn, batched), this.unbatch(cn!, batched)];
  }
}
