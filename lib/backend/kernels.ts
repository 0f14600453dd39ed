// The backend interface: the small set of primitive kernels every backend implements.
//
// Conventions (every backend, every kernel):
// - Tensors are dense, row-major and contiguous. A kernel gets opaque storage Handles plus plain
//   numbers; views (permute, slice, expand) are materialised by `stridedCopy`.
// - Every output is preallocated by the op layer and every element of it is written by the kernel
//   (tests poison outputs first). Inputs are never modified unless the kernel says "in place".
// - Kernels never read values back to the host to decide something; on CUDA they only enqueue work.
// - `dtype` is the element type of the float inputs/outputs; index tensors are always int32.
// - Bad indices (indexSelect, gather, crossEntropy targets): the js backend throws a RangeError
//   naming the kernel and the index; the CUDA backend records a device-side error flag that is
//   raised as an exception at the next synchronisation.
// - The op layer reports FLOPs and bytes of each call to `counter.ts`; kernels do not.
//
// One name for one thing: these names are the names of the CUDA entry points in binding.d.ts.

import type { DType, TypedArray } from '../dtype.js';

/** Opaque storage owned by a backend (a typed array on js, device memory on cuda). */
export interface Handle {
  readonly byteLength: number;
}

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'expm1'
  | 'log'
  | 'log1p'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'sin'
  | 'cos'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'gelu_tanh'
  | 'silu'
  | 'softplus'
  | 'leaky_relu' // a = negative slope
  | 'elu' // a = alpha
  | 'clamp' // a = min, b = max (use ±Infinity for one-sided)
  | 'add_scalar' // x + a
  | 'mul_scalar' // x * a
  | 'rsub_scalar' // a - x
  | 'rdiv_scalar' // a / x
  | 'pow_scalar' // x ** a
  | 'rpow_scalar' // a ** x
  | 'gt_scalar'
  | 'lt_scalar'
  | 'ge_scalar'
  | 'le_scalar'
  | 'eq_scalar'
  | 'ne_scalar'; // 1 or 0

/** Unary ops with a fused backward: dx = dy * f'(x), reading x and/or y = f(x). */
export type UnaryGradOp = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'tanh' | 'sigmoid' | 'softplus' | 'leaky_relu' | 'elu' | 'clamp' | 'abs';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; // comparisons write 1 or 0 in `dtype`

export type ReduceOp = 'sum' | 'max' | 'min' | 'prod';
export type ArgReduceOp = 'argmax' | 'argmin';
export type Activation = 'none' | 'relu' | 'gelu' | 'tanh' | 'sigmoid';

/** conv2d, NCHW. x is (batch, inC, inH, inW), w is (outC, inC/groups, kH, kW), y is (batch, outC, outH, outW). */
export interface Conv2dParams {
  batch: number;
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  kH: number;
  kW: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

/** 2-D pooling, NCHW. x is (batch, channels, inH, inW), y is (batch, channels, outH, outW). */
export interface Pool2dParams {
  batch: number;
  channels: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  /** avg pooling only: count padded cells in the divisor (torch's count_include_pad). */
  countIncludePad: boolean;
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  maximize: boolean;
  /** true on the first step with momentum: buf = g (torch semantics), not momentum*buf + (1-dampening)*g. */
  firstStep: boolean;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: p *= 1 - lr*weightDecay; Adam: g += weightDecay*p. */
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
  /** 1-based step count, for bias correction. */
  step: number;
}

export interface RmspropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  /** centered: the variance estimate subtracts the running mean of g (gradAvg given). */
  centered: boolean;
  maximize: boolean;
}

export interface AdagradHyper {
  /** the step's lr, already decayed: lr / (1 + (step - 1)·lrDecay) */
  clr: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

export interface KernelFns {
  /** out[i] = value for i < n. */
  fill(out: Handle, n: number, value: number, dtype: DType): void;

  /** out[i] = cast(x[i]) from `from` to `to` (float→int truncates toward zero, like torch). */
  cast(x: Handle, out: Handle, n: number, from: DType, to: DType): void;

