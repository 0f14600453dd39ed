// The nn-level ops with fused kernels: softmax / log-softmax, layer and batch norm, dropout,
// embedding, and the LSTM / GRU gate math of one step.

import { needsGrad, record, save } from '../autograd/record.js';
import { takeCounters } from '../random.js';
import { fmtShape, normDim, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { assertFloat, assertDtype, empty, launch, nbytes, sameDevice } from './util.js';
import { mul } from './elementwise.js';
import { indexSelect, reshape, transpose } from './shape.js';
import { zerosLike } from './creation.js';
import { bumpVersion, guard } from '../memory.js';
import { bool, checkOptions, inRange } from '../options.js';

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const cols = x.shape[x.ndim - 1] ?? 1;
  const rows = cols ? x.size / cols : 0;
  const be = x.backend;
  const y = empty(be, x.shape, x.dtype);
  launch(be, 'softmax', 5 * x.size, nbytes(2 * x.size, x.dtype), x.handle, y.handle, rows, cols, log, x.dtype);
  if (needsGrad(x)) {
    const [sy] = save(y);
    record(
      log ? 'logSoftmax' : 'softmax',
      [y],
      [x],
      ([g]) => {
        const dx = empty(g!.backend, x.shape, x.dtype);
        launch(
          g!.backend,
          'softmaxBackward',
          4 * x.size,
          nbytes(3 * x.size, x.dtype),
          sy!.handle,
          g!.handle,
          dx.handle,
          rows,
          cols,
          log,
          x.dtype,
        );
        return [dx];
      },
      [sy!],
    );
  }
  return y;
}

function alongDim(op: string, x: Tensor, dim: number, log: boolean): Tensor {
  assertFloat(op, x);
  if (x.ndim === 0) {
    normDim(op, dim, 0);
    const x1 = reshape(x, [1]);
    const y1 = softmaxLast(x1, log);
    const y = reshape(y1, []);
    x1.dispose();
    y1.dispose();
    return y;
  }
  const d = normDim(op, dim, x.ndim);
  if (d === x.ndim - 1) return softmaxLast(x, log);
  const t = transpose(x, d, x.ndim - 1);
  const s = softmaxLast(t, log);
  const out = transpose(s, d, x.ndim - 1);
  t.dispose();
  s.dispose();
  return out;
}

/** softmax along dim (default last). */
export function softmax(x: Tensor, dim = -1): Tensor {
  return alongDim('softmax', x, dim, false);
}

/** log(softmax(x)) along dim, computed stably in one pass. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return alongDim('logSoftmax', x, dim, true);
}

/**
 * The dtype of saved normalisation statistics (layer norm mean/rstd, batch norm saveMean/saveInvStd):
 * float32 for float32/bfloat16/float16 inputs, float64 for float64 — PyTorch keeps them in the
 * accumulation type, so a 16-bit model does not lose precision in its backward.
 */
export function normStatsDType(dtype: DType): DType {
  return dtype === 'float64' ? 'float64' : 'float32';
}

/** Layer norm over the trailing `normalizedShape` dims; weight/bias shaped like normalizedShape. */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = 'layerNorm';
  assertFloat(op, x);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.ndim - ns.length);
  if (ns.length > x.ndim || ns.some((d, i) => d !== tail[i])) {
    throw new RangeError(`${op}: normalizedShape ${fmtShape(ns)} does not match the trailing dims of input ${fmtShape(x.shape)}`);
  }
  for (const [t, name] of [
    [weight, 'weight'],
    [bias, 'bias'],
  ] as const) {
    if (t && numel(t.shape) !== numel(ns))
      throw new RangeError(`${op}: ${name} ${fmtShape(t.shape)} must match normalizedShape ${fmtShape(ns)}`);
  }
  const be = sameDevice(op, x, weight, bias);
  const cols = numel(ns);
  const rows = cols ? x.size / cols : 0;
  const y = empty(be, x.shape, x.dtype);
  const mean = empty(be, [rows], normStatsDType(x.dtype));
  const rstd = empty(be, [rows], normStatsDType(x.dtype));
  launch(
    be,
    'layerNorm',
    8 * x.size,
    nbytes(2 * x.size + 2 * cols, x.dtype),
    x.handle,
    weight?.handle ?? null,
    bias?.handle ?? null,
    y.handle,
    mean.handle,
    rstd.handle,
    rows,
    cols,
    eps,
    x.dtype,
  );
  if (needsGrad(x, weight, bias)) {
    const [sx, sw] = [save(x)[0]!, weight ? save(weight)[0]! : null];
    record(
      op,
      [y],
      [x, weight, bias],
      ([g]) => {
        const gb = g!.backend;
        const dx = empty(gb, x.shape, x.dtype);
        const dg = weight ? empty(gb, weight.shape, x.dtype) : null;
        const dbt = bias ? empty(gb, bias.shape, x.dtype) : null;
        launch(
          gb,
          'layerNormBackward',
          10 * x.size,
          nbytes(3 * x.size, x.dtype),
          g!.handle,
          sx.handle,
          sw?.handle ?? null,
          mean.handle,
          rstd.handle,
          dx.handle,
          dg?.handle ?? null,
          dbt?.handle ?? null,
          rows,
          cols,
          x.dtype,
        );
        if (dg && !weight!.requiresGrad) dg.dispose();
        if (dbt && !bias!.requiresGrad) dbt.dispose();
        return [dx, weight?.requiresGrad ? dg : null, bias?.requiresGrad ? dbt : null];
      },
      [sx, ...(sw ? [sw] : []), mean, rstd],
    );
  } else {
    mean.dispose();
    rstd.dispose();
  }
  return y;
}

