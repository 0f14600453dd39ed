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

/**
 * Called during backward when a leaf's gradient for this backward is complete (every
 * contribution summed), before it is accumulated into .grad (the commit happens when the whole
 * backward succeeded). `grad` is that backward's gradient alone; read it, do not keep or dispose it.
 * nn.DistributedDataParallel starts each bucket's allReduce from here, while the rest of the
 * backward runs (torch's post-accumulate-grad hooks).
 */
export type GradReadyHook = (leaf: Tensor, grad: Tensor) => void;
const gradReadyHooks = new WeakMap<Tensor, GradReadyHook[]>();
let gradReadyHookCount = 0;
let backwardCallbacks: (() => void)[] | null = null;

/** Registers `fn` to run when `leaf`'s gradient is ready in each backward; returns the remover. */
export function registerGradReadyHook(leaf: Tensor, fn: GradReadyHook): () => void {
  let list = gradReadyHooks.get(leaf);
  if (!list) gradReadyHooks.set(leaf, (list = []));
  list.push(fn);
  gradReadyHookCount++;
  return () => {
    const l = gradReadyHooks.get(leaf);
    const i = l ? l.indexOf(fn) : -1;
    if (l && i >= 0) {
      l.splice(i, 1);
      gradReadyHookCount--;
    }
  };
}

/**
 * From inside a grad-ready hook: runs `fn` once after this backward has committed every .grad
 * (torch's queue_callback); DistributedDataParallel waits for its allReduces there.
 */
export function queueBackwardCallback(fn: () => void): void {
  if (backwardCallbacks === null) throw new Error('queueBackwardCallback: only valid while backward() runs (from a grad-ready hook)');
  backwardCallbacks.push(fn);
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
    // grad-ready hooks: how many edges feed each hooked leaf, so the hook fires once its last
    // contribution is staged (and, for leaves some edge gave no gradient, at the end)
    const hookEdges = gradReadyHookCount > 0 ? countHookedLeafEdges(order) : null;
    const fired = new Set<Tensor>();
    const fire = (t: Tensor): void => {
      const g = staged.get(t);
      const hooks = gradReadyHooks.get(t);
      if (!g || !hooks || fired.has(t)) return;
      fired.add(t);
      for (const h of [...hooks]) h(t, g);
    };
    const callbacks: (() => void)[] = [];
    const outerCallbacks = backwardCallbacks;
    backwardCallbacks = callbacks;
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
            else {
              stage(edge.leaf, g);
              if (hookEdges) {
                const left = hookEdges.get(edge.leaf);
                if (left !== undefined) {
                  hookEdges.set(edge.leaf, left - 1);
                  if (left === 1) fire(edge.leaf);
                }
              }
            }
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
      if (hookEdges) for (const t of hookEdges.keys()) fire(t);
      ok = true;
    } finally {
      backwardCallbacks = outerCallbacks;
      for (const gs of pending.values()) for (const g of gs) g?.dispose();
      if (ok) for (const [t, g] of staged) accumulateInto(t, g);
      else for (const g of staged.values()) g.dispose();
    }
    for (const cb of callbacks) cb();
  });
}

/** For each leaf with grad-ready hooks: the number of graph edges into it. */
function countHookedLeafEdges(order: Node[]): Map<Tensor, number> {
  const m = new Map<Tensor, number>();
  for (const n of order)
    for (const e of n.edges) if (e && 'leaf' in e && gradReadyHooks.has(e.leaf)) m.set(e.leaf, (m.get(e.leaf) ?? 0) + 1);
  return m;
}
