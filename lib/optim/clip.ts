// Gradient clipping without host round-trips: the scale is a tensor, min(1, maxNorm/(norm+1e-6)),
// and every gradient is multiplied by it, so the GPU never waits for the host.

import { noGrad } from '../autograd/mode.js';
import { keep } from '../memory.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { inRange } from '../options.js';

/** The parameters that have a grad; anything that is not a tensor, or a disposed grad, is an error. */
function withGrads(op: string, params: Iterable<Tensor> | Tensor): Tensor[] {
  const iterable = params !== null && typeof params === 'object' && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function';
  if (!(params instanceof Tensor) && !iterable)
    throw new TypeError(
      `${op}: expected the parameters (e.g. model.parameters()) or one tensor, got ${params === null ? 'null' : typeof params}`,
    );
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: params[${i}] is ${p === null ? 'null' : typeof p}, not a tensor`);
    // a disposed grad was skipped before: the norm left it out and the clip did not apply
    if (p.grad !== null && p.grad.isDisposed)
      throw new Error(
        `${op}: params[${i}] (shape ${fmtShape(p.shape)}) has a disposed grad: set p.grad = null (optimizer.zeroGrad()) instead of disposing it`,
      );
  });
  return list.filter((p) => p.grad !== null);
}

/**
 * Scales the gradients in place (each p.grad is replaced) so their total normType-norm is at most
 * maxNorm, and returns the total norm before clipping as a 0-d tensor (the caller disposes it).
 * normType: 2 (default), 1, Infinity, or any p > 0. The norm is computed on the first gradient's
 * device; with no gradients it is 0.
 */
export function clipGradNorm(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2): Tensor {
  inRange('clipGradNorm', 'maxNorm', maxNorm, { min: 0, allowInfinity: true });
  inRange('clipGradNorm', 'normType', normType, { min: 0, minOpen: true, allowInfinity: true });
  const ps = withGrads('clipGradNorm', params);
  return noGrad(() => {
    if (!ps.length) return ops.zeros([]);
    const dev = ps[0]!.grad!.device;
    const per = ps.map((p) => {
      const n = ops.norm(p.grad!, normType);
      if (n.device === dev) return n;
      const m = ops.to(n, dev);
      n.dispose();
      return m;
    });
    const stacked = ops.stack(per, 0);
    const total = ops.norm(stacked, normType);
    for (const t of [...per, stacked]) t.dispose();
    // scale = min(1, maxNorm / (total + 1e-6)), as a tensor
    const den = ops.add(total, 1e-6);
    const ratio = ops.div(maxNorm, den);
    const scale = ops.clamp(ratio, null, 1);
    den.dispose();
    ratio.dispose();
    for (const p of ps) {
      const g = p.grad!;
      const s = scale.device === g.device && scale.dtype === g.dtype ? scale : ops.to(ops.cast(scale, g.dtype), g.device);
      p.grad = keep(ops.mul(g, s));
      if (s !== scale) s.dispose();
      g.dispose();
    }
    scale.dispose();
    return total;
  });
}

/** Clamps every gradient to [-clipValue, clipValue] (each p.grad is replaced). */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  inRange('clipGradValue', 'clipValue', clipValue, { min: 0, allowInfinity: true });
  noGrad(() => {
    for (const p of withGrads('clipGradValue', params)) {
      const g = p.grad!;
      p.grad = keep(ops.clamp(g, -clipValue, clipValue));
      g.dispose();
    }
  });
}
