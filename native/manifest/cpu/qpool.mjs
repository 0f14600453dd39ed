// CPU entry points of the 'qpool' family: max pooling for inference (values only, no argmax) and
// the int8 conv → requantize → max-pool chain of a converted static int8 model
// (lib/quantization/qpool.ts is the contract and the js reference; native/cpu/qpool.cc implements
// them). Format: native/manifest/README.md.

const size = (name) => ({ name, kind: 'size' });
const window = ['kH', 'kW', 'strideH', 'strideW', 'padH', 'padW', 'dilationH', 'dilationW'];
const poolArgs = ['batch', 'channels', 'inH', 'inW', 'outH', 'outW', ...window].map(size);
const windowChecks = (p = '') => [
  {
    if: `${p}kH < 1 || ${p}kW < 1 || ${p}strideH < 1 || ${p}strideW < 1 || ${p}dilationH < 1 || ${p}dilationW < 1`,
    msg: 'pool kernel sizes, strides and dilations must be >= 1',
    error: 'RangeError',
  },
  {
    if: `${p}padH * 2 > ${p}kH || ${p}padW * 2 > ${p}kW`,
    msg: 'pool padding must be at most half the kernel',
    error: 'RangeError',
  },
];
const cap = (s) => s[0].toUpperCase() + s.slice(1);

export const entries = [
  {
    name: 'cpuMaxPool2dValues',
    kernel: null,
    fn: 'CpuMaxPool2dValues',
    doc: [
      'y = max over each dilated window of x (padding never wins; a NaN does, the first one), like cpuMaxPool2d but without',
      'the argmax (inference: no backward will read it). x (batch, channels, inH, inW), y (batch, channels, outH, outW);',
      'y is bit for bit what cpuMaxPool2d and lib/backend/js/pool.ts write.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      { name: 'x', kind: 'array', type: 'T', need: 'Prod(batch, channels, inH, inW)' },
      { name: 'y', kind: 'array', type: 'T', out: true, need: 'Prod(batch, channels, outH, outW)' },
      ...poolArgs,
    ],
    checks: windowChecks(),
    noOverlap: [['y', 'x']],
  },
  {
    name: 'cpuQconv2dMaxPool',
    kernel: 'qconv2d_maxpool',
    fn: 'CpuQconv2dMaxPool',
    doc: [
      'conv → requantize → max-pool of a static int8 model: c = cpuQconv2dU8S8S32(x, wt, …) (n, k, oh, ow) float32, then',
      'm = max-pool(c) (pool window over (oh, ow), padding never wins) (n, k, ph, pw), q = cpuQuantizeU8(m, outScale, outZeroPoint,',
      'quantMin, quantMax, shift) and out = float32(outScale · (q − outZeroPoint − shift)) (the grid values the next int8 layer',
      're-quantizes to exactly q); codes (optional) receives q. Quantizing is monotone, so q is also the max-pool of the codes',
      'of c. A NaN in c is an error (as quantizing it is). lib/quantization/qpool.ts qconv2dMaxPool bit for bit.',
    ].join('\n'),
    args: [
      { name: 'x', kind: 'array', type: 'u8', need: 'Prod(n, c, h, w)' },
      { name: 'wt', kind: 'array', type: 'i8', need: 'Prod(k, c, r, s)' },
      { name: 'wScale', kind: 'array', type: 'f32', need: 'Prod(k)' },
      { name: 'wZeroPoint', kind: 'array', type: 'i32', need: 'Prod(k)' },
      { name: 'bias', kind: 'array', type: 'f32', nullable: true, need: 'Prod(k)' },
      { name: 'out', kind: 'array', type: 'f32', out: true, need: 'Prod(n, k, ph, pw)' },
      { name: 'codes', kind: 'array', type: 'u8', out: true, nullable: true, need: 'Prod(n, k, ph, pw)' },
      ...['n', 'c', 'h', 'w', 'k', 'r', 's', 'oh', 'ow', 'strideH', 'strideW', 'padH', 'padW', 'dilationH', 'dilationW'].map(size),
      { name: 'xScale', kind: 'number' },
      { name: 'xZeroPoint', kind: 'int' },
      { name: 'relu', kind: 'bool' },
      ...window.map((n) => size(`pool${cap(n)}`)),
      size('ph'),
      size('pw'),
      { name: 'outScale', kind: 'number' },
      { name: 'outZeroPoint', kind: 'int' },
      { name: 'quantMin', kind: 'int' },
      { name: 'quantMax', kind: 'int' },
      { name: 'shift', kind: 'int' },
    ],
    checks: [
      {
        if: 'strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || r < 1 || s < 1',
        msg: 'strides, dilations and the kernel size must be >= 1',
        error: 'RangeError',
      },
      {
        if: 'oh < 1 || ow < 1 || oh != (h + 2 * padH - dilationH * (r - 1) - 1) / strideH + 1 || ow != (w + 2 * padW - dilationW * (s - 1) - 1) / strideW + 1',
        msg: 'oh / ow do not match the input, kernel, stride, padding and dilation',
        error: 'RangeError',
      },
      {
        if: 'poolKH < 1 || poolKW < 1 || poolStrideH < 1 || poolStrideW < 1 || poolDilationH < 1 || poolDilationW < 1',
        msg: 'pool kernel sizes, strides and dilations must be >= 1',
        error: 'RangeError',
      },
      {
        if: 'poolPadH * 2 > poolKH || poolPadW * 2 > poolKW',
        msg: 'pool padding must be at most half the kernel',
        error: 'RangeError',
      },
      {
        if: 'ph < 1 || pw < 1 || (ph - 1) * poolStrideH >= oh + poolPadH || (pw - 1) * poolStrideW >= ow + poolPadW',
        msg: 'ph / pw must be >= 1 and every pool window must start inside the conv output (oh + padding)',
        error: 'RangeError',
      },
      {
        if: 'double(c) * double(r) * double(s) * 255 * 255 >= 2147483648.0',
        msg: 'c · r · s is too large for exact int32 accumulation (< 33025)',
        error: 'RangeError',
      },
      { if: '!(xScale > 0) || !(xScale < 1e300)', msg: 'xScale must be a positive finite number', error: 'RangeError' },
      { if: 'xZeroPoint < 0 || xZeroPoint > 255', msg: 'xZeroPoint must be an integer in [0, 255]', error: 'RangeError' },
      { if: '!(outScale > 0) || !(outScale < 1e300)', msg: 'outScale must be a positive finite number', error: 'RangeError' },
      {
        if: '(shift != 0 && shift != 128) || quantMin > quantMax || quantMin + shift < 0 || quantMax + shift > 255 || outZeroPoint < quantMin || outZeroPoint > quantMax',
        msg: 'quantMin + shift .. quantMax + shift must lie in [0, 255] (shift 0 or 128) and hold outZeroPoint',
        error: 'RangeError',
      },
    ],
    noOverlap: [
      ['out', 'x'],
      ['out', 'wt'],
      ['codes', 'x'],
    ],
  },
];
