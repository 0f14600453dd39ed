// Layer outputs and gradients against PyTorch (test/fixtures/*.json), float64, state dicts loaded
// with loadStateDict under torch's key names.
import { describe, expect, it } from 'vitest';
import { tidy, tensor, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { loadFixture, tensorOf } from '../util/fixtures.js';
import { close, ft, stateOf } from './helpers.js';

const RTOL = 1e-9;

function dot(a: Tensor, b: Tensor): Tensor {
  return a.mul(b).sum();
}

describe('rnn_modules fixture (nn.RNN / LSTM / GRU)', () => {
  for (const c of loadFixture('rnn_modules').cases) {
    it(c.name, () =>
      tidy(() => {
        const p = c.params;
        const o = { numLayers: p.numLayers, batchFirst: p.batchFirst, bidirectional: p.bidirectional, dtype: 'float64' as const };
        const m =
          c.mode === 'LSTM'
            ? new nn.LSTM(p.inputSize, p.hiddenSize, o)
            : c.mode === 'GRU'
              ? new nn.GRU(p.inputSize, p.hiddenSize, o)
              : new nn.RNN(p.inputSize, p.hiddenSize, { ...o, nonlinearity: c.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
        expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.state));
        m.loadStateDict(stateOf(c.state));
        const x = ft(tensorOf(c, 'input'), true);
        const h0 = c.tensors.h0 ? ft(tensorOf(c, 'h0'), true) : null;
        const c0 = c.tensors.c0 ? ft(tensorOf(c, 'c0'), true) : null;
        let out: Tensor,
          hN: Tensor,
          cN: Tensor | null = null;
        if (m instanceof nn.LSTM) {
          const r = m.forward(x, h0 && c0 ? [h0, c0] : null);
          [out, [hN, cN]] = [r[0], r[1]];
        } else {
          [out, hN] = (m as nn.GRU).forward(x, h0);
        }
        close('output', out, tensorOf(c, 'output'), RTOL);
        close('h_n', hN, tensorOf(c, 'h_n'), RTOL);
        if (cN) close('c_n', cN, tensorOf(c, 'c_n'), RTOL);
        let L = dot(out, ft(tensorOf(c, 'doutput'))).add(dot(hN, ft(tensorOf(c, 'dh_n'))));
        if (cN) L = L.add(dot(cN, ft(tensorOf(c, 'dc_n'))));
        L.backward();
        close('dinput', x.grad, tensorOf(c, 'dinput'), RTOL);
        if (h0) close('dh0', h0.grad, tensorOf(c, 'dh0'), RTOL);
        if (c0) close('dc0', c0.grad, tensorOf(c, 'dc0'), RTOL);
        for (const [k, g] of Object.entries(c.grads)) close(`grad ${k}`, m.getTensor(k)!.grad, g, RTOL);
        m.dispose();
      }),
    );
  }
});

describe('rnn_cells fixture (nn.RNNCell / LSTMCell / GRUCell)', () => {
  for (const c of loadFixture('rnn_cells').cases) {
    it(c.name, () =>
      tidy(() => {
        const { input, hidden } = c.params;
        const o = { dtype: 'float64' as const };
        const x = ft(tensorOf(c, 'x'), true);
        const h0 = ft(tensorOf(c, 'h0'), true);
        let L: Tensor;
        let m: nn.LSTMCell | nn.GRUCell | nn.RNNCell;
        let c0: Tensor | null = null;
        if (c.cell === 'lstm') {
          const cell = (m = new nn.LSTMCell(input, hidden, o));
          cell.loadStateDict(stateOf(c.state));
          c0 = ft(tensorOf(c, 'c0'), true);
          const [h, cc] = cell.forward(x, [h0, c0]);
          close('h', h, tensorOf(c, 'h'), RTOL);
          close('c', cc, tensorOf(c, 'c'), RTOL);
          L = dot(h, ft(tensorOf(c, 'dh')));
          if (c.tensors.dc) L = L.add(dot(cc, ft(tensorOf(c, 'dc'))));
        } else {
          const cell = (m =
            c.cell === 'gru'
              ? new nn.GRUCell(input, hidden, o)
              : new nn.RNNCell(input, hidden, { ...o, nonlinearity: c.cell === 'rnn_relu' ? 'relu' : 'tanh' }));
          cell.loadStateDict(stateOf(c.state));
          const h = cell.forward(x, h0);
          close('h', h, tensorOf(c, 'h'), RTOL);
          L = dot(h, ft(tensorOf(c, 'dh')));
        }
        L.backward();
        close('dx', x.grad, tensorOf(c, 'dx'), RTOL);
        close('dh0', h0.grad, tensorOf(c, 'dh0'), RTOL);
        if (c0) close('dc0', c0.grad, tensorOf(c, 'dc0'), RTOL);
        for (const [k, g] of Object.entries(c.grads)) close(`grad ${k}`, m.getTensor(k)!.grad, g, RTOL);
        m.dispose();
      }),
    );
  }
});

describe('conv2d_layer fixture (nn.Conv2d)', () => {
  for (const c of loadFixture('conv2d_layer').cases) {
    it(c.name, () =>
      tidy(() => {
        const p = c.params;
        const m = new nn.Conv2d(p.in_channels, p.out_channels, p.kernel_size, {
          stride: p.stride,
          padding: p.padding,
          dilation: p.dilation,
          groups: p.groups,
          bias: p.bias,
          dtype: 'float64',
        });
        m.loadStateDict(stateOf({ weight: c.state.weight, bias: c.state.bias }));
        const x = ft(tensorOf(c, 'x'), true);
        const y = m.forward(x);
        close('y', y, tensorOf(c, 'y'), RTOL);
        dot(y, ft(tensorOf(c, 'dy'))).backward();
        close('dx', x.grad, tensorOf(c, 'dx'), RTOL);
        close('dweight', m.weight.grad, c.grads.weight, RTOL);
        close('dbias', m.bias!.grad, c.grads.bias, RTOL);
        m.dispose();
      }),
    );
  }
});

describe('norm fixture (nn.BatchNorm1d / BatchNorm2d / LayerNorm)', () => {
  for (const c of loadFixture('norm').cases) {
    it(c.name, () =>
      tidy(() => {
        const p = c.params;
        const x = ft(tensorOf(c, 'x'), true);
        let m: nn.BatchNormBase | nn.LayerNorm;
        if (c.op === 'batch_norm') {
          const o = {
            eps: p.eps,
            momentum: p.momentum,
            affine: p.affine,
            trackRunningStats: p.trackRunningStats,
            dtype: 'float64' as const,
          };
          m = x.ndim === 4 ? new nn.BatchNorm2d(p.c!, o) : new nn.BatchNorm1d(p.c!, o);
          const sd: Record<string, Tensor> = {};
          if (p.affine) Object.assign(sd, { weight: ft(tensorOf(c, 'weight')), bias: ft(tensorOf(c, 'bias')) });
          if (p.trackRunningStats) {
            Object.assign(sd, {
              running_mean: ft(tensorOf(c, 'running_mean')),
              running_var: ft(tensorOf(c, 'running_var')),
              num_batches_tracked: tensor(0, { dtype: 'int32' }),
            });
          }
          m.loadStateDict(sd);
          m.train(p.training!);
        } else {
          m = new nn.LayerNorm(p.normalizedShape!, { eps: p.eps, elementwiseAffine: p.affine, dtype: 'float64' });
          if (p.affine) m.loadStateDict({ weight: ft(tensorOf(c, 'weight')), bias: ft(tensorOf(c, 'bias')) });
        }
        const y = m.forward(x);
        close('y', y, tensorOf(c, 'y'), 1e-8);
        dot(y, ft(tensorOf(c, 'dy'))).backward();
        close('dx', x.grad, tensorOf(c, 'dx'), 1e-8);
        if (p.affine) {
          close('dweight', m.weight!.grad, tensorOf(c, 'dweight'), 1e-8);
          close('dbias', m.bias!.grad, tensorOf(c, 'dbias'), 1e-8);
        }
        if (c.op === 'batch_norm' && p.trackRunningStats) {
          const bn = m as nn.BatchNormBase;
          close('running_mean', bn.running_mean, tensorOf(c, 'running_mean_after'), 1e-8);
          close('running_var', bn.running_var, tensorOf(c, 'running_var_after'), 1e-8);
          expect(bn.num_batches_tracked!.item()).toBe(p.training ? 1 : 0);
        }
        m.dispose();
      }),
    );
  }
});

describe('embedding fixture (nn.Embedding)', () => {
  for (const c of loadFixture('embedding').cases) {
    it(c.name, () =>
      tidy(() => {
        const p = c.params;
        const m = new nn.Embedding(p.numEmbeddings, p.embeddingDim, { paddingIdx: p.paddingIdx, dtype: 'float64' });
        m.loadStateDict({ weight: ft(tensorOf(c, 'weight')) });
        const y = m.forward(ft(tensorOf(c, 'indices')));
        close('y', y, tensorOf(c, 'y'), RTOL);
        dot(y, ft(tensorOf(c, 'dy'))).backward();
        close('dweight', m.weight.grad, tensorOf(c, 'dweight'), RTOL);
        m.dispose();
      }),
    );
  }
});

describe('losses fixture (module forms)', () => {
  for (const c of loadFixture('losses').cases) {
    it(c.name, () =>
      tidy(() => {
        const p = c.params;
        const reduction = p.reduction;
        let loss: nn.Loss;
        let inKey = 'input';
        let gradKey = 'dinput';
        switch (c.op) {
          case 'cross_entropy':
            loss = new nn.CrossEntropyLoss({ reduction, labelSmoothing: p.labelSmoothing, ignoreIndex: p.ignoreIndex });
            inKey = 'logits';
            gradKey = 'dlogits';
            break;
          case 'nll_loss':
            loss = new nn.NLLLoss({ reduction, ignoreIndex: p.ignoreIndex });
            break;
          case 'binary_cross_entropy':
            loss = new nn.BCELoss({ reduction, weight: c.tensors.weight ? ft(tensorOf(c, 'weight')) : null });
            break;
          case 'binary_cross_entropy_with_logits':
            loss = new nn.BCEWithLogitsLoss({ reduction, posWeight: c.tensors.pos_weight ? ft(tensorOf(c, 'pos_weight')) : null });
            break;
          default:
            loss = new nn.MSELoss(reduction);
        }
        const x = ft(tensorOf(c, inKey), true);
        const t = ft(tensorOf(c, 'target'), c.op === 'mse_loss');
        const y = loss.forward(x, t);
        close('y', y, tensorOf(c, 'y'), 1e-9);
        dot(y, ft(tensorOf(c, 'dy'))).backward();
        close(gradKey, x.grad, tensorOf(c, gradKey), 1e-9);
        if (c.tensors.dtarget) close('dtarget', t.grad, tensorOf(c, 'dtarget'), 1e-9);
      }),
    );
  }
});
