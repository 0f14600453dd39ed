// `npm run bench -- --op int8`: the int8 kernels of the quantized layers as bench cases, on the cpu
// (js backend: the addon's cpuQgemmU8S8S32 / cpuQconv2dU8S8S32 when loaded, else the js references),
// at the MNIST models' shapes, each beside the fp32 kernel of the same shape so the report shows both
// medians in the same run; and the MNIST CNN forward, static int8 beside fp32 (model-cases.ts; the
// MLP and more variants are in bench/quant/int8-static.ts).
// FLOPs count 2 per multiply-add, int8 or not. Validation: the int8 accumulators against the js
// reference exactly (qgemmJs / qconv2dDirect), the fp32 outputs against a float64 product of samples.

import { fromHost } from '../../lib/ops/creation.js';
import { matmul } from '../../lib/ops/matmul.js';
import { conv2d } from '../../lib/ops/conv.js';
import { transpose } from '../../lib/ops/index.js';
import { qgemm, qgemmJs, qgemmKernelName, type QgemmArgs } from '../../lib/quantization/qgemm.js';
import { qconv2d, qconv2dDirect, type QConv2dArgs } from '../../lib/quantization/qconv.js';
import { quantizeActivations, quantizeWeightPerChannel } from '../../lib/quantization/qtensor.js';
import { dynamicLinearHost } from '../../lib/nn/quantized-rnn.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchCase, BenchContext, Prepared, Validation } from '../lib/types.js';
import { int8ModelCases } from './model-cases.js';
import { disposeAll, randomArray } from '../lib/util.js';

function bytesU8(n: number, seed: number, hi: number): Uint8Array {
  const r = randomArray(n, seed, 0, hi);
  return Uint8Array.from(r, (v) => Math.floor(v));
}
function bytesS8(n: number, seed: number): Int8Array {
  const r = randomArray(n, seed, -127, 127);
  return Int8Array.from(r, (v) => Math.round(v));
}
const exact = (a: ArrayLike<number>, b: ArrayLike<number>, against: string): Validation => {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad++;
  return { ok: bad === 0, worst: bad, against, note: `${bad} of ${a.length} int32 accumulators differ; kernel ${qgemmKernelName()}` };
};

function gemmCases(m: number, n: number, k: number): BenchCase[] {
  const flops = 2 * m * n * k;
  const int8: BenchCase = {
    op: 'int8',
    id: `int8 qgemm ${m}x${n}x${k}`,
    shape: `${m}×${k} u8 · (${n}×${k} s8)ᵀ`,
    dtype: 'int8',
    flops,
    bytes: m * k + n * k + 4 * m * n,
    inputBytes: m * k + n * k,
    kernels: [],
    prepare(): Prepared {
      const args: QgemmArgs = {
        m,
        n,
        k,
        a: bytesU8(m * k, 3, 256),
        aScale: 0.02,
        aZeroPoint: 17,
        b: bytesS8(n * k, 5),
        bScale: new Float32Array(n).fill(0.003),
        bZeroPoint: new Int32Array(n),
        bias: new Float32Array(n).fill(0.1),
        relu: true,
        out: new Float32Array(m * n),
      };
      return {
        run: () => qgemm(args),
        validate() {
          const a1 = { ...args, out: new Float32Array(m * n), acc: new Int32Array(m * n) };
          const a2 = { ...args, out: new Float32Array(m * n), acc: new Int32Array(m * n) };
          qgemm(a1);
          qgemmJs(a2);
          return exact(a1.acc, a2.acc, 'qgemmJs (exact int32)');
        },
        counted: () => null,
        dispose() {},
      };
    },
  };
  const fp32: BenchCase = {
    op: 'int8',
    id: `int8 fp32-baseline matmul ${m}x${n}x${k}`,
    shape: `${m}×${k} · (${n}×${k})ᵀ f32`,
    dtype: 'float32',
    flops,
    bytes: 4 * (m * k + n * k + m * n),
    inputBytes: 4 * (m * k + n * k),
    kernels: [],
    prepare(ctx: BenchContext): Prepared {
      const x = fromHost(randomArray(m * k, 7), [m, k], 'float32', ctx.device);
      const w = fromHost(randomArray(n * k, 9), [n, k], 'float32', ctx.device);
      const wt = transpose(w, 0, 1);
      return {
        run: () => matmul(x, wt).dispose(),
        validate() {
          const y = matmul(x, wt);
          const yv = y.dataSync(),
            xv = x.dataSync(),
            wv = w.dataSync();
          let worst = 0;
          for (let t = 0; t < 16; t++) {
            const i = (t * 7919) % m,
              j = (t * 104729) % n;
            let s = 0;
            for (let p = 0; p < k; p++) s += xv[i * k + p]! * wv[j * k + p]!;
            worst = Math.max(worst, Math.abs(yv[i * n + j]! - s) / (1e-4 + 1e-4 * Math.abs(s)));
          }
          y.dispose();
          return { ok: worst <= 1, worst, against: 'float64 dot of 16 sampled outputs' };
        },
        counted: () => null,
        dispose: () => disposeAll([x, w, wt] as Tensor[]),
      };
    },
  };
  return [int8, fp32];
}

