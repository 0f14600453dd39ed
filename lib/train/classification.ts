// Classification metrics beyond accuracy: confusion matrix, precision / recall / F1 (binary, macro,
// micro, weighted) and binary ROC AUC — as fit metrics (device accumulators, one readback per
// compute) and as plain functions over (output, target).
//
// What counts as a prediction (the same rule as Accuracy):
//   output (N, C) float  → argmax over C (logits or probabilities alike);
//   output (N) / (N, 1) float → binary: x > threshold (0 for logits; pass threshold 0.5 for probabilities);
//   output (N) int32 → already class labels.
// Averages follow scikit-learn (precision_recall_fscore_support): 'binary' scores class 1;
// 'macro' the unweighted mean over the classes that occur in the targets or the predictions;
// 'weighted' the mean weighted by each class's support; 'micro' from the summed counts (equal to
// accuracy for single-label data). A ratio with a zero denominator is 0 (sklearn's zero_division=0).
// AUC is sklearn's roc_auc_score: the area under the ROC curve with tied scores on one segment,
// i.e. P(score of a positive > score of a negative) + ½·P(tie).

import { keep, tidy } from '../memory.js';
import { noGrad } from '../autograd/mode.js';
import { add, arange, argmax, cast, cat, eq, gt, matmul, reshape, select, sub, transpose, unsqueeze } from '../ops/index.js';
import { fmtShape } from '../shape.js';
import { isTensor, type Tensor } from '../tensor.js';
import type { Metric } from './metrics.js';
import { checkOptions } from '../options.js';

const SCORE_KEYS = ['threshold', 'numClasses', 'average'];

export type Average = 'binary' | 'macro' | 'micro' | 'weighted';

export interface PredictionOptions {
  /** binary outputs: predicted positive when output > threshold (default 0, i.e. logits) */
  threshold?: number;
  /** number of classes (default: C of an (N, C) output, 2 for binary outputs, max label + 1 for labels) */
  numClasses?: number;
}

function checkAverage(op: string, a: unknown): Average {
  if (a !== 'binary' && a !== 'macro' && a !== 'micro' && a !== 'weighted') {
    throw new RangeError(`${op}: average must be 'binary', 'macro', 'micro' or 'weighted', got '${String(a)}'`);
  }
  return a;
}

/** Predicted labels (N) int32 and the class count implied by the output. */
function predicted(op: string, output: Tensor, target: Tensor, threshold: number): { pred: Tensor; classes: number | null } {
  const n = output.shape[0];
  if (output.ndim === 0 || n === undefined)
    throw new RangeError(`${op}: expected outputs (N, C), (N) or (N, 1), got ${fmtShape(output.shape)}`);
  if (target.size !== n)
    throw new RangeError(`${op}: ${n} outputs but ${target.size} targets (${fmtShape(target.shape)}); expected one class label per sample`);
  if (output.dtype === 'int32') {
    if (output.ndim !== 1) throw new RangeError(`${op}: int32 predictions must be labels (N), got ${fmtShape(output.shape)}`);
    return { pred: output, classes: null };
  }
  if (output.ndim === 1 || (output.ndim === 2 && output.shape[1] === 1)) {
    return { pred: cast(gt(reshape(output, [n]), threshold), 'int32'), classes: 2 };
  }
  if (output.ndim !== 2) throw new RangeError(`${op}: expected outputs (N, C), (N) or (N, 1), got ${fmtShape(output.shape)}`);
  return { pred: argmax(output, 1), classes: output.shape[1]! };
}

/** The (C, C) count matrix of one batch as float64, rows = true class, columns = predicted (no readback). */
function batchConfusion(pred: Tensor, target: Tensor, C: number): Tensor {
  const n = pred.shape[0]!;
  const t = target.dtype === 'int32' ? reshape(target, [n]) : cast(reshape(target, [n]), 'int32');
  const cls = unsqueeze(arange(0, C, 1, { dtype: 'int32', device: pred.device }), 0); // (1, C)
  const ot = cast(eq(unsqueeze(t, 1), cls), 'float32'); // (N, C) one-hot of the targets
  const op = cast(eq(unsqueeze(pred, 1), cls), 'float32');
  return cast(matmul(transpose(ot, 0, 1), op), 'float64'); // counts ≤ N: exact in float32
}

