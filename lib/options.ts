// One validation for every options object and hyper-parameter in the library (and the CLI's flags).
//
// API (all validators throw; `where` is the public function or class, e.g. 'SGD', 'fit', 'DataLoader'):
//
//   OptionKeys<T>                           a { key: true } object type the compiler keeps in sync with T
//   checkOptions(where, opts, allowed)      → opts ?? {}. Throws a TypeError unless opts is undefined/null
//                                            or a plain object whose own keys are all in `allowed`:
//                                            "SGD: unknown option 'learningRate' — did you mean 'lr'?"
//                                            (`allowed` is an array of keys or an object whose keys count)
//   nearest(key, candidates)                → the closest candidate (Damerau-Levenshtein, case-insensitive,
//                                            snake_case/kebab-case folded) or undefined when none is close
//   didYouMean(key, candidates, prefix?)    → " — did you mean 'lr'?" or " (valid: a, b, c)"
//
//   Typed validators: each returns the value, or `dflt` when v is undefined and a default was given
//   (without a default, undefined is an error). `name` is the option's name as the user typed it.
//   positiveInt(where, name, v, dflt?)      integer >= 1 (batch sizes, counts, lengths, features)
//   nonNegativeInt(where, name, v, dflt?)   integer >= 0
//   finite(where, name, v, dflt?)           any finite number
//   nonNegative(where, name, v, dflt?)      finite >= 0       (lr, weight decay, eps, momentum)
//   positive(where, name, v, dflt?)         finite > 0
//   inRange(where, name, v, range, dflt?)   finite in a range: { min?, max?, minOpen?, maxOpen? }
//                                            e.g. { min: 0, max: 1, maxOpen: true } is [0, 1)
//   bool(where, name, v, dflt?)             boolean
//   oneOf(where, name, v, choices, dflt?)   one of a list of strings (with a did-you-mean)
//   string(where, name, v, dflt?)           a non-empty string
//   func(where, name, v, dflt?)             a function
//
//   CLI flags (lib/cli.ts and its subcommands):
//   parseFlags(command, args, flags, { positionals? })  node:util parseArgs after checking every flag:
//                                            an unknown one is "train: unknown option '--epoch' — did you
//                                            mean '--epochs'?"; a negative number is taken as a value
//                                            (--lr -1 → '-1', then rejected by the range check)
//   numberFlag(command, name, raw, range)   a flag's string as a number in range (or undefined when
//                                            absent): "train: invalid --lr -1 (must be a finite number > 0)"
//   FlagError                               what both throw; its code starts with ERR_PARSE_ARGS like
//                                            node's own parse errors, so the CLI prints usage and exits 2
//
//   Errors: TypeError for an unknown key or a value of the wrong type, RangeError for a value out of
//   range. Messages read "<where>: invalid <name> <value> (must be …)"; callers that need PyTorch's
//   wording ("Invalid learning rate") pass it as the name: nonNegative('SGD', 'learning rate', lr).

import { parseArgs } from 'node:util';

/**
 * The allowed keys of an options interface, as an object the compiler checks both ways: a key the
 * interface lacks is an excess property, a key it has but the list lacks is a missing property.
 *   const FIT_KEYS: OptionKeys<FitOptions> = { train: true, epochs: true, … };
 *   checkOptions('fit', o, FIT_KEYS);
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** Keys as an array, or an object (e.g. a defaults object) whose own keys are the allowed ones. */
export type AllowedKeys = readonly string[] | Readonly<Record<string, unknown>>;

function keysOf(allowed: AllowedKeys): readonly string[] {
  return Array.isArray(allowed) ? (allowed as readonly string[]) : Object.keys(allowed);
}

