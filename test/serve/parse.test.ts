// The JSON byte scanner of serve (scanJsonInstances) against JSON.parse + parseJsonBody: the same
// float32 values, bit for bit, for every body it takes; null (the slow path's turn) for every body it
// must not take, and parseJsonBytes then gives the slow path's 400.

import { describe, expect, it } from 'vitest';
import { BadRequest, parseJsonBody, parseJsonBytes, scanJsonInstances } from '../../lib/serve/parse.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/** the reference: what the server did before the scanner */
function slow(text: string, shape: number[], maxInstances = 1024): Float32Array {
  return parseJsonBody(JSON.parse(text), shape, 'float32', maxInstances).data as Float32Array;
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** a deterministic stream of doubles of every kind a client may print */
function numbers(seed: number, n: number): string[] {
  let s = seed;
  const r = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: string[] = [];
  const f32 = new Float32Array(2);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) {
    const kind = i % 12;
    const x = (r() * 2 - 1) * 10 ** Math.floor(r() * 12 - 6);
    if (kind === 0)
      out.push(String(x)); // shortest double, often 16-17 digits (mantissa past 2^53)
    else if (kind === 1)
      out.push(String(Math.fround(x))); // a float32 printed as a double, as toArray() gives
    else if (kind === 2) out.push(x.toExponential(Math.floor(r() * 20)));
    else if (kind === 3) out.push(x.toFixed(Math.floor(r() * 12)));
    else if (kind === 4)
      out.push(String(Math.round(x * 1000))); // integers, -0 included below
    else if (kind === 5) out.push(['0', '-0', '0.0', '-0.0e5', '1', '-1', '0e-999', '255'][i % 8]!);
    else if (kind === 6) {
      // a decimal within a hair of the midpoint between two float32 neighbours (double rounding territory)
      f32[0] = 1 + r();
      u32[1] = u32[0]! + 1;
      const mid = (f32[0]! + f32[1]!) / 2;
      out.push(mid.toPrecision(17 + (i % 4)));
    } else if (kind === 7)
      out.push(`${Math.floor(r() * 9) + 1}${'0'.repeat(Math.floor(r() * 25))}`); // long integers
    else if (kind === 8)
      out.push(`${(r() * 10).toFixed(3)}E${Math.floor(r() * 60 - 30)}`); // exponents past 10^22
    else if (kind === 9)
      out.push(`0.${'0'.repeat(Math.floor(r() * 30))}${Math.floor(r() * 1e9)}`); // many leading zeros
    else if (kind === 10)
      out.push(`-${(r() * 3.4).toFixed(6)}e38`); // near float32's largest
    else out.push(`${Math.floor(r() * 1e9)}.${Math.floor(r() * 1e9)}${Math.floor(r() * 1e9)}e-${Math.floor(r() * 40)}`); // 27 digits
  }
  return out;
}

