// conv2d (NCHW, weight (outC, inC/groups, kH, kW)) and 2-D pooling, with torch's output-size
// rules, over the implicit-GEMM / pooling kernels.

import type { Conv2dParams, Pool2dParams } from '../backend/kernels.js';
import { needsGrad, record, save } from '../autograd/record.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, assertNdim, empty, launch, nbytes, sameDevice } from './util.js';
import { sum } from './reduce.js';
import { bool, checkOptions } from '../options.js';
import { autocastActive, autocastOp } from '../amp/state.js';

export type Pair = number | [number, number];

function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  if (typeof v !== 'number' && (!Array.isArray(v) || v.length !== 2))
    throw new RangeError(`${op}: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const x of p) {
    if (!Number.isInteger(x) || x < min)
      throw new RangeError(`${op}: ${name} must be ${min === 0 ? 'non-negative' : 'positive'} integer(s), got ${JSON.stringify(v)}`);
  }
  return p;
}

function outSize(inp: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = inp + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= inp + p) o--; // the last window must start inside the input or left padding
  return o;
}

export interface Conv2dOptions {
  stride?: Pair;
  /** number, [h, w], 'valid' (0) or 'same' (stride 1 only) */
  padding?: Pair | 'valid' | 'same';
  dilation?: Pair;
  groups?: number;
}

/** 2-D convolution (cross-correlation, like torch): x (N, C, H, W), weight (K, C/groups, R, S), bias (K). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  if (autocastActive()) return autocastOp('conv2d', [x, weight, bias], (a, w, b) => conv2d(a!, w!, b, o)); // lib/amp
  const op = 'conv2d';
  o = checkOptions(op, o, ['stride', 'padding', 'dilation', 'groups']);
  assertNdim(op, x, [4], 'input');
  assertNdim(op, weight, [4], 'weight');
  assertFloat(op, x);
  const be = sameDevice(op, x, weight, bias);
  if (weight.dtype !== x.dtype) throw new TypeError(`${op}: input is ${x.dtype} but weight is ${weight.dtype}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [K, Cg, R, S] = weight.shape as [number, number, number, number];
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || K % groups !== 0) {
    throw new RangeError(`${op}: groups=${groups} must divide in channels ${C} and out channels ${K}`);
  }
  if (Cg * groups !== C) {
    throw new RangeError(
      `${op}: weight ${fmtShape(weight.shape)} expects ${Cg * groups} input channels (groups=${groups}), input ${fmtShape(x.shape)} has ${C}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== K)) throw new RangeError(`${op}: bias must be (${K},), got ${fmtShape(bias.shape)}`);
  const [sh, sw] = pair(op, 'stride', o.stride ?? 1, 1);
  const [dh, dw] = pair(op, 'dilation', o.dilation ?? 1, 1);
  let ph: number, pw: number;
  if (o.padding === 'valid' || o.padding === undefined) [ph, pw] = [0, 0];
  else if (o.padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new RangeError(`${op}: padding='same' needs stride 1`);
    const th = dh * (R - 1);
    const tw = dw * (S - 1);
    if (th % 2 || tw % 2)
      throw new RangeError(`${op}: padding='same' with an even effective kernel is not supported (use explicit padding)`);
    [ph, pw] = [th / 2, tw / 2];
  } else [ph, pw] = pair(op, 'padding', o.padding, 0);
  const P = outSize(H, R, sh, ph, dh, false);
  const Q = outSize(W, S, sw, pw, dw, false);
  if (P < 1 || Q < 1) {
    throw new RangeError(
      `${op}: input ${fmtShape(x.shape)} is too small for kernel ${R}×${S} (dilation ${dh}×${dw}, padding ${ph}×${pw}): output would be ${P}×${Q}`,
    );
  }
  const p: Conv2dParams = {
    batch: N,
    inC: C,
    inH: H,
    inW: W,
    outC: K,
    kH: R,
    kW: S,
    outH: P,
    outW: Q,
    strideH: sh,
    strideW: sw,
    padH: ph,
    padW: pw,
    dilationH: dh,
    dilationW: dw,
    groups,
  };
  const flops = 2 * N * K * P * Q * Cg * R * S;
  const y = empty(be, [N, K, P, Q], x.dtype);
  launch(be, 'conv2d', flops, nbytes(x.size + weight.size + y.size, x.dtype), x.handle, weight.handle, y.handle, p, x.dtype);
  if (bias)
    launch(be, 'addBiasAct', y.size, nbytes(2 * y.size + K, x.dtype), y.handle, bias.handle, y.handle, N, K, P * Q, 'none', x.dtype);
  if (needsGrad(x, weight, bias)) {
    // save only what a requested gradient reads (dx needs w, dw needs x), like torch: fewer saved
    // tensors, and changing a weight whose value no gradient needs is no error at backward
    const needDx = x.requiresGrad;
    const needDw = weight.requiresGrad;
    const sx = needDw ? save(x)[0]! : null;
    const sw2 = needDx ? save(weight)[0]! : null;
    record(
      op,
      [y],
      [x, weight, bias],
      ([g]) => {
        const gb = g!.backend;
        let dx: Tensor | null = null;
        let dwt: Tensor | null = null;
        if (needDx) {
          dx = empty(gb, [N, C, H, W], x.dtype);
          launch(
            gb,
            'conv2dGradInput',
            flops,
            nbytes(g!.size + weight.size + dx.size, x.dtype),
            g!.handle,
            sw2!.handle,
            dx.handle,
            p,
            x.dtype,
          );
        }
        if (needDw) {
          dwt = empty(gb, [K, Cg, R, S], x.dtype);
          launch(
            gb,
            'conv2dGradWeight',
            flops,
            nbytes(g!.size + x.size + dwt.size, x.dtype),
            sx!.handle,
            g!.handle,
            dwt.handle,
            p,
            x.dtype,
          );
        }
        const db = bias?.requiresGrad ? sum(g!, [0, 2, 3]) : null;
        return [dx, dwt, db];
      },
      [sx, sw2].filter((t): t is Tensor => t !== null),
    );
  }
  return y;
}

export interface Pool2dOptions {
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
  /** avg only (torch default true) */
  countIncludePad?: boolean;
}

/** A pooling window over an empty H or W has nothing in it (an average would be 0/0): refuse it like torch (empty N or C is fine). */
function assertNonEmptyPlanes(op: string, x: Tensor): void {
  const d = [2, 3].find((i) => x.shape[i] === 0);
  if (d !== undefined) {
    throw new RangeError(
      `${op}: expected input to have non-zero size for non-batch dimensions, but input ${fmtShape(x.shape)} has dimension ${d} empty`,
    );
  }
}

function poolParams(op: string, x: Tensor, kernel: Pair, o: Pool2dOptions): Pool2dParams {
  bool(op, 'ceilMode', o.ceilMode, false);
  bool(op, 'countIncludePad', o.countIncludePad, true);
  assertNdim(op, x, [4], 'input');
  assertFloat(op, x);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  assertNonEmptyPlanes(op, x);
  const [kH, kW] = pair(op, 'kernel size', kernel, 1);
  const [sH, sW] = pair(op, 'stride', o.stride ?? kernel, 1);
  const [pH, pW] = pair(op, 'padding', o.padding ?? 0, 0);
  const [dH, dW] = pair(op, 'dilation', o.dilation ?? 1, 1);
  if (pH * 2 > kH || pW * 2 > kW) throw new RangeError(`${op}: padding ${pH}×${pW} must be at most half the kernel ${kH}×${kW}`);
  const outH = outSize(H, kH, sH, pH, dH, o.ceilMode ?? false);
  const outW = outSize(W, kW, sW, pW, dW, o.ceilMode ?? false);
  if (outH < 1 || outW < 1)
    throw new RangeError(`${op}: input ${fmtShape(x.shape)} is too small for kernel ${kH}×${kW} (output ${outH}×${outW})`);
  return {
    batch: N,
    channels: C,
    inH: H,
    inW: W,
    outH,
    outW,
    kH,
    kW,
    strideH: sH,
    strideW: sW,
    padH: pH,
    padW: pW,
    dilationH: dH,
    dilationW: dW,
    countIncludePad: o.countIncludePad ?? true,
  };
}

/** Max pooling over kH×kW windows (stride defaults to the kernel). */
export function maxPool2d(x: Tensor, kernel: Pair, o: Pool2dOptions = {}): Tensor {
  o = checkOptions('maxPool2d', o, ['stride', 'padding', 'dilation', 'ceilMode']);
  const p = poolParams('maxPool2d', x, kernel, o);
  const be = x.backend;
  const shape = [p.batch, p.channels, p.outH, p.outW];
  const y = empty(be, shape, x.dtype);
  // the argmax only when a backward will read it (torch: max_pool2d computes no indices without grad)
  const idx = needsGrad(x) ? empty(be, shape, 'int32') : null;
  launch(
    be,
    'maxPool2d',
    y.size * p.kH * p.kW,
    nbytes(x.size + y.size, x.dtype) + (idx ? nbytes(y.size, 'int32') : 0),
    x.handle,
    y.handle,
    idx ? idx.handle : null,
    p,
    x.dtype,
  );
  if (idx) {
    record(
      'maxPool2d',
      [y],
      [x],
      ([g]) => {
        const dx = empty(g!.backend, x.shape, x.dtype);
        launch(g!.backend, 'maxPool2dBackward', g!.size, nbytes(g!.size + dx.size, x.dtype), g!.handle, idx.handle, dx.handle, p, x.dtype);
        return [dx];
      },
      [idx],
    );
  }
  return y;
}

/** Average pooling (countIncludePad like torch, default true). */
export function avgPool2d(x: Tensor, kernel: Pair, o: Pool2dOptions = {}): Tensor {
  o = checkOptions('avgPool2d', o, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'dilation']);
  if (o.dilation !== undefined) throw new RangeError('avgPool2d: dilation is not supported (like torch)');
  const p = poolParams('avgPool2d', x, kernel, o);
  const be = x.backend;
  const y = empty(be, [p.batch, p.channels, p.outH, p.outW], x.dtype);
  launch(be, 'avgPool2d', y.size * p.kH * p.kW, nbytes(x.size + y.size, x.dtype), x.handle, y.handle, p, x.dtype);
  if (needsGrad(x)) {
    record('avgPool2d', [y], [x], ([g]) => {
      const dx = empty(g!.backend, x.shape, x.dtype);
      launch(g!.backend, 'avgPool2dBackward', dx.size, nbytes(g!.size + dx.size, x.dtype), g!.handle, dx.handle, p, x.dtype);
      return [dx];
    });
  }
  return y;
}

/** Adaptive average pooling to outH×outW with torch's window rule. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  assertNdim('adaptiveAvgPool2d', x, [4], 'input');
  assertFloat('adaptiveAvgPool2d', x);
  const [oh, ow] = pair('adaptiveAvgPool2d', 'output size', outputSize, 1);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  assertNonEmptyPlanes('adaptiveAvgPool2d', x);
  const be = x.backend;
  const y = empty(be, [N, C, oh, ow], x.dtype);
  launch(be, 'adaptiveAvgPool2d', x.size, nbytes(x.size + y.size, x.dtype), x.handle, y.handle, N, C, H, W, oh, ow, x.dtype);
  if (needsGrad(x)) {
    record('adaptiveAvgPool2d', [y], [x], ([g]) => {
      const dx = empty(g!.backend, x.shape, x.dtype);
      launch(
        g!.backend,
        'adaptiveAvgPool2dBackward',
        dx.size,
        nbytes(g!.size + dx.size, x.dtype),
        g!.handle,
        dx.handle,
        N,
        C,
        H,
        W,
        oh,
        ow,
        x.dtype,
      );
      return [dx];
    });
  }
  return y;
}
