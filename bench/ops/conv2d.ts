// conv2d, NCHW: forward (the public conv2d op), grad-input and grad-weight (the backend kernels
// with preallocated outputs, as the op layer's backward calls them).
// x is (N, C, H, W), w is (K, C, R, S), y / dy is (N, K, P, Q).
// FLOPs 2·N·K·P·Q·C·R·S for each pass; fewest bytes: read the two operands, write the result.
// Validation: 128 sampled outputs of each pass recomputed in float64 from host copies.

import { conv2d } from '../../lib/ops/conv.js';
import type { Conv2dParams } from '../../lib/backend/kernels.js';
import { bytesPerElement, type DType } from '../../lib/dtype.js';
import { empty } from '../../lib/ops/util.js';
import { getBackend } from '../../lib/backend/registry.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchCase, BenchContext, Prepared, Validation } from '../lib/types.js';
import { compare, countedBy, disposeAll, randTensor, rotationCopies, tolerance } from '../lib/util.js';

export interface ConvShape {
  n: number;
  c: number;
  h: number;
  k: number;
  r: number;
  stride: number;
  pad: number;
  label: string;
}
export type ConvPass = 'fwd' | 'grad-input' | 'grad-weight';

export function convShapes(ctx: BenchContext): ConvShape[] {
  if (ctx.backend === 'js') {
    const n = ctx.quick ? 2 : 32;
    return [
      { n, c: 1, h: 28, k: 16, r: 5, stride: 1, pad: 2, label: 'small CNN conv1' },
      { n, c: 16, h: 14, k: 32, r: 5, stride: 1, pad: 2, label: 'small CNN conv2' },
    ];
  }
  const n = ctx.quick ? 4 : 32;
  const all: ConvShape[] = [
    { n, c: 64, h: 56, k: 64, r: 3, stride: 1, pad: 1, label: 'ResNet-50 conv2_x 3x3' },
    { n, c: 64, h: 56, k: 256, r: 1, stride: 1, pad: 0, label: 'ResNet-50 conv2_x 1x1' },
    { n, c: 128, h: 28, k: 128, r: 3, stride: 1, pad: 1, label: 'ResNet-50 conv3_x 3x3' },
    { n, c: 256, h: 14, k: 256, r: 3, stride: 1, pad: 1, label: 'ResNet-50 conv4_x 3x3' },
    { n, c: 512, h: 7, k: 512, r: 3, stride: 1, pad: 1, label: 'ResNet-50 conv5_x 3x3' },
    { n, c: 3, h: 224, k: 64, r: 7, stride: 2, pad: 3, label: 'ResNet-50 stem 7x7/2' },
  ];
  return ctx.quick ? all.slice(0, 2) : all;
}

export function convParams(s: ConvShape): Conv2dParams {
  const p = Math.floor((s.h + 2 * s.pad - s.r) / s.stride) + 1;
  return {
    batch: s.n,
    inC: s.c,
    inH: s.h,
    inW: s.h,
    outC: s.k,
    kH: s.r,
    kW: s.r,
    outH: p,
    outW: p,
    strideH: s.stride,
    strideW: s.stride,
    padH: s.pad,
    padW: s.pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  };
}

export const convId = (s: ConvShape, pass: ConvPass): string =>
  `conv2d ${pass} n${s.n} ${s.h}x${s.h} ${s.c}->${s.k} k${s.r} s${s.stride} p${s.pad}`;

const KERNEL: Record<ConvPass, string> = { fwd: 'conv2d', 'grad-input': 'conv2dGradInput', 'grad-weight': 'conv2dGradWeight' };

