// CUDA entry points: reduce, argReduce (native/kernels/reduce.cu), stridedCopy (native/kernels/copy.cu).
// Generated into native/src/ops_gen_reduce.cc. Format: native/manifest/README.md.
export const entries = [
  {
    name: 'reduce',
    doc: 'x (outer, r, inner), out (outer, inner)',
    args: [
      { name: 'op', kind: 'enum', enum: 'Reduce' },
      { name: 'x', kind: 'buf', holds: 'Elems({outer, r, inner})' },
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({outer, inner})' },
      { name: 'outer', kind: 'i64', size: true },
      { name: 'r', kind: 'i64', size: true },
      { name: 'inner', kind: 'i64', size: true },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'argReduce',
    doc: 'x (outer, r, inner), out int32 (outer, inner)',
    args: [
      { name: 'op', kind: 'enum', enum: 'ArgReduce' },
      { name: 'x', kind: 'buf', holds: 'Elems({outer, r, inner})' },
      { name: 'out', kind: 'buf', out: true, elem: 'int', holds: 'Elems({outer, inner})', holdsDtype: 'k::kI32' },
      { name: 'outer', kind: 'i64', size: true },
      { name: 'r', kind: 'i64', size: true },
      { name: 'inner', kind: 'i64', size: true },
      { name: 'dtype', kind: 'dtype' },
    ],
    checks: [{ if: 'r == 0 && outer * inner > 0', msg: 'cannot reduce an empty axis' }],
  },
  {
    name: 'stridedCopy',
    doc: 'dims = [shape, srcStrides, dstStrides]; accumulate adds into dst',
    args: [
      { name: 'src', kind: 'buf', strided: { dims: 'dims', op: 0, offset: 'srcOffset' } },
      { name: 'dst', kind: 'buf', out: true, strided: { dims: 'dims', op: 1, offset: 'dstOffset' } },
      { name: 'ndim', kind: 'ndim' },
      { name: 'dims', kind: 'strided', ops: 2, backend: ['shape', 'srcStrides', 'dstStrides'] },
      { name: 'srcOffset', kind: 'i64', size: true },
      { name: 'dstOffset', kind: 'i64', size: true },
      { name: 'dtype', kind: 'dtype' },
      { name: 'accumulate', kind: 'bool' },
    ],
    backendOrder: ['src', 'dst', 'shape', 'srcStrides', 'srcOffset', 'dstStrides', 'dstOffset', 'dtype', 'accumulate'],
  },
];
