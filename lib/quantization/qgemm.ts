// qgemm: the int8 matrix product behind quantized Linear layers, with int32 accumulation.
//
//   a   (m, k) quint8 activations, one scale sa and zero point za for the whole matrix
//   b   (n, k) qint8 weights, row j = output channel j (a Linear weight (out, in)), scales sb[j],
//       zero points zb[j] (0 for symmetric weights)
//   acc[i, j] = Σ_p (a[i, p] − za) · (b[j, p] − zb[j])                       exact, in int32
//   out[i, j] = sa · sb[j] · acc[i, j] + bias[j]         then max(·, 0) when relu   (float32)
//
// The js reference below computes acc as Σ a·b − za·Σ_p b[j, p] − zb[j]·Σ_p a[i, p] + k·za·zb[j]
// (the row sums of b are computed once per call; a native kernel packs them with the weights, as
// fbgemm's PackBMatrix does). Every partial sum is an integer below 2^31 in magnitude while
// k · 255 · 255 < 2^31 (k < 33,025), so plain JS numbers hold them exactly; `| 0` keeps int32.
//
// The hook: every quantized layer calls qgemm(), which runs, in this order, the kernel set with
// setQgemmKernel(); else the native addon's CPU entry point `cpuQgemmU8S8S32` when the loaded addon
// exports one (looked up once, through the same nativeCpu() as the fp32 kernels, so
// WATTGRAD_CPU_KERNELS=js turns it off) — its contract, for native/cpu's int8 kernels (AVX2
// vpmaddubsw/vpmaddwd, AVX-512 VNNI vpdpbusd):
//   cpuQgemmU8S8S32(a: Uint8Array, b: Int8Array, bScale: Float32Array, bZeroPoint: Int32Array,
//                   bias: Float32Array | null, out: Float32Array, acc: Int32Array | null,
//                   m, n, k, aScale, aZeroPoint, relu: boolean): void    (sizes checked here first)
// — else qgemmJs. A replacement must give the same acc bit for bit and out within float32 rounding
// of the formula above; test/quantization/qgemm.test.ts is its parity check.

import { nativeCpu } from '../backend/js/native-cpu.js';

export interface QgemmArgs {
  m: number;
  n: number;
  k: number;
  /** (m, k) row-major quint8 */
  a: Uint8Array;
  aScale: number;
  aZeroPoint: number;
  /** (n, k) row-major qint8 */
  b: Int8Array;
  /** (n) */
  bScale: Float32Array;
  /** (n) */
  bZeroPoint: Int32Array;
  /** (n) float, or null */
  bias: Float32Array | null;
  relu: boolean;
  /** (m, n) row-major result */
  out: Float32Array;
  /** when given, (m, n): receives the int32 accumulators (tests and debugging) */
  acc?: Int32Array;
}

export type QgemmKernel = (args: QgemmArgs) => void;

/** Checks the argument sizes once, at the entry (a kernel may then index freely). */
export function checkQgemmArgs(x: QgemmArgs): void {
  const { m, n, k } = x;
  for (const [name, v] of [
    ['m', m],
    ['n', n],
    ['k', k],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`qgemm: ${name} must be a non-negative integer, got ${v}`);
  }
  if (k * 255 * 255 >= 2 ** 31)
    throw new RangeError(`qgemm: k = ${k} is too large for exact int32 accumulation (k · 255 · 255 must stay below 2^31: k < 33025)`);
  const need = (name: string, arr: { length: number } | null | undefined, len: number): void => {
    if (!arr || arr.length !== len) throw new RangeError(`qgemm: ${name} must have ${len} elements, got ${arr ? arr.length : String(arr)}`);
  };
  if (!(x.a instanceof Uint8Array)) throw new TypeError('qgemm: a (activations) must be a Uint8Array of quint8 values');
  if (!(x.b instanceof Int8Array)) throw new TypeError('qgemm: b (weights) must be an Int8Array of qint8 values');
  need(`a (${m}, ${k})`, x.a, m * k);
  need(`b (${n}, ${k})`, x.b, n * k);
  need('bScale', x.bScale, n);
  need('bZeroPoint', x.bZeroPoint, n);
  if (x.bias !== null) need('bias', x.bias, n);
  need(`out (${m}, ${n})`, x.out, m * n);
  if (x.acc !== undefined) need(`acc (${m}, ${n})`, x.acc, m * n);
  if (!Number.isInteger(x.aZeroPoint) || x.aZeroPoint < 0 || x.aZeroPoint > 255)
    throw new RangeError(`qgemm: aZeroPoint must be an integer in [0, 255], got ${x.aZeroPoint}`);
  if (!(x.aScale > 0) || !Number.isFinite(x.aScale))
    throw new RangeError(`qgemm: aScale must be a positive finite number, got ${x.aScale}`);
}

