// The shapes of a benchmark: a case (one op at one shape and dtype), what preparing it gives, and
// the result rows the report prints and writes as JSON.

import type { Timing } from './timing.js';

export interface BenchContext {
  backend: 'js' | 'cuda';
  /** 'cpu' or 'cuda:0' */
  device: string;
  quick: boolean;
  /** device memory in bytes (cuda), for skipping cases that do not fit; null when unknown */
  memoryBytes: number | null;
  /** last-level cache size in bytes (inputs smaller than ~2× this are rotated) */
  cacheBytes: number;
  /** timing budget per case, ms */
  budgetMs: number;
  log: (line: string) => void;
}

export interface Validation {
  ok: boolean;
  /** largest |ours − reference| / (atol + rtol·|reference|) seen, ≤ 1 passes */
  worst: number;
  /** what we compared against */
  against: string;
  note?: string;
}

export interface Prepared {
  /** one timed call; i counts calls (rotate inputs with it) */
  run(i: number): void;
  /** compares outputs against the reference (called before timing, on fresh random inputs) */
  validate(): Validation;
  /** FLOPs and bytes the op layer's counter (lib/backend/counter.ts) recorded for one call */
  counted(): { flops: number; bytes: number } | null;
  dispose(): void;
}

export interface BenchCase {
  /** op family ('matmul', 'conv2d', ...) */
  op: string;
  /** the id peers are matched on, e.g. "matmul 1024x1024x1024" or "conv2d fwd n32 56x56 64->64 k3 s1 p1" */
  id: string;
  /** human-readable shape */
  shape: string;
  dtype: string;
  /** FLOPs of one call, from shapes */
  flops: number;
  /** fewest bytes one call must move, from shapes */
  bytes: number;
  /** bytes of inputs one call reads (for rotation decisions) */
  inputBytes: number;
  /** device bytes the case needs (skipped when it does not fit) */
  memoryBytes?: number;
  /** the kernel names whose counted flops we compare with `flops` */
  kernels: string[];
  prepare(ctx: BenchContext): Prepared;
}

export interface PeerResult {
  /** e.g. "tfjs-cpu", "torch fp32", "torch tf32", "torch bf16" */
  peer: string;
  dtype: string;
  medianMs: number;
  /** peer median / our median: > 1 means we are faster */
  speedup: number;
  note?: string;
}

export interface CaseResult {
  op: string;
  id: string;
  shape: string;
  dtype: string;
  backend: string;
  flops: number;
  bytes: number;
  timing: Timing | null;
  /** FLOP/s and bytes/s at the median */
  flopsPerSecond: number | null;
  bytesPerSecond: number | null;
  /** 100 · roofline floor / median */
  pctRoofline: number | null;
  /** the same against datasheet leads (GPU) */
  pctDatasheet: number | null;
  bound: 'compute' | 'memory' | null;
  counter: { flops: number; bytes: number; flopsMatch: boolean } | null;
  validation: Validation | null;
  peers: PeerResult[];
  /** why the case was not timed */
  skipped?: string;
  error?: string;
}

/** A peer's own measurement, before it is matched to our case. */
export interface PeerMeasurement {
  id: string;
  peer: string;
  dtype: string;
  medianMs: number;
  note?: string;
}
