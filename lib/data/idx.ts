// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/):
//
//   bytes 0-1  0x00 0x00
//   byte  2    element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3    number of dimensions d
//   then d big-endian u32 sizes, then the elements, big-endian, row-major.
//
// Files may be gzipped (detected by the gzip magic 1f 8b, whatever the name). Every check names
// the file: a wrong magic number, a truncated body, trailing bytes.

import fs from 'node:fs';
import zlib from 'node:zlib';
import { writeFileAtomic } from '../io/atomic.js';
import { bool, checkOptions } from '../options.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  dims: number[];
  data: IdxData;
}

const CODES: Record<number, [IdxType, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};
const CODE_OF: Record<IdxType, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

export class IdxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdxFormatError';
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface ParseIdxOptions {
  /** refuse gzip data that decompresses to more bytes than this (default: Node's buffer limit) */
  maxBytes?: number;
}

/** Parses IDX bytes (gunzipping them first when they are gzip). `name` is used in errors. */
export function parseIdx(input: Uint8Array, name = 'IDX data', options: ParseIdxOptions = {}): IdxArray {
  let bytes = input;
  if (isGzip(bytes)) {
    const max = options.maxBytes;
    if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) throw new RangeError(`parseIdx: maxBytes must be a positive integer, got ${max}`);
    try {
      bytes = zlib.gunzipSync(bytes, max !== undefined ? { maxOutputLength: max } : {});
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // a gzip bomb (or a real file past the limit) is not "corrupt"
      if (err.code === 'ERR_BUFFER_TOO_LARGE') throw new IdxFormatError(`${name}: the gzip data decompresses to more than ${max ?? "Node's buffer limit of"} bytes${max === undefined ? ` (${err.message})` : ''}`);
      throw new IdxFormatError(`${name}: corrupt gzip data (${err.message})`);
    }
  }
  if (bytes.length < 4) throw new IdxFormatError(`${name}: truncated: ${bytes.length} bytes, an IDX file starts with a 4-byte magic number`);
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const code = CODES[bytes[2]!];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !code) {
    throw new IdxFormatError(`${name}: not an IDX file: wrong magic number 0x${magic.toString(16).padStart(8, '0')} ` +
      `(expected 0x000008NN for unsigned bytes, e.g. 0x00000803 for images and 0x00000801 for labels)`);
  }
  const [type, size] = code;
  const ndim = bytes[3]!;
  if (ndim === 0) throw new IdxFormatError(`${name}: the header declares 0 dimensions`);
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) throw new IdxFormatError(`${name}: truncated header: ${bytes.length} bytes, ${ndim} dimensions need ${headerLen}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const n = dims.reduce((a, b) => a * b, 1);
  const want = headerLen + n * size;
  if (bytes.length < want) {
    throw new IdxFormatError(`${name}: truncated data: dimensions [${dims.join(', ')}] need ${n * size} bytes of ${type} after the header, found ${bytes.length - headerLen}`);
  }
  if (bytes.length > want) {
    throw new IdxFormatError(`${name}: ${bytes.length - want} unexpected trailing bytes after the data of dimensions [${dims.join(', ')}]`);
  }
  let data: IdxData;
  switch (type) {
    case 'uint8': data = bytes.slice(headerLen, want); break;
    case 'int8': data = new Int8Array(bytes.slice(headerLen, want).buffer); break;
    case 'int16': data = new Int16Array(n); for (let i = 0; i < n; i++) data[i] = view.getInt16(headerLen + 2 * i, false); break;
    case 'int32': data = new Int32Array(n); for (let i = 0; i < n; i++) data[i] = view.getInt32(headerLen + 4 * i, false); break;
    case 'float32': data = new Float32Array(n); for (let i = 0; i < n; i++) data[i] = view.getFloat32(headerLen + 4 * i, false); break;
    case 'float64': data = new Float64Array(n); for (let i = 0; i < n; i++) data[i] = view.getFloat64(headerLen + 8 * i, false); break;
  }
  return { type, dims, data };
}

/** Reads an IDX file, plain or gzipped. Errors name the file. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new IdxFormatError(`${path}: no such file`);
    throw new IdxFormatError(`${path}: cannot read (${err.message})`);
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** The range of each integer element type (a value outside would wrap silently in a DataView). */
const INT_RANGE: Partial<Record<IdxType, [number, number]>> = { uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647] };

/** IDX bytes for an array (big-endian elements). Dims, type and every value are checked first. */
export function encodeIdx(arr: IdxArray): Uint8Array {
  if (arr === null || typeof arr !== 'object') throw new TypeError('encodeIdx: expected { type, dims, data }');
  if (typeof arr.type !== 'string' || !Object.prototype.hasOwnProperty.call(CODE_OF, arr.type)) {
    throw new TypeError(`encodeIdx: unknown type ${JSON.stringify(arr.type)} (expected one of ${Object.keys(CODE_OF).join(', ')})`);
  }
  if (!Array.isArray(arr.dims) || arr.dims.length === 0 || arr.dims.length > 255) throw new RangeError(`encodeIdx: 1 to 255 dimensions, got ${Array.isArray(arr.dims) ? arr.dims.length : typeof arr.dims}`);
  arr.dims.forEach((d, i) => {
    // each size is a big-endian u32 in the header
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new RangeError(`encodeIdx: dims[${i}] = ${d} must be an integer in [0, 2^32)`);
  });
  if (arr.data === null || typeof arr.data !== 'object' || typeof arr.data.length !== 'number') throw new TypeError('encodeIdx: data must be a typed array or an array of numbers');
  const [, size] = CODES[CODE_OF[arr.type]]!;
  const n = arr.dims.reduce((a, b) => a * b, 1);
  if (n !== arr.data.length) throw new RangeError(`encodeIdx: dims [${arr.dims.join(', ')}] need ${n} elements, data has ${arr.data.length}`);
  const range = INT_RANGE[arr.type];
  for (let i = 0; i < n; i++) {
    const x = arr.data[i]!;
    if (typeof x !== 'number') throw new TypeError(`encodeIdx: data[${i}] is ${typeof x}, not a number`);
    if (range && !(Number.isInteger(x) && x >= range[0] && x <= range[1])) {
      throw new RangeError(`encodeIdx: data[${i}] = ${x} does not fit ${arr.type} (integers in [${range[0]}, ${range[1]}])`);
    }
  }
  const headerLen = 4 + 4 * arr.dims.length;
  const out = new Uint8Array(headerLen + n * size);
  const v = new DataView(out.buffer);
  out[2] = CODE_OF[arr.type];
  out[3] = arr.dims.length;
  arr.dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const d = arr.data;
  for (let i = 0; i < n; i++) {
    const o = headerLen + i * size;
    switch (arr.type) {
      case 'uint8': v.setUint8(o, d[i]!); break;
      case 'int8': v.setInt8(o, d[i]!); break;
      case 'int16': v.setInt16(o, d[i]!, false); break;
      case 'int32': v.setInt32(o, d[i]!, false); break;
      case 'float32': v.setFloat32(o, d[i]!, false); break;
      case 'float64': v.setFloat64(o, d[i]!, false); break;
    }
  }
  return out;
}

/** Writes an IDX file atomically (temp file, fsync, rename); `gzip: true` compresses it (name it *.gz). */
export function writeIdxFile(path: string, arr: IdxArray, options: { gzip?: boolean } = {}): void {
  options = checkOptions('writeIdxFile', options, ['gzip']);
  bool('writeIdxFile', 'gzip', options.gzip, false);
  const raw = encodeIdx(arr);
  writeFileAtomic(path, options.gzip ? zlib.gzipSync(raw) : raw);
}
