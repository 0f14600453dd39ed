// Optimizers and schedulers: misspelt options are errors, every hyper-parameter is checked
// (finite, PyTorch's ranges), and a failed loadStateDict / scheduler step changes nothing.
import { describe, expect, it } from 'vitest';
import { tensor, tidy } from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import * as nn from '../../lib/nn/index.js';

const params = () => [nn.Parameter.from(tensor([1, 2]))];

describe('optimizer options', () => {
  it('unknown keys are errors naming the optimizer, the key and the nearest valid one', () =>
    tidy(() => {
      const p = params();
      expect(() => new optim.SGD(p, { learningRate: 0.1 } as never)).toThrow("SGD: unknown option 'learningRate' — did you mean 'lr'?");
      expect(() => new optim.SGD(p, { momentun: 0.9 } as never)).toThrow(/SGD: unknown option 'momentun' — did you mean 'momentum'\?/);
      expect(() => new optim.Adam(p, { weight_decay: 0.1 } as never)).toThrow(
        /Adam: unknown option 'weight_decay' — did you mean 'weightDecay'\?/,
      );
      expect(() => new optim.AdamW(p, { beta: [0.9, 0.99] } as never)).toThrow(/AdamW: unknown option 'beta' — did you mean 'betas'\?/);
      expect(() => new optim.Adam(p, { epsilon: 1e-7 } as never)).toThrow(/did you mean 'eps'/);
      expect(() => new optim.SGD([{ params: p, lrr: 0.1 } as never])).toThrow(
        /SGD param group 0: unknown option 'lrr' — did you mean 'lr'\?/,
      );
      expect(new optim.SGD([{ params: p, name: 'encoder', lr: 0.2 } as never]).paramGroups[0]!.lr).toBe(0.2);
      // an option given as undefined keeps its default; the correct spelling trains at the given lr
      expect(new optim.SGD(p, { lr: undefined, momentum: 0.5 }).paramGroups[0]!.lr).toBe(1e-3);
      expect(new optim.SGD(p, { lr: 0.1 }).paramGroups[0]!.lr).toBe(0.1);
    }));
  it('hyper-parameters must be finite and in range, as in PyTorch', () =>
    tidy(() => {
      const p = params();
      expect(() => new optim.SGD(p, { lr: NaN })).toThrow(/SGD: invalid learning rate NaN/);
      expect(() => new optim.SGD(p, { lr: Infinity })).toThrow(/learning rate Infinity/);
      expect(() => new optim.SGD(p, { lr: '0.1' as never })).toThrow(TypeError);
      expect(() => new optim.SGD(p, { momentum: NaN })).toThrow(/momentum/);
      expect(() => new optim.SGD(p, { dampening: Infinity })).toThrow(/dampening/);
      expect(() => new optim.SGD(p, { nesterov: 1 as never })).toThrow(/nesterov 1 \(must be true or false\)/);
      expect(() => new optim.Adam(p, { eps: NaN })).toThrow(/epsilon value NaN/);
      expect(() => new optim.Adam(p, { betas: [0.9, NaN] })).toThrow(/beta parameter at index 1: NaN/);
      expect(() => new optim.Adam(p, { betas: [0.9] as never })).toThrow(/betas must be a pair/);
      expect(() => new optim.Adam(p, { amsgrad: 'yes' as never })).toThrow(/amsgrad/);
      expect(() => new optim.SGD([{ params: p, lr: -2 }], { lr: 0.1 })).toThrow(/SGD param group 0: invalid learning rate -2/);
    }));
});

