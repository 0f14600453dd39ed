// A small CNN on MNIST (Conv2d, ReLU, MaxPool2d, Linear) trained with fit(): metrics, validation,
// early stopping and a best-only checkpoint.
// Run: npx tsc -p examples && node dist-examples/examples/cnn.js

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';
import type { ExampleOptions, ExampleResult } from './logistic-regression.js';

/** conv 1→c1 5×5, ReLU, pool 2; conv c1→c2 5×5, ReLU, pool 2; linear c2·4·4 → 10. */
export function cnn(c1 = 16, c2 = 32): wg.nn.Sequential {
  const { nn } = wg;
  return new nn.Sequential(
    new nn.Conv2d(1, c1, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2), // (N, c1, 12, 12)
    new nn.Conv2d(c1, c2, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2), // (N, c2, 4, 4)
    new nn.Flatten(),
    new nn.Linear(c2 * 4 * 4, 10),
  );
}

export async function run(o: ExampleOptions & { channels?: [number, number]; checkpoint?: string } = {}): Promise<ExampleResult> {
  wg.manualSeed(o.seed ?? 0);
  const { optim, data } = wg;
  const { train, test } = data.loadMnist({ trainLimit: o.trainLimit });
  const model = cnn(...(o.channels ?? [16, 32]));
  const epochs = o.epochs ?? 3;
  const optimizer = new optim.Adam(model.parameters(), { lr: o.lr ?? 2e-3 });
  const scheduler = new optim.CosineAnnealingLR(optimizer, { tMax: epochs });
  const testLoader = new data.DataLoader(test, { batchSize: 500 });
  const callbacks: wg.Callback[] = [new wg.EarlyStopping({ monitor: 'valAccuracy', patience: 2 })];
  if (o.checkpoint) callbacks.push(new wg.ModelCheckpoint({ path: o.checkpoint, monitor: 'valAccuracy', saveBestOnly: true }));
  const t0 = performance.now();
  const history = await wg.fit(model, {
    train: new data.DataLoader(train, { batchSize: o.batchSize ?? 64, shuffle: true, seed: o.seed ?? 0 }),
    validation: testLoader,
    optimizer,
    scheduler,
    epochs,
    metrics: ['accuracy'],
    callbacks,
    verbose: o.verbose ?? false,
  });
  const r = await wg.evaluate(model, testLoader, { metrics: ['accuracy'] });
  model.dispose();
  optimizer.dispose();
  train.dispose();
  test.dispose();
  return { testAccuracy: r.metrics.accuracy!, seconds: (performance.now() - t0) / 1000, history };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run({ verbose: true }).then((r) => console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`));
}
