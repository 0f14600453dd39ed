// autocast: the rounding against torch's casts, bf16 results and master gradients against
// torch.autocast('cpu', dtype=torch.bfloat16) (test/fixtures/amp.json, written by
// test/fixtures/make_amp_fixtures.py), the op dtype policy, regions and their errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { amp, conv2d, crossEntropy, layerNorm, linear, matmul, mseLoss, softmax, sum, tensor, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { fromBf16Bits, toBf16Bits, fromF16Bits, toF16Bits } from '../../lib/io/safetensors.js';

type Num = number | string;
interface Case {
  name: string;
  op: 'matmul' | 'linear' | 'conv2d';
  attrs: { stride?: number; padding?: number };
  inputs: { shape: number[]; values: number[] }[];
  y: { shape: number[]; values: number[] };
  dy: number[];
  grads: number[][];
}
const FX = JSON.parse(readFileSync(new URL('../fixtures/amp.json', import.meta.url), 'utf8')) as {
  round: { x: Num[]; bfloat16: Num[]; float16: Num[] };
  autocast: Case[];
  policy: Record<string, string>;
};
const num = (v: Num): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
const same = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || Object.is(a, b);

/** The bf16 value nearest x (round to nearest even), computed independently of lib/amp via safetensors' bits. */
const bf = (x: number): number => fromBf16Bits(toBf16Bits(x));
const ulpBf16 = (x: number): number => 2 ** (Math.floor(Math.log2(Math.abs(x) || 2 ** -126)) - 7);

function run(c: Case, ts: Tensor[]): Tensor {
  if (c.op === 'matmul') return matmul(ts[0]!, ts[1]!);
  if (c.op === 'linear') return linear(ts[0]!, ts[1]!, ts[2] ?? null);
  return conv2d(ts[0]!, ts[1]!, ts[2] ?? null, { stride: c.attrs.stride ?? 1, padding: c.attrs.padding ?? 0 });
}

/**
 * float64 references with the inputs rounded to bf16: the op (y), the gradients of sum(y · bf16(dy))
 * (as torch's backward sees a bf16 dy), and the same over |inputs| and |dy|: the magnitudes
 * Σ|a||b| that bound any accumulation order's error.
 */
function reference(c: Case, abs = false): { y: number[]; grads: number[][] } {
  const f = (v: number): number => (abs ? Math.abs(bf(v)) : bf(v));
  const ts = c.inputs.map((i) => tensor(i.values.map(f), { dtype: 'float64' }).reshape(i.shape).requiresGrad_());
  const y = run(c, ts);
  sum(y.mul(tensor(c.dy.map(f), { dtype: 'float64' }).reshape(c.y.shape))).backward();
  return { y: Array.from(y.dataSync()), grads: ts.map((t) => Array.from(t.grad!.dataSync())) };
}

describe('rounding to bfloat16 / float16', () => {
  const x = FX.round.x.map(num);
  it('bfloat16: every value as torch x.to(torch.bfloat16).float() (ties to even, overflow, NaN, -0)', () => {
    const got = amp.roundBf16Array(new Float32Array(x));
    FX.round.bfloat16.map(num).forEach((want, i) => expect(same(got[i]!, want), `x=${x[i]}: ${got[i]} vs ${want}`).toBe(true));
  });
  it('float16: every value as torch x.to(torch.float16).float() (subnormals, 65504/65520, overflow)', () => {
    const got = amp.roundF16Array(new Float32Array(x));
    FX.round.float16.map(num).forEach((want, i) => expect(same(got[i]!, want), `x=${x[i]}: ${got[i]} vs ${want}`).toBe(true));
  });
  it('agrees with the safetensors bit converters on a sweep of float32 patterns', () => {
    const u = new Uint32Array(20000);
    for (let i = 0; i < u.length; i++) u[i] = (Math.imul(i, 2654435761) ^ (i << 7)) >>> 0;
    const f = new Float32Array(u.buffer);
    const b = amp.roundBf16Array(new Float32Array(f));
    const h = amp.roundF16Array(new Float32Array(f));
    for (let i = 0; i < f.length; i++) {
      expect(same(b[i]!, bf(f[i]!)), `bf16 of ${f[i]}`).toBe(true);
      expect(same(h[i]!, fromF16Bits(toF16Bits(f[i]!))), `f16 of ${f[i]}`).toBe(true);
    }
  });
});

