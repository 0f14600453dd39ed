// Saved normalisation statistics keep the accumulation type (issue 12, as PyTorch does): layer
// norm's mean/rstd and batch norm's saveMean/saveInvStd are float32 for float32/bfloat16/float16
// inputs and float64 for float64. They used to be stored in the 16-bit dtype on cuda, so a bf16
// backward normalised with a mean rounded to 8 bits. On cuda (when present, e.g. under the
// simulator stage) the 16-bit forward and backward are compared with float32 on the same values;
// the stats buffers' byte sizes are checked by the native entry points (a bf16-sized buffer for
// float32 statistics throws "holds N bytes, needs M").
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { normStatsDType } from '../../lib/ops/nn.js';
import type { DType } from '../../lib/dtype.js';
import { describeBackends } from '../util/backends.js';

describe('normStatsDType', () => {
  it('is float32 for float32 and the 16-bit floats, float64 for float64', () => {
    const want: [DType, DType][] = [
      ['float32', 'float32'],
      ['bfloat16', 'float32'],
      ['float16', 'float32'],
      ['float64', 'float64'],
    ];
    for (const [d, s] of want) expect(normStatsDType(d)).toBe(s);
  });
});

describeBackends('norm statistics in 16-bit models', ({ device, name }) => {
  // values with a large common offset: mean ≈ 100, spread ≈ 1. A mean rounded to bf16 (ulp 0.5 at
  // 100) shifts every normalised value by up to 0.25/σ; float32 statistics do not.
  const rows = 6,
    cols = 40;
  const base = Float32Array.from({ length: rows * cols }, (_, i) => 100 + Math.sin(i * 1.7) + 0.3 * Math.cos(i * 0.31));
  const dyv = Float32Array.from({ length: rows * cols }, (_, i) => Math.cos(i * 0.9));

  it.skipIf(name !== 'cuda')('layerNorm and batchNorm on bfloat16/float16 match float32 within the 16-bit rounding', () => {
    for (const dt of ['bfloat16', 'float16'] as const) {
      wg.tidy(() => {
        const x32 = wg.tensor(base, { device }).reshape([rows, cols]);
        const x16 = x32.cast(dt);
        const xr = x16.cast('float32'); // the 16-bit values, in float32: the reference sees the same inputs
        const ln = (x: wg.Tensor): wg.Tensor => wg.layerNorm(x, [cols]);
        const x1 = xr.detach().requiresGrad_();
        const x2 = x16.detach().requiresGrad_();
        const y1 = ln(x1),
          y2 = ln(x2);
        const dy = wg.tensor(dyv, { device }).reshape([rows, cols]);
        y1.backward(dy);
        y2.backward(dy.cast(dt));
        const tol = dt === 'bfloat16' ? 2e-2 : 3e-3;
        const a = y1.dataSync(),
          b = y2.cast('float32').dataSync();
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${dt} layerNorm y[${i}]`).toBeLessThan(tol * 4);
        const ga = x1.grad!.dataSync(),
          gb = x2.grad!.cast('float32').dataSync();
        for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i]! - gb[i]!), `${dt} layerNorm dx[${i}]`).toBeLessThan(tol * 4);
        // batch norm over (N=rows, C=cols): per-column statistics
        const bn = (x: wg.Tensor): wg.Tensor => wg.batchNorm(x, null, null, null, null, { training: true });
        const z1 = bn(xr),
          z2 = bn(x16);
        const c = z1.dataSync(),
          d = z2.cast('float32').dataSync();
        for (let i = 0; i < c.length; i++) expect(Math.abs(c[i]! - d[i]!), `${dt} batchNorm y[${i}]`).toBeLessThan(tol * 4);
      });
    }
  });

  it('layerNorm forward and backward keep working in float32 (stats float32 on every backend)', () => {
    wg.tidy(() => {
      const x = wg.tensor(base, { device }).reshape([rows, cols]).requiresGrad_();
      const y = wg.layerNorm(x, [cols]);
      y.backward(wg.tensor(dyv, { device }).reshape([rows, cols]));
      const v = y.dataSync();
      // each row has mean 0 and (biased) variance 1 / (1 + eps / var)
      for (let r = 0; r < rows; r++) {
        let m = 0,
          s = 0;
        for (let j = 0; j < cols; j++) m += v[r * cols + j]!;
        m /= cols;
        for (let j = 0; j < cols; j++) s += (v[r * cols + j]! - m) ** 2;
        expect(Math.abs(m)).toBeLessThan(1e-5);
        expect(s / cols).toBeCloseTo(1, 3);
      }
      // the gradient of a normalised row is orthogonal to the constant vector
      const g = x.grad!.dataSync();
      for (let r = 0; r < rows; r++) {
        let sg = 0;
        for (let j = 0; j < cols; j++) sg += g[r * cols + j]!;
        expect(Math.abs(sg)).toBeLessThan(1e-3);
      }
    });
  });
});