/** Confusion matrix accumulated on the device; matrix() reads it back once. */
export class ConfusionMatrix {
  private cm: Tensor | null = null;
  private classes: number | null;
  private readonly threshold: number;
  constructor(o: PredictionOptions = {}) {
    checkOptions('ConfusionMatrix', o, ['threshold', 'numClasses']);
    this.classes = o.numClasses ?? null;
    this.threshold = o.threshold ?? 0;
    if (this.classes !== null && (!Number.isInteger(this.classes) || this.classes < 2))
      throw new RangeError(`ConfusionMatrix: numClasses must be an integer >= 2, got ${this.classes}`);
  }
  reset(): void {
    this.cm?.dispose();
    this.cm = null;
  }
  update(output: Tensor, target: Tensor): void {
    const next = noGrad(() =>
      tidy(() => {
        const { pred, classes } = predicted('ConfusionMatrix', output, target, this.threshold);
        if (this.classes === null) {
          if (classes === null) throw new RangeError('ConfusionMatrix: with label predictions (int32), pass numClasses');
          this.classes = classes;
        }
        const b = batchConfusion(pred, target, this.classes);
        return this.cm ? add(this.cm, b) : b;
      }),
    );
    this.cm?.dispose();
    this.cm = keep(next);
  }
  /** rows: true class, columns: predicted class; null before any update */
  async matrix(): Promise<number[][] | null> {
    if (!this.cm) return null;
    return toRows(await this.cm.data(), this.classes!);
  }
  dispose(): void {
    this.reset();
  }
}

function toRows(d: ArrayLike<number>, C: number): number[][] {
  return Array.from({ length: C }, (_, i) => Array.from({ length: C }, (_, j) => Number(d[i * C + j])));
}

export type ScoreKind = 'precision' | 'recall' | 'f1';

/** precision / recall / F1 from a confusion matrix (rows true, columns predicted), sklearn's rules. */
export function scoreFromConfusion(cm: number[][], kind: ScoreKind, average: Average): number {
  const C = cm.length;
  const tp = cm.map((r, i) => r[i]!);
  const predTot = Array.from({ length: C }, (_, j) => cm.reduce((a, r) => a + r[j]!, 0));
  const support = cm.map((r) => r.reduce((a, b) => a + b, 0));
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  const score = (t: number, p: number, s: number): number => {
    const pr = ratio(t, p);
    const rc = ratio(t, s);
    return kind === 'precision' ? pr : kind === 'recall' ? rc : ratio(2 * t, p + s); // F1 = 2tp / (2tp + fp + fn)
  };
  if (average === 'micro') {
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    return score(sum(tp), sum(predTot), sum(support));
  }
  if (average === 'binary') {
    if (C > 2) throw new RangeError(`${kind}: average 'binary' needs 2 classes, the data has ${C}; use 'macro', 'micro' or 'weighted'`);
    return score(tp[1] ?? 0, predTot[1] ?? 0, support[1] ?? 0);
  }
  const present = Array.from({ length: C }, (_, i) => i).filter((i) => support[i]! > 0 || predTot[i]! > 0);
  if (!present.length) return NaN;
  if (average === 'macro') return present.reduce((a, i) => a + score(tp[i]!, predTot[i]!, support[i]!), 0) / present.length;
  const w = present.reduce((a, i) => a + support[i]!, 0);
  return w === 0 ? 0 : present.reduce((a, i) => a + support[i]! * score(tp[i]!, predTot[i]!, support[i]!), 0) / w;
}

export interface ScoreOptions extends PredictionOptions {
  /** 'binary' for 2 classes, 'macro' otherwise, by default */
  average?: Average;
}

/** Precision, recall or F1 as a fit metric ('precision', 'recall', 'f1', 'f1_micro', …). */
export class ClassificationScore implements Metric {
  readonly name: string;
  private readonly cm: ConfusionMatrix;
  private readonly average: Average | null;
  constructor(
    readonly kind: ScoreKind,
    o: ScoreOptions & { name?: string } = {},
  ) {
    checkOptions(kind, o, [...SCORE_KEYS, 'name']);
    this.average = o.average === undefined ? null : checkAverage(kind, o.average);
    this.name = o.name ?? (this.average && this.average !== 'binary' ? `${kind}_${this.average}` : kind);
    this.cm = new ConfusionMatrix({ threshold: o.threshold, numClasses: o.numClasses });
  }
  reset(): void {
    this.cm.reset();
  }
  update(output: Tensor, target: Tensor): void {
    this.cm.update(output, target);
  }
  async compute(): Promise<number> {
    const m = await this.cm.matrix();
    if (!m) return NaN;
    return scoreFromConfusion(m, this.kind, this.average ?? (m.length === 2 ? 'binary' : 'macro'));
  }
  dispose(): void {
    this.cm.dispose();
  }
}

export class Precision extends ClassificationScore {
  constructor(o: ScoreOptions = {}) {
    super('precision', o);
  }
}
export class Recall extends ClassificationScore {
  constructor(o: ScoreOptions = {}) {
    super('recall', o);
  }
}
export class F1Score extends ClassificationScore {
  constructor(o: ScoreOptions = {}) {
    super('f1', o);
  }
}

