// Layers: output shapes, small hand-checked values, initialisation bounds, and clear errors.
import { describe, expect, it } from 'vitest';
import { manualSeed, ones, randn, tensor, tidy, zeros } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { near } from './helpers.js';

function maxAbs(t: { dataSync(): ArrayLike<number> }): number {
  return Math.max(...Array.from(t.dataSync(), Math.abs));
}

describe('layers: shapes and values', () => {
  it('Linear computes x·Wᵀ + b and initialises within ±1/√in', () =>
    tidy(() => {
      const m = new nn.Linear(2, 3);
      expect(maxAbs(m.weight)).toBeLessThanOrEqual(1 / Math.sqrt(2));
      expect(maxAbs(m.bias!)).toBeLessThanOrEqual(1 / Math.sqrt(2));
      m.loadStateDict({
        weight: tensor([
          [1, 0],
          [0, 1],
          [1, 1],
        ]),
        bias: tensor([0.5, 0, -1]),
      });
      near(m.forward(tensor([[2, 3]])), [2.5, 3, 4]);
      expect(m.forward(zeros([4, 5, 2])).shape).toEqual([4, 5, 3]);
      expect(() => m.forward(zeros([4, 3]))).toThrow(
        'Linear(in_features=2, out_features=3, bias=true): expected input (…, 2), got (4,3) float32',
      );
      expect(() => new nn.Linear(-1, 2)).toThrow(/in_features must be a non-negative integer/);
      m.dispose();
    }));

  it('Conv2d output shapes, a hand value, init bound and errors', () =>
    tidy(() => {
      const m = new nn.Conv2d(2, 4, 3, { stride: 2, padding: 1 });
      expect([...m.weight.shape]).toEqual([4, 2, 3, 3]);
      expect(maxAbs(m.weight)).toBeLessThanOrEqual(1 / Math.sqrt(18));
      expect(m.forward(zeros([1, 2, 7, 7])).shape).toEqual([1, 4, 4, 4]);
      const g = new nn.Conv2d(4, 6, [1, 2], { groups: 2, bias: false, dilation: [1, 2] });
      expect([...g.weight.shape]).toEqual([6, 2, 1, 2]);
      expect(g.forward(zeros([2, 4, 3, 5])).shape).toEqual([2, 6, 3, 3]);
      const s = new nn.Conv2d(1, 1, 2, { bias: false });
      s.loadStateDict({
        weight: tensor([
          [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        ]),
      });
      near(
        s.forward(
          tensor([
            [
              [
                [1, 1, 1],
                [1, 2, 1],
              ],
            ],
          ]),
        ),
        [1 + 2 + 3 + 8, 1 + 2 + 6 + 4],
      );
      expect(() => m.forward(zeros([1, 3, 7, 7]))).toThrow(
        /Conv2d\(2, 4, kernel_size=\(3, 3\), stride=\(2, 2\), padding=\(1, 1\)\): expected input \(N, 2, H, W\), got \(1,3,7,7\)/,
      );
      expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels \(3\) must be divisible by groups \(2\)/);
      expect(() => new nn.Conv2d(2, 4, 0)).toThrow(/kernel_size must be a positive integer/);
      expect(() => new nn.Conv2d(2, 4, 3, { padding: 'same', stride: 2 })).toThrow(/padding='same'/);
      for (const x of [m, g, s]) x.dispose();
    }));

  it('pools', () =>
    tidy(() => {
      const x = tensor([
        [
          [
            [1, 2, 3, 4],
            [5, 6, 7, 8],
            [9, 10, 11, 12],
            [13, 14, 15, 16],
          ],
        ],
      ]);
      near(new nn.MaxPool2d(2).forward(x), [6, 8, 14, 16]);
      near(new nn.AvgPool2d(2).forward(x), [3.5, 5.5, 11.5, 13.5]);
      near(new nn.AdaptiveAvgPool2d(1).forward(x), [8.5]);
      expect(new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(x).shape).toEqual([1, 1, 2, 2]);
      expect(() => new nn.MaxPool2d(2).forward(zeros([4, 4]))).toThrow(
        /MaxPool2d\(kernel_size=\(2, 2\).*expected input \(N, C, H, W\), got \(4,4\)/,
      );
      expect(() => new nn.MaxPool2d(2, { padding: 2 })).toThrow(/at most half/);
    }));

  it('BatchNorm, LayerNorm, Dropout, Flatten and activations', () =>
    tidy(() => {
      near(new nn.BatchNorm1d(1).forward(tensor([[1], [3]])), [-1, 1], 1e-4);
      near(
        new nn.LayerNorm(2).forward(
          tensor([
            [1, 3],
            [2, 2],
          ]),
        ),
        [-1, 1, 0, 0],
        1e-4,
      );
      expect(() => new nn.BatchNorm2d(3).forward(zeros([2, 3, 4]))).toThrow(
        /BatchNorm2d\(3, .*expected input \(N, 3, H, W\), got \(2,3,4\)/,
      );
      expect(() => new nn.BatchNorm1d(2, { momentum: 2 })).toThrow(/momentum must be in \[0, 1\]/);
      expect(() => new nn.LayerNorm(3).forward(zeros([2, 4]))).toThrow(/LayerNorm\(\(3,\).*expected input \(…, 3\)/);
      manualSeed(3);
      const d = new nn.Dropout(0.5);
      const y = Array.from(d.forward(ones([1000])).dataSync());
      expect(y.every((v) => v === 0 || v === 2)).toBe(true);
      const kept = y.filter((v) => v === 2).length;
      expect(kept).toBeGreaterThan(400);
      expect(kept).toBeLessThan(600);
      d.eval();
      near(d.forward(ones([3])), [1, 1, 1]);
      expect(() => new nn.Dropout(1)).toThrow('Dropout: p must be in [0, 1), got 1');
      expect(new nn.Flatten().forward(zeros([2, 3, 4])).shape).toEqual([2, 12]);
      const a = tensor([-1, 0, 2]);
      near(new nn.ReLU().forward(a), [0, 0, 2]);
      near(new nn.LeakyReLU(0.1).forward(a), [-0.1, 0, 2]);
      near(new nn.Tanh().forward(a), [Math.tanh(-1), 0, Math.tanh(2)]);
      near(new nn.Sigmoid().forward(a), [1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-2))]);
      near(new nn.SiLU().forward(a), [-1 / (1 + Math.E), 0, 2 / (1 + Math.exp(-2))]);
      near(new nn.GELU().forward(tensor([1])), [0.8413447460685429], 1e-5);
      near(new nn.Softmax().forward(tensor([0, Math.log(3)])), [0.25, 0.75]);
      near(new nn.LogSoftmax().forward(tensor([0, Math.log(3)])), [Math.log(0.25), Math.log(0.75)]);
      expect(() => new nn.GELU('fast' as never)).toThrow(/approximate/);
    }));

  it('Embedding: N(0,1) init, zero padding row that gets no gradient', () =>
    tidy(() => {
      manualSeed(5);
      const e = new nn.Embedding(5, 3, { paddingIdx: -1 });
      expect(e.paddingIdx).toBe(4);
      near(e.weight.select(0, 4), [0, 0, 0]);
      const idx = tensor(
        [
          [4, 1],
          [1, 4],
        ],
        { dtype: 'int32' },
      );
      const y = e.forward(idx);
      expect(y.shape).toEqual([2, 2, 3]);
      y.sum().backward();
      const g = e.weight.grad!;
      near(g.select(0, 4), [0, 0, 0]);
      near(g.select(0, 1), [2, 2, 2]);
      near(g.select(0, 0), [0, 0, 0]);
      expect(() => e.forward(tensor([1]))).toThrow(/indices must be int32/);
      expect(() => new nn.Embedding(3, 2, { paddingIdx: 3 })).toThrow(/padding_idx must be within num_embeddings/);
      e.dispose();
    }));

  it('Sequential add / indexing and the loss modules', () =>
    tidy(() => {
      const s = new nn.Sequential().add(new nn.Linear(2, 2)).add(new nn.ReLU());
      expect(s.length).toBe(2);
      expect(s.at(1)).toBeInstanceOf(nn.ReLU);
      expect(Object.keys(s.stateDict())).toEqual(['0.weight', '0.bias']);
      expect(() => s.add({} as never)).toThrow(/expected a Module/);
      near(new nn.MSELoss().forward(tensor([1, 2]), tensor([0, 0])), [2.5]);
      near(new nn.L1Loss('sum').forward(tensor([1, -2]), tensor([0, 0])), [3]);
      near(new nn.CrossEntropyLoss().forward(tensor([[0, 0]]), tensor([1], { dtype: 'int32' })), [Math.log(2)]);
      expect(() => new nn.MSELoss('avg' as never)).toThrow(/MSELoss: reduction must be 'mean', 'sum' or 'none'/);
      s.dispose();
    }));
});

describe('recurrent layers: shapes, states and errors', () => {
  it('LSTM / GRU / RNN output and state shapes (seq-first, batchFirst, bidirectional, unbatched)', () =>
    tidy(() => {
      const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
      const [out, [h, c]] = lstm.forward(randn([5, 2, 3]));
      expect(out.shape).toEqual([5, 2, 8]);
      expect(h.shape).toEqual([4, 2, 4]);
      expect(c.shape).toEqual([4, 2, 4]);
      const gru = new nn.GRU(3, 4, { batchFirst: true });
      const [o2, h2] = gru.forward(randn([2, 5, 3]));
      expect(o2.shape).toEqual([2, 5, 4]);
      expect(h2.shape).toEqual([1, 2, 4]);
      // the last output step equals h_n for a one-directional, one-layer net
      near(o2.select(1, 4), Array.from(h2.select(0, 0).dataSync()), 1e-7);
      const rnn = new nn.RNN(3, 2, { nonlinearity: 'relu' });
      const [o3, h3] = rnn.forward(randn([4, 3]));
      expect(o3.shape).toEqual([4, 2]);
      expect(h3.shape).toEqual([1, 2]);
      expect(() => lstm.forward(randn([5, 2, 2]))).toThrow(
        'LSTM(3, 4, num_layers=2, bidirectional=true): expected input (T, B, 3) (or unbatched (T, 3)), got (5,2,2)',
      );
      expect(() => gru.forward(randn([2, 5, 3]), randn([2, 2, 4]))).toThrow(
        /GRU\(3, 4, batch_first=true\): expected h0 \(1,2,4\), got \(2,2,4\)/,
      );
      expect(() => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as never })).toThrow(/nonlinearity must be 'tanh' or 'relu'/);
      expect(() => new nn.LSTM(3, 4, { dropout: 1.5 })).toThrow(/dropout must be in \[0, 1\]/);
      for (const m of [lstm, gru, rnn]) {
        const k = 1 / Math.sqrt(m.hiddenSize);
        for (const p of m.parameters()) expect(maxAbs(p)).toBeLessThanOrEqual(k);
        m.dispose();
      }
    }));

  it('cells: shapes, default zero state, errors', () =>
    tidy(() => {
      const c = new nn.LSTMCell(3, 2);
      const [h, cc] = c.forward(randn([4, 3]));
      expect(h.shape).toEqual([4, 2]);
      expect(cc.shape).toEqual([4, 2]);
      const g = new nn.GRUCell(3, 2);
      expect(g.forward(randn([3])).shape).toEqual([2]);
      expect(Object.keys(g.stateDict())).toEqual(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']);
      expect(() => g.forward(randn([4, 2]))).toThrow(/GRUCell\(3, 2\): expected input \(B, 3\) or \(3\), got \(4,2\)/);
      expect(() => new nn.RNNCell(3, 2).forward(randn([4, 3]), randn([4, 3]))).toThrow(/expected hx \(4,2\), got \(4,3\)/);
      c.dispose();
      g.dispose();
    }));
});

