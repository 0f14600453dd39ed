// Dynamic int8 on MNIST (issue 14's targets): the MLP trained briefly, quantizeDynamic'd, against
// its float self on the test split: accuracy within 0.5 points, weights ≥ 3.9× smaller, predictions close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, tidy, fit, evaluate, noGrad, quantization, type Tensor } from '../../lib/index.js';
import type * as nn from '../../lib/nn/index.js';
import * as optim from '../../lib/optim/index.js';
import { mnistMlp } from '../../lib/models/index.js';
import { loadMnist, type MnistDatasets } from '../../lib/data/mnist.js';

const { quantizeDynamic } = quantization;

describe('MNIST MLP, dynamic int8', () => {
  let mnist: MnistDatasets;
  beforeAll(() => {
    mnist = loadMnist({ trainLimit: 4000 });
  });
  afterAll(() => {
    mnist.train.dispose();
    mnist.test.dispose();
  });

  it('accuracy within 0.5 points of fp32 on the test split, weights ≥ 3.9× smaller, predictions close', async () => {
    const [xTrain, yTrain] = mnist.train.tensors as [Tensor, Tensor];
    const [xTest, yTest] = mnist.test.tensors as [Tensor, Tensor];
    manualSeed(0);
    const model = mnistMlp();
    await fit(model, {
      x: xTrain,
      y: yTrain,
      batchSize: 64,
      shuffle: true,
      seed: 1,
      epochs: 2,
      optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
      verbose: false,
    });
    model.zeroGrad();
    const q = quantizeDynamic(model);
    const accuracy = async (m: nn.AnyModule): Promise<number> =>
      (await evaluate(m, { x: xTest, y: yTest, batchSize: 500 }, { metrics: ['accuracy'] })).metrics.accuracy!;
    const accF = await accuracy(model),
      accQ = await accuracy(q);
    expect(accF).toBeGreaterThan(0.85); // the baseline really learned
    expect(Math.abs(accQ - accF)).toBeLessThanOrEqual(0.005);
    // weights: bytes of what each model stores for its parameters
    const floatBytes = model.parameters().reduce((a, p) => a + 4 * p.size, 0);
    const qBytes = q.summary([1, 1, 28, 28], { print: false }).totals.paramBytes;
    expect(floatBytes / qBytes).toBeGreaterThanOrEqual(3.9);
    // predictions: the same class for nearly every digit, logits close (eval mode: no dropout)
    model.eval();
    noGrad(() =>
      tidy(() => {
        const yf = model.forward(xTest),
          yq = q.forward(xTest);
        const af = yf.argmax(1).dataSync(),
          aq = yq.argmax(1).dataSync();
        let same = 0;
        for (let i = 0; i < af.length; i++) if (af[i] === aq[i]) same++;
        expect(same / af.length).toBeGreaterThanOrEqual(0.99);
        const d = yf.sub(yq).abs().max().item(),
          mag = yf.abs().max().item();
        expect(d).toBeLessThan(0.05 * mag);
      }),
    );
    model.dispose();
    q.dispose();
  }, 120_000);
});
