// The int8 conv → max-pool → requantize chain (lib/quantization/qpool.ts, native/cpu/qpool.cc):
// the native cpuQconv2dMaxPool against the js composition (qconv2d → float max pool → quantize)
// bit for bit on shapes that take the per-image direct conv (vnni, c·r·s ≤ 64) and the im2col GEMM,
// pool windows with padding, dilation, ceil mode and overlap, quint8 and qint8 next layers, every
// qgemm path, 1 and 2 threads, outputs poisoned first; the codes equal torch's order (quantize the
// conv, then max-pool the u8 codes: maxPool2dU8) and re-quantize to themselves; and the converted
// MNIST CNN with fused pools gives the unfused model's logits bit for bit (also after cloneModule
// and a saveQuantized / loadQuantized round trip).
//   WATTGRAD_NATIVE=$PWD/build/int8speed2/Release/wattgrad.node npx vitest run test/quantization/qpool.test.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/native.js';
import { manualSeed, maxPool2d, noGrad, randn, tensor, tidy, quantization, type Tensor } from '../../lib/index.js';
import { mnistCnn } from '../../lib/models/index.js';
import { convOutSize, qconv2d, type QConv2dArgs } from '../../lib/quantization/qconv.js';
import { maxPool2dU8, maxPoolPlanes, poolOutSize, qconv2dMaxPool, type PoolWindow } from '../../lib/quantization/qpool.js';
import { quantizeForKernel, type InputQParams } from '../../lib/nn/quantized-static.js';
import { cloneModule } from '../../lib/quantization/copy.js';

interface QBinding {
  cpuQconv2dMaxPool(...args: unknown[]): void;
  cpuQgemmInfo(): { isa: string; supportedIsas: string[] };
  cpuQgemmSelectIsa(name: string): boolean;
  cpuSetNumThreads(n: number): void;
  cpuInfo(): { threads: number };
}
const load = loadNative();
const nb = load.binding as unknown as Partial<QBinding> | null;
const q: QBinding | null = nb && typeof nb.cpuQconv2dMaxPool === 'function' ? (nb as QBinding) : null;
const label = q
  ? ''
  : ` [native skipped: ${load.binding ? 'the loaded addon has no cpuQconv2dMaxPool' : `no native addon (${load.error})`}]`;
const threads0 = q ? q.cpuInfo().threads : 1;
afterAll(() => {
  q?.cpuQgemmSelectIsa('auto');
  q?.cpuSetNumThreads(threads0);
});

const SEED = (Date.now() ^ (process.pid << 8)) >>> 0;
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

