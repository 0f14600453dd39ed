// Tensor: shape, dtype, device, a refcounted storage handle, and autograd fields. It never touches
// numbers itself: every method delegates to an op (lib/ops) or to the backend for readback.

import type { Backend, Handle } from './backend/kernels.js';
import type { DType, TypedArray } from './dtype.js';
import { isFloat } from './dtype.js';
import { type Storage, countTensor, finalizer, track, keep as keepTensor } from './memory.js';
import { fmtShape, numel as numelOf, sameShape, type Shape } from './shape.js';
import type { Node } from './autograd/node.js';
import * as ops from './ops/index.js';
import { backward as runBackward, registerRetainGrad, type BackwardOptions } from './autograd/engine.js';
import { syncView } from './autograd/views.js';

export type NestedArray = number | NestedArray[];
export type Scalar = number;
export type TensorLike = Tensor | number;

let nextTensorId = 0;

// `using t = ...` needs Symbol.dispose, which lib.esnext.disposable (and @types/node) declare. Declared here
// too so that the emitted .d.ts type-checks for a consumer on target ES2022 without either
// (skipLibCheck: false; test/native/pack.test.ts); the declarations merge where both exist.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

export class Tensor {
  readonly id = nextTensorId++;
  /** null once disposed */
  private _storage: Storage | null;
  readonly shape: readonly number[];
  private _dtype: DType;
  private _requiresGrad = false;
  private _grad: Tensor | null = null;
  /** @internal the raw history field (gradFn syncs a stale view first) */
  _gradFn: Node | null = null;
  /**
   * @internal for a view made by reshape while recording grad: the tensor it views (torch's _base)
   * and the storage version its history was last made for. When an in-place op changes the shared
   * storage, the view's history is remade lazily as reshape(base) (lib/autograd/views.ts).
   */
  _base: Tensor | null = null;
  _viewVersion = 0;
  /** which output of gradFn this tensor is */
  outputIndex = 0;
  /** keep .grad on a non-leaf */
  retainsGrad = false;
  /** registered with the GC safety net (finalizer): only while outside every tidy scope (memory.ts) */
  private _armed = false;

