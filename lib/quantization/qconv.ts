// qconv2d: the int8 2-D convolution of nn.quantized.Conv2d, as im2col + qgemm (so it runs on the
// native int8 GEMM when the addon has one), and qconv2dDirect, the plain seven-loop js reference
// it is parity-tested against (exact int32 accumulators).
//
//   x (N, C, H, W) quint8 with one scale / zero point; w (K, C, R, S) qint8 with a scale and zero
//   point per output channel; acc[n, k, oh, ow] = Σ_{c, r, s} (x[n, c, ih, iw] − zx) · (w[k, c, r, s] − zw[k])
//   with ih = oh·stride − pad + r·dilation (padding reads zx: a real 0), then
//   out = sx · sw[k] · acc + bias[k], ReLU'd when relu (float32, NCHW).
//
// Native: the addon's cpuQconv2dU8S8S32 (native/cpu/qgemm.cc: im2col straight into the int8 GEMM's
// packed buffer, on the thread pool, NCHW output) when the loaded addon has it, no kernel was
// installed with setQgemmKernel and no accumulators are asked for; it gives the same out bit for bit
// (test/quantization/native-qgemm.test.ts).
//
// im2col: the patch of output pixel (n, oh, ow) is row n·OH·OW + oh·OW + ow of a (N·OH·OW, C·R·S)
// uint8 matrix, in the weight's (c, r, s) order, so the weight (K, C·R·S) is qgemm's b as is.

import { nativeCpu } from '../backend/js/native-cpu.js';
import { qgemm, qgemmJs, qgemmOverridden, type QgemmArgs } from './qgemm.js';

export interface QConv2dArgs {
  x: Uint8Array;
  xScale: number;
  xZeroPoint: number;
  w: Int8Array;
  wScale: Float32Array;
  wZeroPoint: Int32Array;
  bias: Float32Array | null;
  n: number;
  c: number;
  h: number;
  width: number;
  k: number;
  r: number;
  s: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  relu: boolean;
}

export function convOutSize(a: Pick<QConv2dArgs, 'h' | 'width' | 'r' | 's' | 'stride' | 'padding' | 'dilation'>): [number, number] {
  const oh = Math.floor((a.h + 2 * a.padding[0] - a.dilation[0] * (a.r - 1) - 1) / a.stride[0]) + 1;
  const ow = Math.floor((a.width + 2 * a.padding[1] - a.dilation[1] * (a.s - 1) - 1) / a.stride[1]) + 1;
  return [oh, ow];
}

function check(a: QConv2dArgs): [number, number] {
  const [oh, ow] = convOutSize(a);
  if (!(oh > 0 && ow > 0))
    throw new RangeError(
      `qconv2d: input (${a.n}, ${a.c}, ${a.h}, ${a.width}) is smaller than the kernel (${a.r}, ${a.s}) with padding [${a.padding.join(', ')}] and dilation [${a.dilation.join(', ')}]`,
    );
  if (a.x.length !== a.n * a.c * a.h * a.width)
    throw new RangeError(`qconv2d: x holds ${a.x.length} values, the shape needs ${a.n * a.c * a.h * a.width}`);
  if (a.w.length !== a.k * a.c * a.r * a.s)
    throw new RangeError(`qconv2d: w holds ${a.w.length} values, (${a.k}, ${a.c}, ${a.r}, ${a.s}) needs ${a.k * a.c * a.r * a.s}`);
  return [oh, ow];
}

/** The (N·OH·OW, C·R·S) patch matrix of x; out-of-image taps read `pad` (the zero point). */
export function im2colU8(a: QConv2dArgs, oh: number, ow: number): Uint8Array {
  const { x, n: N, c: C, h: H, width: W, r: R, s: S } = a;
  const [sh, sw] = a.stride,
    [ph, pw] = a.padding,
    [dh, dw] = a.dilation;
  const K = C * R * S;
  const cols = new Uint8Array(N * oh * ow * K);
  const pad = a.xZeroPoint;
  for (let n = 0; n < N; n++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        let o = ((n * oh + y) * ow + xo) * K;
        for (let c = 0; c < C; c++) {
          const base = (n * C + c) * H;
          for (let r = 0; r < R; r++) {
            const ih = y * sh - ph + r * dh;
            if (ih < 0 || ih >= H) {
              cols.fill(pad, o, o + S);
              o += S;
              continue;
            }
            const row = (base + ih) * W;
            for (let s = 0; s < S; s++) {
              const iw = xo * sw - pw + s * dw;
              cols[o++] = iw < 0 || iw >= W ? pad : x[row + iw]!;
            }
          }
        }
      }
    }
  }
  return cols;
}

