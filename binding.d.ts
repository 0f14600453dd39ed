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
  | 'WG_CUDA_UNAVAILABLE' // no driver / device / kernel image: "cuda unavailable: <reason>"
  | 'WG_CUDA_ERROR' // "wattgrad cuda <op>: <CUDA message> (<cudaErrorName>)"; has cudaError
  | 'WG_CUDA_STICKY' // a sticky error: the context is unusable for the rest of the process
  | 'WG_CUDA_OOM' // out of memory after emptying the cache and retrying once; has requestedBytes, memory
  | 'WG_INDEX_OUT_OF_RANGE'; // the device error flag was set: "<op>: index out of range"

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
  /** what is special about this build, e.g. "simulator build, no tensor cores"; absent otherwise */
  note?: string;
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
  /** a GPGPU-Sim build (`build-native --sim`): PTX compute_75 on the simulator's libcudart.so */
  simulator: boolean;
  /** the mma.sync tensor-core paths are compiled in (false without CUDA and in simulator builds) */
  tensorCores: boolean;
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
  /** The simulated device: bytes in use, capacity, releases; with `pooled`, bytes the pool still holds after frees and TrimTo calls. */
  rawState(): { inUse: number; capacity: number; releases: number; poolHeld: number; trims: number };
}

export type HostDataArray = Float32Array | Float64Array | Int32Array | Uint16Array | Uint8Array;
export type RuntimeDType = 'float32' | 'float64' | 'int32' | 'bfloat16' | 'float16';

export interface RuntimeBinding {
  readonly buildInfo: BuildInfo;
  cudaStatus(): CudaStatusInfo;
  /** host test mode of the caching allocator (every build) */
  /** `pooled`: freed memory stays held by a simulated stream-ordered pool (as cudaMallocAsync's does) until trimmed. */
  HostAllocator: new (opts?: { capacity?: number; pooled?: boolean }) => HostAllocator;
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

  // Timing events (native/src/events.cc), for bench/lib/timing.ts. CUDA builds only.
  /** cudaEventCreate (timing enabled) on the current device; the finalizer destroys it */
  createEvent?(): CudaEvent;
  /** cudaEventRecord on the current device's stream; throws when the event is from another device */
  recordEvent?(ev: CudaEvent): void;
  /** cudaEventSynchronize(end), then cudaEventElapsedTime(start, end) in ms; CUDA errors (an event never recorded) throw */
  eventElapsedMs?(start: CudaEvent, end: CudaEvent): number;
}

/** Opaque timing event made by `createEvent` (a small object owning a cudaEvent_t). */
export interface CudaEvent {
  readonly __cudaEvent: unique symbol;
}

// ---- kernels (present only when built with CUDA) ---------------------------------------------
// native/src/ops_gen_*.cc (generated from native/manifest/cuda/*.mjs) over native/kernels/*.cu. One entry point per kernel of lib/backend/kernels.ts,
// same name. Lean calls: handles and plain numbers only. Codes, not strings:
//   dtype: index in KernelEnums.dtypes (float32 0, float64 1, int32 2, bfloat16 3, float16 4);
//   op / act: index in the matching KernelEnums list (lib/backend/cuda/kernels.ts holds the same lists).
// `dims` (binary, where, stridedCopy) is a Float64Array [shape(ndim), strides of operand 0 (ndim), ...].
// `params` (conv, pool) is a Float64Array in the field order of Conv2dParams / Pool2dParams
// (countIncludePad as 0/1). Nullable handles are passed as null. A dtype a kernel does not implement
// throws "cuda: <dtype> not supported for <kernel>". Bad indices set the device error flag
// (WG_INDEX_OUT_OF_RANGE at the next synchronisation).
type Buf = NativeBuffer;

/** Name lists in code order, to check the TS tables against the native ones. */
export interface KernelEnums {
  dtypes: string[];
  unary: string[];
  unaryGrad: string[];
  binary: string[];
  reduce: string[];
  argReduce: string[];
  activation: string[];
}

export interface KernelBinding extends KernelEntryBinding {
  kernelEnums(): KernelEnums;
  /** float32 matmul may use TF32 tensor cores (torch.backends.cuda.matmul.allow_tf32); default false. */
  setAllowTf32(allow: boolean): void;
  getAllowTf32(): boolean;
}

