// nn.functional: the layers as functions (torch.nn.functional). Most are the ops themselves;
// embedding adds paddingIdx, dropout takes torch's argument order.

import { noGrad } from '../autograd/mode.js';
import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { checkOptions, inRange } from '../options.js';

export {
  linear,
  conv2d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  layerNorm,
  batchNorm,
  softmax,
  logSoftmax,
  relu,
  tanh,
  sigmoid,
  gelu,
  silu,
  softplus,
  leakyRelu,
  elu,
  lstmGates,
  gruGates,
} from '../ops/index.js';
export type { Conv2dOptions, Pool2dOptions, BatchNormOptions } from '../ops/index.js';
export { mseLoss, l1Loss, crossEntropy, nllLoss, binaryCrossEntropy, bceWithLogits, huberLoss } from './losses.js';
export { klDiv } from './distill.js';

/** Zeroes elements with probability p (training only) and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return ops.dropout(x, p, training);
}

export interface EmbeddingFnOptions {
  /** rows picked at this index pass no gradient back to weight[paddingIdx] */
  paddingIdx?: number | null;
}

/**
 * Rows of weight (num, dim) at int32 indices of any shape → (…indices, dim). With paddingIdx,
 * positions that pick that row take their value from a detached copy, so no gradient reaches it.
 */
export function embedding(indices: Tensor, weight: Tensor, o: EmbeddingFnOptions = {}): Tensor {
  o = checkOptions('embedding', o, ['paddingIdx']);
  if (o.paddingIdx !== undefined && o.paddingIdx !== null) {
    const n = weight.shape[0]!;
    inRange('embedding', `paddingIdx (num_embeddings ${n})`, o.paddingIdx, { integer: true, min: -n, max: n - 1 });
  }
  const y = ops.embedding(indices, weight);
  let p = o.paddingIdx ?? null;
  if (p === null || !y.requiresGrad) return y;
  if (p < 0) p += weight.shape[0]!;
  // where(idx != p, y, detach(y)): same values, gradient only through the non-padding positions
  const keep = noGrad(() => {
    const ne = ops.ne(indices, p);
    const k = ops.unsqueeze(ne, -1);
    ne.dispose();
    return k;
  });
  const yd = y.detach();
  const out = ops.where(keep, y, yd);
  for (const t of [keep, yd, y]) t.dispose();
  return out;
}