  /** out[i] = op(x[i]; a, b). */
  unary(op: UnaryOp, x: Handle, out: Handle, n: number, dtype: DType, a: number, b: number): void;

  /** dx[i] = dy[i] * f'(x[i]); y = f(x) is passed for ops whose derivative is cheaper from y (tanh, sigmoid). */
  unaryGrad(op: UnaryGradOp, x: Handle, y: Handle, dy: Handle, dx: Handle, n: number, dtype: DType, a: number, b: number): void;

  /**
   * out = a op b with broadcasting. outShape is the broadcast shape; aStrides/bStrides have
   * outShape.length entries, in elements, 0 on broadcast dimensions. a, b, out share `dtype`.
   */
  binary(op: BinaryOp, a: Handle, b: Handle, out: Handle, outShape: number[], aStrides: number[], bStrides: number[], dtype: DType): void;

  /** out = cond != 0 ? a : b, broadcast like `binary`. cond has `condDtype`; a, b, out have `dtype`. */
  where(
    cond: Handle,
    a: Handle,
    b: Handle,
    out: Handle,
    outShape: number[],
    condStrides: number[],
    aStrides: number[],
    bStrides: number[],
    condDtype: DType,
    dtype: DType,
  ): void;

  /** x is (outer, r, inner), out is (outer, inner): reduce the middle axis. r may be 0 for sum (writes 0). */
  reduce(op: ReduceOp, x: Handle, out: Handle, outer: number, r: number, inner: number, dtype: DType): void;

  /** x is (outer, r, inner), out (int32) is (outer, inner): index of the first max/min along r. */
  argReduce(op: ArgReduceOp, x: Handle, out: Handle, outer: number, r: number, inner: number, dtype: DType): void;

  /**
   * General strided copy over an index space `shape`:
   *   dst[dstOffset + Σ i_d*dstStrides[d]] (+)= src[srcOffset + Σ i_d*srcStrides[d]]
   * Covers permute/transpose, slice, expand (stride 0 in src), cat (one call per piece) and
   * slice-backward (accumulate). The dst addresses must be distinct. Only the addressed dst
   * elements are written; callers that need the rest defined `fill` first.
   */
  stridedCopy(
    src: Handle,
    dst: Handle,
    shape: number[],
    srcStrides: number[],
    srcOffset: number,
    dstStrides: number[],
    dstOffset: number,
    dtype: DType,
    accumulate: boolean,
  ): void;

  /**
   * Batched GEMM: out[b] = op(A[b]) · op(B[b]), out is (batch, m, n) contiguous.
   * A[b] starts at b*aBatchStride and is (m, k), or (k, m) when transA; likewise B (k, n) / (n, k).
   * A batch stride of 0 broadcasts one matrix over the batch.
   */
  matmul(
    a: Handle,
    b: Handle,
    out: Handle,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    aBatchStride: number,
    bBatchStride: number,
    dtype: DType,
  ): void;

  /** out = act(x + bias[c]) with x, out (outer, c, inner) and bias (c). Linear: inner = 1; conv: inner = H*W. */
  addBiasAct(x: Handle, bias: Handle, out: Handle, outer: number, c: number, inner: number, act: Activation, dtype: DType): void;

  /** y = conv2d(x, w) without bias (bias goes through addBiasAct). */
  conv2d(x: Handle, w: Handle, y: Handle, p: Conv2dParams, dtype: DType): void;
  /** dx = ∂L/∂x given dy (batch, outC, outH, outW) and w. */
  conv2dGradInput(dy: Handle, w: Handle, dx: Handle, p: Conv2dParams, dtype: DType): void;
  /** dw = ∂L/∂w given x and dy. */
  conv2dGradWeight(x: Handle, dy: Handle, dw: Handle, p: Conv2dParams, dtype: DType): void;

