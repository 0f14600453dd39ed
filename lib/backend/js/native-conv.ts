// conv2d and pooling kernels of the js backend, native when the addon carries them
// (native/cpu/conv2d.cc, pool2d.cc; entry points generated from native/manifest/cpu/conv.mjs): the addon works on the
// handles' own typed arrays (zero copy) with the packed GEMM and the thread pool. Otherwise, or
// with WATTGRAD_CPU_KERNELS=js, or when a call is one the native kernel does not take (another
// dtype, an output sharing memory with an input, a stride, dilation or padding out of range,
// groups not dividing the channels: the js kernel then raises its own error), the pure-JS
// kernel of ./conv2d.js / ./pool.js runs.
//
// Results: pooling is bit for bit the js kernel's (same order, sums in double); conv2d rounds
// differently (float32 accumulation in the GEMM instead of double) but is identical run to run
// and for any thread count.

import type { CpuKernelBinding } from '../../../binding.js';
import type { Conv2dParams, Handle, Pool2dParams } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farrOf, JsHandle } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import * as js from './conv2d.js';
import * as jsPool from './pool.js';

type F = Float32Array | Float64Array;
type G = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
type Q = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** The addon's conv/pool entry points (generated from native/manifest/cpu/conv.mjs; native/cpu/conv_entry.cc). */
export type NativeConvBinding = Pick<
  CpuKernelBinding,
  | 'cpuConv2d'
  | 'cpuConv2dGradInput'
  | 'cpuConv2dGradWeight'
  | 'cpuMaxPool2d'
  | 'cpuMaxPool2dBackward'
  | 'cpuAvgPool2d'
  | 'cpuAvgPool2dBackward'
  | 'cpuAdaptiveAvgPool2d'
  | 'cpuAdaptiveAvgPool2dBackward'
>;

let cached: { from: unknown; conv: NativeConvBinding | null } | null = null;

/** The conv/pool entry points of the loaded addon, or null (none, an older addon, WATTGRAD_CPU_KERNELS=js). */
export function nativeConv(): NativeConvBinding | null {
  const n = nativeCpu();
  if (cached && cached.from === n) return cached.conv;
  const b = n as unknown as Partial<NativeConvBinding> | null;
  const conv =
    b && typeof b.cpuConv2d === 'function' && typeof b.cpuAdaptiveAvgPool2dBackward === 'function' ? (b as NativeConvBinding) : null;
  cached = { from: n, conv };
  return conv;
}

/** The float arrays behind hs when all hold `dtype` and the last (the output) shares no buffer with the others. */
function floats(dtype: DType, out: Handle, ...ins: Handle[]): F[] | null {
  if (dtype !== 'float32' && dtype !== 'float64') return null;
  const res: F[] = [];
  for (const h of ins) {
    const d = farrOf(h, dtype);
    if (!d) return null;
    res.push(d);
  }
  const o = farrOf(out, dtype);
  if (!o) return null;
  for (const d of res) if (d.buffer === o.buffer) return null;
  res.push(o);
  return res;
}

const okInt = (v: number, min: number): boolean => Number.isInteger(v) && v >= min && v <= 2 ** 31;

function convGeom(p: Conv2dParams): G | null {
  const v: G = [
    p.batch,
    p.inC,
    p.inH,
    p.inW,
    p.outC,
    p.kH,
    p.kW,
    p.outH,
    p.outW,
    p.strideH,
    p.strideW,
    p.padH,
    p.padW,
    p.dilationH,
    p.dilationW,
    p.groups,
  ];
  for (const x of v) if (!okInt(x, 0)) return null;
  if (p.strideH < 1 || p.strideW < 1 || p.dilationH < 1 || p.dilationW < 1 || p.groups < 1) return null;
  if (p.inC % p.groups !== 0 || p.outC % p.groups !== 0) return null;
  return v;
}

/** The pooling geometry as the native entry points take it, or null when it is not well formed for them. */
export function poolGeom(p: Pool2dParams): Q | null {
  const v: Q = [
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
  ];
  for (const x of v) if (!okInt(x, 0)) return null;
  if (p.strideH < 1 || p.strideW < 1 || p.dilationH < 1 || p.dilationW < 1) return null;
  return v;
}

export function conv2d(x: Handle, w: Handle, y: Handle, p: Conv2dParams, dtype: DType): void {
  const nat = nativeConv();
  const g = nat && convGeom(p);
  const a = g && floats(dtype, y, x, w);
  if (nat && g && a) return nat.cpuConv2d(a[0]!, a[1]!, a[2]!, ...g);
  js.conv2d(x, w, y, p, dtype);
}

