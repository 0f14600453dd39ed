// A synthetic sentiment set for the sentiment example: short movie-review sentences made by a
// deterministic generator (a seeded PRNG over templates and word lists), labelled positive (1) or
// negative (0). It is NOT real review text: the point is a text task small enough to train in
// seconds on a CPU that still needs word order, so a bag of words is not enough:
//
//   - negation flips a clause: "the plot was good" (1) / "the plot was not good" (0),
//     "i did not like the cast" (0), "not bad at all" style double negatives (1);
//   - a contrast takes the last clause: "the acting was superb but the ending was dull" (0);
//   - neutral filler ("i watched it with my sister last weekend") and intensifiers carry no label.
//
// About 400 distinct words. The label is a pure function of the words, so a model can reach
// 100% in principle; a sentence of the test split may also occur in the training split, as in
// any set drawn from one distribution (with this many combinations that is rare).

import { SeededRandom } from '../lib/data/shuffle.js';

const SUBJECTS = [
  'movie',
  'film',
  'plot',
  'story',
  'acting',
  'cast',
  'script',
  'ending',
  'soundtrack',
  'music',
  'dialogue',
  'director',
  'pacing',
  'characters',
  'villain',
  'hero',
  'effects',
  'visuals',
  'costumes',
  'scenery',
  'editing',
  'humor',
  'jokes',
  'performance',
  'lead actor',
  'lead actress',
  'sequel',
  'finale',
  'opening',
  'screenplay',
  'score',
  'cinematography',
  'animation',
  'premise',
  'twist',
  'romance',
  'action scenes',
  'fight scenes',
  'set design',
  'makeup',
  'lighting',
  'narration',
  'theme',
  'atmosphere',
  'tone',
  'chemistry',
  'direction',
  'production',
  'series',
  'episode',
  'show',
  'adaptation',
  'remake',
  'documentary',
  'musical',
  'comedy',
  'drama',
  'thriller',
  'mystery',
  'western',
  'cartoon',
  'supporting cast',
  'camera work',
  'first half',
  'second act',
];
const POSITIVE = [
  'good',
  'great',
  'excellent',
  'wonderful',
  'amazing',
  'brilliant',
  'superb',
  'fantastic',
  'delightful',
  'charming',
  'moving',
  'beautiful',
  'clever',
  'funny',
  'gripping',
  'enjoyable',
  'memorable',
  'stunning',
  'fresh',
  'powerful',
  'touching',
  'solid',
  'impressive',
  'engaging',
  'inspired',
  'lovely',
  'perfect',
  'thrilling',
  'witty',
  'elegant',
  'heartfelt',
  'smart',
  'compelling',
  'captivating',
  'refreshing',
  'magnificent',
  'marvelous',
  'pleasant',
  'satisfying',
  'entertaining',
  'exciting',
  'original',
  'polished',
  'remarkable',
  'outstanding',
];
const NEGATIVE = [
  'bad',
  'terrible',
  'awful',
  'boring',
  'dull',
  'horrible',
  'poor',
  'weak',
  'disappointing',
  'mediocre',
  'bland',
  'clumsy',
  'messy',
  'predictable',
  'tedious',
  'lifeless',
  'forgettable',
  'shallow',
  'annoying',
  'painful',
  'pointless',
  'silly',
  'stupid',
  'ugly',
  'confusing',
  'flat',
  'slow',
  'sloppy',
  'cheap',
  'dreadful',
  'lame',
  'pathetic',
  'tiresome',
  'uninspired',
  'cliched',
  'overlong',
  'wooden',
  'awkward',
  'dismal',
  'atrocious',
  'unbearable',
  'unwatchable',
  'lousy',
  'hollow',
  'stale',
];
const INTENSIFIERS = [
  'very',
  'really',
  'quite',
  'truly',
  'extremely',
  'so',
  'incredibly',
  'rather',
  'pretty',
  'absolutely',
  'totally',
  'fairly',
  'genuinely',
  'surprisingly',
];
const COPULAS = ['was', 'is', 'seemed', 'felt', 'looked', 'sounded'];
const NEG_COPULAS = [
  'was not',
  "wasn't",
  'is not',
  "isn't",
  'was never',
  'was hardly',
  'was far from',
  'never felt',
  'did not seem',
  "didn't feel",
];
const POS_VERBS = ['loved', 'enjoyed', 'liked', 'adored', 'admired', 'appreciated', 'savored', 'treasured'];
const NEG_VERBS = ['hated', 'disliked', 'regretted', 'despised', 'loathed', 'resented'];
const POS_VERBS_BASE = ['love', 'enjoy', 'like', 'adore', 'admire', 'appreciate'];
const NEG_VERBS_BASE = ['hate', 'dislike', 'mind', 'regret', 'resent'];
const NEG_AUX = ['did not', "didn't", 'could not', "couldn't", 'never', 'would not', "wouldn't"];
const OPENERS = [
  'overall',
  'honestly',
  'frankly',
  'to be fair',
  'in the end',
  'all in all',
  'for me',
  'i think',
  'i felt that',
  'in my opinion',
  'sadly',
  'luckily',
  'well',
  'so',
];
const PEOPLE = [
  'friend',
  'family',
  'brother',
  'sister',
  'parents',
  'kids',
  'partner',
  'roommate',
  'cousin',
  'neighbor',
  'wife',
  'husband',
  'daughter',
  'son',
  'grandmother',
  'colleagues',
];
const WHEN = [
  'last week',
  'last night',
  'last weekend',
  'last month',
  'yesterday',
  'on monday',
  'on tuesday',
  'on wednesday',
  'on thursday',
  'on friday',
  'on saturday',
  'on sunday',
  'this morning',
  'on a rainy day',
  'during the holidays',
];
const WHERE = [
  'at the cinema',
  'at the theater',
  'at home',
  'on a plane',
  'at a festival',
  'on my laptop',
  'on television',
  "at a friend's place",
  'in a tiny theater',
  'on the big screen',
];
const FILLERS = [
  (r: Pick) => `i watched it with my ${r(PEOPLE)} ${r(WHEN)}`,
  (r: Pick) => `we saw it ${r(WHERE)}`,
  (r: Pick) => `i saw it ${r(WHEN)} ${r(WHERE)}`,
  (r: Pick) => `it runs about ${r(['ninety', 'two hundred', 'one hundred', 'eighty'])} minutes`,
  (r: Pick) => `my ${r(PEOPLE)} picked it`,
  (r: Pick) => `it came out ${r(['this year', 'years ago', 'last summer', 'in the spring'])}`,
];

