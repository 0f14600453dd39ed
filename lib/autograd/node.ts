// A node of the dynamic tape: one recorded op. It holds the edges to its inputs (another node,
// or a leaf tensor whose .grad accumulates), the tensors it saved for backward, and the
// backward function written next to the op's forward.
//
// Lifetime is refcounted, so memory is deterministic: a node is referenced by the tensors it
// produced (tensor.gradFn) and by the nodes downstream of it. When the last reference goes
// (tensors disposed, graph freed by backward) it releases its saved tensors.

import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';

export type Edge = { node: Node; index: number } | { leaf: Tensor } | null;

export type BackwardFn = (grads: (Tensor | null)[]) => (Tensor | null)[];

let nextId = 0;

export class Node {
  readonly id = nextId++;
  refs = 0;
  /** set once backward ran without retainGraph, or the node was freed */
  released = false;
  /** saved[i].storage.version when the op saved it; backward refuses to run if it changed */
  savedVersions: number[] = [];
  constructor(
    readonly name: string,
    readonly edges: Edge[],
    public backwardFn: BackwardFn | null,
    public saved: Tensor[],
    readonly nOutputs: number,
    /** shapes of the outputs, to make zero grads for unused outputs of multi-output ops */
    readonly outputShapes: number[][],
    /** dtypes of the outputs: a gradient arriving in another dtype is cast to it (torch's validate_outputs) */
    readonly outputDtypes: DType[] = [],
  ) {
    for (const e of edges) if (e && 'node' in e) e.node.refs++;
  }

  /** Drops the saved tensors and the backward closure (after backward, or when unreferenced). */
  releaseSaved(): void {
    if (this.released) return;
    this.released = true;
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.savedVersions = [];
    this.backwardFn = null;
  }

  /** One reference fewer; at zero the node and, transitively, unreferenced upstream nodes go. */
  unref(): void {
    let stack: Node[] = [this];
    while (stack.length) {
      const n = stack.pop()!;
      if (--n.refs > 0) continue;
      n.releaseSaved();
      for (const e of n.edges) if (e && 'node' in e) stack.push(e.node);
      // edges stay (only a freed node points at them); drop them so leaves can be collected
      (n.edges as Edge[]).length = 0;
    }
    stack = [];
  }
}