  /**
   * Max pooling; argmax (int32, same shape as y) holds the flat index into the (inH*inW) plane of each max. Padding never wins.
   * argmax null: the values only (inference, no backward will read the indices; torch's max_pool2d without indices).
   */
  maxPool2d(x: Handle, y: Handle, argmax: Handle | null, p: Pool2dParams, dtype: DType): void;
  maxPool2dBackward(dy: Handle, argmax: Handle, dx: Handle, p: Pool2dParams, dtype: DType): void;
  avgPool2d(x: Handle, y: Handle, p: Pool2dParams, dtype: DType): void;
  avgPool2dBackward(dy: Handle, dx: Handle, p: Pool2dParams, dtype: DType): void;
  /** torch's adaptive_avg_pool2d windows: start = floor(i*in/out), end = ceil((i+1)*in/out). */
  adaptiveAvgPool2d(
    x: Handle,
    y: Handle,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    dtype: DType,
  ): void;
  adaptiveAvgPool2dBackward(
    dy: Handle,
    dx: Handle,
    batch: number,
    channels: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    dtype: DType,
  ): void;

  /** x is (outer, dimSize, inner), idx (int32) is (nIdx), out is (outer, nIdx, inner). Embedding: outer = 1. */
  indexSelect(x: Handle, idx: Handle, out: Handle, outer: number, dimSize: number, inner: number, nIdx: number, dtype: DType): void;
  /** dx (outer, dimSize, inner) = 0, then dx[:, idx[j], :] += dy[:, j, :]. Repeated indices accumulate. */
  indexSelectBackward(dy: Handle, idx: Handle, dx: Handle, outer: number, dimSize: number, inner: number, nIdx: number, dtype: DType): void;

  /** torch.gather along the middle axis: x (outer, dimSize, inner), idx and out (outer, k, inner). */
  gather(x: Handle, idx: Handle, out: Handle, outer: number, dimSize: number, inner: number, k: number, dtype: DType): void;
  /** dx (outer, dimSize, inner) = 0, then scatter-add dy (outer, k, inner) at idx. */
  gatherBackward(dy: Handle, idx: Handle, dx: Handle, outer: number, dimSize: number, inner: number, k: number, dtype: DType): void;

  /** Row-wise softmax (or log-softmax) over the last axis: x, y are (rows, cols). */
  softmax(x: Handle, y: Handle, rows: number, cols: number, log: boolean, dtype: DType): void;
  /** dx from y = softmax(x) (or log-softmax) and dy. */
  softmaxBackward(y: Handle, dy: Handle, dx: Handle, rows: number, cols: number, log: boolean, dtype: DType): void;

  /**
   * Fused cross-entropy per row: logits (rows, cols), targets int32 (rows), loss (rows).
   * loss = -(1-ε)·logp[t] - ε/cols·Σ_j logp[j]; rows whose target == ignoreIndex get loss 0.
   */
  crossEntropy(
    logits: Handle,
    targets: Handle,
    loss: Handle,
    rows: number,
    cols: number,
    labelSmoothing: number,
    ignoreIndex: number,
    dtype: DType,
  ): void;
  /** dlogits[r] = dloss[r] · (softmax(logits[r]) - (1-ε)·onehot(t) - ε/cols); 0 for ignored rows. */
  crossEntropyBackward(
    logits: Handle,
    targets: Handle,
    dloss: Handle,
    dlogits: Handle,
    rows: number,
    cols: number,
    labelSmoothing: number,
    ignoreIndex: number,
    dtype: DType,
  ): void;

  /**
   * Layer norm over the last `cols`: x, y (rows, cols); gamma, beta (cols) or null; mean, rstd (rows) saved.
   * Saved statistics (here and in batchNorm) are float32 for float32/bfloat16/float16 `dtype` and
   * float64 for float64 (normStatsDType in lib/ops/nn.ts), as PyTorch keeps them.
   */
  layerNorm(
    x: Handle,
    gamma: Handle | null,
    beta: Handle | null,
    y: Handle,
    mean: Handle,
    rstd: Handle,
    rows: number,
    cols: number,
    eps: number,
    dtype: DType,
  ): void;
  /** dx, and dgamma/dbeta (written, not accumulated) when given. */
  layerNormBackward(
    dy: Handle,
    x: Handle,
    gamma: Handle | null,
    mean: Handle,
    rstd: Handle,
    dx: Handle,
    dgamma: Handle | null,
    dbeta: Handle | null,
    rows: number,
    cols: number,
    dtype: DType,
  ): void;

