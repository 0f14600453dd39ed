// A small seeded PRNG for data order (shuffles, splits). It is independent of the tensor RNG
// (lib/random.ts, Philox): reshuffling a loader never moves the stream that draws dropout masks
// and initial weights, so adding or removing a loader does not change a model's init.

/** mulberry32: a 32-bit state generator, good enough for shuffling (not for cryptography). */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`SeededRandom: seed must be a finite number, got ${seed}`);
    this.state = mix(seed) >>> 0;
  }
  /** A uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Folds a (possibly large, possibly negative) number into 32 bits with a splitmix-style hash. */
function mix(seed: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed for the `k`-th derived stream of `seed` (e.g. one per epoch). */
export function deriveSeed(seed: number, k: number): number {
  return (mix(seed) ^ Math.imul((k + 1) >>> 0, 0x9e3779b1)) >>> 0;
}

/** 0..n-1 in a random order (Fisher–Yates) fixed by `seed`. */
export function permutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const r = new SeededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
