// Mixed precision: autocast regions (torch.autocast semantics, torch's op lists).
//
//   const loss = wg.amp.autocast({ dtype: 'bfloat16' }, () => lossFn(model.forward(x), y));
//   loss.backward();                     // gradients reach the float32 master weights
//
// Inside a region the ops on AUTOCAST_LOWER_PRECISION_OPS take their float32 inputs in the
// region's dtype and compute with fp32 accumulation; every other op runs as it is, so reductions,
// softmax, losses and norms (AUTOCAST_FLOAT32_OPS) stay in float32. The casts are recorded in
// autograd, so backward runs through them to the float32 leaves.
//
// How the low dtype is carried, per backend:
//   cuda: matmul/linear: the inputs are cast to bfloat16/float16 tensors and the bf16/f16
//         tensor-core GEMM (mma.sync, fp32 accumulate, output rounded once) runs (linear's bias is
//         then added by the bf16 addBiasAct: a second rounding, where js rounds once); the output is
//         cast back to float32. conv2d (float32 only on cuda): as on js, with the rounding done by
//         device cast pairs. Unverified until a GPU runs it (see the README's CUDA status).
//   js:   the js backend stores no 2-byte floats, so inputs are float32 tensors holding the
//         values rounded to nearest even (round.ts), the float32 kernel computes (the products of
//         two low-precision values are exact in float32: fp32 accumulation), and the output is
//         rounded once: the values torch's casts and a bf16 GEMM with fp32 accumulation give.
// Either way a listed op returns float32 holding low-precision values (torch returns a bf16
// tensor; wattgrad's other kernels have no bf16 path on either backend, so the output widens, which
// is exact, and the next op sees the values torch's float32-list op would). Memory is therefore
// not halved here; the arithmetic and its rounding are torch's.
// float64 inputs are not eligible (torch: autocast leaves float64 alone): the op runs unchanged.