type ConvShape = Pick<QConv2dArgs, 'n' | 'c' | 'h' | 'width' | 'k' | 'r' | 's' | 'stride' | 'padding' | 'dilation'>;
const win = (k: [number, number], o: Partial<PoolWindow> = {}): PoolWindow => ({
  kernel: k,
  stride: o.stride ?? k,
  padding: o.padding ?? [0, 0],
  dilation: o.dilation ?? [1, 1],
  ceilMode: o.ceilMode ?? false,
});
const cases: [string, ConvShape, PoolWindow][] = [
  [
    'MNIST conv1 + 2×2 (direct)',
    { n: 3, c: 1, h: 28, width: 28, k: 16, r: 5, s: 5, stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    win([2, 2]),
  ],
  [
    'MNIST conv2 + 2×2 (GEMM)',
    { n: 2, c: 16, h: 12, width: 12, k: 32, r: 5, s: 5, stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    win([2, 2]),
  ],
  [
    'odd sizes, 2×2 leaves a row and a column',
    { n: 2, c: 2, h: 13, width: 23, k: 5, r: 3, s: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
    win([2, 2]),
  ],
  [
    '3×3 stride 2 padding 1 (overlapping, padded)',
    { n: 2, c: 1, h: 11, width: 19, k: 3, r: 3, s: 3, stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    win([3, 3], { stride: [2, 2], padding: [1, 1] }),
  ],
  [
    'ceil mode, dilation',
    { n: 1, c: 3, h: 14, width: 17, k: 4, r: 2, s: 2, stride: [1, 2], padding: [0, 1], dilation: [1, 1] },
    win([2, 3], { stride: [2, 2], dilation: [2, 1], ceilMode: true }),
  ],
  [
    'strided conv, 1×2 pool',
    { n: 2, c: 5, h: 9, width: 30, k: 6, r: 3, s: 5, stride: [2, 1], padding: [1, 2], dilation: [1, 1] },
    win([1, 2]),
  ],
];

function makeArgs(sh: ConvShape, r: () => number, relu: boolean, withBias: boolean, zw = false): QConv2dArgs {
  return {
    ...sh,
    x: new Uint8Array(sh.n * sh.c * sh.h * sh.width).map(() => Math.floor(r() * 256)),
    xScale: 0.01 + r() * 0.05,
    xZeroPoint: Math.floor(r() * 256),
    w: new Int8Array(sh.k * sh.c * sh.r * sh.s).map(() => Math.floor(r() * 256) - 128),
    wScale: new Float32Array(sh.k).map(() => 0.001 + r() * 0.01),
    wZeroPoint: new Int32Array(sh.k).map(() => (zw ? Math.floor(r() * 7) - 3 : 0)), // nonzero: the kernels for asymmetric weights
    bias: withBias ? new Float32Array(sh.k).map(() => r() - 0.5) : null,
    relu,
  };
}

/** next-layer parameters fitted to the conv's range (so the codes spread over the grid and clamp at both ends sometimes). */
function nextParams(conv: Float32Array, r: () => number, dtype: 'quint8' | 'qint8'): InputQParams {
  let lo = 0,
    hi = 0;
  for (const v of conv) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = (hi - lo) * (0.7 + 0.4 * r()) || 1;
  if (dtype === 'qint8') return { scale: span / 255, zeroPoint: 0, dtype, quantMin: -128, quantMax: 127 };
  const qmax = r() < 0.5 ? 127 : 255; // reduce_range or not
  const scale = span / qmax;
  return { scale, zeroPoint: Math.min(qmax, Math.max(0, Math.round(-lo / scale))), dtype, quantMin: 0, quantMax: qmax };
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('int8 conv → max-pool → requantize (js reference)', () => {
  it(`pools the codes as torch's quantized max_pool2d does and re-quantizes to them exactly (seed ${SEED})`, () => {
    let seed = SEED;
    for (const [what, sh, w] of cases)
      for (const dtype of ['quint8', 'qint8'] as const) {
        const r = rng(++seed);
        const a = makeArgs(sh, r, r() < 0.5, true);
        const [oh, ow] = convOutSize(a);
        const conv = qconv2d(a, { js: true }).out;
        const next = nextParams(conv, r, dtype);
        const res = qconv2dMaxPool(a, { oh, ow }, w, next, { js: true });
        const [, , ph, pw] = res.shape;
        // torch's order: quantize the conv output, then max-pool the u8 codes
        const qc = quantizeForKernel(conv, { ...next, scale: Math.fround(next.scale) });
        const pooled = maxPool2dU8(qc.data, [a.n, a.k, oh, ow], w);
        expect(pooled.shape, what).toEqual(res.shape);
        const requant = quantizeForKernel(res.out, next);
        expect(Array.from(requant.data), `${what} ${dtype}: out re-quantizes to the pooled codes`).toEqual(Array.from(pooled.codes));
        expect(new Set(pooled.codes).size, `${what}: the codes are not constant`).toBeGreaterThan(3);
        expect(ph * pw).toBeGreaterThan(0);
      }
  });

  it('maxPoolPlanes keeps the js kernel rule: the first NaN wins, padding never does, ties keep the first (-0 before +0)', () => {
    // 3×3 plane, 2×2 windows at stride 1
    const x = new Float32Array([-0, 0, 1, NaN, 2, 3, -5, -7, NaN]);
    const y = maxPoolPlanes(x, new Float32Array(4).fill(99), 1, 3, 3, 2, 2, win([2, 2], { stride: [1, 1] }));
    expect([Number.isNaN(y[0]), y[1], Number.isNaN(y[2]), Number.isNaN(y[3])]).toEqual([true, 3, true, true]);
    const z = maxPoolPlanes(new Float32Array([-0, 0, -1, -2]), new Float32Array(2), 1, 1, 4, 1, 2, win([1, 2]));
    expect(Object.is(z[0], -0)).toBe(true);
    expect(z[1]).toBe(-1);
    // padding 1 around a plane of negatives: the max is a real cell, never the padding
    const n = maxPoolPlanes(
      new Float32Array([-3, -4, -5, -6]),
      new Float32Array(4),
      1,
      2,
      2,
      2,
      2,
      win([2, 2], { stride: [1, 1], padding: [1, 1] }),
    );
    expect(Array.from(n)).toEqual([-3, -3, -3, -3]);
  });

  it('maxPoolPlanes equals the js backend maxPool2d on random planes with NaNs, odd shapes, padding, dilation, ceil mode', () => {
    const r = rng(SEED + 3);
    for (const [h, wd, pw] of [
      [7, 9, win([2, 2])],
      [10, 13, win([3, 3], { stride: [2, 2], padding: [1, 1] })],
      [9, 11, win([2, 3], { stride: [2, 2], dilation: [2, 1], ceilMode: true })],
    ] as const) {
      const planes = 5;
      const v = new Float32Array(planes * h * wd).map(() => (r() < 0.03 ? NaN : r() - 0.5));
      const y = tidy(() => {
        const t = maxPool2d(tensor(Array.from(v)).reshape([1, planes, h, wd]), pw.kernel, {
          stride: pw.stride,
          padding: pw.padding,
          dilation: pw.dilation,
          ceilMode: pw.ceilMode,
        });
        return { shape: [...t.shape], data: (t.dataSync() as Float32Array).slice() };
      });
      const [oh, ow] = [y.shape[2]!, y.shape[3]!];
      expect([
        poolOutSize(h, pw.kernel[0], pw.stride[0], pw.padding[0], pw.dilation[0], pw.ceilMode),
        poolOutSize(wd, pw.kernel[1], pw.stride[1], pw.padding[1], pw.dilation[1], pw.ceilMode),
      ]).toEqual([oh, ow]);
      const out = maxPoolPlanes(v, new Float32Array(y.data.length).fill(123), planes, h, wd, oh, ow, pw);
      expect(bits(out)).toEqual(bits(y.data));
      expect(y.data.some((e) => Number.isNaN(e))).toBe(true);
    }
  });
});

describe.skipIf(!q)(`native cpuQconv2dMaxPool vs the js composition${label}`, () => {
  it(`bit for bit on every qgemm path, shape, option and thread count; poisoned outputs overwritten (seed ${SEED})`, () => {
    const isas = q!.cpuQgemmInfo().supportedIsas;
    expect(isas.length).toBeGreaterThan(0);
    let seed = SEED + 1000;
    for (const isa of isas)
      for (const threads of [1, 2]) {
        expect(q!.cpuQgemmSelectIsa(isa)).toBe(true);
        q!.cpuSetNumThreads(threads);
        for (const [what, sh, w] of cases)
          for (const [relu, withBias, dtype, zw] of [
            [true, true, 'quint8', false],
            [false, true, 'qint8', false],
            [false, false, 'quint8', false],
            [true, true, 'quint8', true], // asymmetric weights: the pixel-lane / GEMM conv, then the separate pool pass
          ] as const) {
            const r = rng(++seed);
            const a = makeArgs(sh, r, relu, withBias, zw);
            const [oh, ow] = convOutSize(a);
            const next = nextParams(qconv2d(a, { js: true }).out, r, dtype);
            const want = qconv2dMaxPool(a, { oh, ow }, w, next, { js: true });
            const size = want.out.length;
            const out = new Float32Array(size).fill(NaN);
            const codes = new Uint8Array(size).fill(77);
            const got = qconv2dMaxPool(a, { oh, ow }, w, next, { out, codes });
            const tag = `${what}, ${isa}, ${threads} threads, relu ${relu}, bias ${withBias}, ${dtype}, zw ${zw}`;
            expect(got.shape, tag).toEqual(want.shape);
            expect(bits(out), tag).toEqual(bits(want.out));
            const jsCodes = new Uint8Array(size);
            qconv2dMaxPool(a, { oh, ow }, w, next, { js: true, codes: jsCodes });
            expect(Array.from(codes), tag).toEqual(Array.from(jsCodes));
          }
      }
  });

  it('a channel with a negative scale (the epilogue then decreases in the accumulator) pools the float outputs: still bit for bit', () => {
    let seed = SEED + 5000;
    for (const [what, sh, w] of cases) {
      const r = rng(++seed);
      const a = makeArgs(sh, r, false, true);
      a.wScale[1] = -a.wScale[1]!;
      const [oh, ow] = convOutSize(a);
      const next = nextParams(qconv2d(a, { js: true }).out, r, 'quint8');
      const want = qconv2dMaxPool(a, { oh, ow }, w, next, { js: true });
      const out = new Float32Array(want.out.length).fill(NaN);
      qconv2dMaxPool(a, { oh, ow }, w, next, { out });
      expect(bits(out), what).toEqual(bits(want.out));
    }
  });

  it('refuses a conv output holding a NaN (a NaN bias), as quantizing it at the next layer does', () => {
    const r = rng(SEED + 7);
    const a = makeArgs(cases[0]![1], r, true, true);
    a.bias![3] = NaN;
    const [oh, ow] = convOutSize(a);
    const next: InputQParams = { scale: 0.05, zeroPoint: 3, dtype: 'quint8', quantMin: 0, quantMax: 255 };
    expect(() => qconv2dMaxPool(a, { oh, ow }, win([2, 2]), next)).toThrow(/NaN/);
    expect(() => qconv2dMaxPool(a, { oh, ow }, win([2, 2]), next, { js: true })).toThrow(/NaN/);
  });

  it('checks its arguments: a pool window starting past the conv output is a RangeError', () => {
    const r = rng(SEED + 8);
    const a = makeArgs(cases[0]![1], r, true, true);
    const [oh, ow] = convOutSize(a);
    const size = a.n * a.k * 13 * 12;
    const args = [
      a.x,
      a.w,
      a.wScale,
      a.wZeroPoint,
      a.bias,
      new Float32Array(size),
      null,
      a.n,
      a.c,
      a.h,
      a.width,
      a.k,
      a.r,
      a.s,
      oh,
      ow,
      1,
      1,
      0,
      0,
      1,
      1,
      a.xScale,
      a.xZeroPoint,
      true,
    ];
    expect(() => q!.cpuQconv2dMaxPool(...args, 2, 2, 2, 2, 0, 0, 1, 1, 13, 12, 0.1, 0, 0, 255, 0)).toThrow(/pool window/);
    expect(() => q!.cpuQconv2dMaxPool(...args, 2, 2, 2, 2, 2, 0, 1, 1, 12, 12, 0.1, 0, 0, 255, 0)).toThrow(/at most half/);
  });
});

describe('converted MNIST CNN with fused int8 pools', () => {
  it('fuses both pools and gives the unfused logits bit for bit (also after cloneModule and a save / load round trip)', () => {
    manualSeed(3);
    const model = mnistCnn().eval();
    const calib = Array.from({ length: 3 }, () => randn([16, 1, 28, 28]));
    const fused = quantization.quantizeStatic(model, calib);
    const plain = quantization.quantizeStatic(model, calib, { fuseMaxPool: false });
    const kids = [...fused.namedChildren()].map(([k, m]) => `${k}:${m.name}`);
    expect(kids).toEqual([
      '0:QuantizedConvReLU2d',
      '1:Identity',
      '2:Identity',
      '3:QuantizedConvReLU2d',
      '4:Identity',
      '5:Identity',
      '6:Flatten',
      '7:QuantizedLinear',
    ]);
    expect([...plain.namedChildren()].map(([, m]) => m.name)).toContain('MaxPool2d');
    expect(String(fused)).toMatch(/max_pool=\(kernel_size=\(2, 2\), stride=\(2, 2\)/);
    const x = randn([37, 1, 28, 28]);
    const logits = (m: unknown): Float32Array =>
      noGrad(() => tidy(() => (m as { forward(t: Tensor): Tensor }).forward(x).dataSync() as Float32Array)).slice();
    const want = logits(plain);
    expect(new Set(want).size).toBeGreaterThan(100);
    expect(bits(logits(fused))).toEqual(bits(want));
    const copy = cloneModule(fused);
    const c0 = (copy as unknown as Record<string, quantization.QuantizedConv2d>)['0']!;
    expect(c0.fusedPool?.[1]).toBe((copy as unknown as Record<string, unknown>)['3']);
    expect(bits(logits(copy))).toEqual(bits(want));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-qpool-'));
    try {
      const file = path.join(dir, 'cnn-int8.safetensors');
      quantization.saveQuantized(file, fused);
      const loaded = mnistCnn();
      quantization.loadQuantized(loaded, file);
      expect([...loaded.namedChildren()].map(([, m]) => m.name)).not.toContain('MaxPool2d');
      expect(bits(logits(loaded))).toEqual(bits(want));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const t of [x, ...calib]) t.dispose();
  });
});
