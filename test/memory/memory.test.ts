// Deterministic memory: tidy, keep, dispose, `using`, memory() accounting, and the
// FinalizationRegistry safety net for tensors that escape.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, keep, memory, type Tensor } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

describeBackends('memory', (ctx) => {
  const live = () => memory().tensors;

  it('tidy disposes intermediates and keeps what it returns (tensor, array, object, nested)', () => {
    const before = live();
    const r = tidy(() => {
      const a = ctx.t([1, 2]);
      const b = a.mul(2);
      return b.add(1);
    });
    expect(live()).toBe(before + 1);
    expect(r.toArray()).toEqual([3, 5]);
    const arr = tidy(() => [ctx.t([1]), ctx.t([2]).mul(2)]);
    const obj = tidy(() => ({ a: ctx.t([1]), nested: { b: [ctx.t([2])] }, n: 3 }));
    expect(live()).toBe(before + 5); // r, 2 in arr, 2 in obj (ctx.t([2]) was an intermediate)
    for (const t of [r, ...arr, obj.a, obj.nested.b[0]!]) t.dispose();
    expect(live()).toBe(before);
  });

  it('nested tidy: inner results join the outer scope', () => {
    const before = live();
    const out = tidy(() => {
      const inner = tidy(() => ctx.t([1]).add(1));
      const tmp = ctx.t([5]);
      void tmp;
      return inner.mul(3);
    });
    expect(live()).toBe(before + 1);
    expect(out.toArray()).toEqual([6]);
    out.dispose();
    const before2 = live();
    tidy(() => {
      tidy(() => ctx.t([1]).add(1)); // returned to the outer tidy, disposed there
    });
    expect(live()).toBe(before2);
  });

  it('keep() survives every enclosing tidy', () => {
    const before = live();
    let kept: Tensor | null = null;
    tidy(() => {
      tidy(() => {
        kept = keep(ctx.t([1, 2]).mul(2));
      });
    });
    expect(live()).toBe(before + 1);
    expect(kept!.toArray()).toEqual([2, 4]);
    kept!.dispose();
    expect(live()).toBe(before);
  });

  it('tidy disposes everything when fn throws; refuses a Promise', async () => {
    const before = live();
    expect(() =>
      tidy(() => {
        ctx.t([1]).add(2);
        throw new Error('user error');
      }),
    ).toThrow('user error');
    expect(live()).toBe(before);
    expect(() => tidy(() => ctx.t([1, 2]).matmul(ctx.t([[1, 2]])))).toThrow(/matmul/);
    expect(live()).toBe(before);
    expect(() => tidy((async () => ctx.t([1])) as never)).toThrow(/Promise/);
    expect(live()).toBe(before);
  });

  it('dispose is idempotent; use after dispose names the tensor', () => {
    const x = ctx.t([[1, 2]]);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(() => x.add(1)).toThrow(/tensor \(1,2\) float32 was used after dispose\(\)/);
    expect(() => x.dataSync()).toThrow(/after dispose/);
    expect(x.toString()).toContain('disposed');
  });

  it('dispose(list) from the package root, skipping nulls and disposed', () => {
    const before = live();
    const a = ctx.t([1]),
      b = ctx.t([2]);
    b.dispose();
    wg.dispose([a, b, null, undefined]);
    expect(live()).toBe(before);
  });

  it('`using` disposes at the end of the block', () => {
    const before = live();
    let seen: Tensor;
    {
      using t = ctx.t([1, 2, 3]);
      seen = t;
      expect(live()).toBe(before + 1);
    }
    expect(seen.isDisposed).toBe(true);
    expect(live()).toBe(before);
  });

  it('memory(): live tensors, storages (views share one), bytes per device, peak', () => {
    const m0 = memory();
    const x = ctx.t(new Float32Array(256));
    const m1 = memory();
    expect(m1.tensors).toBe(m0.tensors + 1);
    expect(m1.storages).toBe(m0.storages + 1);
    expect(m1.devices[ctx.device]!.bytes).toBe((m0.devices[ctx.device]?.bytes ?? 0) + 1024);
    expect(m1.bytes).toBe(m0.bytes + 1024);
    expect(m1.devices[ctx.device]!.peak).toBeGreaterThanOrEqual(m1.devices[ctx.device]!.bytes);
    const v = x.reshape(16, 16); // a view: one more tensor, same storage
    const m2 = memory();
    expect(m2.tensors).toBe(m1.tensors + 1);
    expect(m2.storages).toBe(m1.storages);
    expect(m2.bytes).toBe(m1.bytes);
    const d = ctx.t(new Float64Array(10));
    expect(memory().bytes).toBe(m2.bytes + 80);
    x.dispose();
    expect(memory().bytes).toBe(m2.bytes + 80); // v still holds the storage
    v.dispose();
    d.dispose();
    expect(memory().bytes).toBe(m0.bytes);
    expect(memory().peakTensors).toBeGreaterThanOrEqual(m2.tensors);
  });

  it("_replaceStorage swaps a leaf's storage in place (Module.to keeps parameter identity)", () => {
    const before = live();
    const p = ctx.t([1, 2], { requiresGrad: true });
    const src = ctx.t([3, 4], { dtype: 'float64' });
    p._replaceStorage(src);
    src.dispose(); // the storage is shared, p keeps it alive
    expect(p.dtype).toBe('float64');
    expect(p.requiresGrad).toBe(true);
    expect(p.toArray()).toEqual([3, 4]);
    const three = ctx.t([1, 2, 3]);
    expect(() => p._replaceStorage(three)).toThrow(/_replaceStorage: shape \(3,\) does not match \(2,\)/);
    three.dispose();
    tidy(() => p.mul(p).sum().backward());
    expect(p.grad!.toArray()).toEqual([6, 8]);
    p.dispose();
    expect(live()).toBe(before);
  });

  it('a training-style loop holds memory flat', () => {
    const w = ctx.t(
      [
        [0.1, 0.2],
        [0.3, 0.4],
      ],
      { requiresGrad: true },
    );
    const x = ctx.t([
      [1, 2],
      [3, 4],
    ]);
    const start = memory();
    for (let i = 0; i < 20; i++) {
      tidy(() => {
        const loss = x.matmul(w).relu().mul(x).mean();
        loss.backward();
        wg.noGrad(() => {
          const nw = w.sub(w.grad!.mul(0.01));
          void nw;
        });
        w.grad!.dispose();
        w.grad = null;
      });
    }
    expect(memory().tensors).toBe(start.tensors);
    expect(memory().bytes).toBe(start.bytes);
    w.dispose();
    x.dispose();
  });
});

describe('FinalizationRegistry safety net', () => {
  // vitest workers run without --expose-gc; V8 can still expose gc() to a fresh context
  v8.setFlagsFromString('--expose-gc');
  it('frees an escaped tensor once it is garbage-collected', async () => {
    const gc = vm.runInNewContext('gc') as () => void;
    const before = memory();
    (() => {
      for (let i = 0; i < 8; i++) wg.zeros([1000]); // dropped without dispose()
    })();
    expect(memory().tensors).toBe(before.tensors + 8);
    for (let i = 0; i < 20 && memory().tensors > before.tensors; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    // (<=: other garbage from earlier tests may be collected too)
    expect(memory().tensors).toBeLessThanOrEqual(before.tensors);
    expect(memory().bytes).toBeLessThanOrEqual(before.bytes);
  });

  it('an escaped view keeps its storage until both are collected', async () => {
    const gc = vm.runInNewContext('gc') as () => void;
    const keepView = (() => {
      const x = wg.ones([64]);
      return x.reshape(8, 8); // x escapes without dispose(), the view survives
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(tidy(() => keepView.sum().item())).toBe(64); // storage still valid
    keepView.dispose();
  });
});
