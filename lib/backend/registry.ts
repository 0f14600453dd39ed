// Which backend serves which device. 'cpu' is the js backend, always there; 'cuda' / 'cuda:N' is
// the native addon's, created on first use when the addon loaded and found a GPU.

import type { Backend, BackendName } from './kernels.js';
import { createJsBackend } from './js/index.js';
import { setBackendLister } from '../memory.js';
import { cudaBackendFor, cudaStatus } from './cuda-loader.js';
import { cpuKernelsInfo, type CpuKernelsInfo } from './js/native-cpu.js';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const js = createJsBackend();
const created: Backend[] = [js];
setBackendLister(() => created);

let defaultDevice = 'cpu';

/** Normalises a device name: 'cuda' → 'cuda:0'. Throws on anything else. */
export function normalizeDevice(device: string): string {
  if (device === 'cpu' || device === 'js') return 'cpu';
  if (device === 'cuda') return 'cuda:0';
  if (/^cuda:\d+$/.test(device)) return device;
  throw new RangeError(`unknown device '${device}' (expected 'cpu', 'cuda' or 'cuda:N')`);
}

/** The backend for a device; throws 'cuda unavailable: <reason>' when there is none. */
export function getBackend(device: string = defaultDevice): Backend {
  const d = normalizeDevice(device);
  if (d === 'cpu') return js;
  const existing = created.find((b) => b.device === d);
  if (existing) return existing;
  const b = cudaBackendFor(d);
  created.push(b);
  return b;
}

/** Sets the device that creation functions use when none is given. */
export function setDefaultDevice(device: string): void {
  const d = normalizeDevice(device);
  getBackend(d); // fail now, not at first use
  defaultDevice = d;
}

export function getDefaultDevice(): string {
  return defaultDevice;
}

export interface BackendInfo {
  name: BackendName;
  available: boolean;
  devices: string[];
  /** why the backend is unavailable */
  reason: string | null;
  /** the addon file that was loaded (cuda) */
  path?: string | null;
  /** js (the cpu device): which kernels run natively in the addon, the ISA it picked, its threads */
  cpuKernels?: CpuKernelsInfo;
}

/** The backends this process can use, and why cuda is not available when it is not. */
export function backends(): BackendInfo[] {
  const c = cudaStatus();
  return [
    { name: 'js', available: true, devices: ['cpu'], reason: null, cpuKernels: cpuKernelsInfo() },
    { name: 'cuda', available: c.available, devices: c.devices, reason: c.reason, path: c.path },
  ];
}

/** Waits for all queued work on every backend in use. */
export function synchronize(): void {
  for (const b of created) b.synchronize();
}