/** Optimal-string-alignment Damerau-Levenshtein distance (adjacent transpositions cost 1). */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  // three rolling rows: i-2, i-1, i
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/** Folds case and separators so 'learning_rate', 'learning-rate' and 'learningRate' compare equal. */
function fold(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

/** Well-known spellings from other libraries → ours (checked before the edit distance). */
const ALIASES: Record<string, readonly string[]> = {
  learningrate: ['lr'],
  lrate: ['lr'],
  weightdecay: ['weightDecay'],
  decay: ['weightDecay', 'gamma'],
  wd: ['weightDecay'],
  epsilon: ['eps'],
  beta: ['betas'],
  nesterovmomentum: ['nesterov'],
  batch: ['batchSize'],
  bs: ['batchSize'],
  nepochs: ['epochs'],
  numepochs: ['epochs'],
  epoch: ['epochs'],
  stepsize: ['stepSize'],
  tmax: ['tMax'],
  etamin: ['etaMin'],
  rate: ['p'],
  droprate: ['p'],
  dropout: ['p', 'dropout'],
  patient: ['patience'],
  mindelta: ['minDelta'],
  keepprob: ['p'],
  reduce: ['reduction'],
  sizeaverage: ['reduction'],
  lossfn: ['loss'],
  optim: ['optimizer'],
  valdata: ['validationData', 'validation'],
};

/**
 * The candidate closest to key, or undefined when none is close: an exact match after folding
 * case and separators, a known alias (learning_rate → lr), an abbreviation (≥ 3 letters) of a candidate,
 * or an edit distance ≤ max(1, ⌊len/3⌋).
 */
export function nearest(key: string, candidates: readonly string[]): string | undefined {
  const k = fold(key);
  if (!k || !candidates.length) return undefined;
  for (const c of candidates) if (fold(c) === k) return c;
  // own keys only: a key named 'constructor' would find Object.prototype's (not iterable)
  for (const a of Object.prototype.hasOwnProperty.call(ALIASES, k) ? ALIASES[k]! : []) if (candidates.includes(a)) return a;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const f = fold(c);
    const d = editDistance(k, f);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.max(1, Math.floor(Math.max(k.length, fold(best).length) / 3))) return best;
  for (const c of candidates) {
    const f = fold(c);
    // an abbreviation of a candidate ('batch' → 'batchSize')
    if (k.length >= 3 && f.startsWith(k)) return c;
    // or a candidate plus a tail ('lowercase' → 'lower'), unless the tail is a word of
    // its own: 'padding_mode' / 'paddingMode' is another option than 'padding'
    if (f.length >= 3 && k.startsWith(f) && !/^[-_A-Z]/.test(key.slice(c.length))) return c;
  }
  return undefined;
}

/** " — did you mean 'lr'?" when a candidate is close, else " (valid: a, b, c)". prefix is e.g. '--'. */
export function didYouMean(key: string, candidates: readonly string[], prefix = '', quote = "'"): string {
  const near = nearest(key, candidates);
  if (near !== undefined) return ` — did you mean ${quote}${prefix}${near}${quote}?`;
  if (!candidates.length) return ' (it takes no options)';
  return ` (valid: ${candidates.map((c) => prefix + c).join(', ')})`;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object')
    return Object.prototype.toString.call(v) === '[object Object]' ? 'an object' : Object.prototype.toString.call(v).slice(8, -1);
  return String(v);
}

/** True for {} / Object.create(null) / class-free literals (not arrays, tensors, dates, maps). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  // Object.prototype of this realm or another one (vm contexts): its own prototype is null
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/**
 * Returns opts (or {} for undefined/null) after checking it is a plain object whose own keys are all
 * in `allowed`. A key whose value is undefined still counts (a misspelt `{ learningRate: undefined }`
 * is as wrong as any other).
 */
