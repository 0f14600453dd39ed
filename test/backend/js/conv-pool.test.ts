import { describe, expect, it } from 'vitest';
import type { Conv2dParams, Pool2dParams } from '../../../lib/backend/kernels.js';
import { FLOATS, K, expectClose, h, numericGrad, poisoned, rnd, vals } from './helpers.js';

function convParams(
  o: Partial<Conv2dParams> & { batch: number; inC: number; inH: number; inW: number; outC: number; kH: number; kW: number },
): Conv2dParams {
  const p = { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, outH: 0, outW: 0, ...o };
  p.outH = Math.floor((p.inH + 2 * p.padH - p.dilationH * (p.kH - 1) - 1) / p.strideH) + 1;
  p.outW = Math.floor((p.inW + 2 * p.padW - p.dilationW * (p.kW - 1) - 1) / p.strideW) + 1;
  return p;
}

/** Direct loops: y = conv(x, w), and the adjoints dx, dw for a given dy. */
function naiveConv(p: Conv2dParams, x: number[], w: number[], dy: number[]): { y: number[]; dx: number[]; dw: number[] } {
  const cg = p.inC / p.groups,
    kg = p.outC / p.groups;
  const y = new Array<number>(p.batch * p.outC * p.outH * p.outW).fill(0);
  const dx = new Array<number>(x.length).fill(0),
    dw = new Array<number>(w.length).fill(0);
  for (let n = 0; n < p.batch; n++)
    for (let oc = 0; oc < p.outC; oc++)
      for (let oh = 0; oh < p.outH; oh++)
        for (let ow = 0; ow < p.outW; ow++) {
          const g = Math.floor(oc / kg);
          const yi = ((n * p.outC + oc) * p.outH + oh) * p.outW + ow;
          for (let c = 0; c < cg; c++)
            for (let r = 0; r < p.kH; r++)
              for (let s = 0; s < p.kW; s++) {
                const ih = oh * p.strideH - p.padH + r * p.dilationH,
                  iw = ow * p.strideW - p.padW + s * p.dilationW;
                if (ih < 0 || ih >= p.inH || iw < 0 || iw >= p.inW) continue;
                const xi = ((n * p.inC + g * cg + c) * p.inH + ih) * p.inW + iw;
                const wi = ((oc * cg + c) * p.kH + r) * p.kW + s;
                y[yi]! += x[xi]! * w[wi]!;
                dx[xi]! += dy[yi]! * w[wi]!;
                dw[wi]! += dy[yi]! * x[xi]!;
              }
        }
  return { y, dx, dw };
}

