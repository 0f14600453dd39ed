// CUDA entry points: randUniform, randNormal, dropoutMask (native/kernels/random.cu). Generated into
// native/src/ops_gen_random.cc. seed and offset are JS numbers holding integers in [0, 2^53).
// Format: native/manifest/README.md.
export const entries = [
  {
    name: 'randUniform',
    tsDoc: 'seed, offset: integers in [0, 2^53).',
    args: [
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({n})' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'seed', kind: 'u64' },
      { name: 'offset', kind: 'u64' },
      { name: 'low', kind: 'num' },
      { name: 'high', kind: 'num' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'randNormal',
    args: [
      { name: 'out', kind: 'buf', out: true, holds: 'Elems({n})' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'seed', kind: 'u64' },
      { name: 'offset', kind: 'u64' },
      { name: 'mean', kind: 'num' },
      { name: 'std', kind: 'num' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'dropoutMask',
    args: [
      { name: 'mask', kind: 'buf', out: true, holds: 'Elems({n})' },
      { name: 'n', kind: 'i64', size: true },
      { name: 'p', kind: 'num' },
      { name: 'seed', kind: 'u64' },
      { name: 'offset', kind: 'u64' },
      { name: 'dtype', kind: 'dtype' },
    ],
    checks: [{ if: '!(p >= 0 && p <= 1)', msg: 'p must be in [0, 1]' }],
  },
];