export function checkOptions<T extends object>(where: string, opts: T | undefined | null, allowed: AllowedKeys): T {
  if (opts === undefined || opts === null) return {} as T;
  const keys = keysOf(allowed);
  if (!isPlainObject(opts)) {
    // new SGD(ps, 0.1), new DataLoader(ds, 32): say which key the number was probably meant for
    const guess = typeof opts === 'number' ? ['lr', 'batchSize', 'stepSize', 'gamma', 'p'].find((k) => keys.includes(k)) : undefined;
    throw new TypeError(
      `${where}: options must be an object, got ${describe(opts)}${guess ? ` (did you mean { ${guess}: ${String(opts)} }?)` : ''}`,
    );
  }
  for (const k of Object.keys(opts)) {
    if (!keys.includes(k)) throw new TypeError(`${where}: unknown option '${k}'${didYouMean(k, keys)}`);
  }
  return opts;
}

function missing(where: string, name: string, what: string): never {
  throw new TypeError(`${where}: ${name} is required (${what})`);
}

function num(where: string, name: string, v: unknown, what: string): number {
  if (typeof v !== 'number') throw new TypeError(`${where}: invalid ${name} ${describe(v)} (must be ${what})`);
  return v;
}

/** An integer >= 1: batch sizes, counts, lengths, feature sizes. */
export function positiveInt(where: string, name: string, v: unknown, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined) missing(where, name, 'a positive integer');
  const x = num(where, name, v, 'a positive integer');
  if (!Number.isInteger(x) || x < 1) throw new RangeError(`${where}: invalid ${name} ${x} (must be a positive integer)`);
  return x;
}

/** An integer >= 0. */
export function nonNegativeInt(where: string, name: string, v: unknown, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined) missing(where, name, 'a non-negative integer');
  const x = num(where, name, v, 'a non-negative integer');
  if (!Number.isInteger(x) || x < 0) throw new RangeError(`${where}: invalid ${name} ${x} (must be a non-negative integer)`);
  return x;
}

/** Any finite number. */
export function finite(where: string, name: string, v: unknown, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined) missing(where, name, 'a finite number');
  const x = num(where, name, v, 'a finite number');
  if (!Number.isFinite(x)) throw new RangeError(`${where}: invalid ${name} ${x} (must be a finite number)`);
  return x;
}

/** A range for inRange: bounds are inclusive unless minOpen/maxOpen. */
export interface Range {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  /** allow ±Infinity within the bounds (e.g. a norm type); NaN is never allowed */
  allowInfinity?: boolean;
  /** integers only */
  integer?: boolean;
}

function fmtRange(r: Range): string {
  const kind = r.integer ? 'an integer' : r.allowInfinity ? 'a number' : 'a finite number';
  const lo = r.min !== undefined ? `${r.minOpen ? '>' : '>='} ${r.min}` : '';
  const hi = r.max !== undefined ? `${r.maxOpen ? '<' : '<='} ${r.max}` : '';
  if (r.min !== undefined && r.max !== undefined) return `${kind} in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
  return [kind, lo || hi].filter(Boolean).join(' ');
}

/** A number within a range (finite unless allowInfinity). */
export function inRange(where: string, name: string, v: unknown, r: Range, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined) missing(where, name, fmtRange(r));
  const x = num(where, name, v, fmtRange(r));
  const ok =
    !Number.isNaN(x) &&
    (r.allowInfinity || Number.isFinite(x)) &&
    (!r.integer || Number.isInteger(x)) &&
    (r.min === undefined || (r.minOpen ? x > r.min : x >= r.min)) &&
    (r.max === undefined || (r.maxOpen ? x < r.max : x <= r.max));
  if (!ok) throw new RangeError(`${where}: invalid ${name} ${x} (must be ${fmtRange(r)})`);
  return x;
}

/** A finite number >= 0. */
export function nonNegative(where: string, name: string, v: unknown, dflt?: number): number {
  return inRange(where, name, v, { min: 0 }, dflt);
}

/** A finite number > 0. */
export function positive(where: string, name: string, v: unknown, dflt?: number): number {
  return inRange(where, name, v, { min: 0, minOpen: true }, dflt);
}

export function bool(where: string, name: string, v: unknown, dflt?: boolean): boolean {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${where}: invalid ${name} ${describe(v)} (must be true or false)`);
  return v;
}

