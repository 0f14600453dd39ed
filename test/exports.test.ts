// The package root's export list is explicit (lib/index.ts): ops by name, no internal launch helpers.
import { describe, expect, it } from 'vitest';
import * as wg from '../lib/index.js';

describe('public exports', () => {
  it('keeps the internal helpers off the top level', () => {
    const names = Object.keys(wg);
    expect(names.filter((n) => /Raw$/.test(n))).toEqual([]);
    for (const internal of [
      'sumTo',
      'reduceDims',
      'fromHost',
      'sgdStep',
      'adamStep',
      'rmspropStep',
      'adagradStep',
      'BACKWARD_OF',
      'assertFloatOp',
    ]) {
      expect(names, internal).not.toContain(internal);
    }
  });

  it('exports every op a user types first, each defined', () => {
    for (const n of [
      'tensor',
      'zeros',
      'randn',
      'add',
      'matmul',
      'relu',
      'softmax',
      'crossEntropy',
      'conv2d',
      'cat',
      'sum',
      'noGrad',
      'tidy',
      'fit',
    ]) {
      expect(typeof (wg as Record<string, unknown>)[n], n).toBe('function');
    }
    for (const [n, v] of Object.entries(wg)) expect(v, n).not.toBeUndefined();
    const y = wg.add(wg.tensor([1, 2]), wg.tensor([3, 5]));
    expect(Array.from(y.dataSync())).toEqual([4, 7]);
  });
});
