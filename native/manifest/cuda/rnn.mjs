// CUDA entry points: lstmCell(+Backward), gruCell(+Backward) (native/kernels/rnn.cu). Generated into
// native/src/ops_gen_rnn.cc. Format: native/manifest/README.md.
const bh = 'Elems({batch, hidden})';
const b3h = 'MulSat(Elems({batch, hidden}), 3)';
const b4h = 'MulSat(Elems({batch, hidden}), 4)';
const sizes = [
  { name: 'batch', kind: 'i64', size: true },
  { name: 'hidden', kind: 'i64', size: true },
  { name: 'dtype', kind: 'dtype' },
];
export const entries = [
  {
    name: 'lstmCell',
    doc: 'gates, act (batch, 4H); cPrev, h, c (batch, H)',
    args: [
      { name: 'gates', kind: 'buf', holds: b4h },
      { name: 'cPrev', kind: 'buf', holds: bh },
      { name: 'h', kind: 'buf', out: true, holds: bh },
      { name: 'c', kind: 'buf', out: true, holds: bh },
      { name: 'act', kind: 'buf', out: true, holds: b4h },
      ...sizes,
    ],
  },
  {
    name: 'lstmCellBackward',
    doc: 'act, dGates (batch, 4H); cPrev, c, dh, dc (nullable), dcPrev (batch, H)',
    args: [
      { name: 'act', kind: 'buf', holds: b4h },
      { name: 'cPrev', kind: 'buf', holds: bh },
      { name: 'c', kind: 'buf', holds: bh },
      { name: 'dh', kind: 'buf', holds: bh },
      { name: 'dc', kind: 'buf', nullable: true, holds: bh },
      { name: 'dGates', kind: 'buf', out: true, holds: b4h },
      { name: 'dcPrev', kind: 'buf', out: true, holds: bh },
      ...sizes,
    ],
  },
  {
    name: 'gruCell',
    doc: 'xg, hg (batch, 3H); hPrev, h (batch, H); saved (batch, 4H)',
    args: [
      { name: 'xg', kind: 'buf', holds: b3h },
      { name: 'hg', kind: 'buf', holds: b3h },
      { name: 'hPrev', kind: 'buf', holds: bh },
      { name: 'h', kind: 'buf', out: true, holds: bh },
      { name: 'saved', kind: 'buf', out: true, holds: b4h },
      ...sizes,
    ],
  },
  {
    name: 'gruCellBackward',
    doc: 'saved (batch, 4H); hPrev, dh, dhPrev (batch, H); dxg, dhg (batch, 3H)',
    args: [
      { name: 'saved', kind: 'buf', holds: b4h },
      { name: 'hPrev', kind: 'buf', holds: bh },
      { name: 'dh', kind: 'buf', holds: bh },
      { name: 'dxg', kind: 'buf', out: true, holds: b3h },
      { name: 'dhg', kind: 'buf', out: true, holds: b3h },
      { name: 'dhPrev', kind: 'buf', out: true, holds: bh },
      ...sizes,
    ],
  },
];
