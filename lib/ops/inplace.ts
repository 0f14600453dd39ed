// In-place ops (torch's trailing underscore: add_, mul_, fill_, copy_, uniform_, ...): they write
// the tensor's own storage, so every view of it sees the new values, and bump the storage's
// version counter, so a backward that would read a value saved before the write refuses to run.
//
// Two paths:
// - nothing to record (grad mode off, or no operand requires grad): one kernel writes the storage
//   directly (elementwise kernels read and write the same index, so out may alias an input);
// - recording: the out-of-place op computes the new value and records its backward as usual
//   (on a clone of the tensor when that backward needs the old value), the result is copied into
//   the storage and the tensor takes over its history (torch's rebase_history). A reshape view's
//   base is rebased too (base = reshape(new value)); every other view of the storage remakes its
//   history from the base when next used (lib/autograd/views.ts).
//
// Like torch, an in-place op on a leaf that requires grad (or a view of one) is an error while
// grad mode is on: write parameters inside noGrad(), as optimizers and nn.init do.

import { isGradEnabled } from '../autograd/mode.js';
import { needsGrad, record } from '../autograd/record.js';
import { fitsInt32, int32Overflow, isFloat, promote, type DType } from '../dtype.js';
import { bumpVersion } from '../memory.js';
import { takeCounters } from '../random.js';
import { broadcastShapes, broadcastStrides, fmtShape, sameShape, stridesOf } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { add, cast, clamp, clone, div, mul, sub, to, unaryRaw } from './elementwise.js';
import { expand, reshape } from './shape.js';
import { fillValue, full, zerosLike } from './creation.js';
import { launch, nbytes, sameDevice } from './util.js';

// ---- checks -----------------------------------------------------------------------------------

function checkTarget(op: string, self: Tensor): void {
  if (!(self instanceof Tensor)) throw new TypeError(`${op}: expected a tensor, got ${typeof self}`);
  const s = self.storage; // throws on a disposed tensor
  if (!isGradEnabled()) return;
  if (self.requiresGrad && self.isLeaf) {
    throw new Error(
      `${op}: a leaf tensor that requires grad (${fmtShape(self.shape)} ${self.dtype}) is being used in an in-place operation; ` +
        `write it inside noGrad(() => ...) (as optimizers and nn.init do), or use the out-of-place op`,
    );
  }
  const b = liveBase(self, s);
  if (b && b.requiresGrad && b.isLeaf) {
    throw new Error(
      `${op}: a view of a leaf tensor that requires grad (${fmtShape(b.shape)} ${b.dtype}) is being used in an in-place operation; ` +
        `write it inside noGrad(() => ...), or use the out-of-place op`,
    );
  }
}

/** The base a reshape view still shares its storage with, if any. */
function liveBase(self: Tensor, s = self.storage): Tensor | null {
  const b = self._base;
  return b && !b.isDisposed && b.storage === s ? b : null;
}

/** In torch an in-place result keeps the tensor's dtype: a float result cannot go into int32. */
function checkResultDtype(op: string, self: Tensor, result: DType): void {
  if (!isFloat(self.dtype) && isFloat(result)) {
    throw new TypeError(
      `${op}: the result type ${result} can't be cast to the tensor's ${self.dtype} in place; use the out-of-place op, or cast first (.float())`,
    );
  }
}

function checkScalar(op: string, self: Tensor, v: number): void {
  if (typeof v !== 'number') throw new TypeError(`${op}: expected a tensor or a number, got ${typeof v}`);
  if (self.dtype === 'int32' && Number.isInteger(v) && !fitsInt32(v)) int32Overflow(op, v);
}

/** The other operand must broadcast to self's shape (the output cannot grow in place). */
function checkOther(op: string, self: Tensor, other: Tensor): void {
  if (!(other instanceof Tensor)) throw new TypeError(`${op}: expected a tensor or a number, got ${typeof other}`);
  sameDevice(op, self, other);
  const shape = broadcastShapes(op, self.shape, other.shape);
  if (!sameShape(shape, self.shape)) {
    throw new RangeError(
      `${op}: output with shape ${fmtShape(self.shape)} doesn't match the broadcast shape ${fmtShape(shape)} (an in-place op cannot change the tensor's shape)`,
    );
  }
}

// ---- commit -----------------------------------------------------------------------------------

function written(self: Tensor, op: string): void {
  bumpVersion(self.storage, op);
}

/**
 * Recording path: `out` (self's shape, recorded) is the new value. Copies it into self's storage
 * and makes it self's history, and each view's history a reshape of it.
 */
function commit(op: string, self: Tensor, out: Tensor): void {
  let v = out;
  if (v.dtype !== self.dtype) v = cast(out, self.dtype);
  const n = self.size;
  if (n) launch(self.backend, 'stridedCopy', 0, nbytes(2 * n, self.dtype), v.handle, self.handle, [n], [1], 0, [1], 0, self.dtype, false);
  written(self, op);
  if (v.gradFn) {
    self._setHistory(v.gradFn, v.outputIndex);
    // a view's base is reshape(new value) now; the base's other views follow it lazily
    const base = liveBase(self);
    if (base) {
      const r = reshape(v, base.shape);
      base._setHistory(r.gradFn!, r.outputIndex);
      r.dispose();
    }
  }
  if (v !== out) v.dispose();
  out.dispose();
}

