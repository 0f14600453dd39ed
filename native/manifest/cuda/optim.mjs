// CUDA entry points: sgdStep, adamStep, rmspropStep, adagradStep (native/kernels/optim.cu). Generated
// into native/src/ops_gen_optim.cc. Lists of handles are JS arrays, one handle per numels[i]; the
// hyper-parameters (hyper: true) fill the entry's k::*Hyper struct `h`. Format: native/manifest/README.md.
const list = (name, nullable = false, out = true) => ({ name, kind: 'bufList', nullable, out });
const num = (name) => ({ name, kind: 'num', hyper: true });
const bool = (name) => ({ name, kind: 'bool', hyper: true });
export const entries = [
  {
    name: 'sgdStep',
    hyper: 'k::SgdHyper',
    args: [
      list('params'),
      list('grads', false, false),
      list('momentumBufs', true),
      { name: 'numels', kind: 'numels' },
      num('lr'),
      num('momentum'),
      num('dampening'),
      bool('nesterov'),
      num('weightDecay'),
      bool('maximize'),
      bool('firstStep'),
      { name: 'dtype', kind: 'dtype' },
    ],
    checks: [{ if: 'h.momentum != 0 && !has_momentumBufs', msg: 'momentum needs momentumBufs' }],
  },
  {
    name: 'adamStep',
    hyper: 'k::AdamHyper',
    args: [
      list('params'),
      list('grads', false, false),
      list('expAvg'),
      list('expAvgSq'),
      list('maxExpAvgSq', true),
      { name: 'numels', kind: 'numels' },
      num('lr'),
      num('beta1'),
      num('beta2'),
      num('eps'),
      num('weightDecay'),
      bool('decoupled'),
      bool('amsgrad'),
      bool('maximize'),
      num('step'),
      { name: 'dtype', kind: 'dtype' },
    ],
    checks: [
      { if: 'h.amsgrad && !has_maxExpAvgSq', msg: 'amsgrad needs maxExpAvgSq' },
      { if: '!(h.step >= 1)', msg: 'step must be >= 1' },
    ],
  },
  {
    name: 'rmspropStep',
    optional: true, // added after the first kernel set: an older addon lacks it (need() says so)
    hyper: 'k::RmspropHyper',
    args: [
      list('params'),
      list('grads', false, false),
      list('squareAvg'),
      list('momentumBufs', true),
      list('gradAvg', true),
      { name: 'numels', kind: 'numels' },
      num('lr'),
      num('alpha'),
      num('eps'),
      num('weightDecay'),
      num('momentum'),
      bool('centered'),
      bool('maximize'),
      { name: 'dtype', kind: 'dtype' },
    ],
    checks: [
      { if: 'h.momentum > 0 && !has_momentumBufs', msg: 'momentum needs momentumBufs' },
      { if: 'h.centered && !has_gradAvg', msg: 'centered needs gradAvg' },
    ],
  },
  {
    name: 'adagradStep',
    optional: true,
    hyper: 'k::AdagradHyper',
    tsDoc: "clr: the step's lr, already decayed (lr / (1 + (step - 1)·lrDecay))",
    args: [
      list('params'),
      list('grads', false, false),
      list('stateSum'),
      { name: 'numels', kind: 'numels' },
      num('clr'),
      num('eps'),
      num('weightDecay'),
      bool('maximize'),
      { name: 'dtype', kind: 'dtype' },
    ],
  },
];
