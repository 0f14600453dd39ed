// Batched GEMM: out[b] = op(A[b]) · op(B[b]) with op = identity or transpose, batch stride 0
// broadcasting one matrix over the batch.
//
// The fast path is the classic Goto/BLIS structure in plain JS:
//   for jc in n by NC:  for pc in k by KC:  pack B[pc:pc+KC, jc:jc+NC] into 4-column panels
//     for ic in m by MC:  pack A[ic:ic+MC, pc:pc+KC] into 4-row panels
//       for each 4×4 tile: 16 accumulators in locals, one k loop reading both panels contiguously.
// Packing handles the transposes (the micro-kernel never sees strides) and widens to float64,
// so the micro-kernel is monomorphic over Float64Array whatever the dtype. The block sizes keep a
// packed A block (MC×KC×8 = 128 KiB) in L2 and a B panel (KC×4×8 = 4 KiB) in L1.
// Measure with `node --experimental-strip-types bench/js/matmul.ts` style scripts, not tests.

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType, type FloatArray } from './handle.js';

const KC = 128;
const NC = 256;
const MC = 128;

const packA = new Float64Array(MC * KC);
const packB = new Float64Array(KC * NC);
let cBuf = new Float64Array(0);

/**
 * C[cOff..] (=|+=) op(A)·op(B) for one matrix pair. A is (m, k) row-major at aOff, or (k, m) when
 * transA; B is (k, n), or (n, k) when transB; C is (m, n) contiguous. Exported for conv2d.
 */
export function gemm(
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) C.fill(0, cOff, cOff + m * n);
    return;
  }
  if (m * n * k <= 4096) {
    gemmSmall(A, aOff, B, bOff, C, cOff, m, n, k, transA, transB, accumulate);
    return;
  }
  // Accumulate the blocks in a zeroed float64 C. When C itself is a float64 array being
  // overwritten (conv2d's column buffers), that is C: the same sums in the same order, without
  // the scratch fill and the copy back.
  const direct = !accumulate && C instanceof Float64Array && C.buffer !== A.buffer && C.buffer !== B.buffer;
  if (!direct && cBuf.length < m * n) cBuf = new Float64Array(m * n);
  const cb = direct ? C : cBuf;
  const cb0 = direct ? cOff : 0;
  cb.fill(0, cb0, cb0 + m * n);
  const ap = packA;
  const bp = packB;
  // element (i, p) of op(A) is at aOff + i*ars + p*acs; element (p, j) of op(B) at bOff + p*brs + j*bcs
  const ars = transA ? 1 : k,
    acs = transA ? m : 1;
  const brs = transB ? 1 : n,
    bcs = transB ? k : 1;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      // pack B[pc:pc+kc, jc:jc+nc] into panels of 4 columns, zero-padded: bp[(j/4)*kc*4 + p*4 + jj]
      let q = 0;
      for (let j = 0; j < nc; j += 4) {
        const w = Math.min(4, nc - j);
        let src = bOff + pc * brs + (jc + j) * bcs;
        if (w === 4) {
          // full panel, unrolled: four loads per p, no per-element test
          const b1 = bcs,
            b2 = 2 * bcs,
            b3 = 3 * bcs;
          for (let p = 0; p < kc; p++, src += brs, q += 4) {
            bp[q] = B[src]!;
            bp[q + 1] = B[src + b1]!;
            bp[q + 2] = B[src + b2]!;
            bp[q + 3] = B[src + b3]!;
          }
        } else {
          for (let p = 0; p < kc; p++, src += brs) {
            for (let jj = 0, e = src; jj < 4; jj++, e += bcs) bp[q++] = jj < w ? B[e]! : 0;
          }
        }
      }
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        // pack A[ic:ic+mc, pc:pc+kc] into panels of 4 rows, zero-padded: ap[(i/4)*kc*4 + p*4 + ii]
        q = 0;
        for (let i = 0; i < mc; i += 4) {
          const h = Math.min(4, mc - i);
          let src = aOff + (ic + i) * ars + pc * acs;
          if (h === 4) {
            const a1 = ars,
              a2 = 2 * ars,
              a3 = 3 * ars;
            for (let p = 0; p < kc; p++, src += acs, q += 4) {
              ap[q] = A[src]!;
              ap[q + 1] = A[src + a1]!;
              ap[q + 2] = A[src + a2]!;
              ap[q + 3] = A[src + a3]!;
            }
          } else {
            for (let p = 0; p < kc; p++, src += acs) {
              for (let ii = 0, e = src; ii < 4; ii++, e += ars) ap[q++] = ii < h ? A[e]! : 0;
            }
          }
        }
        macroKernel(ap, bp, cb, mc, nc, kc, cb0 + ic * n + jc, n);
      }
    }
  }
  if (direct) return;
  const total = m * n;
  if (accumulate) for (let i = 0; i < total; i++) C[cOff + i] = C[cOff + i]! + cb[i]!;
  else for (let i = 0; i < total; i++) C[cOff + i] = cb[i]!;
}