export function conv2dGradInput(dy: Handle, w: Handle, dx: Handle, p: Conv2dParams, dtype: DType): void {
  const nat = nativeConv();
  const g = nat && convGeom(p);
  const a = g && floats(dtype, dx, dy, w);
  if (nat && g && a) return nat.cpuConv2dGradInput(a[0]!, a[1]!, a[2]!, ...g);
  js.conv2dGradInput(dy, w, dx, p, dtype);
}

export function conv2dGradWeight(x: Handle, dy: Handle, dw: Handle, p: Conv2dParams, dtype: DType): void {
  const nat = nativeConv();
  const g = nat && convGeom(p);
  const a = g && floats(dtype, dw, x, dy);
  if (nat && g && a) return nat.cpuConv2dGradWeight(a[0]!, a[1]!, a[2]!, ...g);
  js.conv2dGradWeight(x, dy, dw, p, dtype);
}

/** The int32 array behind h when it shares no buffer with the float arrays fs. */
function indices(h: Handle, fs: F[]): Int32Array | null {
  const d = h instanceof JsHandle ? h.data : null;
  if (!(d instanceof Int32Array)) return null;
  for (const f of fs) if (f.buffer === d.buffer) return null;
  return d;
}

export function maxPool2d(x: Handle, y: Handle, argmax: Handle, p: Pool2dParams, dtype: DType): void {
  const nat = nativeConv();
  const q = nat && poolGeom(p);
  const a = q && floats(dtype, y, x);
  const am = a && indices(argmax, a);
  if (nat && q && a && am) return nat.cpuMaxPool2d(a[0]!, a[1]!, am, ...q);
  jsPool.maxPool2d(x, y, argmax, p, dtype);
}

export function maxPool2dBackward(dy: Handle, argmax: Handle, dx: Handle, p: Pool2dParams, dtype: DType): void {
  const nat = nativeConv();
  const q = nat && poolGeom(p);
  const a = q && floats(dtype, dx, dy);
  const am = a && indices(argmax, a);
  if (nat && q && a && am) return nat.cpuMaxPool2dBackward(a[0]!, am, a[1]!, ...q);
  jsPool.maxPool2dBackward(dy, argmax, dx, p, dtype);
}

export function avgPool2d(x: Handle, y: Handle, p: Pool2dParams, dtype: DType): void {
  const nat = nativeConv();
  const q = nat && poolGeom(p);
  const a = q && floats(dtype, y, x);
  if (nat && q && a) return nat.cpuAvgPool2d(a[0]!, a[1]!, ...q, p.countIncludePad);
  jsPool.avgPool2d(x, y, p, dtype);
}

export function avgPool2dBackward(dy: Handle, dx: Handle, p: Pool2dParams, dtype: DType): void {
  const nat = nativeConv();
  const q = nat && poolGeom(p);
  const a = q && floats(dtype, dx, dy);
  if (nat && q && a) return nat.cpuAvgPool2dBackward(a[0]!, a[1]!, ...q, p.countIncludePad);
  jsPool.avgPool2dBackward(dy, dx, p, dtype);
}

const dimsOk = (d: number[]): boolean => d.every((v) => okInt(v, 0));

export function adaptiveAvgPool2d(
  x: Handle,
  y: Handle,
  batch: number,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  dtype: DType,
): void {
  const nat = nativeConv();
  const a = nat && dimsOk([batch, channels, inH, inW, outH, outW]) ? floats(dtype, y, x) : null;
  if (nat && a) return nat.cpuAdaptiveAvgPool2d(a[0]!, a[1]!, batch, channels, inH, inW, outH, outW);
  jsPool.adaptiveAvgPool2d(x, y, batch, channels, inH, inW, outH, outW, dtype);
}

export function adaptiveAvgPool2dBackward(
  dy: Handle,
  dx: Handle,
  batch: number,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  dtype: DType,
): void {
  const nat = nativeConv();
  const a = nat && dimsOk([batch, channels, inH, inW, outH, outW]) ? floats(dtype, dx, dy) : null;
  if (nat && a) return nat.cpuAdaptiveAvgPool2dBackward(a[0]!, a[1]!, batch, channels, inH, inW, outH, outW);
  jsPool.adaptiveAvgPool2dBackward(dy, dx, batch, channels, inH, inW, outH, outW, dtype);
}
