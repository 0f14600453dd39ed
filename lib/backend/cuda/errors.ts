// The JS classes of the native runtime's errors. The addon throws plain Errors with a `code`
// (binding.d.ts RuntimeErrorCode); `toWattgradError` turns them into these classes, which the
// tensor layer re-exports. Messages are kept as the addon wrote them (they name the op, the bytes
// asked and the pool state).

import type { AllocatorStats } from '../../../binding.js';

/** A device allocation failed even after emptying the cache and retrying once (or passed the cap). */
export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
  readonly code = 'WG_CUDA_OOM';
  /** bytes asked for */
  readonly requestedBytes: number;
  /** the allocator's state when it failed */
  readonly memory: AllocatorStats | null;
  constructor(message: string, requestedBytes: number, memory: AllocatorStats | null, options?: { cause?: unknown }) {
    super(message, options);
    this.requestedBytes = requestedBytes;
    this.memory = memory;
  }
}

/** A CUDA call failed. `sticky`: the context is unusable for the rest of the process. */
export class CudaError extends Error {
  override readonly name = 'CudaError';
  readonly code: 'WG_CUDA_ERROR' | 'WG_CUDA_STICKY';
  readonly sticky: boolean;
  /** the cudaError_t value when known */
  readonly cudaError: number | null;
  constructor(message: string, sticky: boolean, cudaError: number | null, options?: { cause?: unknown }) {
    super(message, options);
    this.sticky = sticky;
    this.code = sticky ? 'WG_CUDA_STICKY' : 'WG_CUDA_ERROR';
    this.cudaError = cudaError;
  }
}

/** No usable CUDA device: "cuda unavailable: <reason>". */
export class CudaUnavailableError extends Error {
  override readonly name = 'CudaUnavailableError';
  readonly code = 'WG_CUDA_UNAVAILABLE';
}

/** A kernel found a bad index (the device error flag), raised at the next synchronisation.
 *  A RangeError like the js backend's. */
export class DeviceIndexError extends RangeError {
  override readonly name = 'DeviceIndexError';
  readonly code = 'WG_INDEX_OUT_OF_RANGE';
}

/** Maps an error thrown by the addon to its class; anything else is returned unchanged. */
export function toWattgradError(e: unknown): unknown {
  if (
    !(e instanceof Error) ||
    e instanceof OutOfMemoryError ||
    e instanceof CudaError ||
    e instanceof CudaUnavailableError ||
    e instanceof DeviceIndexError
  )
    return e;
  const x = e as Error & { code?: unknown; requestedBytes?: unknown; memory?: unknown; cudaError?: unknown };
  let mapped: Error;
  switch (x.code) {
    case 'WG_CUDA_OOM':
      mapped = new OutOfMemoryError(
        x.message,
        typeof x.requestedBytes === 'number' ? x.requestedBytes : NaN,
        (x.memory as AllocatorStats | undefined) ?? null,
        { cause: e },
      );
      break;
    case 'WG_CUDA_ERROR':
    case 'WG_CUDA_STICKY':
      mapped = new CudaError(x.message, x.code === 'WG_CUDA_STICKY', typeof x.cudaError === 'number' ? x.cudaError : null, { cause: e });
      break;
    case 'WG_CUDA_UNAVAILABLE':
      mapped = new CudaUnavailableError(x.message, { cause: e });
      break;
    case 'WG_INDEX_OUT_OF_RANGE':
      mapped = new DeviceIndexError(x.message, { cause: e });
      break;
    default:
      return e;
  }
  if (e.stack) mapped.stack = `${mapped.name}: ${x.message}\n${e.stack.split('\n').slice(1).join('\n')}`;
  return mapped;
}
