// Static post-training quantization and QAT pieces: int8 conv (im2col + qgemm vs the direct
// seven-loop reference, exact int32), fusion (BatchNorm folding, fused ReLU), prepare / calibrate /
// convert on small models (int8 outputs against the float model and against the arithmetic done by
// hand from the integers), stubs, symmetric int8 activations, the histogram observer, FakeQuantize
// and prepareQat gradients, and the errors (convert before calibrate, unsupported layers).
import { afterEach, describe, expect, it } from 'vitest';
import { manualSeed, noGrad, randn, rand, tensor, tidy, quantization, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type * as Q from '../../lib/quantization/index.js';
import { mseLoss as mse } from '../../lib/ops/loss.js';

const q8 = quantization;
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
const at = (m: nn.AnyModule, i: number): nn.AnyModule => (m as unknown as Record<string, nn.AnyModule>)[String(i)]!;
const arr = (t: Tensor): number[] => [...(t.dataSync() as Float32Array)];
const maxAbsDiff = (a: number[], b: number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const maxAbs = (a: number[]): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

afterEach(() => q8.setQgemmKernel(null));

describe('int8 conv2d: im2col + qgemm against the direct reference', () => {
  const shapes = [
    { n: 2, c: 3, h: 9, width: 8, k: 5, r: 3, s: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
    { n: 1, c: 4, h: 11, width: 7, k: 3, r: 5, s: 2, stride: [2, 1], padding: [2, 0], dilation: [1, 2] },
    { n: 3, c: 1, h: 6, width: 6, k: 7, r: 1, s: 1, stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    { n: 2, c: 6, h: 10, width: 10, k: 4, r: 3, s: 3, stride: [3, 2], padding: [1, 2], dilation: [2, 1] },
  ] as const;
  it('exact int32 accumulators and the same float32 outputs, js and default (native when built) qgemm, with zero points, bias, ReLU', () => {
    let seed = SEED;
    for (const sh of shapes) {
      for (const relu of [false, true]) {
        const r = rng(++seed);
        const a: Q.QConv2dArgs = {
          ...sh,
          stride: [...sh.stride],
          padding: [...sh.padding],
          dilation: [...sh.dilation],
          x: new Uint8Array(sh.n * sh.c * sh.h * sh.width).map(() => Math.floor(r() * 256)),
          xScale: 0.01 + r() * 0.1,
          xZeroPoint: Math.floor(r() * 256),
          w: new Int8Array(sh.k * sh.c * sh.r * sh.s).map(() => Math.floor(r() * 255) - 127),
          wScale: new Float32Array(sh.k).map(() => 0.001 + r() * 0.01),
          wZeroPoint: new Int32Array(sh.k).map(() => Math.floor(r() * 9) - 4),
          bias: new Float32Array(sh.k).map(() => r() - 0.5),
          relu,
        };
        const ref = q8.qconv2dDirect(a);
        for (const js of [true, false]) {
          const got = q8.qconv2d(a, { acc: true, js });
          expect(got.shape).toEqual(ref.shape);
          const bad = got.acc!.findIndex((v, i) => v !== ref.acc[i]);
          expect(bad, `seed ${seed}, ${JSON.stringify(sh)}, js=${js}`).toBe(-1);
          expect(got.out.findIndex((v, i) => !Object.is(v, ref.out[i]))).toBe(-1);
        }
      }
    }
  });
});

describe('fuseModules', () => {
  it('folds BatchNorm2d into Conv2d (eval) and fuses ReLU: same outputs as the unfused model', () => {
    manualSeed(3);
    const m = new nn.Sequential(
      new nn.Conv2d(2, 4, 3, { bias: false }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.Flatten(),
      new nn.Linear(4 * 4 * 4, 5),
      new nn.ReLU(),
    );
    // give the BatchNorm non-trivial statistics: a few training batches
    m.train();
    noGrad(() => tidy(() => [0, 1, 2].forEach(() => m.forward(randn([8, 2, 6, 6]).mul(2).add(1)))));
    m.eval();
    const groups = q8.fusableModules(m);
    expect(groups).toEqual([
      ['0', '1', '2'],
      ['4', '5'],
    ]);
    const f = q8.fuseModules(m, groups);
    expect(at(f, 0)).toBeInstanceOf(q8.ConvReLU2d);
    expect(at(f, 1)).toBeInstanceOf(nn.Identity);
    expect(at(f, 4)).toBeInstanceOf(q8.LinearReLU);
    expect(at(m, 0)).toBeInstanceOf(nn.Conv2d); // a copy: the original is unchanged
    noGrad(() =>
      tidy(() => {
        const x = randn([3, 2, 6, 6]);
        const a = arr(m.forward(x)),
          b = arr(f.forward(x));
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-4 * Math.max(1, maxAbs(a)));
      }),
    );
  });
  it('refuses BatchNorm folding in training mode and unknown patterns, naming them', () => {
    const m = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.Tanh());
    expect(() => q8.fuseModules(m, ['0', '1'])).toThrow(/needs eval mode/);
    expect(() => q8.fuseModules(m.eval(), ['1', '2'])).toThrow(/cannot fuse \[1, 2\] \(BatchNorm2d, Tanh\)/);
    expect(() => q8.fuseModules(m, ['0', 'nope'])).toThrow(/no module 'nope'/);
  });
});

function smallMlp(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(12, 16), new nn.ReLU(), new nn.Linear(16, 6));
}

describe('prepare / calibrate / convert', () => {
  it('int8 Linear model: close to float, int8 storage smaller, prepared model unchanged by convert, the original untouched', () => {
    manualSeed(1);
    const m = smallMlp().eval();
    const f = q8.fuseModules(m, q8.fusableModules(m));
    const p = q8.prepare(f, q8.getDefaultQconfig('x86'));
    expect(at(p, 0)).toBeInstanceOf(q8.ObservedLinear);
    expect(at(m, 0)).toBeInstanceOf(nn.Linear);
    const data = [0, 1, 2, 3].map(() => randn([32, 12]));
    expect(q8.calibrate(p, data)).toBe(4);
    const q = q8.convert(p);
    expect(at(q, 0)).toBeInstanceOf(q8.QuantizedLinear);
    expect((at(q, 0) as Q.QuantizedLinear).relu).toBe(true);
    expect(at(p, 0)).toBeInstanceOf(q8.ObservedLinear);
    noGrad(() =>
      tidy(() => {
        const x = randn([20, 12]);
        const a = arr(m.forward(x)),
          b = arr(q.forward(x));
        expect(maxAbsDiff(a, b)).toBeLessThan(0.05 * maxAbs(a));
        expect(maxAbsDiff(a, b)).toBeGreaterThan(0); // it really is quantized
      }),
    );
    const s = q.summary([1, 12], { print: false }).totals;
    expect(s.quantizedFloat32Bytes! / s.quantizedBytes!).toBeGreaterThan(2); // 288 weights, 22 float biases
    expect((at(q, 0) as Q.QuantizedLinear).qweight.data.byteLength).toBe(12 * 16);
    for (const d of data) d.dispose();
  });

  it('the int8 output equals the arithmetic done by hand from the integers (input qparams from the observer)', () => {
    manualSeed(2);
    const lin = new nn.Linear(9, 4);
    const p = q8.prepare(new nn.Sequential(lin), {
      activation: q8.MinMaxObserver.withArgs({}),
      weight: q8.PerChannelMinMaxObserver.withArgs({ quantMin: -127, quantMax: 127 }),
    });
    const x = rand([5, 9]).mul(4).sub(1);
    q8.calibrate(p, x);
    const q = q8.convert(p);
    const ql = at(q, 0) as Q.QuantizedLinear;
    const ip = ql.inputQParams;
    const xv = arr(x);
    let lo = Infinity,
      hi = -Infinity;
    for (const v of xv) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const [s, z] = q8.qparamsFromRange(lo, hi, 0, 255, false, 'quint8');
    expect(ip.scale).toBe(s);
    expect(ip.zeroPoint).toBe(z);
    const w = ql.qweight;
    const bias = arr(ql.bias!);
    const want: number[] = [];
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 4; j++) {
        let acc = 0;
        for (let k = 0; k < 9; k++) {
          const qx = Math.max(0, Math.min(255, q8.roundHalfEven(xv[i * 9 + k]! / s) + z));
          acc += (qx - z) * w.data[j * 9 + k]!;
        }
        want.push(Math.fround(s * w.scale[j]!) * acc + bias[j]!);
      }
    const got = arr(noGrad(() => q.forward(x)));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    x.dispose();
  });

  it('int8 CNN (Conv2d + ReLU fused, MaxPool2d and Flatten float in between) close to float; symmetric qint8 activations too', () => {
    manualSeed(4);
    const m = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 4 * 4, 3),
    ).eval();
    const calib = [0, 1, 2].map(() => rand([8, 1, 8, 8]));
    for (const backend of ['x86', 'symmetric', 'qnnpack'] as const) {
      const q = q8.quantizeStatic(m, calib, { qconfig: q8.getDefaultQconfig(backend) });
      expect(at(q, 0)).toBeInstanceOf(q8.QuantizedConv2d);
      expect(String(at(q, 0))).toContain(backend === 'symmetric' ? 'input=qint8' : 'input=quint8');
      noGrad(() =>
        tidy(() => {
          const x = rand([4, 1, 8, 8]);
          const a = arr(m.forward(x)),
            b = arr(q.forward(x));
          expect(maxAbsDiff(a, b), backend).toBeLessThan(0.06 * maxAbs(a));
        }),
      );
      q.dispose();
    }
    for (const c of calib) c.dispose();
  });

  it('QuantStub / DeQuantStub / QuantWrapper: the stub becomes Quantize (values on the int8 grid)', () => {
    manualSeed(5);
    const w = new q8.QuantWrapper(smallMlp());
    const p = q8.prepare(w);
    q8.calibrate(p, [randn([16, 12])]);
    const q = q8.convert(p);
    expect(q.quant).toBeInstanceOf(q8.Quantize);
    expect(q.dequant).toBeInstanceOf(q8.DeQuantize);
    const qp = (q.quant as unknown as Q.Quantize).qparams;
    const x = randn([3, 12]);
    const snapped = arr(noGrad(() => (q.quant as unknown as Q.Quantize).forward(x)));
    for (const v of snapped) expect(Math.abs(v / qp.scale - Math.round(v / qp.scale))).toBeLessThan(1e-3);
    expect(maxAbsDiff(snapped, arr(x))).toBeLessThanOrEqual(qp.scale / 2 + 1e-6 + Math.max(0, maxAbs(arr(x)) - 255 * qp.scale));
    x.dispose();
  });

  it('errors: convert before calibrate, unsupported layers, grouped conv, backward through int8, calibrate an unprepared model', () => {
    const p = q8.prepare(smallMlp());
    expect(() => q8.convert(p)).toThrow(/convert before calibrate/);
    expect(() => q8.convert(smallMlp())).toThrow(/no observed layers; prepare it/);
    expect(() => q8.prepare(smallMlp(), q8.getDefaultQconfig(), { layers: [nn.LSTM] })).toThrow(
      /nn.LSTM is not supported.*quantizeDynamic/,
    );
    expect(() => q8.prepare(new nn.Sequential(new nn.Conv2d(4, 4, 3, { groups: 2 })))).toThrow(/groups=2.*exclude/);
    expect(() => q8.calibrate(smallMlp(), [randn([2, 12])])).toThrow(/no observers; prepare it first/);
    expect(() => q8.getDefaultQconfig('arm' as never)).toThrow(/backend must be/);
    q8.calibrate(p, [randn([4, 12])]);
    const q = q8.convert(p);
    const x = randn([2, 12], { requiresGrad: true });
    expect(() => q.forward(x).sum().backward()).toThrow(/backward through a static int8 layer/);
    expect(() => q8.prepare(q)).toThrow(/already quantized/);
    // exclude leaves a layer float
    const pe = q8.prepare(smallMlp(), q8.getDefaultQconfig(), { exclude: ['2'] });
    expect(at(pe, 2)).toBeInstanceOf(nn.Linear);
  });
});

