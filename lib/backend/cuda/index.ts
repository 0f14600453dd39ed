// The cuda backend: the runtime half (runtime.ts: memory, transfers, errors) plus the kernel
// table from the kernels part (kernels.ts: makeCudaKernels). `cudaAvailability` (availability.ts)
// combines the addon's load result with its device discovery into one answer and reason.

import type { Binding, KernelBinding } from '../../../binding.js';
import type { Backend, Kernels } from '../kernels.js';
import { CudaUnavailableError, toWattgradError } from './errors.js';
import { checkKernelEnums, makeCudaKernels } from './kernels.js';
import { createCudaRuntime, type CudaRuntime } from './runtime.js';

export { OutOfMemoryError, CudaError, CudaUnavailableError, DeviceIndexError, toWattgradError } from './errors.js';
export { createCudaRuntime, isCudaBuild } from './runtime.js';
export type { CudaRuntime } from './runtime.js';
export { cudaAvailability } from './availability.js';
export type { CudaAvailability } from './availability.js';

export interface CudaBackend extends Backend, Omit<CudaRuntime, 'device'> {
  readonly name: 'cuda';
}

/**
 * Each kernel call makes sure its device is current (only when several devices exist) and maps
 * the addon's coded errors (an OOM in a kernel's scratch memory, a CUDA error) to their classes.
 * try/catch costs nothing on the normal path.
 */
function guardKernels(kernels: Kernels, rt: CudaRuntime, multiDevice: boolean): Kernels {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(kernels) as [string, (...a: unknown[]) => unknown][]) {
    out[name] = multiDevice
      ? (...args: unknown[]) => {
          rt.activate();
          try {
            return fn(...args);
          } catch (e) {
            throw toWattgradError(e);
          }
        }
      : (...args: unknown[]) => {
          try {
            return fn(...args);
          } catch (e) {
            throw toWattgradError(e);
          }
        };
  }
  return out as Kernels;
}

/** The cuda backend for device `index` over a loaded addon. Throws CudaUnavailableError. */
export function createCudaBackend(binding: Binding, index = 0): CudaBackend {
  const rt = createCudaRuntime(binding, index);
  if (!binding.buildInfo.kernels) {
    throw new CudaUnavailableError('cuda unavailable: this build of the addon has no kernels (native/src/ops_*.cc were not compiled in)');
  }
  // The op/dtype codes are array indices shared by TS and C++: an addon built from other sources
  // would silently run the wrong op. Refuse it here, once, with both lists in the message.
  try {
    checkKernelEnums(binding as Binding & KernelBinding);
  } catch (e) {
    throw new CudaUnavailableError(
      `cuda unavailable: the native addon does not match this library (${e instanceof Error ? e.message : String(e)}); ` +
        'rebuild it with npm run build:native',
      { cause: e },
    );
  }
  const devices = binding.cudaStatus().devices.length;
  const kernels = guardKernels(makeCudaKernels(binding as Binding & KernelBinding), rt, devices > 1);
  return {
    ...rt,
    name: 'cuda',
    device: rt.device,
    kernels,
  };
}