/** Dynamic int8 Linear on float input (per-batch min/max, quantize, GEMM, dequant: one native call when loaded). */
function dynamicCase(m: number, n: number, k: number): BenchCase {
  return {
    op: 'int8',
    id: `int8 dynamic linear ${m}x${n}x${k}`,
    shape: `${m}×${k} f32 → u8 · (${n}×${k} s8)ᵀ → f32`,
    dtype: 'int8',
    flops: 2 * m * n * k,
    bytes: 4 * m * k + n * k + 4 * m * n,
    inputBytes: 4 * m * k + n * k,
    kernels: [],
    prepare(): Prepared {
      const x = randomArray(m * k, 19);
      const qw = quantizeWeightPerChannel(randomArray(n * k, 21, -0.1, 0.1), n, k);
      const bias = new Float32Array(n).fill(0.05);
      const out = new Float32Array(m * n);
      return {
        run: () => void dynamicLinearHost(x, m, qw, bias, true, false, out),
        validate() {
          const got = dynamicLinearHost(x, m, qw, bias, true, false);
          const a = quantizeActivations(x, true);
          const ref = new Float32Array(m * n);
          qgemmJs({
            m,
            n,
            k,
            a: a.data,
            aScale: a.scale,
            aZeroPoint: a.zeroPoint,
            b: qw.data as Int8Array,
            bScale: qw.scale,
            bZeroPoint: qw.zeroPoint,
            bias,
            relu: false,
            out: ref,
          });
          let bad = 0;
          for (let i = 0; i < ref.length; i++) if (!Object.is(got[i], ref[i])) bad++;
          return { ok: bad === 0, worst: bad, against: 'quantizeActivations + qgemmJs (identical float32 out)' };
        },
        counted: () => null,
        dispose() {},
      };
    },
  };
}