/** (N·OH·OW, K) row-major → (N, K, OH, OW). */
function toNchw(y: Float32Array | Int32Array, N: number, K: number, P: number, out: Float32Array | Int32Array): void {
  for (let n = 0; n < N; n++)
    for (let p = 0; p < P; p++) {
      const src = (n * P + p) * K;
      for (let k = 0; k < K; k++) out[(n * K + k) * P + p] = y[src + k]!;
    }
}

/**
 * int8 conv: the addon's fused cpuQconv2dU8S8S32, else im2col + qgemm (the native int8 GEMM when
 * present); `js` forces im2col + qgemmJs, `acc` returns the accumulators (im2col + qgemm).
 * Returns out (N, K, OH, OW) float32 and, when wanted, the int32 accumulators in the same layout.
 */
export function qconv2d(
  a: QConv2dArgs,
  o: { acc?: boolean; js?: boolean; out?: Float32Array } = {},
): { out: Float32Array; acc: Int32Array | null; shape: [number, number, number, number] } {
  const [oh, ow] = check(a);
  if (o.out && o.out.length !== a.n * a.k * oh * ow)
    throw new RangeError(`qconv2d: out holds ${o.out.length} values, (${a.n}, ${a.k}, ${oh}, ${ow}) needs ${a.n * a.k * oh * ow}`);
  const nat = o.js || o.acc || qgemmOverridden() ? undefined : nativeCpu()?.cpuQconv2dU8S8S32;
  if (typeof nat === 'function') {
    const out = o.out ?? new Float32Array(a.n * a.k * oh * ow);
    nat(
      a.x,
      a.w,
      a.wScale,
      a.wZeroPoint,
      a.bias,
      out,
      a.n,
      a.c,
      a.h,
      a.width,
      a.k,
      a.r,
      a.s,
      oh,
      ow,
      a.stride[0],
      a.stride[1],
      a.padding[0],
      a.padding[1],
      a.dilation[0],
      a.dilation[1],
      a.xScale,
      a.xZeroPoint,
      a.relu,
    );
    return { out, acc: null, shape: [a.n, a.k, oh, ow] };
  }
  const P = oh * ow;
  const cols = im2colU8(a, oh, ow);
  const m = a.n * P,
    kk = a.c * a.r * a.s;
  const g: QgemmArgs = {
    m,
    n: a.k,
    k: kk,
    a: cols,
    aScale: a.xScale,
    aZeroPoint: a.xZeroPoint,
    b: a.w,
    bScale: a.wScale,
    bZeroPoint: a.wZeroPoint,
    bias: a.bias,
    relu: a.relu,
    out: new Float32Array(m * a.k),
  };
  if (o.acc) g.acc = new Int32Array(m * a.k);
  if (o.js) qgemmJs(g);
  else qgemm(g);
  const out = o.out ?? new Float32Array(m * a.k);
  toNchw(g.out, a.n, a.k, P, out);
  let acc: Int32Array | null = null;
  if (g.acc) {
    acc = new Int32Array(m * a.k);
    toNchw(g.acc, a.n, a.k, P, acc);
  }
  return { out, acc, shape: [a.n, a.k, oh, ow] };
}

/** The direct js reference: seven loops, exact int32 accumulators, the same epilogue as qgemmJs. */
export function qconv2dDirect(a: QConv2dArgs): { out: Float32Array; acc: Int32Array; shape: [number, number, number, number] } {
  const [oh, ow] = check(a);
  const { x, w, n: N, c: C, h: H, width: W, k: K, r: R, s: S } = a;
  const [sh, sw] = a.stride,
    [ph, pw] = a.padding,
    [dh, dw] = a.dilation;
  const zx = a.xZeroPoint;
  const acc = new Int32Array(N * K * oh * ow);
  const out = new Float32Array(N * K * oh * ow);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const zw = a.wZeroPoint[k]!;
      const scale = Math.fround(a.xScale * a.wScale[k]!);
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let sum = 0;
          for (let c = 0; c < C; c++)
            for (let r = 0; r < R; r++)
              for (let s = 0; s < S; s++) {
                const ih = y * sh - ph + r * dh,
                  iw = xo * sw - pw + s * dw;
                const xv = ih < 0 || ih >= H || iw < 0 || iw >= W ? zx : x[((n * C + c) * H + ih) * W + iw]!;
                sum += (xv - zx) * (w[((k * C + c) * R + r) * S + s]! - zw);
              }
          const i = ((n * K + k) * oh + y) * ow + xo;
          acc[i] = sum | 0;
          let v = scale * acc[i]! + (a.bias ? a.bias[k]! : 0);
          if (a.relu && v < 0) v = 0;
          out[i] = v;
        }
    }
  return { out, acc, shape: [N, K, oh, ow] };
}
