// CUDA entry points: maxPool2d(+Backward), avgPool2d(+Backward), adaptiveAvgPool2d(+Backward)
// (native/kernels/pool.cu). Generated into native/src/ops_gen_pool.cc. Format: native/manifest/README.md.
// x, dx are (batch, channels, inH, inW); y, dy, argmax (int32) are (batch, channels, outH, outW).

const adaptive = (name, [a, b], backward) => ({
  name,
  doc: backward ? 'outH or outW 0: no window covers any input, the kernel writes dx = 0 (as js does)' : undefined,
  args: [
    { name: a, kind: 'buf', holds: backward ? 'Elems({batch, channels, outH, outW})' : 'Elems({batch, channels, inH, inW})' },
    { name: b, kind: 'buf', out: true, holds: backward ? 'Elems({batch, channels, inH, inW})' : 'Elems({batch, channels, outH, outW})' },
    ...['batch', 'channels', 'inH', 'inW', 'outH', 'outW'].map((n) => ({ name: n, kind: 'i64', size: true, launchAs: 'int' })),
    { name: 'dtype', kind: 'dtype' },
  ],
});

export const entries = [
  {
    name: 'maxPool2d',
    args: [
      { name: 'x', kind: 'buf', holds: 'PoolIn(params)' },
      { name: 'y', kind: 'buf', out: true, holds: 'PoolOut(params)' },
      // null: the values only (inference; lib/ops/conv.ts maxPool2d passes it when no backward will run)
      { name: 'argmax', kind: 'buf', out: true, nullable: true, elem: 'int', holds: 'PoolOut(params)', holdsDtype: 'k::kI32' },
      { name: 'params', kind: 'pool' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'maxPool2dBackward',
    args: [
      { name: 'dy', kind: 'buf', holds: 'PoolOut(params)' },
      { name: 'argmax', kind: 'buf', elem: 'int', holds: 'PoolOut(params)', holdsDtype: 'k::kI32' },
      { name: 'dx', kind: 'buf', out: true, holds: 'PoolIn(params)' },
      { name: 'params', kind: 'pool' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'avgPool2d',
    args: [
      { name: 'x', kind: 'buf', holds: 'PoolIn(params)' },
      { name: 'y', kind: 'buf', out: true, holds: 'PoolOut(params)' },
      { name: 'params', kind: 'pool' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'avgPool2dBackward',
    args: [
      { name: 'dy', kind: 'buf', holds: 'PoolOut(params)' },
      { name: 'dx', kind: 'buf', out: true, holds: 'PoolIn(params)' },
      { name: 'params', kind: 'pool' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  adaptive('adaptiveAvgPool2d', ['x', 'y'], false),
  adaptive('adaptiveAvgPool2dBackward', ['dy', 'dx'], true),
];
