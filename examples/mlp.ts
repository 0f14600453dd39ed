// An MLP on MNIST (Linear + ReLU + Dropout, softmax inside crossEntropy), trained with the explicit
// loop: zeroGrad, forward, loss, backward, step — then evaluate().
// Run: npx tsc -p examples && node dist-examples/examples/mlp.js

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';
import type { ExampleOptions, ExampleResult } from './logistic-regression.js';

export async function run(o: ExampleOptions = {}): Promise<ExampleResult> {
  wg.manualSeed(o.seed ?? 0);
  const { nn, optim, data } = wg;
  const { train, test } = data.loadMnist({ trainLimit: o.trainLimit });
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(256, 10));
  const opt = new optim.Adam(model.parameters(), { lr: o.lr ?? 1e-3 });
  const loader = new data.DataLoader(train, { batchSize: o.batchSize ?? 64, shuffle: true, seed: o.seed ?? 0 });
  const history = new wg.History();
  const t0 = performance.now();
  for (let epoch = 1; epoch <= (o.epochs ?? 4); epoch++) {
    model.train();
    const e0 = performance.now();
    let sum = wg.zeros([]);
    for (const [x, y] of loader) {
      const next = wg.tidy(() => {
        opt.zeroGrad();
        const loss = wg.crossEntropy(model.forward(x!), y!);
        loss.backward();
        opt.step();
        return sum.add(loss.detach().mul(x!.shape[0]!));
      });
      sum.dispose();
      sum = next;
    }
    const loss = sum.item() / loader.numSamples;
    sum.dispose();
    const seconds = (performance.now() - e0) / 1000;
    history.epochs.push({
      epoch,
      loss,
      metrics: {},
      seconds,
      samples: loader.numSamples,
      samplesPerSecond: loader.numSamples / seconds,
      steps: loader.length,
    });
    if (o.verbose) console.log(`epoch ${epoch}: loss ${loss.toFixed(4)} (${seconds.toFixed(1)} s)`);
  }
  const r = await wg.evaluate(model, new data.DataLoader(test, { batchSize: 500 }), { metrics: ['accuracy'] });
  model.dispose();
  opt.dispose();
  train.dispose();
  test.dispose();
  return { testAccuracy: r.metrics.accuracy!, seconds: (performance.now() - t0) / 1000, history };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run({ verbose: true }).then((r) => console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`));
}
