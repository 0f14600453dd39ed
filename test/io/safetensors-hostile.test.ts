// Hostile safetensors headers built byte by byte: duplicates, prototype names, non-dtypes, deep
// nesting, invalid UTF-8. Each must be an error naming the file and the key, or load as asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  deserialize,
  load,
  loadWithMetadata,
  rawToTensor,
  save,
  serialize,
  SafetensorsError,
  MAX_HEADER_DEPTH,
} from '../../lib/io/safetensors.js';
import { parseStrictJson, StrictJsonError } from '../../lib/io/json.js';
import { tensor } from '../../lib/ops/index.js';
import { memory } from '../../lib/memory.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-sth-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** u64 LE length, the header text exactly as given (so it can hold duplicate keys), the buffer. */
function bytesOf(headerText: string | Uint8Array, buffer: Uint8Array): Uint8Array {
  const h = typeof headerText === 'string' ? Buffer.from(headerText, 'utf8') : headerText;
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

function writeFile(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

describe('safetensors: duplicates are errors', () => {
  it('a duplicate tensor key names the key and the file (JSON.parse would keep the last)', () => {
    // both entries are individually valid; the second reinterprets the first's bytes
    const text = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}';
    expect((JSON.parse(text) as { w: { dtype: string } }).w.dtype).toBe('I32'); // what a plain parse does
    const f = writeFile('dup.safetensors', bytesOf(text, f32le(1.5, -2)));
    expect(() => load(f)).toThrow(SafetensorsError);
    expect(() => load(f)).toThrow(/duplicate key "w"/);
    expect(() => load(f)).toThrow(f);
  });

  it('a duplicate __metadata__ is an error', () => {
    const text = '{"__metadata__":{"a":"1"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"a":"2"}}';
    const f = writeFile('dupmeta.safetensors', bytesOf(text, f32le(3)));
    expect(() => load(f)).toThrow(/duplicate key "__metadata__"/);
    expect(() => load(f)).toThrow(f);
  });

  it('a duplicate key inside __metadata__ or a tensor entry names its path', () => {
    const meta = '{"__metadata__":{"epoch":"1","epoch":"9"}}';
    expect(() => deserialize(bytesOf(meta, new Uint8Array(0)), 'm.safetensors')).toThrow(
      /m\.safetensors: .*duplicate key "epoch" in __metadata__/,
    );
    const entry = '{"x":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}';
    expect(() => deserialize(bytesOf(entry, f32le(1)))).toThrow(/duplicate key "dtype" in x/);
  });

  it('the same name with different escapes is still a duplicate', () => {
    const text = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(() => deserialize(bytesOf(text, f32le(1, 2)))).toThrow(/duplicate key "w"/);
  });
});

describe('safetensors: prototype names are ordinary keys', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    it(`a tensor named '${name}' loads as a normal key with its values`, () => {
      const text = `{"${name}":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`;
      const f = writeFile(`proto-${name}.safetensors`, bytesOf(text, f32le(4.5, -1, 7)));
      const sd = load(f);
      expect(Object.keys(sd).sort()).toEqual([name, 'b'].sort());
      expect(Object.getPrototypeOf(sd)).toBe(null);
      const t = sd[name]!;
      expect(t.shape).toEqual([2]);
      expect([...t.dataSync()]).toEqual([4.5, -1]);
      expect([...sd.b!.dataSync()]).toEqual([7]);
      for (const x of Object.values(sd)) x.dispose();
    });
  }

  it("a '__proto__' tensor round-trips through save (a plain {} header would drop it)", () => {
    const before = memory().tensors;
    const m = new Map([
      ['__proto__', tensor([1, 2, 3])],
      ['constructor', tensor([4])],
    ]);
    const f = path.join(dir, 'proto-rt.safetensors');
    save(f, m);
    const back = load(f);
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'constructor']);
    expect([...back['__proto__']!.dataSync()]).toEqual([1, 2, 3]);
    expect([...back['constructor' as string]!.dataSync()]).toEqual([4]);
    for (const t of [...m.values(), ...Object.values(back)]) t.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('metadata keys named after Object.prototype members are plain keys, and absent ones are absent', () => {
    const text = '{"__metadata__":{"__proto__":"p","constructor":"c"}}';
    const f = writeFile('meta-proto.safetensors', bytesOf(text, new Uint8Array(0)));
    const { metadata } = loadWithMetadata(f);
    expect(Object.keys(metadata).sort()).toEqual(['__proto__', 'constructor']);
    expect(metadata['__proto__']).toBe('p');
    expect(metadata['constructor' as string]).toBe('c');
    expect(metadata.toString).toBeUndefined();
  });
});

