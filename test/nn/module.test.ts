// Module API: registration and traversal, PyTorch state-dict keys, train/eval, zeroGrad, counts,
// toString, to()/double(), loadStateDict errors, dispose, and leak checks of whole training steps.
import { describe, expect, it } from 'vitest';
import { manualSeed, memory, randn, randint, tensor, tidy, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';
import { near } from './helpers.js';

function cnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Dropout(0.25),
    new nn.Linear(4 * 2 * 2, 3),
  );
}

describe('Module', () => {
  it('stateDict keys match PyTorch for a Sequential CNN', () => {
    const m = cnn();
    expect(Object.keys(m.stateDict())).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
      '6.weight',
      '6.bias',
    ]);
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '6.weight', '6.bias']);
    expect([...m.namedChildren()].map(([k]) => k)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(m.numParameters()).toBe(4 * 9 + 4 + 4 + 4 + 16 * 3 + 3);
    expect(m.at(-1)).toBeInstanceOf(nn.Linear);
    expect(m.length).toBe(7);
    expect(() => m.at(7)).toThrow(/out of range/);
    expect([...m.modules()].length).toBe(8);
    m.dispose();
  });

  it('stateDict keys match PyTorch for an LSTM (bidirectional, 2 layers)', () => {
    const m = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
    const keys = Object.keys(m.stateDict());
    expect(keys.slice(0, 8)).toEqual([
      'weight_ih_l0',
      'weight_hh_l0',
      'bias_ih_l0',
      'bias_hh_l0',
      'weight_ih_l0_reverse',
      'weight_hh_l0_reverse',
      'bias_ih_l0_reverse',
      'bias_hh_l0_reverse',
    ]);
    expect(keys.length).toBe(16);
    expect([...m.stateDict().weight_ih_l1!.shape]).toEqual([16, 8]);
    m.dispose();
  });

  it('a user module registers by assignment, like PyTorch', () => {
    class Net extends nn.Module {
      fc1 = new nn.Linear(2, 3);
      act = new nn.Tanh();
      fc2 = new nn.Linear(3, 1);
      scale = nn.Parameter.from(tensor([2]));
      forward(x: Tensor): Tensor {
        return this.fc2.forward(this.act.forward(this.fc1.forward(x))).mul(this.scale);
      }
    }
    const n = new Net();
    expect(Object.keys(n.stateDict())).toEqual(['scale', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(n.toString()).toBe(
      'Net(\n  (fc1): Linear(in_features=2, out_features=3, bias=true)\n  (act): Tanh()\n  (fc2): Linear(in_features=3, out_features=1, bias=true)\n)',
    );
    tidy(() => expect(n.forward(tensor([[1, 2]])).shape).toEqual([1, 1]));
    n.dispose();
  });

  it("toString summarises like PyTorch's repr", () => {
    const m = cnn();
    expect(m.toString()).toBe(
      [
        'Sequential(',
        '  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))',
        '  (1): BatchNorm2d(4, eps=0.00001, momentum=0.1, affine=true, track_running_stats=true)',
        '  (2): ReLU()',
        '  (3): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=false)',
        '  (4): Flatten(start_dim=1, end_dim=-1)',
        '  (5): Dropout(p=0.25)',
        '  (6): Linear(in_features=16, out_features=3, bias=true)',
        ')',
      ].join('\n'),
    );
    expect(new nn.GRU(3, 4, { numLayers: 2, batchFirst: true }).toString()).toBe('GRU(3, 4, num_layers=2, batch_first=true)');
    m.dispose();
  });

  it('train()/eval() switch dropout and batch norm', () =>
    tidy(() => {
      manualSeed(0);
      const m = new nn.Sequential(new nn.Dropout(0.5), new nn.BatchNorm1d(2));
      const x = tensor([
        [1, 2],
        [3, 5],
        [2, 2],
      ]);
      expect(m.training).toBe(true);
      const bn = m.at(1) as nn.BatchNorm1d;
      m.eval();
      expect(bn.training).toBe(false);
      // eval: dropout is the identity and batch norm uses running stats (0, 1): y = x / sqrt(1 + eps)
      near(
        m.forward(x),
        [1, 2, 3, 5, 2, 2].map((v) => v / Math.sqrt(1 + 1e-5)),
        1e-5,
      );
      expect(bn.num_batches_tracked!.item()).toBe(0);
      m.train();
      const y = m.forward(x);
      expect(bn.num_batches_tracked!.item()).toBe(1);
      // training: batch statistics → per-column mean 0
      const colMean = y.mean(0).dataSync();
      expect(Math.abs(colMean[0]!)).toBeLessThan(1e-5);
      expect(bn.running_mean!.dataSync()[0]).not.toBe(0);
      m.dispose();
    }));

  it('zeroGrad sets grads to null and disposes them; requiresGrad_ freezes', () =>
    tidy(() => {
      const m = new nn.Linear(2, 2);
      m.forward(tensor([[1, 2]]))
        .sum()
        .backward();
      const g = m.weight.grad!;
      expect(g).not.toBeNull();
      m.zeroGrad();
      expect(m.weight.grad).toBeNull();
      expect(g.isDisposed).toBe(true);
      m.requiresGrad_(false);
      expect(m.numParameters({ trainableOnly: true })).toBe(0);
      m.dispose();
    }));

  it('to("float64") casts parameters and float buffers (num_batches_tracked stays int32)', () =>
    tidy(() => {
      const m = cnn();
      const before = Array.from((m.at(0) as nn.Conv2d).weight.dataSync());
      m.double();
      const sd = m.stateDict();
      expect(sd['0.weight']!.dtype).toBe('float64');
      expect(sd['1.running_mean']!.dtype).toBe('float64');
      expect(sd['1.num_batches_tracked']!.dtype).toBe('int32');
      near(sd['0.weight']!, before, 1e-7);
      expect(m.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad)).toBe(true);
      expect(m.forward(randn([2, 1, 4, 4], { dtype: 'float64' })).dtype).toBe('float64');
      m.dispose();
    }));

  it('loadStateDict keeps Parameter identity and reports bad keys and shapes', () =>
    tidy(() => {
      const m = new nn.Linear(2, 1);
      const w = m.weight;
      m.loadStateDict({ weight: tensor([[3, 4]], { dtype: 'float64' }), bias: tensor([1]) });
      expect(m.weight).toBe(w);
      near(m.forward(tensor([[1, 1]])), [8]);
      expect(() => m.loadStateDict({ weight: tensor([[1, 2]]) })).toThrow(/missing keys: bias/);
      expect(() => m.loadStateDict({ weight: tensor([[1, 2]]), bias: tensor([1]), extra: tensor([1]) })).toThrow(/unexpected keys: extra/);
      expect(() => m.loadStateDict({ weight: tensor([[1, 2, 3]]), bias: tensor([1]) })).toThrow(
        /size mismatch for weight: copying a param with shape \(1,3\), the shape in Linear is \(1,2\)/,
      );
      const r = m.loadStateDict({ weight: tensor([[0, 0]]) }, { strict: false });
      expect(r).toEqual({ missingKeys: ['bias'], unexpectedKeys: [] });
      m.dispose();
    }));

  it('a state dict moves between two models', () =>
    tidy(() => {
      manualSeed(1);
      const a = cnn();
      const b = cnn();
      a.eval();
      b.eval();
      const x = randn([2, 1, 4, 4]);
      b.loadStateDict(a.stateDict());
      near(b.forward(x), Array.from(a.forward(x).dataSync()), 0);
      a.dispose();
      b.dispose();
    }));

  it('manualSeed reproduces the initialisation', () => {
    manualSeed(42);
    const a = new nn.Linear(5, 3);
    manualSeed(42);
    const b = new nn.Linear(5, 3);
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    a.dispose();
    b.dispose();
  });

  it('dispose frees every parameter and buffer', () => {
    const before = memory().tensors;
    const m = cnn();
    expect(memory().tensors).toBe(before + 9);
    m.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('training steps do not leak (live tensor count unchanged after tidy)', () => {
  function check(model: nn.AnyModule, opt: optim.Optimizer<{ lr: number }>, step: () => Tensor): void {
    for (let i = 0; i < 2; i++) tidy(step); // warm up: optimizer state exists from now on
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) {
      tidy(() => {
        const loss = step();
        expect(Number.isFinite(loss.item())).toBe(true);
      });
    }
    expect(memory().tensors).toBe(before);
    opt.dispose();
    model.dispose();
  }

  it('MLP + SGD momentum + clipGradNorm', () => {
    const m = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(8, 3));
    const o = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
    const lossFn = new nn.CrossEntropyLoss();
    check(m, o, () => {
      const loss = lossFn.forward(m.forward(randn([5, 4])), randint(0, 3, [5]));
      loss.backward();
      optim.clipGradNorm(m.parameters(), 1);
      o.step();
      o.zeroGrad();
      return loss;
    });
  });

  it('CNN with batch norm + AdamW', () => {
    const m = cnn();
    const o = new optim.AdamW(m.parameters(), { lr: 1e-3 });
    check(m, o, () => {
      const loss = new nn.CrossEntropyLoss().forward(m.forward(randn([3, 1, 4, 4])), randint(0, 3, [3]));
      loss.backward();
      o.step();
      o.zeroGrad();
      return loss;
    });
  });

  it('LSTM + Linear + Adam', () => {
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, batchFirst: true, dropout: 0.2 });
    const head = new nn.Linear(4, 1);
    const params = [...lstm.parameters(), ...head.parameters()];
    const o = new optim.Adam(params, { lr: 1e-2, amsgrad: true });
    const model = new nn.Sequential(lstm as unknown as nn.AnyModule, head);
    check(model, o, () => {
      const [out] = lstm.forward(randn([2, 5, 3]));
      const y = head.forward(out.select(1, 4));
      const loss = new nn.MSELoss().forward(y, randn([2, 1]));
      loss.backward();
      o.step();
      o.zeroGrad();
      return loss;
    });
  });
});