describe('conv2d forward, gradInput, gradWeight against direct loops', () => {
  const cases: [string, Conv2dParams][] = [
    ['1x1 image 3x3 kernel by hand-size', convParams({ batch: 1, inC: 1, inH: 3, inW: 3, outC: 1, kH: 3, kW: 3 })],
    ['mnist-like 1→8 5x5', convParams({ batch: 2, inC: 1, inH: 12, inW: 11, outC: 8, kH: 5, kW: 5 })],
    [
      'stride 2, pad 1, 3→5',
      convParams({ batch: 2, inC: 3, inH: 9, inW: 8, outC: 5, kH: 3, kW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }),
    ],
    [
      'dilation 2, asymmetric',
      convParams({ batch: 1, inC: 2, inH: 10, inW: 9, outC: 3, kH: 3, kW: 2, dilationH: 2, dilationW: 3, padW: 2, strideH: 1, strideW: 2 }),
    ],
    ['groups 2', convParams({ batch: 2, inC: 4, inH: 7, inW: 7, outC: 6, kH: 3, kW: 3, groups: 2, padH: 1, padW: 1 })],
    ['depthwise groups=C', convParams({ batch: 1, inC: 3, inH: 6, inW: 5, outC: 3, kH: 3, kW: 3, groups: 3, padH: 1, padW: 0 })],
    ['big enough for the blocked GEMM', convParams({ batch: 1, inC: 16, inH: 12, inW: 12, outC: 20, kH: 3, kW: 3, padH: 1, padW: 1 })],
  ];
  for (const dt of FLOATS) {
    for (const [name, p] of cases) {
      it(`${name} (${dt})`, () => {
        const xs = p.batch * p.inC * p.inH * p.inW,
          ws = p.outC * (p.inC / p.groups) * p.kH * p.kW,
          ys = p.batch * p.outC * p.outH * p.outW;
        const r = (v: number) => (dt === 'float32' ? Math.fround(v) : v);
        const x = rnd(xs, 3).map(r),
          w = rnd(ws, 4).map(r),
          dy = rnd(ys, 5).map(r);
        const ref = naiveConv(p, x, w, dy);
        const tol = dt === 'float32' ? 1e-5 : 1e-12;
        const y = poisoned(ys, dt),
          dx = poisoned(xs, dt),
          dw = poisoned(ws, dt);
        K.conv2d(h(x, dt), h(w, dt), y, p, dt);
        K.conv2dGradInput(h(dy, dt), h(w, dt), dx, p, dt);
        K.conv2dGradWeight(h(x, dt), h(dy, dt), dw, p, dt);
        expectClose(vals(y), ref.y, tol, 'y');
        expectClose(vals(dx), ref.dx, tol, 'dx');
        expectClose(vals(dw), ref.dw, tol, 'dw');
      });
    }
  }
  it('a 3x3 box filter on a 3x3 image by hand', () => {
    const p = convParams({ batch: 1, inC: 1, inH: 3, inW: 3, outC: 1, kH: 3, kW: 3, padH: 1, padW: 1 });
    const y = poisoned(9);
    K.conv2d(h([1, 2, 3, 4, 5, 6, 7, 8, 9]), h(new Array(9).fill(1)), y, p, 'float64');
    expect(vals(y)).toEqual([12, 21, 16, 27, 45, 33, 24, 39, 28]);
  });
  it('rejects channels not divisible by groups', () => {
    const p = convParams({ batch: 1, inC: 3, inH: 3, inW: 3, outC: 2, kH: 1, kW: 1, groups: 2 });
    expect(() => K.conv2d(h(new Array(27).fill(1)), h([1, 1]), poisoned(18), p, 'float64')).toThrow(/conv2d/);
  });
});

function poolParams(
  o: Partial<Pool2dParams> & { batch: number; channels: number; inH: number; inW: number; kH: number; kW: number },
): Pool2dParams {
  const p = { strideH: o.kH, strideW: o.kW, padH: 0, padW: 0, dilationH: 1, dilationW: 1, countIncludePad: true, outH: 0, outW: 0, ...o };
  p.outH = Math.floor((p.inH + 2 * p.padH - p.dilationH * (p.kH - 1) - 1) / p.strideH) + 1;
  p.outW = Math.floor((p.inW + 2 * p.padW - p.dilationW * (p.kW - 1) - 1) / p.strideW) + 1;
  return p;
}