describe('optimizer.loadStateDict is transactional', () => {
  it('a bad lr, step or id throws and leaves groups and state as they were', () =>
    tidy(() => {
      const p = nn.Parameter.from(tensor([1, 2, 3]));
      const o = new optim.Adam([p], { lr: 0.01 });
      p.grad = tensor([0.5, -1, 2]);
      o.step();
      const good = o.stateDict();
      const before = o.state.get(p)!.tensors.exp_avg!.toArray();
      const bad = (patch: (sd: optim.OptimizerStateDict) => void) => {
        const sd = o.stateDict();
        const copy = { state: { ...sd.state, '0': { ...sd.state['0']! } }, param_groups: sd.param_groups.map((g) => ({ ...g })) };
        patch(copy);
        return copy;
      };
      expect(() => o.loadStateDict(bad((sd) => (sd.param_groups[0]!.lr = -1)))).toThrow(/invalid learning rate -1/);
      expect(o.paramGroups[0]!.lr).toBe(0.01);
      expect(() => o.loadStateDict(bad((sd) => (sd.param_groups[0]!.betas = [0.9, 1.5])))).toThrow(/beta parameter at index 1/);
      expect(o.paramGroups[0]!.betas).toEqual([0.9, 0.999]);
      expect(() => o.loadStateDict(bad((sd) => (sd.state['0']!.step = 'abc' as never)))).toThrow(/step of parameter 0/);
      expect(() => o.loadStateDict(bad((sd) => (sd.state['0']!.step = -3)))).toThrow(/step of parameter 0 -3/);
      expect(() => o.loadStateDict(bad((sd) => (sd.state['0']!.exp_avg = tensor([1, 2]))))).toThrow(/exp_avg.*\(2,\)/);
      expect(() => o.loadStateDict(bad((sd) => (sd.param_groups[0]!.params = [0.5])))).toThrow(/parameter id 0.5/);
      // nothing changed: same lr, same step, same state tensor values
      expect(o.paramGroups[0]!.lr).toBe(0.01);
      expect(o.state.get(p)!.step).toBe(1);
      expect(o.state.get(p)!.tensors.exp_avg!.toArray()).toEqual(before);
      // and the good one still loads
      const lrChanged = { ...good, param_groups: good.param_groups.map((g) => ({ ...g, lr: 0.5 })) };
      o.loadStateDict(lrChanged);
      expect(o.paramGroups[0]!.lr).toBe(0.5);
      o.dispose();
    }));
});

describe('scheduler options and values', () => {
  const opt = (lr = 1) => new optim.SGD([nn.Parameter.from(tensor([1]))], { lr });
  it('unknown keys and bad values are errors', () => {
    expect(() => new optim.StepLR(opt(), { step_size: 2 } as never)).toThrow(
      /StepLR: unknown option 'step_size' — did you mean 'stepSize'\?/,
    );
    expect(() => new optim.StepLR(opt(), { stepSize: 2.5 })).toThrow(/StepLR: invalid stepSize 2.5 \(must be a positive integer\)/);
    expect(() => new optim.StepLR(opt(), { stepSize: 2, gamma: NaN })).toThrow(/gamma NaN/);
    expect(() => new optim.ExponentialLR(opt(), { gamma: -1 })).toThrow(/ExponentialLR: invalid gamma -1/);
    expect(() => new optim.CosineAnnealingLR(opt(), { T_max: 10 } as never)).toThrow(/did you mean 'tMax'/);
    expect(() => new optim.CosineAnnealingLR(opt(), { tMax: Infinity })).toThrow(/tMax Infinity/);
    expect(() => new optim.CosineAnnealingLR(opt(), { tMax: 10, etaMin: NaN })).toThrow(/etaMin NaN/);
    expect(() => new optim.LinearWarmup(opt(), { warmupSteps: 5, startFactor: 2 })).toThrow(/startFactor 2/);
    expect(() => new optim.LinearWarmup(opt(), { warmup: 5 } as never)).toThrow(/did you mean 'warmupSteps'/);
    expect(() => new optim.LambdaLR(opt(), 0.5 as never)).toThrow(/LambdaLR: invalid lrLambda 0.5 \(must be a function\)/);
    expect(() => new optim.StepLR({} as never, { stepSize: 1 })).toThrow(/StepLR: expected an optimizer/);
  });
  it('LambdaLR returning NaN throws naming the epoch and value and leaves the lr unchanged', () => {
    const o = opt(0.5);
    expect(() => new optim.LambdaLR(o, () => NaN)).toThrow(/LambdaLR: the schedule gives lr NaN for param group 0 at epoch 0/);
    expect(o.paramGroups[0]!.lr).toBe(0.5);
    const s = new optim.LambdaLR(o, (e) => (e === 2 ? -1 : 1 / (e + 1)));
    s.step();
    expect(o.paramGroups[0]!.lr).toBe(0.25);
    expect(() => s.step()).toThrow(/lr -0.5 for param group 0 at epoch 2/);
    expect(o.paramGroups[0]!.lr).toBe(0.25);
    expect(s.lastEpoch).toBe(1);
    expect(() => s.step(NaN)).toThrow(/LambdaLR.step: invalid epoch NaN/);
  });
  it('scheduler loadStateDict checks everything before committing', () => {
    const o = opt(1);
    const s = new optim.StepLR(o, { stepSize: 1, gamma: 0.5 });
    s.step();
    expect(() => s.loadStateDict({ lastEpoch: 'abc' as never, baseLrs: [1], lastLrs: [] })).toThrow(/lastEpoch/);
    expect(() => s.loadStateDict({ lastEpoch: 3, baseLrs: [NaN], lastLrs: [] })).toThrow(/baseLrs\[0\] NaN/);
    expect(() => s.loadStateDict({ lastEpoch: 3, baseLrs: [1, 2], lastLrs: [] })).toThrow(/baseLrs must be an array of 1/);
    expect(s.lastEpoch).toBe(1);
    expect(o.paramGroups[0]!.lr).toBe(0.5);
    s.loadStateDict({ lastEpoch: 3, baseLrs: [1], lastLrs: [] });
    expect(o.paramGroups[0]!.lr).toBe(0.125);
  });
});

