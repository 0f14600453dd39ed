import { describe, expect, it } from 'vitest';
import { FLOATS, K, expectClose, h, numericGrad, poisoned, rnd, vals } from './helpers.js';

describe('layerNorm', () => {
  const rows = 3,
    cols = 6;
  const x = rnd(rows * cols, 41).map((v) => v * 2 + 0.3);
  const gamma = rnd(cols, 42),
    beta = rnd(cols, 43);
  it('forward against the definition, saves mean and rstd', () => {
    for (const dt of FLOATS) {
      const y = poisoned(18, dt),
        mean = poisoned(3, dt),
        rstd = poisoned(3, dt);
      K.layerNorm(h(x, dt), h(gamma, dt), h(beta, dt), y, mean, rstd, rows, cols, 1e-5, dt);
      const exp: number[] = [];
      for (let r = 0; r < rows; r++) {
        const row = x.slice(r * cols, r * cols + cols);
        const mu = row.reduce((s, v) => s + v, 0) / cols;
        const v = row.reduce((s, u) => s + (u - mu) ** 2, 0) / cols;
        row.forEach((u, j) => exp.push(((u - mu) / Math.sqrt(v + 1e-5)) * gamma[j]! + beta[j]!));
        expect(mean.data[r]).toBeCloseTo(mu, 5);
        expect(rstd.data[r]).toBeCloseTo(1 / Math.sqrt(v + 1e-5), 4);
      }
      expectClose(vals(y), exp, dt === 'float32' ? 1e-5 : 1e-12, 'y');
    }
  });
  it('backward (dx, dgamma, dbeta) against finite differences; null gamma/beta', () => {
    for (const affine of [true, false]) {
      const G = affine ? h(gamma) : null,
        B = affine ? h(beta) : null;
      const run = (xs: number[], g: number[]) => {
        const y = poisoned(18),
          m = poisoned(3),
          r = poisoned(3);
        K.layerNorm(h(xs), affine ? h(g) : null, B, y, m, r, rows, cols, 1e-5, 'float64');
        return { y, m, r };
      };
      const dy = rnd(18, 44);
      const { m, r } = run(x, gamma);
      const dx = poisoned(18),
        dg = poisoned(cols),
        db = poisoned(cols);
      K.layerNormBackward(h(dy), h(x), G, m, r, dx, affine ? dg : null, affine ? db : null, rows, cols, 'float64');
      expectClose(
        vals(dx),
        numericGrad((xs) => run(xs, gamma).y.data, x, dy),
        1e-7,
        'dx',
      );
      if (affine) {
        expectClose(
          vals(dg),
          numericGrad((g) => run(x, g).y.data, gamma, dy),
          1e-7,
          'dgamma',
        );
        const xhat = run(x, new Array(cols).fill(1)).y.data.map((v, i) => v - beta[i % cols]!);
        expectClose(
          vals(db),
          Array.from({ length: cols }, (_, j) => dy.filter((_, i) => i % cols === j).reduce((s, v) => s + v, 0)),
          1e-12,
          'dbeta',
        );
        expect(xhat.length).toBe(18);
      }
    }
  });
});