// <gen:cuda> generated by scripts/gen-boundary.mjs from native/manifest/cuda/*.mjs: do not edit, run npm run gen
/** The kernel entry points (native/manifest/cuda/*.mjs), one per kernel of lib/backend/kernels.ts. */
export interface KernelEntryBinding {
  fill(out: Buf, n: number, value: number, dtype: number): void;
  cast(x: Buf, out: Buf, n: number, from: number, to: number): void;
  unary(op: number, x: Buf, out: Buf, n: number, dtype: number, a: number, b: number): void;
  unaryGrad(op: number, x: Buf | null, y: Buf | null, dy: Buf, dx: Buf, n: number, dtype: number, a: number, b: number): void;
  binary(op: number, a: Buf, b: Buf, out: Buf, ndim: number, dims: Float64Array, dtype: number): void;
  where(cond: Buf, a: Buf, b: Buf, out: Buf, ndim: number, dims: Float64Array, condDtype: number, dtype: number): void;
  addBiasAct(x: Buf, bias: Buf, out: Buf, outer: number, c: number, inner: number, act: number, dtype: number): void;
  indexSelect(x: Buf, idx: Buf, out: Buf, outer: number, dimSize: number, inner: number, nIdx: number, dtype: number): void;
  indexSelectBackward(dy: Buf, idx: Buf, dx: Buf, outer: number, dimSize: number, inner: number, nIdx: number, dtype: number): void;
  gather(x: Buf, idx: Buf, out: Buf, outer: number, dimSize: number, inner: number, k: number, dtype: number): void;
  gatherBackward(dy: Buf, idx: Buf, dx: Buf, outer: number, dimSize: number, inner: number, k: number, dtype: number): void;
  matmul(
    a: Buf,
    b: Buf,
    out: Buf,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    aBatchStride: number,
    bBatchStride: number,
    dtype: number,
  ): void;
  conv2d(x: Buf, w: Buf, y: Buf, params: Float64Array, dtype: number): void;
  conv2dGradInput(dy: Buf, w: Buf, dx: Buf, params: Float64Array, dtype: number): void;
  conv2dGradWeight(x: Buf, dy: Buf, dw: Buf, params: Float64Array, dtype: number): void;
  layerNorm(
    x: Buf,
    gamma: Buf | null,
    beta: Buf | null,
    y: Buf,
    mean: Buf,
    rstd: Buf,
    rows: number,
    cols: number,
    eps: number,
    dtype: number,
  ): void;
  layerNormBackward(
    dy: Buf,
    x: Buf,
    gamma: Buf | null,
    mean: Buf,
    rstd: Buf,
    dx: Buf,
    dgamma: Buf | null,
    dbeta: Buf | null,
    rows: number,
    cols: number,
    dtype: number,
  ): void;
  batchNorm(
    x: Buf,
    gamma: Buf | null,
    beta: Buf | null,
    runningMean: Buf | null,
    runningVar: Buf | null,
    y: Buf,
    saveMean: Buf,
    saveInvStd: Buf,
    n: number,
    c: number,
    hw: number,
    training: boolean,
    momentum: number,
    eps: number,
    dtype: number,
  ): void;
  batchNormBackward(
    dy: Buf,
    x: Buf,
    gamma: Buf | null,
    saveMean: Buf,
    saveInvStd: Buf,
    dx: Buf,
    dgamma: Buf | null,
    dbeta: Buf | null,
    n: number,
    c: number,
    hw: number,
    training: boolean,
    dtype: number,
  ): void;
  sgdStep(
    params: Buf[],
    grads: Buf[],
    momentumBufs: Buf[] | null,
    numels: number[],
    lr: number,
    momentum: number,
    dampening: number,
    nesterov: boolean,
    weightDecay: number,
    maximize: boolean,
    firstStep: boolean,
    dtype: number,
  ): void;
  adamStep(
    params: Buf[],
    grads: Buf[],
    expAvg: Buf[],
    expAvgSq: Buf[],
    maxExpAvgSq: Buf[] | null,
    numels: number[],
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: boolean,
    amsgrad: boolean,
    maximize: boolean,
    step: number,
    dtype: number,
  ): void;
  rmspropStep(
    params: Buf[],
    grads: Buf[],
    squareAvg: Buf[],
    momentumBufs: Buf[] | null,
    gradAvg: Buf[] | null,
    numels: number[],
    lr: number,
    alpha: number,
    eps: number,
    weightDecay: number,
    momentum: number,
    centered: boolean,
    maximize: boolean,
    dtype: number,
  ): void;
  /** clr: the step's lr, already decayed (lr / (1 + (step - 1)·lrDecay)) */
  adagradStep(
    params: Buf[],
    grads: Buf[],
    stateSum: Buf[],
    numels: number[],
    clr: number,
    eps: number,
    weightDecay: number,
    maximize: boolean,
    dtype: number,
  ): void;
  maxPool2d(x: Buf, y: Buf, argmax: Buf | null, params: Float64Array, dtype: number): void;
  maxPool2dBackward(dy: Buf, argmax: Buf, dx: Buf, params: Float64Array, dtype: number): void;
  avgPool2d(x: Buf, y: Buf, params: Float64Array, dtype: number): void;
  avgPool2dBackward(dy: Buf, dx: Buf, params: Float64Array, dtype: number): void;
  adaptiveAvgPool2d(
    x: Buf,
    y: Buf,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    dtype: number,
  ): void;
  adaptiveAvgPool2dBackward(
    dy: Buf,
    dx: Buf,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    dtype: number,
  ): void;
  /** seed, offset: integers in [0, 2^53). */
  randUniform(out: Buf, n: number, seed: number, offset: number, low: number, high: number, dtype: number): void;
  randNormal(out: Buf, n: number, seed: number, offset: number, mean: number, std: number, dtype: number): void;
  dropoutMask(mask: Buf, n: number, p: number, seed: number, offset: number, dtype: number): void;
  reduce(op: number, x: Buf, out: Buf, outer: number, r: number, inner: number, dtype: number): void;
  argReduce(op: number, x: Buf, out: Buf, outer: number, r: number, inner: number, dtype: number): void;
  stridedCopy(
    src: Buf,
    dst: Buf,
    ndim: number,
    dims: Float64Array,
    srcOffset: number,
    dstOffset: number,
    dtype: number,
    accumulate: boolean,
  ): void;
  lstmCell(gates: Buf, cPrev: Buf, h: Buf, c: Buf, act: Buf, batch: number, hidden: number, dtype: number): void;
  lstmCellBackward(
    act: Buf,
    cPrev: Buf,
    c: Buf,
    dh: Buf,
    dc: Buf | null,
    dGates: Buf,
    dcPrev: Buf,
    batch: number,
    hidden: number,
    dtype: number,
  ): void;
  gruCell(xg: Buf, hg: Buf, hPrev: Buf, h: Buf, saved: Buf, batch: number, hidden: number, dtype: number): void;
  gruCellBackward(saved: Buf, hPrev: Buf, dh: Buf, dxg: Buf, dhg: Buf, dhPrev: Buf, batch: number, hidden: number, dtype: number): void;
  softmax(x: Buf, y: Buf, rows: number, cols: number, log: boolean, dtype: number): void;
  softmaxBackward(y: Buf, dy: Buf, dx: Buf, rows: number, cols: number, log: boolean, dtype: number): void;
  crossEntropy(
    logits: Buf,
    targets: Buf,
    loss: Buf,
    rows: number,
    cols: number,
    labelSmoothing: number,
    ignoreIndex: number,
    dtype: number,
  ): void;
  crossEntropyBackward(
    logits: Buf,
    targets: Buf,
    dloss: Buf,
    dlogits: Buf,
    rows: number,
    cols: number,
    labelSmoothing: number,
    ignoreIndex: number,
    dtype: number,
  ): void;
}
// </gen:cuda>

