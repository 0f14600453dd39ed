// Helpers for the GPU integration tests in test/gpu/ (not a test file itself).
//
// describeCuda(name, fn) registers fn's tests under `${name} [cuda:0]` when the cuda backend is
// usable. Where it is not, the tests are collected but skipped; with WATTGRAD_REQUIRE_CUDA=1
// (scripts/gpu-check.sh sets it on the GPU machine) they are replaced by one failing test that
// states why cuda is unavailable, like describeBackends in test/util/backends.ts.
//
// fn runs at collection time even when the block is skipped: it may only register tests and
// hooks, and must not touch the device itself (do that inside it() / beforeAll()).
import { describe, expect, it } from 'vitest';
import { getBackend, memory } from '../../lib/index.js';
import type { CudaBackend } from '../../lib/backend/cuda/index.js';
import { suiteDevices } from '../util/backends.js';

/** The cuda device the GPU tests run on ('cuda:0'), or null; and why cuda is missing when it is required. */
export function cudaTarget(): { device: string | null; missing: string | null } {
  const { devices, missing } = suiteDevices();
  return { device: devices.find((d) => d.name === 'cuda')?.device ?? null, missing };
}

export function describeCuda(name: string, fn: (device: string) => void): void {
  const { device, missing } = cudaTarget();
  if (missing !== null) {
    describe(`${name} [cuda]`, () => {
      it('needs cuda (WATTGRAD_REQUIRE_CUDA=1)', () => {
        throw new Error(`WATTGRAD_REQUIRE_CUDA=1 but cuda is unavailable: ${missing}`);
      });
    });
    return;
  }
  describe.skipIf(device === null)(`${name} [${device ?? 'cuda unavailable'}]`, () => fn(device ?? 'cuda:0'));
}

/**
 * The cuda backend behind `device`, with its runtime half (memoryStats, setMemoryLimit,
 * emptyCache). The package root does not export these yet (see the report's API requests), so
 * the tests reach them through the registry; createCudaBackend spreads the runtime into the
 * backend object, so the cast holds at run time.
 */
export function cudaBackend(device: string): CudaBackend {
  const b = getBackend(device);
  if (b.name !== 'cuda' || typeof (b as Partial<CudaBackend>).setMemoryLimit !== 'function') {
    throw new Error(`${device}: expected the cuda backend with its runtime (memoryStats, setMemoryLimit), got ${b.name}`);
  }
  return b as CudaBackend;
}

/** The live-tensor count now; call the returned function to assert nothing leaked since. */
export function leakGuard(what: string): () => void {
  const before = memory().tensors;
  return () => expect(memory().tensors, `live tensors after ${what} (leak)`).toBe(before);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
