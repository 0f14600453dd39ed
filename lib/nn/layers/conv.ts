// Conv2d, NCHW, weight (K, C/groups, R, S) and bias (K), like torch.nn.Conv2d.

import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module, fmtPair } from '../module.js';
import type { Parameter } from '../parameter.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { badInput, bool, layerOptions, newParam, positiveInt, toPair, type FactoryOptions, type Pair } from './util.js';

export interface Conv2dLayerOptions extends FactoryOptions {
  stride?: Pair;
  /** a number, a pair, 'valid' (0) or 'same' (stride 1) */
  padding?: Pair | 'valid' | 'same';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'valid' | 'same';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    o: Conv2dLayerOptions = {},
  ) {
    super();
    const L = 'Conv2d';
    o = layerOptions(L, o, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    bool(L, 'bias', o.bias, true);
    positiveInt(L, 'in_channels', inChannels);
    positiveInt(L, 'out_channels', outChannels);
    this.kernelSize = toPair(L, 'kernel_size', kernelSize, 1);
    this.stride = toPair(L, 'stride', o.stride ?? 1, 1);
    const pad = o.padding ?? 0;
    this.padding = pad === 'same' || pad === 'valid' ? pad : toPair(L, 'padding', pad, 0);
    if (pad === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1))
      throw new RangeError(`${L}: padding='same' is not supported for strided convolutions`);
    this.dilation = toPair(L, 'dilation', o.dilation ?? 1, 1);
    this.groups = positiveInt(L, 'groups', o.groups ?? 1);
    if (inChannels % this.groups) throw new RangeError(`${L}: in_channels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups) throw new RangeError(`${L}: out_channels (${outChannels}) must be divisible by groups (${this.groups})`);
    this.weight = newParam([outChannels, inChannels / this.groups, ...this.kernelSize], o);
    this.bias = o.bias === false ? null : newParam([outChannels], o);
    this.resetParameters();
  }

  /** torch's default: kaiming_uniform_(a=√5) → U(±1/√fanIn), bias U(±1/√fanIn), fanIn = C/groups·R·S. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const fanIn = (this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) badInput(this.toString(), `(N, ${this.inChannels}, H, W)`, x);
    return ops.conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}`;
    const p = this.padding;
    if (typeof p === 'string') s += `, padding=${p}`;
    else if (p[0] || p[1]) s += `, padding=${fmtPair(p)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${fmtPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=false';
    return s;
  }
}
