// Differentiable views: reshape/view/flatten/squeeze/unsqueeze share their input's storage. When
// such a view records grad, base and view are registered here (weakly), so an in-place op on
// any of them can rebase the others' history (lib/ops/inplace.ts) or refuse a view of a leaf.

import type { Storage } from '../memory.js';
import type { Tensor } from '../tensor.js';

interface Views { refs: WeakRef<Tensor>[]; live: number }
const viewsOf = new WeakMap<Storage, Views>();

/** reshape calls this when it makes a view that records grad: base and view share history. */
export function registerView(base: Tensor, view: Tensor): void {
  const s = base.storage;
  let v = viewsOf.get(s);
  if (!v) viewsOf.set(s, (v = { refs: [], live: 0 }));
  // a parameter reshaped every step gathers dead views: prune when the list doubled since the last prune
  if (v.refs.length >= 16 && v.refs.length > 2 * v.live) prune(s, v);
  if (!v.refs.some((r) => r.deref() === base)) v.refs.push(new WeakRef(base));
  v.refs.push(new WeakRef(view));
}

function prune(s: Storage, v: Views): void {
  let w = 0;
  for (const r of v.refs) {
    const t = r.deref();
    if (t && !t.isDisposed && t.storage === s) v.refs[w++] = r;
  }
  v.refs.length = w;
  v.live = w;
}

/** Live tensors on s that require grad, other than self. */
export function gradAliases(s: Storage, self: Tensor): Tensor[] {
  const v = viewsOf.get(s);
  if (!v) return [];
  prune(s, v);
  const out: Tensor[] = [];
  for (const r of v.refs) {
    const t = r.deref()!;
    if (t !== self && t.requiresGrad) out.push(t);
  }
  return out;
}
