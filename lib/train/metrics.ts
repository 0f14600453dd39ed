// Metrics accumulate on the device: update() adds this batch's contribution to a device tensor
// (no readback); compute() reads the total once. The fit loop calls compute() only at log
// intervals and at the end of an epoch, so metrics never serialise the GPU per batch.

import { keep, tidy } from '../memory.js';
import { noGrad } from '../autograd/mode.js';
import { abs, add, argmax, cast, eq, gt, reshape, sub, sum } from '../ops/index.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { AUC, ClassificationScore, type Average } from './classification.js';
import { didYouMean } from '../options.js';

export interface Metric {
  /** the key in logs and history ('accuracy', 'mae', …) */
  readonly name: string;
  /** forget everything seen (start of an epoch) */
  reset(): void;
  /** adds a batch; output and target as the loss sees them. No readback. */
  update(output: Tensor, target: Tensor): void;
  /** the value over everything since reset(), read back from the device; NaN before any update */
  compute(): Promise<number>;
  /** frees the device accumulators */
  dispose(): void;
}

/** A device-side running sum plus a host-side sample count. */
abstract class SumMetric implements Metric {
  abstract readonly name: string;
  private total: Tensor | null = null;
  protected count = 0;

  /** this batch's contribution (a 0-d tensor) and how many items it counts */
  protected abstract batch(output: Tensor, target: Tensor): { value: Tensor; count: number };

  reset(): void {
    this.total?.dispose();
    this.total = null;
    this.count = 0;
  }
  update(output: Tensor, target: Tensor): void {
    const next = noGrad(() =>
      tidy(() => {
        const { value, count } = this.batch(output, target);
        this.count += count;
        return this.total === null ? value : add(this.total, value);
      }),
    );
    this.total?.dispose();
    this.total = keep(next);
  }
  async compute(): Promise<number> {
    if (this.total === null || this.count === 0) return NaN;
    const v = await this.total.data();
    return v[0]! / this.count;
  }
  dispose(): void {
    this.reset();
  }
}

/**
 * Classification accuracy (0..1). Logits (N, C) with int32 class targets (N): argmax over C.
 * A single column (N) / (N, 1) is binary: logit > 0 against targets 0/1.
 */
export class Accuracy extends SumMetric {
  readonly name = 'accuracy';
  protected batch(output: Tensor, target: Tensor): { value: Tensor; count: number } {
    const binary = output.ndim === 1 || (output.ndim === 2 && output.shape[1] === 1);
    if (binary) {
      const pred = cast(gt(reshape(output, [output.shape[0]!]), 0), 'int32');
      const t = cast(reshape(target, [target.shape[0]!]), 'int32');
      return { value: sum(eq(pred, t)), count: pred.size };
    }
    if (output.ndim !== 2) throw new RangeError(`accuracy: expected logits (N, C), got ${fmtShape(output.shape)}`);
    if (target.ndim !== 1 || target.shape[0] !== output.shape[0]) {
      throw new RangeError(`accuracy: expected int32 class targets (${output.shape[0]}), got ${fmtShape(target.shape)} ${target.dtype}`);
    }
    const pred = argmax(output, 1);
    const t = target.dtype === 'int32' ? target : cast(target, 'int32');
    return { value: sum(eq(pred, t)), count: output.shape[0]! };
  }
}

/** Mean absolute error over all elements (regression). */
export class MeanAbsoluteError extends SumMetric {
  readonly name = 'mae';
  protected batch(output: Tensor, target: Tensor): { value: Tensor; count: number } {
    const o = output.dtype === 'float64' ? output : cast(output, 'float64');
    return { value: sum(abs(sub(o, target))), count: output.size };
  }
}

type ScoreName = 'precision' | 'recall' | 'f1';
export type MetricName = 'accuracy' | 'acc' | 'mae' | 'auc' | ScoreName | `${ScoreName}_${'binary' | 'macro' | 'micro' | 'weighted'}`;
export type MetricSpec = MetricName | Metric;

const METRIC_NAMES = [
  'accuracy',
  'acc',
  'mae',
  'auc',
  ...(['precision', 'recall', 'f1'] as const).flatMap((k) => [k, `${k}_binary`, `${k}_macro`, `${k}_micro`, `${k}_weighted`]),
];

/**
 * A metric by name: 'accuracy', 'mae', 'auc' (binary ROC AUC), 'precision' / 'recall' / 'f1'
 * ('binary' for 2 classes, 'macro' otherwise) or with an explicit average ('f1_micro', 'recall_weighted', …).
 */
export function makeMetric(m: MetricSpec): Metric {
  if (typeof m !== 'string') return m;
  switch (m) {
    case 'accuracy':
    case 'acc':
      return new Accuracy();
    case 'mae':
      return new MeanAbsoluteError();
    case 'auc':
      return new AUC();
  }
  const score = /^(precision|recall|f1)(?:_(binary|macro|micro|weighted))?$/.exec(m);
  if (score) return new ClassificationScore(score[1] as ScoreName, score[2] ? { average: score[2] as Average } : {});
  throw new RangeError(`unknown metric '${String(m)}'${didYouMean(String(m), METRIC_NAMES)} (or pass a Metric object)`);
}
