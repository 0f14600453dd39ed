// Our dynamic-quantization arithmetic against torch's (test/fixtures/make_quant_fixtures.py): the
// per-batch activation qparams (torch._choose_qparams_per_tensor, reduce_range on and off) and
// quint8 values, the per-channel weight int8 values with torch's rounding, and the int8 Linear's
// output computed in float64 from torch's integers.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noGrad, tensor, tidy, quantization } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';

interface Case {
  m: number;
  n: number;
  k: number;
  x: number[];
  w: number[];
  b: number[];
  act: Record<'reduce' | 'full', { scale: number; zero_point: number; q: number[] }>;
  weight: { scale: number[]; q: number[] };
  y: number[];
}
const fx = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/quantization.json'), 'utf8')) as { cases: Case[] };

describe('dynamic quantization matches torch', () => {
  fx.cases.forEach((c, ci) => {
    it(`case ${ci}: (${c.m}, ${c.k}) · (${c.n}, ${c.k})ᵀ`, () => {
      const x = Float32Array.from(c.x);
      for (const [key, rr] of [
        ['reduce', true],
        ['full', false],
      ] as const) {
        const a = quantization.quantizeActivations(x, rr);
        const t = c.act[key];
        expect(Math.abs(a.scale - t.scale) / t.scale).toBeLessThan(1e-6);
        expect(a.zeroPoint).toBe(t.zero_point);
        expect(Array.from(a.data)).toEqual(t.q);
      }
      const qw = quantization.quantizeWeightPerChannel(Float32Array.from(c.w), c.n, c.k);
      expect(Array.from(qw.scale)).toEqual(c.weight.scale);
      expect(Array.from(qw.data)).toEqual(c.weight.q);
      tidy(() => {
        const lin = new nn.Linear(c.k, c.n);
        noGrad(() => {
          lin.weight.copy_(tensor(c.w, { shape: [c.n, c.k] }));
          lin.bias!.copy_(tensor(c.b));
        });
        const q = quantization.quantizeDynamic(lin);
        const y = q.forward(tensor(c.x, { shape: [c.m, c.k] })).dataSync();
        for (let i = 0; i < c.y.length; i++) expect(Math.abs(y[i]! - c.y[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(c.y[i]!)));
        lin.dispose();
        q.dispose();
      });
    });
  });
});
