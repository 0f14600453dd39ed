// CPU entry point of the 'reduce' family: sum / max / min / prod over the middle axis.
// native/cpu/reduce.cc implements it over the streaming kernels (native/cpu/elementwise_kernels.h);
// lib/backend/js/native-streaming.ts calls it. Format: native/manifest/README.md.
// Semantics: lib/backend/js/reduce.ts (float64 accumulation, NaN-propagating max/min).

export const entries = [
  {
    name: 'cpuReduce',
    kernel: 'reduce',
    doc: [
      'x (outer, r, inner) -> out (outer, inner): op = cpuStreamOps().reduce.indexOf(name). Tasks split by the',
      'shape and partials combined in a fixed order: results independent of the thread count.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      { name: 'op', kind: 'size' },
      { name: 'x', kind: 'array', type: 'T', need: 'Prod(outer, r, inner)' },
      { name: 'out', kind: 'array', type: 'T', out: true, need: 'Prod(outer, inner)' },
      { name: 'outer', kind: 'size' },
      { name: 'r', kind: 'size' },
      { name: 'inner', kind: 'size' },
    ],
  },
];
