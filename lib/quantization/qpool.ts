// Max pooling for static int8 models: the conv → requantize → max-pool chain that
// quantization.convert() fuses where an int8 Conv2d(+ReLU) is followed by a MaxPool2d and then
// by another int8 layer (as torch's converted models pool quint8 tensors with the quantized
// max_pool2d), and max pooling of uint8 codes.
//
//   qconv2dMaxPool: c = qconv2d(x, w) (n, k, oh, ow) float32 (the int8 conv with its epilogue),
//   m = maxPool(c) (the float rule of lib/backend/js/pool.ts: padding never wins, a NaN does),
//   q = quantize(m) with the next layer's input scale / zero point (quantizeForKernel's rounding
//   and clamp; qint8 stored +128 as the kernels' u8), out = float32(scale · (q − zp)).
//
// Why this is exact: quantize is monotone (non-decreasing), so max-pooling then quantizing equals
// quantizing then max-pooling the codes (maxPool2dU8 below: torch's quantized max_pool2d on
// quint8); and the unfused model computes quantize(maxPool(c)) too, at the next layer's input. The
// next layer re-quantizes out to exactly q: out = s·d·(1 + e), |e| ≤ 2^-24, with |d| = |q − zp| ≤
// 255, and x · (1/s) in double is d·(1 + ~2^-23), within 255 · 2^-22 of d, far from a rounding tie.
// So a fused model's logits are bit for bit the unfused one's; the chain skips the full-size
// float pool (and its int32 argmax), and the native kernel pools each image while its conv output
// is in cache (native/cpu/qpool.cc, cpuQconv2dMaxPool).

import { nativeCpu } from '../backend/js/native-cpu.js';
import { qgemmOverridden } from './qgemm.js';
import { qconv2d, type QConv2dArgs } from './qconv.js';
import { quantizeForKernel, type InputQParams } from '../nn/quantized-static.js';

/** A max-pool window (torch's MaxPool2d arguments) and the output size it gives. */
export interface PoolWindow {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

/** torch's pooling output size (ceil mode: the last window starts inside the input or left padding). */
export function poolOutSize(inp: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = inp + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= inp + p) o--;
  return o;
}

type Num = Float32Array | Float64Array | Uint8Array;

/**
 * Max pooling of planes (planes, inH, inW) → (planes, outH, outW): the scan order and rule of
 * lib/backend/js/pool.ts maxPool2d (best = v when v > best, or v is NaN and best is not; padding
 * never wins; an empty window is −∞ for floats, 0 for codes), values only.
 */
export function maxPoolPlanes<T extends Num>(
  x: T,
  y: T,
  planes: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  w: PoolWindow,
): T {
  const [kH, kW] = w.kernel,
    [sH, sW] = w.stride,
    [pH, pW] = w.padding,
    [dH, dW] = w.dilation;
  const empty = x instanceof Uint8Array ? 0 : -Infinity;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * inH * inW;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * sH - pH;
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * sW - pW;
        let best = empty;
        let first = true;
        for (let r = 0; r < kH; r++) {
          const ih = h0 + r * dH;
          if (ih < 0 || ih >= inH) continue;
          for (let s = 0; s < kW; s++) {
            const iw = w0 + s * dW;
            if (iw < 0 || iw >= inW) continue;
            const v = x[base + ih * inW + iw]!;
            if (first) {
              best = v;
              first = false;
            } else if (v > best || (v !== v && best === best)) best = v;
          }
        }
        y[o] = best;
      }
    }
  }
  return y;
}

/** torch's quantized max_pool2d on codes (n, c, h, w) uint8 (quint8, or qint8 + 128): the max of each window's codes. */
export function maxPool2dU8(
  x: Uint8Array,
  shape: [number, number, number, number],
  w: PoolWindow,
): { codes: Uint8Array; shape: [number, number, number, number] } {
  const [n, c, h, wd] = shape;
  if (x.length !== n * c * h * wd)
    throw new RangeError(`maxPool2dU8: x holds ${x.length} codes, (${shape.join(', ')}) needs ${n * c * h * wd}`);
  const oh = poolOutSize(h, w.kernel[0], w.stride[0], w.padding[0], w.dilation[0], w.ceilMode);
  const ow = poolOutSize(wd, w.kernel[1], w.stride[1], w.padding[1], w.dilation[1], w.ceilMode);
  if (!(oh > 0 && ow > 0)) throw new RangeError(`maxPool2dU8: input (${shape.join(', ')}) is too small for kernel ${w.kernel.join('×')}`);
  return { codes: maxPoolPlanes(x, new Uint8Array(n * c * oh * ow), n * c, h, wd, oh, ow, w), shape: [n, c, oh, ow] };
}

