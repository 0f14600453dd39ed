// The memory and transfer half of the cuda backend: alloc/free/upload/read/readSync/synchronize/
// memory over the addon's runtime exports, with the addon's coded errors mapped to classes
// (OutOfMemoryError, CudaError, DeviceIndexError). index.ts adds the kernels.
//
// Handles are the addon's NativeBuffer objects themselves (they carry byteLength), so no JS
// object is made per allocation beyond the one the addon returns.

import type { AllocatorStats, Binding, NativeBuffer, RuntimeBinding } from '../../../binding.js';
import { bytesPerElement } from '../../dtype.js';
import type { Backend } from '../kernels.js';
import { CudaUnavailableError, toWattgradError } from './errors.js';

type Required2<T> = { [K in keyof T]-?: NonNullable<T[K]> };
/** The runtime exports a CUDA build has. */
export type CudaRuntimeBinding = Required2<RuntimeBinding>;

/** The storage half of a Backend (alloc/free/upload/read/readSync/synchronize/memory) plus the device controls. */
export interface CudaRuntime extends Omit<Backend, 'name' | 'kernels'> {
  readonly index: number;
  /** Full allocator statistics (allocCount, cacheHits, ...). */
  memoryStats(): AllocatorStats;
  /** Caps allocated + cached bytes (null removes the cap). Applies to every device. */
  setMemoryLimit(bytes: number | null): void;
  /** Frees cached blocks back to the device; returns the bytes freed. */
  emptyCache(): number;
  resetPeakMemory(): void;
  /** Makes this runtime's device current (a no-op when it already is). */
  activate(): void;
}

/** Whether the binding has the runtime exports of a CUDA build. */
export function isCudaBuild(b: Binding): b is Binding & CudaRuntimeBinding {
  return typeof b.alloc === 'function' && typeof b.readSync === 'function';
}

// The device the addon currently targets (module-wide: the addon has one current device per thread).
let activeDevice = -1;

function rethrow(e: unknown): never {
  throw toWattgradError(e);
}

export function createCudaRuntime(binding: Binding, index = 0): CudaRuntime {
  if (!isCudaBuild(binding)) {
    throw new CudaUnavailableError('cuda unavailable: built without CUDA');
  }
  const b = binding;
  const activate = (): void => {
    if (activeDevice === index) return;
    try {
      b.setDevice(index);
    } catch (e) {
      rethrow(e);
    }
    activeDevice = index;
  };
  activate();

  return {
    device: `cuda:${index}`,
    index,
    activate,
    alloc(numel, dtype) {
      activate();
      try {
        return b.alloc(numel * bytesPerElement(dtype));
      } catch (e) {
        return rethrow(e);
      }
    },
    free(h) {
      const buf = h as NativeBuffer;
      if (!buf.freed) b.free(buf);
    },
    upload(h, data, dtype) {
      activate();
      try {
        b.upload(h as NativeBuffer, data, dtype);
      } catch (e) {
        rethrow(e);
      }
    },
    async read(h, dtype, numel) {
      activate();
      try {
        return await b.read(h as NativeBuffer, numel, dtype);
      } catch (e) {
        return rethrow(e);
      }
    },
    readSync(h, dtype, numel) {
      activate();
      try {
        return b.readSync(h as NativeBuffer, numel, dtype);
      } catch (e) {
        return rethrow(e);
      }
    },
    synchronize() {
      activate();
      try {
        b.synchronize();
      } catch (e) {
        rethrow(e);
      }
    },
    memory() {
      activate();
      const s = b.memoryStats();
      return { allocated: s.allocated, peak: s.peak, cached: s.cached, limit: s.limit };
    },
    memoryStats() {
      activate();
      return b.memoryStats();
    },
    setMemoryLimit(bytes) {
      activate();
      b.setMemoryLimit(bytes);
    },
    emptyCache() {
      activate();
      return b.emptyCache();
    },
    resetPeakMemory() {
      activate();
      b.resetPeakMemory();
    },
  };
}
