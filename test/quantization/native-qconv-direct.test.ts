// The vnni path's direct int8 convolution for few taps (native/cpu/qgemm_conv_vnni.cc: c · r · s ≤ 64
// and at least 8 output columns run without im2col + GEMM) against the direct js reference
// qconv2dDirect: out bit for bit over shapes that reach every branch of the tap gather (rows above
// and below the image, columns partly outside, strides, dilations), output widths that are and are
// not multiples of the 16-lane tile, c · r · s from 1 to the 64 limit (and 65: the GEMM again),
// nonzero weight zero points (the Σx correction), bias or none, ReLU; and the other paths (avx2,
// scalar: im2col + GEMM) on the same shapes for the same values. Skips when the addon lacks the entry.
//   WATTGRAD_NATIVE=$PWD/build/int8speed/Release/wattgrad.node npx vitest run test/quantization/native-qconv-direct.test.ts
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/native.js';
import { qconv2d, qconv2dDirect, type QConv2dArgs } from '../../lib/quantization/qconv.js';

interface QBinding {
  cpuQconv2dU8S8S32(...args: unknown[]): void;
  cpuQgemmInfo(): { isa: string; supportedIsas: string[] };
  cpuQgemmSelectIsa(name: string): boolean;
}
const load = loadNative();
const nb = load.binding as unknown as Partial<QBinding> | null;
const q: QBinding | null = nb && typeof nb.cpuQconv2dU8S8S32 === 'function' ? (nb as QBinding) : null;
const label = q ? '' : ` [skipped: ${load.binding ? 'the loaded addon has no cpuQconv2dU8S8S32' : `no native addon (${load.error})`}]`;
const isas = q ? q.cpuQgemmInfo().supportedIsas : [];
afterAll(() => {
  q?.cpuQgemmSelectIsa('auto');
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

type Shape = Pick<QConv2dArgs, 'n' | 'c' | 'h' | 'width' | 'k' | 'r' | 's' | 'stride' | 'padding' | 'dilation'>;
const shapes: Shape[] = [
  { n: 3, c: 1, h: 28, width: 28, k: 16, r: 5, s: 5, stride: [1, 1], padding: [0, 0], dilation: [1, 1] }, // MNIST conv1
  { n: 2, c: 1, h: 12, width: 40, k: 7, r: 3, s: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, // 3 tiles, padding
  { n: 2, c: 3, h: 9, width: 8, k: 5, r: 3, s: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, // ow = 8
  { n: 1, c: 2, h: 13, width: 37, k: 4, r: 3, s: 5, stride: [2, 2], padding: [2, 3], dilation: [1, 1] }, // strides
  { n: 2, c: 1, h: 15, width: 30, k: 3, r: 3, s: 3, stride: [1, 1], padding: [0, 2], dilation: [2, 3] }, // dilation
  { n: 1, c: 4, h: 10, width: 20, k: 9, r: 4, s: 4, stride: [1, 1], padding: [1, 2], dilation: [1, 1] }, // c·r·s = 64
  { n: 1, c: 1, h: 6, width: 17, k: 2, r: 1, s: 1, stride: [1, 1], padding: [0, 0], dilation: [1, 1] }, // 1 tap
  { n: 1, c: 5, h: 7, width: 12, k: 3, r: 13, s: 1, stride: [1, 1], padding: [3, 0], dilation: [1, 1] }, // 65 taps: GEMM
];

describe.skipIf(!q)(`native int8 conv for few taps (direct on the vnni path) vs the js reference${label}`, () => {
  it(`equals qconv2dDirect bit for bit on every path, every shape and option (seed ${SEED})`, () => {
    expect(isas.length).toBeGreaterThan(0);
    let seed = SEED;
    const nonzero = new Set<string>();
    for (const isa of isas) {
      expect(q!.cpuQgemmSelectIsa(isa)).toBe(true);
      for (const sh of shapes)
        for (const [relu, withBias, zw] of [
          [false, true, false],
          [true, true, true],
          [true, false, false],
          [false, false, true],
        ] as const) {
          const r = rng(++seed);
          const a: QConv2dArgs = {
            ...sh,
            stride: [...sh.stride],
            padding: [...sh.padding],
            dilation: [...sh.dilation],
            x: new Uint8Array(sh.n * sh.c * sh.h * sh.width).map(() => (r() < 0.2 ? 255 : Math.floor(r() * 256))),
            xScale: 0.01 + r() * 0.1,
            xZeroPoint: Math.floor(r() * 256),
            w: new Int8Array(sh.k * sh.c * sh.r * sh.s).map(() => (r() < 0.1 ? -128 : Math.floor(r() * 256) - 128)),
            wScale: new Float32Array(sh.k).map(() => 0.001 + r() * 0.01),
            wZeroPoint: new Int32Array(sh.k).map(() => (zw ? Math.floor(r() * 9) - 4 : 0)),
            bias: withBias ? new Float32Array(sh.k).map(() => r() - 0.5) : null,
            relu,
          };
          const ref = qconv2dDirect(a);
          const got = qconv2d(a);
          const bad = got.out.findIndex((v, i) => !Object.is(v, ref.out[i]));
          expect(
            bad,
            `seed ${seed}, isa ${isa}, ${JSON.stringify(sh)} relu=${relu} bias=${withBias}: out[${bad}] ${got.out[bad]} vs ${ref.out[bad]}`,
          ).toBe(-1);
          if (ref.out.some((v) => v !== 0)) nonzero.add(JSON.stringify(sh)); // (ReLU may zero a small case)
        }
    }
    q!.cpuQgemmSelectIsa('auto');
    expect(nonzero.size, 'every shape produced nonzero outputs in some case (not a test on zeros)').toBe(shapes.length);
  });
});
