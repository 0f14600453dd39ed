// wg.cuda: the public device controls. Without a GPU they report why; with one, the cap round-trips.
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';

const available = wg.cuda.isAvailable();

describe('wg.cuda', () => {
  it('says whether cuda is usable, and why not', () => {
    if (available) {
      expect(wg.cuda.unavailableReason()).toBeNull();
      expect(wg.cuda.deviceCount()).toBeGreaterThan(0);
    } else {
      expect(wg.cuda.unavailableReason()).toMatch(/\S/);
      expect(wg.cuda.deviceCount()).toBe(0);
    }
  });

  it('rejects bad arguments before touching a device', () => {
    expect(() => wg.cuda.setMemoryLimit(-1)).toThrow(/non-negative number or null, got -1/);
    expect(() => wg.cuda.memoryStats('cpu')).toThrow(/'cpu' is not a cuda device/);
  });

  it.skipIf(available)('names the reason when cuda is unavailable', () => {
    const reason = wg.cuda.unavailableReason()!;
    for (const f of [
      () => wg.cuda.setMemoryLimit(1 << 30),
      () => wg.cuda.emptyCache(),
      () => wg.cuda.memoryStats(),
      () => wg.cuda.setAllowTf32(true),
    ]) {
      expect(f).toThrow(/cuda unavailable/);
      expect(f).toThrow(reason.slice(0, 20));
    }
  });

  it.skipIf(!available)('sets and lifts the allocator cap', () => {
    wg.cuda.setMemoryLimit(256 * 1024 * 1024);
    expect(wg.cuda.memoryStats().limit).toBe(256 * 1024 * 1024);
    wg.cuda.setMemoryLimit(null);
    expect(wg.cuda.memoryStats().limit).toBeNull();
    expect(wg.cuda.emptyCache()).toBeGreaterThanOrEqual(0);
  });
});
