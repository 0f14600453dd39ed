// defaultCollate: every sample of a batch must have the first one's structure. Before, a sample
// with more items lost them silently ([x] and [x, 1] collated to [X]) and mismatched keys gave
// "tensor: expected a number at depth 1, got undefined".
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { defaultCollate } from '../../lib/data/loader.js';
import { memory } from '../../lib/memory.js';

describe('defaultCollate checks the structure of every sample', () => {
  it('arrays of different lengths, different keys, different kinds', () => {
    const a = wg.ones([1]);
    const b = wg.ones([1]);
    const before = memory().tensors;
    expect(() => defaultCollate([[a], [b, 1]])).toThrow(/defaultCollate: sample 1 of the batch has 2 items but sample 0 has 1/);
    expect(() => defaultCollate([{ x: a, c: 1 }, { x: b, b: 1 }])).toThrow(/sample 1 of the batch has keys \[b, x\] but sample 0 has \[c, x\]/);
    expect(() => defaultCollate([{ x: a }, { x: b, constructor: 1 }])).toThrow(/has keys \[constructor, x\]/);
    expect(() => defaultCollate([1, 'x'])).toThrow(/sample 1 of the batch is a string but sample 0 is a number/);
    expect(() => defaultCollate([[1], { 0: 1 }])).toThrow(/sample 1 of the batch is an object but sample 0 is an array/);
    // a failure in a later field frees what the earlier fields made
    expect(() => defaultCollate([[a, 1], [b, 'x']])).toThrow(/sample 1 of the batch is a string but sample 0 is a number/);
    expect(() => defaultCollate([{ p: a, q: 1 }, { p: b, q: [2] }])).toThrow(/sample 1 of the batch is an array/);
    expect(memory().tensors).toBe(before); // nothing half-collated is left
    // the same structure still collates
    const [x, y] = defaultCollate([[a, 3], [b, 4]]) as [wg.Tensor, wg.Tensor];
    expect(x.shape).toEqual([2, 1]);
    expect([...y.dataSync()]).toEqual([3, 4]);
    const o = defaultCollate([{ p: 1, q: a }, { q: b, p: 2 }]) as { p: wg.Tensor; q: wg.Tensor };
    expect([...o.p.dataSync()]).toEqual([1, 2]);
    for (const t of [a, b, x, y, o.p, o.q]) t.dispose();
  });
});