  /**
   * Batch norm over (n, c, hw): statistics per channel c. Training: batch statistics (biased var
   * for normalising), running stats updated in place with `momentum` and the unbiased var.
   * Eval: running stats. saveMean/saveInvStd (c) hold what was used, for the backward.
   */
  batchNorm(
    x: Handle,
    gamma: Handle | null,
    beta: Handle | null,
    runningMean: Handle | null,
    runningVar: Handle | null,
    y: Handle,
    saveMean: Handle,
    saveInvStd: Handle,
    n: number,
    c: number,
    hw: number,
    training: boolean,
    momentum: number,
    eps: number,
    dtype: DType,
  ): void;
  batchNormBackward(
    dy: Handle,
    x: Handle,
    gamma: Handle | null,
    saveMean: Handle,
    saveInvStd: Handle,
    dx: Handle,
    dgamma: Handle | null,
    dbeta: Handle | null,
    n: number,
    c: number,
    hw: number,
    training: boolean,
    dtype: DType,
  ): void;

  /**
   * LSTM gate math for one step, torch's order i, f, g, o.
   * gates (batch, 4H) = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh (pre-activation); cPrev (batch, H).
   * c = σ(f)·cPrev + σ(i)·tanh(g); h = σ(o)·tanh(c). act (batch, 4H) saves the activated gates.
   */
  lstmCell(gates: Handle, cPrev: Handle, h: Handle, c: Handle, act: Handle, batch: number, hidden: number, dtype: DType): void;
  /** From dh, dc (dc may be null = 0): dGates (batch, 4H, pre-activation) and dcPrev (batch, H). */
  lstmCellBackward(
    act: Handle,
    cPrev: Handle,
    c: Handle,
    dh: Handle,
    dc: Handle | null,
    dGates: Handle,
    dcPrev: Handle,
    batch: number,
    hidden: number,
    dtype: DType,
  ): void;

  /**
   * GRU gate math for one step, torch's order r, z, n.
   * xg = x·W_ihᵀ + b_ih, hg = h·W_hhᵀ + b_hh, both (batch, 3H); hPrev (batch, H).
   * r = σ(xr+hr), z = σ(xz+hz), n = tanh(xn + r·hn), h = (1-z)·n + z·hPrev.
   * saved (batch, 4H) = [r, z, n, hn].
   */
  gruCell(xg: Handle, hg: Handle, hPrev: Handle, h: Handle, saved: Handle, batch: number, hidden: number, dtype: DType): void;
  /** From dh: dxg, dhg (batch, 3H) and the direct part of dhPrev (= dh·z; the op layer adds dhg·W_hh). */
  gruCellBackward(
    saved: Handle,
    hPrev: Handle,
    dh: Handle,
    dxg: Handle,
    dhg: Handle,
    dhPrev: Handle,
    batch: number,
    hidden: number,
    dtype: DType,
  ): void;

  /**
   * Philox4x32-10 uniform in [low, high): element i uses counter (offset + floor(i/4)), word i%4,
   * key (seed low 32 bits, seed high 32 bits); u = (word >>> 8) * 2^-24.
   */
  randUniform(out: Handle, n: number, seed: number, offset: number, low: number, high: number, dtype: DType): void;
  /**
   * Philox normal: element i uses counter (offset + floor(i/2)), words w0, w1;
   * u1 = ((w0 >>> 8) + 1) * 2^-24, u2 = (w1 >>> 8) * 2^-24; r = sqrt(-2 ln u1);
   * even i: mean + std·r·cos(2πu2), odd i: mean + std·r·sin(2πu2).
   */
  randNormal(out: Handle, n: number, seed: number, offset: number, mean: number, std: number, dtype: DType): void;
  /** Dropout mask from the uniform stream: mask[i] = u_i >= p ? 1/(1-p) : 0. */
  dropoutMask(mask: Handle, n: number, p: number, seed: number, offset: number, dtype: DType): void;

