// Layers: misspelt options are errors naming the layer, the key and the nearest valid one;
// sizes, probabilities, eps and flags are checked at construction.
import { describe, expect, it } from 'vitest';
import * as nn from '../../lib/nn/index.js';
import { memory } from '../../lib/memory.js';

describe('layer options', () => {
  it('unknown keys name the layer, the key and the nearest valid one', () => {
    const before = memory().tensors;
    expect(() => new nn.Linear(4, 2, { bais: false } as never)).toThrow("Linear: unknown option 'bais' — did you mean 'bias'?");
    expect(() => new nn.Conv2d(1, 4, 3, { strides: 2 } as never)).toThrow(/Conv2d: unknown option 'strides' — did you mean 'stride'\?/);
    expect(() => new nn.Conv2d(1, 4, 3, { padding_mode: 'zeros' } as never)).toThrow(
      /Conv2d: unknown option 'padding_mode' \(valid: stride, padding, dilation, groups, bias, dtype, device\)/,
    );
    expect(() => new nn.Embedding(10, 4, { padding_idx: 0 } as never)).toThrow(/did you mean 'paddingIdx'/);
    expect(() => new nn.BatchNorm2d(4, { track_running_stats: false } as never)).toThrow(
      /BatchNorm2d: unknown option 'track_running_stats' — did you mean 'trackRunningStats'\?/,
    );
    expect(() => new nn.LayerNorm(4, { elementwise_affine: false } as never)).toThrow(/did you mean 'elementwiseAffine'/);
    expect(() => new nn.MaxPool2d(2, { ceil_mode: true } as never)).toThrow(
      /MaxPool2d: unknown option 'ceil_mode' — did you mean 'ceilMode'\?/,
    );
    expect(() => new nn.AvgPool2d(2, { count_include_pad: false } as never)).toThrow(/did you mean 'countIncludePad'/);
    expect(() => new nn.LSTM(4, 8, { batch_first: true } as never)).toThrow(
      /LSTM: unknown option 'batch_first' — did you mean 'batchFirst'\?/,
    );
    expect(() => new nn.GRU(4, 8, { numLayer: 2 } as never)).toThrow(/GRU: unknown option 'numLayer' — did you mean 'numLayers'\?/);
    expect(() => new nn.LSTM(4, 8, { nonlinearity: 'relu' } as never)).toThrow(/LSTM: unknown option 'nonlinearity'/);
    expect(() => new nn.RNNCell(4, 8, { bias: true, nonlinerity: 'relu' } as never)).toThrow(
      /RNNCell: unknown option 'nonlinerity' — did you mean 'nonlinearity'\?/,
    );
    expect(() => new nn.LSTMCell(4, 8, { biass: true } as never)).toThrow(/LSTMCell: unknown option 'biass'/);
    // nothing was allocated by the failed constructors
    expect(memory().tensors).toBe(before);
  });
  it('values are checked: sizes, flags, eps, pairs, dims', () => {
    expect(() => new nn.Linear(4, 2, { bias: 'no' as never })).toThrow('Linear: invalid bias "no" (must be true or false)');
    expect(() => new nn.Linear(4.5, 2)).toThrow(/Linear: in_features must be a non-negative integer, got 4.5/);
    expect(() => new nn.Linear(-1, 2)).toThrow(/in_features/);
    expect(() => new nn.Conv2d(1, 4, [3, 3, 3] as never)).toThrow(
      /Conv2d: kernel_size must be a positive integer or a pair of them, got \[3,3,3\]/,
    );
    expect(() => new nn.Conv2d(1, 4, 0)).toThrow(/kernel_size/);
    expect(() => new nn.Embedding(0, 4)).toThrow(/num_embeddings/);
    expect(() => new nn.Embedding(10, 2.5)).toThrow(/embedding_dim/);
    expect(() => new nn.BatchNorm1d(4, { eps: Infinity })).toThrow(/BatchNorm1d: invalid eps Infinity/);
    expect(() => new nn.BatchNorm1d(4, { eps: 0 })).toThrow(/eps 0 \(must be a finite number > 0\)/);
    expect(() => new nn.BatchNorm1d(4, { momentum: NaN })).toThrow(/momentum/);
    expect(() => new nn.BatchNorm1d(4, { affine: 0 as never })).toThrow(/affine 0/);
    expect(() => new nn.LayerNorm([])).toThrow(/normalized_shape must not be empty/);
    expect(() => new nn.LayerNorm(4, { eps: NaN })).toThrow(/LayerNorm: invalid eps NaN/);
    expect(() => new nn.Dropout(1)).toThrow(/Dropout: p must be in \[0, 1\)/);
    expect(() => new nn.Dropout(NaN)).toThrow(/Dropout: p/);
    expect(() => new nn.LSTM(4, 8, { dropout: 2 })).toThrow(/dropout/);
    expect(() => new nn.LSTM(4, 8, { numLayers: 0 })).toThrow(/num_layers/);
    expect(() => new nn.LSTM(4, 8, { bidirectional: 'yes' as never })).toThrow(/bidirectional "yes"/);
    expect(() => new nn.ELU(NaN)).toThrow(/ELU: invalid alpha NaN/);
    expect(() => new nn.Softmax(0.5)).toThrow(/Softmax: invalid dim 0.5 \(must be an integer\)/);
    expect(() => new nn.Flatten(1.5)).toThrow(/Flatten: invalid startDim 1.5/);
    expect(() => new nn.Unflatten(1, [2, -1, -1])).toThrow(/only one size may be -1/);
    expect(() => new nn.Unflatten(1, [2, 1.5])).toThrow(/Unflatten: invalid sizes\[1\] 1.5/);
    expect(() => new nn.MaxPool2d(2, { ceilMode: 1 as never })).toThrow(/ceilMode 1/);
  });
});

