// Helpers for the nn / optim tests: fixture tensors, closeness checks, and running a module with
// its parameters swapped for given tensors (so the generic gradcheck can perturb them).
import { expect } from 'vitest';
import { tensor, type Tensor } from '../../lib/index.js';
import type * as nn from '../../lib/nn/index.js';
import { compareClose, type FixtureTensor } from '../util/fixtures.js';

/** A fixture tensor as a wattgrad tensor (float64, or int32 for index tensors). */
export function ft(t: FixtureTensor, requiresGrad = false): Tensor {
  if (t.dtype === 'int32') return tensor(Int32Array.from(t.data), { shape: t.shape, dtype: 'int32' });
  return tensor(Float64Array.from(t.data), { shape: t.shape, dtype: 'float64', requiresGrad });
}

/** A fixture state dict as tensors. */
export function stateOf(s: Record<string, FixtureTensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, ft(v)]));
}

/** Asserts shape and values of a tensor against a fixture tensor or numbers (rtol-based, see compareClose). */
export function close(
  label: string,
  actual: Tensor | null | undefined,
  expected: FixtureTensor | { shape: number[]; data: number[] },
  rtol = 1e-9,
): void {
  expect(actual, `${label}: missing`).toBeTruthy();
  expect([...actual!.shape], `${label}: shape`).toEqual(expected.shape);
  const r = compareClose(label, actual!.dataSync(), expected.data, rtol);
  expect(r.ok, r.message).toBe(true);
}

/** Asserts nested values with an absolute tolerance. */
export function near(actual: Tensor, expected: number[], tol = 1e-6): void {
  const a = Array.from(actual.dataSync());
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => expect(Math.abs(v - expected[i]!), `element ${i}: got ${v}, expected ${expected[i]}`).toBeLessThanOrEqual(tol));
}

type Slots = Record<string, unknown>;

/**
 * fn(...[inputs, ...params]) that runs `body(...inputs)` with the module's named parameters
 * replaced by the given tensors for the duration (the layers read their parameters at forward).
 */
export function withParams<O>(m: nn.AnyModule, names: string[], nInputs: number, body: (...xs: Tensor[]) => O): (...xs: Tensor[]) => O {
  return (...xs: Tensor[]) => {
    const saved: [Slots, string, unknown][] = [];
    names.forEach((name, i) => {
      const parts = name.split('.');
      let owner = m as unknown as Slots;
      for (const p of parts.slice(0, -1)) owner = owner[p] as Slots;
      const key = parts[parts.length - 1]!;
      saved.push([owner, key, owner[key]]);
      owner[key] = xs[nInputs + i];
    });
    try {
      return body(...xs.slice(0, nInputs));
    } finally {
      for (const [o, k, v] of saved.reverse()) o[k] = v;
    }
  };
}

/** [names, params] of a module (after .double()). */
export function namedParams(m: nn.AnyModule): [string[], Tensor[]] {
  const e = [...m.namedParameters()];
  return [e.map(([n]) => n), e.map(([, p]) => p)];
}
