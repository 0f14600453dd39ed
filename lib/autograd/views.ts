// Differentiable views: reshape/view/flatten/squeeze/unsqueeze share their input's storage. A
// view made while recording grad remembers its base (torch's _base; the root base for a view of
// a view) and the storage version its history belongs to. After an in-place op on the storage,
// that history is stale: the next read of view.gradFn remakes it as reshape(base), whose history
// the in-place op rebased (lib/ops/inplace.ts), so base and views agree without the base having
// to know its views (no registry to leak).

import { record } from './record.js';
import type { Tensor } from '../tensor.js';
import { reshape } from '../ops/shape.js';

/** reshape calls this for a view that records grad. */
export function markView(base: Tensor, view: Tensor): void {
  view._base = base._base ?? base;
  view._viewVersion = view.storage.version;
}

/** Remakes a stale view's history as reshape(base) (called by Tensor.gradFn). */
export function syncView(view: Tensor): void {
  const base = view._base!;
  if (view.isDisposed) return;
  const s = view.storage;
  if (s.version === view._viewVersion) return;
  view._viewVersion = s.version;
  if (base.isDisposed || base.storage !== s || !base.requiresGrad) return;
  const old = view._gradFn;
  const shape = [...base.shape];
  record('reshape', [view], [base], ([g]) => [reshape(g!, shape)]);
  if (old) old.unref();
}
