// The js backend's maxPool2d: with an argmax handle (training: the backward reads it) the conv
// family's kernel (./native-conv.js: native cpuMaxPool2d when loaded, else ./pool.js); without one
// (lib/ops/conv.ts passes null when no backward will run) the addon's cpuMaxPool2dValues
// (native/cpu/qpool.cc), which writes only the values, bit for bit what the indices path writes
// there; else, or with WATTGRAD_CPU_KERNELS=js, ./pool.js with a null argmax (values only too).

import type { KernelFns } from '../kernels.js';
import { farrOf } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import { poolGeom, maxPool2d as withIndices } from './native-conv.js';
import * as jsPool from './pool.js';

export const maxPool2d: KernelFns['maxPool2d'] = (x, y, argmax, p, dtype) => {
  if (argmax) return withIndices(x, y, argmax, p, dtype);
  const nat = nativeCpu()?.cpuMaxPool2dValues;
  const X = farrOf(x, dtype),
    Y = farrOf(y, dtype);
  const g = poolGeom(p);
  // the native kernel takes well-formed windows on separate arrays; anything else goes to the js kernel, which reports its own errors
  if (
    typeof nat === 'function' &&
    X &&
    Y &&
    X.buffer !== Y.buffer &&
    g &&
    p.kH >= 1 &&
    p.kW >= 1 &&
    p.padH * 2 <= p.kH &&
    p.padW * 2 <= p.kW
  )
    return nat(X, Y, ...g);
  jsPool.maxPool2d(x, y, null, p, dtype);
};
