// A small CNN on MNIST (Conv2d, ReLU, MaxPool2d, Linear) trained with fit(): metrics, validation,
// early stopping and a best-only checkpoint.
// Run: npm run build && node dist/examples/cnn.js

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';
import type { ExampleOptions, ExampleResult } from './logistic-regression.js';

export async function run(o: ExampleOptions & { checkpoint?: string } = {}): Promise<ExampleResult> {
  wg.manualSeed(o.seed ?? 0);
  const { nn, optim, data } = wg;
  const { train, test } = data.loadMnist({ trainLimit: o.trainLimit });
  const model = new nn.Sequential(
    new nn.Conv2d(1, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 5), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(32 * 4 * 4, 10),
  );
  const optimizer = new optim.Adam(model.parameters(), { lr: 2e-3 });
  const testLoader = new data.DataLoader(test, { batchSize: 500 });
  const callbacks: wg.Callback[] = [new wg.EarlyStopping({ monitor: 'valAccuracy', patience: 2 })];
  if (o.checkpoint) callbacks.push(new wg.ModelCheckpoint({ path: o.checkpoint, monitor: 'valAccuracy', saveBestOnly: true }));
  const t0 = performance.now();
  const history = await wg.fit(model, {
    train: new data.DataLoader(train, { batchSize: 64, shuffle: true, seed: o.seed ?? 0 }),
    validation: testLoader, optimizer, epochs: o.epochs ?? 3, metrics: ['accuracy'], callbacks, verbose: o.verbose ?? false,
  });
  const r = await wg.evaluate(model, testLoader, { metrics: ['accuracy'] });
  model.dispose(); train.dispose(); test.dispose();
  return { testAccuracy: r.metrics.accuracy!, seconds: (performance.now() - t0) / 1000, history };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run({ verbose: true }).then((r) => console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`));
}