describe('observers: histogram, percentile', () => {
  it('the error search stays within 1% of min/max on what it saw; the percentile cut drops a few outliers and cuts the error on the bulk', () => {
    const r = rng(SEED);
    const v = new Float32Array(20000).map(() => r() * 2 - 1);
    for (let i = 0; i < 5; i++) v[i * 1000] = 40 + i;
    const x = tensor(v, { shape: [200, 100] });
    const mm = new q8.MinMaxObserver(),
      h = new q8.HistogramObserver(),
      pc = new q8.HistogramObserver({ percentile: 99.9 });
    for (const o of [mm, h, pc]) o.forward(x);
    const sm = mm.calculateQparams().scale[0]!,
      sp = pc.calculateQparams().scale[0]!;
    expect(sp).toBeLessThan(sm / 10);
    const err = (o: Q.ObserverBase, bulkOnly: boolean): number => {
      const { scale, zeroPoint } = o.calculateQparams();
      let e = 0;
      for (const t of v) {
        if (bulkOnly && Math.abs(t) > 1) continue;
        const qv = Math.max(0, Math.min(255, Math.round(t / scale[0]!) + zeroPoint[0]!));
        e += (t - scale[0]! * (qv - zeroPoint[0]!)) ** 2;
      }
      return e;
    };
    // the search works on bin centres (2048 bins): within 1% of min/max's error on the raw values, never far worse
    expect(err(h, false)).toBeLessThanOrEqual(err(mm, false) * 1.01);
    expect(err(pc, true)).toBeLessThan(err(mm, true) / 50);
    // a long-tailed bulk: the search stays within 1% of min/max (it gains up to ~4% here)
    const g = new Float32Array(20000).map(() => Math.tan((r() - 0.5) * 3));
    const y = tensor(g, { shape: [20000] });
    const mm2 = new q8.MinMaxObserver(),
      h2 = new q8.HistogramObserver();
    mm2.forward(y);
    h2.forward(y);
    const e2 = (o: Q.ObserverBase): number => {
      const { scale, zeroPoint } = o.calculateQparams();
      let e = 0;
      for (const t of g) {
        const qv = Math.max(0, Math.min(255, Math.round(t / scale[0]!) + zeroPoint[0]!));
        e += (t - scale[0]! * (qv - zeroPoint[0]!)) ** 2;
      }
      return e;
    };
    expect(e2(h2)).toBeLessThanOrEqual(e2(mm2) * 1.01);
    x.dispose();
    y.dispose();
  });
  it('a second, wider batch re-bins the histogram (range grows, counts kept)', () => {
    const h = new q8.HistogramObserver({ bins: 64 });
    h.forward(tensor([0, 0.5, 1, 1]));
    h.forward(tensor([-3, 3]));
    expect(h.minVal[0]).toBe(-3);
    expect(h.maxVal[0]).toBe(3);
    expect(h.histogram.reduce((a, b) => a + b, 0)).toBe(6);
  });
});

