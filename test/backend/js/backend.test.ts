import { describe, expect, it } from 'vitest';
import { createJsBackend, JsHandle } from '../../../lib/backend/js/index.js';

describe('js backend object', () => {
  it('has name, device and a complete kernel table', () => {
    const be = createJsBackend();
    expect(be.name).toBe('js');
    expect(be.device).toBe('cpu');
    for (const k of ['fill', 'matmul', 'conv2d', 'adamStep', 'gruCellBackward'] as const) expect(typeof be.kernels[k]).toBe('function');
  });

  it('allocates typed arrays of the dtype and tracks allocated/peak bytes', () => {
    const be = createJsBackend();
    const a = be.alloc(10, 'float32') as JsHandle;
    const b = be.alloc(3, 'float64') as JsHandle;
    const c = be.alloc(5, 'int32') as JsHandle;
    expect(a).toBeInstanceOf(JsHandle);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(b.data).toBeInstanceOf(Float64Array);
    expect(c.data).toBeInstanceOf(Int32Array);
    expect(a.byteLength).toBe(40);
    expect(be.memory()).toEqual({ allocated: 40 + 24 + 20, peak: 84, cached: 0, limit: null });
    be.free(b);
    expect(be.memory().allocated).toBe(60);
    expect(be.memory().peak).toBe(84);
    be.free(a);
    be.free(c);
    expect(be.memory().allocated).toBe(0);
  });

  it('reuses freed storage by size, and evicts a size class that went stale for a newer one when the pool is full', () => {
    const be = createJsBackend();
    const MiB = 1 << 20;
    // an earlier phase fills the 64 MiB pool with one size
    const old = Array.from({ length: 16 }, () => be.alloc(MiB, 'float32'));
    for (const h of old) be.free(h);
    expect(be.memory().cached).toBe(64 * MiB);
    const again = be.alloc(MiB, 'float32');
    expect(old).toContain(again); // reused, not a fresh array
    be.free(again);
    // a new size while the old one is still in use: not cached (the old class keeps its place)
    const b = be.alloc(MiB / 4, 'float32');
    be.free(b);
    expect(be.memory().cached).toBe(64 * MiB);
    // thousands of allocations later the old size is stale: freeing the new size evicts it
    for (let i = 0; i < 2000; i++) be.free(be.alloc(100, 'float32'));
    const b2 = be.alloc(MiB / 4, 'float32');
    be.free(b2);
    expect(be.memory().cached).toBe(MiB + 400);
    expect(be.alloc(MiB / 4, 'float32')).toBe(b2);
    expect(be.memory().allocated).toBe(MiB);
  });

  it('refuses the GPU-only dtypes with a TypeError', () => {
    const be = createJsBackend();
    expect(() => be.alloc(4, 'bfloat16')).toThrow(TypeError);
    expect(() => be.alloc(4, 'bfloat16')).toThrow('js backend: dtype bfloat16 is only available on cuda');
    expect(() => be.alloc(4, 'float16')).toThrow('js backend: dtype float16 is only available on cuda');
  });

  it('uploads, and reads back copies (async and sync)', async () => {
    const be = createJsBackend();
    const a = be.alloc(4, 'float64');
    be.upload(a, new Float64Array([1, 2, 3, 4]), 'float64');
    const s = be.readSync(a, 'float64', 3);
    expect(Array.from(s)).toEqual([1, 2, 3]);
    s[0] = 99;
    const p = be.read(a, 'float64', 4);
    expect(p).toBeInstanceOf(Promise);
    const r = await p;
    expect(r).toBeInstanceOf(Float64Array);
    expect(Array.from(r)).toEqual([1, 2, 3, 4]);
    expect(() => be.upload(a, new Float64Array(5), 'float64')).toThrow(RangeError);
    be.synchronize();
  });
});
