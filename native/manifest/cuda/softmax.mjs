// CUDA entry points: softmax, softmaxBackward, crossEntropy, crossEntropyBackward
// (native/kernels/softmax.cu). Generated into native/src/ops_gen_softmax.cc. Format: native/manifest/README.md.
export const entries = [
  {
    name: 'softmax',
    args: [
      { name: 'x', kind: 'buf', holds: 'Elems({rows, cols})' },
      { name: 'y', kind: 'buf', out: true, holds: 'Elems({rows, cols})' },
      { name: 'rows', kind: 'i64', size: true },
      { name: 'cols', kind: 'i64', size: true },
      { name: 'log', kind: 'bool' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'softmaxBackward',
    args: [
      { name: 'y', kind: 'buf', holds: 'Elems({rows, cols})' },
      { name: 'dy', kind: 'buf', holds: 'Elems({rows, cols})' },
      { name: 'dx', kind: 'buf', out: true, holds: 'Elems({rows, cols})' },
      { name: 'rows', kind: 'i64', size: true },
      { name: 'cols', kind: 'i64', size: true },
      { name: 'log', kind: 'bool' },
      { name: 'dtype', kind: 'dtype' },
    ],
  },
  {
    name: 'crossEntropy',
    doc: 'logits (rows, cols), targets int32 (rows), loss (rows); bad targets set the device error flag',
    args: [
      { name: 'logits', kind: 'buf', holds: 'Elems({rows, cols})' },
      { name: 'targets', kind: 'buf', elem: 'int', holds: 'Elems({rows})', holdsDtype: 'k::kI32' },
      { name: 'loss', kind: 'buf', out: true, holds: 'Elems({rows})' },
      { name: 'rows', kind: 'i64', size: true },
      { name: 'cols', kind: 'i64', size: true },
      { name: 'labelSmoothing', kind: 'num' },
      { name: 'ignoreIndex', kind: 'int' },
      { name: 'dtype', kind: 'dtype' },
    ],
    errorFlag: true,
  },
  {
    name: 'crossEntropyBackward',
    doc: 'logits, dlogits (rows, cols), targets int32 (rows), dloss (rows)',
    args: [
      { name: 'logits', kind: 'buf', holds: 'Elems({rows, cols})' },
      { name: 'targets', kind: 'buf', elem: 'int', holds: 'Elems({rows})', holdsDtype: 'k::kI32' },
      { name: 'dloss', kind: 'buf', holds: 'Elems({rows})' },
      { name: 'dlogits', kind: 'buf', out: true, holds: 'Elems({rows, cols})' },
      { name: 'rows', kind: 'i64', size: true },
      { name: 'cols', kind: 'i64', size: true },
      { name: 'labelSmoothing', kind: 'num' },
      { name: 'ignoreIndex', kind: 'int' },
      { name: 'dtype', kind: 'dtype' },
    ],
    errorFlag: true,
  },
];
