// Confusion matrix, precision / recall / F1 (binary, macro, micro, weighted) and ROC AUC, against
// values worked out by hand below (sklearn's definitions), as functions and as fit metrics.
import { describe, expect, it } from 'vitest';
import { memory, tensor, tidy } from '../../lib/index.js';
import {
  AUC,
  ConfusionMatrix,
  aucScore,
  confusionMatrix,
  f1Score,
  precisionScore,
  recallScore,
  rocAuc,
  scoreFromConfusion,
} from '../../lib/train/classification.js';
import { makeMetric } from '../../lib/train/metrics.js';

// 3 classes, 8 samples: logits whose argmax gives pred; targets t
//   t    = 0 0 0 1 1 2 2 2
//   pred = 0 1 0 1 2 2 2 0
const logits = (): number[][] => [
  [3, 1, 0.5],
  [0.2, 2, 1],
  [1.5, -1, 0.3],
  [-0.4, 0.9, 0.1],
  [0, 0.5, 1.7],
  [0.1, 0.2, 0.3],
  [-2, -1, 4],
  [2.5, 0.7, 1.1],
];
const targets = [0, 0, 0, 1, 1, 2, 2, 2];
// confusion (rows true, cols pred):
//   [2 1 0]   class 0: tp 2, predicted 3, support 3 → P 2/3, R 2/3, F1 2/3
//   [0 1 1]   class 1: tp 1, predicted 2, support 2 → P 1/2, R 1/2, F1 1/2
//   [1 0 2]   class 2: tp 2, predicted 3, support 3 → P 2/3, R 2/3, F1 2/3
const CM = [
  [2, 1, 0],
  [0, 1, 1],
  [1, 0, 2],
];
const macro = (2 / 3 + 1 / 2 + 2 / 3) / 3; // 0.6111…
const weighted = (3 * (2 / 3) + 2 * (1 / 2) + 3 * (2 / 3)) / 8; // 0.625
const micro = 5 / 8; // tp 5 of 8 predictions / 8 targets

describe('classification metrics (functions)', () => {
  it('confusion matrix, precision, recall, F1 with every average', () =>
    tidy(() => {
      const x = tensor(logits());
      const t = tensor(targets, { dtype: 'int32' });
      expect(confusionMatrix(x, t)).toEqual(CM);
      for (const f of [precisionScore, recallScore, f1Score]) {
        expect(f(x, t)).toBeCloseTo(macro, 12); // default for 3 classes: macro
        expect(f(x, t, { average: 'macro' })).toBeCloseTo(macro, 12);
        expect(f(x, t, { average: 'weighted' })).toBeCloseTo(weighted, 12);
        expect(f(x, t, { average: 'micro' })).toBeCloseTo(micro, 12);
      }
      expect(() => f1Score(x, t, { average: 'binary' })).toThrow(/average 'binary' needs 2 classes, the data has 3/);
      expect(() => f1Score(x, t, { average: 'samples' as 'macro' })).toThrow(/average must be 'binary', 'macro', 'micro' or 'weighted'/);
      expect(() => f1Score(x, t, { averge: 'macro' } as never)).toThrow(/f1Score: unknown option 'averge' — did you mean 'average'/);
      expect(() => new ConfusionMatrix({ numClasses: 1 })).toThrow(/numClasses must be an integer >= 2, got 1/);
    }));

  it('precision and recall differ where fp ≠ fn; absent classes are skipped in macro, zero division is 0', () => {
    // t = 0 0 1 1 1, pred = 0 1 1 1 1 (labels): class 0 P 1/1 R 1/2, class 1 P 3/4 R 3/3
    tidy(() => {
      const p = tensor([0, 1, 1, 1, 1], { dtype: 'int32' });
      const t = tensor([0, 0, 1, 1, 1], { dtype: 'int32' });
      expect(precisionScore(p, t, { average: 'macro' })).toBeCloseTo((1 + 0.75) / 2, 12);
      expect(recallScore(p, t, { average: 'macro' })).toBeCloseTo((0.5 + 1) / 2, 12);
      expect(precisionScore(p, t)).toBeCloseTo(0.75, 12); // binary: class 1
      expect(f1Score(p, t)).toBeCloseTo((2 * 3) / (2 * 3 + 1 + 0), 12);
      // numClasses 4 with classes 2 and 3 never seen: macro still averages over classes 0 and 1 (sklearn)
      expect(precisionScore(p, t, { numClasses: 4, average: 'macro' })).toBeCloseTo(0.875, 12);
    });
    // a class predicted but never true: recall 0/0 → 0
    expect(
      scoreFromConfusion(
        [
          [1, 1],
          [0, 0],
        ],
        'recall',
        'macro',
      ),
    ).toBeCloseTo((0.5 + 0) / 2, 12);
    expect(
      scoreFromConfusion(
        [
          [1, 1],
          [0, 0],
        ],
        'precision',
        'binary',
      ),
    ).toBe(0);
  });

  it('binary outputs: logit > 0 by default, a threshold for probabilities', () =>
    tidy(() => {
      const logit = tensor([2, -1, 0.5, -3, 1]);
      const t = tensor([1, 0, 0, 0, 1], { dtype: 'int32' });
      // pred 1 0 1 0 1 → tp 2, fp 1, fn 0
      expect(confusionMatrix(logit, t)).toEqual([
        [2, 1],
        [0, 2],
      ]);
      expect(precisionScore(logit, t)).toBeCloseTo(2 / 3, 12);
      expect(recallScore(logit, t)).toBe(1);
      const prob = tensor([[0.9], [0.2], [0.55], [0.1], [0.45]]);
      // pred at 0.5: 1 0 1 0 0 → tp 1, fp 1, fn 1
      expect(f1Score(prob, t, { threshold: 0.5 })).toBeCloseTo(0.5, 12);
    }));

  it('ROC AUC equals sklearn with ties (counted ½)', () => {
    // positives 0.8, 0.4, 0.4; negatives 0.4, 0.1, 0.6 → pairs: 0.8 beats 3; each 0.4 beats 0.1,
    // ties 0.4, loses to 0.6 → 1.5 each; total (3 + 1.5 + 1.5) / 9
    expect(rocAuc([0.8, 0.4, 0.4, 0.4, 0.1, 0.6], [1, 1, 1, 0, 0, 0])).toBeCloseTo(6 / 9, 12);
    expect(rocAuc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([1, 2, 3, 4], [1, 1, 0, 0])).toBe(0);
    expect(rocAuc([5, 5, 5, 5], [1, 0, 1, 0])).toBe(0.5);
    expect(() => rocAuc([1, 2], [1, 1])).toThrow(/only one class present/);
    tidy(() => {
      // (N, 2) logits: the score is logit1 − logit0 = 1, −1, 0.5, 0 against targets 1 0 0 1 → pairs
      // (1 vs −1 ✓, 1 vs 0.5 ✓, 0 vs −1 ✓, 0 vs 0.5 ✗) → 3/4
      expect(
        aucScore(
          tensor([
            [0, 1],
            [1, 0],
            [0, 0.5],
            [2, 2],
          ]),
          tensor([1, 0, 0, 1], { dtype: 'int32' }),
        ),
      ).toBeCloseTo(0.75, 12);
    });
  });
});