describe('nn.init arguments', () => {
  it('bounds, means, stds and gains are finite; kaiming options are checked', () => {
    const w = new nn.Linear(3, 2).weight;
    const before = w.toArray();
    expect(() => nn.init.normal_(w, NaN)).toThrow(/normal_: invalid mean NaN/);
    expect(() => nn.init.normal_(w, 0, Infinity)).toThrow(/normal_: invalid std Infinity/);
    expect(() => nn.init.uniform_(w, -Infinity, 1)).toThrow(/uniform_: invalid a \(low\) -Infinity/);
    expect(() => nn.init.xavierUniform_(w, NaN)).toThrow(/xavierUniform_: invalid gain NaN/);
    expect(() => nn.init.kaimingUniform_(w, { mode: 'fanin' as never })).toThrow(
      /kaimingUniform_: invalid mode "fanin" — did you mean 'fan_in'\?/,
    );
    expect(() => nn.init.kaimingNormal_(w, { nonlinearty: 'relu' } as never)).toThrow(
      /kaimingNormal_: unknown option 'nonlinearty' — did you mean 'nonlinearity'\?/,
    );
    expect(() => nn.init.kaimingNormal_(w, { a: NaN })).toThrow(/invalid a NaN/);
    expect(w.toArray()).toEqual(before); // nothing was drawn
  });
});

describe('loss options', () => {
  it('loss functions and modules reject unknown keys and bad values', async () => {
    const { crossEntropy, nllLoss, mseLoss, bceWithLogits, huberLoss, tensor } = await import('../../lib/ops/index.js');
    const x = tensor([
      [1, 2, 0.5],
      [0.1, -1, 2],
    ]);
    const y = tensor(Int32Array.from([1, 2]));
    const before = memory().tensors;
    expect(() => crossEntropy(x, y, { label_smoothing: 0.1 } as never)).toThrow(
      "crossEntropy: unknown option 'label_smoothing' — did you mean 'labelSmoothing'?",
    );
    expect(() => crossEntropy(x, y, { labelSmoothing: NaN })).toThrow(/crossEntropy: invalid labelSmoothing NaN/);
    expect(() => crossEntropy(x, y, { ignoreIndex: 0.5 })).toThrow(/crossEntropy: invalid ignoreIndex 0.5 \(must be an integer\)/);
    expect(() => nllLoss(x, y, { ignore_index: 1 } as never)).toThrow(/did you mean 'ignoreIndex'/);
    expect(() => mseLoss(x, x, { reduce: 'sum' } as never)).toThrow(/mseLoss: unknown option 'reduce' — did you mean 'reduction'\?/);
    expect(() => bceWithLogits(x, x, { pos_weight: x } as never)).toThrow(/did you mean 'posWeight'/);
    expect(() => huberLoss(x, x, { beta: 1 } as never)).toThrow(/huberLoss: unknown option 'beta'/);
    expect(memory().tensors).toBe(before);
    expect(() => new nn.CrossEntropyLoss({ labelSmooting: 0.1 } as never)).toThrow(
      /CrossEntropyLoss: unknown option 'labelSmooting' — did you mean 'labelSmoothing'\?/,
    );
    expect(() => new nn.NLLLoss({ ignoreIndex: NaN })).toThrow(/NLLLoss: invalid ignoreIndex NaN/);
    expect(() => new nn.HuberLoss({ delta: Infinity })).toThrow(/HuberLoss: invalid delta Infinity/);
    expect(() => new nn.BCEWithLogitsLoss({ weight: x } as never)).toThrow(/BCEWithLogitsLoss: unknown option 'weight'/);
    // MSELoss takes 'sum' or { reduction: 'sum' }
    expect(new nn.MSELoss({ reduction: 'sum' }).reduction).toBe('sum');
    expect(() => new nn.MSELoss({ reductin: 'sum' } as never)).toThrow(/MSELoss: unknown option 'reductin' — did you mean 'reduction'\?/);
    x.dispose();
    y.dispose();
  });
});

