// Text to ids: a tokenizer, a Vocabulary (token ↔ id, with padding and unknown ids), and
// padSequences (Keras' pad_sequences) to make a rectangular int32 batch for nn.Embedding.
//
//   const vocab = Vocabulary.fromTexts(trainTexts, { minFreq: 2, maxSize: 10_000 });
//   const { ids, lengths } = vocab.encodeBatch(texts, { maxLen: 40 });   // post-padded (N, 40)
//   const [out, [h]] = lstm.forward(embedding.forward(ids), null, { lengths });
//
// Ids: 0 is the padding token ('<pad>') and 1 the unknown token ('<unk>') (Keras reserves 0 for
// padding and puts its oov_token at 1); the words follow by decreasing frequency, ties in
// alphabetical order (torchtext's order), so the same texts give the same ids in any order.

import fs from 'node:fs';
import type { Tensor } from '../tensor.js';
import { tensor } from '../ops/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkOptions, finite, oneOf, positiveInt, bool, func, string, type OptionKeys } from '../options.js';

/** Splits a text into tokens. */
export type Tokenizer = (text: string) => string[];

export interface TokenizeOptions {
  /** lowercase first (default true) */
  lower?: boolean;
}
const TOKENIZE_KEYS: OptionKeys<TokenizeOptions> = { lower: true };

