// The safetensors format (https://github.com/huggingface/safetensors):
//
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   a UTF-8 JSON object: { "__metadata__": {string: string}  (optional),
//                                    "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, … }
//             padded with spaces (0x20) so that 8 + N is a multiple of 8
//   the byte buffer: every tensor's elements, little-endian, row-major; data_offsets are relative
//             to the start of the buffer, and the tensors tile it exactly (no overlap, no hole).
//
// We write tensors in the reference implementation's order (larger dtype alignment first, then by
// name), so files are byte-for-byte deterministic. We read every standard dtype: F32, F64 and I32
// map to wattgrad dtypes directly; F16 and BF16 load as float32 on the cpu (the js backend has no
// half types) and as themselves on cuda; integer types load as int32 when every value fits.
// A file is checked before any tensor is made: truncated files, a header length past the end,
// offsets out of range, overlapping or leaving holes, sizes that disagree with shape × dtype,
// unknown dtypes — each is an error naming the file and the tensor. The header is parsed strictly
// (lib/io/json.ts): it must be valid UTF-8, a name may appear once (the format forbids duplicates;
// JSON.parse would keep the last and reinterpret its bytes), nesting is limited, and every name,
// '__proto__' and 'constructor' included, is an ordinary key (objects we return have no prototype).

import fs from 'node:fs';
import os from 'node:os';
import type { DType, TypedArray } from '../dtype.js';
import { fromHost } from '../ops/creation.js';
import { cast } from '../ops/elementwise.js';
import { numel } from '../shape.js';
import { checkOptions } from '../options.js';
import { isTensor, type Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { nullProto, parseStrictJson, StrictJsonError } from './json.js';

/** Element types of the format, with their size in bytes. */
export const SAFETENSORS_DTYPES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

/** True for the format's dtype names only (an own key: 'toString' or 'constructor' are not dtypes). */
export function isSafetensorsDType(d: unknown): d is SafetensorsDType {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPES, d);
}

/** The element size of a dtype, or an error naming `where` and the dtypes there are. */
function dtypeSize(d: unknown, where: string): number {
  if (!isSafetensorsDType(d))
    throw new SafetensorsError(`${where}: unknown dtype ${show(d)} (expected one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
  return SAFETENSORS_DTYPES[d];
}

/** A short JSON rendering of an untrusted value for messages (never throws, never huge). */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? `[array of ${v.length}]` : typeof v;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A tensor as it is in the file: its dtype, shape and little-endian bytes. */
export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsContents {
  /** in header order */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Largest header we accept (the reference implementation's limit). */
const MAX_HEADER = 100 * 1024 * 1024;
/** Deepest JSON nesting in a header (a valid one has 3: root, tensor entry, shape). */
export const MAX_HEADER_DEPTH = 16;
const LITTLE_ENDIAN = os.endianness() === 'LE';

const TO_FILE: Record<DType, SafetensorsDType> = { float32: 'F32', float64: 'F64', int32: 'I32', bfloat16: 'BF16', float16: 'F16' };

// ---- half-precision conversions ------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
export function toBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
export function fromBf16Bits(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** float32 → IEEE half bits, round to nearest even. */
export function toF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
export function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- tensors ↔ bytes -------------------------------------------------------------------------------

/** The file bytes of a tensor (reads it back from its device). */
export function tensorToRaw(t: Tensor): RawTensor {
  const dtype = TO_FILE[t.dtype];
  const host = t.dataSync();
  const n = host.length;
  let data: Uint8Array;
  if (dtype === 'BF16' || dtype === 'F16') {
    const enc = dtype === 'BF16' ? toBf16Bits : toF16Bits;
    data = new Uint8Array(2 * n);
    const v = new DataView(data.buffer);
    for (let i = 0; i < n; i++) v.setUint16(2 * i, enc(host[i]!), true);
  } else if (LITTLE_ENDIAN) {
    data = new Uint8Array(host.buffer.slice(host.byteOffset, host.byteOffset + host.byteLength));
  } else {
    data = new Uint8Array(host.byteLength);
    const v = new DataView(data.buffer);
    for (let i = 0; i < n; i++) {
      if (dtype === 'F64') v.setFloat64(8 * i, host[i]!, true);
      else if (dtype === 'F32') v.setFloat32(4 * i, host[i]!, true);
      else v.setInt32(4 * i, host[i]!, true);
    }
  }
  return { dtype, shape: [...t.shape], data };
}

/** The host values of a raw tensor and the wattgrad dtype they load as. */
export function decodeRaw(raw: RawTensor, name = 'tensor'): { values: TypedArray; dtype: DType; fileDtype: DType | null } {
  checkRaw(raw, `tensor '${name}'`);
  const n = raw.data.length / SAFETENSORS_DTYPES[raw.dtype];
  const v = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  const ints = (get: (i: number) => number | bigint): Int32Array => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const x = get(i);
      const num = typeof x === 'bigint' ? Number(x) : x;
      if (num > 2147483647 || num < -2147483648)
        throw new SafetensorsError(`tensor '${name}': ${raw.dtype} value ${x} at element ${i} does not fit in int32`);
      out[i] = num;
    }
    return out;
  };
  switch (raw.dtype) {
    case 'F32': {
      const o = new Float32Array(n);
      for (let i = 0; i < n; i++) o[i] = v.getFloat32(4 * i, true);
      return { values: o, dtype: 'float32', fileDtype: 'float32' };
    }
    case 'F64': {
      const o = new Float64Array(n);
      for (let i = 0; i < n; i++) o[i] = v.getFloat64(8 * i, true);
      return { values: o, dtype: 'float64', fileDtype: 'float64' };
    }
    case 'F16': {
      const o = new Float32Array(n);
      for (let i = 0; i < n; i++) o[i] = fromF16Bits(v.getUint16(2 * i, true));
      return { values: o, dtype: 'float32', fileDtype: 'float16' };
    }
    case 'BF16': {
      const o = new Float32Array(n);
      for (let i = 0; i < n; i++) o[i] = fromBf16Bits(v.getUint16(2 * i, true));
      return { values: o, dtype: 'float32', fileDtype: 'bfloat16' };
    }
    case 'I32':
      return { values: ints((i) => v.getInt32(4 * i, true)), dtype: 'int32', fileDtype: 'int32' };
    case 'U32':
      return { values: ints((i) => v.getUint32(4 * i, true)), dtype: 'int32', fileDtype: null };
    case 'I16':
      return { values: ints((i) => v.getInt16(2 * i, true)), dtype: 'int32', fileDtype: null };
    case 'U16':
      return { values: ints((i) => v.getUint16(2 * i, true)), dtype: 'int32', fileDtype: null };
    case 'I8':
      return { values: ints((i) => v.getInt8(i)), dtype: 'int32', fileDtype: null };
    case 'U8':
      return { values: ints((i) => v.getUint8(i)), dtype: 'int32', fileDtype: null };
    // any non-zero byte is true (as torch reads it), so a stray 2 loads as 1, not 2
    case 'BOOL':
      return { values: ints((i) => (v.getUint8(i) !== 0 ? 1 : 0)), dtype: 'int32', fileDtype: null };
    case 'I64':
      return { values: ints((i) => v.getBigInt64(8 * i, true)), dtype: 'int32', fileDtype: null };
    case 'U64':
      return { values: ints((i) => v.getBigUint64(8 * i, true)), dtype: 'int32', fileDtype: null };
    default:
      throw new SafetensorsError(`tensor '${name}': dtype ${raw.dtype} is not supported by wattgrad (8-bit floats)`);
  }
}

/** A tensor on `device` from file bytes (F16/BF16 stay half on cuda, become float32 on the cpu). */
export function rawToTensor(raw: RawTensor, device = 'cpu', name = 'tensor'): Tensor {
  const { values, dtype, fileDtype } = decodeRaw(raw, name);
  const t = fromHost(values, [...raw.shape], dtype, device);
  if ((fileDtype === 'bfloat16' || fileDtype === 'float16') && !device.startsWith('cpu')) {
    const h = cast(t, fileDtype);
    t.dispose();
    return h;
  }
  return t;
}

// ---- serialize / deserialize ----------------------------------------------------------------------

export type TensorMap = Record<string, Tensor | RawTensor> | Map<string, Tensor | RawTensor>;

function entries(m: TensorMap): [string, Tensor | RawTensor][] {
  return m instanceof Map ? [...m.entries()] : Object.entries(m);
}

/** Checks a RawTensor built by a caller: a known dtype, a shape of non-negative integers, and
 * exactly shape × dtype bytes (a mismatch would write an unreadable file or decode garbage). */
function checkRaw(raw: RawTensor, where: string): void {
  if (raw === null || typeof raw !== 'object')
    throw new SafetensorsError(
      `${where}: expected a Tensor or a raw tensor {dtype, shape, data}, got ${raw === null ? 'null' : typeof raw}`,
    );
  const size = dtypeSize(raw.dtype, where);
  if (!Array.isArray(raw.shape) || !raw.shape.every(isNonNegInt))
    throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${show(raw.shape)}`);
  if (!(raw.data instanceof Uint8Array))
    throw new SafetensorsError(`${where}: data must be a Uint8Array of little-endian bytes, got ${show(raw.data)}`);
  const want = numel(raw.shape) * size;
  if (raw.data.length !== want)
    throw new SafetensorsError(`${where}: has ${raw.data.length} bytes, shape [${raw.shape.join(', ')}] of ${raw.dtype} needs ${want}`);
}

/** What a value is, for messages about state-dict entries. */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return v.constructor && v.constructor !== Object ? `a ${v.constructor.name}` : 'an object';
  return `a ${typeof v}`;
}