// ---- cpu kernels (every build) -----------------------------------------------------------------
// native/cpu/: the js backend's kernels on its own typed arrays (lib/backend/js/native-cpu.ts).
// Utilities are hand-written in native/cpu/cpu_napi.cc; the kernel entry points are generated from
// native/manifest/cpu/*.mjs (scripts/gen-boundary.mjs; /work/notes/boundary-howto.md).

/** What `cpuInfo()` reports. */
export interface CpuInfo {
  /** the SIMD path in use: avx512, avx2, sse2 or generic */
  isa: string;
  supportedIsas: string[];
  threads: number;
  defaultThreads: number;
  /** the kernels of lib/backend/kernels.ts that run natively */
  kernels: string[];
  /** the sgemm micro-tile, e.g. "14x32" */
  sgemmTile: string;
}

export interface CpuRuntimeBinding {
  cpuSetNumThreads(n: number): void;
  cpuGetNumThreads(): number;
  cpuInfo(): CpuInfo;
  /** tests and benches: switch the ISA table; false when the CPU cannot run it (WATTGRAD_CPU_ISA at load) */
  cpuSelectIsa(name: string): boolean;
  /** register-only FMA loop of the selected ISA on `threads` pool threads: GFLOP/s */
  cpuFmaPeak(iters: number, threads: number): number;
}

// <gen:cpu> generated by scripts/gen-boundary.mjs from native/manifest/cpu/*.mjs: do not edit, run npm run gen
/**
 * The CPU kernel entry points (native/manifest/cpu/*.mjs). Every build has them; an addon built
 * before an entry was added lacks it, so callers check `typeof binding.cpuX === "function"`.
 * Arrays are the js backend storage itself (zero copy); sizes are checked, too-short arrays throw.
 */
