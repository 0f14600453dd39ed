// CPU entry points of the 'optim' family: the fused optimizer steps over every tensor of a param
// group (native/cpu/optim_entry.cc implements them over optim.h's per-ISA element kernels, on the
// pool; lib/backend/js/native-optim.ts calls them). Semantics: lib/backend/js/optim.ts, bitwise
// (float64 arithmetic in the js order, no FMA, state rounded to the storage dtype on store).
// Format: native/manifest/README.md. cpuMemBandwidth (membw.cc) returns an object, so it stays
// hand-written there.

const list = (name, extra = {}) => ({ name, kind: 'list', type: 'T', sameLengths: true, ...extra });
const num = (name) => ({ name, kind: 'number' });
const bool = (name) => ({ name, kind: 'bool' });
// numels[t] (≤ params[t].length, checked by the function) elements of tensor t are updated
const numels = { name: 'numels', kind: 'array', type: 'i32', need: 'double(list_params.data.size())' };

export const entries = [
  {
    name: 'cpuSgdStep',
    kernel: 'sgdStep',
    doc: [
      'torch.optim.SGD in place over a group: g = ±grad + wd·p; with momentum buf = first ? g : m·buf + (1-dampening)·g,',
      'g = nesterov ? g + m·buf : buf; p -= lr·g. bufs may be null when momentum is 0.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      list('params', { out: true, sameLengths: undefined }),
      list('grads'),
      list('bufs', { out: true, nullable: true }),
      numels,
      num('lr'),
      num('momentum'),
      num('dampening'),
      bool('nesterov'),
      num('weightDecay'),
      bool('maximize'),
      bool('firstStep'),
    ],
    checks: [{ if: 'momentum != 0 && !list_bufs.present', msg: 'momentum needs one buffer per parameter (bufs)', error: 'TypeError' }],
  },
  {
    name: 'cpuAdamStep',
    kernel: 'adamStep',
    doc: [
      'torch.optim.Adam / AdamW (decoupled) / amsgrad in place over a group: m = lerp(m, g, 1-β1), v = β2·v + (1-β2)·g²,',
      'p -= stepSize · m / (√(v or vmax) / bc2Sqrt + eps); stepSize = lr / (1-β1^t) and bc2Sqrt = √(1-β2^t) from JS.',
    ].join('\n'),
    types: ['f32', 'f64'],
    args: [
      list('params', { out: true, sameLengths: undefined }),
      list('grads'),
      list('expAvg', { out: true }),
      list('expAvgSq', { out: true }),
      list('maxExpAvgSq', { out: true, nullable: true }),
      numels,
      num('lr'),
      num('beta1'),
      num('beta2'),
      num('eps'),
      num('weightDecay'),
      bool('decoupled'),
      bool('amsgrad'),
      bool('maximize'),
      num('stepSize'),
      num('bc2Sqrt'),
    ],
    checks: [{ if: 'amsgrad && !list_maxExpAvgSq.present', msg: 'amsgrad needs maxExpAvgSq for every parameter', error: 'TypeError' }],
  },
];
