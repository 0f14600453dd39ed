// 2-D pooling, NCHW: max (with argmax for the backward), average (torch's count_include_pad rule)
// and adaptive average (torch's window bounds). Every (batch, channel) plane is independent.
// x is (N, C, H, W), y is (N, C, OH, OW).

import type { Handle, Pool2dParams } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, iarr } from './handle.js';

/**
 * Max over the dilated window; padding never wins (cells outside the image are skipped).
 * A NaN counts as the maximum, like torch. argmax is the flat index ih·W + iw in the plane.
 */
export function maxPool2d(x: Handle, y: Handle, argmax: Handle | null, p: Pool2dParams, dtype: DType): void {
  floatDType(dtype, 'maxPool2d');
  const X = farr(x, dtype, 'maxPool2d');
  const Y = farr(y, dtype, 'maxPool2d');
  const A = argmax ? iarr(argmax, 'maxPool2d') : null; // null: values only (inference)
  const { batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW } = p;
  const inPlane = inH * inW;
  let o = 0;
  if (windowsInside(p)) {
    // every window lies inside the image (no padding): no bounds checks; same scan order and rule
    for (let pl = 0; pl < batch * channels; pl++) {
      const base = pl * inPlane;
      for (let oh = 0; oh < outH; oh++) {
        const h0 = oh * strideH;
        for (let ow = 0; ow < outW; ow++, o++) {
          const w0 = ow * strideW;
          let bi = h0 * inW + w0;
          let best = X[base + bi]!;
          for (let r = 0; r < kH; r++) {
            const row = (h0 + r * dilationH) * inW + w0;
            for (let s = r === 0 ? 1 : 0; s < kW; s++) {
              const q = row + s * dilationW;
              const v = X[base + q]!;
              if (v > best || (v !== v && best === best)) {
                best = v;
                bi = q;
              }
            }
          }
          Y[o] = best;
          if (A) A[o] = bi;
        }
      }
    }
    return;
  }
  for (let pl = 0; pl < batch * channels; pl++) {
    const base = pl * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        let best = -Infinity;
        let bi = -1;
        for (let r = 0; r < kH; r++) {
          const ih = h0 + r * dilationH;
          if (ih < 0 || ih >= inH) continue;
          for (let s = 0; s < kW; s++) {
            const iw = w0 + s * dilationW;
            if (iw < 0 || iw >= inW) continue;
            const v = X[base + ih * inW + iw]!;
            if (bi < 0 || v > best || (v !== v && best === best)) {
              best = v;
              bi = ih * inW + iw;
            }
          }
        }
        Y[o] = best;
        if (A) A[o] = bi;
      }
    }
  }
}

/** No padding and the last window ends inside the image, on both axes. */
function windowsInside(p: Pool2dParams): boolean {
  return (
    p.padH === 0 &&
    p.padW === 0 &&
    p.kH > 0 &&
    p.kW > 0 &&
    p.outH > 0 &&
    p.outW > 0 &&
    (p.outH - 1) * p.strideH + (p.kH - 1) * p.dilationH < p.inH &&
    (p.outW - 1) * p.strideW + (p.kW - 1) * p.dilationW < p.inW
  );
}

/** dx = 0, then dx[plane, argmax] += dy (overlapping windows accumulate). */
export function maxPool2dBackward(dy: Handle, argmax: Handle, dx: Handle, p: Pool2dParams, dtype: DType): void {
  floatDType(dtype, 'maxPool2dBackward');
  const DY = farr(dy, dtype, 'maxPool2dBackward');
  const A = iarr(argmax, 'maxPool2dBackward');
  const DX = farr(dx, dtype, 'maxPool2dBackward');
  const { batch, channels, inH, inW, outH, outW } = p;
  const inPlane = inH * inW,
    outPlane = outH * outW;
  if (p.strideH >= (p.kH - 1) * p.dilationH + 1 && p.strideW >= (p.kW - 1) * p.dilationW + 1) {
    // windows do not overlap, so each dx cell receives at most one dy: write it directly
    // (0 + dy is exact, so this equals the float64 accumulation below)
    for (let pl = 0; pl < batch * channels; pl++) {
      const ob = pl * outPlane,
        ib = pl * inPlane;
      DX.fill(0, ib, ib + inPlane);
      for (let j = 0; j < outPlane; j++) {
        const a = A[ob + j]!;
        if (a >= 0 && a < inPlane)
          DX[ib + a] = DY[ob + j]! + 0; // + 0: -0 becomes +0, as 0 + dy does
        else if (a !== -1) throw new RangeError(`maxPool2dBackward: argmax ${a} out of range [0, ${inPlane})`);
      }
    }
    return;
  }
  const acc = new Float64Array(inPlane);
  for (let pl = 0; pl < batch * channels; pl++) {
    acc.fill(0);
    const ob = pl * outPlane;
    for (let j = 0; j < outPlane; j++) {
      const a = A[ob + j]!;
      if (a >= 0 && a < inPlane) acc[a]! += DY[ob + j]!;
      else if (a !== -1) throw new RangeError(`maxPool2dBackward: argmax ${a} out of range [0, ${inPlane})`);
    }
    DX.set(acc, pl * inPlane);
  }
}