// a word: letters, digits and underscores (any script), with inner apostrophes kept ("don't", "o'clock")
const WORD = /[\p{L}\p{N}_]+(?:['’][\p{L}\p{N}_]+)*/gu;

/**
 * The default tokenizer: lowercases (unless `lower: false`) and returns the words, splitting on
 * whitespace and punctuation ("Not bad, really!" → ['not', 'bad', 'really']). Apostrophes inside
 * a word stay ("isn't" is one token; ’ is folded to ').
 */
export function tokenize(text: string, options?: TokenizeOptions): string[] {
  if (typeof text !== 'string') throw new TypeError(`tokenize: text must be a string, got ${text === null ? 'null' : typeof text}`);
  const o = checkOptions('tokenize', options, TOKENIZE_KEYS);
  const lower = bool('tokenize', 'lower', o.lower, true);
  const s = lower ? text.toLowerCase() : text;
  return (s.match(WORD) ?? []).map((w) => w.replace(/’/g, "'"));
}

export interface VocabularyOptions {
  /** the padding token, id 0 (default '<pad>') */
  padToken?: string;
  /** the token for words not in the vocabulary, id 1 (default '<unk>') */
  unkToken?: string;
  /** lowercase texts before the default tokenizer (default true); saved with the vocabulary */
  lower?: boolean;
  /** a tokenizer of your own (not saved: pass it again to Vocabulary.load) */
  tokenizer?: Tokenizer;
}
const VOCAB_KEYS: OptionKeys<VocabularyOptions> = { padToken: true, unkToken: true, lower: true, tokenizer: true };

export interface FromTextsOptions extends VocabularyOptions {
  /** keep tokens seen at least this often (default 1) */
  minFreq?: number;
  /** at most this many ids in all, padding and unknown included (default: no limit) */
  maxSize?: number;
}
const FROM_TEXTS_KEYS: OptionKeys<FromTextsOptions> = { ...VOCAB_KEYS, minFreq: true, maxSize: true };

export type PadSide = 'pre' | 'post';

export interface PadOptions {
  /** columns of the result (default: the longest sequence) */
  maxLen?: number;
  /** where padding goes: 'pre' (before, Keras' default) or 'post' (after; what RNN lengths need) */
  padding?: PadSide;
  /** which end a too-long sequence loses: 'pre' (its start, Keras' default) or 'post' (its end) */
  truncating?: PadSide;
  /** the padding value (default 0, the Vocabulary's padding id) */
  value?: number;
  /** 'int32' (default, ids for nn.Embedding) or 'float32' */
  dtype?: 'int32' | 'float32';
  /** device of the result */
  device?: string;
}
const PAD_KEYS: OptionKeys<PadOptions> = { maxLen: true, padding: true, truncating: true, value: true, dtype: true, device: true };

export interface EncodeBatchOptions {
  /** columns of the batch (default: the longest encoded text); longer texts are cut */
  maxLen?: number;
  /** default 'post': the ids come first, so `lengths` can go to an RNN's forward */
  padding?: PadSide;
  /** default 'post': a long text keeps its beginning */
  truncating?: PadSide;
  device?: string;
}
const ENCODE_BATCH_KEYS: OptionKeys<EncodeBatchOptions> = { maxLen: true, padding: true, truncating: true, device: true };

/** The JSON a Vocabulary saves as. */
export interface VocabularyJSON {
  format: 'wattgrad.vocabulary';
  version: 1;
  /** every token in id order: tokens[0] is the padding token, tokens[1] the unknown token */
  tokens: string[];
  lower: boolean;
}

const FORMAT = 'wattgrad.vocabulary';

/**
 * Keras' pad_sequences: a (N, maxLen) tensor of the sequences, padded with `value` and cut to
 * maxLen. padding 'pre' puts the padding before the ids, 'post' after; truncating 'pre' drops
 * the start of a long sequence, 'post' its end. Both default to 'pre' as in Keras; for an RNN
 * with `lengths` use padding 'post' (the valid steps must come first). An empty sequence is all
 * padding.
 */
export function padSequences(sequences: readonly ArrayLike<number>[], options?: PadOptions): Tensor {
  const W = 'padSequences';
  if (!Array.isArray(sequences)) throw new TypeError(`${W}: sequences must be an array of id arrays, got ${sequences === null ? 'null' : typeof sequences}`);
  const o = checkOptions(W, options, PAD_KEYS);
  const padding = oneOf(W, 'padding', o.padding, ['pre', 'post'] as const, 'pre');
  const truncating = oneOf(W, 'truncating', o.truncating, ['pre', 'post'] as const, 'pre');
  const dtype = oneOf(W, 'dtype', o.dtype, ['int32', 'float32'] as const, 'int32');
  const value = finite(W, 'value', o.value, 0);
  if (dtype === 'int32' && (!Number.isInteger(value) || Math.abs(value) > 2 ** 31 - 1)) throw new RangeError(`${W}: invalid value ${value} (must be an int32 for dtype 'int32')`);
  sequences.forEach((s, i) => {
    if (!s || typeof s.length !== 'number' || typeof s === 'string') throw new TypeError(`${W}: sequence ${i} is not an array of numbers`);
  });
  let longest = 0;
  for (const s of sequences) longest = Math.max(longest, s.length);
  const T = o.maxLen === undefined ? longest : positiveInt(W, 'maxLen', o.maxLen);
  const N = sequences.length;
  const out = dtype === 'int32' ? new Int32Array(N * T) : new Float32Array(N * T);
  out.fill(value);
  sequences.forEach((s, i) => {
    const n = Math.min(s.length, T);
    const from = truncating === 'pre' ? s.length - n : 0; // first element kept
    const at = padding === 'pre' ? T - n : 0; // first column written
    for (let k = 0; k < n; k++) {
      const v = s[from + k]!;
      if (typeof v !== 'number' || !Number.isFinite(v) || (dtype === 'int32' && !Number.isInteger(v))) {
        throw new RangeError(`${W}: sequence ${i} element ${from + k} is ${String(v)}, not ${dtype === 'int32' ? 'an integer id' : 'a finite number'}`);
      }
      out[i * T + at + k] = v;
    }
  });
  return tensor(out, { shape: [N, T], dtype, device: o.device });
}

/** Token ↔ id. Build one with Vocabulary.fromTexts (or from a token list), encode, decode, save. */
export class Vocabulary {
  /** every token in id order */
  readonly tokens: readonly string[];
  readonly lower: boolean;
  readonly padId = 0;
  readonly unkId = 1;
  private readonly index: Map<string, number>;
  private readonly tokenizer: Tokenizer;

  /**
   * A vocabulary of `tokens` in id order, with the padding token at id 0 and the unknown token at
   * id 1 (added when the list does not start with them).
   */
  constructor(tokens: readonly string[], options?: VocabularyOptions) {
    const W = 'Vocabulary';
    const o = checkOptions(W, options, VOCAB_KEYS);
    const pad = string(W, 'padToken', o.padToken, '<pad>');
    const unk = string(W, 'unkToken', o.unkToken, '<unk>');
    if (pad === unk) throw new RangeError(`${W}: padToken and unkToken must differ, both are '${pad}'`);
    this.lower = bool(W, 'lower', o.lower, true);
    const custom = o.tokenizer === undefined ? undefined : func<Tokenizer>(W, 'tokenizer', o.tokenizer);
    const lower = this.lower;
    this.tokenizer = custom ?? ((t: string) => tokenize(t, { lower }));
    if (!Array.isArray(tokens)) throw new TypeError(`${W}: tokens must be an array of strings`);
    const list = tokens[0] === pad && tokens[1] === unk ? [...tokens] : [pad, unk, ...tokens];
    const index = new Map<string, number>();
    list.forEach((t, i) => {
      if (typeof t !== 'string' || t === '') throw new TypeError(`${W}: token ${i} must be a non-empty string, got ${JSON.stringify(t)}`);
      if (index.has(t)) throw new RangeError(`${W}: token '${t}' appears twice (ids ${index.get(t)} and ${i})`);
      index.set(t, i);
    });
    this.tokens = Object.freeze(list);
    this.index = index;
  }

  /**
   * Counts the tokens of `texts` and keeps those seen at least minFreq times, most frequent first
   * (ties alphabetical), at most maxSize ids in all (padding and unknown included).
   */
  static fromTexts(texts: Iterable<string>, options?: FromTextsOptions): Vocabulary {
    const W = 'Vocabulary.fromTexts';
    const o = checkOptions(W, options, FROM_TEXTS_KEYS);
    const minFreq = positiveInt(W, 'minFreq', o.minFreq, 1);
    const maxSize = o.maxSize === undefined ? undefined : positiveInt(W, 'maxSize', o.maxSize);
    if (maxSize !== undefined && maxSize < 2) throw new RangeError(`${W}: invalid maxSize ${maxSize} (must be >= 2: the padding and unknown ids count)`);
    const vo: VocabularyOptions = { padToken: o.padToken, unkToken: o.unkToken, lower: o.lower, tokenizer: o.tokenizer };
    const probe = new Vocabulary([], vo); // validates the options, gives the tokenizer
    if (texts === null || typeof (texts as Iterable<string>)[Symbol.iterator] !== 'function' || typeof texts === 'string') {
      throw new TypeError(`${W}: texts must be an array (or iterable) of strings`);
    }
    const counts = new Map<string, number>();
    let i = 0;
    for (const t of texts) {
      if (typeof t !== 'string') throw new TypeError(`${W}: text ${i} is ${t === null ? 'null' : typeof t}, not a string`);
      for (const w of probe.tokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
      i++;
    }
    const specials = new Set(probe.tokens);
    let words = [...counts].filter(([w, c]) => c >= minFreq && !specials.has(w));
    words.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (maxSize !== undefined) words = words.slice(0, maxSize - 2);
    return new Vocabulary([...probe.tokens, ...words.map(([w]) => w)], vo);
  }

  /** Ids in all, padding and unknown included (what nn.Embedding's numEmbeddings needs). */
  get size(): number {
    return this.tokens.length;
  }
  get padToken(): string {
    return this.tokens[0]!;
  }
  get unkToken(): string {
    return this.tokens[1]!;
  }

  /** The tokens of a text, as this vocabulary splits it. */
  tokenize(text: string): string[] {
    const r = this.tokenizer(text);
    if (!Array.isArray(r)) throw new TypeError('Vocabulary: the tokenizer must return an array of strings');
    return r;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }
  /** The id of a token (unkId when it is not in the vocabulary). */
  idOf(token: string): number {
    return this.index.get(token) ?? this.unkId;
  }
  /** The token of an id. */
  tokenOf(id: number): string {
    const t = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (t === undefined) throw new RangeError(`Vocabulary.tokenOf: id ${id} is out of range for a vocabulary of ${this.size} ids`);
    return t;
  }

  /** A text (tokenized) or a list of tokens → ids; unknown tokens become unkId. */
  encode(text: string | readonly string[]): number[] {
    const toks = typeof text === 'string' ? this.tokenize(text) : text;
    if (!Array.isArray(toks)) throw new TypeError(`Vocabulary.encode: expected a string or an array of tokens, got ${text === null ? 'null' : typeof text}`);
    return toks.map((t) => this.idOf(t));
  }

  /**
   * Ids → text, tokens joined by spaces. Padding ids are left out unless `keepPadding`; unknown
   * ids read as the unknown token.
   */
  decode(ids: ArrayLike<number> | Tensor, options?: { keepPadding?: boolean }): string {
    const o = checkOptions('Vocabulary.decode', options, ['keepPadding']);
    const keep = bool('Vocabulary.decode', 'keepPadding', o.keepPadding, false);
    const arr: ArrayLike<number> = 'dataSync' in ids ? ids.dataSync() : ids;
    const out: string[] = [];
    for (let i = 0; i < arr.length; i++) {
      const id = arr[i]!;
      if (id === this.padId && !keep) continue;
      out.push(this.tokenOf(id));
    }
    return out.join(' ');
  }

  /**
   * Texts → a padded int32 batch `ids` (N, maxLen) and each text's `lengths` (its ids after
   * cutting, at least 1 so an RNN can take it: an empty text counts one padding step). Padding and
   * truncating default to 'post' (see padSequences), which is what an RNN's lengths mean.
   */
  encodeBatch(texts: readonly string[], options?: EncodeBatchOptions): { ids: Tensor; lengths: Int32Array } {
    const W = 'Vocabulary.encodeBatch';
    const o = checkOptions(W, options, ENCODE_BATCH_KEYS);
    if (!Array.isArray(texts)) throw new TypeError(`${W}: texts must be an array of strings`);
    const seqs = texts.map((t) => this.encode(t));
    let longest = 1;
    for (const s of seqs) longest = Math.max(longest, s.length);
    const T = o.maxLen === undefined ? longest : positiveInt(W, 'maxLen', o.maxLen);
    const padding = oneOf(W, 'padding', o.padding, ['pre', 'post'] as const, 'post');
    const truncating = oneOf(W, 'truncating', o.truncating, ['pre', 'post'] as const, 'post');
    const ids = padSequences(seqs, { maxLen: T, padding, truncating, value: this.padId, device: o.device });
    const lengths = Int32Array.from(seqs, (s) => Math.max(1, Math.min(s.length, T)));
    return { ids, lengths };
  }

  toJSON(): VocabularyJSON {
    return { format: FORMAT, version: 1, tokens: [...this.tokens], lower: this.lower };
  }

  /** A vocabulary from its JSON (checked: format, version, tokens unique non-empty strings). */
  static fromJSON(json: unknown, options?: { tokenizer?: Tokenizer }, where = 'Vocabulary.fromJSON'): Vocabulary {
    const o = checkOptions(where, options, ['tokenizer']);
    const j = json as Partial<VocabularyJSON> | null;
    if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new TypeError(`${where}: expected a vocabulary object {format: '${FORMAT}', version, tokens, lower}`);
    if (j.format !== FORMAT) throw new TypeError(`${where}: not a vocabulary (format is ${JSON.stringify(j.format)}, expected '${FORMAT}')`);
    if (j.version !== 1) throw new RangeError(`${where}: unsupported vocabulary version ${JSON.stringify(j.version)} (this wattgrad reads version 1)`);
    if (!Array.isArray(j.tokens) || j.tokens.length < 2) throw new TypeError(`${where}: tokens must be an array starting with the padding and unknown tokens`);
    if (typeof j.lower !== 'boolean') throw new TypeError(`${where}: lower must be true or false, got ${JSON.stringify(j.lower)}`);
    const [pad, unk] = j.tokens as unknown[];
    if (typeof pad !== 'string' || typeof unk !== 'string') throw new TypeError(`${where}: tokens[0] and tokens[1] (padding, unknown) must be strings`);
    try {
      return new Vocabulary(j.tokens, { padToken: pad, unkToken: unk, lower: j.lower, tokenizer: o.tokenizer });
    } catch (e) {
      throw new (e instanceof RangeError ? RangeError : TypeError)(`${where}: ${(e as Error).message}`);
    }
  }

  /** Writes the vocabulary as JSON (atomically: a crash leaves the old file or the new one). */
  save(path: string): void {
    if (typeof path !== 'string' || !path) throw new TypeError('Vocabulary.save: path must be a non-empty string');
    writeFileAtomic(path, JSON.stringify(this.toJSON()) + '\n');
  }

  /** Reads a vocabulary saved by save(); a custom tokenizer is not saved, pass it again. */
  static load(path: string, options?: { tokenizer?: Tokenizer }): Vocabulary {
    const where = `Vocabulary.load(${path})`;
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`${where}: cannot read the file: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TypeError(`${where}: not valid JSON (${(e as Error).message}); was it written by Vocabulary.save?`);
    }
    return Vocabulary.fromJSON(json, options, where);
  }
}