  /** @internal use the creation functions (tensor, zeros, ...). Takes ownership of one storage reference. */
  constructor(storage: Storage, shape: Shape, dtype: DType) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this._dtype = dtype;
    countTensor(1);
    if (!track(this)) this._escaped();
  }

  /** @internal arms the GC safety net: this tensor now lives outside every tidy scope (memory.ts) */
  _escaped(): void {
    if (this._armed || this._storage === null) return;
    this._armed = true;
    finalizer.register(this, this._storage, this);
  }

  // ---- identity -----------------------------------------------------------------------------
  get dtype(): DType {
    return this._dtype;
  }
  get device(): string {
    return this.storage.backend.device;
  }
  get backend(): Backend {
    return this.storage.backend;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return numelOf(this.shape);
  }
  numel(): number {
    return numelOf(this.shape);
  }
  /** the node that produced this tensor, null for leaves */
  get gradFn(): Node | null {
    if (this._base !== null) syncView(this);
    return this._gradFn;
  }
  set gradFn(n: Node | null) {
    this._gradFn = n;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get isDisposed(): boolean {
    return this._storage === null;
  }
  /** @internal the refcounted storage; throws on a disposed tensor */
  get storage(): Storage {
    if (this._storage === null) throw new Error(`tensor ${fmtShape(this.shape)} ${this.dtype} was used after dispose()`);
    return this._storage;
  }
  /** @internal the backend handle */
  get handle(): Handle {
    return this.storage.handle;
  }

  /** accumulated gradient (leaf tensors, or non-leaves after retainGrad()); assign null or a tensor of this shape, dtype and device */
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null && g !== undefined) {
      if (!((g as unknown) instanceof Tensor))
        throw new TypeError(
          `grad: assigned grad must be a Tensor or null, got ${describe(g)} (for tensor ${fmtShape(this.shape)} ${this.dtype})`,
        );
      if (!sameShape(g.shape, this.shape))
        throw new RangeError(`grad: assigned grad has shape ${fmtShape(g.shape)}, but the tensor is ${fmtShape(this.shape)}`);
      if (g.dtype !== this.dtype)
        throw new TypeError(`grad: assigned grad is ${g.dtype}, but the tensor is ${this.dtype} (cast it with .to('${this.dtype}'))`);
      if (!g.isDisposed && !this.isDisposed && g.device !== this.device)
        throw new Error(`grad: assigned grad is on ${g.device}, but the tensor is on ${this.device}`);
    }
    this._grad = g ?? null;
  }
  /** How many in-place writes this tensor's storage has seen (shared with its views; torch's _version). */
  get version(): number {
    return this.storage.version;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (v && !isFloat(this.dtype))
      throw new TypeError(`requiresGrad: only floating point tensors can require gradients (got ${this.dtype})`);
    if (!v && this.gradFn) throw new Error('requiresGrad: cannot clear requiresGrad on a non-leaf tensor; use detach()');
    this._requiresGrad = v;
  }
  /** Sets requiresGrad and returns this (like torch's requires_grad_). */
  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }
  /** Keeps .grad on a non-leaf tensor after backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    registerRetainGrad(this);
    return this;
  }

  // ---- memory -------------------------------------------------------------------------------
  /** Frees this tensor's reference to its storage (views share storage) and its .grad. Idempotent. */
  dispose(): void {
    const s = this._storage;
    if (s === null) return;
    this._storage = null;
    if (this.grad) {
      const g = this.grad;
      this.grad = null;
      g.dispose();
    }
    if (this._armed) {
      this._armed = false;
      finalizer.unregister(this);
    }
    countTensor(-1);
    s.release();
    const n = this._gradFn;
    if (n) {
      this._gradFn = null;
      n.unref();
    }
    this._base = null;
  }
  /**
   * @internal Makes this leaf use src's storage (and dtype, device) in place, keeping its identity,
   * requiresGrad and .grad (Module.to moves parameters this way so optimizers keep their references).
   * Shapes must match; src stays valid (the storage is shared).
   */
  _replaceStorage(src: Tensor): void {
    if (this.gradFn) throw new Error('_replaceStorage: only leaf tensors can have their storage replaced');
    if (!sameShape(this.shape, src.shape)) {
      throw new RangeError(`_replaceStorage: shape ${fmtShape(src.shape)} does not match ${fmtShape(this.shape)}`);
    }
    if (this._requiresGrad && !isFloat(src.dtype))
      throw new TypeError(`_replaceStorage: a tensor that requires grad cannot become ${src.dtype}`);
    const next = src.storage.retain();
    const old = this.storage;
    this._storage = next;
    this._dtype = src.dtype;
    if (this._armed) {
      finalizer.unregister(this);
      finalizer.register(this, next, this);
    }
    old.release();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** Survives enclosing tidy() scopes. */
  keep(): this {
    return keepTensor(this);
  }

  // ---- readback -----------------------------------------------------------------------------
  /** A host copy of the values, without blocking the event loop. */
  async data(): Promise<TypedArray> {
    const s = this.storage;
    return s.backend.read(s.handle, this.dtype, this.size);
  }
  /** A host copy of the values (blocks until queued GPU work is done). */
  dataSync(): TypedArray {
    const s = this.storage;
    return s.backend.readSync(s.handle, this.dtype, this.size);
  }
  /** Nested JS arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }
  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item: tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, expected 1`);
    return this.dataSync()[0]!;
  }
  /** console.log(t) and util.inspect print what String(t) does. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
  toString(): string {
    const preview = this.isDisposed ? 'disposed' : this.size <= 32 ? JSON.stringify(this.toArray()) : `${this.size} elements`;
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.isDisposed ? '?' : this.device}${this.requiresGrad ? ', requiresGrad' : ''}) ${preview}`;
  }

  // ---- autograd -----------------------------------------------------------------------------
  /** Accumulates d(this)/d(leaf) into every leaf's .grad. A non-scalar needs `grad`. */
  backward(grad?: Tensor | null, options?: BackwardOptions): void {
    runBackward(this, grad ?? null, options);
  }
  /** A tensor sharing storage with this one, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage.retain(), this.shape, this.dtype);
  }

  /**
   * @internal Makes this tensor the output `index` of `node` (an in-place op rewrote its values
   * and history); takes a new reference on node and drops the one on the old history.
   */
  _setHistory(node: Node, index: number): void {
    const old = this._gradFn;
    node.refs++;
    this._gradFn = node;
    this.outputIndex = index;
    this._requiresGrad = true;
    if (this._storage) this._viewVersion = this._storage.version;
    if (old) old.unref();
  }

  // ---- in-place (torch's trailing underscore): write this tensor's storage, return this ----------
  /** this += alpha·o */
  add_(o: TensorLike, alpha?: number): this {
    return (ops.addInplace(this, o, alpha), this);
  }
  /** this -= alpha·o */
  sub_(o: TensorLike, alpha?: number): this {
    return (ops.subInplace(this, o, alpha), this);
  }
  mul_(o: TensorLike): this {
    return (ops.mulInplace(this, o), this);
  }
  div_(o: TensorLike): this {
    return (ops.divInplace(this, o), this);
  }
  clamp_(min?: number | null, max?: number | null): this {
    return (ops.clampInplace(this, min, max), this);
  }
  fill_(value: number): this {
    return (ops.fillInplace(this, value), this);
  }
  zero_(): this {
    return (ops.fillInplace(this, 0, 'zero_'), this);
  }
  /** Copies src into this (broadcast to this shape, cast to this dtype, moved to this device). */
  copy_(src: Tensor): this {
    return (ops.copyInplace(this, src), this);
  }
  /** Fills with U[low, high) from the Philox stream. */
  uniform_(low = 0, high = 1): this {
    return (ops.uniformInplace(this, low, high), this);
  }
  /** Fills with N(mean, std²) from the Philox stream. */
  normal_(mean = 0, std = 1): this {
    return (ops.normalInplace(this, mean, std), this);
  }

  // ---- devices and dtypes -------------------------------------------------------------------
  to(deviceOrDtype: string | DType): Tensor {
    return ops.to(this, deviceOrDtype);
  }
  cpu(): Tensor {
    return ops.to(this, 'cpu');
  }
  cuda(): Tensor {
    return ops.to(this, 'cuda');
  }
  cast(dtype: DType | 'int64'): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, 'float32');
  }
  double(): Tensor {
    return ops.cast(this, 'float64');
  }
  int(): Tensor {
    return ops.cast(this, 'int32');
  }
  /** torch's .long(): int32 here (wattgrad's integer dtype; values past int32 wrap like .int()). */
  long(): Tensor {
    return ops.cast(this, 'int32');
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  contiguous(): Tensor {
    return this;
  }

  // ---- elementwise --------------------------------------------------------------------------
  add(o: TensorLike, alpha?: number): Tensor {
    return ops.add(this, o, alpha);
  }
  sub(o: TensorLike, alpha?: number): Tensor {
    return ops.sub(this, o, alpha);
  }
  mul(o: TensorLike): Tensor {
    return ops.mul(this, o);
  }
  div(o: TensorLike): Tensor {
    return ops.div(this, o);
  }
  pow(o: TensorLike): Tensor {
    return ops.pow(this, o);
  }
  maximum(o: TensorLike): Tensor {
    return ops.maximum(this, o);
  }
  minimum(o: TensorLike): Tensor {
    return ops.minimum(this, o);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  log1p(): Tensor {
    return ops.log1p(this);
  }
  expm1(): Tensor {
    return ops.expm1(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  floor(): Tensor {
    return ops.floor(this);
  }
  ceil(): Tensor {
    return ops.ceil(this);
  }
  round(): Tensor {
    return ops.round(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return ops.gelu(this, approximate);
  }
  silu(): Tensor {
    return ops.silu(this);
  }
  softplus(): Tensor {
    return ops.softplus(this);
  }
  leakyRelu(slope = 0.01): Tensor {
    return ops.leakyRelu(this, slope);
  }
  elu(alpha = 1): Tensor {
    return ops.elu(this, alpha);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return ops.clamp(this, min, max);
  }
  eq(o: TensorLike): Tensor {
    return ops.eq(this, o);
  }
  ne(o: TensorLike): Tensor {
    return ops.ne(this, o);
  }
  lt(o: TensorLike): Tensor {
    return ops.lt(this, o);
  }
  le(o: TensorLike): Tensor {
    return ops.le(this, o);
  }
  gt(o: TensorLike): Tensor {
    return ops.gt(this, o);
  }
  ge(o: TensorLike): Tensor {
    return ops.ge(this, o);
  }
  where(cond: Tensor, other: TensorLike): Tensor {
    return ops.where(cond, this, other);
  }

  // ---- reductions ---------------------------------------------------------------------------
  sum(dim?: number | number[] | null, keepdim = false): Tensor {
    return ops.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[] | null, keepdim = false): Tensor {
    return ops.mean(this, dim, keepdim);
  }
  max(dim?: number | null, keepdim = false): Tensor {
    return ops.max(this, dim, keepdim);
  }
  min(dim?: number | null, keepdim = false): Tensor {
    return ops.min(this, dim, keepdim);
  }
  argmax(dim?: number | null, keepdim = false): Tensor {
    return ops.argmax(this, dim, keepdim);
  }
  argmin(dim?: number | null, keepdim = false): Tensor {
    return ops.argmin(this, dim, keepdim);
  }
  var(dim?: number | number[] | null, keepdim = false, correction = 1): Tensor {
    return ops.variance(this, dim, keepdim, correction);
  }
  std(dim?: number | number[] | null, keepdim = false, correction = 1): Tensor {
    return ops.std(this, dim, keepdim, correction);
  }
  logsumexp(dim: number, keepdim = false): Tensor {
    return ops.logsumexp(this, dim, keepdim);
  }
  norm(p = 2, dim?: number | number[] | null, keepdim = false): Tensor {
    return ops.norm(this, p, dim, keepdim);
  }

  // ---- shape --------------------------------------------------------------------------------
  reshape(...shape: (number | number[])[]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  view(...shape: (number | number[])[]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return ops.flatten(this, startDim, endDim);
  }
  squeeze(dim?: number): Tensor {
    return ops.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  transpose(dim0 = 0, dim1 = 1): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  /** 2-D transpose (like torch's .t()); 0-D and 1-D tensors are returned as they are. */
  t(): Tensor {
    return this.ndim < 2 ? ops.clone(this) : ops.transpose(this, 0, 1);
  }
  get T(): Tensor {
    return ops.permute(
      this,
      this.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  permute(...dims: (number | number[])[]): Tensor {
    return ops.permute(this, flatArgs(dims));
  }
  expand(...shape: (number | number[])[]): Tensor {
    return ops.expand(this, flatArgs(shape));
  }
  broadcastTo(shape: number[]): Tensor {
    return ops.expand(this, shape);
  }
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    return ops.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.slice(this, dim, start, start + length);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return ops.gather(this, dim, index);
  }
  split(size: number | number[], dim = 0): Tensor[] {
    return ops.split(this, size, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return ops.chunk(this, chunks, dim);
  }
  /** Row i of dim 0 (like x[i]), or one index along `dim`, removing that dim. */
  select(dim: number, index: number): Tensor {
    return ops.select(this, dim, index);
  }

  // ---- linear algebra and nn ----------------------------------------------------------------
  matmul(o: Tensor): Tensor {
    return ops.matmul(this, o);
  }
  mm(o: Tensor): Tensor {
    return ops.matmul(this, o);
  }
  softmax(dim = -1): Tensor {
    return ops.softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return ops.logSoftmax(this, dim);
  }
}

function describe(v: unknown): string {
  if (typeof v !== 'object') return `${typeof v} ${String(v)}`;
  return (v as object).constructor?.name ?? 'an object';
}

function flatArgs(args: (number | number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...args[0]] : (args as number[]);
}

/** Row-major data as nested arrays of `shape` (toArray's layout; also the server's predictions). */
export function nest(data: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0]!;
  const rec = (off: number, d: number): NestedArray[] => {
    const n = shape[d]!;
    const out: NestedArray[] = new Array(n);
    if (d === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = data[off + i]!;
      return out;
    }
    const stride = numelOf(shape, d + 1);
    for (let i = 0; i < n; i++) out[i] = rec(off + i * stride, d + 1);
    return out;
  };
  return rec(0, 0);
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
