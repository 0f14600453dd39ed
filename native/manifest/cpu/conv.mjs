// CPU entry points of the 'conv' family: conv2d forward / grad-input / grad-weight and 2-D
// pooling (max, average, adaptive average; forward and backward). native/cpu/conv_entry.cc
// implements them over native/cpu/conv2d.cc and pool2d.cc. Format: native/manifest/README.md.
// They work in place on the js backend's storage; lib/backend/js/native-conv.ts calls them.

const size = (name) => ({ name, kind: 'size' });
const convGeom = [
  'batch',
  'inC',
  'inH',
  'inW',
  'outC',
  'kH',
  'kW',
  'outH',
  'outW',
  'strideH',
  'strideW',
  'padH',
  'padW',
  'dilationH',
  'dilationW',
  'groups',
].map(size);
const convChecks = [
  { if: 'strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1', msg: 'strides and dilations must be >= 1', error: 'RangeError' },
  {
    if: 'groups < 1 || inC % groups != 0 || outC % groups != 0',
    msgExpr: '"channels (" + S(inC) + " in, " + S(outC) + " out) must be divisible by groups " + S(groups)',
    error: 'RangeError',
  },
];
const X = 'Prod(batch, inC, inH, inW)';
const W = 'Prod(outC, inC / groups, kH, kW)';
const Y = 'Prod(batch, outC, outH, outW)';
const convDoc = (what) =>
  [
    what,
    'x (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW), NCHW; the output is',
    'overwritten (never read); results identical for any thread count.',
  ].join('\n');

const poolWindow = [
  'batch',
  'channels',
  'inH',
  'inW',
  'outH',
  'outW',
  'kH',
  'kW',
  'strideH',
  'strideW',
  'padH',
  'padW',
  'dilationH',
  'dilationW',
].map(size);
const poolChecks = [
  { if: 'strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1', msg: 'strides and dilations must be >= 1', error: 'RangeError' },
];
const PX = 'Prod(batch, channels, inH, inW)';
const PY = 'Prod(batch, channels, outH, outW)';
const adaptiveDims = ['batch', 'channels', 'inH', 'inW', 'outH', 'outW'].map(size);
const poolDoc = (what) =>
  [what, 'x (batch, channels, inH, inW), y (batch, channels, outH, outW); bit for bit the js kernel (lib/backend/js/pool.ts).'].join('\n');