export interface BatchNormOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm over (N, C, …): statistics per channel. Training uses batch statistics and updates
 * runningMean/runningVar in place (unbiased variance); eval uses the running statistics.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  const op = 'batchNorm';
  o = checkOptions(op, o, ['training', 'momentum', 'eps']);
  bool(op, 'training', o.training);
  inRange(op, 'momentum', o.momentum, { min: 0, max: 1 }, 0.1);
  inRange(op, 'eps', o.eps, { min: 0 }, 1e-5);
  assertFloat(op, x);
  if (x.ndim < 2) throw new RangeError(`${op}: input must be (N, C, …), got ${fmtShape(x.shape)}`);
  const be = sameDevice(op, x, runningMean, runningVar, weight, bias);
  const [n, c] = x.shape as [number, number];
  const hw = x.size / Math.max(1, n * c);
  for (const [t, name] of [
    [runningMean, 'runningMean'],
    [runningVar, 'runningVar'],
    [weight, 'weight'],
    [bias, 'bias'],
  ] as const) {
    if (t && (t.size !== c || t.dtype !== x.dtype))
      throw new RangeError(`${op}: ${name} must be (${c},) ${x.dtype}, got ${fmtShape(t.shape)} ${t.dtype}`);
  }
  if (o.training && n * hw <= 1)
    throw new RangeError(`${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
  if (!o.training && (!runningMean || !runningVar)) throw new Error(`${op}: eval mode needs running statistics`);
  const y = empty(be, x.shape, x.dtype);
  const sm = empty(be, [c], normStatsDType(x.dtype));
  const si = empty(be, [c], normStatsDType(x.dtype));
  launch(
    be,
    'batchNorm',
    8 * x.size,
    nbytes(2 * x.size, x.dtype),
    x.handle,
    weight?.handle ?? null,
    bias?.handle ?? null,
    runningMean?.handle ?? null,
    runningVar?.handle ?? null,
    y.handle,
    sm.handle,
    si.handle,
    n,
    c,
    hw,
    o.training,
    o.momentum ?? 0.1,
    o.eps ?? 1e-5,
    x.dtype,
  );
  if (o.training) for (const t of [runningMean, runningVar]) if (t) bumpVersion(t.storage, 'batchNorm (running stats)');
  if (needsGrad(x, weight, bias)) {
    const [sx, sw] = [save(x)[0]!, weight ? save(weight)[0]! : null];
    const training = o.training;
    record(
      op,
      [y],
      [x, weight, bias],
      ([g]) => {
        const gb = g!.backend;
        const dx = empty(gb, x.shape, x.dtype);
        const dg = weight ? empty(gb, [c], x.dtype) : null;
        const dbt = bias ? empty(gb, [c], x.dtype) : null;
        launch(
          gb,
          'batchNormBackward',
          10 * x.size,
          nbytes(3 * x.size, x.dtype),
          g!.handle,
          sx.handle,
          sw?.handle ?? null,
          sm.handle,
          si.handle,
          dx.handle,
          dg?.handle ?? null,
          dbt?.handle ?? null,
          n,
          c,
          hw,
          training,
          x.dtype,
        );
        return [
          x.requiresGrad ? dx : (dx.dispose(), null),
          weight?.requiresGrad ? dg : (dg?.dispose(), null),
          bias?.requiresGrad ? dbt : (dbt?.dispose(), null),
        ];
      },
      [sx, ...(sw ? [sw] : []), sm, si],
    );
  } else {
    sm.dispose();
    si.dispose();
  }
  return y;
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p) (training only). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p < 1))
    throw new RangeError(`dropout: p must be in [0, 1), got ${typeof p === 'string' ? JSON.stringify(p) : p}`);
  bool('dropout', 'training', training);
  assertFloat('dropout', x);
  if (!training || p === 0) return reshape(x, x.shape);
  const be = x.backend;
  const mask = empty(be, x.shape, x.dtype);
  const { seed, offset } = takeCounters(x.size / 4);
  launch(be, 'dropoutMask', x.size, nbytes(x.size, x.dtype), mask.handle, x.size, p, seed, offset, x.dtype);
  const y = mul(x, mask);
  mask.dispose();
  return y;
}

/** Rows of weight (num, dim) picked by int32 indices of any shape → (…indices, dim). */
export function embedding(indices: Tensor, weight: Tensor): Tensor {
  assertDtype('embedding', indices, 'int32', 'indices');
  if (weight.ndim !== 2) throw new RangeError(`embedding: weight must be (num_embeddings, dim), got ${fmtShape(weight.shape)}`);
  return guard(() => {
    const flat = reshape(indices, [indices.size]);
    const rows = indexSelect(weight, 0, flat);
    const out = reshape(rows, [...indices.shape, weight.shape[1]!]);
    flat.dispose();
    rows.dispose();
    return out;
  });
}

/**
 * LSTM gate math for one step: gates (B, 4H) pre-activation, cPrev (B, H) → [h, c] (B, H).
 * The matmuls that make `gates` are ordinary ops; this is the fused elementwise part.
 */
export function lstmGates(gates: Tensor, cPrev: Tensor): [Tensor, Tensor] {
  const op = 'lstmCell';
  assertFloat(op, gates);
  const be = sameDevice(op, gates, cPrev);
  if (gates.ndim !== 2 || cPrev.ndim !== 2 || gates.shape[0] !== cPrev.shape[0] || gates.shape[1] !== 4 * cPrev.shape[1]!) {
    throw new RangeError(`${op}: gates must be (B, 4H) and c (B, H), got ${fmtShape(gates.shape)} and ${fmtShape(cPrev.shape)}`);
  }
  const [B, H] = cPrev.shape as [number, number];
  const h = empty(be, [B, H], gates.dtype);
  const c = empty(be, [B, H], gates.dtype);
  const act = empty(be, [B, 4 * H], gates.dtype);
  launch(
    be,
    'lstmCell',
    40 * B * H,
    nbytes(4 * B * H * 2 + 3 * B * H, gates.dtype),
    gates.handle,
    cPrev.handle,
    h.handle,
    c.handle,
    act.handle,
    B,
    H,
    gates.dtype,
  );
  if (needsGrad(gates, cPrev)) {
    const [sc, scNew] = save(cPrev, c);
    record(
      op,
      [h, c],
      [gates, cPrev],
      ([dh, dc]) => {
        const gb = (dh ?? dc)!.backend; // gates, h, c may be disposed by now: touch only grads and saved tensors
        const dhh = dh ?? zerosLike(dc!);
        const dG = empty(gb, [B, 4 * H], gates.dtype);
        const dcPrev = empty(gb, [B, H], gates.dtype);
        launch(
          gb,
          'lstmCellBackward',
          30 * B * H,
          nbytes(4 * B * H * 2 + 5 * B * H, gates.dtype),
          act.handle,
          sc!.handle,
          scNew!.handle,
          dhh.handle,
          dc?.handle ?? null,
          dG.handle,
          dcPrev.handle,
          B,
          H,
          gates.dtype,
        );
        if (dhh !== dh) dhh.dispose();
        return [dG, dcPrev];
      },
      [act, sc!, scNew!],
    );
  } else act.dispose();
  return [h, c];
}

/**
 * GRU gate math for one step: xg, hg (B, 3H) (input and hidden projections with their biases),
 * hPrev (B, H) → h (B, H).
 */
export function gruGates(xg: Tensor, hg: Tensor, hPrev: Tensor): Tensor {
  const op = 'gruCell';
  assertFloat(op, xg);
  const be = sameDevice(op, xg, hg, hPrev);
  const [B, H] = hPrev.shape as [number, number];
  if (
    hPrev.ndim !== 2 ||
    xg.ndim !== 2 ||
    hg.ndim !== 2 ||
    xg.shape[0] !== B ||
    hg.shape[0] !== B ||
    xg.shape[1] !== 3 * H ||
    hg.shape[1] !== 3 * H
  ) {
    throw new RangeError(
      `${op}: xg and hg must be (B, 3H) and h (B, H), got ${fmtShape(xg.shape)}, ${fmtShape(hg.shape)}, ${fmtShape(hPrev.shape)}`,
    );
  }
  const h = empty(be, [B, H], xg.dtype);
  const saved = empty(be, [B, 4 * H], xg.dtype);
  launch(
    be,
    'gruCell',
    30 * B * H,
    nbytes(6 * B * H + 6 * B * H, xg.dtype),
    xg.handle,
    hg.handle,
    hPrev.handle,
    h.handle,
    saved.handle,
    B,
    H,
    xg.dtype,
  );
  if (needsGrad(xg, hg, hPrev)) {
    const [sh] = save(hPrev);
    record(
      op,
      [h],
      [xg, hg, hPrev],
      ([dh]) => {
        const gb = dh!.backend;
        const dxg = empty(gb, [B, 3 * H], xg.dtype);
        const dhg = empty(gb, [B, 3 * H], xg.dtype);
        const dhp = empty(gb, [B, H], xg.dtype);
        launch(
          gb,
          'gruCellBackward',
          30 * B * H,
          nbytes(12 * B * H, xg.dtype),
          saved.handle,
          sh!.handle,
          dh!.handle,
          dxg.handle,
          dhg.handle,
          dhp.handle,
          B,
          H,
          xg.dtype,
        );
        return [dxg, dhg, dhp];
      },
      [saved, sh!],
    );
  } else saved.dispose();
  return h;
}