/** The output size of qconv2dMaxPool: (n, k, ph, pw). */
export function qconvPoolShape(a: QConv2dArgs, oh: number, ow: number, w: PoolWindow): [number, number, number, number] {
  const ph = poolOutSize(oh, w.kernel[0], w.stride[0], w.padding[0], w.dilation[0], w.ceilMode);
  const pw = poolOutSize(ow, w.kernel[1], w.stride[1], w.padding[1], w.dilation[1], w.ceilMode);
  return [a.n, a.k, ph, pw];
}

/**
 * The fused int8 conv → max-pool → requantize (see the header): out (n, k, ph, pw) float32 grid
 * values of the codes q of the next layer's input parameters `next`; `codes` receives q (u8, qint8
 * + 128). The addon's cpuQconv2dMaxPool when loaded (and no qgemm kernel installed), else the js
 * composition; `js` forces the latter.
 */
export function qconv2dMaxPool(
  a: QConv2dArgs,
  conv: { oh: number; ow: number },
  w: PoolWindow,
  next: InputQParams,
  o: { out?: Float32Array; codes?: Uint8Array<ArrayBuffer>; js?: boolean } = {},
): { out: Float32Array; shape: [number, number, number, number] } {
  const shape = qconvPoolShape(a, conv.oh, conv.ow, w);
  const [, , ph, pw] = shape;
  if (!(ph > 0 && pw > 0))
    throw new RangeError(`qconv2dMaxPool: the conv output (${conv.oh}, ${conv.ow}) is too small for the pool kernel ${w.kernel.join('×')}`);
  const size = a.n * a.k * ph * pw;
  const out = o.out ?? new Float32Array(size);
  if (out.length !== size) throw new RangeError(`qconv2dMaxPool: out holds ${out.length} values, (${shape.join(', ')}) needs ${size}`);
  if (o.codes && o.codes.length !== size)
    throw new RangeError(`qconv2dMaxPool: codes holds ${o.codes.length} values, (${shape.join(', ')}) needs ${size}`);
  const shift = next.dtype === 'qint8' ? 128 : 0;
  const scale = Math.fround(next.scale);
  const nat = o.js || qgemmOverridden() ? undefined : nativeCpu()?.cpuQconv2dMaxPool;
  if (typeof nat === 'function') {
    try {
      nat(
        a.x,
        a.w,
        a.wScale,
        a.wZeroPoint,
        a.bias,
        out,
        o.codes ?? null,
        a.n,
        a.c,
        a.h,
        a.width,
        a.k,
        a.r,
        a.s,
        conv.oh,
        conv.ow,
        a.stride[0],
        a.stride[1],
        a.padding[0],
        a.padding[1],
        a.dilation[0],
        a.dilation[1],
        a.xScale,
        a.xZeroPoint,
        a.relu,
        w.kernel[0],
        w.kernel[1],
        w.stride[0],
        w.stride[1],
        w.padding[0],
        w.padding[1],
        w.dilation[0],
        w.dilation[1],
        ph,
        pw,
        scale,
        next.zeroPoint,
        next.quantMin,
        next.quantMax,
        shift,
      );
    } catch (e) {
      throw new RangeError(`int8 layer: ${(e as Error).message}`);
    }
    return { out, shape };
  }
  const c = qconv2d(a, { js: o.js }).out;
  const m = maxPoolPlanes(c, new Float32Array(size), a.n * a.k, conv.oh, conv.ow, ph, pw, w);
  const q = quantizeForKernel(m, { ...next, scale }, o.codes ?? new Uint8Array(size));
  for (let i = 0; i < size; i++) out[i] = scale * (q.data[i]! - q.zeroPoint);
  return { out, shape };
}
