// Request bodies → one row-major typed array, checked at the door. Every problem is a BadRequest
// (HTTP 400) whose message says what was wrong and what was expected; nothing reaches the model
// unchecked.
//
// JSON (TF Serving's row format): {"instances": [instance, …]}, each instance either nested arrays
// of the input shape or a flat array of its numel numbers.
// Binary: the body is raw little-endian float32 (or int32) values, the header x-wattgrad-shape gives
// the full shape "N,d1,d2,…" whose trailing dims must be the model's input shape.

import type { InputDType } from './engine.js';

export class BadRequest extends Error {
  readonly statusCode = 400;
}

const fmt = (s: readonly number[]): string => `(${s.join(', ')})`;

export interface ParsedInput {
  data: Float32Array | Int32Array;
  rows: number;
}

function alloc(dtype: InputDType, n: number): Float32Array | Int32Array {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

function checkValue(v: unknown, where: () => string, dtype: InputDType): number {
  if (typeof v !== 'number') {
    throw new BadRequest(
      `${where()} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}` : typeof v}; expected a number`,
    );
  }
  if (!Number.isFinite(v)) throw new BadRequest(`${where()} is ${v}; expected a finite number`);
  if (dtype === 'float32' && !Number.isFinite(Math.fround(v)))
    throw new BadRequest(`${where()} is ${v}, past float32's range (±3.4028235e38); the model takes float32`);
  if (dtype === 'int32' && (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)) {
    throw new BadRequest(`${where()} is ${v}; the model takes int32 ids`);
  }
  return v;
}

/** Copies one instance (nested to `shape`, or flat) into out at offset; returns the numbers written. */
function writeInstance(
  inst: unknown,
  shape: readonly number[],
  numel: number,
  out: Float32Array | Int32Array,
  offset: number,
  i: number,
  dtype: InputDType,
): void {
  if (!Array.isArray(inst)) {
    throw new BadRequest(
      `instances[${i}] is ${inst === null ? 'null' : typeof inst}; expected an array of shape ${fmt(shape)} or a flat array of ${numel} numbers`,
    );
  }
  // flat form
  if (shape.length !== 1 && inst.length === numel && (inst.length === 0 || !Array.isArray(inst[0]))) {
    for (let j = 0; j < numel; j++) out[offset + j] = checkValue(inst[j], () => `instances[${i}][${j}]`, dtype);
    return;
  }
  let k = offset;
  const walk = (a: unknown, d: number, pathStr: string): void => {
    const want = shape[d]!;
    if (!Array.isArray(a)) throw new BadRequest(`${pathStr} is ${typeof a}; expected an array of ${want} (instance shape ${fmt(shape)})`);
    if (a.length !== want) {
      throw new BadRequest(
        `${pathStr} has ${a.length} entries; expected ${want} (instance shape ${fmt(shape)}${d === 0 ? `, or a flat array of ${numel} numbers` : ''})`,
      );
    }
    if (d === shape.length - 1) {
      for (let j = 0; j < want; j++) out[k++] = checkValue(a[j], () => `${pathStr}[${j}]`, dtype);
    } else {
      for (let j = 0; j < want; j++) walk(a[j], d + 1, `${pathStr}[${j}]`);
    }
  };
  walk(inst, 0, `instances[${i}]`);
}

export function parseJsonBody(body: unknown, shape: readonly number[], dtype: InputDType, maxInstances: number): ParsedInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest('the body must be a JSON object {"instances": [...]}');
  }
  const keys = Object.keys(body);
  const extra = keys.filter((k) => k !== 'instances' && k !== 'signature_name');
  if (extra.length > 0) {
    throw new BadRequest(
      `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')} in the body; expected {"instances": [...]}${extra.includes('inputs') ? " (the columnar 'inputs' form is not supported; send 'instances')" : ''}`,
    );
  }
  const instances = (body as { instances?: unknown }).instances;
  if (instances === undefined) throw new BadRequest('the body has no "instances" field; expected {"instances": [...]}');
  if (!Array.isArray(instances))
    throw new BadRequest(`"instances" is ${instances === null ? 'null' : typeof instances}; expected an array of instances`);
  if (instances.length === 0) throw new BadRequest('"instances" is empty; send at least one instance');
  if (instances.length > maxInstances) throw new BadRequest(`${instances.length} instances in one request; the limit is ${maxInstances}`);
  const numel = shape.reduce((a, b) => a * b, 1);
  const data = alloc(dtype, instances.length * numel);
  for (let i = 0; i < instances.length; i++) writeInstance(instances[i], shape, numel, data, i * numel, i, dtype);
  return { data, rows: instances.length };
}

