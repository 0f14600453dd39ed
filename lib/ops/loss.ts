// Losses: fused cross-entropy (logits + class indices), nll, mse, binary cross-entropy with and
// without logits. reduction: 'mean' (default), 'sum' or 'none', as in torch.

import { needsGrad, record, save } from '../autograd/record.js';
import { fmtShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, empty, launch, nbytes, sameDevice } from './util.js';
import { add, cast, clamp, div, log, lt, mul, ne, neg, relu, sub, where, abs, exp, log1p, square } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { gather, permute, reshape, unsqueeze } from './shape.js';
import { logSoftmax } from './nn.js';
import { guard } from '../memory.js';
import { checkOptions, inRange } from '../options.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, reduction: unknown): Reduction {
  const r = reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none')
    throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(r)}'`);
  return r;
}

/** ignoreIndex: any integer (a class index, or a value such as -100 that no target uses). */
function checkIgnoreIndex(op: string, v: unknown): void {
  if (v !== undefined) inRange(op, 'ignoreIndex', v, { integer: true });
}

function reduce(op: string, l: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return l;
  if (reduction !== 'sum' && reduction !== 'mean')
    throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  const r = reduction === 'sum' ? sum(l) : mean(l);
  l.dispose();
  return r;
}

/** Moves the class dim of (N, C, d1, …) last and flattens: (N·d1·…, C). */
function classesLast(x: Tensor): Tensor {
  if (x.ndim === 2) return x;
  const perm = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2), 1];
  const p = permute(x, perm);
  const r = reshape(p, [-1, x.shape[1]!]);
  p.dispose();
  return r;
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  labelSmoothing?: number;
  ignoreIndex?: number;
  /**
   * true (default, PyTorch): the input holds logits and the loss applies log-softmax itself.
   * false (Keras' from_logits=False): the input holds probabilities, e.g. after nn.Softmax; the loss
   * is taken on log(p) (clamped at -100 like binaryCrossEntropy), which renormalises each row
   * like Keras' categorical_crossentropy. Feeding probabilities with the default applies softmax twice.
   */
  fromLogits?: boolean;
}

/** Per-row fused loss: logits (rows, cols), targets int32 (rows) → (rows). */
function crossEntropyRows(logits: Tensor, targets: Tensor, ls: number, ignore: number): Tensor {
  const [rows, cols] = logits.shape as [number, number];
  const be = logits.backend;
  const loss = empty(be, [rows], logits.dtype);
  launch(
    be,
    'crossEntropy',
    6 * logits.size,
    nbytes(logits.size + rows, logits.dtype) + nbytes(rows, 'int32'),
    logits.handle,
    targets.handle,
    loss.handle,
    rows,
    cols,
    ls,
    ignore,
    logits.dtype,
  );
  if (needsGrad(logits)) {
    const [sl, st] = save(logits, targets);
    record(
      'crossEntropy',
      [loss],
      [logits],
      ([g]) => {
        const d = empty(g!.backend, [rows, cols], logits.dtype);
        launch(
          g!.backend,
          'crossEntropyBackward',
          6 * logits.size,
          nbytes(2 * logits.size, logits.dtype),
          sl!.handle,
          st!.handle,
          g!.handle,
          d.handle,
          rows,
          cols,
          ls,
          ignore,
          logits.dtype,
        );
        return [d];
      },
      [sl!, st!],
    );
  }
  return loss;
}

/**
 * Cross-entropy of logits (N, C) or (N, C, d1, …) against int32 class indices (N) / (N, d1, …),
 * or against class probabilities shaped like the logits. labelSmoothing and ignoreIndex as torch.
 */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  o = checkOptions('crossEntropy', o, ['reduction', 'labelSmoothing', 'ignoreIndex', 'fromLogits']);
  checkReduction('crossEntropy', o.reduction);
  checkIgnoreIndex('crossEntropy', o.ignoreIndex);
  inRange('crossEntropy', 'labelSmoothing', o.labelSmoothing, { min: 0, max: 1 }, 0);
  if (o.fromLogits !== undefined && typeof o.fromLogits !== 'boolean')
    throw new TypeError(`crossEntropy: fromLogits must be true or false, got ${String(o.fromLogits)}`);
  if (o.fromLogits === false) {
    // log p is a valid logit vector: log_softmax(log p) = log(p / Σp), so the fused kernel does the rest
    return guard(() => {
      assertFloat('crossEntropy', logits);
      const lp = log(logits);
      const c = clamp(lp, -100, null);
      lp.dispose();
      return crossEntropyImpl(c, target, o);
    });
  }
  return guard(() => crossEntropyImpl(logits, target, o));
}

