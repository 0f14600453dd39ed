// Fused optimizer steps: one backend kernel call per (device, dtype) group updates every
// parameter of the group in place (the CUDA backend runs it as one multi-tensor launch).

import type { AdagradHyper, AdamHyper, Backend, Handle, RmspropHyper, SgdHyper } from '../backend/kernels.js';
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { bumpVersion } from '../memory.js';
import { launch, nbytes } from './util.js';

interface Group {
  backend: Backend;
  dtype: DType;
  idx: number[];
}

function groups(op: string, params: readonly Tensor[], ...lists: (readonly (Tensor | null)[] | null)[]): Group[] {
  const out = new Map<string, Group>();
  params.forEach((p, i) => {
    for (const l of lists) {
      const t = l?.[i];
      if (l && !t) throw new Error(`${op}: missing state for parameter ${i}`);
      if (t && (t.size !== p.size || t.device !== p.device || t.dtype !== p.dtype)) {
        throw new RangeError(
          `${op}: state for parameter ${i} is ${t.dtype} (${t.shape.join(',')}) on ${t.device}, parameter is ${p.dtype} (${p.shape.join(',')}) on ${p.device}`,
        );
      }
    }
    const key = `${p.device}/${p.dtype}`;
    let g = out.get(key);
    if (!g) out.set(key, (g = { backend: p.backend, dtype: p.dtype, idx: [] }));
    g.idx.push(i);
  });
  // the step writes params and state (every list after the grads) in place: move their versions,
  // so a backward through a graph that saved a parameter before the step refuses to run
  const op_ = `${op} (optimizer step)`;
  for (const p of params) bumpVersion(p.storage, op_);
  for (const l of lists.slice(1)) if (l) for (const t of l) if (t) bumpVersion(t.storage, op_);
  return [...out.values()];
}

const handles = (ts: readonly Tensor[], idx: number[]): Handle[] => idx.map((i) => ts[i]!.handle);

/** SGD (momentum, dampening, nesterov, weight decay, maximize) in place over params. */
export function sgdStep(params: readonly Tensor[], grads: readonly Tensor[], momentumBufs: readonly Tensor[] | null, h: SgdHyper): void {
  for (const g of groups('sgdStep', params, grads, momentumBufs)) {
    const numels = g.idx.map((i) => params[i]!.size);
    const n = numels.reduce((a, b) => a + b, 0);
    launch(
      g.backend,
      'sgdStep',
      4 * n,
      nbytes(n * (momentumBufs ? 5 : 3), g.dtype),
      handles(params, g.idx),
      handles(grads, g.idx),
      momentumBufs ? handles(momentumBufs, g.idx) : null,
      numels,
      h,
      g.dtype,
    );
  }
}

/** Adam / AdamW (h.decoupled) / amsgrad in place over params and state. */
export function adamStep(
  params: readonly Tensor[],
  grads: readonly Tensor[],
  expAvg: readonly Tensor[],
  expAvgSq: readonly Tensor[],
  maxExpAvgSq: readonly Tensor[] | null,
  h: AdamHyper,
): void {
  for (const g of groups('adamStep', params, grads, expAvg, expAvgSq, maxExpAvgSq)) {
    const numels = g.idx.map((i) => params[i]!.size);
    const n = numels.reduce((a, b) => a + b, 0);
    launch(
      g.backend,
      'adamStep',
      16 * n,
      nbytes(n * (maxExpAvgSq ? 9 : 7), g.dtype),
      handles(params, g.idx),
      handles(grads, g.idx),
      handles(expAvg, g.idx),
      handles(expAvgSq, g.idx),
      maxExpAvgSq ? handles(maxExpAvgSq, g.idx) : null,
      numels,
      h,
      g.dtype,
    );
  }
}

/** RMSprop (momentum when h.momentum > 0, centered with gradAvg) in place over params and state. */
export function rmspropStep(
  params: readonly Tensor[],
  grads: readonly Tensor[],
  squareAvg: readonly Tensor[],
  momentumBufs: readonly Tensor[] | null,
  gradAvg: readonly Tensor[] | null,
  h: RmspropHyper,
): void {
  for (const g of groups('rmspropStep', params, grads, squareAvg, momentumBufs, gradAvg)) {
    const numels = g.idx.map((i) => params[i]!.size);
    const n = numels.reduce((a, b) => a + b, 0);
    const lists = 4 + (momentumBufs ? 2 : 0) + (gradAvg ? 2 : 0); // reads p g v (m ḡ), writes p v (m ḡ)
    launch(
      g.backend,
      'rmspropStep',
      (8 + (momentumBufs ? 2 : 0) + (gradAvg ? 4 : 0)) * n,
      nbytes(n * (lists + 1), g.dtype),
      handles(params, g.idx),
      handles(grads, g.idx),
      handles(squareAvg, g.idx),
      momentumBufs ? handles(momentumBufs, g.idx) : null,
      gradAvg ? handles(gradAvg, g.idx) : null,
      numels,
      h,
      g.dtype,
    );
  }
}

/** Adagrad in place over params and stateSum. */
export function adagradStep(params: readonly Tensor[], grads: readonly Tensor[], stateSum: readonly Tensor[], h: AdagradHyper): void {
  for (const g of groups('adagradStep', params, grads, stateSum)) {
    const numels = g.idx.map((i) => params[i]!.size);
    const n = numels.reduce((a, b) => a + b, 0);
    launch(
      g.backend,
      'adagradStep',
      7 * n,
      nbytes(n * 5, g.dtype),
      handles(params, g.idx),
      handles(grads, g.idx),
      handles(stateSum, g.idx),
      numels,
      h,
      g.dtype,
    );
  }
}
