// The addon's int8 GEMM (native/cpu/qgemm*.cc: VNNI vpdpbusd, AVX2 vpmaddubsw/vpmaddwd, scalar C)
// against the js reference qgemmJs: fresh random inputs (seed printed on failure), odd shapes
// (tails of every vector width and tile), the vpmaddubsw saturation edge (activations 255 with
// weights −128 / 127: the AVX2 path splits activations above 127), zero points, bias, ReLU,
// k = 0; acc must be equal as int32 and out bit for bit, on every path this CPU supports, each
// forced with cpuQgemmSelectIsa, in-process and through WATTGRAD_CPU_ISA in a child process.
// Skips, saying why, when the loaded addon has no int8 GEMM. Run with a cpu build:
//   npm run build:native -- --no-cuda --out=build/int8
//   WATTGRAD_NATIVE=$PWD/build/int8/Release/wattgrad.node npx vitest run test/quantization/native-qgemm.test.ts
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/native.js';
import { qgemmJs, type QgemmArgs } from '../../lib/quantization/qgemm.js';
import { qconv2d, qconv2dDirect, type QConv2dArgs } from '../../lib/quantization/qconv.js';
import { quantizeForKernel, type InputQParams } from '../../lib/nn/quantized-static.js';
import { resetNativeCpuForTests } from '../../lib/backend/js/native-cpu.js';

interface QBinding {
  cpuQgemmU8S8S32(
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
  ): void;
  cpuQuantizeU8(
    x: Float32Array,
    out: Uint8Array,
    n: number,
    scale: number,
    zeroPoint: number,
    quantMin: number,
    quantMax: number,
    shift: number,
  ): void;
  cpuQconv2dU8S8S32(...args: unknown[]): void;
  cpuQgemmInfo(): { isa: string; supportedIsas: string[] };
  cpuQgemmSelectIsa(name: string): boolean;
  cpuSetNumThreads(n: number): void;
  cpuGetNumThreads(): number;
}
const load = loadNative();
const nb = load.binding as unknown as Partial<QBinding> | null;
const q: QBinding | null = nb && typeof nb.cpuQgemmU8S8S32 === 'function' ? (nb as QBinding) : null;
const label = q
  ? ''
  : ` [skipped: ${load.binding ? 'the loaded addon has no cpuQgemmU8S8S32 (rebuild: npm run build:native)' : `no native addon (${load.error})`}]`;
const isas = q ? q.cpuQgemmInfo().supportedIsas : [];
const threads0 = q ? q.cpuGetNumThreads() : 1;
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

type Fill = 'random' | 'edge' | 'low';
function makeArgs(
  m: number,
  n: number,
  k: number,
  r: () => number,
  o: { fill?: Fill; zb?: boolean; bias?: boolean; relu?: boolean } = {},
): QgemmArgs {
  const fill = o.fill ?? 'random';
  const a = new Uint8Array(m * k),
    b = new Int8Array(n * k);
  for (let i = 0; i < a.length; i++)
    a[i] = fill === 'edge' ? (r() < 0.8 ? 255 : Math.floor(r() * 256)) : fill === 'low' ? Math.floor(r() * 128) : Math.floor(r() * 256);
  for (let i = 0; i < b.length; i++) b[i] = fill === 'edge' ? (r() < 0.5 ? -128 : 127) : Math.floor(r() * 256) - 128;
  const bScale = new Float32Array(n).map(() => 0.001 + r() * 0.02);
  const bZeroPoint = new Int32Array(n).map(() => (o.zb ? Math.floor(r() * 21) - 10 : 0));
  const bias = o.bias === false ? null : new Float32Array(n).map(() => r() * 4 - 2);
  return {
    m,
    n,
    k,
    a,
    aScale: 0.003 + r() * 0.05,
    aZeroPoint: Math.floor(r() * 256),
    b,
    bScale,
    bZeroPoint,
    bias,
    relu: o.relu ?? false,
    out: new Float32Array(m * n).fill(NaN),
    acc: new Int32Array(m * n).fill(0x7eadbeef),
  };
}

function runNative(x: QgemmArgs): { out: Float32Array; acc: Int32Array } {
  const out = new Float32Array(x.m * x.n).fill(NaN),
    acc = new Int32Array(x.m * x.n).fill(-0x12345678);
  q!.cpuQgemmU8S8S32(x.a, x.b, x.bScale, x.bZeroPoint, x.bias, out, acc, x.m, x.n, x.k, x.aScale, x.aZeroPoint, x.relu);
  return { out, acc };
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 4, 64],
  [2, 7, 63],
  [5, 9, 65],
  [17, 13, 129],
  [33, 31, 200],
  [64, 256, 784],
  [70, 10, 256],
  [129, 33, 25],
  [6, 3, 1000],
];