function crossEntropyImpl(logits: Tensor, target: Tensor, o: CrossEntropyOptions): Tensor {
  const op = 'crossEntropy';
  assertFloat(op, logits);
  sameDevice(op, logits, target);
  const reduction = o.reduction ?? 'mean';
  const ls = o.labelSmoothing ?? 0;
  const ignore = o.ignoreIndex ?? -100;
  if (!(ls >= 0 && ls <= 1)) throw new RangeError(`${op}: labelSmoothing must be in [0, 1], got ${ls}`);
  if (logits.ndim < 1) throw new RangeError(`${op}: logits must be (N, C) or (N, C, …), got ${fmtShape(logits.shape)}`);
  if (target.dtype !== 'int32') {
    // class probabilities
    if (!sameShape(target.shape, logits.shape)) {
      throw new RangeError(
        `${op}: probability targets must match logits ${fmtShape(logits.shape)}, got ${fmtShape(target.shape)} ${target.dtype} (class indices must be int32)`,
      );
    }
    const lp = logSoftmax(logits, logits.ndim === 1 ? 0 : 1);
    const C = logits.ndim === 1 ? logits.shape[0]! : logits.shape[1]!;
    const t = ls > 0 ? add(mul(target, 1 - ls), ls / C) : target;
    const prod = mul(lp, t);
    const rowSum = sum(prod, logits.ndim === 1 ? 0 : 1);
    const l = neg(rowSum);
    for (const x of [lp, prod, rowSum, ...(t !== target ? [t] : [])]) x.dispose();
    return reduce(op, l, reduction);
  }
  const tShape = logits.ndim === 1 ? [] : [logits.shape[0]!, ...logits.shape.slice(2)];
  if (!sameShape(target.shape, tShape)) {
    throw new RangeError(
      `${op}: target ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)} (expected ${fmtShape(tShape)})`,
    );
  }
  const l2 = logits.ndim === 1 ? reshape(logits, [1, logits.shape[0]!]) : classesLast(logits);
  const t1 = reshape(target, [l2.shape[0]!]);
  const rows = crossEntropyRows(l2, t1, ls, ignore);
  if (l2 !== logits) l2.dispose();
  let out: Tensor;
  if (reduction === 'none') {
    out = reshape(rows, tShape);
  } else if (reduction === 'sum') {
    out = sum(rows);
  } else {
    // mean over the rows that are not ignored (no readback: the count is a tensor)
    const keepMask = ne(t1, ignore);
    const cnt = cast(keepMask, logits.dtype);
    const n = sum(cnt);
    const s = sum(rows);
    out = div(s, n);
    for (const x of [keepMask, cnt, n, s]) x.dispose();
  }
  t1.dispose();
  if (out !== rows) rows.dispose();
  return out;
}

export interface NllOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
}

/** Negative log-likelihood of log-probabilities (N, C[, …]) at int32 targets (N[, …]). */
export function nllLoss(logProbs: Tensor, target: Tensor, o: NllOptions = {}): Tensor {
  o = checkOptions('nllLoss', o, ['reduction', 'ignoreIndex']);
  checkReduction('nllLoss', o.reduction);
  checkIgnoreIndex('nllLoss', o.ignoreIndex);
  return guard(() => nllLossImpl(logProbs, target, o));
}

function nllLossImpl(logProbs: Tensor, target: Tensor, o: NllOptions): Tensor {
  const op = 'nllLoss';
  assertFloat(op, logProbs);
  if (target.dtype !== 'int32') throw new TypeError(`${op}: target must be int32 class indices, got ${target.dtype}`);
  const ignore = o.ignoreIndex ?? -100;
  sameDevice(op, logProbs, target);
  if (logProbs.ndim < 1) throw new RangeError(`${op}: input must be (C), (N, C) or (N, C, …), got ${fmtShape(logProbs.shape)}`);
  const tShape = logProbs.ndim === 1 ? [] : [logProbs.shape[0]!, ...logProbs.shape.slice(2)];
  if (!sameShape(target.shape, tShape)) {
    throw new RangeError(
      `${op}: target ${fmtShape(target.shape)} does not match input ${fmtShape(logProbs.shape)} (expected ${fmtShape(tShape)})`,
    );
  }
  const lp = logProbs.ndim === 1 ? reshape(logProbs, [1, logProbs.shape[0]!]) : classesLast(logProbs);
  const t1 = reshape(target, [lp.shape[0]!]);
  const keepMask = ne(t1, ignore);
  const safe = where(keepMask, t1, 0);
  const idx = unsqueeze(safe, 1);
  const picked = gather(lp, 1, idx);
  const flat = reshape(picked, [lp.shape[0]!]);
  const maskF = cast(keepMask, lp.dtype);
  const masked = mul(flat, maskF);
  const l = neg(masked);
  const reduction = o.reduction ?? 'mean';
  let out: Tensor;
  if (reduction === 'mean') {
    const s = sum(l);
    const n = sum(maskF);
    out = div(s, n);
    s.dispose();
    n.dispose();
    l.dispose();
  } else if (reduction === 'none') {
    out = reshape(l, logProbs.ndim === 1 ? [] : [logProbs.shape[0]!, ...logProbs.shape.slice(2)]);
    l.dispose();
  } else out = reduce(op, l, reduction);
  for (const x of [keepMask, safe, idx, picked, flat, maskF, masked, t1]) x.dispose();
  if (lp !== logProbs) lp.dispose();
  return out;
}

