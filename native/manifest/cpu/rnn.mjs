// CPU entry points of the 'rnn' family: the LSTM / GRU cells (the js backend's lstmCell,
// lstmCellBackward, gruCell, gruCellBackward kernels) and the whole sequence loop of one layer and
// direction for RNN tanh / relu, LSTM and GRU, forward and backward. native/cpu/rnn_entry.cc
// implements them over rnn.h; lib/backend/js/native-rnn.ts calls them. Semantics:
// lib/backend/js/rnn.ts (torch's gate orders). Format: native/manifest/README.md.

const T = (name, need, extra = {}) => ({ name, kind: 'array', type: 'T', need, ...extra });
const out = (name, need, extra = {}) => T(name, need, { out: true, ...extra });
const opt = (name, need, extra = {}) => T(name, need, { nullable: true, ...extra });
const size = (name) => ({ name, kind: 'size' });
const BH = 'Prod(batch, hidden)';
const G = (k) => `Prod(batch, ${k}, hidden)`;
// sequence shapes: G·H rows of the weights, G = 1 (RNN), 4 (LSTM), 3 (GRU)
const GH = 'double(mode == 2 ? 4 : mode == 3 ? 3 : 1) * double(hidden)';
const SBH = 'Prod(batch, hidden)';
const TBH = 'Prod(steps, batch, hidden)';
const lstmOnly = (need) => `(mode == 2 ? ${need} : 0.0)`;
const gatedOnly = (need) => `(mode >= 2 ? ${need} : 0.0)`;
const modeCheck = { if: 'mode > 3', msg: 'mode must be 0 (RNN tanh), 1 (RNN relu), 2 (LSTM) or 3 (GRU)', error: 'RangeError' };

export const entries = [
  {
    name: 'cpuLstmCell',
    kernel: 'lstmCell',
    doc: 'gates (batch, 4H) pre-activation i, f, g, o; cPrev, h, c (batch, H); act (batch, 4H) = [σi, σf, tanh g, σo]. c = σf·cPrev + σi·tanh g, h = σo·tanh c.',
    types: ['f32', 'f64'],
    args: [T('gates', G(4)), T('cPrev', BH), out('h', BH), out('c', BH), out('act', G(4)), size('batch'), size('hidden')],
  },
  {
    name: 'cpuLstmCellBackward',
    kernel: 'lstmCellBackward',
    doc: 'From dh and dc (null: 0): dGates (batch, 4H) pre-activation and dcPrev (batch, H).',
    types: ['f32', 'f64'],
    args: [
      T('act', G(4)),
      T('cPrev', BH),
      T('c', BH),
      T('dh', BH),
      opt('dc', BH),
      out('dGates', G(4)),
      out('dcPrev', BH),
      size('batch'),
      size('hidden'),
    ],
  },
  {
    name: 'cpuGruCell',
    kernel: 'gruCell',
    doc: 'xg, hg (batch, 3H) (projections with their biases) in order r, z, n; hPrev, h (batch, H); saved (batch, 4H) = [r, z, n, hn].',
    types: ['f32', 'f64'],
    args: [T('xg', G(3)), T('hg', G(3)), T('hPrev', BH), out('h', BH), out('saved', G(4)), size('batch'), size('hidden')],
  },
  {
    name: 'cpuGruCellBackward',
    kernel: 'gruCellBackward',
    doc: 'From dh: dxg, dhg (batch, 3H) and the direct part of dhPrev (= dh·z).',
    types: ['f32', 'f64'],
    args: [
      T('saved', G(4)),
      T('hPrev', BH),
      T('dh', BH),
      out('dxg', G(3)),
      out('dhg', G(3)),
      out('dhPrev', BH),
      size('batch'),
      size('hidden'),
    ],
  },
  {
    name: 'cpuRnnForward',
    kernel: null,
    doc: [
      'One layer and direction over T steps (mode 0 RNN tanh, 1 RNN relu, 2 LSTM, 3 GRU): x (steps T, batch B, input I); h0 (B, H); c0 (B, H), LSTM only;',
      'wIh (G·H, I); wHh (G·H, H); bIh, bHh (G·H) or null. Writes hs (T, B, H), cs (T, B, H) (LSTM) and saved (T, B, 4H)',
      '(LSTM act, GRU [r, z, n, hn]; null for RNN or when no backward follows). One GEMM projects every step; per step a small GEMM and the fused gates.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      size('mode'),
      T('x', 'Prod(steps, batch, input)'),
      T('h0', SBH),
      opt('c0', lstmOnly(SBH)),
      T('wIh', `${GH} * double(input)`),
      T('wHh', `${GH} * double(hidden)`),
      opt('bIh', GH),
      opt('bHh', GH),
      out('hs', TBH),
      out('cs', lstmOnly(TBH), { nullable: true }),
      out('saved', gatedOnly('Prod(steps, batch, 4, hidden)'), { nullable: true }),
      size('steps'),
      size('batch'),
      size('input'),
      size('hidden'),
    ],
    checks: [
      modeCheck,
      { if: 'mode == 2 && (!arr_c0.present || !arr_cs.present)', msg: 'LSTM (mode 2) needs c0 and cs', error: 'TypeError' },
    ],
  },
  {
    name: 'cpuRnnBackward',
    kernel: null,
    doc: [
      'Gradients of Σ dhs·hs + Σ dhN·h_T + Σ dcN·c_T (dhs, dhN, dcN each may be null) through cpuRnnForward, from its hs, cs, saved.',
      'Overwrites dx (T, B, I) (null: skipped), dh0, dc0 (LSTM), dWih (G·H, I), dWhh (G·H, H), dbIh, dbHh (G·H) (null: skipped).',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      size('mode'),
      T('x', 'Prod(steps, batch, input)'),
      T('h0', SBH),
      opt('c0', lstmOnly(SBH)),
      T('wIh', `${GH} * double(input)`),
      T('wHh', `${GH} * double(hidden)`),
      T('hs', TBH),
      opt('cs', lstmOnly(TBH)),
      opt('saved', gatedOnly('Prod(steps, batch, 4, hidden)')),
      opt('dhs', TBH),
      opt('dhN', SBH),
      opt('dcN', lstmOnly(SBH)),
      out('dx', 'Prod(steps, batch, input)', { nullable: true }),
      out('dh0', SBH),
      out('dc0', lstmOnly(SBH), { nullable: true }),
      out('dWih', `${GH} * double(input)`),
      out('dWhh', `${GH} * double(hidden)`),
      out('dbIh', GH, { nullable: true }),
      out('dbHh', GH, { nullable: true }),
      size('steps'),
      size('batch'),
      size('input'),
      size('hidden'),
    ],
    checks: [
      modeCheck,
      {
        if: 'mode == 2 && (!arr_c0.present || !arr_cs.present || !arr_dc0.present)',
        msg: 'LSTM (mode 2) needs c0, cs and dc0',
        error: 'TypeError',
      },
      { if: 'mode >= 2 && !arr_saved.present', msg: 'LSTM and GRU need saved (from cpuRnnForward)', error: 'TypeError' },
    ],
  },
];
