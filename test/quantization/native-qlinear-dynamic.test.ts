// The addon's fused dynamic int8 Linear (cpuQlinearDynamicF32: min/max of the float batch, quint8
// parameters, quantization straight into the packed GEMM buffer, int8 GEMM, dequantization, bias,
// ReLU in one call) against the js path it replaces, quantizeActivations + qgemmJs: qparams equal,
// out bit for bit, on every path this CPU supports (forced with cpuQgemmSelectIsa), for odd shapes
// (the SSE2 min/max tail, k below one vector), reduceRange on and off, one-signed batches and a
// constant batch; NaN and infinity refused; and nn.quantized.dynamic.Linear with the addon equals
// the same layer on the js kernel. Skips, saying why, when the loaded addon lacks the entry:
//   npm run build:native -- --no-cuda --out=build/int8speed
//   WATTGRAD_NATIVE=$PWD/build/int8speed/Release/wattgrad.node npx vitest run test/quantization/native-qlinear-dynamic.test.ts
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/native.js';
import { qgemmJs, setQgemmKernel } from '../../lib/quantization/qgemm.js';
import { quantizeActivations, quantizeWeightPerChannel } from '../../lib/quantization/qtensor.js';
import { manualSeed, noGrad, randn, nn, quantization, tensor } from '../../lib/index.js';

interface QBinding {
  cpuQlinearDynamicF32(
    x: Float32Array,
    b: Int8Array,
    bScale: Float32Array,
    bZeroPoint: Int32Array,
    bias: Float32Array | null,
    out: Float32Array,
    qparams: Float64Array | null,
    m: number,
    n: number,
    k: number,
    reduceRange: boolean,
    relu: boolean,
  ): void;
  cpuQgemmInfo(): { isa: string; supportedIsas: string[] };
  cpuQgemmSelectIsa(name: string): boolean;
}
const load = loadNative();
const nb = load.binding as unknown as Partial<QBinding> | null;
const q: QBinding | null = nb && typeof nb.cpuQlinearDynamicF32 === 'function' ? (nb as QBinding) : null;
const label = q
  ? ''
  : ` [skipped: ${load.binding ? 'the loaded addon has no cpuQlinearDynamicF32 (rebuild: npm run build:native)' : `no native addon (${load.error})`}]`;
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

type Kind = 'mixed' | 'positive' | 'negative' | 'constant';
function makeCase(m: number, n: number, k: number, kind: Kind, r: () => number) {
  const x = new Float32Array(m * k);
  for (let i = 0; i < x.length; i++) {
    const v = (r() - 0.5) * 6;
    x[i] = kind === 'mixed' ? v : kind === 'positive' ? Math.abs(v) + 0.01 : kind === 'negative' ? -Math.abs(v) - 0.01 : 0.75;
  }
  const w = new Float32Array(n * k);
  for (let i = 0; i < w.length; i++) w[i] = (r() - 0.5) * 0.4;
  const qw = quantizeWeightPerChannel(w, n, k);
  const bias = new Float32Array(n);
  for (let j = 0; j < n; j++) bias[j] = (r() - 0.5) * 2;
  return { x, qw, bias };
}

function reference(
  x: Float32Array,
  m: number,
  n: number,
  k: number,
  qw: ReturnType<typeof quantizeWeightPerChannel>,
  bias: Float32Array | null,
  rr: boolean,
  relu: boolean,
) {
  const a = quantizeActivations(x, rr);
  const out = new Float32Array(m * n);
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
    relu,
    out,
  });
  return { out, scale: a.scale, zeroPoint: a.zeroPoint };
}