/**
 * Window bounds of an average pool along one axis, torch's rule generalised to dilation:
 * the window cells are start + t·dilation; `padded` counts those inside [-pad, in + pad),
 * `valid` those inside [0, in).
 */
function avgDivisor(p: Pool2dParams, h0: number, w0: number): { padded: number; valid: number } {
  let ph = 0,
    vh = 0,
    pw = 0,
    vw = 0;
  for (let r = 0; r < p.kH; r++) {
    const ih = h0 + r * p.dilationH;
    if (ih >= -p.padH && ih < p.inH + p.padH) ph++;
    if (ih >= 0 && ih < p.inH) vh++;
  }
  for (let s = 0; s < p.kW; s++) {
    const iw = w0 + s * p.dilationW;
    if (iw >= -p.padW && iw < p.inW + p.padW) pw++;
    if (iw >= 0 && iw < p.inW) vw++;
  }
  return { padded: ph * pw, valid: vh * vw };
}

export function avgPool2d(x: Handle, y: Handle, p: Pool2dParams, dtype: DType): void {
  floatDType(dtype, 'avgPool2d');
  const X = farr(x, dtype, 'avgPool2d');
  const Y = farr(y, dtype, 'avgPool2d');
  const { batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, countIncludePad } = p;
  const inPlane = inH * inW;
  let o = 0;
  for (let pl = 0; pl < batch * channels; pl++) {
    const base = pl * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        let sum = 0;
        for (let r = 0; r < kH; r++) {
          const ih = h0 + r * dilationH;
          if (ih < 0 || ih >= inH) continue;
          for (let s = 0; s < kW; s++) {
            const iw = w0 + s * dilationW;
            if (iw >= 0 && iw < inW) sum += X[base + ih * inW + iw]!;
          }
        }
        const d = avgDivisor(p, h0, w0);
        Y[o] = sum / (countIncludePad ? d.padded : d.valid);
      }
    }
  }
}

export function avgPool2dBackward(dy: Handle, dx: Handle, p: Pool2dParams, dtype: DType): void {
  floatDType(dtype, 'avgPool2dBackward');
  const DY = farr(dy, dtype, 'avgPool2dBackward');
  const DX = farr(dx, dtype, 'avgPool2dBackward');
  const { batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, countIncludePad } = p;
  const inPlane = inH * inW;
  const acc = new Float64Array(inPlane);
  let o = 0;
  for (let pl = 0; pl < batch * channels; pl++) {
    acc.fill(0);
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        const d = avgDivisor(p, h0, w0);
        const g = DY[o]! / (countIncludePad ? d.padded : d.valid);
        for (let r = 0; r < kH; r++) {
          const ih = h0 + r * dilationH;
          if (ih < 0 || ih >= inH) continue;
          for (let s = 0; s < kW; s++) {
            const iw = w0 + s * dilationW;
            if (iw >= 0 && iw < inW) acc[ih * inW + iw]! += g;
          }
        }
      }
    }
    DX.set(acc, pl * inPlane);
  }
}

function adaptiveStart(i: number, inSize: number, outSize: number): number {
  return Math.floor((i * inSize) / outSize);
}
function adaptiveEnd(i: number, inSize: number, outSize: number): number {
  return Math.ceil(((i + 1) * inSize) / outSize);
}

export function adaptiveAvgPool2d(
  x: Handle,
  y: Handle,
  batch: number,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  dtype: DType,
): void {
  floatDType(dtype, 'adaptiveAvgPool2d');
  const X = farr(x, dtype, 'adaptiveAvgPool2d');
  const Y = farr(y, dtype, 'adaptiveAvgPool2d');
  let o = 0;
  for (let pl = 0; pl < batch * channels; pl++) {
    const base = pl * inH * inW;
    for (let oh = 0; oh < outH; oh++) {
      const hs = adaptiveStart(oh, inH, outH),
        he = adaptiveEnd(oh, inH, outH);
      for (let ow = 0; ow < outW; ow++, o++) {
        const ws = adaptiveStart(ow, inW, outW),
          we = adaptiveEnd(ow, inW, outW);
        let sum = 0;
        for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) sum += X[base + ih * inW + iw]!;
        Y[o] = sum / ((he - hs) * (we - ws));
      }
    }
  }
}

export function adaptiveAvgPool2dBackward(
  dy: Handle,
  dx: Handle,
  batch: number,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  dtype: DType,
): void {
  floatDType(dtype, 'adaptiveAvgPool2dBackward');
  const DY = farr(dy, dtype, 'adaptiveAvgPool2dBackward');
  const DX = farr(dx, dtype, 'adaptiveAvgPool2dBackward');
  const acc = new Float64Array(inH * inW);
  let o = 0;
  for (let pl = 0; pl < batch * channels; pl++) {
    acc.fill(0);
    for (let oh = 0; oh < outH; oh++) {
      const hs = adaptiveStart(oh, inH, outH),
        he = adaptiveEnd(oh, inH, outH);
      for (let ow = 0; ow < outW; ow++, o++) {
        const ws = adaptiveStart(ow, inW, outW),
          we = adaptiveEnd(ow, inW, outW);
        const g = DY[o]! / ((he - hs) * (we - ws));
        for (let ih = hs; ih < he; ih++) for (let iw = ws; iw < we; iw++) acc[ih * inW + iw]! += g;
      }
    }
    DX.set(acc, pl * inH * inW);
  }
}
