// A deep copy of a module tree (torch's copy.deepcopy for quantize_dynamic's default inplace=False).
//
// Every own property is copied: parameters become new Parameters over copied storage (same
// requiresGrad, no grad), buffers and other tensors are copied, child modules are copied
// recursively, arrays / Sets / Maps are rebuilt with their elements copied; anything else (numbers,
// strings, options objects, functions, immutable QTensors) is shared. A module or tensor reachable
// twice is copied once (shared weights stay shared in the copy).

import { noGrad } from '../autograd/mode.js';
import { keep } from '../memory.js';
import { clone } from '../ops/elementwise.js';
import { Module, type AnyModule } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { Tensor } from '../tensor.js';

export function cloneModule<M extends AnyModule>(m: M): M {
  return noGrad(() => copyValue(m, new Map()) as M);
}

function copyValue(v: unknown, memo: Map<unknown, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (memo.has(v)) return memo.get(v);
  let out: unknown;
  if (v instanceof Parameter) {
    if (v.isDisposed)
      throw new Error(
        'quantizeDynamic: the model holds a disposed parameter; it cannot be copied (pass inplace: true or rebuild the model)',
      );
    out = Parameter.from(clone(v), v.requiresGrad);
  } else if (v instanceof Tensor) {
    out = v.isDisposed ? v : keep(clone(v));
  } else if (v instanceof Module) {
    const c = Object.create(Object.getPrototypeOf(v) as object) as Record<PropertyKey, unknown>;
    memo.set(v, c);
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if ('value' in d) d.value = copyValue(d.value, memo);
      Object.defineProperty(c, key, d);
    }
    return c;
  } else if (Array.isArray(v)) {
    const a: unknown[] = [];
    memo.set(v, a);
    for (const x of v) a.push(copyValue(x, memo));
    return a;
  } else if (v instanceof Set) {
    const s = new Set<unknown>();
    memo.set(v, s);
    for (const x of v) s.add(copyValue(x, memo));
    return s;
  } else if (v instanceof Map) {
    const mp = new Map<unknown, unknown>();
    memo.set(v, mp);
    for (const [k, x] of v) mp.set(k, copyValue(x, memo));
    return mp;
  } else {
    out = v;
  }
  memo.set(v, out);
  return out;
}
