// wg.cuda: the CUDA device controls a PyTorch user looks for in torch.cuda — availability, the
// allocator's cap and cache, its statistics, and the TF32 switch for matmul.

import type { AllocatorStats } from '../binding.js';
import type { CudaBackend } from './backend/cuda/index.js';
import { setAllowTf32 as setTf32 } from './backend/cuda/kernels.js';
import { getBackend } from './backend/registry.js';
import { cudaStatus } from './backend/cuda-loader.js';
import { loadNative } from './native.js';

/** true when the addon loaded and found a usable GPU. */
export function isAvailable(): boolean {
  return cudaStatus().available;
}

/** Why cuda is unavailable, or null when it is available. */
export function unavailableReason(): string | null {
  return cudaStatus().reason;
}

/** Number of usable CUDA devices (0 without a GPU). */
export function deviceCount(): number {
  return cudaStatus().devices.length;
}

function backend(device: string): CudaBackend {
  if (!device.startsWith('cuda')) throw new RangeError(`wg.cuda: '${device}' is not a cuda device`);
  return getBackend(device) as CudaBackend; // throws 'cuda unavailable: <reason>'
}

/**
 * Caps the bytes the allocator may hold on a device (live + cached), or removes the cap (null).
 * An allocation past the cap raises OutOfMemoryError after the cache is emptied and retried.
 * The env var WATTGRAD_CUDA_MEMORY_LIMIT ('2GiB', bytes) sets the cap at start-up.
 */
export function setMemoryLimit(bytes: number | null, device = 'cuda:0'): void {
  if (bytes !== null && !(Number.isFinite(bytes) && bytes >= 0))
    throw new RangeError(`wg.cuda.setMemoryLimit: bytes must be a non-negative number or null, got ${bytes}`);
  backend(device).setMemoryLimit(bytes);
}

/** Returns cached, unused device memory to the driver; returns the bytes released. */
export function emptyCache(device = 'cuda:0'): number {
  return backend(device).emptyCache();
}

/** The allocator's statistics for a device: allocated, peak, cached, limit, counts. */
export function memoryStats(device = 'cuda:0'): AllocatorStats {
  return backend(device).memoryStats();
}

/** Allows TF32 tensor cores for float32 matmul (like torch.backends.cuda.matmul.allow_tf32). Off by default. */
export function setAllowTf32(allow: boolean): void {
  const b = loadNative().binding;
  if (!b || !isAvailable()) throw new Error(`cuda unavailable: ${unavailableReason() ?? 'native addon not loaded'}`);
  setTf32(b as Parameters<typeof setTf32>[0], allow);
}

/** Waits for all queued work on a device. */
export function synchronize(device = 'cuda:0'): void {
  backend(device).synchronize();
}
