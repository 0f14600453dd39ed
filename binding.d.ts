// The typed contract of what the native addon (wattgrad.node) exports.
// One name for one thing: kernel entry points carry the names of lib/backend/kernels.ts.
// Each section is owned by one part of native/: runtime (native/src/runtime.cc and friends),
// kernels (native/src/ops_*.cc), nvml (native/src/nvml.cc).

/**
 * Opaque device storage made by `alloc` (class NativeBuffer in native/src/storage.cc). It owns
 * (device, pointer, bytes); its finalizer returns the memory to the caching allocator's bins.
 * byteLength is the size class actually held (>= the bytes asked for).
 */
export interface NativeBuffer {
  readonly byteLength: number;
  /** the CUDA device index it lives on */
  readonly device: number;
  /** true after `free` */
  readonly freed: boolean;
  readonly __nativeBuffer: unique symbol;
}

// ---- runtime ---------------------------------------------------------------------------------
// native/src/{runtime,storage,transfer,allocator,addon}.cc. Errors thrown by the runtime carry a
// `code` (see RuntimeErrorCode); lib/backend/cuda/errors.ts maps them to classes.

export type RuntimeErrorCode =
  | 'WG_CUDA_UNAVAILABLE'   // no driver / device / kernel image: "cuda unavailable: <reason>"
  | 'WG_CUDA_ERROR'         // "wattgrad cuda <op>: <CUDA message> (<cudaErrorName>)"; has cudaError
  | 'WG_CUDA_STICKY'        // a sticky error: the context is unusable for the rest of the process
  | 'WG_CUDA_OOM'           // out of memory after emptying the cache and retrying once; has requestedBytes, memory
  | 'WG_INDEX_OUT_OF_RANGE';// the device error flag was set: "<op>: index out of range"

export interface CudaDeviceInfo {
  index: number;
  name?: string;
  /** bytes */
  totalMemory?: number;
  /** "9.0" */
  computeCapability?: string;
  multiProcessorCount?: number;
  /** whether this build carries kernels the device can run */
  usable: boolean;
  problem?: string;
}

/** Device discovery; never throws. */
export interface CudaStatusInfo {
  available: boolean;
  /** why not, without the "cuda unavailable: " prefix; null when available */
  reason: string | null;
  devices: CudaDeviceInfo[];
  /** cudaDriverGetVersion (e.g. 13000), null when no driver */
  driverVersion: number | null;
  /** cudaRuntimeGetVersion of the static runtime, null in a build without CUDA */
  runtimeVersion: number | null;
  /** archs compiled in, e.g. "75,80,86,89,90,90a,ptx90" ("" without CUDA) */
  compiledArchs: string;
  currentDevice?: number;
  /** the cudaError_t of a failed cudaGetDeviceCount */
  cudaError?: number;
}

/** What this binary carries. */
export interface BuildInfo {
  version: string;
  cuda: boolean;
  /** the kernels part (ops_*.cc) was linked in */
  kernels: boolean;
  /** the NVML part (nvml.cc) was linked in */
  nvml: boolean;
  cudaArchs: string;
  /** CUDART_VERSION compiled against, null without CUDA */
  cudaRuntime: number | null;
  napiVersion: number;
  buildType: 'Release' | 'Debug';
  compiler: string;
}

/** Caching-allocator statistics, bytes and counts. */
export interface AllocatorStats {
  /** bytes held by live blocks (size classes) */
  allocated: number;
  /** bytes asked for by live blocks */
  requested: number;
  /** high-water mark of allocated (resetPeakMemory) */
  peak: number;
  /** bytes of free blocks kept in the bins */
  cached: number;
  /** the cap on allocated + cached, null when none */
  limit: number | null;
  allocCount: number;
  /** allocations served from a bin with no raw allocation */
  cacheHits: number;
  rawAllocs: number;
  rawFrees: number;
  oomCount: number;
  /** times the cache was emptied to retry a failed raw allocation */
  retries: number;
  liveBlocks: number;
  cachedBlocks: number;
  /** device only: pinned staging held / cached, and whether cudaMallocAsync pools are used */
  pinnedAllocated?: number;
  pinnedCached?: number;
  streamOrderedPool?: boolean;
}

/** The allocator's bookkeeping over malloc with a simulated capacity: the GPU-free test mode. */
export interface HostAllocator {
  /** throws an Error with code WG_CUDA_OOM (and overLimit) like the device path */
  alloc(bytes: number): { id: number; size: number; retried: boolean };
  /** false when id is not a live block */
  free(id: number): boolean;
  stats(): AllocatorStats;
  setLimit(bytes: number | null): void;
  /** frees cached blocks until cached <= target (default 0); returns bytes freed */
  trim(target?: number): number;
  emptyCache(): number;
  /** the next n raw allocations fail as out of memory */
  failNext(n?: number): void;
  rawState(): { inUse: number; capacity: number; releases: number };
}

export type HostDataArray = Float32Array | Float64Array | Int32Array | Uint16Array | Uint8Array;
export type RuntimeDType = 'float32' | 'float64' | 'int32' | 'bfloat16' | 'float16';