describe('autocast bfloat16 against torch.autocast(cpu)', () => {
  for (const c of FX.autocast) {
    it(`${c.name}: bf16 output and fp32 master gradients`, () => {
      const leaves = c.inputs.map((i) => tensor(i.values).reshape(i.shape).requiresGrad_());
      const y = amp.autocast({ dtype: 'bfloat16' }, () => run(c, leaves));
      expect(y.dtype).toBe('float32');
      expect(y.shape).toEqual(c.y.shape);
      const got = Array.from(y.dataSync());
      const ref = reference(c);
      const mag = reference(c, true);
      // every output is a bf16 value: the float64-accumulated product rounded once
      got.forEach((v, i) => {
        expect(bf(v)).toBe(v);
        expect(v).toBe(bf(Math.fround(ref.y[i]!)));
      });
      // torch: linear and conv2d (oneDNN: fp32 accumulation, the bias in the accumulator) give the same
      // bits; its generic bf16 GEMM (small matmuls, and the backward GEMMs) accumulates partly in bf16,
      // so there the bound is one bf16 rounding of the magnitude Σ|a||b|
      c.y.values.forEach((want, i) => {
        if (c.op === 'matmul') expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(2 ** -8 * mag.y[i]! + ulpBf16(want));
        else expect(got[i]).toBe(want);
      });
      sum(y.mul(tensor(c.dy).reshape(c.y.shape))).backward();
      leaves.forEach((l, k) => {
        expect(l.grad!.dtype).toBe('float32');
        const g = Array.from(l.grad!.dataSync());
        g.forEach((v, i) => {
          expect(bf(v), 'a bf16 gradient, widened').toBe(v);
          const r = ref.grads[k]![i]!;
          expect(Math.abs(v - r)).toBeLessThanOrEqual(ulpBf16(r));
          expect(Math.abs(v - c.grads[k]![i]!)).toBeLessThanOrEqual(2 ** -7 * mag.grads[k]![i]! + ulpBf16(r));
        });
      });
    });
  }

  it('the rounding is visible: autocast results differ from float32 and are coarser', () => {
    const c = FX.autocast.find((k) => k.op === 'linear')!;
    const ts = c.inputs.map((i) => tensor(i.values).reshape(i.shape));
    const full = Array.from(run(c, ts).dataSync());
    const low = Array.from(amp.autocast(() => run(c, ts)).dataSync());
    expect(low.some((v, i) => v !== full[i])).toBe(true);
    const mag = reference(c, true).y;
    low.forEach((v, i) => expect(Math.abs(v - full[i]!)).toBeLessThanOrEqual(2 ** -6 * mag[i]!));
  });

  it('float16 autocast rounds to float16 values (inputs and output)', () => {
    const x = wg.randn([4, 9]);
    const w = wg.randn([9, 3]);
    const y = amp.autocast({ dtype: 'float16' }, () => matmul(x, w));
    const r = (t: Tensor): Tensor =>
      tensor(
        Array.from(t.dataSync(), (v) => fromF16Bits(toF16Bits(v))),
        { dtype: 'float64' },
      ).reshape([...t.shape]);
    const ref = Array.from(matmul(r(x), r(w)).dataSync(), (v) => fromF16Bits(toF16Bits(Math.fround(v))));
    expect(Array.from(y.dataSync())).toEqual(ref);
  });
});

