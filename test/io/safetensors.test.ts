import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  deserialize,
  serialize,
  save,
  load,
  loadWithMetadata,
  readSafetensors,
  SafetensorsError,
  toBf16Bits,
  fromBf16Bits,
  toF16Bits,
  fromF16Bits,
  rawToTensor,
} from '../../lib/io/safetensors.js';
import { writeFileAtomic } from '../../lib/io/atomic.js';
import { tensor } from '../../lib/ops/index.js';
import { memory } from '../../lib/memory.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-st-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file per the spec, by hand: u64 LE header length, JSON header, then the buffer. */
function handMade(header: object | string, buffer: Uint8Array, pad = true): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  if (pad) while ((8 + Buffer.byteLength(json)) % 8) json += ' ';
  const h = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + h.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(buffer, 8 + h.length);
  return out;
}

function f32le(...xs: number[]): Uint8Array {
  const b = new Uint8Array(4 * xs.length);
  const v = new DataView(b.buffer);
  xs.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return b;
}

describe('safetensors reading', () => {
  it('loads hand-made bytes written per the spec', () => {
    const buf = new Uint8Array(16 + 8 + 4 + 2 + 2);
    const v = new DataView(buf.buffer);
    [1, -2, 3.5, 4].forEach((x, i) => v.setFloat32(4 * i, x, true)); // a: F32 [2, 2] at 0..16
    v.setFloat64(16, Math.PI, true); // b: F64 [1] at 16..24
    v.setInt32(24, -7, true); // c: I32 [] (a scalar) at 24..28
    v.setUint16(28, toBf16Bits(1.5), true); // d: BF16 [1] at 28..30
    v.setUint16(30, 0x3c00, true); // e: F16 [1] = 1.0 at 30..32
    const bytes = handMade(
      {
        __metadata__: { format: 'pt', note: 'hand made' },
        b: { dtype: 'F64', shape: [1], data_offsets: [16, 24] },
        a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
        c: { dtype: 'I32', shape: [], data_offsets: [24, 28] },
        d: { dtype: 'BF16', shape: [1], data_offsets: [28, 30] },
        e: { dtype: 'F16', shape: [1], data_offsets: [30, 32] },
      },
      buf,
    );
    const f = path.join(dir, 'hand.safetensors');
    fs.writeFileSync(f, bytes);
    const { tensors, metadata } = loadWithMetadata(f);
    expect(metadata).toEqual({ format: 'pt', note: 'hand made' });
    expect(tensors.a!.shape).toEqual([2, 2]);
    expect(tensors.a!.toArray()).toEqual([
      [1, -2],
      [3.5, 4],
    ]);
    expect(tensors.b!.dtype).toBe('float64');
    expect(tensors.b!.toArray()).toEqual([Math.PI]);
    expect(tensors.c!.dtype).toBe('int32');
    expect(tensors.c!.shape).toEqual([]);
    expect(tensors.c!.item()).toBe(-7);
    expect(tensors.d!.dtype).toBe('float32'); // half types load as float32 on the cpu
    expect(tensors.d!.item()).toBe(1.5);
    expect(tensors.e!.item()).toBe(1);
    for (const t of Object.values(tensors)) t.dispose();
    // an unpadded header is fine too
    const np = handMade({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32le(9), false);
    const r = deserialize(np);
    expect(r.tensors.get('x')!.shape).toEqual([1]);
  });

  it('reads integer dtypes into int32', () => {
    const buf = new Uint8Array([1, 255, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const c = deserialize(
      handMade(
        {
          u8: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
          pad: { dtype: 'U8', shape: [6], data_offsets: [2, 8] },
          i64: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
        },
        buf,
      ),
    );
    const u8 = rawToTensor(c.tensors.get('u8')!);
    expect(u8.toArray()).toEqual([1, 255]);
    const i64 = rawToTensor(c.tensors.get('i64')!);
    expect(i64.toArray()).toEqual([-1]);
    u8.dispose();
    i64.dispose();
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated before the header length', new Uint8Array(5), /truncated: 5 bytes/],
    [
      'header length past the end',
      (() => {
        const b = handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32le(1));
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /header length 1000 runs past the end of the file/,
    ],
    [
      'header length huge',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true);
        return b;
      })(),
      /header length 9223372036854775808 runs past the end/,
    ],
    ['not JSON', handMade('{"a": ', new Uint8Array(0)), /the header is not valid JSON/],
    ['unknown dtype', handMade({ w: { dtype: 'F7', shape: [1], data_offsets: [0, 4] } }, f32le(1)), /tensor 'w': unknown dtype "F7"/],
    [
      'offsets out of range (truncated buffer)',
      handMade({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32le(1, 2)),
      /tensor 'w': data_offsets \[0, 16\] are out of range: the byte buffer has 8 bytes/,
    ],
    [
      'overlapping offsets',
      handMade(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
        f32le(1, 2, 3),
      ),
      /tensor 'b': data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]/,
    ],
    [
      'size mismatch with shape',
      handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32le(1, 2)),
      /tensor 'a': shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    ],
    ['a hole in the buffer', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32le(1, 2)), /leave a hole of 4 bytes/],
    [
      'bytes after the last tensor',
      handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32le(1, 2)),
      /4 bytes after the last tensor are not covered/,
    ],
    ['end before begin', handMade({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32le(1)), /end before they begin/],
    [
      'bad shape',
      handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32le(1)),
      /shape must be an array of non-negative integers/,
    ],
    ['metadata not strings', handMade({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /__metadata__ value 'epoch' must be a string/],
  ];
  for (const [name, bytes, re] of cases) {
    it(`rejects a bad file: ${name}`, () => {
      const f = path.join(dir, 'bad.safetensors');
      fs.writeFileSync(f, bytes);
      expect(() => load(f)).toThrow(SafetensorsError);
      expect(() => load(f)).toThrow(re);
      expect(() => load(f)).toThrow(f); // the message names the file
    });
  }

  it('names a missing file', () => {
    expect(() => load(path.join(dir, 'nope.safetensors'))).toThrow(/nope.safetensors: no such file/);
  });
});

describe('safetensors writing', () => {
  it("wattgrad's output matches the byte layout built by hand", () => {
    const w = tensor([
      [1, 2],
      [3, 4],
    ]); // F32
    const b = tensor([0.5], { dtype: 'float64' });
    const i = tensor([7, -1, 3], { dtype: 'int32' });
    const bytes = serialize({ w, b, idx: i }, { epoch: '3' });
    // the reference order: larger alignment first (F64), then by name (idx < w)
    const json =
      '{"__metadata__":{"epoch":"3"},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
      '"idx":{"dtype":"I32","shape":[3],"data_offsets":[8,20]},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[20,36]}}';
    let padded = json;
    while ((8 + padded.length) % 8) padded += ' ';
    const buf = new Uint8Array(36);
    const v = new DataView(buf.buffer);
    v.setFloat64(0, 0.5, true);
    [7, -1, 3].forEach((x, k) => v.setInt32(8 + 4 * k, x, true));
    [1, 2, 3, 4].forEach((x, k) => v.setFloat32(20 + 4 * k, x, true));
    const expected = handMade(padded, buf, false);
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    expect((8 + padded.length) % 8).toBe(0);
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(padded.length));
    for (const t of [w, b, i]) t.dispose();
  });

  it('writes files that read back exactly, with metadata; leaks nothing', () => {
    const before = memory().tensors;
    const sd = {
      'fc.weight': tensor([[0.1, -0.2, 0.3]]),
      'fc.bias': tensor([1e-30]),
      step: tensor([5], { dtype: 'int32' }),
      empty: tensor([]),
    };
    const f = path.join(dir, 'sub', 'model.safetensors');
    save(f, sd, { metadata: { epoch: '2', json: JSON.stringify({ a: [1, 2] }) } });
    const { tensors, metadata } = loadWithMetadata(f);
    expect(metadata.epoch).toBe('2');
    expect(JSON.parse(metadata.json!)).toEqual({ a: [1, 2] });
    for (const [k, t] of Object.entries(sd)) {
      expect(tensors[k]!.shape).toEqual(t.shape);
      expect(tensors[k]!.dtype).toBe(t.dtype);
      expect([...tensors[k]!.dataSync()]).toEqual([...t.dataSync()]);
    }
    for (const t of [...Object.values(sd), ...Object.values(tensors)]) t.dispose();
    expect(memory().tensors).toBe(before);
    expect(readSafetensors(f).tensors.size).toBe(4);
  });

  it('half-precision conversions round correctly', () => {
    expect(fromBf16Bits(toBf16Bits(1.5))).toBe(1.5);
    expect(toBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // a tie rounds to even
    expect(toBf16Bits(1 + 3 * 2 ** -9)).toBe(0x3f81);
    expect(Number.isNaN(fromBf16Bits(toBf16Bits(NaN)))).toBe(true);
    for (const x of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) expect(fromF16Bits(toF16Bits(x))).toBe(x);
    expect(toF16Bits(1e6)).toBe(0x7c00);
    expect(fromF16Bits(toF16Bits(0.1))).toBeCloseTo(0.1, 3);
  });

  it('writes atomically: a failed write leaves the previous file intact and no temp files', () => {
    const f = path.join(dir, 'atomic.safetensors');
    const t = tensor([1, 2, 3]);
    save(f, { t });
    const good = fs.readFileSync(f);
    // a write that fails half-way (the value cannot be serialised) must not touch the old file
    expect(() => save(f, { t, bad: { dtype: 'F32', shape: [2], data: new Uint8Array(3) } })).toThrow(/needs 8/);
    expect(fs.readFileSync(f).equals(good)).toBe(true);
    // a failing rename (target is a directory) cleans up its temp file
    const d = path.join(dir, 'isdir');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'x'), 'x');
    expect(() => writeFileAtomic(d, new Uint8Array(4))).toThrow();
    const leftovers = fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    expect(leftovers).toEqual([]);
    t.dispose();
  });
});
