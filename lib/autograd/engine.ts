// Backward: topological order over the tape from the root, each node's backward run once with the
// summed gradients of its outputs, leaf gradients accumulated into .grad like PyTorch.

import { isTensor, type Tensor } from '../tensor.js';
import { keep, tidy } from '../memory.js';
import { fmtShape, sameShape } from '../shape.js';
import { noGrad } from './mode.js';
import type { Node } from './node.js';
import * as ops from '../ops/index.js';
import { bool, checkOptions } from '../options.js';

export interface BackwardOptions {
  /** keep the saved tensors so backward can run through this graph again */
  retainGraph?: boolean;
}

const retainedOutputs = new WeakMap<Node, Map<number, WeakRef<Tensor>>>();

/** Called by Tensor.retainGrad on a non-leaf. */
export function registerRetainGrad(t: Tensor): void {
  if (!t.gradFn) return;
  let m = retainedOutputs.get(t.gradFn);
  if (!m) retainedOutputs.set(t.gradFn, (m = new Map()));
  m.set(t.outputIndex, new WeakRef(t));
}

function accumulateInto(t: Tensor, g: Tensor): void {
  if (t.isDisposed) {
    g.dispose();
    return;
  }
  if (t.grad === null || t.grad.isDisposed) {
    t.grad = keep(g);
  } else {
    const old = t.grad;
    t.grad = keep(ops.add(old, g));
    old.dispose();
    g.dispose();
  }
}

function topoOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>([root]);
  const stack: [Node, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [n, i] = top;
    if (i < n.edges.length) {
      top[1]++;
      const e = n.edges[i];
      if (e && 'node' in e && !seen.has(e.node)) {
        seen.add(e.node);
        stack.push([e.node, 0]);
      }
    } else {
      stack.pop();
      order.push(n);
    }
  }
  return order.reverse(); // root first
}

/**
 * Refuses a node whose saved tensors were written in place after it saved them (torch's version
 * counter): its backward would compute with the new values and give wrong gradients silently.
 */
function checkVersions(node: Node): void {
  const vs = node.savedVersions;
  for (let i = 0; i < vs.length; i++) {
    const t = node.saved[i]!;
    const st = t.storage;
    if (st.version === vs[i]) continue;
    const by = st.lastWriter ? ` by ${st.lastWriter}` : '';
    throw new Error(
      `backward: one of the variables needed for gradient computation has been modified by an in-place operation: ` +
        `${node.name}'s saved tensor ${i} (${fmtShape(t.shape)} ${t.dtype}) is at version ${st.version}, last modified${by}; expected version ${vs[i]} (when ${node.name} saved it). ` +
        `Use the out-of-place op (e.g. add instead of add_) or clone() before writing, and change parameters (optimizer.step(), loadStateDict) only after backward()`,
    );
  }
}

