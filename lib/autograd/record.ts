// How ops record themselves on the tape: after computing their outputs, an op whose inputs
// require grad calls record() with its backward, written next to its forward.

import { Tensor } from '../tensor.js';
import { keep } from '../memory.js';
import { isGradEnabled } from './mode.js';
import { Node, type BackwardFn, type Edge } from './node.js';

/** true when the op must record: grad mode on and some input requires grad. */
export function needsGrad(...xs: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const x of xs) if (x && x.requiresGrad) return true;
  return false;
}

/** References to tensors kept for backward: they survive tidy and dispose of the original. */
export function save(...xs: Tensor[]): Tensor[] {
  return xs.map((x) => keep(new Tensor(x.storage.retain(), x.shape, x.dtype)));
}

/**
 * Records an op: outputs get gradFn = the new node. inputs[i] that do not require grad get a null
 * edge (their backward result is ignored). backward receives one grad per output (null for an
 * output that no gradient reached) and returns one grad per input, shaped like the input.
 */
export function record(
  name: string,
  outputs: Tensor[],
  inputs: (Tensor | null | undefined)[],
  backward: BackwardFn,
  saved: Tensor[] = [],
): void {
  const edges: Edge[] = inputs.map((x) => {
    if (!x || !x.requiresGrad) return null;
    return x.gradFn ? { node: x.gradFn, index: x.outputIndex } : { leaf: x };
  });
  for (const t of saved) keep(t); // saved tensors live as long as the node, not the tidy scope
  const node = new Node(
    name,
    edges,
    backward,
    saved,
    outputs.length,
    outputs.map((o) => [...o.shape]),
    outputs.map((o) => o.dtype),
  );
  // the version check at backward: one number per saved tensor
  const versions = new Array<number>(saved.length);
  for (let i = 0; i < saved.length; i++) versions[i] = saved[i]!.storage.version;
  node.savedVersions = versions;
  outputs.forEach((o, i) => {
    o.gradFn = node;
    o.outputIndex = i;
    node.refs++;
    (o as unknown as { _requiresGrad: boolean })._requiresGrad = true;
  });
}