describe('quantization-aware training', () => {
  it('FakeQuantize observes, then fake-quantizes with the straight-through gradient', () => {
    const fq = new q8.FakeQuantize({ observer: q8.MinMaxObserver });
    const x = tensor([-1, -0.3, 0.2, 0.9, 2], { requiresGrad: true });
    const y = fq.forward(x);
    const qp = fq.qparams!;
    expect(qp.scale[0]).toBeCloseTo(3 / 255, 6);
    for (const v of arr(y)) expect(Math.abs(v / qp.scale[0]! - Math.round(v / qp.scale[0]!))).toBeLessThan(1e-3);
    y.sum().backward();
    expect(arr(x.grad!)).toEqual([1, 1, 1, 1, 1]); // all inside the observed range
    fq.disableObserver();
    const x2 = tensor([-5, 0.5, 5], { requiresGrad: true });
    fq.forward(x2).sum().backward();
    expect(arr(x2.grad!)).toEqual([0, 1, 0]); // clamped ends get no gradient
    fq.disableFakeQuant();
    expect(fq.forward(x2)).toBe(x2);
  });

  it('prepareQat: fake quant on input and weight in the forward path, gradients reach the float weights, a few steps lower the loss, convert gives int8 close to the QAT model', () => {
    manualSeed(7);
    const m = smallMlp();
    const p = q8.prepareQat(q8.fuseModules(m.eval(), [['0', '1']]));
    expect(p.training).toBe(true);
    const l0 = at(p, 0) as Q.ObservedLinear;
    expect(l0.weightFakeQuant).toBeInstanceOf(q8.FakeQuantize);
    const x = randn([64, 12]),
      t = randn([64, 6]);
    const params = p.parameters();
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      tidy(() => {
        const loss = mse(p.forward(x) as Tensor, t);
        losses.push(loss.item());
        for (const q of params) q.grad = null;
        loss.backward();
        noGrad(() => {
          for (const q of params) q.sub_(q.grad!.mul(0.05));
        });
      });
    }
    expect(params[0]!.grad).not.toBeNull();
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.95);
    p.eval();
    const q = q8.convert(p);
    expect(at(q, 0)).toBeInstanceOf(q8.QuantizedLinear);
    noGrad(() => {
      const a = arr(p.forward(x)),
        b = arr(q.forward(x));
      expect(maxAbsDiff(a, b)).toBeLessThan(0.05 * maxAbs(a));
    });
    expect(() => q8.prepareQat(smallMlp(), q8.getDefaultQconfig())).toThrow(/must return a FakeQuantize/);
  });

  it('prepareQat on a CNN (Conv2d+BatchNorm folded, ConvReLU2d): gradients reach the conv weight through both fake quants, convert gives QuantizedConv2d close to the QAT model', () => {
    manualSeed(8);
    const m = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.Flatten(),
      new nn.Linear(4 * 6 * 6, 3),
    ).eval();
    const p = q8.prepareQat(q8.fuseModules(m, q8.fusableModules(m)));
    const c0 = at(p, 0) as Q.ObservedConv2d;
    expect(c0).toBeInstanceOf(q8.ObservedConv2d);
    expect(c0.relu).toBe(true);
    const x = rand([16, 1, 6, 6]),
      t = randn([16, 3]);
    const params = p.parameters();
    const losses: number[] = [];
    for (let step = 0; step < 20; step++)
      tidy(() => {
        const loss = mse(p.forward(x) as Tensor, t);
        losses.push(loss.item());
        for (const q of params) q.grad = null;
        loss.backward();
        noGrad(() => {
          for (const q of params) q.sub_(q.grad!.mul(0.05));
        });
      });
    expect(arr(c0.weight.grad!).some((v) => v !== 0)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    p.eval();
    const q = q8.convert(p);
    expect(at(q, 0)).toBeInstanceOf(q8.QuantizedConv2d);
    noGrad(() => {
      const a = arr(p.forward(x)),
        b = arr(q.forward(x));
      expect(maxAbsDiff(a, b)).toBeLessThan(0.05 * maxAbs(a));
    });
  });
});