/** The js reference kernel (no argument checks: qgemm() does them). */
export function qgemmJs(x: QgemmArgs): void {
  const { m, n, k, a, b, bScale, bZeroPoint, bias, relu, out, acc } = x;
  const za = x.aZeroPoint;
  const sa = x.aScale;
  // Σ_p b[j, p] per output channel and Σ_p a[i, p] per row: the zero-point corrections
  const bSum = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = j * k, e = p + k; p < e; p++) s += b[p]!;
    bSum[j] = s;
  }
  const scale = new Float32Array(n);
  for (let j = 0; j < n; j++) scale[j] = sa * bScale[j]!;
  const aSum = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let t = 0;
    for (let p = i * k, e = p + k; p < e; p++) t += a[p]!;
    aSum[i] = t;
  }
  const finish = (i: number, j: number, dot: number): void => {
    const zb = bZeroPoint[j]!;
    const v = (dot - za * bSum[j]! - zb * aSum[i]! + k * za * zb) | 0;
    if (acc) acc[i * n + j] = v;
    let y = scale[j]! * v + (bias ? bias[j]! : 0);
    if (relu && y < 0) y = 0;
    out[i * n + j] = y;
  };
  // a 4-row × 2-column register tile: per step 4 activation and 2 weight loads feed 8 products
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const a0 = i * k,
      a1 = a0 + k,
      a2 = a1 + k,
      a3 = a2 + k;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k,
        b1 = b0 + k;
      let s00 = 0,
        s10 = 0,
        s20 = 0,
        s30 = 0,
        s01 = 0,
        s11 = 0,
        s21 = 0,
        s31 = 0;
      for (let p = 0; p < k; p++) {
        const w0 = b[b0 + p]!,
          w1 = b[b1 + p]!;
        const x0 = a[a0 + p]!,
          x1 = a[a1 + p]!,
          x2 = a[a2 + p]!,
          x3 = a[a3 + p]!;
        s00 += x0 * w0;
        s10 += x1 * w0;
        s20 += x2 * w0;
        s30 += x3 * w0;
        s01 += x0 * w1;
        s11 += x1 * w1;
        s21 += x2 * w1;
        s31 += x3 * w1;
      }
      finish(i, j, s00);
      finish(i + 1, j, s10);
      finish(i + 2, j, s20);
      finish(i + 3, j, s30);
      finish(i, j + 1, s01);
      finish(i + 1, j + 1, s11);
      finish(i + 2, j + 1, s21);
      finish(i + 3, j + 1, s31);
    }
    for (; j < n; j++) {
      const bj = j * k;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let p = 0; p < k; p++) {
        const w = b[bj + p]!;
        s0 += a[a0 + p]! * w;
        s1 += a[a1 + p]! * w;
        s2 += a[a2 + p]! * w;
        s3 += a[a3 + p]! * w;
      }
      finish(i, j, s0);
      finish(i + 1, j, s1);
      finish(i + 2, j, s2);
      finish(i + 3, j, s3);
    }
  }
  for (; i < m; i++) {
    const ai = i * k;
    for (let j = 0; j < n; j++) {
      const bj = j * k;
      let s0 = 0;
      for (let p = 0; p < k; p++) s0 += a[ai + p]! * b[bj + p]!;
      finish(i, j, s0);
    }
  }
}

let kernel: QgemmKernel | null = null;
let kernelName = 'qgemm_js';

type NativeQgemm = (
  a: Uint8Array,
  b: Int8Array,
  bScale: Float32Array,
  bZeroPoint: Int32Array,
  bias: Float32Array | null,
  out: Float32Array,
  acc: Int32Array | null,
  m: number,
  n: number,
  k: number,
  aScale: number,
  aZeroPoint: number,
  relu: boolean,
) => void;
let native: QgemmKernel | null | undefined;

/** The addon's int8 GEMM when the loaded addon has one (see the header), else null; looked up once. */
function nativeQgemm(): QgemmKernel | null {
  if (native !== undefined) return native;
  const b = nativeCpu() as unknown as { cpuQgemmU8S8S32?: NativeQgemm } | null;
  const f = b?.cpuQgemmU8S8S32;
  native =
    typeof f === 'function'
      ? (x: QgemmArgs): void =>
          f.call(b, x.a, x.b, x.bScale, x.bZeroPoint, x.bias, x.out, x.acc ?? null, x.m, x.n, x.k, x.aScale, x.aZeroPoint, x.relu)
      : null;
  return native;
}

/**
 * Installs a qgemm for every quantized layer (a kernel under test, an experiment); null restores
 * the default (the addon's cpuQgemmU8S8S32 when present, else the js reference). Returns the name
 * of the kernel set before ('qgemm_js' when none was).
 */
export function setQgemmKernel(impl: QgemmKernel | null, name = impl ? impl.name || 'custom' : 'qgemm_js'): string {
  if (impl !== null && typeof impl !== 'function')
    throw new TypeError(`setQgemmKernel: expected a function (args: QgemmArgs) => void or null, got ${typeof impl}`);
  const prev = kernelName;
  kernel = impl;
  kernelName = impl ? name : 'qgemm_js';
  return prev;
}

/** True when setQgemmKernel installed a kernel (then fused native paths such as the int8 conv step aside for it). */
export function qgemmOverridden(): boolean {
  return kernel !== null;
}

/** The name of the kernel qgemm() runs ('qgemm_js' unless a native one was installed or found). */
export function qgemmKernelName(): string {
  if (!kernel && nativeQgemm()) return 'cpuQgemmU8S8S32 (native)';
  return kernelName;
}

/** out = dequant(int32 Σ (a − za)(b − zb)) + bias, optionally ReLU'd: see the header. */
export function qgemm(args: QgemmArgs): void {
  checkQgemmArgs(args);
  (kernel ?? nativeQgemm() ?? qgemmJs)(args);
}
