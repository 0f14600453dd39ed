// CPU entry points of the 'elementwise' family: unary, unary-grad, broadcasting binary and the
// fused bias + activation. native/cpu/elementwise_entry.cc implements them over the streaming
// kernels (native/cpu/elementwise_kernels.h); lib/backend/js/native-streaming.ts calls them.
// Format: native/manifest/README.md. Semantics: lib/backend/js/elementwise.ts (float dtypes; int32
// stays in JS). Ops are codes: the index of the op's name in cpuStreamOps()'s lists (a hand-written
// entry in native/cpu/napi_elementwise.cc, since it returns a value), so no list is restated here.

const T = (name, need, extra = {}) => ({ name, kind: 'array', type: 'T', need, ...extra });
const size = (name) => ({ name, kind: 'size' });

export const entries = [
  {
    name: 'cpuUnary',
    kernel: 'unary',
    doc: 'out[i] = op(x[i]; a, b) for i < n; op = cpuStreamOps().unary.indexOf(name); out may be x.',
    types: ['f32', 'f64'],
    args: [
      size('op'),
      T('x', 'double(n)'),
      T('out', 'double(n)', { out: true }),
      size('n'),
      { name: 'a', kind: 'number' },
      { name: 'b', kind: 'number' },
    ],
  },
  {
    name: 'cpuUnaryGrad',
    kernel: 'unaryGrad',
    doc: "dx[i] = dy[i]·f'(x[i]) (from y = f(x) for tanh, sigmoid); op = cpuStreamOps().unaryGrad.indexOf(name).",
    types: ['f32', 'f64'],
    args: [
      size('op'),
      T('x', 'double(n)'),
      T('y', 'double(n)'),
      T('dy', 'double(n)'),
      T('dx', 'double(n)', { out: true }),
      size('n'),
      { name: 'a', kind: 'number' },
      { name: 'b', kind: 'number' },
    ],
  },
  {
    name: 'cpuBinary',
    kernel: 'binary',
    doc: [
      'out = a op b with broadcasting over an nd-dim index space: dims = [shape(nd), aStrides(nd), bStrides(nd)]',
      '(elements, 0 on broadcast dims), out contiguous; op = cpuStreamOps().binary.indexOf(name). The extents',
      'a, b and out must hold are checked from dims.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      size('op'),
      T('a', '0'),
      T('b', '0'),
      T('out', '0', { out: true }),
      size('nd'),
      { name: 'dims', kind: 'array', type: 'i32', need: 'Prod(3, nd)' },
    ],
    checks: [
      { if: 'nd > 16', msgExpr: '"at most 16 dimensions, got " + S(nd)', error: 'RangeError' },
      {
        // the extents a, b and out must hold, from dims (a short dims fails its own size check next)
        if: [
          '[&] {',
          '  if (double(arr_dims.length) < 3.0 * double(nd)) return false;',
          '  const int32_t* d = static_cast<const int32_t*>(arr_dims.data);',
          '  double na = 1, nb = 1, no = 1;',
          '  for (int64_t i = 0; i < nd; i++) {',
          '    if (d[i] < 0 || d[nd + i] < 0 || d[2 * nd + i] < 0) return true;',
          '    if (d[i] == 0) return false;',
          '    no *= d[i];',
          '    na += double(d[i] - 1) * d[nd + i];',
          '    nb += double(d[i] - 1) * d[2 * nd + i];',
          '  }',
          '  return na > double(arr_a.length) || nb > double(arr_b.length) || no > double(arr_out.length);',
          '}()',
        ].join(' '),
        msg: 'dims (shape, aStrides, bStrides) are negative or reach past the end of a, b or out',
        error: 'RangeError',
      },
    ],
  },
  {
    name: 'cpuAddBiasAct',
    kernel: 'addBiasAct',
    doc: 'out = act(x + bias[c]), x and out (outer, c, inner), bias (c); act = cpuStreamOps().activation.indexOf(name).',
    types: ['f32', 'f64'],
    args: [
      T('x', 'Prod(outer, c, inner)'),
      T('bias', 'double(c)'),
      T('out', 'Prod(outer, c, inner)', { out: true }),
      size('outer'),
      size('c'),
      size('inner'),
      size('act'),
    ],
  },
];
