// Finite-difference gradient checks (float64, central differences) of every layer, with respect
// to the input and every parameter, via the generic test/util/gradcheck.ts.
import { describe, it } from 'vitest';
import { manualSeed, randn, tensor, tidy, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { gradcheck } from '../util/gradcheck.js';
import { namedParams, withParams } from './helpers.js';

type Out = Tensor | Tensor[];

/** gradcheck of m.forward(...inputs) over the inputs that require grad and all parameters. */
function checkModule(
  m: nn.AnyModule,
  inputs: Tensor[],
  call: (m: nn.AnyModule, ...xs: Tensor[]) => Out = (mm, ...xs) => mm.forward(...xs) as Out,
): void {
  m.double();
  const [names, ps] = namedParams(m);
  const fn = withParams(m, names, inputs.length, (...xs) => call(m, ...xs));
  gradcheck(fn, [...inputs, ...ps], { atol: 1e-6, rtol: 1e-5 });
  m.dispose();
}

const r = (shape: number[], grad = true): Tensor => randn(shape, { dtype: 'float64', requiresGrad: grad });

describe('gradcheck layers (float64)', () => {
  it('Linear', () =>
    tidy(() => {
      manualSeed(1);
      checkModule(new nn.Linear(3, 2), [r([4, 3])]);
    }));
  it('Linear without bias, 3-D input', () =>
    tidy(() => {
      manualSeed(2);
      checkModule(new nn.Linear(3, 2, { bias: false }), [r([2, 2, 3])]);
    }));
  it('Conv2d stride/padding', () =>
    tidy(() => {
      manualSeed(3);
      checkModule(new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1 }), [r([1, 2, 5, 5])]);
    }));
  it('Conv2d dilation + groups', () =>
    tidy(() => {
      manualSeed(4);
      checkModule(new nn.Conv2d(4, 2, [2, 3], { dilation: 2, groups: 2, padding: [1, 0] }), [r([1, 4, 5, 6])]);
    }));
  it('MaxPool2d / AvgPool2d / AdaptiveAvgPool2d', () =>
    tidy(() => {
      manualSeed(5);
      checkModule(new nn.MaxPool2d(2, { stride: 1 }), [r([1, 2, 3, 3])]);
      checkModule(new nn.AvgPool2d(3, { stride: 2, padding: 1 }), [r([1, 1, 4, 4])]);
      checkModule(new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }), [r([1, 1, 4, 4])]);
      checkModule(new nn.AdaptiveAvgPool2d([2, 3]), [r([1, 2, 5, 4])]);
    }));
  it('BatchNorm1d / BatchNorm2d, train and eval', () =>
    tidy(() => {
      manualSeed(6);
      checkModule(new nn.BatchNorm1d(3), [r([4, 3])]);
      checkModule(new nn.BatchNorm2d(2), [r([2, 2, 2, 3])]);
      const bn = new nn.BatchNorm2d(2);
      bn.forward(randn([3, 2, 2, 2])); // nontrivial running stats
      bn.eval();
      checkModule(bn, [r([2, 2, 2, 2])]);
      checkModule(new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false }).eval(), [r([5, 3, 2])]);
    }));
  it('LayerNorm', () =>
    tidy(() => {
      manualSeed(7);
      checkModule(new nn.LayerNorm([2, 3]), [r([2, 2, 3])]);
    }));
  it('Embedding (paddingIdx: see layers.test.ts — its row gets no gradient by design)', () =>
    tidy(() => {
      manualSeed(8);
      const idx = tensor(
        [
          [0, 2, 1],
          [2, 2, 3],
        ],
        { dtype: 'int32' },
      );
      checkModule(new nn.Embedding(4, 3), [idx]);
    }));
  it('Dropout with a fixed mask (same seed)', () =>
    tidy(() => {
      const x = r([4, 5]);
      checkModule(new nn.Dropout(0.4), [x], (m, xx) => {
        manualSeed(9);
        return m.forward(xx!) as Tensor;
      });
    }));
  it('activations', () =>
    tidy(() => {
      manualSeed(10);
      for (const m of [
        new nn.Tanh(),
        new nn.Sigmoid(),
        new nn.GELU(),
        new nn.GELU('tanh'),
        new nn.SiLU(),
        new nn.Softmax(1),
        new nn.LogSoftmax(0),
        new nn.LeakyReLU(0.2),
        new nn.ReLU(),
      ]) {
        checkModule(m, [r([3, 4])]);
      }
    }));
  it('Sequential CNN', () =>
    tidy(() => {
      manualSeed(11);
      const m = new nn.Sequential(
        new nn.Conv2d(1, 2, 3, { padding: 1 }),
        new nn.Tanh(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(8, 3),
      );
      checkModule(m, [r([2, 1, 4, 4])]);
    }));
  it('RNN tanh / relu, 2 layers, bidirectional, multi-step', () =>
    tidy(() => {
      manualSeed(12);
      checkModule(new nn.RNN(2, 3, { numLayers: 2, bidirectional: true }), [r([3, 2, 2]), r([4, 2, 3])]);
      checkModule(new nn.RNN(2, 3, { nonlinearity: 'relu', batchFirst: true }), [r([2, 3, 2])]);
    }));
  it('LSTM 2 layers with initial state, batchFirst, and bidirectional', () =>
    tidy(() => {
      manualSeed(13);
      const call = (m: nn.AnyModule, x: Tensor, h: Tensor, c: Tensor): Tensor[] => {
        const [out, [hN, cN]] = (m as nn.LSTM).forward(x, [h, c]);
        return [out, hN, cN];
      };
      checkModule(new nn.LSTM(2, 3, { numLayers: 2, batchFirst: true }), [r([2, 3, 2]), r([2, 2, 3]), r([2, 2, 3])], call as never);
      checkModule(new nn.LSTM(2, 2, { bidirectional: true }), [r([3, 1, 2]), r([2, 1, 2]), r([2, 1, 2])], call as never);
    }));
  it('GRU 2 layers, multi-step; dropout between layers with a fixed mask', () =>
    tidy(() => {
      manualSeed(14);
      checkModule(new nn.GRU(2, 3, { numLayers: 2 }), [r([3, 2, 2]), r([2, 2, 3])]);
      checkModule(new nn.GRU(2, 2, { numLayers: 2, dropout: 0.3 }), [r([3, 2, 2])], (m, x) => {
        manualSeed(15);
        return (m as nn.GRU).forward(x!);
      });
    }));
  it('cells', () =>
    tidy(() => {
      manualSeed(16);
      checkModule(new nn.RNNCell(2, 3), [r([2, 2]), r([2, 3])]);
      checkModule(new nn.RNNCell(2, 3, { nonlinearity: 'relu' }), [r([2, 2]), r([2, 3])]);
      checkModule(new nn.GRUCell(2, 3), [r([2, 2]), r([2, 3])]);
      checkModule(new nn.LSTMCell(2, 3), [r([2, 2]), r([2, 3]), r([2, 3])], (m, x, h, c) => (m as nn.LSTMCell).forward(x!, [h!, c!]));
    }));
  it('losses', () =>
    tidy(() => {
      manualSeed(17);
      const t = tensor([0, 2, 1], { dtype: 'int32' });
      checkModule(new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }), [r([3, 4]), t]);
      checkModule(new nn.NLLLoss({ reduction: 'sum' }), [r([3, 4]), t]);
      checkModule(new nn.MSELoss(), [r([2, 3]), r([2, 3])]);
      checkModule(new nn.L1Loss(), [r([2, 3]), r([2, 3], false)]);
      const p = tensor(
        [
          [0.2, 0.7],
          [0.9, 0.4],
        ],
        { dtype: 'float64', requiresGrad: true },
      );
      checkModule(new nn.BCELoss(), [
        p,
        tensor(
          [
            [0, 1],
            [1, 0.3],
          ],
          { dtype: 'float64' },
        ),
      ]);
      checkModule(new nn.BCEWithLogitsLoss({ posWeight: tensor([2, 0.5], { dtype: 'float64' }) }), [
        r([2, 2]),
        tensor(
          [
            [0, 1],
            [1, 0.3],
          ],
          { dtype: 'float64' },
        ),
      ]);
    }));
});
