// A recurrent classifier reading each MNIST image row by row: 28 steps of 28 features through an
// LSTM (or a GRU), the last hidden state into a Linear layer. Adam with a cosine learning-rate
// schedule and gradient clipping (recurrent nets like both).
// Run: npx tsc -p examples && node dist-examples/examples/sequence-classifier.js [gru]

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';
import type { ExampleOptions, ExampleResult } from './logistic-regression.js';

export class RowClassifier extends wg.nn.Module {
  readonly rnn: wg.nn.LSTM | wg.nn.GRU;
  readonly head: wg.nn.Linear;
  constructor(
    readonly cell: 'lstm' | 'gru' = 'lstm',
    hidden = 64,
  ) {
    super();
    this.rnn = cell === 'lstm' ? new wg.nn.LSTM(28, hidden, { batchFirst: true }) : new wg.nn.GRU(28, hidden, { batchFirst: true });
    this.head = new wg.nn.Linear(hidden, 10);
  }
  forward(x: wg.Tensor): wg.Tensor {
    return wg.tidy(() => {
      const seq = x.reshape([x.shape[0]!, 28, 28]); // (N, 28 steps, 28 features)
      const [, h] = this.rnn.forward(seq) as [wg.Tensor, wg.Tensor | [wg.Tensor, wg.Tensor]];
      const hN = Array.isArray(h) ? h[0] : h; // LSTM returns [hN, cN]; hN is (layers, N, hidden)
      return this.head.forward(wg.select(hN, 0, hN.shape[0]! - 1));
    });
  }
}

export async function run(o: ExampleOptions & { cell?: 'lstm' | 'gru'; hidden?: number } = {}): Promise<ExampleResult> {
  wg.manualSeed(o.seed ?? 0);
  const { train, test } = wg.data.loadMnist({ trainLimit: o.trainLimit });
  const model = new RowClassifier(o.cell ?? 'lstm', o.hidden ?? 64);
  const epochs = o.epochs ?? 6;
  const optimizer = new wg.optim.Adam(model.parameters(), { lr: o.lr ?? 3e-3 });
  const scheduler = new wg.optim.CosineAnnealingLR(optimizer, { tMax: epochs });
  const t0 = performance.now();
  const history = await wg.fit(model, {
    train: new wg.data.DataLoader(train, { batchSize: o.batchSize ?? 64, shuffle: true, seed: o.seed ?? 0 }),
    optimizer,
    scheduler,
    epochs,
    metrics: ['accuracy'],
    clipGradNorm: 1,
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
  run({ verbose: true, cell: process.argv[2] === 'gru' ? 'gru' : 'lstm' }).then((r) =>
    console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`),
  );
}