function convCases(n: number, c: number, h: number, kOut: number, r: number): BenchCase[] {
  const oh = h - r + 1;
  const flops = 2 * n * kOut * oh * oh * c * r * r;
  const base = {
    n,
    c,
    h,
    width: h,
    k: kOut,
    r,
    s: r,
    stride: [1, 1] as [number, number],
    padding: [0, 0] as [number, number],
    dilation: [1, 1] as [number, number],
  };
  const int8: BenchCase = {
    op: 'int8',
    id: `int8 qconv2d n${n} ${h}x${h} ${c}->${kOut} k${r}`,
    shape: `(${n}, ${c}, ${h}, ${h}) u8 ⊛ (${kOut}, ${c}, ${r}, ${r}) s8`,
    dtype: 'int8',
    flops,
    bytes: n * c * h * h + kOut * c * r * r + 4 * n * kOut * oh * oh,
    inputBytes: n * c * h * h,
    kernels: [],
    prepare(): Prepared {
      const a: QConv2dArgs = {
        ...base,
        x: bytesU8(n * c * h * h, 11, 256),
        xScale: 0.02,
        xZeroPoint: 9,
        w: bytesS8(kOut * c * r * r, 13),
        wScale: new Float32Array(kOut).fill(0.004),
        wZeroPoint: new Int32Array(kOut),
        bias: new Float32Array(kOut).fill(-0.2),
        relu: true,
      };
      const out = new Float32Array(n * kOut * oh * oh);
      return {
        run: () => void qconv2d(a, { out }),
        validate() {
          const got = qconv2d(a); // out only: compared with the direct reference bit for bit
          const ref = qconv2dDirect(a);
          let bad = 0;
          for (let i = 0; i < ref.out.length; i++) if (!Object.is(got.out[i], ref.out[i])) bad++;
          return { ok: bad === 0, worst: bad, against: 'qconv2dDirect (identical float32 out)' };
        },
        counted: () => null,
        dispose() {},
      };
    },
  };
  const fp32: BenchCase = {
    op: 'int8',
    id: `int8 fp32-baseline conv2d n${n} ${h}x${h} ${c}->${kOut} k${r}`,
    shape: `(${n}, ${c}, ${h}, ${h}) ⊛ (${kOut}, ${c}, ${r}, ${r}) f32`,
    dtype: 'float32',
    flops,
    bytes: 4 * (n * c * h * h + kOut * c * r * r + n * kOut * oh * oh),
    inputBytes: 4 * n * c * h * h,
    kernels: [],
    prepare(ctx: BenchContext): Prepared {
      const x = fromHost(randomArray(n * c * h * h, 15), [n, c, h, h], 'float32', ctx.device);
      const w = fromHost(randomArray(kOut * c * r * r, 17), [kOut, c, r, r], 'float32', ctx.device);
      return {
        run: () => conv2d(x, w).dispose(),
        validate() {
          const y = conv2d(x, w);
          const yv = y.dataSync(),
            xv = x.dataSync(),
            wv = w.dataSync();
          // output (0, 0, 0, 0) and (n−1, kOut−1, oh−1, oh−1) in float64
          const at = (b: number, ko: number, yy: number, xx: number): number => {
            let s = 0;
            for (let ci = 0; ci < c; ci++)
              for (let i = 0; i < r; i++)
                for (let j = 0; j < r; j++) s += xv[((b * c + ci) * h + yy + i) * h + xx + j]! * wv[((ko * c + ci) * r + i) * r + j]!;
            return s;
          };
          const s0 = at(0, 0, 0, 0),
            s1 = at(n - 1, kOut - 1, oh - 1, oh - 1);
          const e0 = Math.abs(yv[0]! - s0) / (1e-4 + 1e-4 * Math.abs(s0)),
            e1 = Math.abs(yv[yv.length - 1]! - s1) / (1e-4 + 1e-4 * Math.abs(s1));
          y.dispose();
          return { ok: Math.max(e0, e1) <= 1, worst: Math.max(e0, e1), against: 'float64 of two sampled outputs' };
        },
        counted: () => null,
        dispose: () => disposeAll([x, w]),
      };
    },
  };
  return [int8, fp32];
}

/** The int8 family: cpu only (the int8 layers run on the cpu); nothing for --backend cuda. */
export function int8Cases(ctx: BenchContext): BenchCase[] {
  if (ctx.backend !== 'js') return [];
  if (ctx.quick) return [...gemmCases(64, 256, 784), dynamicCase(64, 256, 784), ...int8ModelCases(ctx)];
  return [
    ...int8ModelCases(ctx),
    ...gemmCases(64, 256, 784),
    dynamicCase(64, 256, 784),
    ...gemmCases(256, 256, 784),
    dynamicCase(256, 256, 784),
    ...convCases(64, 1, 28, 16, 5),
    ...convCases(64, 16, 12, 32, 5),
  ];
}