describe.skipIf(!q)(`native int8 GEMM (cpuQgemmU8S8S32) vs the js reference${label}`, () => {
  it('reports its paths: the best one this CPU has, scalar always', () => {
    const info = q!.cpuQgemmInfo();
    expect(info.supportedIsas).toContain('scalar');
    expect(info.supportedIsas[0]).toBe(info.isa);
    expect(q!.cpuQgemmSelectIsa('no-such-isa')).toBe(false);
  });

  for (const isa of isas) {
    it(`${isa}: exact int32 acc and bit-identical out on random inputs, every shape and option`, () => {
      expect(q!.cpuQgemmSelectIsa(isa)).toBe(true);
      expect(q!.cpuQgemmInfo().isa).toBe(isa);
      let seed = SEED;
      for (const [m, n, k] of SHAPES) {
        for (const o of [{}, { zb: true, relu: true }, { bias: false, fill: 'low' as Fill }]) {
          const r = rng(++seed);
          const x = makeArgs(m, n, k, r, o);
          qgemmJs(x);
          const got = runNative(x);
          const where = `seed ${seed}, isa ${isa}, (m, n, k) = (${m}, ${n}, ${k}), ${JSON.stringify(o)}`;
          const da = firstDiff(got.acc, x.acc!);
          expect(da, `${where}: acc[${da}] ${got.acc[da]} vs ${x.acc![da]}`).toBe(-1);
          const dout = firstDiff(got.out, x.out);
          expect(dout, `${where}: out[${dout}] ${got.out[dout]} vs ${x.out[dout]}`).toBe(-1);
        }
      }
    });

    it(`${isa}: the vpmaddubsw saturation edge (a = 255, b = ±128/127, long k) stays exact`, () => {
      q!.cpuQgemmSelectIsa(isa);
      const r = rng(SEED + 99);
      for (const [m, n, k] of [
        [8, 8, 4096],
        [3, 5, 33],
      ] as const) {
        const x = makeArgs(m, n, k, r, { fill: 'edge' });
        qgemmJs(x);
        const got = runNative(x);
        expect(firstDiff(got.acc, x.acc!), `seed ${SEED + 99}`).toBe(-1);
        // the all-extreme case by hand: a ≡ 255, b ≡ −128 → each acc is k · (255 − za) · (−128)
        const a = new Uint8Array(m * k).fill(255),
          b = new Int8Array(n * k).fill(-128);
        const y = { ...x, a, b, bZeroPoint: new Int32Array(n), aZeroPoint: 3 };
        const g = runNative(y);
        for (const v of g.acc) expect(v).toBe(k * 252 * -128);
      }
    });
  }

  it('int8 conv2d (cpuQconv2dU8S8S32: im2col into the packed buffer, NCHW out) equals the direct js reference bit for bit, every path', () => {
    const shapes = [
      { n: 2, c: 3, h: 9, width: 8, k: 5, r: 3, s: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
      { n: 3, c: 1, h: 28, width: 28, k: 16, r: 5, s: 5, stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
      { n: 1, c: 4, h: 11, width: 7, k: 3, r: 5, s: 2, stride: [2, 1], padding: [2, 0], dilation: [1, 2] },
      { n: 2, c: 6, h: 10, width: 10, k: 33, r: 3, s: 3, stride: [3, 2], padding: [1, 2], dilation: [2, 1] },
    ] as const;
    for (const isa of isas) {
      q!.cpuQgemmSelectIsa(isa);
      let seed = SEED + 1000;
      for (const sh of shapes)
        for (const relu of [false, true]) {
          const r = rng(++seed);
          const a: QConv2dArgs = {
            ...sh,
            stride: [...sh.stride],
            padding: [...sh.padding],
            dilation: [...sh.dilation],
            x: new Uint8Array(sh.n * sh.c * sh.h * sh.width).map(() => (r() < 0.3 ? 255 : Math.floor(r() * 256))),
            xScale: 0.01 + r() * 0.1,
            xZeroPoint: Math.floor(r() * 256),
            w: new Int8Array(sh.k * sh.c * sh.r * sh.s).map(() => Math.floor(r() * 256) - 128),
            wScale: new Float32Array(sh.k).map(() => 0.001 + r() * 0.01),
            wZeroPoint: new Int32Array(sh.k).map(() => Math.floor(r() * 9) - 4),
            bias: relu ? new Float32Array(sh.k).map(() => r() - 0.5) : null,
            relu,
          };
          const ref = qconv2dDirect(a);
          const got = qconv2d(a); // the fused native entry (no acc asked)
          expect(got.acc).toBeNull();
          const bad = got.out.findIndex((v, i) => !Object.is(v, ref.out[i]));
          expect(bad, `seed ${seed}, isa ${isa}, ${JSON.stringify(sh)}: out[${bad}] ${got.out[bad]} vs ${ref.out[bad]}`).toBe(-1);
        }
    }
    q!.cpuQgemmSelectIsa('auto');
  });

  it('cpuQuantizeU8 equals the js quantizeForKernel bit for bit (ties, clamps, qint8 shift, odd lengths), and refuses NaN', () => {
    const r = rng(SEED + 5);
    for (const isa of isas) {
      q!.cpuQgemmSelectIsa(isa);
      for (const p of [
        { scale: 0.05, zeroPoint: 17, dtype: 'quint8', quantMin: 0, quantMax: 255 },
        { scale: 0.25, zeroPoint: 3, dtype: 'quint8', quantMin: 0, quantMax: 127 },
        { scale: 0.1, zeroPoint: 0, dtype: 'qint8', quantMin: -128, quantMax: 127 },
      ] as InputQParams[]) {
        const n = 1000 + Math.floor(r() * 37);
        // halves (ties) of the grid, values far outside the range, ±0, infinities
        const x = new Float32Array(n).map((_, i) =>
          i % 7 === 0 ? (Math.floor(r() * 80) - 40 + 0.5) * p.scale : (r() - 0.5) * 300 * p.scale,
        );
        x[1] = Infinity;
        x[2] = -Infinity;
        x[3] = -0;
        const js = new Uint8Array(n),
          nat = new Uint8Array(n);
        process.env.WATTGRAD_CPU_KERNELS = 'js';
        resetNativeCpuForTests();
        try {
          quantizeForKernel(x, p, js);
        } finally {
          delete process.env.WATTGRAD_CPU_KERNELS;
          resetNativeCpuForTests();
        }
        q!.cpuQuantizeU8(x, nat, n, p.scale, p.zeroPoint, p.quantMin, p.quantMax, p.dtype === 'qint8' ? 128 : 0);
        const bad = nat.findIndex((v, i) => v !== js[i]);
        expect(bad, `isa ${isa}, ${JSON.stringify(p)}: x[${bad}] = ${x[bad]} → ${nat[bad]} vs ${js[bad]}`).toBe(-1);
        x[500] = NaN;
        expect(() => q!.cpuQuantizeU8(x, nat, n, p.scale, p.zeroPoint, p.quantMin, p.quantMax, p.dtype === 'qint8' ? 128 : 0)).toThrow(
          /cpuQuantizeU8: the input holds a NaN/,
        );
      }
    }
    q!.cpuQgemmSelectIsa('auto');
  });

  it('k = 0: acc 0 and out = bias; m or n = 0 writes nothing', () => {
    for (const isa of isas) {
      q!.cpuQgemmSelectIsa(isa);
      const x = makeArgs(3, 5, 0, rng(SEED + 7), { relu: true });
      const got = runNative(x);
      expect([...got.acc]).toEqual(new Array(15).fill(0));
      for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) expect(got.out[i * 5 + j]).toBe(Math.max(0, x.bias![j]!));
      expect(() => runNative(makeArgs(0, 5, 9, rng(1)))).not.toThrow();
    }
    q!.cpuQgemmSelectIsa('auto');
  });

  it('the same result for 1, 2 and 3 threads', () => {
    q!.cpuQgemmSelectIsa('auto');
    const x = makeArgs(97, 45, 300, rng(SEED + 3));
    const ref: Int32Array[] = [];
    for (const t of [1, 2, 3]) {
      q!.cpuSetNumThreads(t);
      ref.push(runNative(x).acc);
    }
    q!.cpuSetNumThreads(threads0);
    expect(firstDiff(ref[0]!, ref[1]!)).toBe(-1);
    expect(firstDiff(ref[0]!, ref[2]!)).toBe(-1);
  });

  it('argument checks name the entry point and the argument', () => {
    const x = makeArgs(2, 3, 4, rng(5));
    const f = q!.cpuQgemmU8S8S32.bind(q);
    expect(() => f(x.a, x.b, x.bScale, x.bZeroPoint, null, new Float32Array(5), null, 2, 3, 4, 0.1, 0, false)).toThrow(
      /cpuQgemmU8S8S32: out holds 5 elements, needs 6/,
    );
    expect(() => f(new Uint8Array(8), x.b, x.bScale, x.bZeroPoint, null, x.out, null, 2, 3, 4, 0.1, 300, false)).toThrow(/aZeroPoint/);
    expect(() => f(x.b as unknown as Uint8Array, x.b, x.bScale, x.bZeroPoint, null, x.out, null, 2, 3, 4, 0.1, 0, false)).toThrow(
      /a must be a Uint8Array/,
    );
  });

  it('WATTGRAD_CPU_ISA caps the int8 path in a fresh process (avx2 → no vnni, sse2 → scalar)', () => {
    for (const [env, want] of [
      ['avx2', 'avx2'],
      ['sse2', 'scalar'],
    ] as const) {
      if (!isas.includes(want)) continue;
      const r = spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(load.path)}); console.log(b.cpuQgemmInfo().isa)`], {
        env: { ...process.env, WATTGRAD_CPU_ISA: env },
        encoding: 'utf8',
      });
      expect(r.stdout.trim(), r.stderr).toBe(want);
    }
  });
});
