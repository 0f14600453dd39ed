// matmul with torch.matmul's rules (1-D promotion, batch broadcasting) over the batched GEMM
// kernel, and linear (x·Wᵀ + b) with the bias fused into one pass.

import { needsGrad, record, save } from '../autograd/record.js';
import { broadcastShapes, fmtShape, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, empty, launch, nbytes, sameDevice } from './util.js';
import { expand, reshape } from './shape.js';
import { sum } from './reduce.js';
import { sumTo } from './elementwise.js';
import { autocastActive, autocastOp } from '../amp/state.js';

/**
 * out (batch…, m, n) = op(a)·op(b); a is (batch…, m, k) or (batch…, k, m) when transA (likewise b).
 * aBatch/bBatch: whether the operand carries the batch (else it is broadcast with stride 0).
 */
function gemm(
  a: Tensor,
  b: Tensor,
  batchShape: number[],
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  aBatch: boolean,
  bBatch: boolean,
): Tensor {
  const be = a.backend;
  const batch = numel(batchShape);
  const out = empty(be, [...batchShape, m, n], a.dtype, 'matmul');
  launch(
    be,
    'matmul',
    2 * batch * m * n * k,
    nbytes((aBatch ? batch : 1) * m * k + (bBatch ? batch : 1) * k * n + batch * m * n, a.dtype),
    a.handle,
    b.handle,
    out.handle,
    batch,
    m,
    n,
    k,
    transA,
    transB,
    aBatch ? m * k : 0,
    bBatch ? k * n : 0,
    a.dtype,
  );
  return out;
}

