// The caching allocator's bookkeeping (native/src/allocator.h) through its host test mode
// (HostAllocator = CachingAllocator over malloc with a simulated capacity): size classes, bin
// reuse, the cap, stats, trim, and the empty-cache-and-retry-once path. No GPU needed.
// Cost: < 50 ms. Skipped only when no addon is built (CI builds it first: scripts/ci-native.sh).
import { describe, expect, it } from 'vitest';
import type { Binding, HostAllocator } from '../../binding.js';
import { loadNative } from '../../lib/native.js';
import { OutOfMemoryError, toWattgradError } from '../../lib/backend/cuda/errors.js';

const native = loadNative();
const b = native.binding as Binding | null;
const MiB = 2 ** 20;

describe.skipIf(!b)('caching allocator (host test mode)', () => {
  const mk = (opts?: { capacity?: number; pooled?: boolean }): HostAllocator => new b!.HostAllocator(opts);

  it('rounds to 4 size classes per power of two, at least 512 bytes', () => {
    expect(b!.roundSize(0)).toBe(512);
    expect(b!.roundSize(1)).toBe(512);
    expect(b!.roundSize(512)).toBe(512);
    expect(b!.roundSize(513)).toBe(640);
    expect(b!.roundSize(1000)).toBe(1024);
    expect(b!.roundSize(1024)).toBe(1024);
    expect(b!.roundSize(1025)).toBe(1280);
    expect(b!.roundSize(3 * MiB)).toBe(3 * MiB);
    expect(b!.roundSize(3 * MiB + 1)).toBe(3.5 * MiB);
    for (let n = 1; n < 1e7; n = Math.ceil(n * 1.37) + 1) {
      const r = b!.roundSize(n);
      expect(r).toBeGreaterThanOrEqual(n);
      expect(r).toBeLessThanOrEqual(Math.max(512, n * 1.25 + 1));
    }
  });

  it('parses byte sizes', () => {
    expect(b!.parseByteSize('2GiB')).toBe(2 * 2 ** 30);
    expect(b!.parseByteSize('512 MiB')).toBe(512 * MiB);
    expect(b!.parseByteSize('1.5GB')).toBe(1.5e9);
    expect(b!.parseByteSize('4096')).toBe(4096);
    expect(b!.parseByteSize('1k')).toBe(1024);
    expect(b!.parseByteSize('lots')).toBeNull();
    expect(b!.parseByteSize('2 parsecs')).toBeNull();
    expect(b!.parseByteSize('-1')).toBeNull();
  });

  it('serves a freed block of the same class from its bin without a raw allocation', () => {
    const a = mk();
    const x = a.alloc(1000);
    expect(x.size).toBe(1024);
    expect(a.free(x.id)).toBe(true);
    expect(a.stats()).toMatchObject({ allocated: 0, cached: 1024, cachedBlocks: 1, rawAllocs: 1 });
    const y = a.alloc(900); // same class
    expect(y.id).toBe(x.id);
    const s = a.stats();
    expect(s).toMatchObject({ allocated: 1024, requested: 900, cached: 0, allocCount: 2, cacheHits: 1, rawAllocs: 1 });
    const z = a.alloc(2000); // another class: a new raw block
    expect(z.id).not.toBe(x.id);
    expect(a.stats().rawAllocs).toBe(2);
    expect(a.free(y.id)).toBe(true);
    expect(a.free(y.id)).toBe(false); // double free is detected, not corrupting
    expect(a.free(12345)).toBe(false);
  });

  it('tracks peak, and a training-loop pattern hits the cache after the first step', () => {
    const a = mk();
    const sizes = [4096, 65536, 1000, 300000, 4096];
    for (let step = 0; step < 10; step++) {
      const ids = sizes.map((n) => a.alloc(n).id);
      for (const id of ids) a.free(id);
    }
    const s = a.stats();
    expect(s.allocCount).toBe(50);
    expect(s.rawAllocs).toBe(5);
    expect(s.cacheHits).toBe(45);
    expect(s.allocated).toBe(0);
    expect(s.peak).toBe(sizes.reduce((t, n) => t + b!.roundSize(n), 0));
  });

  it('enforces the cap on allocated + cached: evicts cache first, then fails with WG_CUDA_OOM', () => {
    const a = mk();
    a.setLimit(10 * MiB);
    const x = a.alloc(4 * MiB);
    const y = a.alloc(4 * MiB);
    a.free(y.id); // 4 MiB cached
    // 3 MiB more: 4 + 4 cached + 3 > 10, so the cached block is evicted to make room
    const z = a.alloc(3 * MiB);
    let s = a.stats();
    expect(s.limit).toBe(10 * MiB);
    expect(s.cached).toBe(0);
    expect(s.allocated).toBe(7 * MiB);
    expect(s.rawFrees).toBe(1);
    // 4 MiB more cannot fit even with an empty cache
    let err: unknown;
    try {
      a.alloc(4 * MiB);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as { code: string }).code).toBe('WG_CUDA_OOM');
    expect((err as Error).message).toMatch(/asked for 4\.00 MiB.*7\.00 MiB allocated.*limit 10\.00 MiB/);
    const mapped = toWattgradError(err);
    expect(mapped).toBeInstanceOf(OutOfMemoryError);
    expect((mapped as OutOfMemoryError).requestedBytes).toBe(4 * MiB);
    expect((mapped as OutOfMemoryError).memory?.allocated).toBe(7 * MiB);
    s = a.stats();
    expect(s.oomCount).toBe(1);
    // still usable; removing the cap lets it through
    a.setLimit(null);
    expect(a.stats().limit).toBeNull();
    const w = a.alloc(4 * MiB);
    for (const id of [x.id, z.id, w.id]) expect(a.free(id)).toBe(true);
  });

  it('lowering the cap trims the cache to fit', () => {
    const a = mk();
    const ids = [1, 2, 3, 4].map(() => a.alloc(MiB).id);
    for (const id of ids) a.free(id);
    expect(a.stats().cached).toBe(4 * MiB);
    a.setLimit(2 * MiB);
    expect(a.stats().cached).toBeLessThanOrEqual(2 * MiB);
  });

  it('when the device is full, empties the cache, releases and retries once', () => {
    const a = mk({ capacity: 8 * MiB });
    const x = a.alloc(4 * MiB);
    const y = a.alloc(3 * MiB);
    a.free(y.id); // 3 MiB cached; raw in use 7 MiB
    const z = a.alloc(2 * MiB); // raw would be 9 > 8: fails, cache emptied, retry succeeds
    expect(z.retried).toBe(true);
    expect(a.rawState()).toMatchObject({ inUse: 6 * MiB, releases: 1 });
    expect(a.stats()).toMatchObject({ retries: 1, cached: 0, allocated: 6 * MiB });
    // a request the device cannot hold at all fails after one retry, and the allocator stays usable
    expect(() => a.alloc(16 * MiB)).toThrow(/out of memory: asked for 16\.00 MiB/);
    expect(a.stats().retries).toBe(2);
    a.failNext(1); // a transient failure is absorbed by the retry
    const w = a.alloc(512);
    expect(w.retried).toBe(true);
    for (const id of [x.id, z.id, w.id]) a.free(id);
    expect(a.emptyCache()).toBeGreaterThan(0);
    expect(a.stats()).toMatchObject({ allocated: 0, cached: 0, liveBlocks: 0, cachedBlocks: 0 });
    expect(a.rawState().inUse).toBe(0);
  });

  it('under a cap, the raw pool is trimmed too: memory the device holds stays within the cap', () => {
    // cudaMallocAsync's pool keeps freed memory (release threshold UINT64_MAX); `pooled` models it.
    const a = mk({ pooled: true });
    const held = (): number => a.rawState().inUse + a.rawState().poolHeld;
    const ids = Array.from({ length: 8 }, () => a.alloc(MiB).id);
    for (const id of ids) a.free(id); // 8 MiB in our bins
    expect(held()).toBe(8 * MiB);
    a.setLimit(2 * MiB); // bins trimmed to the cap; the pool must let go of the rest as well
    expect(a.stats().cached).toBeLessThanOrEqual(2 * MiB);
    expect(held()).toBeLessThanOrEqual(2 * MiB);
    // a loop that allocates past the cap evicts cached blocks; the pool never grows past the cap
    const live: number[] = [];
    for (let i = 0; i < 20; i++) {
      live.push(a.alloc(((i % 3) + 1) * 128 * 1024).id);
      if (live.length > 3) a.free(live.shift()!);
      expect(held()).toBeLessThanOrEqual(2 * MiB);
    }
    for (const id of live) a.free(id);
    // lowering the cap below what is live frees blocks as they come back, and trims the pool
    const big = a.alloc(1.5 * MiB);
    a.setLimit(MiB);
    a.free(big.id);
    expect(held()).toBeLessThanOrEqual(MiB);
    expect(a.rawState().trims).toBeGreaterThan(0);
    // without a cap the pool keeps what it is given (the fast path: no release, no trim)
    const b2 = mk({ pooled: true });
    const x = b2.alloc(4 * MiB);
    b2.free(x.id);
    b2.trim(0);
    expect(b2.rawState().poolHeld).toBe(4 * MiB);
  });

  it('trim(target) frees the largest cached blocks first', () => {
    const a = mk();
    const ids = [MiB, 4 * MiB, 512].map((n) => a.alloc(n).id);
    for (const id of ids) a.free(id);
    expect(a.trim(2 * MiB)).toBe(4 * MiB);
    expect(a.stats().cached).toBe(MiB + 512);
  });
});
