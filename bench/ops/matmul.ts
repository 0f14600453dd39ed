// GEMM: C (M, N) = A (M, K) · B (K, N) through the public matmul op.
// FLOPs 2·M·N·K; fewest bytes: read A and B once, write C once.
// Validation: 256 sampled elements of C recomputed in float64 from host copies of A and B.

import { matmul } from '../../lib/ops/matmul.js';
import { bytesPerElement, type DType } from '../../lib/dtype.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchCase, BenchContext, Prepared } from '../lib/types.js';
import { compare, countedBy, disposeAll, randTensor, rotationCopies, tolerance } from '../lib/util.js';

export interface GemmShape {
  m: number;
  n: number;
  k: number;
  label?: string;
}

export function matmulShapes(ctx: BenchContext): GemmShape[] {
  if (ctx.quick)
    return ctx.backend === 'js'
      ? [
          { m: 64, n: 64, k: 64 },
          { m: 128, n: 128, k: 128 },
        ]
      : [
          { m: 1024, n: 1024, k: 1024 },
          { m: 128, n: 2048, k: 7168 },
        ];
  if (ctx.backend === 'js') return [256, 512, 1024].map((s) => ({ m: s, n: s, k: s }));
  return [
    ...[1024, 2048, 4096, 8192].map((s) => ({ m: s, n: s, k: s })),
    { m: 4096, n: 4096, k: 7168, label: 'model' },
    { m: 4096, n: 7168, k: 16384, label: 'model' },
    { m: 1, n: 7168, k: 2048, label: 'decode' },
    { m: 1, n: 2048, k: 7168, label: 'decode' },
    { m: 128, n: 7168, k: 2048, label: 'model' },
    { m: 128, n: 2048, k: 7168, label: 'model' },
  ];
}

export const matmulId = (s: GemmShape): string => `matmul ${s.m}x${s.n}x${s.k}`;

export function matmulCase(s: GemmShape, dtype: DType): BenchCase {
  const { m, n, k } = s;
  const e = bytesPerElement(dtype);
  const inputBytes = (m * k + k * n) * e;
  return {
    op: 'matmul',
    id: matmulId(s),
    shape: `M=${m} N=${n} K=${k}${s.label ? ` (${s.label})` : ''}`,
    dtype,
    flops: 2 * m * n * k,
    bytes: inputBytes + m * n * e,
    inputBytes,
    memoryBytes: 3 * inputBytes + m * n * e,
    kernels: ['matmul'],
    prepare(ctx: BenchContext): Prepared {
      const copies = rotationCopies(ctx, inputBytes);
      const as: Tensor[] = [],
        bs: Tensor[] = [];
      for (let c = 0; c < copies; c++) {
        as.push(randTensor(ctx, [m, k], dtype, 11 + 2 * c));
        bs.push(randTensor(ctx, [k, n], dtype, 12 + 2 * c));
      }
      return {
        run(i) {
          matmul(as[i % copies]!, bs[i % copies]!).dispose();
        },
        validate() {
          const c = matmul(as[0]!, bs[0]!);
          const A = as[0]!.dataSync(),
            B = bs[0]!.dataSync(),
            C = c.dataSync();
          c.dispose();
          const samples = Math.min(256, m * n);
          const ours = new Float64Array(samples),
            ref = new Float64Array(samples);
          for (let t = 0; t < samples; t++) {
            const idx = samples === m * n ? t : Math.floor((((t * 2654435761) % 4294967296) / 4294967296) * m * n);
            const i = Math.floor(idx / n),
              j = idx % n;
            let acc = 0;
            for (let p = 0; p < k; p++) acc += A[i * k + p]! * B[p * n + j]!;
            ours[t] = C[idx]!;
            ref[t] = acc;
          }
          return compare(ours, ref, tolerance(dtype, k), 'float64 dot products of 256 sampled elements');
        },
        counted() {
          return countedBy(['matmul'], () => matmul(as[0]!, bs[0]!).dispose());
        },
        dispose() {
          disposeAll([...as, ...bs]);
        },
      };
    },
  };
}

export function matmulCases(ctx: BenchContext): BenchCase[] {
  const shapes = matmulShapes(ctx);
  const out = shapes.map((s) => matmulCase(s, 'float32'));
  if (ctx.backend === 'cuda') out.push(...shapes.map((s) => matmulCase(s, 'bfloat16')));
  return out;
}
