// The pure-JS backend: storage is a typed array of the tensor's dtype, kernels are plain loops
// over it (see the family files). It is the reference the CUDA kernels are tested against.

import type { Backend, BackendMemory, Handle, Kernels } from '../kernels.js';
import { hostArray, type DType, type TypedArray } from '../../dtype.js';
import { JsHandle, hostDType } from './handle.js';
// fill, cast, where, argReduce: the addon's CPU kernels when loaded, else ./elementwise.js and ./reduce.js
import { argReduce, cast, fill, where } from './native-basic.js';
// the streaming kernels: the addon's CPU kernels when loaded (and the call is large enough), else ./elementwise.js, ./reduce.js, ./softmax.js, ./norm.js
import {
  addBiasAct,
  batchNorm,
  batchNormBackward,
  binary,
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  reduce,
  softmax,
  softmaxBackward,
  unary,
  unaryGrad,
} from './native-streaming.js';
import { stridedCopy } from './copy.js';
import { matmul } from './native-cpu.js'; // the addon's CPU kernel when loaded, else ./matmul.js
// conv2d and pooling: the addon's CPU kernels when loaded, else ./conv2d.js and ./pool.js
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  maxPool2dBackward,
} from './native-conv.js';
import { maxPool2d } from './native-pool.js'; // values only (no argmax) when no backward will read it
import { gather, gatherBackward, indexSelect, indexSelectBackward } from './indexing.js';
import { gruCell, gruCellBackward, lstmCell, lstmCellBackward } from './native-rnn.js'; // the addon's CPU kernels when loaded, else ./rnn.js
import { dropoutMask, randNormal, randUniform } from './random.js';
import { adagradStep, rmspropStep } from './optim.js';
import { adamStep, sgdStep } from './native-optim.js'; // the addon's CPU kernels when loaded, else ./optim.js

export { JsHandle } from './handle.js';
export { philox4x32, philox4x32Full } from './philox.js';

/** The kernel table; typed as Kernels so a missing kernel is a compile error. */
export const jsKernels: Kernels = {
  fill,
  cast,
  unary,
  unaryGrad,
  binary,
  where,
  reduce,
  argReduce,
  stridedCopy,
  matmul,
  addBiasAct,
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  indexSelect,
  indexSelectBackward,
  gather,
  gatherBackward,
  softmax,
  softmaxBackward,
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  batchNorm,
  batchNormBackward,
  lstmCell,
  lstmCellBackward,
  gruCell,
  gruCellBackward,
  randUniform,
  randNormal,
  dropoutMask,
  sgdStep,
  adamStep,
  rmspropStep,
  adagradStep,
};

function asJs(h: Handle, what: string): JsHandle {
  if (!(h instanceof JsHandle)) throw new TypeError(`js backend: ${what} expects a js backend handle`);
  return h;
}

function readCopy(h: Handle, numel: number): TypedArray {
  const d = asJs(h, 'read').data;
  if (numel > d.length) throw new RangeError(`js backend: read of ${numel} elements from storage of ${d.length}`);
  return d.slice(0, numel);
}

// Freed storage is kept for reuse, by (dtype, length), up to POOL_BYTES: a training step allocates
// the same sizes every iteration, and a fresh typed array costs a zeroed allocation (page faults
// for large ones) plus the GC pressure of its external backing store (measured: ~28% of an MLP
// 784-256-10 Adam step with native CPU kernels). Contents of alloc() are undefined (Backend), as on
// cuda, whose pool reuses memory the same way. Arrays of 64 bytes or less live on V8's heap and are
// cheap: not pooled.
// A size class not allocated for POOL_STALE allocations (a few training steps) is evicted when the
// pool is full and another size is freed: without it the sizes of an earlier phase (another model,
// batch size or benchmark) held the pool for good and every storage of the current phase was a
// fresh allocation again (measured: +32% on the MNIST CNN train step at 2 threads, from GC work).
// Sizes still in use are never evicted for a new one, so a working set larger than the pool keeps
// the part it has (no LRU thrash).
const POOL_BYTES = 64 * 1024 * 1024;
const POOL_MIN_BYTES = 64;
const POOL_STALE = 1024;
const DTYPE_CODE = { float32: 0, float64: 1, int32: 2 } as const;

export function createJsBackend(): Backend {
  let allocated = 0;
  let peak = 0;
  const pool = new Map<number, JsHandle[]>(); // key: length·4 + dtype code
  const lastUse = new Map<number, number>(); // pooled key -> alloc count when last allocated or freed
  let allocs = 0;
  let cached = 0;
  // frees stale size classes (other than keep) until `need` bytes fit; false when they cannot
  const evictStale = (need: number, keep: number): boolean => {
    for (const [key, list] of pool) {
      if (cached + need <= POOL_BYTES) break;
      if (key === keep || allocs - (lastUse.get(key) ?? 0) <= POOL_STALE) continue;
      for (const h of list) cached -= h.byteLength;
      pool.delete(key);
      lastUse.delete(key);
    }
    return cached + need <= POOL_BYTES;
  };
  return {
    name: 'js',
    device: 'cpu',
    kernels: jsKernels,
    // every element must be reachable by an int32 flat index (argmax, gather and index tensors are int32)
    maxElements: 2 ** 31 - 1,
    alloc(numel: number, dtype: DType): Handle {
      if (dtype === 'bfloat16' || dtype === 'float16') {
        throw new TypeError(`js backend: dtype ${dtype} is only available on cuda`);
      }
      const hd = hostDType(dtype, 'js backend alloc');
      if (!Number.isInteger(numel) || numel < 0) throw new RangeError(`js backend: cannot allocate ${numel} elements`);
      const key = numel * 4 + DTYPE_CODE[hd];
      const free = pool.get(key);
      allocs++;
      if (free !== undefined) lastUse.set(key, allocs);
      let h = free !== undefined ? free.pop() : undefined;
      if (h !== undefined) cached -= h.byteLength;
      else h = new JsHandle(hostArray(hd, numel), hd);
      allocated += h.byteLength;
      if (allocated > peak) peak = allocated;
      return h;
    },
    free(h: Handle): void {
      const j = asJs(h, 'free');
      const bytes = j.byteLength;
      allocated -= bytes;
      const key = j.data.length * 4 + DTYPE_CODE[j.dtype];
      if (bytes > POOL_MIN_BYTES && bytes <= POOL_BYTES && (cached + bytes <= POOL_BYTES || evictStale(bytes, key))) {
        let list = pool.get(key);
        if (list === undefined) pool.set(key, (list = []));
        list.push(j);
        lastUse.set(key, allocs);
        cached += bytes;
      }
    },
    upload(h: Handle, data: TypedArray, _dtype: DType): void {
      const d = asJs(h, 'upload').data;
      if (data.length > d.length) throw new RangeError(`js backend: upload of ${data.length} elements into storage of ${d.length}`);
      d.set(data);
    },
    read(h: Handle, _dtype: DType, numel: number): Promise<TypedArray> {
      try {
        return Promise.resolve(readCopy(h, numel));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    readSync(h: Handle, _dtype: DType, numel: number): TypedArray {
      return readCopy(h, numel);
    },
    synchronize(): void {},
    memory(): BackendMemory {
      return { allocated, peak, cached, limit: null };
    },
  };
}