export const entries = [
  {
    name: 'cpuConv2d',
    kernel: 'conv2d',
    doc: convDoc('y = conv2d(x, w) (no bias): im2col + the packed GEMM.'),
    types: ['f32', 'f64'],
    args: [
      { name: 'x', kind: 'array', type: 'T', need: X },
      { name: 'w', kind: 'array', type: 'T', need: W },
      { name: 'y', kind: 'array', type: 'T', out: true, need: Y },
      ...convGeom,
    ],
    checks: convChecks,
    noOverlap: [
      ['y', 'x'],
      ['y', 'w'],
    ],
  },
  {
    name: 'cpuConv2dGradInput',
    kernel: 'conv2dGradInput',
    doc: convDoc('dx = the gradient of conv2d with respect to x, from dy (shaped like y) and w.'),
    types: ['f32', 'f64'],
    args: [
      { name: 'dy', kind: 'array', type: 'T', need: Y },
      { name: 'w', kind: 'array', type: 'T', need: W },
      { name: 'dx', kind: 'array', type: 'T', out: true, need: X },
      ...convGeom,
    ],
    checks: convChecks,
    noOverlap: [
      ['dx', 'dy'],
      ['dx', 'w'],
    ],
  },
  {
    name: 'cpuConv2dGradWeight',
    kernel: 'conv2dGradWeight',
    doc: convDoc('dw = the gradient of conv2d with respect to w, from x and dy (summed over the batch).'),
    types: ['f32', 'f64'],
    args: [
      { name: 'x', kind: 'array', type: 'T', need: X },
      { name: 'dy', kind: 'array', type: 'T', need: Y },
      { name: 'dw', kind: 'array', type: 'T', out: true, need: W },
      ...convGeom,
    ],
    checks: convChecks,
    noOverlap: [
      ['dw', 'x'],
      ['dw', 'dy'],
    ],
  },
  {
    name: 'cpuMaxPool2d',
    kernel: 'maxPool2d',
    doc: poolDoc('Max over each dilated window (padding never wins, NaN does); argmax = ih*inW + iw in the plane, -1 for an empty window.'),
    types: ['f32', 'f64'],
    args: [
      { name: 'x', kind: 'array', type: 'T', need: PX },
      { name: 'y', kind: 'array', type: 'T', out: true, need: PY },
      { name: 'argmax', kind: 'array', type: 'i32', out: true, need: PY },
      ...poolWindow,
    ],
    checks: poolChecks,
    noOverlap: [
      ['y', 'x'],
      ['argmax', 'x'],
      ['argmax', 'y'],
    ],
  },
  {
    name: 'cpuMaxPool2dBackward',
    kernel: 'maxPool2dBackward',
    doc: poolDoc('dx = 0, then dx[plane, argmax] += dy; an argmax outside [-1, inH*inW) is an error.'),
    types: ['f32', 'f64'],
    args: [
      { name: 'dy', kind: 'array', type: 'T', need: PY },
      { name: 'argmax', kind: 'array', type: 'i32', need: PY },
      { name: 'dx', kind: 'array', type: 'T', out: true, need: PX },
      ...poolWindow,
    ],
    checks: poolChecks,
    noOverlap: [
      ['dx', 'dy'],
      ['dx', 'argmax'],
    ],
  },
  {
    name: 'cpuAvgPool2d',
    kernel: 'avgPool2d',
    doc: poolDoc("Average over each window, torch's divisor (countIncludePad: padded cells count)."),
    types: ['f32', 'f64'],
    args: [
      { name: 'x', kind: 'array', type: 'T', need: PX },
      { name: 'y', kind: 'array', type: 'T', out: true, need: PY },
      ...poolWindow,
      { name: 'countIncludePad', kind: 'bool' },
    ],
    checks: poolChecks,
    noOverlap: [['y', 'x']],
  },
  {
    name: 'cpuAvgPool2dBackward',
    kernel: 'avgPool2dBackward',
    doc: poolDoc('The adjoint of cpuAvgPool2d: dx from dy.'),
    types: ['f32', 'f64'],
    args: [
      { name: 'dy', kind: 'array', type: 'T', need: PY },
      { name: 'dx', kind: 'array', type: 'T', out: true, need: PX },
      ...poolWindow,
      { name: 'countIncludePad', kind: 'bool' },
    ],
    checks: poolChecks,
    noOverlap: [['dx', 'dy']],
  },
  {
    name: 'cpuAdaptiveAvgPool2d',
    kernel: 'adaptiveAvgPool2d',
    doc: poolDoc("torch's adaptive windows: start = floor(i*in/out), end = ceil((i+1)*in/out)."),
    types: ['f32', 'f64'],
    args: [
      { name: 'x', kind: 'array', type: 'T', need: PX },
      { name: 'y', kind: 'array', type: 'T', out: true, need: PY },
      ...adaptiveDims,
    ],
    noOverlap: [['y', 'x']],
  },
  {
    name: 'cpuAdaptiveAvgPool2dBackward',
    kernel: 'adaptiveAvgPool2dBackward',
    doc: poolDoc('The adjoint of cpuAdaptiveAvgPool2d: dx from dy.'),
    types: ['f32', 'f64'],
    args: [
      { name: 'dy', kind: 'array', type: 'T', need: PY },
      { name: 'dx', kind: 'array', type: 'T', out: true, need: PX },
      ...adaptiveDims,
    ],
    noOverlap: [['dx', 'dy']],
  },
];