export function oneOf<S extends string>(where: string, name: string, v: unknown, choices: readonly S[], dflt?: S): S {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    const hint = typeof v === 'string' ? didYouMean(v, choices) : ` (must be one of ${choices.map((c) => `'${c}'`).join(', ')})`;
    throw new (typeof v === 'string' ? RangeError : TypeError)(`${where}: invalid ${name} ${describe(v)}${hint}`);
  }
  return v as S;
}

export function string(where: string, name: string, v: unknown, dflt?: string): string {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !v) throw new TypeError(`${where}: invalid ${name} ${describe(v)} (must be a non-empty string)`);
  return v;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function func<F extends (...a: any[]) => unknown>(where: string, name: string, v: unknown, dflt?: F): F {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'function') throw new TypeError(`${where}: invalid ${name} ${describe(v)} (must be a function)`);
  return v as F;
}

// ---------------------------------------------------------------------------------------------
// CLI flags

/** A usage error from flag parsing (the CLI prints it with a pointer to --help and exits 2). */
export class FlagError extends Error {
  readonly code: string;
  constructor(message: string, code = 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    super(message);
    this.name = 'FlagError';
    this.code = code;
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** A decimal number as a flag value: 1, -1, 0.5, .5, 1e-3 (no hex, no empty string, no spaces). */
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses `args` with node's parseArgs (strict), after checking each flag against `flags`: unknown
 * flags get a did-you-mean, a string flag takes the next argument as its value even when that is a
 * negative number (`--lr -1`), and a flag missing its value says so.
 */
export function parseFlags(
  command: string,
  args: readonly string[],
  flags: Record<string, FlagSpec>,
  o: { positionals?: boolean } = {},
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const names = Object.keys(flags);
  const shorts = new Map(Object.entries(flags).flatMap(([k, f]) => (f.short ? [[f.short, k] as const] : [])));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = Object.hasOwn(flags, name) ? flags[name]! : undefined;
      if (!spec)
        throw new FlagError(`${command}: unknown option '--${name}'${didYouMean(name, names, '--')}`, 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
      if (spec.type === 'boolean') {
        if (eq >= 0) throw new FlagError(`${command}: --${name} takes no value (got '${a}')`);
        out.push(a);
      } else if (eq >= 0) {
        out.push(a);
      } else {
        const next = args[i + 1];
        if (next === undefined || (next.startsWith('-') && !NUMBER_RE.test(next)))
          throw new FlagError(`${command}: --${name} needs a value`);
        out.push(`--${name}=${next}`);
        i++;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !NUMBER_RE.test(a)) {
      for (const c of a.slice(1)) {
        if (!shorts.has(c))
          throw new FlagError(
            `${command}: unknown option '-${c}'${didYouMean(c, [...shorts.keys()], '-')}`,
            'ERR_PARSE_ARGS_UNKNOWN_OPTION',
          );
      }
      out.push(a);
      continue;
    }
    out.push(a);
  }
  try {
    const r = parseArgs({ args: out, options: flags, strict: true, allowPositionals: o.positionals ?? false });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new FlagError(`${command}: ${(e as Error).message}`, (e as { code?: string }).code ?? 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE');
  }
}

/**
 * A numeric flag's value, checked: undefined when the flag was absent, else a decimal number within
 * `range` (e.g. { min: 0, minOpen: true } for a learning rate, { min: 1, integer: true } for a count).
 */
export function numberFlag(command: string, name: string, raw: string | boolean | string[] | undefined, range: Range): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !NUMBER_RE.test(raw.trim()) || raw.trim() !== raw) {
    throw new FlagError(`${command}: invalid --${name} ${JSON.stringify(raw)} (must be ${fmtRange(range)})`);
  }
  try {
    return inRange(command, `--${name}`, Number(raw), range);
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
}
