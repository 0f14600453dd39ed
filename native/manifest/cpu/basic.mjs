// CPU entry points of the 'basic' family: fill, cast, where and argmax / argmin, over every host
// dtype (float32, float64, int32). native/cpu/basic.cc implements them (SIMD bodies in
// basic_body.h, compiled per ISA by basic_avx2.cc / basic_avx512.cc); lib/backend/js/native-basic.ts
// calls them. Format: native/manifest/README.md. Semantics: lib/backend/js/elementwise.ts (fill,
// cast, where) and lib/backend/js/reduce.ts (argReduce): results are the js kernels' to the bit.
//
// Where an argument may be any of the three dtypes independently of the others (cast's output,
// where's condition), it is three nullable arrays of which exactly one is given.

const V = (name, need, extra = {}) => ({ name, kind: 'array', type: 'T', need, ...extra });
const size = (name) => ({ name, kind: 'size' });
const HOST = ['f32', 'f64', 'i32'];
const oneOf = (names) => ({
  if: `(int(arr_${names[0]}.present) + int(arr_${names[1]}.present) + int(arr_${names[2]}.present)) != 1`,
  msg: `exactly one of ${names[0]}, ${names[1]} and ${names[2]} must be given`,
  error: 'TypeError',
});

export const entries = [
  {
    name: 'cpuFill',
    kernel: 'fill',
    doc: 'out[i] = value for i < n, stored as the js typed array stores it (float32 rounds; int32 wraps: ToInt32).',
    types: HOST,
    args: [V('out', 'double(n)', { out: true }), size('n'), { name: 'value', kind: 'number' }],
  },
  {
    name: 'cpuCast',
    kernel: 'cast',
    doc: [
      'out[i] = x[i] converted, i < n, into the one output given (outF32, outF64 or outI32): float -> int32',
      'truncates toward zero then wraps modulo 2^32 (NaN, ±inf -> 0), as Math.trunc stored into an Int32Array.',
    ].join('\n'),
    types: HOST,
    args: [
      V('x', 'double(n)'),
      { name: 'outF32', kind: 'array', type: 'f32', out: true, nullable: true, need: 'double(n)' },
      { name: 'outF64', kind: 'array', type: 'f64', out: true, nullable: true, need: 'double(n)' },
      { name: 'outI32', kind: 'array', type: 'i32', out: true, nullable: true, need: 'double(n)' },
      size('n'),
    ],
    checks: [oneOf(['outF32', 'outF64', 'outI32'])],
    noOverlap: [
      ['outF32', 'x'],
      ['outF64', 'x'],
      ['outI32', 'x'],
    ],
  },
  {
    name: 'cpuWhere',
    kernel: 'where',
    doc: [
      'out = cond != 0 ? a : b, broadcast over an nd-dim index space: dims = [shape(nd), condStrides(nd),',
      'aStrides(nd), bStrides(nd)] (elements, 0 on broadcast dims), out contiguous; cond is the one of condF32,',
      'condF64, condI32 given (NaN counts as true). The extents cond, a, b and out must hold are checked from dims.',
    ].join('\n'),
    types: HOST,
    args: [
      { name: 'condF32', kind: 'array', type: 'f32', nullable: true, need: '0' },
      { name: 'condF64', kind: 'array', type: 'f64', nullable: true, need: '0' },
      { name: 'condI32', kind: 'array', type: 'i32', nullable: true, need: '0' },
      V('a', '0'),
      V('b', '0'),
      V('out', '0', { out: true }),
      size('nd'),
      { name: 'dims', kind: 'array', type: 'i32', need: 'Prod(4, nd)' },
    ],
    checks: [
      oneOf(['condF32', 'condF64', 'condI32']),
      { if: 'nd > 16', msgExpr: '"at most 16 dimensions, got " + S(nd)', error: 'RangeError' },
      {
        // the extents cond, a, b and out must hold, from dims (a short dims fails its own size check next)
        if: [
          '[&] {',
          '  if (double(arr_dims.length) < 4.0 * double(nd)) return false;',
          '  const int32_t* d = static_cast<const int32_t*>(arr_dims.data);',
          '  const double nc = double(arr_condF32.present ? arr_condF32.length : arr_condF64.present ? arr_condF64.length : arr_condI32.length);',
          '  double ec = 1, ea = 1, eb = 1, no = 1;',
          '  for (int64_t i = 0; i < nd; i++) {',
          '    if (d[i] < 0 || d[nd + i] < 0 || d[2 * nd + i] < 0 || d[3 * nd + i] < 0) return true;',
          '    if (d[i] == 0) return false;',
          '    no *= d[i];',
          '    ec += double(d[i] - 1) * d[nd + i];',
          '    ea += double(d[i] - 1) * d[2 * nd + i];',
          '    eb += double(d[i] - 1) * d[3 * nd + i];',
          '  }',
          '  return ec > nc || ea > double(arr_a.length) || eb > double(arr_b.length) || no > double(arr_out.length);',
          '}()',
        ].join(' '),
        msg: 'dims (shape, condStrides, aStrides, bStrides) are negative or reach past the end of cond, a, b or out',
        error: 'RangeError',
      },
    ],
  },
  {
    name: 'cpuArgReduce',
    kernel: 'argReduce',
    doc: [
      'out[o, i] = the index j of the max (argmin: min) of x[o, j, i] over the middle axis of (outer, r, inner):',
      'the first one, and the first NaN if there is one (torch); 0 when r is 0. Identical for any thread count.',
    ].join('\n'),
    types: HOST,
    args: [
      { name: 'argmin', kind: 'bool' },
      V('x', 'Prod(outer, r, inner)'),
      { name: 'out', kind: 'array', type: 'i32', out: true, need: 'Prod(outer, inner)' },
      size('outer'),
      size('r'),
      size('inner'),
    ],
    noOverlap: [['out', 'x']],
  },
];
