// The js backend keeps freed arrays for reuse by (dtype, length) (lib/backend/js/index.ts): what
// it reuses, what it does not, the byte accounting, and that reused storage never leaks values
// into results (every kernel writes its whole output).
import { describe, expect, it } from 'vitest';
import { createJsBackend, type JsHandle } from '../../lib/backend/js/index.js';
import * as wg from '../../lib/index.js';

describe('js backend storage pool', () => {
  it('reuses a freed array of the same dtype and length, and only that', () => {
    const b = createJsBackend();
    const h = b.alloc(1000, 'float32') as JsHandle;
    expect(b.memory()).toMatchObject({ allocated: 4000, cached: 0 });
    b.free(h);
    expect(b.memory()).toMatchObject({ allocated: 0, cached: 4000, peak: 4000 });
    expect(b.alloc(1000, 'float64')).not.toBe(h); // other dtype
    expect(b.alloc(999, 'float32')).not.toBe(h); // other length
    expect(b.memory().cached).toBe(4000);
    const again = b.alloc(1000, 'float32');
    expect(again).toBe(h);
    expect(b.memory()).toMatchObject({ allocated: 4000 + 8000 + 3996, cached: 0 });
    // int32 of the same byte length is a different pool entry
    const i = b.alloc(1000, 'int32');
    expect(i).not.toBe(h);
    expect((i as JsHandle).data).toBeInstanceOf(Int32Array);
  });

  it('does not pool tiny arrays (on the V8 heap) and stops caching at its byte cap', () => {
    const b = createJsBackend();
    const small = b.alloc(4, 'float32');
    b.free(small);
    expect(b.memory().cached).toBe(0);
    const big = Array.from({ length: 5 }, () => b.alloc(4 * 1024 * 1024, 'float32')); // 16 MiB each
    for (const h of big) b.free(h);
    expect(b.memory().cached).toBe(64 * 1024 * 1024); // four fit under 64 MiB, the fifth is dropped
    expect(b.memory().allocated).toBe(0);
  });

  it('training on reused storage gives the same results as on fresh storage', () => {
    const run = (): number[] =>
      wg.tidy(() => {
        wg.manualSeed(3);
        const w = wg.randn([64, 32]).requiresGrad_(true);
        const x = wg.randn([16, 64]);
        const out: number[] = [];
        for (let s = 0; s < 5; s++) {
          wg.tidy(() => {
            const loss = wg.crossEntropy(
              x.matmul(w).relu(),
              wg.tensor(
                [...Array(16).keys()].map((k) => k % 32),
                { dtype: 'int32' },
              ),
            );
            loss.backward();
            out.push(loss.item());
          });
          wg.noGrad(() => w.sub_(w.grad!.mul(0.1)));
          w.grad!.dispose();
          w.grad = null;
        }
        return out;
      });
    const first = run(); // fills the pool
    const bytes = wg.memory().bytes;
    const second = run(); // runs on reused arrays
    expect(second).toEqual(first);
    expect(wg.memory().bytes).toBe(bytes);
    expect(first[4]!).toBeLessThan(first[0]!);
  });
});
