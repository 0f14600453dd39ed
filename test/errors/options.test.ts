// The shared option checker: unknown keys name the function, the key and the nearest valid one;
// the typed validators reject NaN, ±Infinity, fractions and out-of-range values with the name.
import { describe, expect, it } from 'vitest';
import { checkOptions, didYouMean, editDistance, inRange, nearest, nonNegative, oneOf, positiveInt, bool } from '../../lib/options.js';

describe('options: unknown keys', () => {
  it('edit distance counts an adjacent transposition as one edit', () => {
    expect(editDistance('epohcs', 'epochs')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('nearest folds case and separators, knows common aliases, and gives up when nothing is close', () => {
    expect(nearest('learningRate', ['lr', 'momentum'])).toBe('lr');
    expect(nearest('weight_decay', ['lr', 'weightDecay'])).toBe('weightDecay');
    expect(nearest('batchsize', ['batchSize', 'shuffle'])).toBe('batchSize');
    expect(nearest('epoch', ['epochs', 'lr'])).toBe('epochs');
    expect(nearest('momentun', ['lr', 'momentum'])).toBe('momentum');
    expect(nearest('zzzz', ['lr', 'momentum'])).toBeUndefined();
  });
  it('checkOptions passes known keys through and rejects unknown ones with a suggestion', () => {
    const o = { lr: 0.1 };
    expect(checkOptions('SGD', o, ['lr', 'momentum'])).toBe(o);
    expect(checkOptions('SGD', undefined, ['lr'])).toEqual({});
    expect(() => checkOptions('SGD', { learningRate: 0.1 }, ['lr', 'momentum'])).toThrow(
      "SGD: unknown option 'learningRate' — did you mean 'lr'?",
    );
    expect(() => checkOptions('fit', { qqq: 1 }, ['epochs', 'callbacks'])).toThrow(
      /fit: unknown option 'qqq' \(valid: epochs, callbacks\)/,
    );
    // an undefined value under a misspelt key is still a misspelling
    expect(() => checkOptions('SGD', { learningRate: undefined }, { lr: 1 })).toThrow(/did you mean 'lr'/);
    expect(() => checkOptions('SGD', 0.1 as never, ['lr'])).toThrow(/SGD: options must be an object, got 0.1/);
    expect(() => checkOptions('SGD', [1] as never, ['lr'])).toThrow(/options must be an object/);
    expect(didYouMean('epoch', ['epochs'], '--')).toBe(" — did you mean '--epochs'?");
  });
});

describe('options: typed validators', () => {
  it('positiveInt rejects 0, negatives, fractions, NaN, Infinity and non-numbers', () => {
    expect(positiveInt('predict', 'batchSize', 3)).toBe(3);
    expect(positiveInt('predict', 'batchSize', undefined, 32)).toBe(32);
    for (const bad of [0, -1, 0.5, NaN, Infinity]) expect(() => positiveInt('predict', 'batchSize', bad)).toThrow(RangeError);
    expect(() => positiveInt('predict', 'batchSize', 0.5)).toThrow('predict: invalid batchSize 0.5 (must be a positive integer)');
    expect(() => positiveInt('predict', 'batchSize', '8')).toThrow(TypeError);
    expect(() => positiveInt('predict', 'batchSize', undefined)).toThrow(/batchSize is required/);
  });
  it('ranges name their bounds, open or closed', () => {
    expect(() => inRange('Adam', 'beta parameter at index 0', 1, { min: 0, max: 1, maxOpen: true })).toThrow(
      'Adam: invalid beta parameter at index 0 1 (must be a finite number in [0, 1))',
    );
    expect(() => nonNegative('SGD', 'learning rate', -1)).toThrow('SGD: invalid learning rate -1 (must be a finite number >= 0)');
    expect(() => nonNegative('SGD', 'learning rate', NaN)).toThrow(RangeError);
    expect(inRange('clipGradNorm', 'normType', Infinity, { min: 0, minOpen: true, allowInfinity: true })).toBe(Infinity);
    expect(() => inRange('x', 'n', NaN, { allowInfinity: true })).toThrow(RangeError);
  });
  it('oneOf suggests the nearest choice; bool wants a boolean', () => {
    expect(oneOf('EarlyStopping', 'mode', 'min', ['min', 'max', 'auto'])).toBe('min');
    expect(() => oneOf('EarlyStopping', 'mode', 'mni', ['min', 'max', 'auto'])).toThrow(/did you mean 'min'/);
    expect(() => bool('DataLoader', 'shuffle', 1)).toThrow('DataLoader: invalid shuffle 1 (must be true or false)');
  });
});

describe('options: tail rule', () => {
  it('a candidate plus a tail is suggested unless the tail is a word of its own', () => {
    expect(nearest('lowercase', ['lower'])).toBe('lower');
    expect(nearest('padding_mode', ['padding', 'stride'])).toBeUndefined();
    expect(nearest('paddingMode', ['padding', 'stride'])).toBeUndefined();
    expect(nearest('reduce', ['reduction'])).toBe('reduction');
  });
});

describe('tensor creation options', () => {
  it('a misspelt dtype key is an error, not a silent float32', async () => {
    const wg = await import('../../lib/index.js');
    const before = wg.memory().tensors;
    expect(() => wg.tensor([1, 2], { dtyp: 'int32' } as never)).toThrow("tensor: unknown option 'dtyp' — did you mean 'dtype'?");
    expect(() => wg.zeros([2], { requires_grad: true } as never)).toThrow(
      /zeros: unknown option 'requires_grad' — did you mean 'requiresGrad'\?/,
    );
    expect(() => wg.zeros([2], { shape: [2] } as never)).toThrow(/zeros: unknown option 'shape'/);
    expect(() => wg.randn([2], { devise: 'cpu' } as never)).toThrow(/randn: unknown option 'devise' — did you mean 'device'\?/);
    const x = wg.tensor([1, 2]);
    expect(() => wg.zerosLike(x, { dtipe: 'int32' } as never)).toThrow(/zerosLike: unknown option 'dtipe'/);
    expect(() => wg.ones([2], { requiresGrad: 1 } as never)).toThrow(/ones: requiresGrad must be true or false/);
    expect(wg.memory().tensors).toBe(before + 1);
    const t = wg.tensor([1, 2], { shape: [2, 1] });
    expect(t.shape).toEqual([2, 1]);
    t.dispose();
    x.dispose();
  });
});

describe('op arguments found beside the options', () => {
  it('reductions want a boolean keepdim and a finite correction; slice wants integer bounds', async () => {
    const wg = await import('../../lib/index.js');
    const x = wg.tensor([
      [1, 2, 3],
      [4, 6, 8],
    ]);
    const before = wg.memory().tensors;
    // torch's std(x, 1, correction=0) typed as an options object used to be read as keepdim = true
    expect(() => wg.std(x, 1, { correction: 0 } as never)).toThrow(/std: invalid keepdim an object \(must be true or false\)/);
    expect(() => wg.sum(x, 1, 1 as never)).toThrow(/sum: invalid keepdim 1/);
    expect(() => wg.variance(x, 1, false, NaN)).toThrow(/var: invalid correction NaN/);
    expect(() => wg.slice(x, 1, NaN)).toThrow(/slice: start must be an integer, got NaN/);
    expect(() => wg.slice(x, 1, 0.5)).toThrow(/slice: start must be an integer, got 0.5/);
    expect(() => wg.slice(x, 1, 0, 1.5)).toThrow(/slice: end must be an integer/);
    expect(wg.memory().tensors).toBe(before);
    const s = wg.std(x, 1, true, 0);
    expect(s.shape).toEqual([2, 1]);
    expect((s.toArray() as number[][]).map((r) => r[0]!)).toEqual([
      expect.closeTo(Math.sqrt(2 / 3), 5),
      expect.closeTo(Math.sqrt(8 / 3), 5),
    ]);
    s.dispose();
    x.dispose();
  });
});

describe('backward options', () => {
  it('a misspelt retainGraph is an error, not a freed graph', async () => {
    const wg = await import('../../lib/index.js');
    const a = wg.tensor([1, 2], { requiresGrad: true });
    const y = wg.sum(wg.mul(a, a));
    expect(() => y.backward(null, { retain_graph: true } as never)).toThrow(
      "backward: unknown option 'retain_graph' — did you mean 'retainGraph'?",
    );
    expect(() => y.backward(null, { retainGraph: 'yes' } as never)).toThrow(/backward: invalid retainGraph "yes"/);
    expect(a.grad).toBeNull(); // nothing ran
    y.backward(null, { retainGraph: true });
    y.backward();
    expect(a.grad!.toArray()).toEqual([4, 8]);
    a.grad!.dispose();
    a.dispose();
    y.dispose();
  });
});

describe('options given as a bare number', () => {
  it('says which key the number was probably meant for', () => {
    expect(() => checkOptions('SGD', 0.1 as never, ['lr', 'momentum'])).toThrow(
      'SGD: options must be an object, got 0.1 (did you mean { lr: 0.1 }?)',
    );
    expect(() => checkOptions('DataLoader', 32 as never, ['batchSize', 'shuffle'])).toThrow(/did you mean \{ batchSize: 32 \}\?/);
    expect(() => checkOptions('fit', 3 as never, ['epochs'])).toThrow(/fit: options must be an object, got 3$/);
  });
});

describe('plain objects from another realm', () => {
  it('an options object made in a vm context is accepted; a Map or a Date is not', async () => {
    const vm = await import('node:vm');
    const foreign = vm.runInNewContext('({ lr: 0.5 })') as { lr: number };
    expect(checkOptions('SGD', foreign, ['lr'])).toBe(foreign);
    expect(() => checkOptions('SGD', new Map() as never, ['lr'])).toThrow(/options must be an object, got Map/);
    expect(() => checkOptions('SGD', new Date() as never, ['lr'])).toThrow(/options must be an object, got Date/);
  });
});
