// qgemm (int8 × uint8 → int32 → float32): exact int32 accumulators against BigInt sums, and the
// dequantized output against a float64 reference, on random inputs with odd shapes; the quantizers'
// round trip and parameters; the kernel hook.
import { describe, expect, it } from 'vitest';
import {
  qgemm,
  qgemmJs,
  setQgemmKernel,
  qgemmKernelName,
  quantizeWeightPerChannel,
  quantizeActivations,
  activationParams,
  roundHalfEven,
  QTensor,
  type QgemmArgs,
} from '../../lib/quantization/index.js';

/** A small deterministic generator (xorshift32), so failures reproduce. */
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

function randomArgs(
  m: number,
  n: number,
  k: number,
  seed: number,
  o: { zb?: boolean; bias?: boolean; relu?: boolean; full?: boolean } = {},
): QgemmArgs {
  const r = rng(seed);
  const a = Uint8Array.from({ length: m * k }, () => Math.floor(r() * 256));
  const b = Int8Array.from({ length: n * k }, () => Math.floor(r() * 256) - 128);
  // extreme values present: all-255 / -128 corners are where an int16 pair-sum would saturate
  if (o.full && m * k > 0 && n * k > 0) {
    a.fill(255, 0, k);
    b.fill(-128, 0, k);
  }
  return {
    m,
    n,
    k,
    a,
    b,
    aScale: 0.01 + r() * 0.05,
    aZeroPoint: Math.floor(r() * 256),
    bScale: Float32Array.from({ length: n }, () => 0.001 + r() * 0.02),
    bZeroPoint: o.zb ? Int32Array.from({ length: n }, () => Math.floor(r() * 21) - 10) : new Int32Array(n),
    bias: o.bias === false ? null : Float32Array.from({ length: n }, () => r() * 2 - 1),
    relu: o.relu ?? false,
    out: new Float32Array(m * n),
    acc: new Int32Array(m * n),
  };
}

function exactAcc(x: QgemmArgs, i: number, j: number): bigint {
  let s = 0n;
  for (let p = 0; p < x.k; p++) s += BigInt(x.a[i * x.k + p]! - x.aZeroPoint) * BigInt(x.b[j * x.k + p]! - x.bZeroPoint[j]!);
  return s;
}

describe('qgemm (js reference)', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 9, 33],
    [64, 10, 784],
    [5, 13, 1],
    [2, 3, 4097],
  ];
  for (const [m, n, k] of shapes) {
    it(`int32 accumulators equal the exact integer sums, output matches float64 (${m}×${k} · ${n}×${k}ᵀ)`, () => {
      for (const opts of [{}, { zb: true }, { relu: true, full: true }, { bias: false, zb: true }]) {
        const x = randomArgs(m, n, k, m * 1000 + n * 10 + k, opts);
        qgemm(x);
        let nonzero = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const want = exactAcc(x, i, j);
            expect(BigInt(x.acc![i * n + j]!)).toBe(want);
            let ref = x.aScale * x.bScale[j]! * Number(want) + (x.bias ? x.bias[j]! : 0);
            if (x.relu) ref = Math.max(ref, 0);
            const got = x.out[i * n + j]!;
            if (got !== 0) nonzero++;
            expect(Math.abs(got - ref)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref)));
          }
        }
        if (!x.relu) expect(nonzero).toBeGreaterThan(0);
      }
    });
  }

  it('the extremes: k · 255 · 128 sums in int32 without wrapping, and a k past the exact range is refused', () => {
    const k = 30000;
    const x = randomArgs(1, 1, k, 7);
    x.a.fill(255);
    x.b.fill(-128);
    x.aZeroPoint = 0;
    qgemm(x);
    expect(x.acc![0]).toBe(-255 * 128 * k);
    expect(() => qgemm(randomArgs(1, 1, 33100, 1))).toThrow(/qgemm: k = 33100 is too large for exact int32 accumulation/);
  });

  it('checks its arguments at the entry', () => {
    const x = randomArgs(2, 3, 4, 1);
    expect(() => qgemm({ ...x, a: new Uint8Array(7) })).toThrow(/qgemm: a \(2, 4\) must have 8 elements, got 7/);
    expect(() => qgemm({ ...x, b: new Uint8Array(12) as unknown as Int8Array })).toThrow(/b \(weights\) must be an Int8Array/);
    expect(() => qgemm({ ...x, bScale: new Float32Array(2) })).toThrow(/bScale must have 3 elements/);
    expect(() => qgemm({ ...x, aZeroPoint: 256 })).toThrow(/aZeroPoint must be an integer in \[0, 255\]/);
    expect(() => qgemm({ ...x, aScale: 0 })).toThrow(/aScale must be a positive finite number/);
  });

  it('setQgemmKernel installs a replacement behind qgemm() and null restores the default kernel', () => {
    let calls = 0;
    const spy = (a: QgemmArgs): void => {
      calls++;
      qgemmJs(a);
    };
    // 'qgemm_js', or the addon's cpuQgemmU8S8S32 when the loaded addon has one (then every test
    // above checked the native kernel: they all go through qgemm())
    const base = qgemmKernelName();
    expect(['qgemm_js', 'cpuQgemmU8S8S32 (native)']).toContain(base);
    setQgemmKernel(spy, 'qgemm_u8s8s32_test');
    try {
      expect(qgemmKernelName()).toBe('qgemm_u8s8s32_test');
      qgemm(randomArgs(2, 2, 2, 3));
      expect(calls).toBe(1);
    } finally {
      setQgemmKernel(null);
    }
    expect(qgemmKernelName()).toBe(base);
    expect(() => setQgemmKernel(42 as unknown as null)).toThrow(/setQgemmKernel: expected a function/);
  });
});