/** sklearn's roc_auc_score for binary targets (0/1) and scores (higher = more positive); ties count ½. */
export function rocAuc(scores: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = scores.length;
  if (targets.length !== n) throw new RangeError(`rocAuc: ${n} scores but ${targets.length} targets`);
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const t = Number(targets[i]);
    if (t !== 0 && t !== 1) throw new RangeError(`rocAuc: targets must be 0 or 1, got ${t} at ${i}`);
    pos += t;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0)
    throw new RangeError(`rocAuc: only one class present in the targets (${pos} positives, ${neg} negatives); AUC is not defined`);
  // Mann–Whitney: sum of the positives' mid-ranks (ties share their average rank)
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (Number(targets[idx[k]!]) === 1) rankSum += mid;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Binary scores (N) of an output: a logit column, or logit₁ − logit₀ of an (N, 2) output (monotone in p₁). */
function binaryScores(op: string, output: Tensor): Tensor {
  const n = output.shape[0]!;
  if (output.ndim === 1 || (output.ndim === 2 && output.shape[1] === 1)) return reshape(output, [n]);
  if (output.ndim === 2 && output.shape[1] === 2) return sub(select(output, 1, 1), select(output, 1, 0));
  throw new RangeError(`${op}: binary ROC AUC needs scores (N), (N, 1) or (N, 2), got ${fmtShape(output.shape)}`);
}

/** Binary ROC AUC as a fit metric ('auc'): keeps the epoch's scores and targets on the device. */
export class AUC implements Metric {
  readonly name = 'auc';
  private scores: Tensor[] = [];
  private targets: Tensor[] = [];
  reset(): void {
    for (const t of [...this.scores, ...this.targets]) t.dispose();
    this.scores = [];
    this.targets = [];
  }
  update(output: Tensor, target: Tensor): void {
    noGrad(() => {
      const [s, t] = tidy(() => [cast(binaryScores('auc', output), 'float32'), cast(reshape(target, [target.size]), 'float32')]);
      if (s.size !== t.size) {
        s.dispose();
        t.dispose();
        throw new RangeError(`auc: ${output.shape[0]} outputs but ${target.size} targets`);
      }
      this.scores.push(keep(s));
      this.targets.push(keep(t));
    });
  }
  async compute(): Promise<number> {
    if (!this.scores.length) return NaN;
    const [s, t] = noGrad(() => tidy(() => [keep(cat(this.scores, 0)), keep(cat(this.targets, 0))]));
    try {
      return rocAuc(await s.data(), await t.data());
    } finally {
      s.dispose();
      t.dispose();
    }
  }
  dispose(): void {
    this.reset();
  }
}

// ---- functions ---------------------------------------------------------------------------------

function asTensors(op: string, output: Tensor, target: Tensor): void {
  if (!isTensor(output) || !isTensor(target)) throw new TypeError(`${op}: expected (output, target) tensors`);
}

/** The confusion matrix of (output, target): rows true class, columns predicted (reads back). */
export function confusionMatrix(output: Tensor, target: Tensor, o: PredictionOptions = {}): number[][] {
  asTensors('confusionMatrix', output, target);
  checkOptions('confusionMatrix', o, SCORE_KEYS);
  if (o.numClasses !== undefined && (!Number.isInteger(o.numClasses) || o.numClasses < 2))
    throw new RangeError(`confusionMatrix: numClasses must be an integer >= 2, got ${o.numClasses}`);
  return noGrad(() =>
    tidy(() => {
      const { pred, classes } = predicted('confusionMatrix', output, target, o.threshold ?? 0);
      let C = o.numClasses ?? classes;
      if (C === null) {
        const t = target.dataSync();
        const p = pred.dataSync();
        C = 1;
        for (let i = 0; i < t.length; i++) C = Math.max(C, Number(t[i]) + 1, Number(p[i]) + 1);
      }
      return toRows(batchConfusion(pred, target, C).dataSync(), C);
    }),
  );
}

function scoreFn(kind: ScoreKind) {
  return (output: Tensor, target: Tensor, o: ScoreOptions = {}): number => {
    checkOptions(`${kind}Score`, o, SCORE_KEYS);
    const cm = confusionMatrix(output, target, o);
    return scoreFromConfusion(cm, kind, o.average === undefined ? (cm.length === 2 ? 'binary' : 'macro') : checkAverage(kind, o.average));
  };
}

/** Precision of (output, target); average 'binary' for 2 classes, else 'macro' (sklearn's rules). */
export const precisionScore = scoreFn('precision');
/** Recall of (output, target); average as precisionScore. */
export const recallScore = scoreFn('recall');
/** F1 of (output, target); average as precisionScore. */
export const f1Score = scoreFn('f1');

/** Binary ROC AUC of an output (scores (N), (N, 1) or (N, 2) logits/probabilities) against 0/1 targets. */
export function aucScore(output: Tensor, target: Tensor): number {
  asTensors('aucScore', output, target);
  return noGrad(() => tidy(() => rocAuc(binaryScores('aucScore', output).dataSync(), reshape(target, [target.size]).dataSync())));
}