import { cast } from '../ops/elementwise.js';
import { checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';
import { roundTo } from './round.js';
import { autocastFrame, popFrame, pushFrame, withoutAutocast, type AutocastDType, type AutocastFrame } from './state.js';

export type { AutocastDType } from './state.js';

/** Ops that compute in the region's low dtype (torch's lower_precision_fp list, the ops wattgrad has). */
export const AUTOCAST_LOWER_PRECISION_OPS: readonly string[] = [
  'matmul',
  'linear', // also nn.Linear, and the input and recurrent projections of RNN/LSTM/GRU layers and cells
  'conv2d', // nn.Conv2d
];

/**
 * Ops torch autocasts to float32 (its fp32 list): here they receive float32 tensors (the listed ops
 * return float32) and compute in float32 unchanged. The gates of RNN cells (sigmoid/tanh) stay float32 too.
 */
export const AUTOCAST_FLOAT32_OPS: readonly string[] = [
  'softmax',
  'logSoftmax',
  'crossEntropy',
  'nllLoss',
  'mseLoss',
  'l1Loss',
  'binaryCrossEntropy',
  'bceWithLogits',
  'huberLoss',
  'klDiv',
  'layerNorm',
  'batchNorm',
  'sum',
  'mean',
  'norm',
  'logsumexp',
  'variance',
  'std',
];

export interface AutocastOptions {
  /** 'bfloat16' (default, like torch on CPU) or 'float16'; 'bf16' / 'f16' are accepted spellings */
  dtype?: AutocastDType | 'bf16' | 'f16';
  /** false runs the region without casting (and turns an enclosing region off inside it) */
  enabled?: boolean;
}

export function autocastDType(where: string, d: unknown): AutocastDType {
  if (d === undefined || d === 'bfloat16' || d === 'bf16') return 'bfloat16';
  if (d === 'float16' || d === 'f16') return 'float16';
  throw new RangeError(`${where}: dtype must be 'bfloat16' (bf16) or 'float16' (f16), got ${JSON.stringify(d)}`);
}

function frameOf(where: string, o: AutocastOptions | undefined): AutocastFrame {
  if (o === undefined || o === null) o = {};
  if (typeof o !== 'object') throw new TypeError(`${where}: options must be an object like { dtype: 'bfloat16' }, got ${typeof o}`);
  checkOptions(where, o, ['dtype', 'enabled']);
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean')
    throw new TypeError(`${where}: enabled must be a boolean, got ${typeof o.enabled}`);
  return { dtype: autocastDType(where, o.dtype), enabled: o.enabled ?? true };
}

/** Ops a non-js backend runs on bfloat16/float16 tensors (its GEMM); the others compute in float32 on rounded values. */
const NATIVE_LOW_OPS = new Set(['matmul', 'linear']);

/** The cast-compute-cast of one listed op; installed into state.ts when a region is entered. */
function castOp(op: string, inputs: (Tensor | null | undefined)[], run: (...xs: (Tensor | null)[]) => Tensor): Tensor {
  const low = autocastFrame()!.dtype;
  const present = inputs.filter((t): t is Tensor => !!t);
  const eligible = present.every((t) => t.dtype === 'float32' || t.dtype === low);
  if (!eligible || !present.some((t) => t.dtype === 'float32')) return withoutAutocast(() => run(...inputs.map((t) => t ?? null)));
  // real 2-byte tensors where the backend has the op in bf16/f16 (cuda matmul/linear: the tensor-core
  // GEMM); else (js, and cuda conv2d, which is float32 only) float32 holding rounded values
  const emulate = present[0]!.backend.name === 'js' || !NATIVE_LOW_OPS.has(op);
  const made: Tensor[] = [];
  const xs = inputs.map((t) => {
    if (!t) return null;
    if (emulate) {
      const r = roundTo(t, low);
      made.push(r);
      return r;
    }
    if (t.dtype === low) return t;
    const c = cast(t, low);
    made.push(c);
    return c;
  });
  const y = withoutAutocast(() => run(...xs));
  const out = emulate ? roundTo(y, low) : cast(y, 'float32');
  // the graph holds what backward needs (saved copies, node edges): the intermediates can go
  y.dispose();
  for (const t of made) t.dispose();
  return out;
}

/**
 * Runs fn inside an autocast region (torch.autocast as a context manager). fn must be synchronous:
 * the region is module state, so awaiting inside it would let other code run under it.
 */
export function autocast<T>(o: AutocastOptions, fn: () => T): T;
export function autocast<T>(fn: () => T): T;
export function autocast<T>(a: AutocastOptions | (() => T), b?: () => T): T {
  const [o, fn] = typeof a === 'function' ? [{}, a] : [a, b];
  if (typeof fn !== 'function') throw new TypeError('autocast: expected autocast(options, fn) or autocast(fn), with fn a function');
  const f = frameOf('autocast', o);
  pushFrame(f, castOp);
  let r: T;
  try {
    r = fn();
  } finally {
    popFrame(f);
  }
  if (r && typeof (r as { then?: unknown }).then === 'function')
    throw new TypeError(
      'autocast: fn returned a Promise; a region is synchronous (run the forward and loss inside it and await outside, or use new Autocast(o).enter() / exit())',
    );
  return r;
}

/** A region entered and exited explicitly (torch.autocast's __enter__/__exit__); exits nest in reverse order. */
export class Autocast {
  private readonly frame: AutocastFrame;
  private entered = false;
  constructor(o: AutocastOptions = {}) {
    this.frame = frameOf('Autocast', o);
  }
  get dtype(): AutocastDType {
    return this.frame.dtype;
  }
  get enabled(): boolean {
    return this.frame.enabled;
  }
  enter(): this {
    if (this.entered) throw new Error('Autocast.enter: this region is already entered (exit() it first, or make another)');
    pushFrame(this.frame, castOp);
    this.entered = true;
    return this;
  }
  exit(): void {
    if (!this.entered) throw new Error('Autocast.exit: this region was not entered');
    popFrame(this.frame);
    this.entered = false;
  }
}

/** true inside an enabled autocast region (torch.is_autocast_enabled). */
export function isAutocastEnabled(): boolean {
  return autocastFrame()?.enabled ?? false;
}

/** The innermost region's dtype, or null outside any (torch.get_autocast_dtype). */
export function getAutocastDType(): AutocastDType | null {
  return autocastFrame()?.dtype ?? null;
}