describe('safetensors: dtypes are looked up as own names only', () => {
  for (const dt of ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty']) {
    it(`dtype "${dt}" is unknown`, () => {
      const f = writeFile('dt.safetensors', bytesOf(`{"x":{"dtype":"${dt}","shape":[1],"data_offsets":[0,4]}}`, f32le(1)));
      expect(() => load(f)).toThrow(new RegExp(`tensor 'x': unknown dtype "${dt}" \\(expected one of BOOL, U8`));
    });
  }

  it('a raw tensor with a prototype-name dtype is refused by serialize and rawToTensor', () => {
    const raw = { dtype: 'toString', shape: [1], data: new Uint8Array(4) } as never;
    expect(() => serialize({ x: raw })).toThrow(/tensor 'x': unknown dtype "toString"/);
    expect(() => rawToTensor(raw, 'cpu', 'x')).toThrow(/tensor 'x': unknown dtype "toString"/);
  });
});

describe('safetensors: header structure limits', () => {
  it('deep nesting in a shape is a clear limit, not a stack overflow', () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    const f = writeFile('deep.safetensors', bytesOf(`{"x":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`, f32le(1)));
    expect(() => load(f)).toThrow(new RegExp(`nested too deeply: nesting deeper than ${MAX_HEADER_DEPTH} levels`));
    expect(() => load(f)).toThrow(f);
  });

  it('a shape nested a little (valid JSON, not integers) names the shape', () => {
    const f = writeFile('nested.safetensors', bytesOf('{"x":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}', f32le(1)));
    expect(() => load(f)).toThrow(/tensor 'x': shape must be an array of non-negative integers, got \[\[1\]\]/);
  });

  it('a long bad shape is shown shortened', () => {
    const long = `[${Array.from({ length: 5000 }, () => '-1').join(',')}]`;
    const f = writeFile('long.safetensors', bytesOf(`{"x":{"dtype":"F32","shape":${long},"data_offsets":[0,4]}}`, f32le(1)));
    let msg = '';
    try {
      load(f);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/shape must be an array of non-negative integers, got \[-1,-1,.*\.\.\./);
    expect(msg.length).toBeLessThan(400);
  });

  it('an invalid UTF-8 header is an error (not replacement characters)', () => {
    const text = Buffer.from('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 'utf8');
    const bad = Buffer.concat([text.subarray(0, 2), Buffer.from([0xff]), text.subarray(3)]);
    expect(() => deserialize(bytesOf(bad, f32le(1)), 'u.safetensors')).toThrow(/u\.safetensors: the header is not valid UTF-8/);
  });

  it('trailing garbage, arrays as entries and comments are refused', () => {
    expect(() => deserialize(bytesOf('{} {}', new Uint8Array(0)))).toThrow(/not valid JSON \(unexpected text after the JSON value/);
    expect(() => deserialize(bytesOf('{"x":[1,2]}', new Uint8Array(0)))).toThrow(/tensor 'x': entry must be an object .* got an array/);
    expect(() => deserialize(bytesOf('{/*c*/}', new Uint8Array(0)))).toThrow(/not valid JSON/);
  });

  it('padding with spaces after the JSON is allowed', () => {
    const c = deserialize(bytesOf('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}       ', f32le(2.5)));
    expect(c.tensors.get('x')!.shape).toEqual([1]);
  });
});

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses, with null-prototype objects', () => {
    const samples = ['{"a":[1,-2.5e3,true,false,null,"s\\n\\u00e9"],"b":{}}', '[]', '"x"', '0', '-0.5', '{"__proto__":{"x":1}}'];
    for (const s of samples) expect(JSON.stringify(parseStrictJson(s))).toBe(JSON.stringify(JSON.parse(s)));
    const o = parseStrictJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(o)).toBe(null);
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect((o['__proto__'] as { x: number }).x).toBe(1);
  });

  it('rejects what JSON.parse rejects', () => {
    for (const s of ['', '{', '[1,]', '{"a":1,}', "{'a':1}", '01', '1.', 'tru', '"\t"', '{"a" 1}', 'NaN', '"\\x"']) {
      expect(() => parseStrictJson(s), s).toThrow(StrictJsonError);
      expect(() => JSON.parse(s), s).toThrow();
    }
  });
});