function checkOperands(op: string, a: Tensor, b: Tensor): void {
  sameDevice(op, a, b);
  assertFloat(op, a);
  if (a.dtype !== b.dtype) throw new TypeError(`${op}: dtypes differ: ${a.dtype} ${fmtShape(a.shape)} and ${b.dtype} ${fmtShape(b.shape)}`);
  if (a.ndim === 0 || b.ndim === 0)
    throw new RangeError(`${op}: both arguments need at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
}

/** Matrix product with torch.matmul semantics. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (autocastActive()) return autocastOp('matmul', [a, b], (x, y) => matmul(x!, y!)); // lib/amp: low-precision inputs
  checkOperands('matmul', a, b);
  const ka = a.shape[a.ndim - 1]!;
  const kb = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (ka !== kb) {
    throw new RangeError(`matmul: cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)} (inner dimensions ${ka} and ${kb} differ)`);
  }
  // 1-D operands: promote, multiply, drop the added dim
  if (a.ndim === 1 || b.ndim === 1) {
    const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]!]) : a;
    const b2 = b.ndim === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
    const r = matmul(a2, b2);
    const s = [...r.shape];
    if (b.ndim === 1) s.splice(s.length - 1, 1);
    if (a.ndim === 1) s.splice(s.length - (b.ndim === 1 ? 1 : 2), 1);
    const out = reshape(r, s);
    for (const t of [r, a2 === a ? null : a2, b2 === b ? null : b2]) t?.dispose();
    return out;
  }
  const m = a.shape[a.ndim - 2]!;
  const k = ka;
  const n = b.shape[b.ndim - 1]!;
  // (…, m, k) · (k, n): one GEMM over the flattened rows
  if (b.ndim === 2 && a.ndim > 2) {
    const a2 = reshape(a, [numel(a.shape, 0, a.ndim - 1), k]); // not a.size / k: k may be 0;
    const r = matmul(a2, b);
    const out = reshape(r, [...a.shape.slice(0, -1), n]);
    a2.dispose();
    r.dispose();
    return out;
  }
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const batchShape = broadcastShapes('matmul', aBatchShape, bBatchShape);
  const batch = numel(batchShape);
  // an operand either carries the whole batch, or none of it (stride 0); otherwise materialise
  const fit = (t: Tensor, bs: readonly number[]): [Tensor, boolean] => {
    const nb = numel(bs);
    if (nb === batch && bs.length === batchShape.length) return [t, batch > 1];
    if (nb === 1) return [t, false];
    return [expand(t, [...batchShape, t.shape[t.ndim - 2]!, t.shape[t.ndim - 1]!]), true];
  };
  const [A, aFull] = fit(a, aBatchShape);
  const [B, bFull] = fit(b, bBatchShape);
  const out = gemm(A, B, batchShape, m, n, k, false, false, aFull, bFull);
  if (needsGrad(a, b)) {
    // dA needs B and dB needs A: save only those (torch does the same)
    const needA = A.requiresGrad;
    const needB = B.requiresGrad;
    const sa = needB ? save(A)[0]! : null;
    const sb = needA ? save(B)[0]! : null;
    const [aShape, bShape] = [[...A.shape], [...B.shape]];
    record(
      'matmul',
      [out],
      [A, B],
      ([g]) => [
        needA ? sumTo(gemm(g!, sb!, batchShape, m, k, n, false, true, true, bFull), aShape) : null,
        needB ? sumTo(gemm(sa!, g!, batchShape, k, n, m, true, false, aFull, true), bShape) : null,
      ],
      [sa, sb].filter((t): t is Tensor => t !== null),
    );
  }
  if (A !== a) A.dispose();
  if (B !== b) B.dispose();
  return out;
}

/** y = x·Wᵀ + b; x (…, in), weight (out, in), bias (out). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (autocastActive()) return autocastOp('linear', [x, weight, bias], (a, w, b) => linear(a!, w!, b)); // lib/amp
  checkOperands('linear', x, weight);
  if (weight.ndim !== 2) throw new RangeError(`linear: weight must be (out, in), got ${fmtShape(weight.shape)}`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(
      `linear: input ${fmtShape(x.shape)} has ${x.shape[x.ndim - 1]} features, weight ${fmtShape(weight.shape)} expects ${inF}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF))
    throw new RangeError(`linear: bias must be (${outF},), got ${fmtShape(bias.shape)}`);
  if (bias) sameDevice('linear', x, bias);
  const rows = numel(x.shape, 0, x.ndim - 1); // not x.size / inF: inF may be 0
  const x2 = x.ndim === 2 ? x : reshape(x, [rows, inF]);
  const be = x.backend;
  const y = gemm(x2, weight, [], rows, outF, inF, false, true, false, false);
  if (bias)
    launch(
      be,
      'addBiasAct',
      rows * outF,
      nbytes(2 * rows * outF + outF, x.dtype),
      y.handle,
      bias.handle,
      y.handle,
      rows,
      outF,
      1,
      'none',
      x.dtype,
    );
  const out = x.ndim === 2 ? y : reshape(y, [...x.shape.slice(0, -1), outF]);
  if (out !== y) y.dispose();
  if (needsGrad(x, weight, bias)) {
    // dx needs the weight and dw needs x: save only those (torch does the same)
    const needDx = x.requiresGrad;
    const needDw = weight.requiresGrad;
    const needDb = bias?.requiresGrad === true;
    const sx = needDw ? save(x2)[0]! : null;
    const sw = needDx ? save(weight)[0]! : null;
    const xShape = [...x.shape];
    record(
      'linear',
      [out],
      [x, weight, bias],
      ([g]) => {
        const g2 = reshape(g!, [rows, outF]);
        const dx = needDx ? reshape(gemm(g2, sw!, [], rows, inF, outF, false, false, false, false), xShape) : null;
        const dw = needDw ? gemm(g2, sx!, [], outF, inF, rows, true, false, false, false) : null;
        const db = needDb ? sum(g2, 0) : null;
        return [dx, dw, db];
      },
      [sx, sw].filter((t): t is Tensor => t !== null),
    );
  }
  if (x2 !== x) x2.dispose();
  return out;
}
