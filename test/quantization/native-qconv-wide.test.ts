// The vnni path's direct int8 convolution with output channels as lanes (native/cpu/qconv_wide_vnni.cc:
// symmetric weights; c a multiple of 4 (groups of 4 input channels, any s, dilationW) or kernel rows of
// s ≤ 8 columns with dilationW 1 (groups of 4 taps)) against the direct js reference
// qconv2dDirect, bit for bit: channel counts that fill two 16-lane blocks, one, and a partial one
// (k = 5, 16, 33, 48), output widths 1 … 13 (every 8-pixel tile tail), s = 1 … 8 (one and two 4-byte
// groups), strides, padding, dilationH, c · r · s below and above 64; with nonzero weight zero points
// the other kernels run (same values). Every qgemm path, 1 and 2 threads, the output poisoned first.
// Skips when the addon lacks the entry.
//   WATTGRAD_NATIVE=$PWD/build/int8speed2/Release/wattgrad.node npx vitest run test/quantization/native-qconv-wide.test.ts
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/native.js';
import { qconv2d, qconv2dDirect, type QConv2dArgs } from '../../lib/quantization/qconv.js';

interface QBinding {
  cpuQconv2dU8S8S32(...args: unknown[]): void;
  cpuQgemmInfo(): { isa: string; supportedIsas: string[] };
  cpuQgemmSelectIsa(name: string): boolean;
  cpuSetNumThreads(n: number): void;
  cpuInfo(): { threads: number };
}
const load = loadNative();
const nb = load.binding as unknown as Partial<QBinding> | null;
const q: QBinding | null = nb && typeof nb.cpuQconv2dU8S8S32 === 'function' ? (nb as QBinding) : null;
const label = q ? '' : ` [skipped: ${load.binding ? 'the loaded addon has no cpuQconv2dU8S8S32' : `no native addon (${load.error})`}]`;
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

type Shape = Pick<QConv2dArgs, 'n' | 'c' | 'h' | 'width' | 'k' | 'r' | 's' | 'stride' | 'padding' | 'dilation'>;
const sh = (n: number, c: number, h: number, width: number, k: number, r: number, s: number, o: Partial<Shape> = {}): Shape => ({
  n,
  c,
  h,
  width,
  k,
  r,
  s,
  stride: o.stride ?? [1, 1],
  padding: o.padding ?? [0, 0],
  dilation: o.dilation ?? [1, 1],
});
const shapes: Shape[] = [
  sh(3, 16, 12, 12, 32, 5, 5), // MNIST conv2: two blocks, ow 8
  sh(2, 1, 28, 28, 16, 5, 5), // MNIST conv1: one block, ow 24
  sh(2, 3, 9, 13, 48, 3, 3, { padding: [1, 1] }), // a pair and a single block, ow 13 (tail 5), padding
  sh(1, 2, 7, 7, 5, 2, 1), // partial block, s 1, ow 7 (tail only)
  sh(2, 4, 11, 16, 33, 3, 8, { stride: [2, 2], padding: [1, 3] }), // s 8, strides, k 33
  sh(1, 5, 10, 9, 17, 4, 6, { dilation: [2, 1], padding: [2, 0] }), // dilationH, s 6, ow 4
  sh(2, 2, 6, 4, 7, 3, 4, { stride: [1, 3], padding: [1, 1] }), // ow 2, stride 3, s 4
  sh(1, 7, 5, 12, 9, 1, 7, { padding: [0, 3] }), // one kernel row, s 7, ow 12
  sh(1, 3, 6, 3, 20, 2, 3, {}), // ow 1
  sh(2, 8, 9, 30, 20, 2, 9, { dilation: [1, 2], padding: [1, 4] }), // channel groups: s 9 > 8, dilationW 2
  sh(1, 12, 7, 11, 24, 3, 3, { stride: [2, 2] }), // channel groups, 3 groups of 4 per tap, strides
  sh(1, 32, 5, 37, 16, 2, 3, { padding: [1, 1] }), // c 32: the 16 × 16 byte transpose of the image copy, row of 37 (16 + 16 + 5)
];

describe.skipIf(!q)(`native int8 conv with channel lanes (vnni) vs the js reference${label}`, () => {
  it(`equals qconv2dDirect bit for bit on every path, shape, option and thread count (seed ${SEED})`, () => {
    const isas = q!.cpuQgemmInfo().supportedIsas;
    expect(isas.length).toBeGreaterThan(0);
    let seed = SEED;
    const nonzero = new Set<string>();
    for (const isa of isas)
      for (const threads of [1, 2]) {
        expect(q!.cpuQgemmSelectIsa(isa)).toBe(true);
        q!.cpuSetNumThreads(threads);
        for (const s of shapes)
          for (const [relu, withBias, zw] of [
            [false, true, false],
            [true, true, false],
            [true, false, false],
            [false, true, true],
          ] as const) {
            const r = rng(++seed);
            const a: QConv2dArgs = {
              ...s,
              x: new Uint8Array(s.n * s.c * s.h * s.width).map(() => (r() < 0.2 ? 255 : Math.floor(r() * 256))),
              xScale: 0.01 + r() * 0.1,
              xZeroPoint: Math.floor(r() * 256),
              w: new Int8Array(s.k * s.c * s.r * s.s).map(() => (r() < 0.1 ? -128 : Math.floor(r() * 256) - 128)),
              wScale: new Float32Array(s.k).map(() => 0.001 + r() * 0.01),
              wZeroPoint: new Int32Array(s.k).map(() => (zw ? Math.floor(r() * 9) - 4 : 0)),
              bias: withBias ? new Float32Array(s.k).map(() => r() - 0.5) : null,
              relu,
            };
            const ref = qconv2dDirect(a);
            const out = new Float32Array(ref.out.length).fill(NaN);
            qconv2d(a, { out });
            const bad = out.findIndex((v, i) => !Object.is(v, ref.out[i]));
            expect(
              bad,
              `seed ${seed}, ${isa}, ${threads} threads, ${JSON.stringify(s)} relu=${relu} bias=${withBias} zw=${zw}: out[${bad}] ${out[bad]} vs ${ref.out[bad]}`,
            ).toBe(-1);
            if (ref.out.some((v) => v !== 0)) nonzero.add(JSON.stringify(s));
          }
      }
    expect(nonzero.size, 'every shape produced nonzero outputs in some case (not a test on zeros)').toBe(shapes.length);
  });
});