describe('autocast op policy', () => {
  it('matches torch CPU autocast for the ops in the fixture (low list → bf16 values, losses → float32 exact)', () => {
    expect(FX.policy.linear).toBe('bfloat16');
    expect(FX.policy.crossEntropy).toBe('float32');
    for (const op of ['matmul', 'linear', 'conv2d']) {
      expect(amp.AUTOCAST_LOWER_PRECISION_OPS).toContain(op);
      expect(FX.policy[op]).toBe('bfloat16');
    }
    for (const op of ['crossEntropy', 'mseLoss']) {
      expect(amp.AUTOCAST_FLOAT32_OPS).toContain(op);
      expect(FX.policy[op]).toBe('float32');
    }
  });
  it('float32-list ops compute exactly as outside a region', () => {
    const x = wg.randn([6, 5]).mul(3);
    const t = tensor([0, 1, 2, 3, 4, 0], { dtype: 'int32' });
    const outside = [softmax(x, 1), crossEntropy(x, t), layerNorm(x, [5]), sum(x), mseLoss(x, x.mul(0.5))].map((v) =>
      Array.from(v.dataSync()),
    );
    const inside = amp.autocast(() => [softmax(x, 1), crossEntropy(x, t), layerNorm(x, [5]), sum(x), mseLoss(x, x.mul(0.5))]);
    inside.forEach((v, i) => {
      expect(v.dtype).toBe('float32');
      expect(Array.from(v.dataSync())).toEqual(outside[i]);
    });
  });
  it('nn.Linear, nn.Conv2d and nn.LSTM run their projections in bf16 inside a region', () => {
    wg.manualSeed(3);
    const lin = new nn.Linear(7, 4);
    const conv = new nn.Conv2d(2, 3, 3);
    const lstm = new nn.LSTM(5, 6);
    const x = wg.randn([3, 7]);
    const xi = wg.randn([1, 2, 5, 5]);
    const xs = wg.randn([4, 2, 5]);
    const viaMethod = amp.autocast(() => x.matmul(wg.randn([7, 2])));
    Array.from(viaMethod.dataSync()).forEach((v) => expect(bf(v)).toBe(v));
    const y = amp.autocast(() => lin.forward(x));
    Array.from(y.dataSync()).forEach((v) => expect(bf(v)).toBe(v));
    const yc = amp.autocast(() => conv.forward(xi));
    Array.from(yc.dataSync()).forEach((v) => expect(bf(v)).toBe(v));
    const [out] = amp.autocast(() => lstm.forward(xs)) as [Tensor, unknown];
    const [full] = lstm.forward(xs) as [Tensor, unknown];
    const a = Array.from(out.dataSync());
    const b = Array.from(full.dataSync());
    expect(a.some((v, i) => v !== b[i])).toBe(true); // the projections were rounded
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(0.05));
  });
  it('float64 inputs are not eligible (torch): the op runs in float64 unchanged', () => {
    const a = wg.randn([3, 4], { dtype: 'float64' });
    const b = wg.randn([4, 2], { dtype: 'float64' });
    const y = amp.autocast(() => matmul(a, b));
    expect(y.dtype).toBe('float64');
    expect(Array.from(y.dataSync())).toEqual(Array.from(matmul(a, b).dataSync()));
  });
});

describe('autocast regions', () => {
  it('nest, disable inside, restore after, and report their state', () => {
    const x = wg.randn([3, 5]);
    const w = wg.randn([5, 2]);
    const full = Array.from(matmul(x, w).dataSync());
    expect(amp.isAutocastEnabled()).toBe(false);
    amp.autocast({ dtype: 'float16' }, () => {
      expect(amp.isAutocastEnabled()).toBe(true);
      expect(amp.getAutocastDType()).toBe('float16');
      const off = amp.autocast({ enabled: false }, () => matmul(x, w));
      expect(Array.from(off.dataSync())).toEqual(full);
      const inner = amp.autocast({ dtype: 'bf16' }, () => amp.getAutocastDType());
      expect(inner).toBe('bfloat16');
    });
    expect(amp.getAutocastDType()).toBe(null);
    const r = new amp.Autocast({ dtype: 'bfloat16' }).enter();
    const y = matmul(x, w);
    r.exit();
    Array.from(y.dataSync()).forEach((v) => expect(bf(v)).toBe(v));
    expect(Array.from(matmul(x, w).dataSync())).toEqual(full);
  });
  it('a throwing region still exits', () => {
    expect(() =>
      amp.autocast(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(amp.isAutocastEnabled()).toBe(false);
  });
  it('bad options and misuse say what to do', () => {
    expect(() => amp.autocast({ dtype: 'int8' as never }, () => 1)).toThrow(/dtype must be 'bfloat16' \(bf16\) or 'float16'/);
    expect(() => amp.autocast({ dtyp: 'bfloat16' } as never, () => 1)).toThrow(/dtyp/);
    expect(() => amp.autocast({} as never, undefined as never)).toThrow(/autocast\(options, fn\)/);
    expect(() => amp.autocast(async () => 1)).toThrow(/Promise/);
    expect(amp.isAutocastEnabled()).toBe(false);
    const a = new amp.Autocast();
    const b = new amp.Autocast().enter();
    expect(() => a.exit()).toThrow(/not entered/);
    a.enter();
    expect(() => b.exit()).toThrow(/reverse order/);
    a.exit();
    b.exit();
    expect(amp.isAutocastEnabled()).toBe(false);
  });
  it('the top level exports autocast and GradScaler', () => {
    expect(wg.autocast).toBe(amp.autocast);
    expect(wg.GradScaler).toBe(amp.GradScaler);
  });
});
