// CPU entry points of the 'norm' family: layer norm and batch norm, forward and backward.
// native/cpu/norm.cc implements them over the streaming kernels (native/cpu/elementwise_kernels.h);
// lib/backend/js/native-streaming.ts calls them. Format: native/manifest/README.md.
// Semantics: lib/backend/js/norm.ts (saved statistics in the storage dtype, float64 arithmetic).

const T = (name, need, extra = {}) => ({ name, kind: 'array', type: 'T', need, ...extra });
const opt = (name, need, extra = {}) => T(name, need, { nullable: true, ...extra });
const size = (name) => ({ name, kind: 'size' });
const RC = 'Prod(rows, cols)';
const NCH = 'Prod(n, c, hw)';

export const entries = [
  {
    name: 'cpuLayerNorm',
    kernel: 'layerNorm',
    doc: 'Layer norm over the last cols: x, y (rows, cols); gamma, beta (cols) or null; mean, rstd (rows) saved.',
    types: ['f32', 'f64'],
    args: [
      T('x', RC),
      opt('gamma', 'double(cols)'),
      opt('beta', 'double(cols)'),
      T('y', RC, { out: true }),
      T('mean', 'double(rows)', { out: true }),
      T('rstd', 'double(rows)', { out: true }),
      size('rows'),
      size('cols'),
      { name: 'eps', kind: 'number' },
    ],
  },
  {
    name: 'cpuLayerNormBackward',
    kernel: 'layerNormBackward',
    doc: 'dx, and dgamma / dbeta (written, not accumulated) when given; results independent of the thread count.',
    types: ['f32', 'f64'],
    args: [
      T('dy', RC),
      T('x', RC),
      opt('gamma', 'double(cols)'),
      T('mean', 'double(rows)'),
      T('rstd', 'double(rows)'),
      T('dx', RC, { out: true }),
      opt('dgamma', 'double(cols)', { out: true }),
      opt('dbeta', 'double(cols)', { out: true }),
      size('rows'),
      size('cols'),
    ],
  },
  {
    name: 'cpuBatchNorm',
    kernel: 'batchNorm',
    doc: [
      'Batch norm over (n, c, hw), statistics per channel: training uses the batch statistics (biased var) and',
      'updates the running stats in place (momentum, unbiased var); eval uses the running stats. saveMean /',
      'saveInvStd (c) record what was used.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      T('x', NCH),
      opt('gamma', 'double(c)'),
      opt('beta', 'double(c)'),
      opt('runningMean', 'double(c)', { out: true }),
      opt('runningVar', 'double(c)', { out: true }),
      T('y', NCH, { out: true }),
      T('saveMean', 'double(c)', { out: true }),
      T('saveInvStd', 'double(c)', { out: true }),
      size('n'),
      size('c'),
      size('hw'),
      { name: 'training', kind: 'bool' },
      { name: 'momentum', kind: 'number' },
      { name: 'eps', kind: 'number' },
    ],
  },
  {
    name: 'cpuBatchNormBackward',
    kernel: 'batchNormBackward',
    doc: 'dx, dgamma, dbeta of batch norm (training: through the batch statistics; eval: gamma·invStd·dy).',
    types: ['f32', 'f64'],
    args: [
      T('dy', NCH),
      T('x', NCH),
      opt('gamma', 'double(c)'),
      T('saveMean', 'double(c)'),
      T('saveInvStd', 'double(c)'),
      T('dx', NCH, { out: true }),
      opt('dgamma', 'double(c)', { out: true }),
      opt('dbeta', 'double(c)', { out: true }),
      size('n'),
      size('c'),
      size('hw'),
      { name: 'training', kind: 'bool' },
    ],
  },
];