/** Sampled float64 reference of one pass; returns [ours, ref] at the sampled positions. */
function sampleCheck(
  pass: ConvPass,
  p: Conv2dParams,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
  out: ArrayLike<number>,
  samples: number,
): [Float64Array, Float64Array, number] {
  const { batch: N, inC: C, inH: H, inW: W, outC: K, kH: R, kW: S, outH: P, outW: Q, strideH: st, padH: pd } = p;
  const total = out.length;
  const n = Math.min(samples, total);
  const ours = new Float64Array(n),
    ref = new Float64Array(n);
  let red = 0;
  for (let t = 0; t < n; t++) {
    const idx = n === total ? t : Math.floor((((t * 2654435761) % 4294967296) / 4294967296) * total);
    let acc = 0;
    if (pass === 'fwd') {
      // y[b,k,i,j] = Σ_c,r,s x[b,c,i·st−pd+r, j·st−pd+s]·w[k,c,r,s]
      const j = idx % Q,
        i = Math.floor(idx / Q) % P,
        k = Math.floor(idx / (P * Q)) % K,
        b = Math.floor(idx / (P * Q * K));
      for (let c = 0; c < C; c++)
        for (let r = 0; r < R; r++)
          for (let s = 0; s < S; s++) {
            const hh = i * st - pd + r,
              ww = j * st - pd + s;
            if (hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
            acc += x[((b * C + c) * H + hh) * W + ww]! * w[((k * C + c) * R + r) * S + s]!;
          }
      red = C * R * S;
    } else if (pass === 'grad-input') {
      // dx[b,c,h,w] = Σ_k,r,s dy[b,k,i,j]·w[k,c,r,s] over i·st−pd+r = h, j·st−pd+s = w
      const ww = idx % W,
        hh = Math.floor(idx / W) % H,
        c = Math.floor(idx / (H * W)) % C,
        b = Math.floor(idx / (H * W * C));
      for (let k = 0; k < K; k++)
        for (let r = 0; r < R; r++)
          for (let s = 0; s < S; s++) {
            const ih = hh + pd - r,
              jw = ww + pd - s;
            if (ih % st || jw % st) continue;
            const i = ih / st,
              j = jw / st;
            if (i < 0 || i >= P || j < 0 || j >= Q) continue;
            acc += dy[((b * K + k) * P + i) * Q + j]! * w[((k * C + c) * R + r) * S + s]!;
          }
      red = K * R * S;
    } else {
      // dw[k,c,r,s] = Σ_b,i,j dy[b,k,i,j]·x[b,c,i·st−pd+r, j·st−pd+s]
      const s = idx % S,
        r = Math.floor(idx / S) % R,
        c = Math.floor(idx / (S * R)) % C,
        k = Math.floor(idx / (S * R * C));
      for (let b = 0; b < N; b++)
        for (let i = 0; i < P; i++)
          for (let j = 0; j < Q; j++) {
            const hh = i * st - pd + r,
              ww = j * st - pd + s;
            if (hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
            acc += dy[((b * K + k) * P + i) * Q + j]! * x[((b * C + c) * H + hh) * W + ww]!;
          }
      red = N * P * Q;
    }
    ours[t] = out[idx]!;
    ref[t] = acc;
  }
  return [ours, ref, red];
}

export function convCase(s: ConvShape, pass: ConvPass, dtype: DType): BenchCase {
  const p = convParams(s);
  const e = bytesPerElement(dtype);
  const xs = s.n * s.c * s.h * s.h,
    ws = s.k * s.c * s.r * s.r,
    ys = s.n * s.k * p.outH * p.outW;
  const [inA, inB, outN] = pass === 'fwd' ? [xs, ws, ys] : pass === 'grad-input' ? [ys, ws, xs] : [xs, ys, ws];
  const inputBytes = (inA + inB) * e;
  return {
    op: 'conv2d',
    id: convId(s, pass),
    shape: `${pass} ${s.label}: n${s.n} ${s.h}²·${s.c}→${s.k} ${s.r}×${s.r}/${s.stride} p${s.pad}`,
    dtype,
    flops: 2 * ys * s.c * s.r * s.r,
    bytes: inputBytes + outN * e,
    inputBytes,
    memoryBytes: 4 * (xs + ws + ys) * e,
    kernels: [KERNEL[pass]],
    prepare(ctx: BenchContext): Prepared {
      const be = getBackend(ctx.device);
      const copies = rotationCopies(ctx, inputBytes);
      const xsT: Tensor[] = [],
        wsT: Tensor[] = [],
        dysT: Tensor[] = [];
      for (let c = 0; c < copies; c++) {
        if (pass !== 'grad-input') xsT.push(randTensor(ctx, [s.n, s.c, s.h, s.h], dtype, 21 + 3 * c));
        if (pass !== 'grad-weight') wsT.push(randTensor(ctx, [s.k, s.c, s.r, s.r], dtype, 22 + 3 * c, -0.2, 0.2));
        if (pass !== 'fwd') dysT.push(randTensor(ctx, [s.n, s.k, p.outH, p.outW], dtype, 23 + 3 * c));
      }
      const out = pass === 'fwd' ? null : empty(be, pass === 'grad-input' ? [s.n, s.c, s.h, s.h] : [s.k, s.c, s.r, s.r], dtype);
      const once = (i: number): Tensor | null => {
        const c = i % copies;
        if (pass === 'fwd') return conv2d(xsT[c]!, wsT[c]!, null, { stride: s.stride, padding: s.pad });
        if (pass === 'grad-input') be.kernels.conv2dGradInput(dysT[c]!.handle, wsT[c]!.handle, out!.handle, p, dtype);
        else be.kernels.conv2dGradWeight(xsT[c]!.handle, dysT[c]!.handle, out!.handle, p, dtype);
        return null;
      };
      return {
        run(i) {
          once(i)?.dispose();
        },
        validate(): Validation {
          const y = once(0);
          const res = (y ?? out!).dataSync();
          y?.dispose();
          const x = xsT[0]?.dataSync() ?? [],
            w = wsT[0]?.dataSync() ?? [],
            dy = dysT[0]?.dataSync() ?? [];
          const [ours, ref, red] = sampleCheck(pass, p, x, w, dy, res, 128);
          return compare(ours, ref, tolerance(dtype, red), 'float64 sums at 128 sampled outputs');
        },
        counted() {
          // one fwd + bwd through the op layer, counting the kernel of this pass
          const x = xsT[0] ?? randTensor(ctx, [s.n, s.c, s.h, s.h], dtype, 99);
          const w = wsT[0] ?? randTensor(ctx, [s.k, s.c, s.r, s.r], dtype, 98);
          const dy = dysT[0] ?? null;
          const xg = x.detach().requiresGrad_(),
            wg = w.detach().requiresGrad_();
          const r = countedBy([KERNEL[pass]], () => {
            const y = conv2d(xg, wg, null, { stride: s.stride, padding: s.pad });
            if (pass !== 'fwd') y.backward(dy ?? undefined);
            y.dispose();
          });
          disposeAll([xg.grad, wg.grad, xg, wg, x === xsT[0] ? null : x, w === wsT[0] ? null : w]);
          return r;
        },
        dispose() {
          disposeAll([...xsT, ...wsT, ...dysT, out]);
        },
      };
    },
  };
}

export function convCases(ctx: BenchContext): BenchCase[] {
  const out: BenchCase[] = [];
  for (const s of convShapes(ctx)) for (const pass of ['fwd', 'grad-input', 'grad-weight'] as const) out.push(convCase(s, pass, 'float32'));
  return out;
}