describe('conv and pool op options', () => {
  it('conv2d/maxPool2d/avgPool2d reject unknown keys, non-boolean flags and pairs that are not pairs', async () => {
    const { conv2d, maxPool2d, avgPool2d, randn } = await import('../../lib/ops/index.js');
    const x = randn([1, 1, 6, 6]);
    const w = randn([2, 1, 3, 3]);
    const before = memory().tensors;
    expect(() => conv2d(x, w, null, { strides: 2 } as never)).toThrow("conv2d: unknown option 'strides' — did you mean 'stride'?");
    expect(() => conv2d(x, w, null, { stride: [1, 1, 1] as never })).toThrow(
      /conv2d: stride must be an integer or a pair of integers, got \[1,1,1\]/,
    );
    expect(() => maxPool2d(x, 2, { ceil_mode: true } as never)).toThrow(
      /maxPool2d: unknown option 'ceil_mode' — did you mean 'ceilMode'\?/,
    );
    expect(() => maxPool2d(x, 2, { countIncludePad: false } as never)).toThrow(/maxPool2d: unknown option 'countIncludePad'/);
    expect(() => maxPool2d(x, 2, { ceilMode: 'yes' as never })).toThrow(/maxPool2d: invalid ceilMode "yes"/);
    expect(() => avgPool2d(x, [2, 2, 2] as never)).toThrow(/avgPool2d: kernel size must be an integer or a pair/);
    expect(() => avgPool2d(x, 2, { countIncludePad: 0 as never })).toThrow(/avgPool2d: invalid countIncludePad 0/);
    expect(memory().tensors).toBe(before);
    x.dispose();
    w.dispose();
  });
});

describe('functional batchNorm, dropout and embedding arguments', () => {
  it('options and values are checked', async () => {
    const ops = await import('../../lib/ops/index.js');
    const F = await import('../../lib/nn/functional.js');
    const x = ops.randn([4, 3]);
    const w = ops.randn([5, 2]);
    const idx = ops.tensor(Int32Array.from([0, 4]));
    const before = memory().tensors;
    expect(() => ops.batchNorm(x, null, null, null, null, { training: true, epsilon: 1e-5 } as never)).toThrow(
      /batchNorm: unknown option 'epsilon' — did you mean 'eps'\?/,
    );
    expect(() => ops.batchNorm(x, null, null, null, null, { training: 'yes' } as never)).toThrow(/batchNorm: invalid training "yes"/);
    expect(() => ops.batchNorm(x, null, null, null, null, { training: true, momentum: 2 })).toThrow(/batchNorm: invalid momentum 2/);
    expect(() => ops.batchNorm(x, null, null, null, null, { training: true, eps: -1 })).toThrow(/batchNorm: invalid eps -1/);
    expect(() => ops.dropout(x, '0.5' as never)).toThrow(/dropout: p must be in \[0, 1\), got "0.5"/);
    expect(() => ops.dropout(x, 0.5, 'train' as never)).toThrow(/dropout: invalid training "train"/);
    expect(() => F.embedding(idx, w, { padding_idx: 0 } as never)).toThrow(
      /embedding: unknown option 'padding_idx' — did you mean 'paddingIdx'\?/,
    );
    expect(() => F.embedding(idx, w, { paddingIdx: 5 })).toThrow(/embedding: invalid paddingIdx \(num_embeddings 5\) 5/);
    expect(() => F.embedding(idx, w, { paddingIdx: 0.5 })).toThrow(/paddingIdx/);
    expect(memory().tensors).toBe(before);
    for (const t of [x, w, idx]) t.dispose();
  });
});

describe('Module.train(mode)', () => {
  it('mode must be a boolean', () => {
    const m = new nn.Linear(2, 2);
    expect(() => m.train('false' as never)).toThrow(/Linear.train: mode must be true or false, got "false"/);
    expect(m.training).toBe(true);
    m.train(false);
    expect(m.training).toBe(false);
    m.dispose();
  });
});

describe('ModuleList children', () => {
  it('only modules can be added (a number was kept and skipped by parameters())', () => {
    expect(() => new nn.ModuleList([5 as never])).toThrow(/ModuleList.push: expected a Module, got number/);
    expect(() => new nn.ModuleList(5 as never)).toThrow(/ModuleList: expected an array of modules/);
    const l = new nn.ModuleList([new nn.Linear(2, 2)]);
    expect([...l.parameters()].length).toBe(2);
    l.dispose();
  });
});
