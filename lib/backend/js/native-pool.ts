// The js backend's maxPool2d: with an argmax handle (training: the backward reads it) the conv
// family's kernel (./native-conv.js: native cpuMaxPool2d when loaded, else ./pool.js); without one
// (lib/ops/conv.ts passes null when no backward will run) the addon's cpuMaxPool2dValues
// (native/cpu/qpool.cc), which writes only the values, bit for bit what the indices path writes
// there; else, or with WATTGRAD_CPU_KERNELS=js, ./pool.js with a null argmax (values only too).

import type { Handle, KernelFns } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { JsHandle } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import { maxPool2d as withIndices } from './native-conv.js';
import * as jsPool from './pool.js';

/** The float array behind h when it holds `dtype` (float32 / float64), else null. */
function floatsOf(h: Handle, dtype: DType): Float32Array | Float64Array | null {
  const d = h instanceof JsHandle ? h.data : null;
  if (dtype === 'float32') return d instanceof Float32Array ? d : null;
  if (dtype === 'float64') return d instanceof Float64Array ? d : null;
  return null;
}

const isSize = (v: number): boolean => Number.isInteger(v) && v >= 0;

export const maxPool2d: KernelFns['maxPool2d'] = (x, y, argmax, p, dtype) => {
  if (argmax) return withIndices(x, y, argmax, p, dtype);
  const nat = nativeCpu()?.cpuMaxPool2dValues;
  const X = floatsOf(x, dtype),
    Y = floatsOf(y, dtype);
  const g = [
    p.batch,
    p.channels,
    p.inH,
    p.inW,
    p.outH,
    p.outW,
    p.kH,
    p.kW,
    p.strideH,
    p.strideW,
    p.padH,
    p.padW,
    p.dilationH,
    p.dilationW,
  ] as const;
  // the native kernel takes well-formed windows on separate arrays; anything else goes to the js kernel, which reports its own errors
  if (
    typeof nat === 'function' &&
    X &&
    Y &&
    X.buffer !== Y.buffer &&
    g.every(isSize) &&
    p.kH >= 1 &&
    p.kW >= 1 &&
    p.strideH >= 1 &&
    p.strideW >= 1 &&
    p.dilationH >= 1 &&
    p.dilationW >= 1 &&
    p.padH * 2 <= p.kH &&
    p.padW * 2 <= p.kW
  )
    return nat(X, Y, ...g);
  jsPool.maxPool2d(x, y, null, p, dtype);
};