describe('batchNorm', () => {
  const n = 3,
    c = 2,
    hw = 4;
  const x = rnd(n * c * hw, 51).map((v) => v * 3 + 1);
  const gamma = [1.5, -0.5],
    beta = [0.2, 0.1];
  it('training: batch stats, running stats updated with the unbiased var', () => {
    for (const dt of FLOATS) {
      const rm = h([0.5, -0.5], dt),
        rv = h([2, 3], dt);
      const y = poisoned(24, dt),
        sm = poisoned(2, dt),
        si = poisoned(2, dt);
      K.batchNorm(h(x, dt), h(gamma, dt), h(beta, dt), rm, rv, y, sm, si, n, c, hw, true, 0.1, 1e-5, dt);
      for (let ch = 0; ch < c; ch++) {
        const vs: number[] = [];
        for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) vs.push(x[(b * c + ch) * hw + i]!);
        const mu = vs.reduce((s, v) => s + v, 0) / vs.length;
        const v = vs.reduce((s, u) => s + (u - mu) ** 2, 0) / vs.length;
        const tol = dt === 'float32' ? 5 : 12;
        expect(sm.data[ch]).toBeCloseTo(mu, tol);
        expect(si.data[ch]).toBeCloseTo(1 / Math.sqrt(v + 1e-5), tol);
        expect(rm.data[ch]).toBeCloseTo(0.9 * [0.5, -0.5][ch]! + 0.1 * mu, tol);
        expect(rv.data[ch]).toBeCloseTo(0.9 * [2, 3][ch]! + (0.1 * v * 12) / 11, tol);
        for (let b = 0; b < n; b++)
          for (let i = 0; i < hw; i++) {
            const k = (b * c + ch) * hw + i;
            expect(y.data[k]).toBeCloseTo(((x[k]! - mu) / Math.sqrt(v + 1e-5)) * gamma[ch]! + beta[ch]!, tol);
          }
      }
    }
  });
  it('eval uses the running stats and leaves them alone', () => {
    const rm = h([0.5, -0.5]),
      rv = h([2, 3]);
    const y = poisoned(24),
      sm = poisoned(2),
      si = poisoned(2);
    K.batchNorm(h(x), null, null, rm, rv, y, sm, si, n, c, hw, false, 0.1, 1e-5, 'float64');
    expect(vals(rm)).toEqual([0.5, -0.5]);
    expect(vals(rv)).toEqual([2, 3]);
    expectClose(
      vals(y),
      x.map((v, k) => {
        const ch = Math.floor(k / hw) % c;
        return (v - [0.5, -0.5][ch]!) / Math.sqrt([2, 3][ch]! + 1e-5);
      }),
      1e-12,
      'y',
    );
  });
  for (const training of [true, false]) {
    it(`backward (training=${training}) against finite differences`, () => {
      const rmv = [0.5, -0.5],
        rvv = [2, 3];
      const run = (xs: number[], g: number[], b: number[]) => {
        const y = poisoned(24),
          sm = poisoned(2),
          si = poisoned(2);
        K.batchNorm(h(xs), h(g), h(b), h(rmv), h(rvv), y, sm, si, n, c, hw, training, 0.1, 1e-5, 'float64');
        return { y, sm, si };
      };
      const dy = rnd(24, 52);
      const { sm, si } = run(x, gamma, beta);
      const dx = poisoned(24),
        dg = poisoned(2),
        db = poisoned(2);
      K.batchNormBackward(h(dy), h(x), h(gamma), sm, si, dx, dg, db, n, c, hw, training, 'float64');
      expectClose(
        vals(dx),
        numericGrad((xs) => run(xs, gamma, beta).y.data, x, dy),
        1e-7,
        'dx',
      );
      expectClose(
        vals(dg),
        numericGrad((g) => run(x, g, beta).y.data, gamma, dy),
        1e-7,
        'dgamma',
      );
      expectClose(
        vals(db),
        numericGrad((b) => run(x, gamma, b).y.data, beta, dy),
        1e-7,
        'dbeta',
      );
    });
  }
});