type Pick = <T>(xs: readonly T[]) => T;

export interface Review {
  text: string;
  /** 1 positive, 0 negative */
  label: number;
}

/** One clause with the given sentiment (1 positive, 0 negative). */
function clause(pick: Pick, r: SeededRandom, positive: boolean): string {
  const adj = (pos: boolean): string => (r.next() < 0.3 ? `${pick(INTENSIFIERS)} ` : '') + pick(pos ? POSITIVE : NEGATIVE);
  const subj = `the ${pick(SUBJECTS)}`;
  const k = r.int(6);
  switch (k) {
    case 0: // the plot was (very) good
      return `${subj} ${pick(COPULAS)} ${adj(positive)}`;
    case 1: // the plot was not good → the opposite
      return `${subj} ${pick(NEG_COPULAS)} ${adj(!positive)}`;
    case 2: // i loved the plot
      return `i ${pick(positive ? POS_VERBS : NEG_VERBS)} ${subj}`;
    case 3: // i did not like the plot (negative) / i did not mind the plot (positive)
      return `i ${pick(NEG_AUX)} ${pick(positive ? NEG_VERBS_BASE : POS_VERBS_BASE)} ${subj}`;
    case 4: {
      // a (very) good plot
      const a = adj(positive);
      const an = /^[aeiou]/.test(a) ? 'an' : 'a';
      return `${r.next() < 0.5 ? an : `such ${an}`} ${a} ${pick(SUBJECTS)}`;
    }
    default: // the plot and the cast were good
      return `${subj} and the ${pick(SUBJECTS)} were ${adj(positive)}`;
  }
}

/**
 * `n` reviews (half positive, in a shuffled order) from the generator seeded with `seed`. The
 * same (n, seed) gives the same reviews on every machine.
 */
export function makeReviews(n: number, seed = 0): Review[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`makeReviews: n must be a non-negative integer, got ${n}`);
  const r = new SeededRandom(seed);
  const pick: Pick = (xs) => xs[r.int(xs.length)]!;
  const out: Review[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const pos = label === 1;
    const u = r.next();
    let text: string;
    if (u < 0.3)
      text = `${clause(pick, r, !pos)} but ${clause(pick, r, pos)}`; // contrast: the last clause counts
    else if (u < 0.45) text = `${clause(pick, r, pos)} and ${clause(pick, r, pos)}`;
    else text = clause(pick, r, pos);
    if (r.next() < 0.35) text = `${pick(OPENERS)} ${text}`;
    if (r.next() < 0.3) text = r.next() < 0.5 ? `${pick(FILLERS)(pick)} and ${text}` : `${text} , ${pick(FILLERS)(pick)}`;
    out.push({ text: text + (r.next() < 0.5 ? '.' : r.next() < 0.5 ? '!' : ''), label });
  }
  // shuffle so the labels do not alternate
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
