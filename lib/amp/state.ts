// Autocast's thread-local state (one JS thread: module state) and the hook the ops call.
//
// This file imports no op, so lib/ops can import it without a cycle: matmul, linear and conv2d
// start with `if (autocastActive()) return autocastOp(...)`, and autocast.ts (which does import
// the ops) installs the implementation when a region is first entered. Like torch's Autocast
// dispatch key, the hook is excluded while an autocast op runs its float32-or-low body, so the
// op's own nested calls (matmul of 1-D operands calls matmul) are not cast twice.

import type { Tensor } from '../tensor.js';

/** The low-precision dtypes autocast computes in. */
export type AutocastDType = 'bfloat16' | 'float16';

export interface AutocastFrame {
  readonly enabled: boolean;
  readonly dtype: AutocastDType;
}

export type AutocastImpl = (op: string, inputs: (Tensor | null | undefined)[], run: (...xs: (Tensor | null)[]) => Tensor) => Tensor;

const frames: AutocastFrame[] = [];
let excluded = 0;
let impl: AutocastImpl | null = null;

/** The innermost autocast region (null outside any). */
export function autocastFrame(): AutocastFrame | null {
  return frames.length ? frames[frames.length - 1]! : null;
}

/** true when an op on the autocast list must cast (inside an enabled region, not inside an autocast op). */
export function autocastActive(): boolean {
  if (excluded > 0 || !frames.length) return false;
  return frames[frames.length - 1]!.enabled;
}

/** Runs `run` on the inputs cast to the region's dtype (see autocast.ts); called by the listed ops. */
export function autocastOp(op: string, inputs: (Tensor | null | undefined)[], run: (...xs: (Tensor | null)[]) => Tensor): Tensor {
  if (!impl) throw new Error(`autocast: ${op} found an active region but no autocast implementation (import from 'wattgrad')`);
  return impl(op, inputs, run);
}

/** Runs fn with the hook off (the body of an autocast op). */
export function withoutAutocast<T>(fn: () => T): T {
  excluded++;
  try {
    return fn();
  } finally {
    excluded--;
  }
}

export function pushFrame(f: AutocastFrame, i: AutocastImpl): void {
  impl = i;
  frames.push(f);
}

export function popFrame(f: AutocastFrame): void {
  const top = frames[frames.length - 1];
  if (top !== f)
    throw new Error('autocast: regions must exit in the reverse order they entered (exit() of a region that is not the innermost)');
  frames.pop();
}