describe('LSTM and GRU cells', () => {
  const B = 2,
    H = 3;
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  it('lstmCell forward by the formulas, backward against finite differences', () => {
    const gates = rnd(B * 4 * H, 61).map((v) => v * 2),
      cPrev = rnd(B * H, 62);
    for (const dt of FLOATS) {
      const hh = poisoned(B * H, dt),
        cc = poisoned(B * H, dt),
        act = poisoned(B * 4 * H, dt);
      K.lstmCell(h(gates, dt), h(cPrev, dt), hh, cc, act, B, H, dt);
      const tol = dt === 'float32' ? 1e-6 : 1e-14;
      for (let b = 0; b < B; b++)
        for (let j = 0; j < H; j++) {
          const g0 = b * 4 * H;
          const i = sig(gates[g0 + j]!),
            f = sig(gates[g0 + H + j]!),
            g = Math.tanh(gates[g0 + 2 * H + j]!),
            o = sig(gates[g0 + 3 * H + j]!);
          const c = f * cPrev[b * H + j]! + i * g;
          expect(Math.abs(cc.data[b * H + j]! - c)).toBeLessThan(tol * 4);
          expect(Math.abs(hh.data[b * H + j]! - o * Math.tanh(c))).toBeLessThan(tol * 4);
          expect(Math.abs(act.data[g0 + 2 * H + j]! - g)).toBeLessThan(tol * 4);
        }
    }
    const run = (gs: number[], cp: number[]) => {
      const hh = poisoned(B * H),
        cc = poisoned(B * H),
        act = poisoned(B * 4 * H);
      K.lstmCell(h(gs), h(cp), hh, cc, act, B, H, 'float64');
      return { hh, cc, act };
    };
    const dh = rnd(B * H, 63),
      dc = rnd(B * H, 64);
    const w = [...dh, ...dc];
    const both = (gs: number[], cp: number[]) => {
      const r = run(gs, cp);
      return [...r.hh.data, ...r.cc.data];
    };
    const { cc, act } = run(gates, cPrev);
    for (const withDc of [true, false]) {
      const dG = poisoned(B * 4 * H),
        dcp = poisoned(B * H);
      K.lstmCellBackward(act, h(cPrev), cc, h(dh), withDc ? h(dc) : null, dG, dcp, B, H, 'float64');
      const ww = withDc ? w : [...dh, ...new Array(B * H).fill(0)];
      expectClose(
        vals(dG),
        numericGrad((gs) => both(gs, cPrev), gates, ww),
        1e-8,
        'dGates',
      );
      expectClose(
        vals(dcp),
        numericGrad((cp) => both(gates, cp), cPrev, ww),
        1e-8,
        'dcPrev',
      );
    }
  });
  it('gruCell forward by the formulas, backward against finite differences', () => {
    const xg = rnd(B * 3 * H, 71),
      hg = rnd(B * 3 * H, 72),
      hPrev = rnd(B * H, 73);
    const run = (a: number[], b: number[], hp: number[]) => {
      const hh = poisoned(B * H),
        saved = poisoned(B * 4 * H);
      K.gruCell(h(a), h(b), h(hp), hh, saved, B, H, 'float64');
      return { hh, saved };
    };
    const { hh, saved } = run(xg, hg, hPrev);
    for (let b = 0; b < B; b++)
      for (let j = 0; j < H; j++) {
        const g0 = b * 3 * H;
        const r = sig(xg[g0 + j]! + hg[g0 + j]!),
          z = sig(xg[g0 + H + j]! + hg[g0 + H + j]!);
        const nn = Math.tanh(xg[g0 + 2 * H + j]! + r * hg[g0 + 2 * H + j]!);
        expect(hh.data[b * H + j]).toBeCloseTo((1 - z) * nn + z * hPrev[b * H + j]!, 14);
        expect(saved.data[b * 4 * H + 3 * H + j]).toBe(hg[g0 + 2 * H + j]);
      }
    const dh = rnd(B * H, 74);
    const dxg = poisoned(B * 3 * H),
      dhg = poisoned(B * 3 * H),
      dhp = poisoned(B * H);
    K.gruCellBackward(saved, h(hPrev), h(dh), dxg, dhg, dhp, B, H, 'float64');
    expectClose(
      vals(dxg),
      numericGrad((a) => run(a, hg, hPrev).hh.data, xg, dh),
      1e-8,
      'dxg',
    );
    expectClose(
      vals(dhg),
      numericGrad((b) => run(xg, b, hPrev).hh.data, hg, dh),
      1e-8,
      'dhg',
    );
    expectClose(
      vals(dhp),
      numericGrad((hp) => run(xg, hg, hp).hh.data, hPrev, dh),
      1e-8,
      'dhPrev direct',
    );
    // float32 agrees
    const h32 = poisoned(B * H, 'float32'),
      s32 = poisoned(B * 4 * H, 'float32');
    K.gruCell(h(xg, 'float32'), h(hg, 'float32'), h(hPrev, 'float32'), h32, s32, B, H, 'float32');
    expectClose(vals(h32), vals(hh), 1e-6, 'gru f32');
  });
});