export function backward(root: Tensor, grad: Tensor | null, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error(
      'backward: tensor does not require grad and has no gradFn (set requiresGrad on the inputs, and do not call it inside noGrad)',
    );
  }
  if (grad !== null && !isTensor(grad)) {
    throw new TypeError(
      `backward: grad must be a tensor of shape ${fmtShape(root.shape)} or null, got ${typeof grad === 'object' ? 'a plain object' : typeof grad}` +
        (typeof grad === 'object' ? ' (options go second: backward(null, { retainGraph: true }))' : ''),
    );
  }
  if (grad === null) {
    if (root.size !== 1) {
      throw new Error(
        `backward: grad can be implicitly created only for scalar outputs; this tensor has shape ${fmtShape(root.shape)} — pass a gradient of that shape`,
      );
    }
  } else if (!sameShape(grad.shape, root.shape) || grad.device !== root.device) {
    throw new RangeError(
      `backward: gradient of shape ${fmtShape(grad.shape)} on ${grad.device} does not match the tensor's ${fmtShape(root.shape)} on ${root.device}`,
    );
  }
  // a misspelt { retain_graph: true } would free the graph without a word
  const retain = bool('backward', 'retainGraph', checkOptions('backward', options, ['retainGraph']).retainGraph, false);
  // a freed graph is refused before anything runs, so a failed backward changes no .grad
  if (root.gradFn) {
    for (const node of topoOrder(root.gradFn)) {
      if (node.released || node.backwardFn === null) {
        throw new Error(
          `backward: trying to backward through the graph a second time (at ${node.name}), but its saved tensors were already freed; pass {retainGraph: true} to the first backward() if you need to`,
        );
      }
      checkVersions(node);
    }
  }
  noGrad(() => {
    // gradients for leaves (and retained non-leaves) are staged and committed only when the whole
    // backward succeeded: a failure part-way leaves every .grad as it was
    const staged = new Map<Tensor, Tensor>();
    const stage = (t: Tensor, g: Tensor): void => {
      const prev = staged.get(t);
      if (prev) {
        staged.set(t, ops.add(prev, g));
        prev.dispose();
        g.dispose();
      } else staged.set(t, g);
    };
    const seed = grad === null ? ops.onesLike(root) : grad.dtype === root.dtype ? ops.clone(grad) : ops.cast(grad, root.dtype);
    if (!root.gradFn) {
      accumulateInto(root, seed);
      return;
    }
    const order = topoOrder(root.gradFn);
    const pending = new Map<Node, (Tensor | null)[]>();
    const first = new Array<Tensor | null>(root.gradFn.nOutputs).fill(null);
    first[root.outputIndex] = seed;
    pending.set(root.gradFn, first);
    let ok = false;
    try {
      for (const node of order) {
        const gs = pending.get(node);
        if (!gs) continue;
        pending.delete(node);
        if (node.released || node.backwardFn === null) {
          for (const g of gs) g?.dispose();
          throw new Error(
            `backward: trying to backward through the graph a second time (at ${node.name}), but its saved tensors were already freed; pass {retainGraph: true} to the first backward() if you need to`,
          );
        }
        const retained = retainedOutputs.get(node);
        if (retained) {
          for (const [idx, ref] of retained) {
            const t = ref.deref();
            const g = gs[idx];
            if (t && g && !t.isDisposed) stage(t, ops.clone(g));
          }
        }
        const fn = node.backwardFn;
        let inGrads: (Tensor | null)[];
        try {
          inGrads = tidy(() => fn(gs));
        } catch (e) {
          for (const g of gs) g?.dispose();
          throw e;
        }
        // ownership: each gradient handed to an edge is consumed there; everything else is disposed
        // the same tensor for two inputs, or a saved tensor handed back: give each edge its own
        // reference up front (consuming one may dispose it)
        const consumed = new Set<Tensor>();
        const edgeGrads = node.edges.map((edge, i) => {
          let g = inGrads[i] ?? null;
          if (g === null || edge === null) return null;
          if (consumed.has(g) || node.saved.includes(g)) g = g.detach();
          consumed.add(g);
          return g;
        });
        node.edges.forEach((edge, i) => {
          let g = edgeGrads[i] ?? null;
          if (g === null || edge === null) return;
          const want = 'leaf' in edge ? edge.leaf.shape : edge.node.outputShapes[edge.index]!;
          if (!sameShape(g.shape, want)) {
            throw new Error(
              `backward: internal error in ${node.name}: gradient for input ${i} has shape ${fmtShape(g.shape)}, expected ${fmtShape(want)}`,
            );
          }
          // an op that promoted its inputs (float32 · float64) hands back grads in the promoted
          // dtype: each input gets its gradient in its own dtype, like torch
          const wantDtype =
            'leaf' in edge ? (edge.leaf.isDisposed ? g.dtype : edge.leaf.dtype) : (edge.node.outputDtypes[edge.index] ?? g.dtype);
          if (g.dtype !== wantDtype) {
            const c = ops.cast(g, wantDtype);
            g.dispose();
            g = c;
          }
          if ('leaf' in edge) {
            if (edge.leaf.isDisposed) g.dispose();
            else stage(edge.leaf, g);
          } else {
            let arr = pending.get(edge.node);
            if (!arr) pending.set(edge.node, (arr = new Array<Tensor | null>(edge.node.nOutputs).fill(null)));
            const prev = arr[edge.index];
            if (prev) {
              arr[edge.index] = ops.add(prev, g);
              prev.dispose();
              g.dispose();
            } else {
              arr[edge.index] = g;
            }
          }
        });
        for (const g of gs) if (g && !consumed.has(g)) g.dispose();
        for (const g of inGrads) if (g && !consumed.has(g)) g.dispose();
        if (!retain) node.releaseSaved();
      }
      ok = true;
    } finally {
      for (const gs of pending.values()) for (const g of gs) g?.dispose();
      if (ok) for (const [t, g] of staged) accumulateInto(t, g);
      else for (const g of staged.values()) g.dispose();
    }
  });
}
