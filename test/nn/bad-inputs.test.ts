// Bad inputs to nn layers: each an error naming the module and the shape, leaking nothing.
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { memory, nn } from '../../lib/index.js';

describe('recurrent layers on a length-0 sequence', () => {
  const layers: [string, () => nn.AnyModule, string][] = [
    ['LSTM', () => new nn.LSTM(3, 4), 'LSTM\\(3, 4\\)'],
    ['GRU', () => new nn.GRU(3, 4, { numLayers: 2 }), 'GRU\\(3, 4, num_layers=2\\)'],
    ['RNN', () => new nn.RNN(3, 4, { nonlinearity: 'relu' }), "RNN\\(3, 4, nonlinearity='relu'\\)"],
  ];
  for (const [name, make, repr] of layers) {
    it(`${name}: names the module, the shape and the layout (like torch, which refuses T = 0)`, () => {
      const m = make();
      const before = memory().tensors;
      const seqFirst = wg.zeros([0, 2, 3]);
      expect(() => m.forward(seqFirst)).toThrow(
        new RegExp(`${repr}: the sequence length T must be larger than 0, got input \\(0,2,3\\) as \\(T, B, 3\\)`),
      );
      const unbatched = wg.zeros([0, 3]);
      expect(() => m.forward(unbatched)).toThrow(/got input \(0,3\) as \(T, 3\)/);
      expect(memory().tensors).toBe(before + 2);
      seqFirst.dispose();
      unbatched.dispose();
      m.dispose();
    });
  }

  it('batchFirst: T is dim 1; an empty batch (B = 0) still runs, as in torch', () => {
    const m = new nn.LSTM(3, 4, { batchFirst: true });
    const x = wg.zeros([2, 0, 3]);
    expect(() => m.forward(x)).toThrow(/the sequence length T must be larger than 0, got input \(2,0,3\) as \(B, T, 3\)/);
    const empty = wg.randn([0, 5, 3]);
    const [out, [h, c]] = m.forward(empty);
    expect(out.shape).toEqual([0, 5, 4]);
    expect(h.shape).toEqual([1, 0, 4]);
    for (const t of [x, empty, out, h, c]) t.dispose();
    m.dispose();
  });
});

describe('registering a parameter, buffer or child under a name the module already uses', () => {
  it("'__proto__' (set the module's prototype before) and method names (shadowed forward) are refused", () => {
    const m = new nn.Linear(2, 3);
    const t = wg.tensor([1]);
    expect(() => m.registerBuffer('__proto__', t)).toThrow(
      /registerBuffer: '__proto__' is already a method or property of Linear; choose another buffer name/,
    );
    expect(Object.getPrototypeOf(m)).toBe(nn.Linear.prototype);
    const p = new nn.Parameter(wg.tensor([1]));
    expect(() => m.registerParameter('forward', p)).toThrow(/registerParameter: 'forward' is already a method or property of Linear/);
    expect(typeof m.forward).toBe('function');
    expect(() => m.registerModule('stateDict', new nn.ReLU())).toThrow(/registerModule: 'stateDict' is already a method/);
    expect(() => m.registerParameter('training', p)).toThrow(/attribute 'training' already exists on Linear \(boolean\)/);
    expect(() => m.registerBuffer('a.b', t)).toThrow(/invalid buffer name 'a.b'/);
    // replacing a parameter, or a new name, is fine
    const old = m.bias!;
    m.registerParameter('bias', p);
    expect(m.bias).toBe(p);
    m.registerBuffer('scale', t);
    expect(Object.keys(m.stateDict())).toEqual(['weight', 'bias', 'scale']);
    old.dispose();
    m.dispose();
  });
});

describe('loadStateDict options', () => {
  it('a misspelt or mistyped strict is an error (it loaded strictly without a word)', () => {
    const m = new nn.Linear(2, 2);
    const sd = m.stateDict();
    expect(() => m.loadStateDict(sd, { strcit: false } as never)).toThrow(
      /loadStateDict: unknown option 'strcit' — did you mean 'strict'\?/,
    );
    expect(() => m.loadStateDict(sd, { strict: 'false' } as never)).toThrow(/loadStateDict: .*strict/);
    expect(m.loadStateDict({ weight: sd.weight! }, { strict: false }).missingKeys).toEqual(['bias']);
    m.dispose();
  });
});

describe('recurrent layers: input dtype', () => {
  it('an input of another dtype than the weights names the module and both dtypes', () => {
    const m = new nn.LSTM(3, 4);
    const x = wg.ones([2, 1, 3], { dtype: 'float64' });
    expect(() => m.forward(x)).toThrow(/LSTM\(3, 4\): input is float64 \(2,1,3\) but the weights are float32; cast the input/);
    const i = wg.ones([2, 1, 3], { dtype: 'int32' });
    expect(() => new nn.GRU(3, 4).forward(i)).toThrow(/GRU\(3, 4\): input is int32 \(2,1,3\) but the weights are float32/);
    m.to('float64');
    const [out, [h, c]] = m.forward(x);
    expect(out.dtype).toBe('float64');
    for (const t of [x, i, out, h, c]) t.dispose();
    m.dispose();
  });
});

describe('RNN.param by name', () => {
  it('only own parameters: prototype names are "no parameter", with the list', () => {
    const m = new nn.GRU(2, 3, { bias: false });
    expect(m.param('weight_ih_l0').shape).toEqual([9, 2]);
    for (const n of ['constructor', 'forward', 'toString', 'training', 'bias_ih_l0']) {
      expect(() => m.param(n)).toThrow(new RegExp(`GRU: no parameter '${n}' \\(parameters: weight_ih_l0, weight_hh_l0\\)`));
    }
    m.dispose();
  });
});
