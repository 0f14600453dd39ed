// Softmax (multinomial logistic) regression on MNIST: one Linear layer, crossEntropy, fit().
// Run: npx tsc -p examples && node dist-examples/examples/logistic-regression.js

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';

/** What the MNIST examples' run() accepts; each example has its own defaults. */
export interface ExampleOptions {
  epochs?: number;
  /** train on the first N of the 8,000 training digits (the test split is always the same 2,000) */
  trainLimit?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  verbose?: boolean;
}
export interface ExampleResult {
  testAccuracy: number;
  seconds: number;
  history: wg.History;
}

export async function run(o: ExampleOptions = {}): Promise<ExampleResult> {
  wg.manualSeed(o.seed ?? 0);
  const { train, test } = wg.data.loadMnist({ trainLimit: o.trainLimit });
  const model = new wg.nn.Sequential(new wg.nn.Flatten(), new wg.nn.Linear(784, 10));
  const optimizer = new wg.optim.Adam(model.parameters(), { lr: o.lr ?? 1e-3 });
  const t0 = performance.now();
  const history = await wg.fit(model, {
    train: new wg.data.DataLoader(train, { batchSize: o.batchSize ?? 64, shuffle: true, seed: o.seed ?? 0 }),
    optimizer,
    epochs: o.epochs ?? 5,
    metrics: ['accuracy'],
    verbose: o.verbose ?? false,
  });
  const r = await wg.evaluate(model, new wg.data.DataLoader(test, { batchSize: 500 }), { metrics: ['accuracy'] });
  model.dispose();
  optimizer.dispose();
  train.dispose();
  test.dispose();
  return { testAccuracy: r.metrics.accuracy!, seconds: (performance.now() - t0) / 1000, history };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run({ verbose: true }).then((r) => console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`));
}