describe.skipIf(!q)(`native fused dynamic int8 Linear (cpuQlinearDynamicF32) vs quantizeActivations + qgemmJs${label}`, () => {
  for (const isa of isas) {
    it(`${isa}: same qparams and bit-identical out, every shape, sign pattern and option (seed ${SEED})`, () => {
      expect(q!.cpuQgemmSelectIsa(isa)).toBe(true);
      const r = rng(SEED);
      const shapes: [number, number, number][] = [
        [1, 1, 1],
        [3, 5, 7],
        [1, 10, 15],
        [5, 17, 16],
        [16, 10, 64],
        [17, 33, 100],
        [64, 64, 784],
        [7, 3, 129],
      ];
      for (const [m, n, k] of shapes) {
        for (const kind of ['mixed', 'positive', 'negative', 'constant'] as Kind[]) {
          for (const rr of [true, false]) {
            for (const relu of [false, true]) {
              const { x, qw, bias } = makeCase(m, n, k, kind, r);
              const b = relu ? null : bias;
              const ref = reference(x, m, n, k, qw, b, rr, relu);
              const out = new Float32Array(m * n).fill(Number.NaN);
              const qp = new Float64Array(2);
              q!.cpuQlinearDynamicF32(x, qw.data as Int8Array, qw.scale, qw.zeroPoint, b, out, qp, m, n, k, rr, relu);
              const what = `${isa} m=${m} n=${n} k=${k} ${kind} reduceRange=${rr} relu=${relu} seed=${SEED}`;
              expect([qp[0], qp[1]], what).toEqual([ref.scale, ref.zeroPoint]);
              expect(new Uint32Array(out.buffer), what).toEqual(new Uint32Array(ref.out.buffer));
            }
          }
        }
      }
      q!.cpuQgemmSelectIsa('auto');
    });
  }

  it('refuses NaN and infinity, naming the entry point', () => {
    const { x, qw, bias } = makeCase(4, 3, 20, 'mixed', rng(SEED + 1));
    const run = (v: Float32Array) => () =>
      q!.cpuQlinearDynamicF32(v, qw.data as Int8Array, qw.scale, qw.zeroPoint, bias, new Float32Array(12), null, 4, 3, 20, true, false);
    const nan = x.slice();
    nan[37] = Number.NaN;
    expect(run(nan)).toThrow(/cpuQlinearDynamicF32: .*NaN/);
    const nanTail = x.slice();
    nanTail[79] = Number.NaN; // the last element: the masked tail of the AVX-512 min/max
    expect(run(nanTail)).toThrow(/cpuQlinearDynamicF32: .*NaN/);
    const inf = x.slice();
    inf[3] = -Infinity;
    expect(run(inf)).toThrow(/cpuQlinearDynamicF32: .*infinity/);
    expect(() =>
      q!.cpuQlinearDynamicF32(x, qw.data as Int8Array, qw.scale, qw.zeroPoint, bias, new Float32Array(11), null, 4, 3, 20, true, false),
    ).toThrow(/cpuQlinearDynamicF32: out/);
  });

  it('nn.quantized.dynamic.Linear (quantizeDynamic) gives the same logits natively as on the js kernel, and names a NaN input', () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(37, 24), new nn.ReLU(), new nn.Linear(24, 5));
    const qm = quantization.quantizeDynamic(model);
    const x = randn([9, 37]);
    const nat = noGrad(() => qm.forward(x).dataSync() as Float32Array).slice();
    const prev = setQgemmKernel(qgemmJs, 'qgemm_js');
    let js: Float32Array;
    try {
      js = noGrad(() => qm.forward(x).dataSync() as Float32Array).slice();
    } finally {
      setQgemmKernel(null, prev);
    }
    expect(new Uint32Array(nat.buffer)).toEqual(new Uint32Array(js.buffer));
    expect(nat.some((v) => v !== 0)).toBe(true);
    const bad = Float32Array.from(x.dataSync() as Float32Array);
    bad[5] = Number.NaN;
    expect(() => noGrad(() => qm.forward(tensor(bad, { shape: [9, 37] })))).toThrow(/quantizeActivations: input element 5 is NaN/);
  });
});