describe('safetensors: bad arguments to save / load / serialize (siblings)', () => {
  it("save(stateDict, path) in torch's order says which order is expected", () => {
    const t = tensor([1, 2]);
    const f = path.join(dir, 'order.safetensors');
    expect(() => save({ t } as never, f as never)).toThrow(
      new RegExp(
        `save: the arguments are \\(path, stateDict\\): got the state dict first .* call save\\('${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}', stateDict\\)`,
      ),
    );
    expect(fs.existsSync(f)).toBe(false);
    t.dispose();
  });

  it('entries that are not tensors name the key and what they are', () => {
    const f = path.join(dir, 'nt.safetensors');
    expect(() => save(f, { a: 5 } as never)).toThrow(/safetensors: 'a' is a number, expected a Tensor/);
    expect(() => save(f, { a: null } as never)).toThrow(/safetensors: 'a' is null, expected a Tensor/);
    expect(() => save(f, { a: [1, 2] } as never)).toThrow(/'a' is an array, expected a Tensor/);
    expect(() => save(f, undefined as never)).toThrow(/expected a state dict \{ name: Tensor \} \(or a Map\), got undefined$/);
    const one = tensor([1]);
    expect(() => save(f, one as never)).toThrow(/expected a state dict .* got a single Tensor/);
    const gone = tensor([1]);
    gone.dispose();
    expect(() => save(f, { gone })).toThrow(/tensor 'gone' was disposed before saving/);
    expect(() => serialize({ one }, 5 as never)).toThrow(/metadata must be an object of strings, got a number/);
    expect(fs.existsSync(f)).toBe(false);
    one.dispose();
  });

  it('raw tensors with a bad shape would write an unreadable file: refused', () => {
    const data = new Uint8Array(16);
    expect(() => serialize({ r: { dtype: 'F32', shape: [-1, -4], data } })).toThrow(
      /tensor 'r': shape must be an array of non-negative integers, got \[-1,-4\]/,
    );
    expect(() => serialize({ r: { dtype: 'F32', shape: [0.5, 8], data } })).toThrow(
      /shape must be an array of non-negative integers, got \[0.5,8\]/,
    );
    expect(() => serialize({ r: { dtype: 'F32', shape: [4], data: [1, 2] as never } })).toThrow(/data must be a Uint8Array/);
  });

  it('rawToTensor of bytes that do not match the shape is an error (it decoded zeros before)', () => {
    expect(() => rawToTensor({ dtype: 'F32', shape: [3], data: new Uint8Array(4) }, 'cpu', 'w')).toThrow(
      /tensor 'w': has 4 bytes, shape \[3\] of F32 needs 12/,
    );
  });

  it('a misspelt load or save option is an error, not a silent default', () => {
    const f = path.join(dir, 'opt.safetensors');
    const t = tensor([1]);
    expect(() => save(f, { t }, { metdata: { a: 'b' } } as never)).toThrow(/save: unknown option 'metdata'/);
    save(f, { t });
    expect(() => load(f, { devcie: 'cpu' } as never)).toThrow(/load: unknown option 'devcie'/);
    expect(() => load(5 as never)).toThrow(/load: path must be a non-empty string, got a number/);
    t.dispose();
  });

  it('a directory as the target, or a file where a directory should be, is said before writing', () => {
    const t = tensor([1]);
    const d = path.join(dir, 'adir');
    fs.mkdirSync(d, { recursive: true });
    expect(() => save(d, { t })).toThrow(new RegExp(`cannot write .*adir: it is a directory \\(give a file path`));
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const file = path.join(dir, 'plainfile');
    fs.writeFileSync(file, 'x');
    expect(() => save(path.join(file, 'sub', 'm.safetensors'), { t })).toThrow(
      new RegExp(`cannot write .*m\\.safetensors: .*plainfile is a file, not a directory`),
    );
    t.dispose();
  });
});

describe('safetensors: reading odd but valid inputs', () => {
  it('BOOL bytes other than 0/1 load as 1 (true), as torch reads them', () => {
    const c = deserialize(bytesOf('{"b":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}', new Uint8Array([0, 1, 2, 255])));
    const t = rawToTensor(c.tensors.get('b')!);
    expect([...t.dataSync()]).toEqual([0, 1, 1, 1]);
    t.dispose();
  });

  it('an ArrayBuffer is accepted, anything else is a TypeError naming what was given', () => {
    const b = bytesOf('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32le(2));
    const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    expect(deserialize(ab).tensors.get('x')!.shape).toEqual([1]);
    expect(() => deserialize('abc' as never)).toThrow(/deserialize expects the file's bytes .* got a string/);
  });
});