  /** Fused SGD over a list of tensors, in place on params (and momentum buffers). */
  sgdStep(params: Handle[], grads: Handle[], momentumBufs: Handle[] | null, numels: number[], h: SgdHyper, dtype: DType): void;
  /** Fused Adam / AdamW (h.decoupled) / amsgrad (maxExpAvgSq given), in place on params, expAvg, expAvgSq, maxExpAvgSq. */
  adamStep(
    params: Handle[],
    grads: Handle[],
    expAvg: Handle[],
    expAvgSq: Handle[],
    maxExpAvgSq: Handle[] | null,
    numels: number[],
    h: AdamHyper,
    dtype: DType,
  ): void;
  /** Fused RMSprop (momentum buffers when h.momentum > 0, gradAvg when h.centered), in place on params and state. */
  rmspropStep(
    params: Handle[],
    grads: Handle[],
    squareAvg: Handle[],
    momentumBufs: Handle[] | null,
    gradAvg: Handle[] | null,
    numels: number[],
    h: RmspropHyper,
    dtype: DType,
  ): void;
  /** Fused Adagrad, in place on params and stateSum. */
  adagradStep(params: Handle[], grads: Handle[], stateSum: Handle[], numels: number[], h: AdagradHyper, dtype: DType): void;
}

export type KernelName = keyof KernelFns;
/** A backend's kernel table: the compiler lists any kernel a backend lacks. */
export type Kernels = { [K in KernelName]: KernelFns[K] };

/** Which kernels are the backward of which (documentation and test coverage). */
export const BACKWARD_OF: Partial<Record<KernelName, KernelName[]>> = {
  unary: ['unaryGrad'],
  conv2d: ['conv2dGradInput', 'conv2dGradWeight'],
  maxPool2d: ['maxPool2dBackward'],
  avgPool2d: ['avgPool2dBackward'],
  adaptiveAvgPool2d: ['adaptiveAvgPool2dBackward'],
  indexSelect: ['indexSelectBackward'],
  gather: ['gatherBackward'],
  softmax: ['softmaxBackward'],
  crossEntropy: ['crossEntropyBackward'],
  layerNorm: ['layerNormBackward'],
  batchNorm: ['batchNormBackward'],
  lstmCell: ['lstmCellBackward'],
  gruCell: ['gruCellBackward'],
};

export type BackendName = 'js' | 'cuda';

export interface BackendMemory {
  /** bytes held by live storage */
  allocated: number;
  /** high-water mark of `allocated` */
  peak: number;
  /** bytes cached for reuse by the allocator (cuda: its pool; js: freed arrays kept by size) */
  cached: number;
  /** allocator cap in bytes, or null when none */
  limit: number | null;
}

export interface Backend {
  readonly name: BackendName;
  /** 'cpu' for js, 'cuda:N' for cuda */
  readonly device: string;
  readonly kernels: Kernels;
  /** the most elements one storage may hold (checked by the op layer before alloc); none if absent */
  readonly maxElements?: number;
  /** Storage for n elements of dtype; contents undefined. Throws OutOfMemoryError on cuda. */
  alloc(numel: number, dtype: DType): Handle;
  /** Returns storage to the backend. Idempotent per handle is not required: the tensor layer frees once. */
  free(h: Handle): void;
  /** Copies host data into the storage (data.length elements). */
  upload(h: Handle, data: TypedArray, dtype: DType): void;
  /** Resolves with a host copy of the first numel elements, without blocking the event loop. */
  read(h: Handle, dtype: DType, numel: number): Promise<TypedArray>;
  /** Blocking host copy. */
  readSync(h: Handle, dtype: DType, numel: number): TypedArray;
  /** Waits for all queued work (no-op on js). */
  synchronize(): void;
  memory(): BackendMemory;
}
