// Accuracy targets for the examples, on the embedded MNIST data (8,000 train / 2,000 test digits,
// a fixed seeded split), CPU, js backend. Each run is seeded, so it is deterministic: the figures
// in the comments are what the runs reach on the fixed 2,000-digit test split, not luck.
//
//   logistic regression ≥ 88%   MLP ≥ 94%   CNN ≥ 97%   row-LSTM (28 steps × 28 features) ≥ 95%
//
// Logistic regression and the MLP always run (seconds). The CNN and the LSTM take a minute or
// two each on 2 cores and run when WATTGRAD_SLOW_TESTS=1 (CI sets it). Each run prints its figures.

import { describe, it, expect } from 'vitest';
import { run as logistic } from '../../examples/logistic-regression.js';
import { run as mlp } from '../../examples/mlp.js';
import { run as cnn } from '../../examples/cnn.js';
import { run as sequence } from '../../examples/sequence-classifier.js';
import type { ExampleResult } from '../../examples/logistic-regression.js';
import { getBackend, getDefaultDevice } from '../../lib/backend/registry.js';
import { memory } from '../../lib/memory.js';

const slow = process.env.WATTGRAD_SLOW_TESTS === '1';

function report(name: string, r: ExampleResult): void {
  const epochs = r.history.epochs.map((e) => `${e.seconds.toFixed(1)}s`).join(' ');
  console.log(`[targets] ${name}: test accuracy ${(100 * r.testAccuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s (epochs ${epochs})`);
}

describe('accuracy targets on the embedded MNIST test split (js backend)', () => {
  it('runs on the js backend', () => {
    expect(getDefaultDevice()).toBe('cpu');
    expect(getBackend('cpu').name).toBe('js');
  });

  it('logistic regression ≥ 88% (5 epochs on the 8,000 digits; 92.10%), deterministic', async () => {
    const before = memory().tensors;
    const a = await logistic({ epochs: 5 });
    report('logistic regression', a);
    expect(a.testAccuracy).toBeGreaterThanOrEqual(0.88);
    expect(memory().tensors).toBe(before); // the example frees what it made
    // the same seed gives the same run, bit for bit
    const b = await logistic({ epochs: 5 });
    expect(b.testAccuracy).toBe(a.testAccuracy);
    expect(b.history.loss).toEqual(a.history.loss);
  }, 120_000);

  it('MLP ≥ 94% (784-256-10, 4 epochs; 95.40%)', async () => {
    const before = memory().tensors;
    const r = await mlp({ epochs: 4 });
    report('MLP', r);
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0.94);
    expect(memory().tensors).toBe(before);
  }, 240_000);

  it.runIf(slow)(
    'CNN ≥ 97% (conv 16/32 channels, 3 epochs; 97.65%)',
    async () => {
      const before = memory().tensors;
      const r = await cnn({ epochs: 3 });
      report('CNN', r);
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0.97);
      expect(memory().tensors).toBe(before);
    },
    420_000,
  );

  it.runIf(slow)(
    'row-LSTM ≥ 95% (28 steps × 28 features, hidden 64, 6 epochs; 96.55%)',
    async () => {
      const before = memory().tensors;
      const r = await sequence({ cell: 'lstm', hidden: 64, epochs: 6 });
      report('row-LSTM', r);
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0.95);
      expect(memory().tensors).toBe(before);
    },
    420_000,
  );
});
