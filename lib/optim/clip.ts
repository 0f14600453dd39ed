// Gradient clipping without host round-trips: the scale is a tensor, min(1, maxNorm/(norm+1e-6)),
// and every gradient is multiplied by it, so the GPU never waits for the host.

import { noGrad } from '../autograd/mode.js';
import { keep } from '../memory.js';
import { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { inRange } from '../options.js';

function withGrads(params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.filter((p) => p.grad !== null && !p.grad.isDisposed);
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
  const ps = withGrads(params);
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
    for (const p of withGrads(params)) {
      const g = p.grad!;
      p.grad = keep(ops.clamp(g, -clipValue, clipValue));
      g.dispose();
    }
  });
}
