// Counter-based random kernels on Philox4x32-10 (philox.ts). Element i of a call draws from
// counter (offset + block(i)) with key (seed low 32 bits, seed high 32 bits), so any backend
// produces the same numbers for the same (seed, offset), in any order.
//   uniform: block = floor(i/4), word i%4, u = (word >>> 8)·2^-24 ∈ [0, 1)
//   normal:  block = floor(i/2), Box–Muller on words 0, 1 (even i: cos, odd i: sin)
// Values are computed in float64 and rounded once on store.

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, type FloatArray } from './handle.js';
import { philox4x32Full, split64 } from './philox.js';

const INV_2_24 = 1 / 16777216;

/** Calls visit(word, i) for i < n with the uniform-stream word of element i. */
function uniformWords(n: number, seed: number, offset: number, visit: (u: number, i: number) => void): void {
  const [k0, k1] = split64(seed);
  const w = new Uint32Array(4);
  for (let i = 0; i < n; i += 4) {
    const [c0, c1] = split64(offset + i / 4);
    philox4x32Full(c0, c1, 0, 0, k0, k1, w);
    const lim = Math.min(4, n - i);
    for (let j = 0; j < lim; j++) visit((w[j]! >>> 8) * INV_2_24, i + j);
  }
}

function checkSeed(kernel: string, seed: number, offset: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${kernel}: seed must be a non-negative safe integer, got ${seed}`);
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new RangeError(`${kernel}: offset must be a non-negative safe integer, got ${offset}`);
}

export function randUniform(out: Handle, n: number, seed: number, offset: number, low: number, high: number, dtype: DType): void {
  floatDType(dtype, 'randUniform');
  checkSeed('randUniform', seed, offset);
  const O: FloatArray = farr(out, dtype, 'randUniform');
  const span = high - low;
  uniformWords(n, seed, offset, (u, i) => {
    O[i] = low + span * u;
  });
}

export function randNormal(out: Handle, n: number, seed: number, offset: number, mean: number, std: number, dtype: DType): void {
  floatDType(dtype, 'randNormal');
  checkSeed('randNormal', seed, offset);
  const O = farr(out, dtype, 'randNormal');
  const [k0, k1] = split64(seed);
  const w = new Uint32Array(4);
  for (let i = 0; i < n; i += 2) {
    const [c0, c1] = split64(offset + i / 2);
    philox4x32Full(c0, c1, 0, 0, k0, k1, w);
    const u1 = ((w[0]! >>> 8) + 1) * INV_2_24; // (0, 1]: ln u1 is finite
    const u2 = (w[1]! >>> 8) * INV_2_24;
    const r = Math.sqrt(-2 * Math.log(u1));
    const t = 2 * Math.PI * u2;
    O[i] = mean + std * r * Math.cos(t);
    if (i + 1 < n) O[i + 1] = mean + std * r * Math.sin(t);
  }
}

export function dropoutMask(mask: Handle, n: number, p: number, seed: number, offset: number, dtype: DType): void {
  floatDType(dtype, 'dropoutMask');
  checkSeed('dropoutMask', seed, offset);
  const O = farr(mask, dtype, 'dropoutMask');
  const keep = 1 / (1 - p);
  uniformWords(n, seed, offset, (u, i) => {
    O[i] = u >= p ? keep : 0;
  });
}
