// The cuda kernel table: a thin layer over the addon's kernel entry points (binding.d.ts,
// KernelBinding). The table itself is generated from native/manifest/cuda/*.mjs
// (lib/backend/cuda/kernels.gen.ts, scripts/gen-boundary.mjs); the codes and argument packing it
// uses live in codes.ts.
//
// The code tables must match native/kernels/kernels.h; `checkKernelEnums` compares them with the
// addon's own lists (the parity test calls it).

import type { KernelBinding, KernelEnums } from '../../../binding.js';
import type { Kernels } from '../kernels.js';
import { ACTIVATION_NAMES, ARG_REDUCE_NAMES, BINARY_NAMES, DTYPE_NAMES, REDUCE_NAMES, UNARY_GRAD_NAMES, UNARY_NAMES } from './codes.js';
import { cudaKernelTable } from './kernels.gen.js';

export { ACTIVATION_NAMES, ARG_REDUCE_NAMES, BINARY_NAMES, DTYPE_NAMES, REDUCE_NAMES, UNARY_GRAD_NAMES, UNARY_NAMES };

/** The lists the TS side uses, in code order (compare with binding.kernelEnums()). */
export const TS_KERNEL_ENUMS: KernelEnums = {
  dtypes: [...DTYPE_NAMES],
  unary: [...UNARY_NAMES],
  unaryGrad: [...UNARY_GRAD_NAMES],
  binary: [...BINARY_NAMES],
  reduce: [...REDUCE_NAMES],
  argReduce: [...ARG_REDUCE_NAMES],
  activation: [...ACTIVATION_NAMES],
};

/** Throws when the addon's code tables differ from these (a build of another version). */
export function checkKernelEnums(binding: KernelBinding): void {
  const native = binding.kernelEnums();
  for (const key of Object.keys(TS_KERNEL_ENUMS) as (keyof KernelEnums)[]) {
    const a = TS_KERNEL_ENUMS[key].join(','),
      b = (native[key] ?? []).join(',');
    if (a !== b) throw new Error(`cuda kernels: ${key} codes differ between TS (${a}) and the addon (${b})`);
  }
}

/** Whether the addon carries every kernel entry point (a CUDA build with ops_*.cc linked in). */
export function hasCudaKernels(binding: Partial<KernelBinding>): binding is KernelBinding {
  return typeof binding.matmul === 'function' && typeof binding.adamStep === 'function' && typeof binding.kernelEnums === 'function';
}

/**
 * The Kernels table of the cuda backend over the addon's kernel exports. Takes the addon's
 * Binding (kernels are Partial there); throws when this build has no kernels.
 */
export function makeCudaKernels(binding: Partial<KernelBinding>): Kernels {
  if (!hasCudaKernels(binding)) throw new Error('cuda kernels: this build of the addon has no kernel entry points');
  return cudaKernelTable(binding);
}

/** torch.backends.cuda.matmul.allow_tf32 for this addon (float32 matmul on TF32 tensor cores). */
export function setAllowTf32(binding: KernelBinding, allow: boolean): void {
  binding.setAllowTf32(allow);
}
