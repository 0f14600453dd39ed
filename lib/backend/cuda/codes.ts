// Codes and argument packing of the cuda kernel table (lib/backend/cuda/kernels.gen.ts, generated
// from native/manifest/cuda/*.mjs by scripts/gen-boundary.mjs, calls these). Names, dtypes and ops
// become small integer codes; shapes and conv/pool parameters are packed into module-level
// Float64Arrays that the addon reads during the call (calls are synchronous, so one scratch array
// per kind is enough). No per-call allocation.
//
// The code tables below must match native/kernels/kernels.h; `checkKernelEnums` (kernels.ts)
// compares them with the addon's own lists (the parity test calls it).

import type { KernelBinding, NativeBuffer } from '../../../binding.js';
import type { DType } from '../../dtype.js';
import type { Activation, ArgReduceOp, BinaryOp, Conv2dParams, Handle, Pool2dParams, ReduceOp, UnaryGradOp, UnaryOp } from '../kernels.js';

export const DTYPE_NAMES = ['float32', 'float64', 'int32', 'bfloat16', 'float16'] as const;
export const UNARY_NAMES = [
  'neg',
  'abs',
  'sign',
  'exp',
  'expm1',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'sin',
  'cos',
  'floor',
  'ceil',
  'round',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'gelu_tanh',
  'silu',
  'softplus',
  'leaky_relu',
  'elu',
  'clamp',
  'add_scalar',
  'mul_scalar',
  'rsub_scalar',
  'rdiv_scalar',
  'pow_scalar',
  'rpow_scalar',
  'gt_scalar',
  'lt_scalar',
  'ge_scalar',
  'le_scalar',
  'eq_scalar',
  'ne_scalar',
] as const satisfies readonly UnaryOp[];
export const UNARY_GRAD_NAMES = [
  'relu',
  'gelu',
  'gelu_tanh',
  'silu',
  'tanh',
  'sigmoid',
  'softplus',
  'leaky_relu',
  'elu',
  'clamp',
  'abs',
] as const satisfies readonly UnaryGradOp[];
export const BINARY_NAMES = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
] as const satisfies readonly BinaryOp[];
export const REDUCE_NAMES = ['sum', 'max', 'min', 'prod'] as const satisfies readonly ReduceOp[];
export const ARG_REDUCE_NAMES = ['argmax', 'argmin'] as const satisfies readonly ArgReduceOp[];
export const ACTIVATION_NAMES = ['none', 'relu', 'gelu', 'tanh', 'sigmoid'] as const satisfies readonly Activation[];

function codes<T extends string>(names: readonly T[]): Record<T, number> {
  const out = {} as Record<T, number>;
  names.forEach((n, i) => {
    out[n] = i;
  });
  return out;
}

export const DT = codes<DType>(DTYPE_NAMES);
export const UN = codes<UnaryOp>(UNARY_NAMES);
export const UG = codes<UnaryGradOp>(UNARY_GRAD_NAMES);
export const BI = codes<BinaryOp>(BINARY_NAMES);
export const RE = codes<ReduceOp>(REDUCE_NAMES);
export const AR = codes<ArgReduceOp>(ARG_REDUCE_NAMES);
export const AC = codes<Activation>(ACTIVATION_NAMES);

const MAX_DIMS = 8;
export const dimsScratch = new Float64Array(MAX_DIMS * 4);
const convScratch = new Float64Array(16);
const poolScratch = new Float64Array(15);

function rankCheck(kernel: string, n: number): void {
  if (n > MAX_DIMS) throw new RangeError(`${kernel}: rank ${n} exceeds ${MAX_DIMS} dims on cuda`);
}

export function packConv(p: Conv2dParams): Float64Array {
  const s = convScratch;
  s[0] = p.batch;
  s[1] = p.inC;
  s[2] = p.inH;
  s[3] = p.inW;
  s[4] = p.outC;
  s[5] = p.kH;
  s[6] = p.kW;
  s[7] = p.outH;
  s[8] = p.outW;
  s[9] = p.strideH;
  s[10] = p.strideW;
  s[11] = p.padH;
  s[12] = p.padW;
  s[13] = p.dilationH;
  s[14] = p.dilationW;
  s[15] = p.groups;
  return s;
}

export function packPool(p: Pool2dParams): Float64Array {
  const s = poolScratch;
  s[0] = p.batch;
  s[1] = p.channels;
  s[2] = p.inH;
  s[3] = p.inW;
  s[4] = p.outH;
  s[5] = p.outW;
  s[6] = p.kH;
  s[7] = p.kW;
  s[8] = p.strideH;
  s[9] = p.strideW;
  s[10] = p.padH;
  s[11] = p.padW;
  s[12] = p.dilationH;
  s[13] = p.dilationW;
  s[14] = p.countIncludePad ? 1 : 0;
  return s;
}

// Handles of the cuda backend are the addon's NativeBuffers; the casts cost nothing at run time.
export const B = (h: Handle): NativeBuffer => h as NativeBuffer;
export const Bn = (h: Handle | null): NativeBuffer | null => h as NativeBuffer | null;
export const Bl = (hs: Handle[]): NativeBuffer[] => hs as NativeBuffer[];

/** An entry point added after the first kernel set: an addon built before it lacks it (say so, not "undefined is not a function"). */
export function need<N extends keyof KernelBinding>(k: KernelBinding, name: N): KernelBinding[N] {
  const f = k[name];
  if (typeof f !== 'function')
    throw new Error(`cuda backend: this build of the addon has no '${name}' kernel; rebuild it (npm run build:native)`);
  return f;
}

/** A nullable list of handles. */
export const Bln = (hs: Handle[] | null): NativeBuffer[] | null => hs as NativeBuffer[] | null;

/** dims = [shape, strides of operand 0, strides of operand 1] into dimsScratch; returns the rank. */
export function packDims2(kernel: string, shape: number[], s0: number[], s1: number[]): number {
  const nd = shape.length;
  rankCheck(kernel, nd);
  const d = dimsScratch;
  for (let i = 0; i < nd; i++) {
    d[i] = shape[i]!;
    d[nd + i] = s0[i]!;
    d[2 * nd + i] = s1[i]!;
  }
  return nd;
}

/** dims = [shape, strides of operands 0, 1, 2] into dimsScratch; returns the rank. */
export function packDims3(kernel: string, shape: number[], s0: number[], s1: number[], s2: number[]): number {
  const nd = packDims2(kernel, shape, s0, s1);
  for (let i = 0; i < nd; i++) dimsScratch[3 * nd + i] = s2[i]!;
  return nd;
}
