// In-place writes into an existing tensor's storage, for the few places the nn/optim layer needs
// them: loading a state dict (keeps Parameter identity, so optimizers stay valid), the nn.init
// functions, and nothing else. None of these record on the tape; they run under noGrad. Each
// moves the storage's version, so a backward through values saved before the write refuses to run.

import { noGrad } from '../autograd/mode.js';
import { takeCounters } from '../random.js';
import { fmtShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { assertFloat, launch, nbytes } from '../ops/util.js';
import { fillValue } from '../ops/creation.js';
import { bumpVersion } from '../memory.js';

/** dst ← src (same shape; src is moved to dst's device and cast to dst's dtype first). */
export function copyInto(dst: Tensor, src: Tensor, what = 'copy'): void {
  if (!sameShape(dst.shape, src.shape)) throw new RangeError(`${what}: shape ${fmtShape(src.shape)} does not match ${fmtShape(dst.shape)}`);
  noGrad(() => {
    let s = src;
    if (s.device !== dst.device) s = ops.to(s, dst.device);
    if (s.dtype !== dst.dtype) {
      const c = ops.cast(s, dst.dtype);
      if (s !== src) s.dispose();
      s = c;
    }
    const n = dst.size;
    if (n) launch(dst.backend, 'stridedCopy', 0, nbytes(2 * n, dst.dtype), s.handle, dst.handle, [n], [1], 0, [1], 0, dst.dtype, false);
    if (s !== src) s.dispose();
    bumpVersion(dst.storage, what);
  });
}

/** t ← value everywhere. */
export function fillInto(t: Tensor, value: number): void {
  const n = t.size;
  launch(t.backend, 'fill', 0, nbytes(n, t.dtype), t.handle, n, fillValue('fill', value, t.dtype), t.dtype);
  bumpVersion(t.storage, 'fill');
}

/** t ← U[low, high) from the shared Philox stream (manualSeed reproduces it). */
export function uniformInto(t: Tensor, low: number, high: number, op = 'uniform_'): void {
  assertFloat(op, t);
  const n = t.size;
  if (!n) return;
  const { seed, offset } = takeCounters(n / 4);
  launch(t.backend, 'randUniform', n, nbytes(n, t.dtype), t.handle, n, seed, offset, low, high, t.dtype);
  bumpVersion(t.storage, op);
}

/** t ← N(mean, std²) from the shared Philox stream. */
export function normalInto(t: Tensor, mean: number, std: number, op = 'normal_'): void {
  assertFloat(op, t);
  const n = t.size;
  if (!n) return;
  const { seed, offset } = takeCounters(n / 2);
  launch(t.backend, 'randNormal', 10 * n, nbytes(n, t.dtype), t.handle, n, seed, offset, mean, std, t.dtype);
  bumpVersion(t.storage, op);
}

/** Zeroes row `row` of a 2-D tensor in place. */
export function zeroRow(t: Tensor, row: number): void {
  const n = t.shape[1]!;
  noGrad(() => {
    const z = ops.zeros([n], { dtype: t.dtype, device: t.device });
    launch(t.backend, 'stridedCopy', 0, nbytes(2 * n, t.dtype), z.handle, t.handle, [n], [1], 0, [1], row * n, t.dtype, false);
    z.dispose();
    bumpVersion(t.storage, 'zeroRow');
  });
}