/** Records `op` as a node whose new value does not depend on self (fill_, copy_, random): self's old history gets a zero gradient, like torch. */
function recordOverwrite(op: string, self: Tensor, value: Tensor, src: Tensor | null): void {
  record(op, [value], [self, src], ([g]) => [self.requiresGrad ? zerosLike(g!) : null, src ? g! : null]);
}

// ---- arithmetic -------------------------------------------------------------------------------

type Arith = 'add_' | 'sub_' | 'mul_' | 'div_';

function arith(op: Arith, self: Tensor, o: TensorLike, alpha = 1): void {
  checkTarget(op, self);
  if (typeof alpha !== 'number') throw new TypeError(`${op}: alpha must be a number, got ${typeof alpha}`);
  const scalar = typeof o === 'number';
  if (scalar) {
    checkScalar(op, self, o);
    const v = op === 'add_' || op === 'sub_' ? o * alpha : o;
    const intOk = op !== 'div_' && Number.isInteger(v);
    checkResultDtype(op, self, isFloat(self.dtype) || intOk ? self.dtype : 'float32');
  } else {
    checkOther(op, self, o);
    checkResultDtype(op, self, op === 'div_' && !isFloat(o.dtype) && !isFloat(self.dtype) ? 'float32' : promote(self.dtype, o.dtype));
    if (alpha !== 1 && !isFloat(self.dtype) && !Number.isInteger(alpha)) checkResultDtype(op, self, 'float32');
  }
  const other = scalar ? null : o;
  if (!needsGrad(self, other)) {
    direct(op, self, o, alpha);
    written(self, op);
    return;
  }
  // mul_ by a tensor that requires grad saves self for that grad: compute from a clone, so what
  // is saved is the old value and not the storage about to be overwritten (torch's original_self)
  const src = op === 'mul_' && other?.requiresGrad ? clone(self) : self;
  const out = op === 'add_' ? add(src, o, alpha) : op === 'sub_' ? sub(src, o, alpha) : op === 'mul_' ? mul(src, o) : div(src, o);
  if (src !== self) src.dispose();
  commit(op, self, out);
}

/** One kernel straight into self's storage (nothing to record). */
function direct(op: Arith, self: Tensor, o: TensorLike, alpha: number): void {
  const be = self.backend;
  const n = self.size;
  const h = self.handle;
  const dt = self.dtype;
  if (typeof o === 'number') {
    if (!n) return;
    // the same scalar kernels as the out-of-place ops, so both give identical values
    const [k, a] =
      op === 'add_'
        ? (['add_scalar', o * alpha] as const)
        : op === 'sub_'
          ? (['add_scalar', -o * alpha] as const)
          : op === 'mul_'
            ? (['mul_scalar', o] as const)
            : (['mul_scalar', 1 / o] as const);
    launch(be, 'unary', n, nbytes(2 * n, dt), k, h, h, n, dt, a, 0);
    return;
  }
  let b = o.dtype === dt ? o : cast(o, dt);
  if (alpha !== 1) {
    const s = mul(b, alpha);
    if (b !== o) b.dispose();
    b = s;
  }
  const shape = [...self.shape];
  const kernel = op === 'add_' ? 'add' : op === 'sub_' ? 'sub' : op === 'mul_' ? 'mul' : 'div';
  if (n)
    launch(
      be,
      'binary',
      n,
      nbytes(2 * n + b.size, dt),
      kernel,
      h,
      b.handle,
      h,
      shape,
      stridesOf(shape),
      broadcastStrides(b.shape, shape),
      dt,
    );
  if (b !== o) b.dispose();
}

export function addInplace(self: Tensor, o: TensorLike, alpha = 1): Tensor {
  arith('add_', self, o, alpha);
  return self;
}
export function subInplace(self: Tensor, o: TensorLike, alpha = 1): Tensor {
  arith('sub_', self, o, alpha);
  return self;
}
export function mulInplace(self: Tensor, o: TensorLike): Tensor {
  arith('mul_', self, o);
  return self;
}
export function divInplace(self: Tensor, o: TensorLike): Tensor {
  arith('div_', self, o);
  return self;
}

/** Clamps to [min, max] in place; the gradient passes where min ≤ x ≤ max. */
export function clampInplace(self: Tensor, min?: number | null, max?: number | null): Tensor {
  const op = 'clamp_';
  checkTarget(op, self);
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (typeof lo !== 'number' || typeof hi !== 'number') throw new TypeError(`${op}: min and max must be numbers or null`);
  if (lo > hi) throw new RangeError(`${op}: min ${lo} is greater than max ${hi}`);
  if (!isFloat(self.dtype) && ((Number.isFinite(lo) && !Number.isInteger(lo)) || (Number.isFinite(hi) && !Number.isInteger(hi)))) {
    checkResultDtype(op, self, 'float32');
  }
  if (!needsGrad(self)) {
    const n = self.size;
    if (n) launch(self.backend, 'unary', n, nbytes(2 * n, self.dtype), 'clamp', self.handle, self.handle, n, self.dtype, lo, hi);
    written(self, op);
    return self;
  }
  const src = clone(self); // clamp's backward needs the old values
  const out = clamp(src, min, max);
  src.dispose();
  commit(op, self, out);
  return self;
}

