// A strict JSON parser for untrusted headers (safetensors, checkpoint metadata).
//
// JSON.parse keeps the last of two equal keys silently, returns plain objects (so a lookup of
// 'constructor' or 'toString' finds Object.prototype's, and copying a '__proto__' key into another
// plain object sets its prototype), and nests as deep as the text does (JSON.stringify of the
// result, e.g. in an error message, then overflows the stack). This parser accepts exactly
// RFC 8259 JSON and differs in three ways:
//   - a key that appears twice in one object is an error naming the key and its path;
//   - objects have a null prototype, so every name ('__proto__', 'constructor', 'toString') is a
//     plain own key and no lookup on the result walks Object.prototype;
//   - nesting deeper than `maxDepth` objects/arrays is an error (not a stack overflow).
// Strings are decoded by JSON.parse on their exact source slice, so escapes behave as usual.

export class StrictJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

export interface StrictJsonOptions {
  /** deepest allowed nesting of objects and arrays (default 64) */
  maxDepth?: number;
}

/** An object with no prototype: safe to index with any string. */
export type SafeRecord<T = unknown> = Record<string, T>;

export function nullProto<T = unknown>(): SafeRecord<T> {
  return Object.create(null) as SafeRecord<T>;
}

/** `o[k]` only when k is o's own property (never a value from Object.prototype). */
export function own<T>(o: Record<string, T> | null | undefined, k: string): T | undefined {
  return o != null && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses `text` as strict JSON (see the header). Errors carry the character offset. */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 64;
  let i = 0;
  const fail = (msg: string): never => {
    throw new StrictJsonError(`${msg} at character ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const str = (): string => {
    const start = i++; // at the opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) i += 2;
      else if (c < 0x20) fail('control character in a string');
      else i++;
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid escape in a string');
    }
  };
  const showKey = (k: string): string => JSON.stringify(k.length > 60 ? `${k.slice(0, 60)}…` : k);
  // path segments of the value being parsed, for duplicate-key messages
  const path: string[] = [];
  const value = (depth: number): unknown => {
    ws();
    if (i >= text.length) fail('unexpected end of JSON');
    const c = text[i]!;
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
      i++;
      ws();
      if (c === '[') {
        const arr: unknown[] = [];
        if (text[i] === ']') {
          i++;
          return arr;
        }
        for (;;) {
          path.push(`[${arr.length}]`);
          arr.push(value(depth + 1));
          path.pop();
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ']') {
            i++;
            return arr;
          }
          fail("expected ',' or ']' in an array");
        }
      }
      const obj = nullProto();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const at = i;
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k)) {
          i = at;
          const where = path.length ? ` in ${path.join('')}` : '';
          fail(`duplicate key ${showKey(k)}${where}`);
        }
        ws();
        if (text[i] !== ':') fail("expected ':' after a key");
        i++;
        path.push(path.length ? `.${k}` : k);
        const v = value(depth + 1);
        path.pop();
        // defineProperty, not assignment: '__proto__' stays an ordinary key
        Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}' in an object");
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail(`unexpected character ${JSON.stringify(c)}`);
    i += m![0].length;
    return Number(m![0]);
  };
  const v = value(0);
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return v;
}
