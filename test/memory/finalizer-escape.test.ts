// The GC safety net (lib/memory.ts finalizer) is armed only for tensors that live outside every
// tidy scope: created outside tidy, returned from an outermost tidy or guard, or keep()'d inside
// one. A tensor still inside a scope is held by it and freed by it, so it never registers (that
// registration was ~20% of a training step's CPU time). Each way out must still be collected
// when dropped without dispose(); nothing tidy disposes is released twice.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { keep, memory, tidy, type Tensor } from '../../lib/index.js';
import { guard } from '../../lib/memory.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** runs make() (which drops `count` tensors without dispose()) and waits for the GC to free them */
async function collected(count: number, make: () => void): Promise<{ tensors: number; bytes: number }> {
  const before = memory();
  make();
  expect(memory().tensors).toBe(before.tensors + count);
  for (let i = 0; i < 30 && memory().tensors > before.tensors; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  const after = memory();
  return { tensors: after.tensors - before.tensors, bytes: after.bytes - before.bytes };
}

describe('GC safety net for tensors that escape tidy', () => {
  it('frees tensors returned from an outermost tidy and dropped', async () => {
    const d = await collected(6, () => {
      for (let i = 0; i < 3; i++) tidy(() => [wg.ones([500]).mul(2), wg.zeros([300]).add(1)]);
    });
    expect(d.tensors).toBeLessThanOrEqual(0); // (<: other garbage may be collected too)
    expect(d.bytes).toBeLessThanOrEqual(0);
  });

  it("frees tensors keep()'d inside tidy and dropped", async () => {
    const d = await collected(4, () => {
      tidy(() => {
        for (let i = 0; i < 4; i++) keep(wg.ones([700]).mul(3));
        return null;
      });
    });
    expect(d.tensors).toBeLessThanOrEqual(0);
  });

  it('frees tensors a guard made outside any tidy, and survivors of nested tidy scopes', async () => {
    const d = await collected(4, () => {
      guard(() => wg.ones([400]).add(5)); // both: a guard disposes only when it throws
      tidy(() => tidy(() => wg.ones([200]).mul(7)));
      tidy(() => {
        const inner = tidy(() => wg.ones([100]).neg());
        return inner.add(1); // inner is disposed by the outer tidy, its sum escapes
      });
    });
    expect(d.tensors).toBeLessThanOrEqual(0);
  });

  it('tensors tidy disposed stay disposed: no double release, accounting exact', async () => {
    for (let i = 0; i < 5; i++) {
      gc(); // earlier garbage first
      await new Promise((r) => setTimeout(r, 5));
    }
    const before = memory();
    let held: Tensor[] = [];
    tidy(() => {
      held = [wg.ones([1000]), wg.ones([1000]).mul(2)];
      return null;
    });
    expect(held.every((t) => t.isDisposed)).toBe(true);
    expect(memory().tensors).toBe(before.tensors);
    held = [];
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(memory().tensors).toBe(before.tensors); // the GC released nothing tidy had released
    // a survivor disposed by hand is not released again by the GC either
    let kept: Tensor | null = tidy(() => wg.ones([64]).mul(2));
    expect(tidy(() => kept!.sum().item())).toBe(128);
    kept.dispose();
    kept = null;
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(memory().tensors).toBe(before.tensors);
  });
});
