// Row softmax (forward) and cross-entropy (forward + backward, mean reduction) over logits
// (rows, cols), int32 targets (rows). Both are bandwidth-bound:
//   softmax: read x, write y → 2·rows·cols elements;
//   cross-entropy fwd+bwd: read logits (fwd), read logits + write dlogits (bwd) → 3·rows·cols.
// FLOPs use the op layer's convention (softmax 5/elem, cross-entropy 6/elem each way).
// Validation: float64 softmax / loss / dlogits from a host copy of the logits (8 sampled rows for
// the per-element outputs, every row for the loss).

import { softmax } from '../../lib/ops/nn.js';
import { crossEntropy } from '../../lib/ops/loss.js';
import { fromHost } from '../../lib/ops/creation.js';
import { bytesPerElement, type DType } from '../../lib/dtype.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchCase, BenchContext, Prepared, Validation } from '../lib/types.js';
import { allOf, compare, countedBy, disposeAll, randTensor, randomInts, rotationCopies, tolerance } from '../lib/util.js';

export interface RowsShape {
  rows: number;
  cols: number;
}

export function softmaxShapes(ctx: BenchContext): RowsShape[] {
  if (ctx.quick) return [{ rows: 16, cols: 1000 }];
  if (ctx.backend === 'js') return [{ rows: 256, cols: 32000 }];
  return [{ rows: 4096, cols: 32000 }];
}

export const softmaxId = (kind: 'softmax' | 'xent', s: RowsShape): string =>
  `${kind === 'softmax' ? 'softmax fwd' : 'cross_entropy fwd+bwd'} ${s.rows}x${s.cols}`;

/** float64 softmax of row r of x (rows, cols). */
function refRow(x: ArrayLike<number>, r: number, cols: number): Float64Array {
  let mx = -Infinity;
  for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]!);
  const out = new Float64Array(cols);
  let s = 0;
  for (let j = 0; j < cols; j++) s += out[j] = Math.exp(x[r * cols + j]! - mx);
  for (let j = 0; j < cols; j++) out[j]! /= s;
  return out;
}

function sampledRows(rows: number): number[] {
  const n = Math.min(8, rows);
  return Array.from({ length: n }, (_, i) => Math.floor((i * rows) / n));
}

export function softmaxCase(kind: 'softmax' | 'xent', s: RowsShape, dtype: DType): BenchCase {
  const { rows, cols } = s;
  const e = bytesPerElement(dtype);
  const n = rows * cols;
  return {
    op: kind,
    id: softmaxId(kind, s),
    shape: `${rows}×${cols}`,
    dtype,
    flops: (kind === 'softmax' ? 5 : 12) * n,
    bytes: (kind === 'softmax' ? 2 : 3) * n * e + (kind === 'xent' ? rows * 4 : 0),
    inputBytes: n * e,
    memoryBytes: 4 * n * e,
    kernels: kind === 'softmax' ? ['softmax'] : ['crossEntropy', 'crossEntropyBackward'],
    prepare(ctx: BenchContext): Prepared {
      const copies = rotationCopies(ctx, n * e, 4);
      const xs: Tensor[] = [];
      for (let c = 0; c < copies; c++) xs.push(randTensor(ctx, [rows, cols], dtype, 71 + c, -4, 4));
      const targets = fromHost(randomInts(rows, cols, 79), [rows], 'int32', ctx.device);
      const leaves = kind === 'xent' ? xs.map((x) => x.detach().requiresGrad_()) : xs;
      const once = (i: number): Tensor => {
        const x = leaves[i % copies]!;
        if (kind === 'softmax') return softmax(x, -1);
        const loss = crossEntropy(x, targets);
        loss.backward();
        return loss;
      };
      const clear = (): void => {
        for (const x of leaves) {
          x.grad?.dispose();
          x.grad = null;
        }
      };
      return {
        run(i) {
          once(i).dispose();
          if (kind === 'xent') clear();
        },
        validate(): Validation {
          const out = once(0);
          const x = xs[0]!.dataSync();
          const tol = tolerance(dtype, 1);
          const vs: Validation[] = [];
          if (kind === 'softmax') {
            const y = out.dataSync();
            for (const r of sampledRows(rows))
              vs.push(compare(y.subarray(r * cols, (r + 1) * cols), refRow(x, r, cols), tol, 'float64 softmax of 8 sampled rows'));
          } else {
            const t = targets.dataSync();
            let loss = 0;
            for (let r = 0; r < rows; r++) {
              let mx = -Infinity;
              for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]!);
              let s2 = 0;
              for (let j = 0; j < cols; j++) s2 += Math.exp(x[r * cols + j]! - mx);
              loss += Math.log(s2) + mx - x[r * cols + t[r]!]!;
            }
            vs.push(compare(out.dataSync(), new Float64Array([loss / rows]), tolerance(dtype, cols), 'float64 mean loss'));
            const g = leaves[0]!.grad!.dataSync();
            for (const r of sampledRows(rows)) {
              const p = refRow(x, r, cols);
              p[t[r]!]! -= 1;
              for (let j = 0; j < cols; j++) p[j]! /= rows;
              vs.push(
                compare(
                  g.subarray(r * cols, (r + 1) * cols),
                  p,
                  { atol: tol.atol / rows, rtol: tol.rtol },
                  'float64 dlogits of 8 sampled rows',
                ),
              );
            }
            clear();
          }
          out.dispose();
          return allOf(vs);
        },
        counted() {
          const r = countedBy(kind === 'softmax' ? ['softmax'] : ['crossEntropy', 'crossEntropyBackward'], () => once(0).dispose());
          if (kind === 'xent') clear();
          return r;
        },
        dispose() {
          clear();
          disposeAll([...leaves, ...xs, targets]);
        },
      };
    },
  };
}

export function softmaxCases(ctx: BenchContext, kind: 'softmax' | 'xent'): BenchCase[] {
  return softmaxShapes(ctx).map((s) => softmaxCase(kind, s, 'float32'));
}
