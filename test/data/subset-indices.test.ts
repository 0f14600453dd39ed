// Subset indices are checked as given: an Int32Array copy would turn 0.5 or NaN into sample 0 and
// 2**32 into sample 0 without a word.
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { Subset, TensorDataset } from '../../lib/data/index.js';

describe('Subset indices', () => {
  it('fractional, NaN and past-int32 indices are errors naming the index', () => {
    const x = wg.tensor([[1, 2], [3, 4], [5, 6]]);
    const ds = new TensorDataset(x);
    expect(() => new Subset(ds, [0, 0.5])).toThrow(/Subset: index 0.5 is out of range for a dataset of 3 samples/);
    expect(() => new Subset(ds, [NaN])).toThrow(/Subset: index NaN/);
    expect(() => new Subset(ds, [2 ** 32])).toThrow(/Subset: index 4294967296/);
    expect(() => new Subset(ds, 5 as never)).toThrow(/Subset: indices must be an array/);
    const s = new Subset(ds, [2, 0]);
    const [row] = s.get(0) as [wg.Tensor];
    expect(row.toArray()).toEqual([5, 6]);
    row.dispose();
    x.dispose();
  });
});
