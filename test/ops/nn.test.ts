import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy } from '../../lib/index.js';
import { describeBackends, assertClose } from '../util/backends.js';

const softmaxRow = (r: number[]) => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));

/** Naive NCHW conv2d, for checking odd shapes. */
type Dims4 = [number, number, number, number];
function refConv(x: Float32Array, [N, C, H, W]: Dims4, w: Float32Array, [K, Cg, R, S]: Dims4, s: number, p: number, d: number, g: number) {
  const P = Math.floor((H + 2 * p - d * (R - 1) - 1) / s) + 1;
  const Q = Math.floor((W + 2 * p - d * (S - 1) - 1) / s) + 1;
  const out: number[] = [];
  const Kg = K / g;
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++)
      for (let i = 0; i < P; i++)
        for (let j = 0; j < Q; j++) {
          let acc = 0;
          const grp = Math.floor(k / Kg);
          for (let c = 0; c < Cg; c++)
            for (let r = 0; r < R; r++)
              for (let t = 0; t < S; t++) {
                const h = i * s - p + r * d,
                  ww = j * s - p + t * d;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += x[((n * C + grp * Cg + c) * H + h) * W + ww]! * w[((k * Cg + c) * R + r) * S + t]!;
              }
          out.push(acc);
        }
  return { shape: [N, K, P, Q], v: out };
}