describe('nn.init', () => {
  it('gains, fans and fills', () =>
    tidy(() => {
      expect(nn.init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
      expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
      expect(nn.init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
      const w = zeros([4, 3, 2, 2]);
      expect(nn.init.calculateFanInAndFanOut(w)).toEqual([12, 16]);
      nn.init.constant_(w, 0.5);
      near(w.sum(), [24]);
      nn.init.kaimingUniform_(w, { nonlinearity: 'relu' });
      expect(maxAbs(w)).toBeLessThanOrEqual(Math.sqrt(2) * Math.sqrt(3 / 12));
      nn.init.xavierUniform_(w);
      expect(maxAbs(w)).toBeLessThanOrEqual(Math.sqrt(6 / 28));
      manualSeed(1);
      const a = nn.init.normal_(zeros([1000]), 2, 0.5);
      const mean = a.mean().item();
      expect(Math.abs(mean - 2)).toBeLessThan(0.1);
      const q = nn.init.orthogonal_(zeros([3, 5], { dtype: 'float64' }));
      const qqt = q.matmul(q.t());
      near(qqt, [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-12);
      expect(() => nn.init.xavierNormal_(zeros([3]))).toThrow(/fewer than 2 dimensions/);
      expect(() => nn.init.uniform_(zeros([2], { dtype: 'int32' }))).toThrow(/floating point/);
    }));
});

describe('Elman nonlinearity option', () => {
  it('maps tanh/relu and rejects anything else, naming the layer', () => {
    expect(() => new nn.RNN(3, 4, { nonlinearity: 'gelu' as 'tanh' })).toThrow("RNN: nonlinearity must be 'tanh' or 'relu', got 'gelu'");
    expect(() => new nn.RNNCell(3, 4, { nonlinearity: 'gelu' as 'tanh' })).toThrow(
      "RNNCell: nonlinearity must be 'tanh' or 'relu', got 'gelu'",
    );
    const r = new nn.RNN(3, 4, { nonlinearity: 'relu' });
    const c = new nn.RNNCell(3, 4);
    expect(r.mode).toBe('RNN_RELU');
    expect(c.mode).toBe('RNN_TANH');
    r.dispose();
    c.dispose();
  });
});
