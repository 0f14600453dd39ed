import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { encodeIdx, parseIdx, readIdxFile, writeIdxFile, IdxFormatError } from '../../lib/data/idx.js';
import { embeddedMnist, loadMnist, readMnistDir, readMnistPair, MNIST_FILES, type MnistRaw } from '../../lib/data/mnist.js';
import { memory } from '../../lib/memory.js';

let dir: string;
let train: MnistRaw;
let test: MnistRaw;

/** Writes the four MNIST files for (train, test) into d, plain or gzipped. */
function writeMnist(d: string, gz: boolean, tr: MnistRaw, te: MnistRaw): void {
  fs.mkdirSync(d, { recursive: true });
  const sfx = gz ? '.gz' : '';
  writeIdxFile(path.join(d, MNIST_FILES.trainImages + sfx), { type: 'uint8', dims: [tr.count, 28, 28], data: tr.images }, { gzip: gz });
  writeIdxFile(path.join(d, MNIST_FILES.trainLabels + sfx), { type: 'uint8', dims: [tr.count], data: tr.labels }, { gzip: gz });
  writeIdxFile(path.join(d, MNIST_FILES.testImages + sfx), { type: 'uint8', dims: [te.count, 28, 28], data: te.images }, { gzip: gz });
  writeIdxFile(path.join(d, MNIST_FILES.testLabels + sfx), { type: 'uint8', dims: [te.count], data: te.labels }, { gzip: gz });
}

