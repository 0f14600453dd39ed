// The addon's CPU kernels (native/cpu/) behind the js backend: same 'cpu' device, same tensors.
// When the addon is loaded and carries them, the js backend's matmul kernel calls the native
// one on the handles' own typed arrays (zero copy); otherwise, or with WATTGRAD_CPU_KERNELS=js,
// the pure-JS kernel runs, exactly as without an addon. The addon is looked up lazily, at the
// first kernel call that could use it, so importing wattgrad still loads nothing native.
//
// Threads: the addon's pool (physical cores by default, WATTGRAD_NUM_THREADS at load,
// setNumThreads at run time). The pure-JS kernels always run on the calling thread.

import type { CpuInfo, CpuKernelBinding, CpuRuntimeBinding } from '../../../binding.js';
import type { KernelFns } from '../kernels.js';
import { loadNative } from '../../native.js';
import { farrOf, floatDType } from './handle.js';
import { matmul as jsMatmul } from './matmul.js';

/** What `cpuInfo()` of the addon reports (binding.d.ts). */
export type NativeCpuInfo = CpuInfo;

/**
 * The addon's CPU entry points: the hand-written utilities (native/cpu/cpu_napi.cc) and the kernel
 * entry points generated from native/manifest/cpu/*.mjs (binding.d.ts, CpuKernelBinding).
 */
export type NativeCpuBinding = CpuRuntimeBinding & CpuKernelBinding;

let native: NativeCpuBinding | null | undefined;
let reason: string | null = null;

/** The addon's CPU kernels, or null (no addon, an addon without them, or WATTGRAD_CPU_KERNELS=js). */
export function nativeCpu(): NativeCpuBinding | null {
  if (native !== undefined) return native;
  const mode = process.env.WATTGRAD_CPU_KERNELS ?? '';
  if (mode !== '' && mode !== 'js' && mode !== 'native') {
    throw new RangeError(
      `WATTGRAD_CPU_KERNELS=${mode}: expected 'js' (pure-JS kernels) or 'native' (the addon's, the default when it is loaded)`,
    );
  }
  if (mode === 'js') {
    native = null;
    reason = 'WATTGRAD_CPU_KERNELS=js';
    return native;
  }
  const load = loadNative();
  const b = load.binding as unknown as Partial<NativeCpuBinding> | null;
  if (b && typeof b.cpuMatmul === 'function' && typeof b.cpuInfo === 'function') {
    native = b as NativeCpuBinding;
  } else {
    native = null;
    reason = b
      ? 'the loaded addon has no CPU kernels (rebuild it: npm run build:native)'
      : `native addon not loaded: ${load.error ?? 'unknown reason'}`;
  }
  return native;
}

/** For backends() and `wattgrad info`: which CPU kernels are native, the ISA and the threads. */
export interface CpuKernelsInfo {
  /** the kernels that run natively; empty when all run in JS */
  native: string[];
  /** the SIMD path the addon picked (avx512, avx2, sse2, generic), null without native kernels */
  isa: string | null;
  supportedIsas: string[];
  threads: number;
  /** why the CPU kernels are pure JS (null when native) */
  reason: string | null;
}

export function cpuKernelsInfo(): CpuKernelsInfo {
  const n = nativeCpu();
  if (!n) return { native: [], isa: null, supportedIsas: [], threads: 1, reason };
  const i = n.cpuInfo();
  return { native: i.kernels, isa: i.isa, supportedIsas: i.supportedIsas, threads: i.threads, reason: null };
}

/**
 * Sets the number of threads the native CPU kernels use (default: the physical cores, or
 * WATTGRAD_NUM_THREADS). The pure-JS kernels always use one; without native CPU kernels this
 * only checks n.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new RangeError(`setNumThreads: n must be an integer from 1 to 255, got ${n}`);
  nativeCpu()?.cpuSetNumThreads(n);
}

/** The number of threads the CPU kernels use: the addon's pool size, or 1 for the pure-JS kernels. */
export function getNumThreads(): number {
  return nativeCpu()?.cpuGetNumThreads() ?? 1;
}

/** Tests only: look the addon up again at the next call (after changing WATTGRAD_CPU_KERNELS). */
export function resetNativeCpuForTests(): void {
  native = undefined;
  reason = null;
}

/** The js backend's matmul kernel: native when available and the arrays allow it, else pure JS. */
export const matmul: KernelFns['matmul'] = (a, b, out, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, dtype) => {
  const nat = nativeCpu();
  if (nat) {
    floatDType(dtype, 'matmul');
    const A = farrOf(a, dtype, 'matmul'),
      B = farrOf(b, dtype, 'matmul'),
      C = farrOf(out, dtype, 'matmul');
    // the native kernel never reads out, so out must not share memory with an input (then: JS)
    if (A !== null && B !== null && C !== null && C.buffer !== A.buffer && C.buffer !== B.buffer) {
      nat.cpuMatmul(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride);
      return;
    }
  }
  jsMatmul(a, b, out, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, dtype);
};
