// 2-D pooling layers over NCHW input: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.

import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module, fmtPair } from '../module.js';
import { badInput, bool, toPair, type Pair } from './util.js';
import { checkOptions } from '../../options.js';

export interface MaxPool2dOptions {
  /** defaults to the kernel size */
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  constructor(kernelSize: Pair, o: MaxPool2dOptions = {}) {
    super();
    o = checkOptions('MaxPool2d', o, ['stride', 'padding', 'dilation', 'ceilMode']);
    this.kernelSize = toPair('MaxPool2d', 'kernel_size', kernelSize, 1);
    this.stride = toPair('MaxPool2d', 'stride', o.stride ?? kernelSize, 1);
    this.padding = toPair('MaxPool2d', 'padding', o.padding ?? 0, 0);
    this.dilation = toPair('MaxPool2d', 'dilation', o.dilation ?? 1, 1);
    this.ceilMode = bool('MaxPool2d', 'ceilMode', o.ceilMode, false);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new RangeError(`MaxPool2d: padding ${fmtPair(this.padding)} should be at most half of kernel size ${fmtPair(this.kernelSize)}`);
    }
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) badInput(this.toString(), '(N, C, H, W)', x);
    return ops.maxPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }
  override extraRepr(): string {
    return `kernel_size=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}, padding=${fmtPair(this.padding)}, dilation=${fmtPair(this.dilation)}, ceil_mode=${this.ceilMode}`;
  }
}

export interface AvgPool2dOptions {
  stride?: Pair | null;
  padding?: Pair;
  ceilMode?: boolean;
  /** count padded cells in the divisor (default true, like torch) */
  countIncludePad?: boolean;
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  constructor(kernelSize: Pair, o: AvgPool2dOptions = {}) {
    super();
    o = checkOptions('AvgPool2d', o, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    this.kernelSize = toPair('AvgPool2d', 'kernel_size', kernelSize, 1);
    this.stride = toPair('AvgPool2d', 'stride', o.stride ?? kernelSize, 1);
    this.padding = toPair('AvgPool2d', 'padding', o.padding ?? 0, 0);
    this.ceilMode = bool('AvgPool2d', 'ceilMode', o.ceilMode, false);
    this.countIncludePad = bool('AvgPool2d', 'countIncludePad', o.countIncludePad, true);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new RangeError(`AvgPool2d: padding ${fmtPair(this.padding)} should be at most half of kernel size ${fmtPair(this.kernelSize)}`);
    }
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) badInput(this.toString(), '(N, C, H, W)', x);
    return ops.avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }
  override extraRepr(): string {
    return `kernel_size=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}, padding=${fmtPair(this.padding)}`;
  }
}

export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(outputSize: Pair) {
    super();
    this.outputSize = toPair('AdaptiveAvgPool2d', 'output_size', outputSize, 1);
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) badInput(this.toString(), '(N, C, H, W)', x);
    return ops.adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    return `output_size=${fmtPair(this.outputSize)}`;
  }
}
