// Whether the cuda backend can run here, and why not: the addon's load result combined with its
// device discovery (cudaStatus) and what the build carries. Never throws. Kept apart from
// index.ts so it loads without the kernel table.

import type { Binding, BuildInfo, CudaDeviceInfo } from '../../../binding.js';
import { loadNative } from '../../native.js';
import { isCudaBuild } from './runtime.js';

export interface CudaAvailability {
  available: boolean;
  /** why not ("" when available), e.g. "no NVIDIA driver found (libcuda.so.1 could not be loaded)" */
  reason: string;
  devices: CudaDeviceInfo[];
  driverVersion: number | null;
  runtimeVersion: number | null;
  /** the addon file loaded, or null */
  path: string | null;
  buildInfo: BuildInfo | null;
}

/** Whether the cuda backend can run here, and why not. Never throws. */
export function cudaAvailability(binding?: Binding | null): CudaAvailability {
  const native = binding === undefined ? loadNative() : { binding, path: null, error: binding ? null : 'native addon not loaded' };
  const none = { devices: [], driverVersion: null, runtimeVersion: null, path: native.path, buildInfo: native.binding?.buildInfo ?? null };
  if (!native.binding) {
    return { available: false, reason: `native addon not loaded: ${native.error ?? 'unknown reason'}`, ...none };
  }
  const b = native.binding;
  let st;
  try {
    st = b.cudaStatus();
  } catch (e) {
    return { available: false, reason: `cudaStatus failed: ${e instanceof Error ? e.message : String(e)}`, ...none };
  }
  const base = {
    devices: st.devices,
    driverVersion: st.driverVersion,
    runtimeVersion: st.runtimeVersion,
    path: native.path,
    buildInfo: b.buildInfo,
  };
  if (!st.available) return { available: false, reason: st.reason ?? 'unknown reason', ...base };
  if (!isCudaBuild(b)) return { available: false, reason: 'built without CUDA', ...base };
  if (b.buildInfo && !b.buildInfo.kernels) {
    return { available: false, reason: 'this build of the addon has no kernels (native/src/ops_*.cc were not compiled in)', ...base };
  }
  return { available: true, reason: '', ...base };
}