function checkPair(op: string, input: Tensor, target: Tensor): void {
  assertFloat(op, input);
  sameDevice(op, input, target);
  if (!sameShape(input.shape, target.shape))
    throw new RangeError(`${op}: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  checkPair('mseLoss', input, target);
  o = checkOptions('mseLoss', o, ['reduction']);
  checkReduction('mseLoss', o.reduction);
  const d = sub(input, target);
  const sq = square(d);
  d.dispose();
  return reduce('mseLoss', sq, o.reduction ?? 'mean');
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  checkPair('l1Loss', input, target);
  o = checkOptions('l1Loss', o, ['reduction']);
  checkReduction('l1Loss', o.reduction);
  const d = sub(input, target);
  const a = abs(d);
  d.dispose();
  return reduce('l1Loss', a, o.reduction ?? 'mean');
}

/** Binary cross-entropy of probabilities in [0, 1] (log clamped at -100 like torch). */
export function binaryCrossEntropy(input: Tensor, target: Tensor, o: { reduction?: Reduction; weight?: Tensor } = {}): Tensor {
  checkPair('binaryCrossEntropy', input, target);
  o = checkOptions('binaryCrossEntropy', o, ['reduction', 'weight']);
  checkReduction('binaryCrossEntropy', o.reduction);
  return guard(() => {
    const lp = clamp(log(input), -100, null);
    const one = sub(1, input);
    const lq = clamp(log(one), -100, null);
    const a = mul(target, lp);
    const omt = sub(1, target);
    const b = mul(omt, lq);
    const s = add(a, b);
    let l = neg(s);
    if (o.weight) {
      const w = mul(l, o.weight);
      l.dispose();
      l = w;
    }
    for (const x of [lp, one, lq, a, omt, b, s]) x.dispose();
    return reduce('binaryCrossEntropy', l, o.reduction ?? 'mean');
  });
}

/** BCE on logits, stable: max(x,0) - x·t + log(1 + exp(-|x|)); posWeight like torch. */
export function bceWithLogits(input: Tensor, target: Tensor, o: { reduction?: Reduction; posWeight?: Tensor } = {}): Tensor {
  checkPair('bceWithLogits', input, target);
  o = checkOptions('bceWithLogits', o, ['reduction', 'posWeight']);
  checkReduction('bceWithLogits', o.reduction);
  return guard(() => {
    const tmp: Tensor[] = [];
    const k = <T extends Tensor>(t: T): T => (tmp.push(t), t);
    let l: Tensor;
    if (o.posWeight) {
      // (1 - t)·x + (1 + (pw - 1)·t)·softplus(-x)
      const lw = k(add(k(mul(k(sub(o.posWeight, 1)), target)), 1));
      const sp = k(add(k(log1p(k(exp(k(neg(k(abs(input)))))))), k(relu(k(neg(input))))));
      l = add(k(mul(k(sub(1, target)), input)), k(mul(lw, sp)));
    } else {
      l = add(k(sub(k(relu(input)), k(mul(input, target)))), k(log1p(k(exp(k(neg(k(abs(input)))))))));
    }
    for (const t of tmp) t.dispose();
    return reduce('bceWithLogits', l, o.reduction ?? 'mean');
  });
}

/** Huber loss (torch.nn.HuberLoss): ½d² where |d| < delta, else delta·(|d| - ½delta), d = input - target. */
export function huberLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction; delta?: number } = {}): Tensor {
  checkPair('huberLoss', input, target);
  o = checkOptions('huberLoss', o, ['reduction', 'delta']);
  checkReduction('huberLoss', o.reduction);
  const delta = o.delta ?? 1;
  if (typeof delta !== 'number' || !(delta > 0) || !Number.isFinite(delta))
    throw new RangeError(`huberLoss: delta must be a finite number > 0, got ${delta}`);
  return guard(() => {
    const d = sub(input, target);
    const a = abs(d);
    const small = lt(a, delta);
    const quad = mul(square(d), 0.5);
    const lin = mul(sub(a, 0.5 * delta), delta);
    const l = where(small, quad, lin);
    for (const x of [d, a, small, quad, lin]) x.dispose();
    return reduce('huberLoss', l, o.reduction ?? 'mean');
  });
}
