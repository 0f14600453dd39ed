// The global counter-based RNG state (Philox4x32-10). Every random kernel takes (seed, offset)
// from here and the offset advances by the number of 128-bit counters the call consumes, so the
// same seed gives the same numbers on every backend and in every run.

const DEFAULT_SEED = 67280421310721; // torch's default initial seed
let seed = DEFAULT_SEED;
let offset = 0;

/** Seeds every backend's RNG (init, rand/randn/randint, dropout masks). Like torch.manual_seed. */
export function manualSeed(s: number): void {
  if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`manualSeed: seed must be a non-negative safe integer, got ${s}`);
  seed = s;
  offset = 0;
}

export function initialSeed(): number {
  return seed;
}

/** Reserves `counters` Philox counters and returns where they start. */
export function takeCounters(counters: number): { seed: number; offset: number } {
  const o = offset;
  offset += Math.max(1, Math.ceil(counters));
  return { seed, offset: o };
}

/** The RNG state, for checkpoints: restoring it replays the same stream. */
export function getRngState(): { seed: number; offset: number } {
  return { seed, offset };
}

export function setRngState(state: { seed: number; offset: number }): void {
  for (const k of ['seed', 'offset'] as const) {
    const v: unknown = state?.[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(
        `setRngState: ${k} must be a non-negative safe integer (from getRngState()), got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
      );
    }
  }
  seed = state.seed;
  offset = state.offset;
}