describe('pooling', () => {
  it('maxPool2d 2x2 by hand, argmax flat in the plane, backward scatters', () => {
    const p = poolParams({ batch: 1, channels: 1, inH: 4, inW: 4, kH: 2, kW: 2 });
    const x = [1, 5, 2, 0, 3, 4, 8, 8, -1, -2, 0, 7, -3, -4, 6, 1];
    for (const dt of FLOATS) {
      const y = poisoned(4, dt),
        am = poisoned(4, 'int32');
      K.maxPool2d(h(x, dt), y, am, p, dt);
      expect(vals(y)).toEqual([5, 8, -1, 7]);
      expect(vals(am)).toEqual([1, 6, 8, 11]);
      const dx = poisoned(16, dt);
      K.maxPool2dBackward(h([1, 2, 3, 4], dt), am, dx, p, dt);
      expect(vals(dx)).toEqual([0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 0, 4, 0, 0, 0, 0]);
    }
  });
  it('maxPool2d: padding never wins, overlapping windows accumulate, NaN wins', () => {
    const p = poolParams({ batch: 1, channels: 2, inH: 3, inW: 3, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 });
    const x = [-5, -6, -7, -8, -9, -4, -3, -2, -10, /* c1 */ 1, NaN, 3, 4, 5, 6, 7, 8, 9];
    const y = poisoned(18),
      am = poisoned(18, 'int32');
    K.maxPool2d(h(x), y, am, p, 'float64');
    expect(vals(y).slice(0, 9)).toEqual([-5, -4, -4, -2, -2, -2, -2, -2, -2]);
    expect(vals(am).slice(0, 9)).toEqual([0, 5, 5, 7, 7, 7, 7, 7, 7]);
    expect(vals(am).slice(9, 12)).toEqual([1, 1, 1]);
    const dx = poisoned(18);
    K.maxPool2dBackward(h(new Array(18).fill(1)), am, dx, p, 'float64');
    expect(vals(dx).slice(0, 9)).toEqual([1, 0, 0, 0, 0, 2, 0, 6, 0]);
  });
  it('avgPool2d with countIncludePad true/false, backward against finite differences', () => {
    const x = rnd(2 * 5 * 4, 8);
    for (const cip of [true, false]) {
      const p = poolParams({
        batch: 1,
        channels: 2,
        inH: 5,
        inW: 4,
        kH: 3,
        kW: 2,
        strideH: 2,
        strideW: 1,
        padH: 1,
        padW: 1,
        countIncludePad: cip,
      });
      const ny = 2 * p.outH * p.outW;
      const f = (xs: number[]) => {
        const y = poisoned(ny);
        K.avgPool2d(h(xs), y, p, 'float64');
        return y.data;
      };
      // corner window: rows -1..1, cols -1..0 → valid cells (0,0),(1,0)
      const y0 = f(x)[0]!;
      expect(y0).toBeCloseTo((x[0]! + x[4]!) / (cip ? 6 : 2), 14);
      const dy = rnd(ny, 9);
      const dx = poisoned(x.length);
      K.avgPool2dBackward(h(dy), dx, p, 'float64');
      expectClose(vals(dx), numericGrad(f, x, dy), 1e-8, 'avg dx');
      const y32 = poisoned(ny, 'float32');
      K.avgPool2d(h(x, 'float32'), y32, p, 'float32');
      expectClose(vals(y32), Array.from(f(x)), 1e-6, 'avg f32');
    }
  });
  it('adaptiveAvgPool2d uses torch windows (5 → 3: [0,2) [1,4) [3,5)), backward by finite differences', () => {
    const x = rnd(2 * 5 * 7, 10);
    const f = (xs: number[]) => {
      const y = poisoned(2 * 3 * 2);
      K.adaptiveAvgPool2d(h(xs), y, 1, 2, 5, 7, 3, 2, 'float64');
      return y.data;
    };
    const y = f(x);
    // output (0, 1): rows [0, 2), cols [3, 7)
    let s = 0;
    for (let r = 0; r < 2; r++) for (let c = 3; c < 7; c++) s += x[r * 7 + c]!;
    expect(y[1]).toBeCloseTo(s / 8, 14);
    // output (1, 0): rows [1, 4), cols [0, 4)
    s = 0;
    for (let r = 1; r < 4; r++) for (let c = 0; c < 4; c++) s += x[r * 7 + c]!;
    expect(y[2]).toBeCloseTo(s / 12, 14);
    const dy = rnd(12, 11);
    for (const dt of FLOATS) {
      const dx = poisoned(x.length, dt);
      K.adaptiveAvgPool2dBackward(h(dy, dt), dx, 1, 2, 5, 7, 3, 2, dt);
      expectClose(vals(dx), numericGrad(f, x, dy), dt === 'float32' ? 1e-6 : 1e-8, 'adaptive dx');
    }
  });
});