describe('classification metrics in batches (device accumulators)', () => {
  it('accumulate over batches exactly like one call, without leaks', async () => {
    const before = memory().tensors;
    const ms = ['f1', 'precision_weighted', 'recall_micro', 'f1_macro'].map((n) => makeMetric(n as 'f1'));
    const cm = new ConfusionMatrix();
    const all = logits();
    for (const [a, b] of [
      [0, 3],
      [3, 5],
      [5, 8],
    ] as const) {
      tidy(() => {
        const x = tensor(all.slice(a, b));
        const t = tensor(targets.slice(a, b), { dtype: 'int32' });
        for (const m of ms) m.update(x, t);
        cm.update(x, t);
      });
    }
    expect(ms.map((m) => m.name)).toEqual(['f1', 'precision_weighted', 'recall_micro', 'f1_macro']);
    const vals = await Promise.all(ms.map((m) => m.compute()));
    expect(vals[0]).toBeCloseTo(macro, 12);
    expect(vals[1]).toBeCloseTo(weighted, 12);
    expect(vals[2]).toBeCloseTo(micro, 12);
    expect(vals[3]).toBeCloseTo(macro, 12);
    expect(await cm.matrix()).toEqual(CM);
    for (const m of ms) m.dispose();
    cm.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('AUC over batches; unknown names suggest the nearest', async () => {
    const before = memory().tensors;
    const auc = makeMetric('auc');
    expect(auc).toBeInstanceOf(AUC);
    tidy(() => auc.update(tensor([0.8, 0.4, 0.4]), tensor([1, 1, 1])));
    tidy(() => auc.update(tensor([[0.4], [0.1], [0.6]]), tensor([[0], [0], [0]])));
    expect(await auc.compute()).toBeCloseTo(6 / 9, 12);
    auc.dispose();
    expect(memory().tensors).toBe(before);
    expect(() => makeMetric('f1-score' as 'f1')).toThrow(/unknown metric 'f1-score'/);
    expect(() => makeMetric('acuracy' as 'acc')).toThrow(/did you mean 'accuracy'/);
  });
});
