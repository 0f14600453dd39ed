// Observers and fake quantization against torch.ao.quantization (test/fixtures/make_static_quant_fixtures.py,
// torch 1.13): qparams of MinMax / MovingAverage / PerChannel observers over the same batches, and
// fake_quantize_per_tensor_affine / _per_channel_affine forward values and STE gradients.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensor, quantization } from '../../lib/index.js';

const { MinMaxObserver, MovingAverageMinMaxObserver, PerChannelMinMaxObserver, fakeQuantize } = quantization;
type Obs = InstanceType<typeof quantization.ObserverBase>;
interface FQ {
  x: number[];
  g: number[];
  scale: number | number[];
  zero_point: number | number[];
  quant_min: number;
  quant_max: number;
  y: number[];
  dx: number[];
}
const fx = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/static_quantization.json'), 'utf8')) as {
  batches: number[][];
  batch_shapes: number[][];
  weight: number[];
  weight_shape: number[];
  observers: Record<string, { scale: number[]; zero_point: number[] }>;
  fake_quant_tensor: FQ;
  fake_quant_channel: FQ;
};

describe('observers match torch', () => {
  const cases: [string, () => Obs, 'batches' | 'weight'][] = [
    ['minmax_quint8', () => new MinMaxObserver(), 'batches'],
    ['minmax_quint8_reduce', () => new MinMaxObserver({ reduceRange: true }), 'batches'],
    ['minmax_qint8_symmetric', () => new MinMaxObserver({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' }), 'batches'],
    ['minmax_quint8_symmetric', () => new MinMaxObserver({ qscheme: 'per_tensor_symmetric' }), 'batches'],
    ['moving_average', () => new MovingAverageMinMaxObserver(), 'batches'],
    ['moving_average_0.5', () => new MovingAverageMinMaxObserver({ averagingConstant: 0.5 }), 'batches'],
    ['per_channel_weight', () => new PerChannelMinMaxObserver({ dtype: 'qint8', quantMin: -127, quantMax: 127 }), 'weight'],
  ];
  for (const [name, make, data] of cases) {
    it(name, () => {
      const o = make();
      const inputs =
        data === 'batches'
          ? fx.batches.map((b, i) => tensor(b, { shape: fx.batch_shapes[i] }))
          : [tensor(fx.weight, { shape: fx.weight_shape })];
      for (const x of inputs) o.forward(x);
      const q = o.calculateQparams();
      const want = fx.observers[name]!;
      expect([...q.zeroPoint]).toEqual(want.zero_point);
      expect(q.scale.length).toBe(want.scale.length);
      q.scale.forEach((s, i) => expect(s).toBeCloseTo(want.scale[i]!, 6));
      for (const x of inputs) x.dispose();
    });
  }
});

describe('fake quantization matches torch (values and straight-through gradients)', () => {
  for (const [name, f, perChannel] of [
    ['per tensor', fx.fake_quant_tensor, false],
    ['per channel', fx.fake_quant_channel, true],
  ] as const) {
    it(name, () => {
      const shape = perChannel ? [4, 5] : [5, 6];
      const x = tensor(f.x, { shape, requiresGrad: true });
      const scale = Float32Array.from(perChannel ? (f.scale as number[]) : [f.scale as number]);
      const zp = Int32Array.from(perChannel ? (f.zero_point as number[]) : [f.zero_point as number]);
      const y = fakeQuantize(x, {
        scale,
        zeroPoint: zp,
        dtype: perChannel ? 'qint8' : 'quint8',
        qscheme: perChannel ? 'per_channel_affine' : 'per_tensor_affine',
        quantMin: f.quant_min,
        quantMax: f.quant_max,
        axis: perChannel ? 0 : null,
      });
      const yv = [...(y.dataSync() as Float32Array)];
      yv.forEach((v, i) => expect(v).toBeCloseTo(f.y[i]!, 5));
      y.backward(tensor(f.g, { shape }));
      const dx = [...(x.grad!.dataSync() as Float32Array)];
      expect(dx.filter((v) => v === 0).length).toBeGreaterThan(0); // some values really were clamped
      dx.forEach((v, i) => expect(v).toBeCloseTo(f.dx[i]!, 6));
    });
  }
});