describe('quantizers', () => {
  it('roundHalfEven rounds ties to even like nearbyint', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -3]);
  });

  it('per-channel symmetric weights: scale = max|w| / 127, zero points 0, error at most scale / 2', () => {
    const r = rng(11);
    const rows = 7,
      cols = 19;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => (r() * 2 - 1) * (1 + (i % rows)));
    const q = quantizeWeightPerChannel(w, rows, cols);
    expect(q.dtype).toBe('qint8');
    expect(Array.from(q.zeroPoint)).toEqual(new Array(rows).fill(0));
    const deq = q.dequantize();
    for (let i = 0; i < rows; i++) {
      const amax = Math.max(...Array.from(w.subarray(i * cols, (i + 1) * cols), Math.abs));
      expect(q.scale[i]).toBeCloseTo(amax / 127, 6);
      for (let c = 0; c < cols; c++) {
        expect(Math.abs(q.data[i * cols + c]!)).toBeLessThanOrEqual(127);
        expect(Math.abs(deq[i * cols + c]! - w[i * cols + c]!)).toBeLessThanOrEqual(q.scale[i]! / 2 + 1e-7);
      }
    }
    // the largest |w| of each row maps to ±127 exactly
    expect(Math.max(...Array.from(q.data.subarray(0, cols), Math.abs))).toBe(127);
    expect(() => quantizeWeightPerChannel([1, NaN], 1, 2)).toThrow(/weight\[0, 1\] is NaN/);
  });

  it('activations: asymmetric uint8 over [min(x, 0), max(x, 0)], 0 exact, reduceRange uses [0, 127]', () => {
    const x = Float32Array.from([-1.3, 0, 0.25, 2.9, 1.1, -0.7]);
    for (const reduce of [true, false]) {
      const { data, scale, zeroPoint } = quantizeActivations(x, reduce);
      const qmax = reduce ? 127 : 255;
      expect(scale).toBeCloseTo(4.2 / qmax, 6);
      expect(zeroPoint).toBe(roundHalfEven(1.3 / scale));
      expect(data[1]).toBe(zeroPoint); // 0 is exact
      expect(Math.max(...data)).toBeLessThanOrEqual(qmax);
      for (let i = 0; i < x.length; i++) expect(Math.abs(scale * (data[i]! - zeroPoint) - x[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-6);
    }
    // all positive: the zero point is 0; all zero: a tiny positive scale, not a division by zero
    expect(activationParams(0.5, 3, true).zeroPoint).toBe(0);
    expect(activationParams(0, 0, true).scale).toBeGreaterThan(0);
    expect(() => quantizeActivations([1, NaN])).toThrow(/element 1 is NaN/);
  });

  it('QTensor checks its parameters', () => {
    expect(() => new QTensor('qint8', [2, 2], new Int8Array(3), new Float32Array([1, 1]), new Int32Array(2), 0)).toThrow(
      /3 values for shape \[2, 2\]/,
    );
    expect(() => new QTensor('qint8', [2, 2], new Int8Array(4), new Float32Array([1]), new Int32Array(1), 0)).toThrow(
      /need 2 scales and zero points/,
    );
    expect(() => new QTensor('qint8', [2], new Int8Array(2), new Float32Array([0]), new Int32Array(1), null)).toThrow(
      /scale\[0\] must be a positive/,
    );
    expect(() => new QTensor('quint8', [2], new Int8Array(2), new Float32Array([1]), new Int32Array(1), null)).toThrow(
      /quint8 data must be an Uint8Array/,
    );
  });
});
