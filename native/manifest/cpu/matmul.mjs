// CPU entry points of the 'matmul' family (native/cpu/gemm_entry.cc implements them over
// wgcpu::Kernels().sgemm / dgemm). Format: native/manifest/README.md.
export const entries = [
  {
    name: 'cpuMatmul',
    kernel: 'matmul',
    fn: 'CpuMatmul',
    doc: [
      'out[b] = op(a[b]) · op(b[b]) for b < batch: op(a) is (m, k) ((k, m) stored when transA), op(b) is (k, n)',
      '((n, k) when transB); a[b] starts at b * aBatchStride (0 broadcasts), out is (batch, m, n), overwritten.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      { name: 'a', kind: 'array', type: 'T', need: 'Extent(batch, aBatchStride, Prod(m, k))' },
      { name: 'b', kind: 'array', type: 'T', need: 'Extent(batch, bBatchStride, Prod(k, n))' },
      { name: 'out', kind: 'array', type: 'T', out: true, need: 'Prod(batch, m, n)' },
      { name: 'batch', kind: 'size' },
      { name: 'm', kind: 'size' },
      { name: 'n', kind: 'size' },
      { name: 'k', kind: 'size' },
      { name: 'transA', kind: 'bool' },
      { name: 'transB', kind: 'bool' },
      { name: 'aBatchStride', kind: 'size' },
      { name: 'bBatchStride', kind: 'size' },
    ],
    // one message for the three sizes, so a shape mistake reads at once
    sizeError:
      '"batch " + S(batch) + " of (" + S(m) + "x" + S(k) + ")·(" + S(k) + "x" + S(n) + ") needs a " + S(need_a) + ", b " + S(need_b) + ", out " + S(need_out) + " elements; got " + S(arr_a.length) + ", " + S(arr_b.length) + ", " + S(arr_out.length)',
    // the kernel never reads out, so it must not share memory with an input
    noOverlap: [
      ['out', 'a'],
      ['out', 'b'],
    ],
  },
];
