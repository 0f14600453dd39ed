// Adapter between the registry and the native side: loads the addon once, says whether cuda is
// usable and why not, and builds the cuda backend for a device.
// (The loader and the cuda backend live in lib/native.ts and lib/backend/cuda/.)

import type { Backend } from './kernels.js';
import { loadNative, warnNativeOnce } from '../native.js';
import { createCudaBackend, cudaAvailability } from './cuda/index.js';

export interface CudaStatus {
  available: boolean;
  reason: string | null;
  devices: string[];
  path: string | null;
}

/** Whether cuda is usable, and why not. The first call prints the process's one fallback warning (lib/native.ts). */
export function cudaStatus(): CudaStatus {
  const native = loadNative();
  warnNativeOnce();
  if (!native.binding) {
    return { available: false, reason: `native addon not loaded: ${native.error ?? 'unknown reason'}`, devices: [], path: null };
  }
  const a = cudaAvailability(native.binding);
  return {
    available: a.available,
    reason: a.available ? null : a.reason,
    devices: a.devices.map((d) => `cuda:${d.index}`),
    path: native.path,
  };
}

export function cudaBackendFor(device: string): Backend {
  const st = cudaStatus();
  if (!st.available) throw new Error(`cuda unavailable: ${st.reason}`);
  if (!st.devices.includes(device)) throw new RangeError(`${device}: no such device (found ${st.devices.join(', ') || 'none'})`);
  const native = loadNative();
  return createCudaBackend(native.binding!, Number(device.slice(5)));
}
