import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it, expect } from 'vitest';
import { decodeEmbedded, embeddedDataFile, embeddedMnist, embeddedMnistRaw, loadMnist, mnistTensors, pick, EMBEDDED_SPLIT, type MnistRaw } from '../../lib/data/mnist.js';
import { permutation } from '../../lib/data/shuffle.js';
import { packageRoot } from '../../lib/native.js';

// The `mnist` package (a devDependency) is the source of data/mnist-10k.bin.br; where it is
// installed the embedded file must give exactly what reading its JSON gave before.
function mnistPackageDigits(): string | null {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    return null;
  }
}
const digitsDir = mnistPackageDigits();

/** The digits as wattgrad read them from the mnist package's JSON (the loader before data/mnist-10k.bin.br). */
function fromPackageJson(dir: string): MnistRaw {
  const perClass = Array.from({ length: 10 }, (_, d) => (JSON.parse(fs.readFileSync(path.join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data);
  const count = perClass.reduce((a, c) => a + c.length / 784, 0);
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let at = 0;
  perClass.forEach((values, d) => {
    for (let i = 0; i < values.length; i++) images[at * 784 + i] = Math.round(values[i]! * 255);
    labels.fill(d, at, at + values.length / 784);
    at += values.length / 784;
  });
  return { images, labels, count, rows: 28, cols: 28 };
}

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

describe('embedded MNIST file (data/mnist-10k.bin.br)', () => {
  it('is shipped compactly in the package (listed in files, brotli, < 2 MB) and read without the mnist package', () => {
    const file = embeddedDataFile();
    expect(path.relative(packageRoot(), file)).toBe(path.join('data', 'mnist-10k.bin.br'));
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { files: string[]; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    expect(pkg.files).toContain('data/mnist-10k.bin.br');
    expect(pkg.dependencies?.mnist).toBeUndefined();
    expect(pkg.devDependencies?.mnist).toBeDefined();
    expect(fs.statSync(file).size).toBeLessThan(2e6);
    const payload = zlib.brotliDecompressSync(fs.readFileSync(file));
    expect(payload.length).toBe(16 + 10000 * (1 + 784));
  });

  it('rejects a damaged payload with the file name and how to regenerate it', () => {
    const payload = zlib.brotliDecompressSync(fs.readFileSync(embeddedDataFile()));
    expect(() => decodeEmbedded(payload.subarray(0, 1000), 'x.bin')).toThrow(/x\.bin: 1000 bytes, expected 7850016 for 10000 digits of 28x28 \(regenerate: node scripts\/make-mnist-data\.mjs\)/);
    const bad = Buffer.from(payload);
    bad.write('NOTMNIST', 0, 'latin1');
    expect(() => decodeEmbedded(bad, 'y.bin')).toThrow(/y\.bin: not a wattgrad MNIST file/);
  });

  it.skipIf(!digitsDir)('gives byte-identical digits, split and tensors as the mnist package [needs the mnist devDependency]', () => {
    const ref = fromPackageJson(digitsDir!);
    const all = embeddedMnistRaw();
    expect(all.count).toBe(ref.count);
    expect(Buffer.from(all.labels).equals(Buffer.from(ref.labels))).toBe(true);
    expect(Buffer.from(all.images).equals(Buffer.from(ref.images))).toBe(true);
    // the split and the tensors loadMnist() builds from it
    const p = permutation(ref.count, EMBEDDED_SPLIT.seed);
    const refTest = pick(ref, p.subarray(EMBEDDED_SPLIT.train, EMBEDDED_SPLIT.train + EMBEDDED_SPLIT.test));
    const refTrain = pick(ref, p.subarray(0, EMBEDDED_SPLIT.train));
    const m = loadMnist();
    for (const [got, want] of [[m.train, mnistTensors(refTrain)], [m.test, mnistTensors(refTest)]] as const) {
      const [gx, gy] = got.tensors, [wx, wy] = want.tensors;
      expect(gx!.shape).toEqual(wx!.shape);
      expect(Buffer.from(gx!.dataSync().buffer).equals(Buffer.from(wx!.dataSync().buffer))).toBe(true);
      expect(Array.from(gy!.dataSync())).toEqual(Array.from(wy!.dataSync()));
      want.dispose();
    }
    m.train.dispose();
    m.test.dispose();
  });
});
