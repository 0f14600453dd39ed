// The examples that have no accuracy target: they run, learn what they should, and free what they make.

import { describe, it, expect } from 'vitest';
import { run as linearRegression } from '../../examples/linear-regression.js';
import { memory } from '../../lib/memory.js';

describe('examples', () => {
  it('linear regression recovers y = 3·x₁ − 2·x₂ + 1 and frees its tensors', async () => {
    const before = memory().tensors;
    const r = await linearRegression({ epochs: 20 });
    expect(r.weight[0]).toBeCloseTo(3, 1);
    expect(r.weight[1]).toBeCloseTo(-2, 1);
    expect(r.bias).toBeCloseTo(1, 1);
    expect(r.loss).toBeLessThan(0.01); // the noise is 0.05² = 0.0025
    expect(memory().tensors).toBe(before);
  });
});