// ---- overwrites -------------------------------------------------------------------------------

/** Every element ← value (int32: truncated toward zero, overflow refused). */
export function fillInplace(self: Tensor, value: number, op = 'fill_'): Tensor {
  checkTarget(op, self);
  const v = fillValue(op, value, self.dtype);
  const n = self.size;
  if (!needsGrad(self)) {
    if (n) launch(self.backend, 'fill', 0, nbytes(n, self.dtype), self.handle, n, v, self.dtype);
    written(self, op);
    return self;
  }
  const out = full(self.shape, v, { dtype: self.dtype, device: self.device });
  recordOverwrite(op, self, out, null);
  commit(op, self, out);
  return self;
}

/** self ← src, broadcast to self's shape, cast to its dtype and moved to its device; the gradient flows to src. */
export function copyInplace(self: Tensor, src: Tensor): Tensor {
  const op = 'copy_';
  checkTarget(op, self);
  if (!(src instanceof Tensor)) throw new TypeError(`${op}: src must be a tensor, got ${typeof src}`);
  const shape = broadcastShapes(op, self.shape, src.shape);
  if (!sameShape(shape, self.shape)) {
    throw new RangeError(`${op}: src of shape ${fmtShape(src.shape)} cannot be broadcast to the tensor's shape ${fmtShape(self.shape)}`);
  }
  if (!needsGrad(self, src)) {
    let s = src;
    if (s.device !== self.device) s = to(s, self.device);
    if (s.dtype !== self.dtype) {
      const c = cast(s, self.dtype);
      if (s !== src) s.dispose();
      s = c;
    }
    const n = self.size;
    const dst = [...self.shape];
    if (n)
      launch(
        self.backend,
        'stridedCopy',
        0,
        nbytes(n + s.size, self.dtype),
        s.handle,
        self.handle,
        dst,
        broadcastStrides(s.shape, dst),
        0,
        stridesOf(dst),
        0,
        self.dtype,
        false,
      );
    if (s !== src) s.dispose();
    written(self, op);
    return self;
  }
  // recorded: to → cast → expand are differentiable, then one node routes g to src only
  const moved = src.device === self.device ? src : to(src, self.device);
  const casted = moved.dtype === self.dtype ? moved : cast(moved, self.dtype);
  const full_ = sameShape(casted.shape, self.shape) ? clone(casted) : expand(casted, [...self.shape]);
  if (casted !== moved) casted.dispose();
  if (moved !== src) moved.dispose();
  const value = unaryRaw('mul_scalar', full_, 1);
  recordOverwrite(op, self, value, full_.requiresGrad ? full_ : null);
  full_.dispose();
  commit(op, self, value);
  return self;
}

function randomInplace(op: 'uniform_' | 'normal_', self: Tensor, a: number, b: number): Tensor {
  checkTarget(op, self);
  if (!isFloat(self.dtype)) throw new TypeError(`${op}: needs a floating point tensor, got ${self.dtype} ${fmtShape(self.shape)}`);
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new RangeError(`${op}: ${op === 'uniform_' ? 'low and high' : 'mean and std'} must be finite numbers, got ${a}, ${b}`);
  }
  if (op === 'uniform_' && a > b) throw new RangeError(`uniform_: low ${a} is greater than high ${b}`);
  if (op === 'normal_' && b < 0) throw new RangeError(`normal_: std must be >= 0, got ${b}`);
  const write = (t: Tensor): void => {
    const n = t.size;
    if (!n) return;
    if (op === 'uniform_') {
      const { seed, offset } = takeCounters(n / 4);
      launch(t.backend, 'randUniform', n, nbytes(n, t.dtype), t.handle, n, seed, offset, a, b, t.dtype);
    } else {
      const { seed, offset } = takeCounters(n / 2);
      launch(t.backend, 'randNormal', 10 * n, nbytes(n, t.dtype), t.handle, n, seed, offset, a, b, t.dtype);
    }
  };
  if (!needsGrad(self)) {
    write(self);
    written(self, op);
    return self;
  }
  const out = full(self.shape, 0, { dtype: self.dtype, device: self.device });
  write(out);
  recordOverwrite(op, self, out, null);
  commit(op, self, out);
  return self;
}

/** self ← U[low, high) from the shared Philox stream (manualSeed reproduces it). */
export function uniformInplace(self: Tensor, low = 0, high = 1): Tensor {
  return randomInplace('uniform_', self, low, high);
}

/** self ← N(mean, std²) from the shared Philox stream. */
export function normalInplace(self: Tensor, mean = 0, std = 1): Tensor {
  return randomInplace('normal_', self, mean, std);
}
