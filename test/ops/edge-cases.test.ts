// Reductions, softmax and losses at their edges (±Infinity, all −Infinity rows, empty inputs),
// pooling over empty dims, and int32 sums, each against what torch does (fixtures written by
// test/fixtures/make_edge_fixtures.py; torch's refusals are matched by an error naming the op).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tensor, tidy, type Tensor } from '../../lib/index.js';
import { assertClose, describeBackends } from '../util/backends.js';

type Enc = number | 'inf' | '-inf' | 'nan';
interface Fx {
  shape: number[];
  data: Enc[];
}
interface Case {
  name: string;
  input?: Fx;
  target?: number[];
  out?: Fx;
  error?: string;
}
const cases = new Map(
  (JSON.parse(readFileSync(new URL('../fixtures/edge_cases.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases.map((c) => [
    c.name,
    c,
  ]),
);
const dec = (v: Enc): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : v);
function fx(name: string): Case {
  const c = cases.get(name);
  if (!c) throw new Error(`fixture case ${name} missing: run test/fixtures/make_edge_fixtures.py`);
  return c;
}

describeBackends('edge cases', (ctx) => {
  const f64 = { dtype: 'float64' as const, device: ctx.device };
  const input = (name: string): Tensor => {
    const c = fx(name).input!;
    return tensor(Float64Array.from(c.data, dec), { ...f64, shape: c.shape });
  };
  /** actual equals torch's output for case `name` (shape, values; NaN and ±Infinity exactly) */
  const same = (name: string, actual: Tensor): void => {
    const c = fx(name);
    if (!c.out) throw new Error(`${name}: torch refused (${c.error}); expected a value`);
    expect([...actual.shape], `${name} shape`).toEqual(c.out.shape);
    assertClose(
      actual.dataSync(),
      c.out.data.map(dec),
      ctx.name === 'cuda' ? { rtol: 1e-9, atol: 1e-12 } : { rtol: 1e-10, atol: 1e-12 },
      name,
    );
  };
  /** torch refused case `name`; so do we, naming the op */
  const refused = (name: string, fn: () => unknown, re: RegExp): void => {
    expect(fx(name).error, `${name}: torch's refusal`).toBeTruthy();
    expect(fn).toThrow(re);
  };

  it('logsumexp: all −∞ rows give −∞, +∞ gives +∞, an empty dim −∞ (NaN before)', () =>
    tidy(() => {
      same('logsumexp_rows', input('logsumexp_rows').logsumexp(1));
      same('logsumexp_empty_dim', wg.zeros([2, 0], f64).logsumexp(1));
      const x = tensor([-Infinity, 1, 0.5], { ...f64, requiresGrad: true });
      x.logsumexp(0).backward();
      same('logsumexp_grad_neg_inf', x.grad!);
      // float32 takes the same path
      expect(
        tensor(
          [
            [-Infinity, -Infinity],
            [Infinity, 1],
          ],
          { device: ctx.device },
        )
          .logsumexp(1, true)
          .toArray(),
      ).toEqual([[-Infinity], [Infinity]]);
    }));

  it('softmax / logSoftmax: an all −∞ row is NaN like torch, −∞ elsewhere is a 0 probability', () =>
    tidy(() => {
      const x = input('softmax_rows');
      same('softmax_rows', x.softmax(1));
      same('log_softmax_rows', x.logSoftmax(1));
      same('softmax_dim0', x.transpose(0, 1).softmax(0));
    }));

  it('crossEntropy with −∞ logits: NaN for an all −∞ row, +∞ at the target, 0 off it (and its gradient)', () =>
    tidy(() => {
      const logits = input('cross_entropy_rows');
      const target = tensor(fx('cross_entropy_rows').target!, { dtype: 'int32', device: ctx.device });
      same('cross_entropy_rows', wg.crossEntropy(logits, target, { reduction: 'none' }));
      same('cross_entropy_rows_ls', wg.crossEntropy(logits, target, { reduction: 'none', labelSmoothing: 0.1 }));
      const l = tensor([[-Infinity, 0, 1]], { ...f64, requiresGrad: true });
      wg.crossEntropy(l, tensor([2], { dtype: 'int32', device: ctx.device })).backward();
      same('cross_entropy_grad_neg_inf', l.grad!);
    }));

  it('empty reductions: sum 0, mean/var/std NaN, norms 0', () =>
    tidy(() => {
      const e0 = wg.zeros([0], f64);
      const e03 = wg.zeros([0, 3], f64);
      same('sum_empty', e0.sum());
      same('sum_empty_dim0', e03.sum(0));
      same('mean_empty', e0.mean());
      same('mean_empty_dim0', e03.mean(0));
      same('mean_empty_dim1', e03.mean(1));
      same('var_empty', e0.var());
      same('std_empty', e0.std());
      same('var_one', wg.ones([1], f64).var());
      same('var_empty_dim0', e03.var(0));
      same('norm_empty_p2', e0.norm(2));
      same('norm_empty_p1', e0.norm(1));
      same('norm_empty_pinf', e0.norm(Infinity));
      same('norm_empty_p3', e0.norm(3));
    }));

  it('norm with p = 0 (count of non-zeros), -Infinity (min |x|) and negative p, like torch', () =>
    tidy(() => {
      const x = ctx.t(
        [
          [0, 3, -4],
          [1, -2, 0.5],
        ],
        { dtype: 'float64' },
      );
      same('norm_p0', x.norm(0));
      same('norm_p0_dim1', x.norm(0, 1));
      same('norm_pneginf', x.norm(-Infinity));
      same('norm_pneginf_dim1', x.norm(-Infinity, 1));
      same('norm_pneg1_dim1', x.norm(-1, 1));
      same('norm_phalf', x.norm(0.5));
      const y = ctx
        .t(
          [
            [0, 3, -4],
            [1, -2, 0.5],
          ],
          { dtype: 'float64' },
        )
        .requiresGrad_(true);
      y.norm(-Infinity, 1).sum().backward();
      same('norm_pneginf_grad', y.grad!);
    }));

  it('max / min / argmax over an empty dim are errors naming the op and the dim; over a non-empty dim of an empty tensor they are empty', () =>
    tidy(() => {
      const e0 = wg.zeros([0], f64);
      const e03 = wg.zeros([0, 3], f64);
      refused('max_empty', () => e0.max(), /max: cannot reduce the empty tensor \(0,\) over all dims/);
      refused('min_empty', () => e0.min(), /min: cannot reduce the empty tensor/);
      refused('argmax_empty', () => e0.argmax(), /argmax: cannot reduce the empty tensor/);
      refused('max_empty_dim0', () => e03.max(0), /max: cannot reduce dim 0 of size 0 of \(0,3\)/);
      expect(() => e03.argmin(-2)).toThrow(/argmin: cannot reduce dim 0 of size 0/);
      same('max_empty_dim1', e03.max(1));
      same('argmax_empty_dim1', e03.argmax(1).double());
    }));

  it("losses over an empty batch: 'mean' is NaN, 'sum' 0, like torch", () =>
    tidy(() => {
      const e0 = wg.zeros([0], f64);
      const e03 = wg.zeros([0, 3], f64);
      const none = wg.zeros([0], { dtype: 'int32', device: ctx.device });
      same('mse_empty_mean', wg.mseLoss(e0, e0));
      same('mse_empty_sum', wg.mseLoss(e0, e0, { reduction: 'sum' }));
      same('l1_empty_mean', wg.l1Loss(e0, e0));
      same('bce_empty_mean', wg.binaryCrossEntropy(e0, e0));
      same('bce_logits_empty_mean', wg.bceWithLogits(e0, e0));
      same('cross_entropy_empty_mean', wg.crossEntropy(e03, none));
      same('cross_entropy_empty_sum', wg.crossEntropy(e03, none, { reduction: 'sum' }));
      same(
        'cross_entropy_all_ignored',
        wg.crossEntropy(wg.zeros([2, 3], f64), tensor([-100, -100], { dtype: 'int32', device: ctx.device })),
      );
      same('nll_empty_mean', wg.nllLoss(e03, none));
    }));

  it('pooling: an empty H or W is an error (an average over nothing was NaN), an empty batch or C gives an empty output', () =>
    tidy(() => {
      refused(
        'adaptive_avg_pool_empty_h',
        () => wg.adaptiveAvgPool2d(wg.zeros([1, 1, 0, 4], f64), 2),
        /adaptiveAvgPool2d: expected input to have non-zero size for non-batch dimensions, but input \(1,1,0,4\) has dimension 2 empty/,
      );
      refused(
        'avg_pool_empty_h_padded',
        () => wg.avgPool2d(wg.zeros([1, 1, 0, 4], f64), 2, { padding: 1, countIncludePad: false }),
        /avgPool2d: .*dimension 2 empty/,
      );
      refused('max_pool_empty_w', () => wg.maxPool2d(wg.zeros([1, 1, 4, 0], f64), 1), /maxPool2d: .*dimension 3 empty/);
      same('adaptive_avg_pool_empty_batch', wg.adaptiveAvgPool2d(wg.zeros([0, 1, 4, 4], f64), 2));
      same('adaptive_avg_pool_empty_c', wg.adaptiveAvgPool2d(wg.zeros([1, 0, 4, 4], f64), 2));
      same('avg_pool_empty_batch', wg.avgPool2d(wg.zeros([0, 1, 4, 4], f64), 2));
    }));

  it('int32 sums are exact (float64; torch gives int64), not wrapped', () =>
    tidy(() => {
      const s = wg.full([3], 2 ** 30, { dtype: 'int32', device: ctx.device }).sum();
      expect(s.dtype).toBe('float64');
      same('int32_sum', s);
      same('int32_sum_dim', wg.full([2, 3], 2 ** 30, { dtype: 'int32', device: ctx.device }).sum(1));
      // counting matches, the common int sum, keeps working with float promotion downstream
      const hits = wg
        .eq(tensor([1, 2, 3], { dtype: 'int32', device: ctx.device }), tensor([1, 0, 3], { dtype: 'int32', device: ctx.device }))
        .sum();
      expect(hits.item()).toBe(2);
      expect(hits.div(3).item()).toBeCloseTo(2 / 3, 12);
    }));
});