describe('gradient clipping arguments', () => {
  it('maxNorm, normType and clipValue are numbers in range (a string or NaN is refused)', () =>
    tidy(() => {
      const p = nn.Parameter.from(tensor([3, 4]));
      p.grad = tensor([3, 4]);
      expect(() => optim.clipGradNorm([p], '1' as never)).toThrow(/clipGradNorm: invalid maxNorm "1"/);
      expect(() => optim.clipGradNorm([p], NaN)).toThrow(/clipGradNorm: invalid maxNorm NaN/);
      expect(() => optim.clipGradNorm([p], 1, 0)).toThrow(/clipGradNorm: invalid normType 0/);
      expect(() => optim.clipGradValue([p], -1)).toThrow(/clipGradValue: invalid clipValue -1/);
      expect(optim.clipGradNorm([p], 1, Infinity).item()).toBe(4);
      expect(p.grad!.toArray()).toEqual([expect.closeTo(0.75, 5), expect.closeTo(1, 5)]);
    }));
});

describe('RMSprop, Adagrad, ReduceLROnPlateau, OneCycleLR', () => {
  const opt = (lr = 1) => new optim.SGD([nn.Parameter.from(tensor([1]))], { lr, momentum: 0.9 });
  it('optimizers: misspelt keys, undefined keeps the default, flags must be booleans', () =>
    tidy(() => {
      const p = params();
      expect(() => new optim.RMSprop(p, { alpah: 0.9 } as never)).toThrow(/RMSprop: unknown option 'alpah' — did you mean 'alpha'\?/);
      expect(() => new optim.Adagrad(p, { lr_decay: 0.1 } as never)).toThrow(
        /Adagrad: unknown option 'lr_decay' — did you mean 'lrDecay'\?/,
      );
      expect(new optim.RMSprop(p, { lr: undefined }).paramGroups[0]!.lr).toBe(1e-2);
      expect(() => new optim.RMSprop(p, { centered: 'yes' as never })).toThrow(/RMSprop: invalid centered "yes"/);
      expect(() => new optim.Adagrad(p, { maximize: 1 as never })).toThrow(/Adagrad: invalid maximize 1/);
      expect(() => new optim.RMSprop([{ params: p, alhpa: 0.5 } as never])).toThrow(/RMSprop param group 0: unknown option 'alhpa'/);
    }));
  it('ReduceLROnPlateau: minLr and loadStateDict values are checked, nothing changes on a bad state', () => {
    const o = opt(0.5);
    expect(() => new optim.ReduceLROnPlateau(o, { minLr: -1 })).toThrow(/ReduceLROnPlateau: invalid minLr -1/);
    expect(() => new optim.ReduceLROnPlateau({} as never)).toThrow(/ReduceLROnPlateau: expected an optimizer/);
    const s = new optim.ReduceLROnPlateau(o, { patience: 0 });
    s.step(1);
    const sd = s.stateDict();
    expect(() => s.loadStateDict({ ...sd, lastLrs: [NaN] })).toThrow(/ReduceLROnPlateau.loadStateDict: invalid lastLrs\[0\] NaN/);
    expect(() => s.loadStateDict({ ...sd, numBadEpochs: -1 })).toThrow(/invalid numBadEpochs -1/);
    expect(() => s.loadStateDict({ ...sd, lastEpoch: 1.5, lastLrs: [0.01] })).toThrow(/invalid lastEpoch 1.5/);
    expect(o.paramGroups[0]!.lr).toBe(0.5);
    expect(s.lastEpoch).toBe(1);
  });
  it('OneCycleLR: momenta, flags and maxLr are checked', () => {
    expect(() => new optim.OneCycleLR(opt(), { maxLr: 1, totalSteps: 10, baseMomentum: NaN })).toThrow(
      /OneCycleLR: invalid baseMomentum NaN/,
    );
    expect(() => new optim.OneCycleLR(opt(), { maxLr: 1, totalSteps: 10, threePhase: 'no' as never })).toThrow(
      /OneCycleLR: invalid threePhase "no"/,
    );
    expect(() => new optim.OneCycleLR(opt(), { maxLr: Infinity, totalSteps: 10 })).toThrow(/OneCycleLR: invalid maxLr Infinity/);
    expect(() => new optim.OneCycleLR(opt(), { max_lr: 1, totalSteps: 10 } as never)).toThrow(/did you mean 'maxLr'/);
  });
});
