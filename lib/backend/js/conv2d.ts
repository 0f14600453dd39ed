// conv2d, NCHW, any stride / padding / dilation / groups, via im2col + the packed GEMM.
// x is (N, C, H, W), w is (K, C/groups, R, S), y is (N, K, OH, OW).
// Per image n and group g, with Kg = K/groups, Cg = C/groups, P = Cg·R·S, L = OH·OW:
//   col (P, L)        = im2col(x[n, g])
//   y[n, g]  (Kg, L)  = w[g] (Kg, P) · col
//   dcol (P, L)       = w[g]ᵀ · dy[n, g];   dx[n, g] = col2im(dcol)   (scatter-add)
//   dw[g]  (Kg, P)   += dy[n, g] · colᵀ     (summed over the batch in float64)

import type { Conv2dParams, Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, type FloatArray } from './handle.js';
import { gemm } from './matmul.js';

let colBuf = new Float64Array(0);

function scratch(n: number): Float64Array {
  if (colBuf.length < n) colBuf = new Float64Array(n);
  return colBuf;
}

function check(p: Conv2dParams, kernel: string): void {
  const { inC, outC, groups } = p;
  if (groups < 1 || inC % groups !== 0 || outC % groups !== 0) {
    throw new RangeError(`${kernel}: channels (${inC} in, ${outC} out) must be divisible by groups ${groups}`);
  }
}

/** The output columns ow whose input column iw = iw0 + ow·stride lies in [0, inW): [lo, hi). */
function validCols(iw0: number, stride: number, inW: number, outW: number): [number, number] {
  const lo = iw0 >= 0 ? 0 : Math.min(outW, Math.ceil(-iw0 / stride));
  const hi = Math.max(lo, Math.min(outW, Math.ceil((inW - iw0) / stride)));
  return [lo, hi];
}

/** col[(c·R·S + r·S + s)·L + oh·OW + ow] = x[xOff + c·H·W + ih·W + iw], 0 outside the image. */
function im2col(x: FloatArray, xOff: number, col: Float64Array, cg: number, p: Conv2dParams): void {
  const { inH, inW, kH, kW, outH, outW, strideH, strideW, padH, padW, dilationH, dilationW } = p;
  let q = 0;
  for (let c = 0; c < cg; c++) {
    const plane = xOff + c * inH * inW;
    for (let r = 0; r < kH; r++) {
      for (let s = 0; s < kW; s++) {
        // the valid ow range depends only on s: zeros either side, a plain copy between
        const iw0 = s * dilationW - padW;
        const [lo, hi] = validCols(iw0, strideW, inW, outW);
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + r * dilationH;
          if (ih < 0 || ih >= inH) {
            col.fill(0, q, q + outW);
            q += outW;
            continue;
          }
          const row = plane + ih * inW + iw0;
          for (let ow = 0; ow < lo; ow++) col[q + ow] = 0;
          if (strideW === 1) for (let ow = lo; ow < hi; ow++) col[q + ow] = x[row + ow]!;
          else for (let ow = lo; ow < hi; ow++) col[q + ow] = x[row + ow * strideW]!;
          for (let ow = hi; ow < outW; ow++) col[q + ow] = 0;
          q += outW;
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[dxOff + c·H·W + ih·W + iw] += dcol[...] over every window touching it. */
function col2im(dcol: Float64Array, dx: Float64Array, cg: number, p: Conv2dParams): void {
  const { inH, inW, kH, kW, outH, outW, strideH, strideW, padH, padW, dilationH, dilationW } = p;
  let q = 0;
  for (let c = 0; c < cg; c++) {
    const plane = c * inH * inW;
    for (let r = 0; r < kH; r++) {
      for (let s = 0; s < kW; s++) {
        const iw0 = s * dilationW - padW;
        const [lo, hi] = validCols(iw0, strideW, inW, outW);
        for (let oh = 0; oh < outH; oh++, q += outW) {
          const ih = oh * strideH - padH + r * dilationH;
          if (ih < 0 || ih >= inH) continue;
          const row = plane + ih * inW + iw0;
          if (strideW === 1) for (let ow = lo; ow < hi; ow++) dx[row + ow]! += dcol[q + ow]!;
          else for (let ow = lo; ow < hi; ow++) dx[row + ow * strideW]! += dcol[q + ow]!;
        }
      }
    }
  }
}

export function conv2d(x: Handle, w: Handle, y: Handle, p: Conv2dParams, dtype: DType): void {
  floatDType(dtype, 'conv2d');
  check(p, 'conv2d');
  const X = farr(x, dtype, 'conv2d');
  const Wt = farr(w, dtype, 'conv2d');
  const Y = farr(y, dtype, 'conv2d');
  const { batch, inC, inH, inW, outC, kH, kW, outH, outW, groups } = p;
  const cg = inC / groups,
    kg = outC / groups;
  const P = cg * kH * kW,
    L = outH * outW;
  if (L === 0) return;
  const col = scratch(P * L);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < groups; g++) {
      im2col(X, (n * inC + g * cg) * inH * inW, col, cg, p);
      gemm(Wt, g * kg * P, col, 0, Y, (n * outC + g * kg) * L, kg, L, P, false, false, false);
    }
  }
}

export function conv2dGradInput(dy: Handle, w: Handle, dx: Handle, p: Conv2dParams, dtype: DType): void {
  floatDType(dtype, 'conv2dGradInput');
  check(p, 'conv2dGradInput');
  const DY = farr(dy, dtype, 'conv2dGradInput');
  const Wt = farr(w, dtype, 'conv2dGradInput');
  const DX = farr(dx, dtype, 'conv2dGradInput');
  const { batch, inC, inH, inW, outC, kH, kW, outH, outW, groups } = p;
  const cg = inC / groups,
    kg = outC / groups;
  const P = cg * kH * kW,
    L = outH * outW;
  const plane = cg * inH * inW;
  const dcol = scratch(P * L);
  const acc = new Float64Array(plane);
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < groups; g++) {
      acc.fill(0);
      if (L > 0) {
        gemm(Wt, g * kg * P, DY, (n * outC + g * kg) * L, dcol, 0, P, L, kg, true, false, false);
        col2im(dcol, acc, cg, p);
      }
      DX.set(acc, (n * inC + g * cg) * inH * inW);
    }
  }
}

export function conv2dGradWeight(x: Handle, dy: Handle, dw: Handle, p: Conv2dParams, dtype: DType): void {
  floatDType(dtype, 'conv2dGradWeight');
  check(p, 'conv2dGradWeight');
  const X = farr(x, dtype, 'conv2dGradWeight');
  const DY = farr(dy, dtype, 'conv2dGradWeight');
  const DW = farr(dw, dtype, 'conv2dGradWeight');
  const { batch, inC, inH, inW, outC, kH, kW, outH, outW, groups } = p;
  const cg = inC / groups,
    kg = outC / groups;
  const P = cg * kH * kW,
    L = outH * outW;
  const acc = new Float64Array(outC * P);
  if (L > 0) {
    const col = scratch(P * L);
    for (let n = 0; n < batch; n++) {
      for (let g = 0; g < groups; g++) {
        im2col(X, (n * inC + g * cg) * inH * inW, col, cg, p);
        gemm(DY, (n * outC + g * kg) * L, col, 0, acc, g * kg * P, kg, P, L, false, true, true);
      }
    }
  }
  DW.set(acc);
}
