// Text: tokenize, Vocabulary (fromTexts with minFreq / maxSize, encode / decode, save / load with
// validation) and padSequences with Keras' pad_sequences semantics.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tokenize, Vocabulary, padSequences } from '../../lib/data/text.js';
import * as wg from '../../lib/index.js';
import { memory } from '../../lib/memory.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-text-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tokenize', () => {
  it('lowercases and splits on whitespace and punctuation, keeping inner apostrophes', () => {
    expect(tokenize('Not bad, REALLY!  The plot... was fine.')).toEqual(['not', 'bad', 'really', 'the', 'plot', 'was', 'fine']);
    expect(tokenize("It isn't great—it’s 10/10 (c'mon)")).toEqual(['it', "isn't", 'great', "it's", '10', '10', "c'mon"]);
    expect(tokenize('Déjà vu: Ünïcode ok', { lower: false })).toEqual(['Déjà', 'vu', 'Ünïcode', 'ok']);
    expect(tokenize(' ,.!? ')).toEqual([]);
    expect(() => tokenize(3 as never)).toThrow(/tokenize: text must be a string, got number/);
    expect(() => tokenize('a', { lowercase: true } as never)).toThrow(/tokenize: unknown option 'lowercase' — did you mean 'lower'\?/);
  });
});

describe('Vocabulary', () => {
  const texts = ['the movie was good', 'The movie was bad!', 'good good acting', 'bad plot, good cast'];
  // counts: good 4, bad 2, movie 2, the 2, was 2, acting 1, cast 1, plot 1

  it('fromTexts: padding 0, unknown 1, then by frequency with alphabetical ties', () => {
    const v = Vocabulary.fromTexts(texts);
    expect(v.tokens).toEqual(['<pad>', '<unk>', 'good', 'bad', 'movie', 'the', 'was', 'acting', 'cast', 'plot']);
    expect(v.size).toBe(10);
    expect([v.padId, v.unkId, v.padToken, v.unkToken]).toEqual([0, 1, '<pad>', '<unk>']);
    // order of texts does not change the ids
    expect(Vocabulary.fromTexts([...texts].reverse()).tokens).toEqual(v.tokens);
  });

  it('minFreq and maxSize (which counts padding and unknown)', () => {
    expect(Vocabulary.fromTexts(texts, { minFreq: 2 }).tokens).toEqual(['<pad>', '<unk>', 'good', 'bad', 'movie', 'the', 'was']);
    expect(Vocabulary.fromTexts(texts, { maxSize: 4 }).tokens).toEqual(['<pad>', '<unk>', 'good', 'bad']);
    expect(() => Vocabulary.fromTexts(texts, { maxSize: 1 })).toThrow(/invalid maxSize 1 \(must be >= 2/);
    expect(() => Vocabulary.fromTexts(texts, { minFreq: 0 })).toThrow(/Vocabulary.fromTexts: invalid minFreq 0 \(must be a positive integer\)/);
    expect(() => Vocabulary.fromTexts(texts, { min_freq: 2 } as never)).toThrow(/unknown option 'min_freq' — did you mean 'minFreq'\?/);
    expect(() => Vocabulary.fromTexts('the text' as never)).toThrow(/texts must be an array/);
    expect(() => Vocabulary.fromTexts(['ok', 3 as never])).toThrow(/text 1 is number, not a string/);
  });

  it('encode / decode, unknown words, custom special tokens and tokenizer', () => {
    const v = Vocabulary.fromTexts(texts, { minFreq: 2 });
    expect(v.encode('The movie was TERRIBLE, good?')).toEqual([5, 4, 6, 1, 2]);
    expect(v.encode(['bad', 'zzz'])).toEqual([3, 1]);
    expect(v.decode([5, 4, 6, 1, 2, 0, 0])).toBe('the movie was <unk> good');
    expect(v.decode([2, 0], { keepPadding: true })).toBe('good <pad>');
    expect(v.decode(wg.tensor([3, 2], { dtype: 'int32' }))).toBe('bad good');
    expect(() => v.decode([99])).toThrow(/id 99 is out of range for a vocabulary of 7 ids/);
    expect([v.idOf('movie'), v.idOf('nope'), v.has('the'), v.has('acting'), v.tokenOf(3)]).toEqual([4, 1, true, false, 'bad']);
    const c = Vocabulary.fromTexts(['a-b a-b c'], { padToken: '[PAD]', unkToken: '[UNK]', tokenizer: (t) => t.split(' ') });
    expect(c.tokens).toEqual(['[PAD]', '[UNK]', 'a-b', 'c']);
    expect(() => new Vocabulary(['x', 'x'])).toThrow(/token 'x' appears twice \(ids 2 and 3\)/);
    expect(() => new Vocabulary(['a'], { padToken: 'p', unkToken: 'p' })).toThrow(/must differ/);
  });

  it('encodeBatch: post-padded int32 ids and lengths for an RNN', () => {
    const before = memory().tensors;
    const v = Vocabulary.fromTexts(texts);
    const { ids, lengths } = v.encodeBatch(['good movie', 'the movie was bad', '', 'plot'], { maxLen: 3 });
    expect(ids.dtype).toBe('int32');
    expect(ids.toArray()).toEqual([[2, 4, 0], [5, 4, 6], [0, 0, 0], [9, 0, 0]]);
    expect([...lengths]).toEqual([2, 3, 1, 1]); // cut to maxLen; an empty text counts one step
    ids.dispose();
    const d = v.encodeBatch(['good movie', 'bad']);
    expect(d.ids.shape).toEqual([2, 2]);
    d.ids.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('save / load round trip, and load checks what it reads', () => {
    const v = Vocabulary.fromTexts(texts, { lower: false });
    const f = path.join(dir, 'vocab.json');
    v.save(f);
    const w = Vocabulary.load(f);
    expect(w.tokens).toEqual(v.tokens);
    expect(w.lower).toBe(false);
    expect(w.encode('The movie')).toEqual(v.encode('The movie'));
    expect(JSON.parse(fs.readFileSync(f, 'utf8')).format).toBe('wattgrad.vocabulary');
    const bad = (name: string, content: string): string => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, content);
      return p;
    };
    expect(() => Vocabulary.load(path.join(dir, 'missing.json'))).toThrow(/Vocabulary.load\(.*missing.json\): cannot read the file/);
    expect(() => Vocabulary.load(bad('a.json', '{not json'))).toThrow(/a.json\): not valid JSON/);
    expect(() => Vocabulary.load(bad('b.json', '{"format":"other"}'))).toThrow(/b.json\): not a vocabulary \(format is "other"/);
    expect(() => Vocabulary.load(bad('c.json', '{"format":"wattgrad.vocabulary","version":2,"tokens":["<pad>","<unk>"],"lower":true}'))).toThrow(/unsupported vocabulary version 2/);
    expect(() => Vocabulary.load(bad('d.json', '{"format":"wattgrad.vocabulary","version":1,"tokens":["<pad>","<unk>","a","a"],"lower":true}'))).toThrow(/d.json\): Vocabulary: token 'a' appears twice/);
    expect(() => Vocabulary.load(bad('e.json', '{"format":"wattgrad.vocabulary","version":1,"tokens":["<pad>","<unk>",""],"lower":true}'))).toThrow(/token 2 must be a non-empty string/);
    expect(() => Vocabulary.fromJSON({ format: 'wattgrad.vocabulary', version: 1, tokens: ['<pad>'], lower: true })).toThrow(/starting with the padding and unknown tokens/);
  });
});