/** cb[c0 + i*ldc + j] += Σ_p ap(i, p)·bp(p, j) over the packed block, in 4×4 register tiles. */
function macroKernel(
  ap: Float64Array,
  bp: Float64Array,
  cb: Float64Array,
  mc: number,
  nc: number,
  kc: number,
  c0: number,
  ldc: number,
): void {
  for (let j = 0; j < nc; j += 4) {
    const pb0 = j * kc;
    for (let i = 0; i < mc; i += 4) {
      let pa = i * kc,
        pb = pb0;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let p = 0; p < kc; p++) {
        const b0 = bp[pb]!,
          b1 = bp[pb + 1]!,
          b2 = bp[pb + 2]!,
          b3 = bp[pb + 3]!;
        let a = ap[pa]!;
        c00 += a * b0;
        c01 += a * b1;
        c02 += a * b2;
        c03 += a * b3;
        a = ap[pa + 1]!;
        c10 += a * b0;
        c11 += a * b1;
        c12 += a * b2;
        c13 += a * b3;
        a = ap[pa + 2]!;
        c20 += a * b0;
        c21 += a * b1;
        c22 += a * b2;
        c23 += a * b3;
        a = ap[pa + 3]!;
        c30 += a * b0;
        c31 += a * b1;
        c32 += a * b2;
        c33 += a * b3;
        pa += 4;
        pb += 4;
      }
      let r = c0 + i * ldc + j;
      if (i + 4 <= mc && j + 4 <= nc) {
        // full tile: rows r..r+3·ldc, columns +0..+3 lie inside cb (the block is mc × nc at c0, ldc apart)
        cb[r]! += c00;
        cb[r + 1]! += c01;
        cb[r + 2]! += c02;
        cb[r + 3]! += c03;
        r += ldc;
        cb[r]! += c10;
        cb[r + 1]! += c11;
        cb[r + 2]! += c12;
        cb[r + 3]! += c13;
        r += ldc;
        cb[r]! += c20;
        cb[r + 1]! += c21;
        cb[r + 2]! += c22;
        cb[r + 3]! += c23;
        r += ldc;
        cb[r]! += c30;
        cb[r + 1]! += c31;
        cb[r + 2]! += c32;
        cb[r + 3]! += c33;
      } else {
        // edge tile: the padded rows/columns computed zeros; store only the valid part
        const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        const h = Math.min(4, mc - i),
          w = Math.min(4, nc - j);
        for (let ii = 0; ii < h; ii++) for (let jj = 0; jj < w; jj++) cb[r + ii * ldc + jj]! += tile[ii * 4 + jj]!;
      }
    }
  }
}

/** Direct dot products for tiny problems, where packing would cost more than it saves. */
function gemmSmall(
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  const ars = transA ? 1 : k,
    acs = transA ? m : 1;
  const brs = transB ? 1 : n,
    bcs = transB ? k : 1;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let pa = aOff + i * ars,
        pb = bOff + j * bcs;
      for (let p = 0; p < k; p++, pa += acs, pb += brs) s += A[pa]! * B[pb]!;
      const o = cOff + i * n + j;
      C[o] = accumulate ? C[o]! + s : s;
    }
  }
}

export function matmul(
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
): void {
  floatDType(dtype, 'matmul');
  const A = farr(a, dtype, 'matmul');
  const B = farr(b, dtype, 'matmul');
  const C = farr(out, dtype, 'matmul');
  for (let bi = 0; bi < batch; bi++) {
    gemm(A, bi * aBatchStride, B, bi * bBatchStride, C, bi * m * n, m, n, k, transA, transB, false);
  }
}