export interface CpuKernelBinding {
  /**
   * native/manifest/cpu/basic.mjs; makes 'fill' native
   * out[i] = value for i < n, stored as the js typed array stores it (float32 rounds; int32 wraps: ToInt32).
   */
  cpuFill(out: Float32Array | Float64Array | Int32Array, n: number, value: number): void;
  /**
   * native/manifest/cpu/basic.mjs; makes 'cast' native
   * out[i] = x[i] converted, i < n, into the one output given (outF32, outF64 or outI32): float -> int32
   * truncates toward zero then wraps modulo 2^32 (NaN, ±inf -> 0), as Math.trunc stored into an Int32Array.
   */
  cpuCast(
    x: Float32Array | Float64Array | Int32Array,
    outF32: Float32Array | null,
    outF64: Float64Array | null,
    outI32: Int32Array | null,
    n: number,
  ): void;
  /**
   * native/manifest/cpu/basic.mjs; makes 'where' native
   * out = cond != 0 ? a : b, broadcast over an nd-dim index space: dims = [shape(nd), condStrides(nd),
   * aStrides(nd), bStrides(nd)] (elements, 0 on broadcast dims), out contiguous; cond is the one of condF32,
   * condF64, condI32 given (NaN counts as true). The extents cond, a, b and out must hold are checked from dims.
   */
  cpuWhere(
    condF32: Float32Array | null,
    condF64: Float64Array | null,
    condI32: Int32Array | null,
    a: Float32Array | Float64Array | Int32Array,
    b: Float32Array | Float64Array | Int32Array,
    out: Float32Array | Float64Array | Int32Array,
    nd: number,
    dims: Int32Array,
  ): void;
  /**
   * native/manifest/cpu/basic.mjs; makes 'argReduce' native
   * out[o, i] = the index j of the max (argmin: min) of x[o, j, i] over the middle axis of (outer, r, inner):
   * the first one, and the first NaN if there is one (torch); 0 when r is 0. Identical for any thread count.
   */
  cpuArgReduce(
    argmin: boolean,
    x: Float32Array | Float64Array | Int32Array,
    out: Int32Array,
    outer: number,
    r: number,
    inner: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'conv2d' native
   * y = conv2d(x, w) (no bias): im2col + the packed GEMM.
   * x (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW), NCHW; the output is
   * overwritten (never read); results identical for any thread count.
   */
  cpuConv2d(
    x: Float32Array | Float64Array,
    w: Float32Array | Float64Array,
    y: Float32Array | Float64Array,
    batch: number,
    inC: number,
    inH: number,
    inW: number,
    outC: number,
    kH: number,
    kW: number,
    outH: number,
    outW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    groups: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'conv2dGradInput' native
   * dx = the gradient of conv2d with respect to x, from dy (shaped like y) and w.
   * x (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW), NCHW; the output is
   * overwritten (never read); results identical for any thread count.
   */
  cpuConv2dGradInput(
    dy: Float32Array | Float64Array,
    w: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    batch: number,
    inC: number,
    inH: number,
    inW: number,
    outC: number,
    kH: number,
    kW: number,
    outH: number,
    outW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    groups: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'conv2dGradWeight' native
   * dw = the gradient of conv2d with respect to w, from x and dy (summed over the batch).
   * x (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW), NCHW; the output is
   * overwritten (never read); results identical for any thread count.
   */
  cpuConv2dGradWeight(
    x: Float32Array | Float64Array,
    dy: Float32Array | Float64Array,
    dw: Float32Array | Float64Array,
    batch: number,
    inC: number,
    inH: number,
    inW: number,
    outC: number,
    kH: number,
    kW: number,
    outH: number,
    outW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    groups: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'maxPool2d' native
   * Max over each dilated window (padding never wins, NaN does); argmax = ih*inW + iw in the plane, -1 for an empty window.
   * x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).
   */
  cpuMaxPool2d(
    x: Float32Array | Float64Array,
    y: Float32Array | Float64Array,
    argmax: Int32Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    kH: number,
    kW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'maxPool2dBackward' native
   * dx = 0, then dx[plane, argmax] += dy; an argmax outside [-1, inH*inW) is an error.
   * x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).
   */
  cpuMaxPool2dBackward(
    dy: Float32Array | Float64Array,
    argmax: Int32Array,
    dx: Float32Array | Float64Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    kH: number,
    kW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'avgPool2d' native
   * Average over each window, torch's divisor (countIncludePad: padded cells count).
   * x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).
   */
  cpuAvgPool2d(
    x: Float32Array | Float64Array,
    y: Float32Array | Float64Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    kH: number,
    kW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    countIncludePad: boolean,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'avgPool2dBackward' native
   * The adjoint of cpuAvgPool2d: dx from dy.
   * x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).
   */
  cpuAvgPool2dBackward(
    dy: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    kH: number,
    kW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    countIncludePad: boolean,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'adaptiveAvgPool2d' native
   * torch's adaptive windows: start = floor(i*in/out), end = ceil((i+1)*in/out).
   * x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).
   */
  cpuAdaptiveAvgPool2d(
    x: Float32Array | Float64Array,
    y: Float32Array | Float64Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
  ): void;
  /**
   * native/manifest/cpu/conv.mjs; makes 'adaptiveAvgPool2dBackward' native
   * The adjoint of cpuAdaptiveAvgPool2d: dx from dy.
   * x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).
   */
  cpuAdaptiveAvgPool2dBackward(
    dy: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
  ): void;
  /**
   * native/manifest/cpu/elementwise.mjs; makes 'unary' native
   * out[i] = op(x[i]; a, b) for i < n; op = cpuStreamOps().unary.indexOf(name); out may be x.
   */
  cpuUnary(op: number, x: Float32Array | Float64Array, out: Float32Array | Float64Array, n: number, a: number, b: number): void;
  /**
   * native/manifest/cpu/elementwise.mjs; makes 'unaryGrad' native
   * dx[i] = dy[i]·f'(x[i]) (from y = f(x) for tanh, sigmoid); op = cpuStreamOps().unaryGrad.indexOf(name).
   */
  cpuUnaryGrad(
    op: number,
    x: Float32Array | Float64Array,
    y: Float32Array | Float64Array,
    dy: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    n: number,
    a: number,
    b: number,
  ): void;
  /**
   * native/manifest/cpu/elementwise.mjs; makes 'binary' native
   * out = a op b with broadcasting over an nd-dim index space: dims = [shape(nd), aStrides(nd), bStrides(nd)]
   * (elements, 0 on broadcast dims), out contiguous; op = cpuStreamOps().binary.indexOf(name). The extents
   * a, b and out must hold are checked from dims.
   */
  cpuBinary(
    op: number,
    a: Float32Array | Float64Array,
    b: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
    nd: number,
    dims: Int32Array,
  ): void;
  /**
   * native/manifest/cpu/elementwise.mjs; makes 'addBiasAct' native
   * out = act(x + bias[c]), x and out (outer, c, inner), bias (c); act = cpuStreamOps().activation.indexOf(name).
   */
  cpuAddBiasAct(
    x: Float32Array | Float64Array,
    bias: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
    outer: number,
    c: number,
    inner: number,
    act: number,
  ): void;
  /**
   * native/manifest/cpu/matmul.mjs; makes 'matmul' native
   * out[b] = op(a[b]) · op(b[b]) for b < batch: op(a) is (m, k) ((k, m) stored when transA), op(b) is (k, n)
   * ((n, k) when transB); a[b] starts at b * aBatchStride (0 broadcasts), out is (batch, m, n), overwritten.
   */
  cpuMatmul(
    a: Float32Array | Float64Array,
    b: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    aBatchStride: number,
    bBatchStride: number,
  ): void;
  /**
   * native/manifest/cpu/norm.mjs; makes 'layerNorm' native
   * Layer norm over the last cols: x, y (rows, cols); gamma, beta (cols) or null; mean, rstd (rows) saved.
   */
  cpuLayerNorm(
    x: Float32Array | Float64Array,
    gamma: Float32Array | Float64Array | null,
    beta: Float32Array | Float64Array | null,
    y: Float32Array | Float64Array,
    mean: Float32Array | Float64Array,
    rstd: Float32Array | Float64Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /**
   * native/manifest/cpu/norm.mjs; makes 'layerNormBackward' native
   * dx, and dgamma / dbeta (written, not accumulated) when given; results independent of the thread count.
   */
  cpuLayerNormBackward(
    dy: Float32Array | Float64Array,
    x: Float32Array | Float64Array,
    gamma: Float32Array | Float64Array | null,
    mean: Float32Array | Float64Array,
    rstd: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    dgamma: Float32Array | Float64Array | null,
    dbeta: Float32Array | Float64Array | null,
    rows: number,
    cols: number,
  ): void;
  /**
   * native/manifest/cpu/norm.mjs; makes 'batchNorm' native
   * Batch norm over (n, c, hw), statistics per channel: training uses the batch statistics (biased var) and
   * updates the running stats in place (momentum, unbiased var); eval uses the running stats. saveMean /
   * saveInvStd (c) record what was used.
   */
  cpuBatchNorm(
    x: Float32Array | Float64Array,
    gamma: Float32Array | Float64Array | null,
    beta: Float32Array | Float64Array | null,
    runningMean: Float32Array | Float64Array | null,
    runningVar: Float32Array | Float64Array | null,
    y: Float32Array | Float64Array,
    saveMean: Float32Array | Float64Array,
    saveInvStd: Float32Array | Float64Array,
    n: number,
    c: number,
    hw: number,
    training: boolean,
    momentum: number,
    eps: number,
  ): void;
  /**
   * native/manifest/cpu/norm.mjs; makes 'batchNormBackward' native
   * dx, dgamma, dbeta of batch norm (training: through the batch statistics; eval: gamma·invStd·dy).
   */
  cpuBatchNormBackward(
    dy: Float32Array | Float64Array,
    x: Float32Array | Float64Array,
    gamma: Float32Array | Float64Array | null,
    saveMean: Float32Array | Float64Array,
    saveInvStd: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    dgamma: Float32Array | Float64Array | null,
    dbeta: Float32Array | Float64Array | null,
    n: number,
    c: number,
    hw: number,
    training: boolean,
  ): void;
  /**
   * native/manifest/cpu/optim.mjs; makes 'sgdStep' native
   * torch.optim.SGD in place over a group: g = ±grad + wd·p; with momentum buf = first ? g : m·buf + (1-dampening)·g,
   * g = nesterov ? g + m·buf : buf; p -= lr·g. bufs may be null when momentum is 0.
   */
  cpuSgdStep(
    params: (Float32Array | Float64Array)[],
    grads: (Float32Array | Float64Array)[],
    bufs: (Float32Array | Float64Array)[] | null,
    numels: Int32Array,
    lr: number,
    momentum: number,
    dampening: number,
    nesterov: boolean,
    weightDecay: number,
    maximize: boolean,
    firstStep: boolean,
  ): void;
  /**
   * native/manifest/cpu/optim.mjs; makes 'adamStep' native
   * torch.optim.Adam / AdamW (decoupled) / amsgrad in place over a group: m = lerp(m, g, 1-β1), v = β2·v + (1-β2)·g²,
   * p -= stepSize · m / (√(v or vmax) / bc2Sqrt + eps); stepSize = lr / (1-β1^t) and bc2Sqrt = √(1-β2^t) from JS.
   */
  cpuAdamStep(
    params: (Float32Array | Float64Array)[],
    grads: (Float32Array | Float64Array)[],
    expAvg: (Float32Array | Float64Array)[],
    expAvgSq: (Float32Array | Float64Array)[],
    maxExpAvgSq: (Float32Array | Float64Array)[] | null,
    numels: Int32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: boolean,
    amsgrad: boolean,
    maximize: boolean,
    stepSize: number,
    bc2Sqrt: number,
  ): void;
  /**
   * native/manifest/cpu/qgemm.mjs; makes 'qgemm_u8s8s32' native
   * acc[i, j] = Σ_p (a[i, p] − aZeroPoint) · (b[j, p] − bZeroPoint[j]) in int32; a (m, k) quint8, b (n, k) qint8;
   * out[i, j] = float32(aScale · bScale[j]) · acc + bias[j], then max(·, 0) when relu. acc (optional) receives the accumulators.
   */
  cpuQgemmU8S8S32(
    a: Uint8Array,
    b: Int8Array,
    bScale: Float32Array,
    bZeroPoint: Int32Array,
    bias: Float32Array | null,
    out: Float32Array,
    acc: Int32Array | null,
    m: number,
    n: number,
    k: number,
    aScale: number,
    aZeroPoint: number,
    relu: boolean,
  ): void;
  /**
   * native/manifest/cpu/qgemm.mjs; makes 'quantize_u8' native
   * out[i] = clamp(round_half_even(x[i] · (1 / scale)) + zeroPoint, quantMin, quantMax) + shift, the product in double
   * (lib/nn/quantized-static.ts quantizeForKernel, bit for bit); shift 128 stores qint8 values as the kernel's u8.
   */
  cpuQuantizeU8(
    x: Float32Array,
    out: Uint8Array,
    n: number,
    scale: number,
    zeroPoint: number,
    quantMin: number,
    quantMax: number,
    shift: number,
  ): void;
  /**
   * native/manifest/cpu/qgemm.mjs; makes 'qconv2d_u8s8s32' native
   * int8 conv2d (groups 1): x (n, c, h, w) quint8, w (k, c, r, s) qint8 per output channel, out (n, k, oh, ow) float32 =
   * float32(xScale · wScale[k]) · Σ (x − xZeroPoint)(w − wZeroPoint[k]) + bias[k] (ReLU when relu); padding reads xZeroPoint.
   * im2col straight into the int8 GEMM's packed buffer (qgemm.cc); equal to lib/quantization/qconv.ts qconv2d bit for bit.
   */
  cpuQconv2dU8S8S32(
    x: Uint8Array,
    wt: Int8Array,
    wScale: Float32Array,
    wZeroPoint: Int32Array,
    bias: Float32Array | null,
    out: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    k: number,
    r: number,
    s: number,
    oh: number,
    ow: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    xScale: number,
    xZeroPoint: number,
    relu: boolean,
  ): void;
  /**
   * native/manifest/cpu/qgemm.mjs; makes 'qlinear_dynamic' native
   * dynamic int8 Linear in one call: x (m, k) float32 → its min/max → quint8 parameters (scale, zeroPoint) as
   * lib/quantization/qtensor.ts activationParams → quantized straight into the packed GEMM buffer → int8 GEMM with b (n, k)
   * qint8 → out (m, n) float32 as cpuQgemmU8S8S32 (bias, ReLU); qparams (optional) receives [scale, zeroPoint].
   * Bit for bit quantizeActivations + qgemm of lib/nn/quantized-rnn.ts dynamicLinearHost.
   */
  cpuQlinearDynamicF32(
    x: Float32Array,
    b: Int8Array,
    bScale: Float32Array,
    bZeroPoint: Int32Array,
    bias: Float32Array | null,
    out: Float32Array,
    qparams: Float64Array | null,
    m: number,
    n: number,
    k: number,
    reduceRange: boolean,
    relu: boolean,
  ): void;
  /**
   * native/manifest/cpu/qpool.mjs
   * y = max over each dilated window of x (padding never wins; a NaN does, the first one), like cpuMaxPool2d but without
   * the argmax (inference: no backward will read it). x (batch, channels, inH, inW), y (batch, channels, outH, outW);
   * y is bit for bit what cpuMaxPool2d and lib/backend/js/pool.ts write.
   */
  cpuMaxPool2dValues(
    x: Float32Array | Float64Array,
    y: Float32Array | Float64Array,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    kH: number,
    kW: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
  ): void;
  /**
   * native/manifest/cpu/qpool.mjs; makes 'qconv2d_maxpool' native
   * conv → requantize → max-pool of a static int8 model: c = cpuQconv2dU8S8S32(x, wt, …) (n, k, oh, ow) float32, then
   * m = max-pool(c) (pool window over (oh, ow), padding never wins) (n, k, ph, pw), q = cpuQuantizeU8(m, outScale, outZeroPoint,
   * quantMin, quantMax, shift) and out = float32(outScale · (q − outZeroPoint − shift)) (the grid values the next int8 layer
   * re-quantizes to exactly q); codes (optional) receives q. Quantizing is monotone, so q is also the max-pool of the codes
   * of c. A NaN in c is an error (as quantizing it is). lib/quantization/qpool.ts qconv2dMaxPool bit for bit.
   */
  cpuQconv2dMaxPool(
    x: Uint8Array,
    wt: Int8Array,
    wScale: Float32Array,
    wZeroPoint: Int32Array,
    bias: Float32Array | null,
    out: Float32Array,
    codes: Uint8Array | null,
    n: number,
    c: number,
    h: number,
    w: number,
    k: number,
    r: number,
    s: number,
    oh: number,
    ow: number,
    strideH: number,
    strideW: number,
    padH: number,
    padW: number,
    dilationH: number,
    dilationW: number,
    xScale: number,
    xZeroPoint: number,
    relu: boolean,
    poolKH: number,
    poolKW: number,
    poolStrideH: number,
    poolStrideW: number,
    poolPadH: number,
    poolPadW: number,
    poolDilationH: number,
    poolDilationW: number,
    ph: number,
    pw: number,
    outScale: number,
    outZeroPoint: number,
    quantMin: number,
    quantMax: number,
    shift: number,
  ): void;
  /**
   * native/manifest/cpu/reduce.mjs; makes 'reduce' native
   * x (outer, r, inner) -> out (outer, inner): op = cpuStreamOps().reduce.indexOf(name). Tasks split by the
   * shape and partials combined in a fixed order: results independent of the thread count.
   */
  cpuReduce(op: number, x: Float32Array | Float64Array, out: Float32Array | Float64Array, outer: number, r: number, inner: number): void;
  /**
   * native/manifest/cpu/rnn.mjs; makes 'lstmCell' native
   * gates (batch, 4H) pre-activation i, f, g, o; cPrev, h, c (batch, H); act (batch, 4H) = [σi, σf, tanh g, σo]. c = σf·cPrev + σi·tanh g, h = σo·tanh c.
   */
  cpuLstmCell(
    gates: Float32Array | Float64Array,
    cPrev: Float32Array | Float64Array,
    h: Float32Array | Float64Array,
    c: Float32Array | Float64Array,
    act: Float32Array | Float64Array,
    batch: number,
    hidden: number,
  ): void;
  /**
   * native/manifest/cpu/rnn.mjs; makes 'lstmCellBackward' native
   * From dh and dc (null: 0): dGates (batch, 4H) pre-activation and dcPrev (batch, H).
   */
  cpuLstmCellBackward(
    act: Float32Array | Float64Array,
    cPrev: Float32Array | Float64Array,
    c: Float32Array | Float64Array,
    dh: Float32Array | Float64Array,
    dc: Float32Array | Float64Array | null,
    dGates: Float32Array | Float64Array,
    dcPrev: Float32Array | Float64Array,
    batch: number,
    hidden: number,
  ): void;
  /**
   * native/manifest/cpu/rnn.mjs; makes 'gruCell' native
   * xg, hg (batch, 3H) (projections with their biases) in order r, z, n; hPrev, h (batch, H); saved (batch, 4H) = [r, z, n, hn].
   */
  cpuGruCell(
    xg: Float32Array | Float64Array,
    hg: Float32Array | Float64Array,
    hPrev: Float32Array | Float64Array,
    h: Float32Array | Float64Array,
    saved: Float32Array | Float64Array,
    batch: number,
    hidden: number,
  ): void;
  /**
   * native/manifest/cpu/rnn.mjs; makes 'gruCellBackward' native
   * From dh: dxg, dhg (batch, 3H) and the direct part of dhPrev (= dh·z).
   */
  cpuGruCellBackward(
    saved: Float32Array | Float64Array,
    hPrev: Float32Array | Float64Array,
    dh: Float32Array | Float64Array,
    dxg: Float32Array | Float64Array,
    dhg: Float32Array | Float64Array,
    dhPrev: Float32Array | Float64Array,
    batch: number,
    hidden: number,
  ): void;
  /**
   * native/manifest/cpu/rnn.mjs
   * One layer and direction over T steps (mode 0 RNN tanh, 1 RNN relu, 2 LSTM, 3 GRU): x (steps T, batch B, input I); h0 (B, H); c0 (B, H), LSTM only;
   * wIh (G·H, I); wHh (G·H, H); bIh, bHh (G·H) or null. Writes hs (T, B, H), cs (T, B, H) (LSTM) and saved (T, B, 4H)
   * (LSTM act, GRU [r, z, n, hn]; null for RNN or when no backward follows). One GEMM projects every step; per step a small GEMM and the fused gates.
   */
  cpuRnnForward(
    mode: number,
    x: Float32Array | Float64Array,
    h0: Float32Array | Float64Array,
    c0: Float32Array | Float64Array | null,
    wIh: Float32Array | Float64Array,
    wHh: Float32Array | Float64Array,
    bIh: Float32Array | Float64Array | null,
    bHh: Float32Array | Float64Array | null,
    hs: Float32Array | Float64Array,
    cs: Float32Array | Float64Array | null,
    saved: Float32Array | Float64Array | null,
    steps: number,
    batch: number,
    input: number,
    hidden: number,
  ): void;
  /**
   * native/manifest/cpu/rnn.mjs
   * Gradients of Σ dhs·hs + Σ dhN·h_T + Σ dcN·c_T (dhs, dhN, dcN each may be null) through cpuRnnForward, from its hs, cs, saved.
   * Overwrites dx (T, B, I) (null: skipped), dh0, dc0 (LSTM), dWih (G·H, I), dWhh (G·H, H), dbIh, dbHh (G·H) (null: skipped).
   */
  cpuRnnBackward(
    mode: number,
    x: Float32Array | Float64Array,
    h0: Float32Array | Float64Array,
    c0: Float32Array | Float64Array | null,
    wIh: Float32Array | Float64Array,
    wHh: Float32Array | Float64Array,
    hs: Float32Array | Float64Array,
    cs: Float32Array | Float64Array | null,
    saved: Float32Array | Float64Array | null,
    dhs: Float32Array | Float64Array | null,
    dhN: Float32Array | Float64Array | null,
    dcN: Float32Array | Float64Array | null,
    dx: Float32Array | Float64Array | null,
    dh0: Float32Array | Float64Array,
    dc0: Float32Array | Float64Array | null,
    dWih: Float32Array | Float64Array,
    dWhh: Float32Array | Float64Array,
    dbIh: Float32Array | Float64Array | null,
    dbHh: Float32Array | Float64Array | null,
    steps: number,
    batch: number,
    input: number,
    hidden: number,
  ): void;
  /**
   * native/manifest/cpu/softmax.mjs; makes 'softmax' native
   * y = softmax(x) (or log_softmax) over the last axis; x, y (rows, cols); y may be x.
   */
  cpuSoftmax(x: Float32Array | Float64Array, y: Float32Array | Float64Array, rows: number, cols: number, log: boolean): void;
  /**
   * native/manifest/cpu/softmax.mjs; makes 'softmaxBackward' native
   * dx from y = softmax(x) (or log_softmax) and dy; all (rows, cols).
   */
  cpuSoftmaxBackward(
    y: Float32Array | Float64Array,
    dy: Float32Array | Float64Array,
    dx: Float32Array | Float64Array,
    rows: number,
    cols: number,
    log: boolean,
  ): void;
  /**
   * native/manifest/cpu/softmax.mjs; makes 'crossEntropy' native
   * loss[r] = -(1-ε)·logp[t] - ε/cols·Σ_j logp[j], logp = log_softmax(logits[r]); 0 where t == ignoreIndex.
   * logits (rows, cols), targets (rows) int32, loss (rows). A target outside [0, cols) is an error (nothing written).
   */
  cpuCrossEntropy(
    logits: Float32Array | Float64Array,
    targets: Int32Array,
    loss: Float32Array | Float64Array,
    rows: number,
    cols: number,
    labelSmoothing: number,
    ignoreIndex: number,
  ): void;
  /**
   * native/manifest/cpu/softmax.mjs; makes 'crossEntropyBackward' native
   * dlogits[r] = dloss[r]·(softmax(logits[r]) - (1-ε)·onehot(t) - ε/cols); 0 for ignored rows.
   */
  cpuCrossEntropyBackward(
    logits: Float32Array | Float64Array,
    targets: Int32Array,
    dloss: Float32Array | Float64Array,
    dlogits: Float32Array | Float64Array,
    rows: number,
    cols: number,
    labelSmoothing: number,
    ignoreIndex: number,
  ): void;
}
// </gen:cpu>

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

export type Binding = RuntimeBinding & NvmlBinding & Partial<KernelBinding> & Partial<CpuRuntimeBinding & CpuKernelBinding>;
