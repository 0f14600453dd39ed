// Finite differences in float64 against autograd for every differentiable op, on every backend.
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, type Tensor } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';
import { gradcheck } from '../util/gradcheck.js';

describeBackends('gradcheck', (ctx) => {
  const opts = { device: ctx.device, dtype: 'float64' as const };
  /** float64 leaf requiring grad: randn scaled and shifted */
  const R = (shape: number[], scale = 1, shift = 0): Tensor => tidy(() => wg.randn(shape, opts).mul(scale).add(shift)).requiresGrad_(true);
  /** values bounded away from 0 (for abs, relu, sqrt...) */
  const away = (shape: number[]): Tensor =>
    tidy(() => {
      const r = wg.randn(shape, opts);
      return r.add(r.sign().mul(0.2));
    }).requiresGrad_(true);
  const pos = (shape: number[]): Tensor => tidy(() => wg.rand(shape, opts).add(0.5)).requiresGrad_(true);
  const I = (v: number[] | number[][], shape?: number[]) => ctx.t(v as number[], { dtype: 'int32', ...(shape ? { shape } : {}) });
  const check = (fn: (...xs: Tensor[]) => Tensor | Tensor[], xs: Tensor[]) => {
    const r = gradcheck(fn, xs, ctx.name === 'cuda' ? { atol: 1e-4, rtol: 1e-3 } : {});
    expect(r.checked).toBeGreaterThan(0);
  };

  it('unary math', () =>
    tidy(() => {
      wg.manualSeed(10);
      const x = R([2, 3]);
      for (const f of [
        (a: Tensor) => a.neg(),
        (a: Tensor) => a.exp(),
        (a: Tensor) => a.sin(),
        (a: Tensor) => a.cos(),
        (a: Tensor) => a.tanh(),
        (a: Tensor) => a.sigmoid(),
        (a: Tensor) => a.square(),
        (a: Tensor) => a.expm1(),
        (a: Tensor) => a.gelu(),
        (a: Tensor) => a.gelu('tanh'),
        (a: Tensor) => a.silu(),
        (a: Tensor) => a.softplus(),
        (a: Tensor) => a.elu(0.7),
        (a: Tensor) => a.pow(3),
        (a: Tensor) => wg.pow(1.7, a),
        (a: Tensor) => a.clamp(-0.5, 0.6),
        (a: Tensor) => a.clamp(0.1),
        (a: Tensor) => wg.sub(2, a),
        (a: Tensor) => a.mul(-3).add(1),
        (a: Tensor) => a.div(4),
      ])
        check(f, [x]);
      const p = pos([3, 2]);
      for (const f of [
        (a: Tensor) => a.log(),
        (a: Tensor) => a.log1p(),
        (a: Tensor) => a.sqrt(),
        (a: Tensor) => a.rsqrt(),
        (a: Tensor) => a.reciprocal(),
        (a: Tensor) => a.pow(0.5),
        (a: Tensor) => a.pow(-1.5),
        (a: Tensor) => wg.div(2, a),
      ])
        check(f, [p]);
      const z = away([5]);
      for (const f of [(a: Tensor) => a.abs(), (a: Tensor) => a.relu(), (a: Tensor) => a.leakyRelu(0.1)]) check(f, [z]);
    }));

  it('binary ops with broadcasting', () =>
    tidy(() => {
      wg.manualSeed(11);
      const shapes: [number[], number[]][] = [
        [
          [2, 3],
          [2, 3],
        ],
        [[2, 3], [3]],
        [
          [2, 1],
          [1, 3],
        ],
        [[3], []],
        [
          [2, 1, 3],
          [4, 1],
        ],
      ];
      for (const [sa, sb] of shapes) {
        const a = R(sa),
          b = R(sb);
        check((x, y) => x.add(y), [a, b]);
        check((x, y) => x.sub(y, 2), [a, b]);
        check((x, y) => x.mul(y), [a, b]);
        check((x, y) => wg.maximum(x, y), [a, b]);
        check((x, y) => wg.minimum(x, y), [a, b]);
        const pb = pos(sb);
        check((x, y) => x.div(y), [a, pb]);
        check((x, y) => x.pow(y), [pos(sa), b]);
      }
      // one side constant
      const a = R([2, 2]);
      check(
        (x) =>
          x.mul(
            ctx.t(
              [
                [1, 2],
                [3, 4],
              ],
              { dtype: 'float64' },
            ),
          ),
        [a],
      );
    }));

  it('a tensor used twice, and both operands the same tensor', () =>
    tidy(() => {
      wg.manualSeed(12);
      const a = R([3]);
      check((x) => x.mul(x), [a]);
      check((x) => x.add(x).mul(x.exp()), [a]);
    }));

  it('reductions: sum, mean, max/min (dim and all), var, std, logsumexp, norm', () =>
    tidy(() => {
      wg.manualSeed(13);
      const x = R([2, 3, 4]);
      check((a) => a.sum(), [x]);
      check((a) => a.sum(1), [x]);
      check((a) => a.sum([0, 2], true), [x]);
      check((a) => a.sum(-1, true), [x]);
      check((a) => a.mean(), [x]);
      check((a) => a.mean([0, 1]), [x]);
      check((a) => a.max(), [x]);
      check((a) => a.max(1), [x]);
      check((a) => a.min(-1, true), [x]);
      check((a) => a.min(0), [x]);
      check((a) => a.var(1), [x]);
      check((a) => a.std(-1, true), [x]);
      check((a) => a.var(), [x]);
      check((a) => a.logsumexp(1), [x]);
      check((a) => a.logsumexp(-1, true), [x]);
      const z = away([2, 3]);
      check((a) => a.norm(), [z]);
      check((a) => a.norm(1, 1), [z]);
      check((a) => a.norm(3, 0), [z]);
      check((a) => a.norm(Infinity, 1), [z]);
    }));

  it('matmul: 2-D, batched broadcast, 1-D cases; linear', () =>
    tidy(() => {
      wg.manualSeed(14);
      check((a, b) => a.matmul(b), [R([2, 3]), R([3, 4])]);
      check((a, b) => a.matmul(b), [R([2, 1, 3, 2]), R([3, 2, 2])]);
      check((a, b) => a.matmul(b), [R([2, 2, 3]), R([3, 2])]);
      check((a, b) => a.matmul(b), [R([3, 2]), R([2, 2, 3])]);
      check((a, b) => a.matmul(b), [R([3]), R([3])]);
      check((a, b) => a.matmul(b), [R([3]), R([2, 3, 2])]);
      check((a, b) => a.matmul(b), [R([2, 2, 3]), R([3])]);
      check((x, w, b) => wg.linear(x, w, b), [R([2, 3]), R([4, 3]), R([4])]);
      check((x, w) => wg.linear(x, w), [R([2, 2, 3]), R([2, 3])]);
    }));

  it('shape ops: reshape, permute, transpose, expand, slice, select, cat, stack, split, indexSelect, gather, where', () =>
    tidy(() => {
      wg.manualSeed(15);
      const x = R([2, 3, 2]);
      check((a) => a.reshape(3, 4).mul(ctx.t([1, 2, 3, 4], { dtype: 'float64' })), [x]);
      check((a) => a.permute(2, 0, 1), [x]);
      check((a) => a.transpose(0, -1), [x]);
      check((a) => a.flatten(1).unsqueeze(0).squeeze(), [x]);
      check((a) => a.expand(2, 2, 3), [R([2, 1, 3])]);
      check((a) => a.slice(1, 0, 3, 2), [x]);
      check((a) => a.slice(-1, -1), [x]);
      check((a) => a.select(1, -1), [x]);
      check((a, b) => wg.cat([a, b, a], 1), [R([2, 1]), R([2, 3])]);
      check((a, b) => wg.stack([a, b], -1), [R([2, 3]), R([2, 3])]);
      check((a) => a.split([1, 2], 1)[1]!.mul(2), [x]);
      check((a) => a.chunk(2, 1)[0]!, [R([2, 4])]);
      check((a) => a.indexSelect(0, I([2, 0, 2])), [R([3, 2])]);
      check((a) => a.indexSelect(1, I([1, 1])), [R([3, 2])]);
      check(
        (a) =>
          a.gather(
            1,
            I([
              [0, 0, 2],
              [1, 0, 1],
            ]),
          ),
        [R([2, 3])],
      );
      check((a) => a.gather(0, I([[1, 0, 1]])), [R([2, 3])]);
      const cond = ctx.t(
        [
          [1, 0, 1],
          [0, 0, 1],
        ],
        { dtype: 'float64' },
      );
      check((a, b) => wg.where(cond, a, b), [R([2, 3]), R([3])]);
      check((a) => wg.where(cond, a, 0), [R([2, 3])]);
      check(
        (a) =>
          wg.embedding(
            I([
              [2, 0],
              [2, 2],
            ]),
            a,
          ),
        [R([3, 2])],
      );
    }));

  it('softmax and logSoftmax along several dims', () =>
    tidy(() => {
      wg.manualSeed(16);
      const x = R([2, 3, 4]);
      for (const d of [0, 1, 2, -1]) {
        check((a) => a.softmax(d), [x]);
        check((a) => a.logSoftmax(d), [x]);
      }
    }));

  it('conv2d with stride, padding, dilation, groups, bias', () =>
    tidy(() => {
      wg.manualSeed(17);
      check((x, w, b) => wg.conv2d(x, w, b), [R([2, 2, 4, 4]), R([3, 2, 3, 3]), R([3])]);
      check((x, w) => wg.conv2d(x, w, null, { stride: 2, padding: 1 }), [R([1, 2, 5, 5]), R([2, 2, 3, 3])]);
      check((x, w) => wg.conv2d(x, w, null, { dilation: 2, padding: [1, 0] }), [R([1, 1, 5, 6]), R([2, 1, 2, 3])]);
      check((x, w, b) => wg.conv2d(x, w, b, { groups: 2, stride: [1, 2] }), [R([1, 4, 4, 5]), R([4, 2, 2, 2]), R([4])]);
    }));

  it('pools: max, avg (padding, countIncludePad), adaptive', () =>
    tidy(() => {
      wg.manualSeed(18);
      const x = R([1, 2, 5, 5]);
      check((a) => wg.maxPool2d(a, 2), [x]);
      check((a) => wg.maxPool2d(a, 3, { stride: 2, padding: 1 }), [x]);
      check((a) => wg.maxPool2d(a, 2, { stride: 1, dilation: 2, ceilMode: true }), [x]);
      check((a) => wg.avgPool2d(a, 2), [x]);
      check((a) => wg.avgPool2d(a, 3, { stride: 2, padding: 1 }), [x]);
      check((a) => wg.avgPool2d(a, 3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }), [x]);
      check((a) => wg.adaptiveAvgPool2d(a, [2, 3]), [x]);
      check((a) => wg.adaptiveAvgPool2d(a, 1), [x]);
    }));

  it('layerNorm and batchNorm (train)', () =>
    tidy(() => {
      wg.manualSeed(19);
      check((x, w, b) => wg.layerNorm(x, 4, w, b), [R([3, 4]), R([4]), R([4])]);
      check((x) => wg.layerNorm(x, [2, 3]), [R([2, 2, 3])]);
      check((x, w, b) => wg.batchNorm(x, null, null, w, b, { training: true }), [R([3, 2]), R([2]), R([2])]);
      check((x, w, b) => wg.batchNorm(x, null, null, w, b, { training: true }), [R([2, 3, 2, 2]), R([3]), R([3])]);
      // eval uses running stats: a plain affine map
      const rm = ctx.t([0.1, -0.2], { dtype: 'float64' }),
        rv = ctx.t([1.5, 0.5], { dtype: 'float64' });
      check((x, w) => wg.batchNorm(x, rm, rv, w, null, { training: false }), [R([3, 2]), R([2])]);
    }));

  it('losses: crossEntropy (smoothing, ignoreIndex, spatial, probabilities), nll, mse, bce, bceWithLogits', () =>
    tidy(() => {
      wg.manualSeed(20);
      const t = I([2, 0, 1]);
      check((x) => wg.crossEntropy(x, t), [R([3, 4])]);
      check((x) => wg.crossEntropy(x, t, { labelSmoothing: 0.2, reduction: 'sum' }), [R([3, 4])]);
      check((x) => wg.crossEntropy(x, I([2, -100, 1])), [R([3, 4])]);
      check((x) => wg.crossEntropy(x, I([2, 0, 1]), { ignoreIndex: 0, reduction: 'none' }), [R([3, 4])]);
      check(
        (x) =>
          wg.crossEntropy(
            x,
            I([
              [0, 2],
              [1, 1],
            ]),
          ),
        [R([2, 3, 2])],
      );
      check((x, p) => wg.crossEntropy(x, p.softmax(1)), [R([2, 3]), R([2, 3])]);
      check((x) => wg.nllLoss(x.logSoftmax(1), t), [R([3, 4])]);
      check(
        (x) =>
          wg.nllLoss(
            x,
            I([
              [0, 2],
              [1, -100],
            ]),
          ),
        [R([2, 3, 2])],
      );
      check((a, b) => wg.mseLoss(a, b), [R([2, 3]), R([2, 3])]);
      check((a, b) => wg.l1Loss(a, b, { reduction: 'sum' }), [R([4]), R([4], 1, 5)]);
      const p = tidy(() => wg.rand([2, 3], opts).mul(0.8).add(0.1)).requiresGrad_(true);
      check((a, b) => wg.binaryCrossEntropy(a, b), [p, tidy(() => wg.rand([2, 3], opts)).requiresGrad_(true)]);
      check((a, b) => wg.bceWithLogits(a, b), [R([2, 3]), tidy(() => wg.rand([2, 3], opts)).requiresGrad_(true)]);
      check((a, w) => wg.bceWithLogits(a, ctx.t([1, 0, 1], { dtype: 'float64' }), { posWeight: w }), [R([3]), pos([3])]);
    }));

  it('lstmGates (both outputs) and gruGates', () =>
    tidy(() => {
      wg.manualSeed(21);
      check((g, c) => wg.lstmGates(g, c), [R([2, 8]), R([2, 2])]);
      check((g, c) => wg.lstmGates(g, c)[0]!, [R([2, 8]), R([2, 2])]); // dc absent
      check((g, c) => wg.lstmGates(g, c)[1]!, [R([2, 8]), R([2, 2])]); // dh absent
      check((x, h, hp) => wg.gruGates(x, h, hp), [R([2, 6]), R([2, 6]), R([2, 2])]);
    }));

  it('dropout with a fixed seed', () =>
    tidy(() => {
      wg.manualSeed(22);
      check(
        (x) => {
          wg.manualSeed(5);
          return wg.dropout(x, 0.4);
        },
        [R([4, 5])],
      );
    }));

  it('casts between float dtypes and device moves are differentiable', () =>
    tidy(() => {
      wg.manualSeed(23);
      expect(gradcheck((x) => x.float().double().mul(2), [R([3])], { eps: 1e-2, atol: 1e-5 }).checked).toBe(3); // linear: a big step is exact
      check((x) => x.cpu().mul(2).to(ctx.device), [R([3])]);
    }));
});
