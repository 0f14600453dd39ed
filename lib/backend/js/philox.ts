// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
// counter-based generator behind randUniform / randNormal / dropoutMask on every backend.
// Pure 32-bit arithmetic: Math.imul for the low word of a product, 16-bit halves for the high word.
// Checked against the Random123 known-answer vectors in test/backend/js/philox.test.ts.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32s. */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff,
    ah = a >>> 16;
  const bl = b & 0xffff,
    bh = b >>> 16;
  const ll = al * bl,
    lh = al * bh,
    hl = ah * bl,
    hh = ah * bh;
  // carry out of the low 32 bits: (ll >>> 16) + low halves of the cross terms, < 3·2^16
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox4x32-10 on the full 4-word counter (c0..c3) with key (k0, k1); returns 4 uint32 words.
 * out (optional) receives the words to avoid an allocation in hot loops.
 */
export function philox4x32Full(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array | number[] = new Array<number>(4),
): Uint32Array | number[] {
  c0 >>>= 0;
  c1 >>>= 0;
  c2 >>>= 0;
  c3 >>>= 0;
  k0 >>>= 0;
  k1 >>>= 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0),
      lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2),
      lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** The kernels' form: counter = [counterLo, counterHi, 0, 0], key = [keyLo, keyHi]. */
export function philox4x32(counterLo: number, counterHi: number, keyLo: number, keyHi: number): [number, number, number, number] {
  const w = philox4x32Full(counterLo, counterHi, 0, 0, keyLo, keyHi);
  return [w[0]!, w[1]!, w[2]!, w[3]!];
}

const TWO32 = 4294967296;

/** Splits a non-negative integer < 2^53 into its low and high 32-bit words. */
export function split64(v: number): [number, number] {
  return [(v % TWO32) >>> 0, Math.floor(v / TWO32) >>> 0];
}
