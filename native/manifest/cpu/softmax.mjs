// CPU entry points of the 'softmax' family: row-wise softmax / log-softmax and the fused
// cross-entropy, forward and backward. native/cpu/softmax.cc implements them over the streaming
// kernels (native/cpu/elementwise_kernels.h); lib/backend/js/native-streaming.ts calls them.
// Format: native/manifest/README.md. Semantics: lib/backend/js/softmax.ts.

const T = (name, need, extra = {}) => ({ name, kind: 'array', type: 'T', need, ...extra });
const size = (name) => ({ name, kind: 'size' });
const RC = 'Prod(rows, cols)';

export const entries = [
  {
    name: 'cpuSoftmax',
    kernel: 'softmax',
    doc: 'y = softmax(x) (or log_softmax) over the last axis; x, y (rows, cols); y may be x.',
    types: ['f32', 'f64'],
    args: [T('x', RC), T('y', RC, { out: true }), size('rows'), size('cols'), { name: 'log', kind: 'bool' }],
  },
  {
    name: 'cpuSoftmaxBackward',
    kernel: 'softmaxBackward',
    doc: 'dx from y = softmax(x) (or log_softmax) and dy; all (rows, cols).',
    types: ['f32', 'f64'],
    args: [T('y', RC), T('dy', RC), T('dx', RC, { out: true }), size('rows'), size('cols'), { name: 'log', kind: 'bool' }],
  },
  {
    name: 'cpuCrossEntropy',
    kernel: 'crossEntropy',
    doc: [
      'loss[r] = -(1-ε)·logp[t] - ε/cols·Σ_j logp[j], logp = log_softmax(logits[r]); 0 where t == ignoreIndex.',
      'logits (rows, cols), targets (rows) int32, loss (rows). A target outside [0, cols) is an error (nothing written).',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      T('logits', RC),
      { name: 'targets', kind: 'array', type: 'i32', need: 'double(rows)' },
      T('loss', 'double(rows)', { out: true }),
      size('rows'),
      size('cols'),
      { name: 'labelSmoothing', kind: 'number' },
      { name: 'ignoreIndex', kind: 'int' },
    ],
  },
  {
    name: 'cpuCrossEntropyBackward',
    kernel: 'crossEntropyBackward',
    doc: 'dlogits[r] = dloss[r]·(softmax(logits[r]) - (1-ε)·onehot(t) - ε/cols); 0 for ignored rows.',
    types: ['f32', 'f64'],
    args: [
      T('logits', RC),
      { name: 'targets', kind: 'array', type: 'i32', need: 'double(rows)' },
      T('dloss', 'double(rows)'),
      T('dlogits', RC, { out: true }),
      size('rows'),
      size('cols'),
      { name: 'labelSmoothing', kind: 'number' },
      { name: 'ignoreIndex', kind: 'int' },
    ],
    noOverlap: [['dlogits', 'logits']],
  },
];