describe('padSequences (Keras pad_sequences)', () => {
  const seqs = [[1, 2, 3], [4, 5], [6]];
  const rows = (o?: Parameters<typeof padSequences>[1], s: number[][] = seqs): unknown => {
    const t = padSequences(s, o);
    const r = t.toArray();
    t.dispose();
    return r;
  };
  it('pads to the longest, before by default', () => {
    expect(rows()).toEqual([[1, 2, 3], [0, 4, 5], [0, 0, 6]]);
    expect(rows({ padding: 'post' })).toEqual([[1, 2, 3], [4, 5, 0], [6, 0, 0]]);
  });
  it('truncates from the start by default, or the end', () => {
    expect(rows({ maxLen: 2 })).toEqual([[2, 3], [4, 5], [0, 6]]);
    expect(rows({ maxLen: 2, truncating: 'post' })).toEqual([[1, 2], [4, 5], [0, 6]]);
    expect(rows({ maxLen: 2, truncating: 'post', padding: 'post' })).toEqual([[1, 2], [4, 5], [6, 0]]);
    expect(rows({ maxLen: 4, value: -1 })).toEqual([[-1, 1, 2, 3], [-1, -1, 4, 5], [-1, -1, -1, 6]]);
  });
  it('dtype, empty sequences and errors', () => {
    const f = padSequences([[0.5], []], { dtype: 'float32', value: 0.25, padding: 'post' });
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([[0.5], [0.25]]);
    f.dispose();
    const i = padSequences([Int32Array.from([7, 8])]);
    expect(i.dtype).toBe('int32');
    expect(i.shape).toEqual([1, 2]);
    i.dispose();
    expect(() => padSequences(seqs, { maxlen: 2 } as never)).toThrow(/padSequences: unknown option 'maxlen' — did you mean 'maxLen'\?/);
    expect(() => padSequences(seqs, { padding: 'left' as never })).toThrow(/invalid padding "left"/);
    expect(() => padSequences(seqs, { maxLen: 0 })).toThrow(/invalid maxLen 0/);
    expect(() => padSequences([[1.5]])).toThrow(/sequence 0 element 0 is 1.5, not an integer id/);
    expect(() => padSequences(['abc' as never])).toThrow(/sequence 0 is not an array of numbers/);
    expect(() => padSequences(seqs, { value: 0.5 })).toThrow(/must be an int32 for dtype 'int32'/);
  });
  it('is exported as wg.data', () => {
    expect(wg.data.padSequences).toBe(padSequences);
    expect(wg.data.Vocabulary).toBe(Vocabulary);
    expect(wg.data.tokenize).toBe(tokenize);
  });
});
