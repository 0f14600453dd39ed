// CUDA entry points: matmul (native/kernels/matmul.cu); conv2d, conv2dGradInput, conv2dGradWeight
// (native/kernels/conv2d.cu). Generated into native/src/ops_gen_matmul.cc. setAllowTf32 /
// getAllowTf32 are utilities, hand-written in ops_register.cc. Format: native/manifest/README.md.

// conv tensors: x is (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW)
const conv = (name, [a, b, c], [ra, rb, rc]) => ({
  name,
  args: [
    { name: a, kind: 'buf', holds: `Conv${ra}(params)` },
    { name: b, kind: 'buf', holds: `Conv${rb}(params)` },
    { name: c, kind: 'buf', out: true, holds: `Conv${rc}(params)` },
    { name: 'params', kind: 'conv' },
    { name: 'dtype', kind: 'dtype' },
  ],
});

export const entries = [
  {
    name: 'matmul',
    doc: 'a[b] is (m, k) or (k, m), b[b] (k, n) or (n, k), starting batch strides apart; out (batch, m, n)',
    args: [
      { name: 'a', kind: 'buf', holds: 'BatchedExtent(batch, aBatchStride, Elems({m, k}))' },
      { name: 'b', kind: 'buf', holds: 'BatchedExtent(batch, bBatchStride, Elems({k, n}))' },
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({batch, m, n})' },
      { name: 'batch', kind: 'i64', size: true, launchAs: 'int' },
      { name: 'm', kind: 'i64', size: true, launchAs: 'int' },
      { name: 'n', kind: 'i64', size: true, launchAs: 'int' },
      { name: 'k', kind: 'i64', size: true, launchAs: 'int' },
      { name: 'transA', kind: 'bool' },
      { name: 'transB', kind: 'bool' },
      { name: 'aBatchStride', kind: 'i64', size: true },
      { name: 'bBatchStride', kind: 'i64', size: true },
      { name: 'dtype', kind: 'dtype' },
    ],
    // the kernels step int tile offsets up to one tile past a dimension
    checks: [
      {
        if: 'batch > 0x7fffffff - 256 || m > 0x7fffffff - 256 || n > 0x7fffffff - 256 || k > 0x7fffffff - 256 || m * n > (int64_t(1) << 40)',
        msg: 'dimensions too large',
      },
    ],
  },
  conv('conv2d', ['x', 'w', 'y'], ['X', 'W', 'Y']),
  conv('conv2dGradInput', ['dy', 'w', 'dx'], ['Y', 'W', 'X']),
  conv('conv2dGradWeight', ['x', 'dy', 'dw'], ['X', 'Y', 'W']),
];
