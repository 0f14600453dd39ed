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