/** The safetensors bytes of named tensors (Tensors are read back from their device) and string metadata. */
export function serialize(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  if (tensors === null || typeof tensors !== 'object' || isTensor(tensors)) {
    throw new TypeError(
      `safetensors: expected a state dict { name: Tensor } (or a Map), got ${isTensor(tensors) ? 'a single Tensor' : kindOf(tensors)}`,
    );
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    throw new TypeError(`safetensors: metadata must be an object of strings, got ${kindOf(metadata)}`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`safetensors metadata values must be strings: '${k}' is ${typeof v}`);
  }
  const raws = entries(tensors).map(([name, t]): [string, RawTensor] => {
    if (name === '__metadata__') throw new RangeError("safetensors: '__metadata__' cannot be a tensor name");
    if (isTensor(t)) {
      if (t.isDisposed) throw new Error(`safetensors: tensor '${name}' was disposed before saving`);
      return [name, tensorToRaw(t)];
    }
    if (t === null || typeof t !== 'object' || !('data' in t))
      throw new TypeError(`safetensors: '${name}' is ${kindOf(t)}, expected a Tensor (or a raw tensor {dtype, shape, data})`);
    checkRaw(t, `safetensors: tensor '${name}'`);
    return [name, t];
  });
  // the reference order: larger alignment first, then by name
  raws.sort(([na, a], [nb, b]) => SAFETENSORS_DTYPES[b.dtype] - SAFETENSORS_DTYPES[a.dtype] || (na < nb ? -1 : na > nb ? 1 : 0));
  // no prototype: a tensor named '__proto__' is a key like any other (on `{}` it would set the
  // prototype and JSON.stringify would drop it)
  const header = nullProto();
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, r] of raws) {
    header[name] = { dtype: r.dtype, shape: r.shape, data_offsets: [offset, offset + r.data.length] };
    offset += r.data.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded > json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, r] of raws) {
    out.set(r.data, at);
    at += r.data.length;
  }
  return out;
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Parses and checks safetensors bytes; `source` names the file in errors. The tensor data is not copied. */
export function deserialize(bytes: Uint8Array | ArrayBuffer, source = 'safetensors data'): SafetensorsContents {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array))
    throw new TypeError(`${source}: deserialize expects the file's bytes (a Uint8Array, Buffer or ArrayBuffer), got ${kindOf(bytes)}`);
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, a safetensors file starts with an 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8))
    fail(`header length ${n64} runs past the end of the file (${bytes.length} bytes): the file is truncated or not safetensors`);
  const n = Number(n64);
  if (n > MAX_HEADER) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  if (n < 2) fail(`header length ${n} is too short for a JSON object`);
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = parseStrictJson(text, { maxDepth: MAX_HEADER_DEPTH });
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    const m = e.message;
    if (m.startsWith('duplicate key')) fail(`the header has a ${m} (the format allows each name once)`);
    if (m.startsWith('nesting deeper')) fail(`the header JSON is nested too deeply: ${m} (a valid header nests 3 levels)`);
    fail(`the header is not valid JSON (${m})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header must be a JSON object');
  const buffer = bytes.subarray(8 + n);
  const metadata: Record<string, string> = nullProto();
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, RawTensor>();
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string')
          fail(`__metadata__ value '${k}' must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (t === null || typeof t !== 'object') fail(`tensor '${name}': entry must be an object with dtype, shape and data_offsets`);
    if (Array.isArray(t)) fail(`tensor '${name}': entry must be an object with dtype, shape and data_offsets, got an array`);
    const dtype = t!.dtype;
    if (!isSafetensorsDType(dtype)) {
      fail(`tensor '${name}': unknown dtype ${show(dtype)} (expected one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
    }
    const shape = t!.shape;
    if (!Array.isArray(shape) || !shape.every(isNonNegInt))
      fail(`tensor '${name}': shape must be an array of non-negative integers, got ${show(shape)}`);
    const off = t!.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isNonNegInt))
      fail(`tensor '${name}': data_offsets must be [begin, end] non-negative integers, got ${show(off)}`);
    const [begin, end] = off as [number, number];
    if (end < begin) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > buffer.length)
      fail(
        `tensor '${name}': data_offsets [${begin}, ${end}] are out of range: the byte buffer has ${buffer.length} bytes (file truncated?)`,
      );
    const d = dtype as SafetensorsDType;
    const want = numel(shape as number[]) * SAFETENSORS_DTYPES[d];
    if (end - begin !== want)
      fail(
        `tensor '${name}': shape [${(shape as number[]).join(', ')}] of ${d} needs ${want} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    spans.push({ name, begin, end });
    tensors.set(name, { dtype: d, shape: [...(shape as number[])], data: buffer.subarray(begin, end) });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of spans) {
    if (s.begin < at) {
      const prev = spans.find((p) => p !== s && p.begin < s.end && s.begin < p.end && p.end > p.begin);
      fail(
        `tensor '${s.name}': data_offsets [${s.begin}, ${s.end}] overlap${prev ? ` tensor '${prev.name}' [${prev.begin}, ${prev.end}]` : ' another tensor'}`,
      );
    }
    if (s.begin > at)
      fail(`tensor '${s.name}': data_offsets [${s.begin}, ${s.end}] leave a hole of ${s.begin - at} bytes at buffer offset ${at}`);
    at = s.end;
  }
  if (at !== buffer.length) fail(`${buffer.length - at} bytes after the last tensor are not covered by any data_offsets`);
  return { tensors, metadata };
}

// ---- files ------------------------------------------------------------------------------------

export interface SaveOptions {
  /** string → string pairs stored in __metadata__ */
  metadata?: Record<string, string>;
}

/** Writes named tensors to a .safetensors file, atomically (temp file, fsync, rename). */
export function save(path: string, stateDict: TensorMap, options: SaveOptions = {}): void {
  if (typeof path !== 'string' && typeof stateDict === 'string') {
    throw new TypeError(
      `save: the arguments are (path, stateDict): got the state dict first (torch.save's order); call save('${stateDict}', stateDict)`,
    );
  }
  if (typeof path !== 'string' || path === '') throw new TypeError(`save: path must be a non-empty string, got ${kindOf(path)}`);
  checkOptions('save', options, ['metadata']);
  writeFileAtomic(path, serialize(stateDict, options.metadata ?? {}));
}

function readBytes(path: string): Uint8Array {
  if (typeof path !== 'string' || path === '') throw new TypeError(`load: path must be a non-empty string, got ${kindOf(path)}`);
  try {
    const b = fs.readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SafetensorsError(err.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${err.message})`);
  }
}

/** The checked contents of a .safetensors file (raw bytes; no tensors made). */
export function readSafetensors(path: string): SafetensorsContents {
  return deserialize(readBytes(path), path);
}

export interface LoadOptions {
  /** where to put the tensors (default 'cpu') */
  device?: string;
}

/**
 * A .safetensors file's tensors as a state dict { name: Tensor } (the caller owns them). The
 * object has no prototype, so every name in the file is an ordinary key.
 */
export function load(path: string, options: LoadOptions = {}): Record<string, Tensor> {
  return loadWithMetadata(path, options).tensors;
}

/** Tensors and __metadata__ of a .safetensors file. */
export function loadWithMetadata(
  path: string,
  options: LoadOptions = {},
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  checkOptions('load', options, ['device']);
  const c = readSafetensors(path);
  const out: Record<string, Tensor> = nullProto();
  try {
    for (const [name, raw] of c.tensors) out[name] = rawToTensor(raw, options.device ?? 'cpu', name);
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`);
    throw e;
  }
  return { tensors: out, metadata: c.metadata };
}