export interface RuntimeBinding {
  readonly buildInfo: BuildInfo;
  cudaStatus(): CudaStatusInfo;
  /** host test mode of the caching allocator (every build) */
  HostAllocator: new (opts?: { capacity?: number }) => HostAllocator;
  /** the size class a request of `bytes` is rounded to */
  roundSize(bytes: number): number;
  /** "2GiB" / "512MiB" / "1.5GB" / "4096" -> bytes; null when malformed */
  parseByteSize(text: string): number | null;

  // ---- CUDA builds only (absent without CUDA) ----
  /** device storage on the current device; throws WG_CUDA_OOM / WG_CUDA_UNAVAILABLE */
  alloc?(bytes: number): NativeBuffer;
  /** returns the storage to the allocator now; a second free throws */
  free?(buf: NativeBuffer): void;
  /** copies host data in (stream-ordered, through pinned staging); float32 data fills bfloat16/float16 storage converted; Uint8Array is raw bytes */
  upload?(buf: NativeBuffer, data: HostDataArray, dtype: RuntimeDType): void;
  /** resolves with the first numel elements (float32 for bfloat16/float16) without blocking the event loop */
  read?(buf: NativeBuffer, numel: number, dtype: RuntimeDType): Promise<Float32Array | Float64Array | Int32Array>;
  readSync?(buf: NativeBuffer, numel: number, dtype: RuntimeDType): Float32Array | Float64Array | Int32Array;
  /** waits for the stream; raises the device error flag */
  synchronize?(): void;
  memoryStats?(): AllocatorStats;
  /** caps allocated + cached on every device (null: no cap); WATTGRAD_CUDA_MEMORY_LIMIT sets the initial cap */
  setMemoryLimit?(bytes: number | null): void;
  /** frees the cached blocks (and trims the pool); returns bytes freed */
  emptyCache?(): number;
  resetPeakMemory?(): void;
  setDevice?(index: number): void;
  getDevice?(): number;
}

// ---- kernels (present only when built with CUDA) ---------------------------------------------
export interface KernelBinding {
  // filled in by the kernels part
}

// ---- nvml --------------------------------------------------------------------------------------
// native/src/nvml.cc: NVML opened with dlopen("libnvidia-ml.so.1") at run time; never throws on load.

/** Whether NVML could be loaded and initialised (loading happens on the first nvml* call). */
export interface NvmlStatus {
  available: boolean;
  /** short reason when unavailable, e.g. "libnvidia-ml.so.1 not found" or "nvmlInit_v2 failed" */
  error: string | null;
  /** dlerror() / nvmlErrorString() text behind `error` */
  detail: string | null;
  /** the library name dlopen succeeded with (WATTGRAD_NVML_PATH, libnvidia-ml.so.1 or libnvidia-ml.so) */
  library: string | null;
}

export interface NvmlDeviceInfo {
  /** NVML index (the order of nvmlDeviceGetHandleByIndex_v2, PCI bus order, not CUDA_VISIBLE_DEVICES) */
  index: number;
  name: string;
  /** nvmlDeviceGetEnforcedPowerLimit, mW; null when not readable */
  powerLimitMw: number | null;
  /** whether nvmlDeviceGetTotalEnergyConsumption works (Volta and newer) */
  energyCounter: boolean;
  /** why the energy counter does not work (nvmlErrorString), null when it does */
  energyError: string | null;
}

/** Power samples [from, next) of a sampler; times on the nvmlNowMs() clock. */
export interface NvmlPowerSeries {
  timesMs: Float64Array;
  watts: Float64Array;
  /** failed nvmlDeviceGetPowerUsage calls so far, and the last failure's text */
  errors: number;
  lastError: string | null;
  /** index to pass as `from` on the next read */
  next: number;
}

/** Thrown by nvmlEnergyMj / nvmlPowerMw when NVML returns an error (3 = NVML_ERROR_NOT_SUPPORTED). */
export interface NvmlError extends Error {
  nvmlCode?: number;
}

export interface NvmlBinding {
  nvmlStatus(): NvmlStatus;
  /** throws when NVML is unavailable */
  nvmlDevices(): NvmlDeviceInfo[];
  /** total energy since the driver loaded, mJ; throws NvmlError */
  nvmlEnergyMj(index: number): number;
  /** current board power, mW; throws NvmlError */
  nvmlPowerMw(index: number): number;
  /** monotonic clock (ms, steady_clock) used to stamp power samples */
  nvmlNowMs(): number;
  /** starts a native thread sampling nvmlDeviceGetPowerUsage every periodMs (>= 1); returns its id */
  nvmlStartSampling(index: number, periodMs: number): number;
  /** samples taken so far from index `from` (default 0); the sampler keeps running */
  nvmlReadSampling(id: number, from?: number): NvmlPowerSeries;
  /** stops and joins the sampler, returning samples from `from`; the id is dead afterwards */
  nvmlStopSampling(id: number, from?: number): NvmlPowerSeries;
}

export type Binding = RuntimeBinding & NvmlBinding & Partial<KernelBinding>;
