// encodeIdx / writeIdxFile refuse what would write a file that says something else than the data:
// fractional or out-of-range dims, values that wrap in their element type, unknown types.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeIdx, parseIdx, writeIdxFile, readIdxFile, type IdxArray } from '../../lib/data/idx.js';

describe('encodeIdx checks before writing', () => {
  it('fractional, negative or too large dims', () => {
    // 2.5 × 2 = 5 elements, but the header would say 2 × 2
    expect(() => encodeIdx({ type: 'uint8', dims: [2.5, 2], data: new Uint8Array(5) })).toThrow(/encodeIdx: dims\[0\] = 2.5 must be an integer in \[0, 2\^32\)/);
    expect(() => encodeIdx({ type: 'uint8', dims: [-1, -1], data: new Uint8Array(1) })).toThrow(/dims\[0\] = -1/);
    expect(() => encodeIdx({ type: 'uint8', dims: [2 ** 32, 0], data: new Uint8Array(0) })).toThrow(/dims\[0\] = 4294967296/);
    expect(() => encodeIdx({ type: 'uint8', dims: [], data: new Uint8Array(1) })).toThrow(/1 to 255 dimensions, got 0/);
  });

  it('values that would wrap in the element type', () => {
    expect(() => encodeIdx({ type: 'uint8', dims: [2], data: new Float32Array([3, 300]) as never })).toThrow(/data\[1\] = 300 does not fit uint8 \(integers in \[0, 255\]\)/);
    expect(() => encodeIdx({ type: 'uint8', dims: [1], data: new Float32Array([0.5]) as never })).toThrow(/data\[0\] = 0.5 does not fit uint8/);
    expect(() => encodeIdx({ type: 'int8', dims: [1], data: new Int16Array([200]) as never })).toThrow(/data\[0\] = 200 does not fit int8 \(integers in \[-128, 127\]\)/);
    expect(() => encodeIdx({ type: 'int16', dims: [1], data: new Int32Array([-40000]) as never })).toThrow(/does not fit int16/);
    expect(() => encodeIdx({ type: 'uint8', dims: [1], data: ['7'] as never })).toThrow(/data\[0\] is string, not a number/);
  });

  it('unknown or prototype-name types', () => {
    for (const t of ['uint16', 'toString', 'constructor']) {
      expect(() => encodeIdx({ type: t as never, dims: [1], data: new Uint8Array(1) })).toThrow(new RegExp(`unknown type "${t}" \\(expected one of uint8, int8`));
    }
  });

  it('valid arrays still round-trip, float values unrestricted', () => {
    const cases: IdxArray[] = [
      { type: 'uint8', dims: [2, 2], data: new Uint8Array([0, 255, 7, 128]) },
      { type: 'int8', dims: [2], data: new Int8Array([-128, 127]) },
      { type: 'int32', dims: [1], data: new Int32Array([-2147483648]) },
      { type: 'float32', dims: [3], data: new Float32Array([0.5, -1e30, NaN]) },
    ];
    for (const a of cases) {
      const back = parseIdx(encodeIdx(a));
      expect(back.type).toBe(a.type);
      expect(back.dims).toEqual(a.dims);
      expect([...back.data]).toEqual([...a.data]);
    }
  });

  it('writeIdxFile writes atomically and leaves the old file on a refused array', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-idx-'));
    try {
      const f = path.join(dir, 'labels-idx1-ubyte.gz');
      writeIdxFile(f, { type: 'uint8', dims: [3], data: new Uint8Array([1, 2, 3]) }, { gzip: true });
      expect(() => writeIdxFile(f, { type: 'uint8', dims: [1], data: new Int32Array([-1]) as never }, { gzip: true })).toThrow(/does not fit uint8/);
      expect([...readIdxFile(f).data]).toEqual([1, 2, 3]);
      expect(fs.readdirSync(dir)).toEqual(['labels-idx1-ubyte.gz']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseIdx: gzip data that decompresses past a limit', () => {
  it('is refused as too large, not called corrupt', async () => {
    const zlib = await import('node:zlib');
    const bomb = zlib.gzipSync(Buffer.alloc(1 << 20)); // 1 MiB of zeros in ~1 KiB
    expect(() => parseIdx(bomb, 'x.gz', { maxBytes: 4096 })).toThrow(/x\.gz: the gzip data decompresses to more than 4096 bytes$/);
    expect(() => parseIdx(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'y.gz')).toThrow(/y\.gz: corrupt gzip data/);
    expect(() => parseIdx(bomb, 'x.gz', { maxBytes: -1 })).toThrow(/maxBytes must be a positive integer/);
  });
});
