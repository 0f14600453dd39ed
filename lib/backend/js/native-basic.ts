// The js backend's fill, cast, where and argReduce kernels through the addon's CPU kernels
// (native/cpu/basic*.cc, entry points generated from native/manifest/cpu/basic.mjs) when it is
// loaded and carries them, else the pure-JS kernels of ./elementwise.ts and ./reduce.ts. Every
// host dtype (float32, float64, int32) is native; the results are the js kernels' to the bit
// (float -> int32 casts wrap like an Int32Array store, argmax / argmin take the first extremum and
// the first NaN, where's NaN condition is true), for any ISA and thread count.
//
// The js kernel runs instead when: WATTGRAD_CPU_KERNELS=js; the addon lacks these entries; a
// handle is not a js handle whose array is of its dtype; the output shares storage with an input
// (the native kernels split the work into tasks, the js loops run in order); or the call is small
// (NATIVE_MIN: the N-API call costs more than the js loop saves).

import type { CpuKernelBinding } from '../../../binding.js';
import type { ArgReduceOp, Handle, KernelFns } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farrOf, JsHandle, type AnyArray } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import { cast as jsCast, fill as jsFill, where as jsWhere } from './elementwise.js';
import { argReduce as jsArgReduce } from './reduce.js';

/** The addon's basic entry points (generated from native/manifest/cpu/basic.mjs into binding.d.ts). */
export type NativeBasicBinding = Pick<CpuKernelBinding, 'cpuFill' | 'cpuCast' | 'cpuWhere' | 'cpuArgReduce'>;

/** The addon's basic kernels, or null (no addon, one without them, WATTGRAD_CPU_KERNELS=js). */
export function nativeBasic(): NativeBasicBinding | null {
  const n = nativeCpu() as unknown as Partial<NativeBasicBinding> | null;
  return n && typeof n.cpuFill === 'function' && typeof n.cpuArgReduce === 'function' ? (n as NativeBasicBinding) : null;
}

/**
 * Below these element counts the js kernel runs. Measured per call (CPU time, 1 thread; see
 * bench/lib/basic.ts): TypedArray.prototype.fill is already a native loop, so fill only gains
 * from the pool's threads on large arrays; cast and where gain from a few hundred elements,
 * argReduce from a few dozen.
 */
const NATIVE_MIN = { fill: 1 << 18, cast: 512, where: 64, argReduce: 256 };
let min = { ...NATIVE_MIN };

/** Tests only: route every call of any size to the native kernels (true) or restore the thresholds. */
export function setNativeBasicAlwaysForTests(always: boolean): void {
  min = always ? { fill: 0, cast: 0, where: 0, argReduce: 0 } : { ...NATIVE_MIN };
}

/** The typed array behind h when it is a js handle holding exactly `dtype`, else null. */
function hostArr(h: Handle, dtype: DType): AnyArray | null {
  if (dtype !== 'int32') return farrOf(h, dtype);
  return h instanceof JsHandle && h.data instanceof Int32Array ? h.data : null;
}

export const fill: KernelFns['fill'] = (out, n, value, dtype) => {
  const nat = n >= min.fill ? nativeBasic() : null;
  const O = nat !== null ? hostArr(out, dtype) : null;
  if (O !== null && n <= O.length) return nat!.cpuFill(O, n, value);
  jsFill(out, n, value, dtype);
};

export const cast: KernelFns['cast'] = (x, out, n, from, to) => {
  const nat = n >= min.cast ? nativeBasic() : null;
  const X = nat !== null ? hostArr(x, from) : null,
    O = X !== null ? hostArr(out, to) : null;
  if (O !== null && O.buffer !== X!.buffer) {
    if (O instanceof Float32Array) return nat!.cpuCast(X!, O, null, null, n);
    if (O instanceof Float64Array) return nat!.cpuCast(X!, null, O, null, n);
    return nat!.cpuCast(X!, null, null, O, n);
  }
  jsCast(x, out, n, from, to);
};

const dims = new Int32Array(64); // [shape, condStrides, aStrides, bStrides], reused (the call is synchronous)

export const where: KernelFns['where'] = (cond, a, b, out, outShape, condStrides, aStrides, bStrides, condDtype, dtype) => {
  const nat = nativeBasic();
  const nd = outShape.length;
  if (nat !== null && nd <= 16 && condStrides.length === nd && aStrides.length === nd && bStrides.length === nd) {
    let n = 1;
    for (let d = 0; d < nd; d++) n *= outShape[d]!;
    const C = n >= min.where ? hostArr(cond, condDtype) : null,
      A = C !== null ? hostArr(a, dtype) : null,
      B = A !== null ? hostArr(b, dtype) : null,
      O = B !== null ? hostArr(out, dtype) : null;
    if (O !== null && O.buffer !== A!.buffer && O.buffer !== B!.buffer && O.buffer !== C!.buffer) {
      for (let d = 0; d < nd; d++) {
        dims[d] = outShape[d]!;
        dims[nd + d] = condStrides[d]!;
        dims[2 * nd + d] = aStrides[d]!;
        dims[3 * nd + d] = bStrides[d]!;
      }
      const cF = C instanceof Float32Array ? C : null,
        cD = C instanceof Float64Array ? C : null,
        cI = C instanceof Int32Array ? C : null;
      return nat.cpuWhere(cF, cD, cI, A!, B!, O, nd, dims);
    }
  }
  jsWhere(cond, a, b, out, outShape, condStrides, aStrides, bStrides, condDtype, dtype);
};

const isArgOp = (op: ArgReduceOp): boolean => op === 'argmax' || op === 'argmin';

export const argReduce: KernelFns['argReduce'] = (op, x, out, outer, r, inner, dtype) => {
  const nat = outer * r * inner >= min.argReduce && isArgOp(op) ? nativeBasic() : null;
  const X = nat !== null ? hostArr(x, dtype) : null,
    O = X !== null && out instanceof JsHandle && out.data instanceof Int32Array ? out.data : null;
  if (O !== null && O.buffer !== X!.buffer) return nat!.cpuArgReduce(op === 'argmin', X!, O, outer, r, inner);
  jsArgReduce(op, x, out, outer, r, inner, dtype);
};