describe('serve: JSON byte scanner', () => {
  it('reads the same float32 values as JSON.parse for numbers of every form (nested, flat, whitespace)', () => {
    const shape = [2, 3, 4];
    let compared = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const vals = numbers(seed, 24 * 3);
      const inst = (k: number, flat: boolean): string => {
        const v = vals.slice(24 * k, 24 * (k + 1));
        if (flat) return `[${v.join(',')}]`;
        const rows = (a: string[], n: number): string[] =>
          Array.from({ length: a.length / n }, (_, i) => `[${a.slice(i * n, (i + 1) * n).join(', ')}]`);
        return `[${rows(rows(v, 4), 3).join(',\n ')}]`;
      };
      const sp = seed % 3 === 0 ? ' \t\r\n' : '';
      const text = `${sp}{${sp}"instances"${sp}:${sp}[${inst(0, false)},${sp}${inst(1, seed % 2 === 0)}, ${inst(2, false)}]${sp}}${sp}`;
      const fast = scanJsonInstances(enc(text), shape, 1024);
      const values = vals.map(Number).filter((v) => !Number.isFinite(Math.fround(v)));
      if (values.length > 0) {
        expect(fast, text).toBeNull(); // past float32's range: the slow path names it
        continue;
      }
      expect(fast, text).not.toBeNull();
      expect(fast!.rows).toBe(3);
      compared++;
      expect(bits(fast!.data as Float32Array)).toEqual(bits(slow(text, shape)));
      expect(bits(parseJsonBytes(enc(text), shape, 'float32', 1024).data as Float32Array)).toEqual(bits(slow(text, shape)));
    }
    expect(compared).toBeGreaterThan(30);
  });

  it('reads a real-looking digit (float32 values printed as doubles) bit for bit, and not into shared memory', () => {
    const shape = [1, 28, 28];
    const f = Float32Array.from({ length: 784 }, (_, i) => (i % 7 === 0 ? 0 : Math.fround(((i * 7919) % 255) / 255)));
    const nested = [Array.from({ length: 28 }, (_, r) => Array.from(f.subarray(r * 28, (r + 1) * 28)))];
    const text = JSON.stringify({ instances: [nested, nested] });
    const a = scanJsonInstances(enc(text), shape, 1024)!;
    expect(a.rows).toBe(2);
    expect(bits(a.data as Float32Array)).toEqual(bits(slow(text, shape)));
    expect(bits((a.data as Float32Array).subarray(0, 784))).toEqual(bits(f));
    const b = scanJsonInstances(enc(JSON.stringify({ instances: [Array.from(f).map((v) => v * 2)] })), shape, 1024)!;
    expect(b.data.buffer).not.toBe(a.data.buffer);
    expect(bits(a.data as Float32Array).slice(0, 784)).toEqual(bits(f)); // b did not overwrite a
  });

  it('leaves every other body to the slow path (null), which gives its 400', () => {
    const shape = [3];
    const others: Array<[string, RegExp]> = [
      ['{"instances": [[1, 2', /malformed JSON/],
      ['{"instances": [[NaN, 1, 2]]}', /malformed JSON/],
      ['{"instances": [[1e999, 1, 2]]}', /instances\[0\]\[0\] is Infinity; expected a finite number/],
      ['{"instances": [[1e39, 1, 2]]}', /instances\[0\]\[0\] is 1e\+39, past float32's range/],
      ['{"instances": [[1, "2", 3]]}', /instances\[0\]\[1\] is the string "2"/],
      ['{"instances": [[1, null, 3]]}', /instances\[0\]\[1\] is null/],
      ['{"instances": [[1, 2]]}', /instances\[0\] has 2 entries; expected 3/],
      ['{"instances": [[1, 2, 3, 4]]}', /instances\[0\] has 4 entries; expected 3/],
      ['{"instances": []}', /"instances" is empty/],
      ['{"instances": [[1, 2, 3]], "inputs": 1}', /unknown field 'inputs'/],
      ['{"instances": 5}', /"instances" is number/],
      ['[1, 2]', /must be a JSON object/],
      ['', /malformed JSON body: the body is empty/],
      ['{"instances": [[01, 2, 3]]}', /malformed JSON/],
      ['{"instances": [[1., 2, 3]]}', /malformed JSON/],
      ['{"instances": [[.5, 2, 3]]}', /malformed JSON/],
      ['{"instances": [[+1, 2, 3]]}', /malformed JSON/],
      ['{"instances": [[1e, 2, 3]]}', /malformed JSON/],
      ['{"instances": [[-, 2, 3]]}', /malformed JSON/],
      ['{"instances": [[1, 2, 3],]}', /malformed JSON/],
      ['{"instances": [[1, 2, 3]]} x', /malformed JSON/],
      ['{"instances": [[1, 2, 3]]', /malformed JSON/],
      ['{"instances": [[1, 2, 3], [1, 2, 3], [1, 2, 3]]}', /3 instances in one request; the limit is 2/],
    ];
    for (const [text, msg] of others) {
      expect(scanJsonInstances(enc(text), shape, 2), text).toBeNull();
      expect(() => parseJsonBytes(enc(text), shape, 'float32', 2), text).toThrow(msg);
      expect(() => parseJsonBytes(enc(text), shape, 'float32', 2)).toThrow(BadRequest);
    }
    // bodies the scanner does not take but that are fine: the slow path serves them
    const fine = [
      '{"signature_name": "serving_default", "instances": [[1, 2, 3]]}',
      '{"instan\\u0063es": [[1, 2, 3]]}',
      '\ufeff{"instances": [[1, 2, 3]]}',
    ];
    for (const text of fine) {
      expect(scanJsonInstances(enc(text), shape, 2), text).toBeNull();
      expect(Array.from(parseJsonBytes(enc(text), shape, 'float32', 2).data)).toEqual([1, 2, 3]);
    }
    // a flat instance for a nested shape, and exactly maxInstances instances
    expect(Array.from(scanJsonInstances(enc('{"instances":[[1,2,3,4],[5,6,7,8]]}'), [2, 2], 2)!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(scanJsonInstances(enc('{"instances":[[[1,2],[3]]]}'), [2, 2], 2)).toBeNull();
    expect(() => parseJsonBytes(enc('{"instances":[[[1,2],[3]]]}'), [2, 2], 'float32', 2)).toThrow(
      /instances\[0\]\[1\] has 1 entries; expected 2/,
    );
    // int32 models take the slow path (ids are checked as integers there)
    expect(Array.from(parseJsonBytes(enc('{"instances":[[1,2,3]]}'), [3], 'int32', 2).data)).toEqual([1, 2, 3]);
    expect(() => parseJsonBytes(enc('{"instances":[[1.5,2,3]]}'), [3], 'int32', 2)).toThrow(/the model takes int32 ids/);
  });
});