function head(r: MnistRaw, n: number): MnistRaw {
  return { images: r.images.slice(0, n * 784), labels: r.labels.slice(0, n), count: n, rows: 28, cols: 28 };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-idx-'));
  const e = embeddedMnist();
  train = head(e.train, 600);
  test = head(e.test, 200);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('IDX format', () => {
  it('encodes the header as the spec says and round-trips every element type', () => {
    const b = encodeIdx({ type: 'uint8', dims: [2, 3], data: Uint8Array.from([1, 2, 3, 4, 5, 255]) });
    expect([...b.subarray(0, 12)]).toEqual([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]);
    expect([...b.subarray(12)]).toEqual([1, 2, 3, 4, 5, 255]);
    const i32 = encodeIdx({ type: 'int32', dims: [1], data: Int32Array.from([0x01020304]) });
    expect([...i32.subarray(8)]).toEqual([1, 2, 3, 4]); // big-endian
    for (const [type, data] of [
      ['int8', Int8Array.from([-3, 7])], ['int16', Int16Array.from([-300, 7])], ['int32', Int32Array.from([-70000, 9])],
      ['float32', Float32Array.from([1.5, -2.25])], ['float64', Float64Array.from([Math.PI, -1e300])],
    ] as const) {
      const r = parseIdx(encodeIdx({ type, dims: [2], data }));
      expect(r.type).toBe(type);
      expect([...r.data]).toEqual([...data]);
    }
  });

  it('reads the MNIST files the test wrote, plain and gzipped, byte for byte', () => {
    for (const gz of [false, true]) {
      const d = path.join(dir, gz ? 'gz' : 'plain');
      writeMnist(d, gz, train, test);
      const s = readMnistDir(d);
      expect(s.train.count).toBe(600);
      expect(s.test.count).toBe(200);
      expect(s.train.rows).toBe(28);
      expect(Buffer.from(s.train.images).equals(Buffer.from(train.images))).toBe(true);
      expect(Buffer.from(s.train.labels).equals(Buffer.from(train.labels))).toBe(true);
      expect(Buffer.from(s.test.images).equals(Buffer.from(test.images))).toBe(true);
      expect(Buffer.from(s.test.labels).equals(Buffer.from(test.labels))).toBe(true);
    }
    // the gz files really are gzip
    const raw = fs.readFileSync(path.join(dir, 'gz', MNIST_FILES.trainImages + '.gz'));
    expect(raw[0]).toBe(0x1f);
    expect(zlib.gunzipSync(raw).length).toBe(16 + 600 * 784);
  });

  it('loadMnist({dataDir}) gives normalised tensors of the right shapes', () => {
    const d = path.join(dir, 'plain');
    const m = loadMnist({ dataDir: d });
    expect(m.train.tensors[0]!.shape).toEqual([600, 1, 28, 28]);
    expect(m.train.tensors[1]!.dtype).toBe('int32');
    expect(m.test.length).toBe(200);
    expect(m.source).toBe(path.resolve(d));
    const px = m.train.tensors[0]!.dataSync();
    // pixel 0 of image 0 is background: (0 - 0.1307) / 0.3081
    expect(px[0]).toBeCloseTo(-0.1307 / 0.3081, 5);
    const k = train.images.findIndex((v) => v === 255);
    expect(px[k]).toBeCloseTo((1 - 0.1307) / 0.3081, 5);
    expect([...m.train.tensors[1]!.dataSync().subarray(0, 20)]).toEqual([...train.labels.subarray(0, 20)]);
    m.train.dispose();
    m.test.dispose();
  });

  it('rejects a missing file, naming it', () => {
    const d = path.join(dir, 'missing');
    writeMnist(d, false, train, test);
    fs.unlinkSync(path.join(d, MNIST_FILES.testLabels));
    expect(() => readMnistDir(d)).toThrow(/missing t10k-labels-idx1-ubyte/);
    expect(() => readMnistDir(path.join(dir, 'nope'))).toThrow(/not a directory/);
    expect(() => readIdxFile(path.join(dir, 'nope.idx'))).toThrow(/no such file/);
  });

  it('rejects a wrong magic number', () => {
    const d = path.join(dir, 'magic');
    writeMnist(d, false, train, test);
    const f = path.join(d, MNIST_FILES.trainImages);
    const b = fs.readFileSync(f);
    b[2] = 0x42;
    fs.writeFileSync(f, b);
    expect(() => readMnistDir(d)).toThrow(IdxFormatError);
    expect(() => readMnistDir(d)).toThrow(/train-images-idx3-ubyte: not an IDX file: wrong magic number 0x00004203/);
    b[2] = 0x08;
    b[0] = 0x50; // e.g. a PNG or text file
    fs.writeFileSync(f, b);
    expect(() => readMnistDir(d)).toThrow(/wrong magic number/);
  });

  it('rejects truncated data, plain and gzipped', () => {
    const d = path.join(dir, 'trunc');
    writeMnist(d, false, train, test);
    const f = path.join(d, MNIST_FILES.trainImages);
    const b = fs.readFileSync(f);
    fs.writeFileSync(f, b.subarray(0, b.length - 100));
    expect(() => readMnistDir(d)).toThrow(/train-images-idx3-ubyte: truncated data: dimensions \[600, 28, 28\] need 470400 bytes of uint8 after the header, found 470300/);
    fs.writeFileSync(f, b.subarray(0, 10));
    expect(() => readMnistDir(d)).toThrow(/truncated header/);
    fs.writeFileSync(f, b.subarray(0, 2));
    expect(() => readMnistDir(d)).toThrow(/truncated/);
    // a gz file cut short is a corrupt gzip stream
    const g = path.join(dir, 'trunc-gz');
    writeMnist(g, true, train, test);
    const gf = path.join(g, MNIST_FILES.testImages + '.gz');
    const gb = fs.readFileSync(gf);
    fs.writeFileSync(gf, gb.subarray(0, gb.length >> 1));
    expect(() => readMnistDir(g)).toThrow(/t10k-images-idx3-ubyte.gz: corrupt gzip data/);
    // trailing garbage
    fs.writeFileSync(f, Buffer.concat([b, Buffer.from([1, 2, 3])]));
    expect(() => readMnistDir(d)).toThrow(/3 unexpected trailing bytes/);
  });

  it('rejects a count mismatch between images and labels, and labels shaped like images', () => {
    const d = path.join(dir, 'count');
    writeMnist(d, false, train, test);
    writeIdxFile(path.join(d, MNIST_FILES.trainLabels), { type: 'uint8', dims: [599], data: train.labels.slice(0, 599) });
    expect(() => readMnistDir(d)).toThrow(/count mismatch: .*train-images-idx3-ubyte holds 600 images but .*train-labels-idx1-ubyte holds 599 labels/);
    expect(() => readMnistPair(path.join(d, MNIST_FILES.trainImages), path.join(d, MNIST_FILES.trainImages))).toThrow(/expected labels \(count\) as unsigned bytes with 1 dimension/);
  });

  it('leaks no tensors', () => {
    const before = memory().tensors;
    const m = loadMnist({ dataDir: path.join(dir, 'gz') });
    m.train.dispose();
    m.test.dispose();
    expect(memory().tensors).toBe(before);
  });
});