// ---- JSON straight from the body's bytes -------------------------------------------------------
//
// JSON.parse of a float-heavy body builds an array object per row and a heap number per value, then
// parseJsonBody walks them: for one MNIST digit (784 values, ~15 KB of JSON) that was most of the
// HTTP thread's time per request. scanJsonInstances reads the usual body, {"instances": [...]} with
// every instance nested to the input shape (or flat), straight from the bytes into a Float32Array.
// It gives up (null) on anything else — another key, an escape, a non-number, a count that does not
// fit, malformed JSON — and parseJsonBytes then runs JSON.parse + parseJsonBody on the same bytes:
// the same values for every body the scanner takes, and the precise 400 for every body it does not.

/** 10^0 … 10^22: the powers of ten a double holds exactly */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const TWO53 = 2 ** 53;

/** where the last number() ended */
let pos = 0;

/**
 * The JSON number (RFC 8259's grammar) at b[i], rounded to float32 exactly as Math.fround(JSON.parse(text))
 * would; NaN if there is no number there. pos: the index after it. No bounds checks: the caller makes
 * sure the body ends with a byte that no number can contain.
 */
function number(b: Uint8Array, i: number): number {
  const start = i;
  let c = b[i]!;
  const neg = c === 0x2d;
  if (neg) c = b[++i]!;
  let m = 0; // the digits as an integer: exact while <= 2^53
  let digits = 0;
  let e = 0;
  if (c === 0x30) c = b[++i]!;
  else if (c >= 0x31 && c <= 0x39) {
    do {
      m = m * 10 + (c - 0x30);
      digits++;
      c = b[++i]!;
    } while (c >= 0x30 && c <= 0x39);
  } else return NaN;
  if (c === 0x2e) {
    c = b[++i]!;
    if (!(c >= 0x30 && c <= 0x39)) return NaN;
    do {
      m = m * 10 + (c - 0x30);
      digits++;
      e--;
      c = b[++i]!;
    } while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) {
    c = b[++i]!;
    let es = 1;
    if (c === 0x2b || c === 0x2d) {
      if (c === 0x2d) es = -1;
      c = b[++i]!;
    }
    if (!(c >= 0x30 && c <= 0x39)) return NaN;
    let x = 0;
    do {
      if (x < 1e6) x = x * 10 + (c - 0x30);
      c = b[++i]!;
    } while (c >= 0x30 && c <= 0x39);
    e += es * x;
  }
  pos = i;
  if (m === 0) return neg ? -0 : 0;
  // exact: both operands are exact doubles and IEEE rounds the one operation correctly (Clinger's fast path)
  if (m <= TWO53 && e >= -22 && e <= 22)
    return Math.fround(neg ? -(e < 0 ? m / POW10[-e]! : m * POW10[e]!) : e < 0 ? m / POW10[-e]! : m * POW10[e]!);
  // m (or 10^e) was rounded: d is within (digits + 2) · 2^-52 of the value, relatively. That rounds to the
  // same float32 as the correctly rounded double unless a float32 rounding midpoint lies that close: then
  // (a few times in ten million such numbers) V8's own conversion of the text decides.
  let d: number;
  if (e >= 0 && e <= 44) d = e <= 22 ? m * POW10[e]! : m * 1e22 * POW10[e - 22]!;
  else if (e < 0 && e >= -44) d = e >= -22 ? m / POW10[-e]! : m / 1e22 / POW10[-e - 22]!;
  else return Math.fround(Number(Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1')));
  // fround is monotone: if both ends of d's error interval round to the same float32, so does the value
  const t = d * (digits + 8) * 2 ** -52;
  const f = Math.fround(d - t);
  if (f !== Math.fround(d + t)) return Math.fround(Number(Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1')));
  return neg ? -f : f;
}

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

let scratch = new Float32Array(0);

/**
 * The fast path of parseJsonBytes: float32 instances of `shape` (nested, or flat) in {"instances": [...]}
 * with nothing else in the body; null for any other body (the caller then parses it the slow way).
 */
export function scanJsonInstances(b: Uint8Array, shape: readonly number[], maxInstances: number): ParsedInput | null {
  const n = b.length;
  const rank = shape.length;
  const numel = shape.reduce((a, c) => a * c, 1);
  const left = new Int32Array(rank); // entries still to read at each open level
  // an object ends with '}' (then maybe whitespace): every number is followed by some other byte, so
  // number() never reads past the end
  let end = n;
  while (end > 0 && isWs(b[end - 1]!)) end--;
  if (end === 0 || b[end - 1] !== 0x7d) return null;
  let i = 0;
  let c = -1;
  const skip = (): number => {
    while (i < n && isWs(b[i]!)) i++;
    return i < n ? b[i]! : -1;
  };
  c = skip();
  if (c !== 0x7b) return null; // {
  i++;
  c = skip();
  const KEY = '"instances"';
  for (let k = 0; k < KEY.length; k++) if (b[i + k] !== KEY.charCodeAt(k)) return null;
  i += KEY.length;
  c = skip();
  if (c !== 0x3a) return null; // :
  i++;
  c = skip();
  if (c !== 0x5b) return null; // [
  i++;
  let rows = 0;
  let k = 0; // values written
  for (;;) {
    if (rows === maxInstances) return null; // one more: the slow path counts them and says so
    if (scratch.length < (rows + 1) * numel) {
      const grown = new Float32Array(Math.max(4 * numel, 2 * scratch.length, (rows + 1) * numel));
      grown.set(scratch.subarray(0, k));
      scratch = grown;
    }
    c = skip();
    if (c !== 0x5b) return null;
    i++;
    c = skip();
    // an instance: nested to the shape, or (rank 2+) flat when it starts with a number
    const flat = rank > 1 && c !== 0x5b;
    const levels = flat ? 1 : rank;
    let d = 0;
    left[0] = flat ? numel : shape[0]!;
    for (;;) {
      // at level d, before an entry (c: its first byte); levels above the last hold arrays
      if (d < levels - 1) {
        if (c !== 0x5b) return null; // [
        i++;
        c = skip();
        d++;
        left[d] = shape[d]!;
        continue;
      }
      // the last level: its numbers, comma-separated
      for (let j = left[d]!; ;) {
        const v = number(b, i);
        if (v !== v) return null; // not a number here
        if (v === Infinity || v === -Infinity) return null; // ±Infinity or past float32: the slow path says which
        scratch[k++] = v;
        i = pos;
        c = skip();
        if (--j === 0) break;
        if (c !== 0x2c) return null; // ,
        i++;
        c = skip();
      }
      // close the levels whose entries are all read; go on with the next entry of the first one that has more
      let done = false;
      for (;;) {
        if (c !== 0x5d) return null; // ]
        i++;
        c = skip();
        if (d === 0) {
          done = true;
          break;
        }
        d--;
        if (--left[d]! > 0) {
          if (c !== 0x2c) return null; // ,
          i++;
          c = skip();
          break;
        }
      }
      if (done) break;
    }
    rows++;
    if (c === 0x5d) break; // ] of the instances
    if (c !== 0x2c) return null;
    i++;
  }
  i++;
  c = skip();
  if (c !== 0x7d) return null; // }
  i++;
  c = skip();
  if (c !== -1) return null;
  return { data: scratch.slice(0, k), rows };
}

/**
 * A JSON request body as bytes → the model's input: the byte scanner for the usual float32 body,
 * else JSON.parse + parseJsonBody (every bad body ends there, with its 400 message).
 */
export function parseJsonBytes(body: Uint8Array, shape: readonly number[], dtype: InputDType, maxInstances: number): ParsedInput {
  const fast = dtype === 'float32' ? scanJsonInstances(body, shape, maxInstances) : null;
  if (fast !== null) return fast;
  let text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark, as fastify's parser allowed
  if (text.trim() === '') throw new BadRequest('malformed JSON body: the body is empty; send {"instances": [...]}');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new BadRequest(`malformed JSON body: ${(e as Error).message}`);
  }
  return parseJsonBody(parsed, shape, dtype, maxInstances);
}

export function parseBinaryBody(
  body: Buffer,
  shapeHeader: string | undefined,
  shape: readonly number[],
  dtype: InputDType,
  maxInstances: number,
): ParsedInput {
  if (shapeHeader === undefined || shapeHeader.trim() === '') {
    throw new BadRequest(`a binary body needs the header x-wattgrad-shape: N,${shape.join(',')} (the batch first)`);
  }
  const dims = shapeHeader.split(',').map((s) => s.trim());
  if (!dims.every((d) => /^\d+$/.test(d)))
    throw new BadRequest(`x-wattgrad-shape '${shapeHeader}' is not a comma-separated list of non-negative integers`);
  const full = dims.map(Number);
  const inst = full.slice(1);
  if (full.length !== shape.length + 1 || inst.some((d, i) => d !== shape[i])) {
    throw new BadRequest(`x-wattgrad-shape ${fmt(full)} does not fit the model: expected (N, ${shape.join(', ')})`);
  }
  const rows = full[0]!;
  if (rows === 0) throw new BadRequest('x-wattgrad-shape has N = 0; send at least one instance');
  if (rows > maxInstances) throw new BadRequest(`${rows} instances in one request; the limit is ${maxInstances}`);
  const n = full.reduce((a, b) => a * b, 1);
  if (body.length !== n * 4) {
    throw new BadRequest(`the binary body has ${body.length} bytes; shape ${fmt(full)} of ${dtype} needs ${n * 4} bytes`);
  }
  const data = alloc(dtype, n);
  new Uint8Array(data.buffer).set(body);
  if (dtype === 'float32') {
    const f = data as Float32Array;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(f[i]!)) throw new BadRequest(`value ${i} of the binary body is ${f[i]}; expected finite numbers`);
    }
  }
  return { data, rows };
}
