// Timing: medians of many runs after warm-up.
//
// CPU (js backend, tfjs): process.hrtime.bigint() around each call (or around a small batch of
// calls when one call is shorter than ~0.2 ms), median over the samples.
// GPU (cuda backend): CUDA events around the region when the addon exports them (see
// `eventTimer`), otherwise synchronize() + hrtime around a batch of launches, labelled so.

import { loadNative } from '../../lib/native.js';

export type TimingMethod = 'hrtime' | 'cuda-events' | 'sync+hrtime';

export interface Timing {
  /** median time of one call, ms */
  medianMs: number;
  minMs: number;
  p10Ms: number;
  p90Ms: number;
  /** samples the median is over */
  samples: number;
  /** calls per sample (a sample's time is divided by it) */
  itersPerSample: number;
  method: TimingMethod;
}

export interface TimeOptions {
  /** warm-up calls before timing (at least this many, and at least ~10% of the budget) */
  warmup?: number;
  minSamples?: number;
  maxSamples?: number;
  /** stop taking samples after this much wall time (once minSamples are in), ms */
  budgetMs?: number;
  /** shortest wall time of one sample, ms (short calls are batched) */
  minSampleMs?: number;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

function summarise(perCall: number[], iters: number, method: TimingMethod): Timing {
  const s = [...perCall].sort((a, b) => a - b);
  return {
    medianMs: median(s),
    minMs: s[0] ?? NaN,
    p10Ms: quantile(s, 0.1),
    p90Ms: quantile(s, 0.9),
    samples: s.length,
    itersPerSample: iters,
    method,
  };
}

const defaults = (o: TimeOptions) => ({
  warmup: o.warmup ?? 2,
  minSamples: o.minSamples ?? 5,
  maxSamples: o.maxSamples ?? 200,
  budgetMs: o.budgetMs ?? 1500,
  minSampleMs: o.minSampleMs ?? 0.2,
});

/**
 * Times fn(i) on the CPU (synchronous work). `i` counts calls, for rotating inputs.
 */
export function timeCpu(fn: (i: number) => void, o: TimeOptions = {}): Timing {
  const d = defaults(o);
  let i = 0;
  // warm-up: JIT, caches, allocator
  const w0 = nowMs();
  let one = Infinity;
  for (let k = 0; k < d.warmup || (nowMs() - w0 < d.budgetMs * 0.1 && k < 50); k++) {
    const t = nowMs();
    fn(i++);
    one = Math.min(one, nowMs() - t);
  }
  const iters = Math.max(1, Math.ceil(d.minSampleMs / Math.max(one, 1e-6)));
  const samples: number[] = [];
  const start = nowMs();
  while (samples.length < d.maxSamples && (samples.length < d.minSamples || nowMs() - start < d.budgetMs)) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < iters; k++) fn(i++);
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / 1e6 / iters);
  }
  return summarise(samples, iters, 'hrtime');
}

/** Async variant (for tfjs kernels that may return promises; used rarely). */
export async function timeCpuAsync(fn: (i: number) => Promise<void>, o: TimeOptions = {}): Promise<Timing> {
  const d = defaults(o);
  let i = 0;
  for (let k = 0; k < d.warmup; k++) await fn(i++);
  const samples: number[] = [];
  const start = nowMs();
  while (samples.length < d.maxSamples && (samples.length < d.minSamples || nowMs() - start < d.budgetMs)) {
    const t0 = process.hrtime.bigint();
    await fn(i++);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summarise(samples, 1, 'hrtime');
}

// ---- GPU ------------------------------------------------------------------------------------

/**
 * CUDA event timing, when the addon exports it (native/src/events.cc, typed in binding.d.ts
 * RuntimeBinding; addons built before it fall back to sync+hrtime). What we look for:
 *   createEvent(): object            // cudaEventCreate (default flags, timing enabled)
 *   recordEvent(ev): void            // cudaEventRecord on the current device's stream
 *   eventElapsedMs(start, end): number // cudaEventSynchronize(end) + cudaEventElapsedTime
 */
export interface EventTimer {
  create(): unknown;
  record(ev: unknown): void;
  elapsedMs(a: unknown, b: unknown): number;
}

export function eventTimer(): EventTimer | null {
  const b = loadNative().binding as unknown as Record<string, unknown> | null;
  if (!b) return null;
  const create = b.createEvent,
    record = b.recordEvent,
    elapsed = b.eventElapsedMs;
  if (typeof create !== 'function' || typeof record !== 'function' || typeof elapsed !== 'function') return null;
  return {
    create: () => (create as () => unknown).call(b),
    record: (ev) => (record as (e: unknown) => void).call(b, ev),
    elapsedMs: (x, y) => (elapsed as (a: unknown, b: unknown) => number).call(b, x, y),
  };
}

/**
 * Times fn(i) on a device: work is queued asynchronously and `sync` waits for it. With events,
 * each sample is start/end events around `iters` launches; without, synchronize() before and
 * after a batch of `iters` launches measured with hrtime (includes one sync round trip per sample,
 * ~10 µs, amortised by batching to >= minSampleMs).
 */
export function timeDevice(
  fn: (i: number) => void,
  sync: () => void,
  o: TimeOptions = {},
  events: EventTimer | null = eventTimer(),
): Timing {
  const d = defaults({ minSampleMs: 1, ...o });
  let i = 0;
  sync();
  const w0 = nowMs();
  let one = Infinity;
  for (let k = 0; k < d.warmup || (nowMs() - w0 < d.budgetMs * 0.1 && k < 50); k++) {
    const t = nowMs();
    fn(i++);
    sync();
    one = Math.min(one, nowMs() - t);
  }
  const iters = Math.max(1, Math.min(1000, Math.ceil(d.minSampleMs / Math.max(one, 1e-4))));
  const samples: number[] = [];
  const start = nowMs();
  if (events) {
    const a = events.create(),
      b = events.create();
    while (samples.length < d.maxSamples && (samples.length < d.minSamples || nowMs() - start < d.budgetMs)) {
      events.record(a);
      for (let k = 0; k < iters; k++) fn(i++);
      events.record(b);
      samples.push(events.elapsedMs(a, b) / iters);
    }
    sync();
    return summarise(samples, iters, 'cuda-events');
  }
  while (samples.length < d.maxSamples && (samples.length < d.minSamples || nowMs() - start < d.budgetMs)) {
    sync();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < iters; k++) fn(i++);
    sync();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6 / iters);
  }
  return summarise(samples, iters, 'sync+hrtime');
}
