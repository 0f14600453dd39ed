import { describe, it, expect } from 'vitest';
import { embeddedMnist, embeddedMnistRaw, loadMnist, EMBEDDED_SPLIT } from '../../lib/data/mnist.js';

describe('embedded MNIST', () => {
  it('holds the 10,000 digits of the mnist package as bytes', () => {
    const all = embeddedMnistRaw();
    expect(all.count).toBe(10000);
    expect(all.images.length).toBe(10000 * 784);
    const counts = new Array(10).fill(0);
    for (const l of all.labels) counts[l]++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // real digits: mostly background, some full-intensity strokes
    let zeros = 0, full = 0;
    for (const v of all.images) { if (v === 0) zeros++; if (v === 255) full++; }
    expect(zeros / all.images.length).toBeGreaterThan(0.7);
    expect(full).toBeGreaterThan(10000);
  });

  it('splits 8,000/2,000 the same way every time, disjoint, all classes in both', () => {
    const a = embeddedMnist();
    const b = embeddedMnist();
    expect(a.train.count).toBe(EMBEDDED_SPLIT.train);
    expect(a.test.count).toBe(EMBEDDED_SPLIT.test);
    expect(Buffer.from(a.test.images).equals(Buffer.from(b.test.images))).toBe(true);
    // disjoint: no test image appears in train (compare by content hash)
    const key = (imgs: Uint8Array, i: number): string => Buffer.from(imgs.subarray(i * 784, (i + 1) * 784)).toString('base64');
    const trainSet = new Set<string>();
    for (let i = 0; i < a.train.count; i++) trainSet.add(key(a.train.images, i));
    let shared = 0;
    for (let i = 0; i < a.test.count; i++) if (trainSet.has(key(a.test.images, i))) shared++;
    expect(shared).toBeLessThan(3); // the package may hold a duplicate or two, not a leak
    for (const s of [a.train, a.test]) {
      const c = new Array(10).fill(0);
      for (const l of s.labels) c[l]++;
      for (const n of c) expect(n).toBeGreaterThan(s.count / 20);
    }
  });

  it('normalises like torchvision and can also give [0, 1] pixels', () => {
    const m = loadMnist({ trainLimit: 1000, testLimit: 10 });
    const x = m.train.tensors[0]!.dataSync();
    let s = 0, s2 = 0;
    for (const v of x) { s += v; s2 += v * v; }
    const mean = s / x.length;
    const std = Math.sqrt(s2 / x.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(std - 1)).toBeLessThan(0.1);
    const u = loadMnist({ normalize: false, trainLimit: 100, testLimit: 10 });
    const ux = u.train.tensors[0]!.dataSync();
    expect(Math.min(...ux)).toBe(0);
    expect(Math.max(...ux)).toBe(1);
    expect(m.numClasses).toBe(10);
    for (const d of [m.train, m.test, u.train, u.test]) d.dispose();
  });
});