describeBackends('nn ops', (ctx) => {
  const img3 = () =>
    ctx.t([
      [
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
      ],
    ]);
  const img4 = () => wg.arange(16, undefined, 1, { device: ctx.device, dtype: 'float32' }).reshape(1, 1, 4, 4);

  it('softmax / logSoftmax along last, first and middle dims, 0-d', () =>
    tidy(() => {
      const rows = [
        [1, 2, 3],
        [1, 1, 1],
      ];
      const x = ctx.t(rows);
      ctx.close(x.softmax(), rows.map(softmaxRow));
      ctx.close(
        x.logSoftmax(-1),
        rows.map((r) => r.map((v) => v - lse(r))),
      );
      const cols = [0, 1, 2].map((j) => softmaxRow([rows[0]![j]!, rows[1]![j]!]));
      ctx.close(
        x.softmax(0),
        [0, 1].map((i) => [0, 1, 2].map((j) => cols[j]![i]!)),
      );
      const x3 = ctx.t([
        [
          [1, 2],
          [3, 5],
        ],
        [
          [0, 0],
          [-1, 1],
        ],
      ]); // softmax over dim 1
      const s = wg.softmax(x3, 1);
      const ref = [
        [
          [1, 3],
          [2, 5],
        ],
        [
          [0, -1],
          [0, 1],
        ],
      ].map((b) => b.map(softmaxRow)); // [b][col][row]
      ctx.close(
        s,
        [0, 1].map((b) => [0, 1].map((r) => [0, 1].map((c) => ref[b]![c]![r]!))),
      );
      ctx.close(ctx.t([1000, 0]).softmax(), [1, 0]);
      ctx.close(ctx.t([1000, 0]).logSoftmax(), [0, -1000]);
      const z = ctx.t(3).softmax(0);
      expect(z.shape).toEqual([]);
      ctx.close(z, 1);
    }));

  it('conv2d by hand: plain, bias, stride+padding, dilation, groups', () =>
    tidy(() => {
      const w = ctx.t([
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]);
      ctx.close(wg.conv2d(img3(), w), [
        [
          [
            [37, 47],
            [67, 77],
          ],
        ],
      ]);
      ctx.close(wg.conv2d(img3(), w, ctx.t([1])), [
        [
          [
            [38, 48],
            [68, 78],
          ],
        ],
      ]);
      ctx.close(wg.conv2d(img3(), w, null, { stride: 2, padding: 1 }), [
        [
          [
            [4, 18],
            [36, 77],
          ],
        ],
      ]);
      ctx.close(wg.conv2d(img3(), w, null, { dilation: 2 }), [[[[64]]]]);
      ctx.close(
        wg.conv2d(
          img3(),
          ctx.t([
            [
              [
                [0, 0, 0],
                [0, 1, 0],
                [0, 0, 0],
              ],
            ],
          ]),
          null,
          { padding: 'same' },
        ),
        [
          [
            [
              [1, 2, 3],
              [4, 5, 6],
              [7, 8, 9],
            ],
          ],
        ],
      );
      const x2 = ctx.t([
        [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ],
      ]);
      const wg2 = ctx.t([[[[2]]], [[[-1]]]]);
      ctx.close(wg.conv2d(x2, wg2, null, { groups: 2 }), [
        [
          [
            [2, 4],
            [6, 8],
          ],
          [
            [-5, -6],
            [-7, -8],
          ],
        ],
      ]);
    }));

  it('conv2d odd shapes against a reference', () =>
    tidy(() => {
      const cases: { x: Dims4; w: Dims4; s: number; p: number; d: number; g: number }[] = [
        { x: [2, 3, 7, 6], w: [4, 3, 3, 2], s: 1, p: 0, d: 1, g: 1 },
        { x: [1, 4, 9, 9], w: [6, 2, 3, 3], s: 2, p: 1, d: 1, g: 2 },
        { x: [2, 2, 8, 5], w: [3, 2, 2, 3], s: 3, p: 2, d: 2, g: 1 },
        { x: [1, 6, 5, 5], w: [6, 1, 3, 3], s: 1, p: 1, d: 1, g: 6 },
      ];
      for (const c of cases) {
        const x = wg.randn(c.x, { device: ctx.device });
        const w = wg.randn(c.w, { device: ctx.device });
        const y = wg.conv2d(x, w, null, { stride: c.s, padding: c.p, dilation: c.d, groups: c.g });
        const ref = refConv(x.dataSync() as Float32Array, c.x, w.dataSync() as Float32Array, c.w, c.s, c.p, c.d, c.g);
        expect(y.shape).toEqual(ref.shape);
        assertClose(y.dataSync(), ref.v, { rtol: 1e-4, atol: 1e-4 }, JSON.stringify(c));
      }
    }));

  it('maxPool2d: plain, stride 1, padding, ceilMode', () =>
    tidy(() => {
      ctx.close(wg.maxPool2d(img4(), 2), [
        [
          [
            [5, 7],
            [13, 15],
          ],
        ],
      ]);
      ctx.close(wg.maxPool2d(img3(), 2, { stride: 1 }), [
        [
          [
            [5, 6],
            [8, 9],
          ],
        ],
      ]);
      ctx.close(wg.maxPool2d(img3(), 2, { stride: 2, padding: 1 }), [
        [
          [
            [1, 3],
            [7, 9],
          ],
        ],
      ]);
      ctx.close(wg.maxPool2d(img3(), 2, { ceilMode: true }), [
        [
          [
            [5, 6],
            [8, 9],
          ],
        ],
      ]);
      ctx.close(
        wg.maxPool2d(
          ctx.t([
            [
              [
                [-5, -6],
                [-7, -8],
              ],
            ],
          ]),
          2,
          { padding: 1 },
        ),
        [
          [
            [
              [-5, -6],
              [-7, -8],
            ],
          ],
        ],
      ); // padding never wins
    }));

  it('avgPool2d: plain, padding with and without countIncludePad', () =>
    tidy(() => {
      ctx.close(wg.avgPool2d(img4(), 2), [
        [
          [
            [2.5, 4.5],
            [10.5, 12.5],
          ],
        ],
      ]);
      ctx.close(wg.avgPool2d(img3(), 2, { stride: 2, padding: 1 }), [
        [
          [
            [0.25, 1.25],
            [2.75, 7],
          ],
        ],
      ]);
      ctx.close(wg.avgPool2d(img3(), 2, { stride: 2, padding: 1, countIncludePad: false }), [
        [
          [
            [1, 2.5],
            [5.5, 7],
          ],
        ],
      ]);
    }));

  it('adaptiveAvgPool2d uses torch windows', () =>
    tidy(() => {
      ctx.close(wg.adaptiveAvgPool2d(img3(), 2), [
        [
          [
            [3, 4],
            [6, 7],
          ],
        ],
      ]);
      ctx.close(wg.adaptiveAvgPool2d(img3(), 1), [[[[5]]]]);
      ctx.close(wg.adaptiveAvgPool2d(img4(), [1, 2]), [[[[6.5, 8.5]]]]);
    }));

  it('layerNorm with and without affine', () =>
    tidy(() => {
      const x = ctx.t([
        [1, 2, 3],
        [2, 4, 6],
      ]);
      const r1 = 1 / Math.sqrt(2 / 3 + 1e-5),
        r2 = 1 / Math.sqrt(8 / 3 + 1e-5);
      ctx.close(wg.layerNorm(x, 3), [
        [-r1, 0, r1],
        [-2 * r2, 0, 2 * r2],
      ]);
      ctx.close(wg.layerNorm(x, [3], ctx.t([1, 2, 3]), ctx.t([0, 0, 1])), [
        [-r1, 0, 3 * r1 + 1],
        [-2 * r2, 0, 6 * r2 + 1],
      ]);
      const all = wg.layerNorm(x, [2, 3]);
      const m = 3,
        v = [1, 2, 3, 2, 4, 6].reduce((a, b) => a + (b - m) ** 2, 0) / 6;
      ctx.close(
        all,
        [
          [1, 2, 3],
          [2, 4, 6],
        ].map((r) => r.map((b) => (b - m) / Math.sqrt(v + 1e-5))),
      );
    }));

  it('batchNorm: training stats, running-stat update, eval', () =>
    tidy(() => {
      const x = ctx.t([
        [1, 2],
        [3, 6],
      ]); // channel 0: [1,3], channel 1: [2,6]
      const rm = ctx.t([0, 0]);
      const rv = ctx.t([1, 1]);
      const y = wg.batchNorm(x, rm, rv, null, null, { training: true });
      const a = 1 / Math.sqrt(1 + 1e-5),
        b = 2 / Math.sqrt(4 + 1e-5);
      ctx.close(y, [
        [-a, -b],
        [a, b],
      ]);
      ctx.close(rm, [0.2, 0.4]);
      ctx.close(rv, [0.9 + 0.1 * 2, 0.9 + 0.1 * 8]);
      const ye = wg.batchNorm(x, rm, rv, ctx.t([2, 1]), ctx.t([0, 1]), { training: false });
      ctx.close(ye, [
        [(2 * (1 - 0.2)) / Math.sqrt(1.1 + 1e-5), (2 - 0.4) / Math.sqrt(1.7 + 1e-5) + 1],
        [(2 * (3 - 0.2)) / Math.sqrt(1.1 + 1e-5), (6 - 0.4) / Math.sqrt(1.7 + 1e-5) + 1],
      ]);
      // (N, C, H, W): statistics over N, H, W
      const x4 = ctx.t([[[[1, 3]], [[2, 6]]]]);
      ctx.close(wg.batchNorm(x4, null, null, null, null, { training: true, eps: 0 }), [[[[-1, 1]], [[-1, 1]]]]);
    }));

  it('crossEntropy: mean/sum/none, label smoothing, ignoreIndex, spatial, probabilities', () =>
    tidy(() => {
      const rows = [
        [1, 2, 3],
        [1, 1, 1],
      ];
      const logits = ctx.t(rows);
      const t = ctx.t([2, 0], { dtype: 'int32' });
      const l0 = lse(rows[0]!) - 3,
        l1 = Math.log(3);
      ctx.close(wg.crossEntropy(logits, t), (l0 + l1) / 2);
      ctx.close(wg.crossEntropy(logits, t, { reduction: 'sum' }), l0 + l1);
      ctx.close(wg.crossEntropy(logits, t, { reduction: 'none' }), [l0, l1]);
      const eps = 0.1;
      const smooth = (r: number[], k: number) => (1 - eps) * (lse(r) - r[k]!) + (eps / 3) * r.reduce((a, v) => a + (lse(r) - v), 0);
      ctx.close(wg.crossEntropy(logits, t, { labelSmoothing: eps }), (smooth(rows[0]!, 2) + smooth(rows[1]!, 0)) / 2);
      ctx.close(wg.crossEntropy(logits, ctx.t([2, -100], { dtype: 'int32' })), l0);
      ctx.close(wg.crossEntropy(logits, ctx.t([2, 1], { dtype: 'int32' }), { ignoreIndex: 1 }), l0);
      const spatial = ctx.t([
        [
          [1, 1],
          [2, 1],
          [3, 1],
        ],
      ]); // (1, 3, 2): positions are the rows above
      ctx.close(wg.crossEntropy(spatial, ctx.t([[2, 0]], { dtype: 'int32' })), (l0 + l1) / 2);
      ctx.close(wg.crossEntropy(spatial, ctx.t([[2, 0]], { dtype: 'int32' }), { reduction: 'none' }), [[l0, l1]]);
      const probs = ctx.t([
        [0, 0, 1],
        [1, 0, 0],
      ]);
      ctx.close(wg.crossEntropy(logits, probs), (l0 + l1) / 2);
    }));

  it('nllLoss, mseLoss, l1Loss, binaryCrossEntropy, bceWithLogits', () =>
    tidy(() => {
      const lp = ctx.t([
        [-1, -2, -3],
        [-0.5, -1.5, -2.5],
      ]);
      ctx.close(wg.nllLoss(lp, ctx.t([1, 2], { dtype: 'int32' })), 2.25);
      ctx.close(wg.nllLoss(lp, ctx.t([1, -100], { dtype: 'int32' })), 2);
      ctx.close(wg.nllLoss(lp, ctx.t([1, 2], { dtype: 'int32' }), { reduction: 'none' }), [2, 2.5]);
      const a = ctx.t([1, 2, 3]),
        b = ctx.t([2, 2, 5]);
      ctx.close(wg.mseLoss(a, b), 5 / 3);
      ctx.close(wg.mseLoss(a, b, { reduction: 'sum' }), 5);
      ctx.close(wg.mseLoss(a, b, { reduction: 'none' }), [1, 0, 4]);
      ctx.close(wg.l1Loss(a, b), 1);
      ctx.close(wg.binaryCrossEntropy(ctx.t([0.8, 0.3]), ctx.t([1, 0])), -(Math.log(0.8) + Math.log(0.7)) / 2);
      ctx.close(wg.binaryCrossEntropy(ctx.t([0, 1]), ctx.t([1, 0])), 100); // log clamped at -100
      ctx.close(wg.bceWithLogits(ctx.t([0.5, -1]), ctx.t([1, 0])), (Math.log1p(Math.exp(-0.5)) + Math.log1p(Math.exp(-1))) / 2);
      ctx.close(wg.bceWithLogits(ctx.t([200, -200]), ctx.t([0, 1]), { reduction: 'none' }), [200, 200]);
      ctx.close(wg.bceWithLogits(ctx.t([0.5]), ctx.t([1]), { posWeight: ctx.t([3]) }), 3 * Math.log1p(Math.exp(-0.5)));
    }));

  it('lstmGates and gruGates by hand', () =>
    tidy(() => {
      const [h, c] = wg.lstmGates(ctx.t([[0, 0, 0, 0]]), ctx.t([[1]]));
      ctx.close(c, [[0.5]]);
      ctx.close(h, [[0.5 * Math.tanh(0.5)]]);
      const sg = (v: number) => 1 / (1 + Math.exp(-v));
      const [h2, c2] = wg.lstmGates(ctx.t([[1, -1, 0.5, 2]]), ctx.t([[0.3]]));
      const cc = sg(-1) * 0.3 + sg(1) * Math.tanh(0.5);
      ctx.close(c2, [[cc]]);
      ctx.close(h2, [[sg(2) * Math.tanh(cc)]]);
      ctx.close(wg.gruGates(ctx.t([[0, 0, 0]]), ctx.t([[0, 0, 0]]), ctx.t([[1]])), [[0.5]]);
      const r = sg(0.1 + 0.2),
        z = sg(-0.3 + 0.4),
        n = Math.tanh(0.5 + r * -0.6);
      ctx.close(wg.gruGates(ctx.t([[0.1, -0.3, 0.5]]), ctx.t([[0.2, 0.4, -0.6]]), ctx.t([[0.7]])), [[(1 - z) * n + z * 0.7]]);
    }));

  it('dropout: zeros or scaled values, rate about p, identity in eval', () =>
    tidy(() => {
      wg.manualSeed(1);
      const x = wg.ones([10000], { device: ctx.device });
      const y = wg.dropout(x, 0.25);
      const v = y.dataSync();
      let zeros = 0;
      for (const e of v) {
        if (e === 0) zeros++;
        else expect(Math.abs(e - 4 / 3)).toBeLessThan(1e-6);
      }
      expect(zeros / v.length).toBeGreaterThan(0.22);
      expect(zeros / v.length).toBeLessThan(0.28);
      ctx.close(wg.dropout(ctx.t([1, 2]), 0.5, false), [1, 2]);
      ctx.close(wg.dropout(ctx.t([1, 2]), 0), [1, 2]);
    }));

  it('embedding picks rows for any index shape', () =>
    tidy(() => {
      const w = ctx.t([
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      ctx.close(
        wg.embedding(
          ctx.t(
            [
              [2, 0],
              [1, 1],
            ],
            { dtype: 'int32' },
          ),
          w,
        ),
        [
          [
            [4, 5],
            [0, 1],
          ],
          [
            [2, 3],
            [2, 3],
          ],
        ],
      );
    }));
});
