// CUDA entry points of the elementwise kernels (native/kernels/elementwise.cu); generated into
// native/src/ops_gen_elementwise.cc. Format: native/manifest/README.md ("CUDA entry points").
export const entries = [
  {
    name: 'fill',
    args: [
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({n})' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'value', kind: 'num' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'cast',
    args: [
      { name: 'x', kind: 'buf', holds: 'Elems({n})', holdsDtype: 'from' },
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({n})', holdsDtype: 'to' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'from', kind: 'dtype' },
      { name: 'to', kind: 'dtype' },
    ],
    // an unsupported pair names the unknown code when one is unknown, else the target dtype
    doneDtype: 'st == k::kUnsupported ? (from >= 0 && from < 5 ? to : from) : from',
  },
  {
    name: 'unary',
    args: [
      { name: 'op', kind: 'enum', enum: 'Unary' },
      { name: 'x', kind: 'buf', holds: 'Elems({n})' },
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({n})' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'dtype', kind: 'dtype' },
      { name: 'a', kind: 'num' },
      { name: 'b', kind: 'num' },
    ],
  },
  {
    name: 'unaryGrad',
    doc: 'x or y may be null when the op does not read it (tanh/sigmoid read y, the others x)',
    args: [
      { name: 'op', kind: 'enum', enum: 'UnaryGrad' },
      { name: 'x', kind: 'buf', nullable: true, holds: 'needsY ? 0 : Elems({n})' },
      { name: 'y', kind: 'buf', nullable: true, holds: 'needsY ? Elems({n}) : 0' },
      { name: 'dy', kind: 'buf', holds: 'Elems({n})' },
      { name: 'dx', kind: 'buf', out: true, holds: 'Elems({n})' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'dtype', kind: 'dtype' },
      { name: 'a', kind: 'num' },
      { name: 'b', kind: 'num' },
    ],
    prelude: ['const bool needsY = op == static_cast<int>(k::UnaryGrad::tanh) || op == static_cast<int>(k::UnaryGrad::sigmoid);'],
    checks: [
      {
        if: '(needsY ? y : x) == nullptr || dy == nullptr || dx == nullptr',
        msgExpr: 'std::string(needsY ? "y is required for tanh/sigmoid" : "x is required")',
        error: 'TypeError',
      },
    ],
  },
  {
    name: 'binary',
    doc: 'dims = [outShape, aStrides, bStrides]',
    args: [
      { name: 'op', kind: 'enum', enum: 'Binary' },
      { name: 'a', kind: 'buf', strided: { dims: 'dims', op: 0 } },
      { name: 'b', kind: 'buf', strided: { dims: 'dims', op: 1 } },
      { name: 'out', kind: 'buf', out: true, holds: 'ShapeElems(dims)' },
      { name: 'ndim', kind: 'ndim' },
      { name: 'dims', kind: 'strided', ops: 2, backend: ['outShape', 'aStrides', 'bStrides'] },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'where',
    doc: 'dims = [outShape, condStrides, aStrides, bStrides]',
    args: [
      { name: 'cond', kind: 'buf', strided: { dims: 'dims', op: 0 }, holdsDtype: 'condDtype' },
      { name: 'a', kind: 'buf', strided: { dims: 'dims', op: 1 } },
      { name: 'b', kind: 'buf', strided: { dims: 'dims', op: 2 } },
      { name: 'out', kind: 'buf', out: true, holds: 'ShapeElems(dims)' },
      { name: 'ndim', kind: 'ndim' },
      { name: 'dims', kind: 'strided', ops: 3, backend: ['outShape', 'condStrides', 'aStrides', 'bStrides'] },
      { name: 'condDtype', kind: 'dtype' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'addBiasAct',
    doc: 'x, out (outer, c, inner); bias (c)',
    args: [
      { name: 'x', kind: 'buf', holds: 'Elems({outer, c, inner})' },
      { name: 'bias', kind: 'buf', holds: 'Elems({outer, inner}) == 0 ? 0 : Elems({c})' },
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({outer, c, inner})' },
      { name: 'outer', kind: 'i64', size: true },
      { name: 'c', kind: 'i64', size: true },
      { name: 'inner', kind: 'i64', size: true },
      { name: 'act', kind: 'enum', enum: 'Act', what: 'activation' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
];
