// Deterministic memory: a scope stack for tidy(), live tensor/byte accounting, and a
// FinalizationRegistry that frees storage of tensors that escaped dispose (safety net only).

import type { Backend, Handle } from './backend/kernels.js';
import { bytesPerElement, type DType } from './dtype.js';

/** Refcounted storage: a backend handle shared by a tensor and its views and saved copies. */
export class Storage {
  refs = 1;
  /**
   * In-place write counter, shared by every tensor on this storage (views, detach(), saved
   * copies). Autograd remembers it for each saved tensor and refuses a backward that would read
   * values changed since (torch's version counter). Bump it with bumpVersion after every write.
   */
  version = 0;
  /** the op of the last in-place write, for the error message */
  lastWriter = '';
  readonly bytes: number;
  /** this storage's device entry, looked up once */
  private readonly dev: DeviceStats;
  constructor(
    readonly backend: Backend,
    readonly handle: Handle,
    readonly dtype: DType,
    readonly numel: number,
  ) {
    this.bytes = numel * bytesPerElement(dtype);
    stats.storages++;
    const d = (this.dev = deviceStats(backend.device));
    d.bytes += this.bytes;
    d.storages++;
    if (d.bytes > d.peak) d.peak = d.bytes;
  }
  retain(): this {
    if (this.refs <= 0) throw new Error('wattgrad: internal error: retain of freed storage');
    this.refs++;
    return this;
  }
  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) {
      stats.storages--;
      const d = this.dev;
      d.bytes -= this.bytes;
      d.storages--;
      this.backend.free(this.handle);
    }
  }
}

/** Records an in-place write to s by `op` (every kernel that writes existing storage calls this). */
export function bumpVersion(s: Storage, op: string): void {
  s.version++;
  s.lastWriter = op;
}

interface DeviceStats {
  bytes: number;
  peak: number;
  storages: number;
}
const stats = { tensors: 0, storages: 0, peakTensors: 0 };
const perDevice = new Map<string, DeviceStats>();
function deviceStats(device: string): DeviceStats {
  let d = perDevice.get(device);
  if (!d) perDevice.set(device, (d = { bytes: 0, peak: 0, storages: 0 }));
  return d;
}

export function countTensor(delta: 1 | -1): void {
  stats.tensors += delta;
  if (stats.tensors > stats.peakTensors) stats.peakTensors = stats.tensors;
}

export interface MemoryInfo {
  /** live (not disposed) tensors, including those saved for backward */
  tensors: number;
  /** live storages (views share one) */
  storages: number;
  peakTensors: number;
  /** per device: bytes held by live storage, peak, storage count; for cuda also the allocator's view */
  devices: Record<string, { bytes: number; peak: number; storages: number; cached?: number; limit?: number | null }>;
  /** total live bytes over all devices */
  bytes: number;
}

let backendsForStats: () => Backend[] = () => [];
/** The registry tells memory() which backends exist, for allocator stats. */
export function setBackendLister(f: () => Backend[]): void {
  backendsForStats = f;
}

/** Live tensors and bytes per device, with peaks. */
export function memory(): MemoryInfo {
  const devices: MemoryInfo['devices'] = {};
  let bytes = 0;
  for (const [dev, d] of perDevice) {
    devices[dev] = { ...d };
    bytes += d.bytes;
  }
  for (const b of backendsForStats()) {
    if (b.name === 'cuda') {
      const m = b.memory();
      const d = (devices[b.device] ??= { bytes: 0, peak: 0, storages: 0 });
      d.cached = m.cached;
      d.limit = m.limit;
    }
  }
  return { tensors: stats.tensors, storages: stats.storages, peakTensors: stats.peakTensors, devices, bytes };
}

/** Anything with a dispose(); the scope stack holds these (Tensor implements it). */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /**
   * @internal Called when it leaves the last tidy scope alive (returned from an outermost tidy or
   * guard, or keep()): from then on only the GC can free a forgotten one (Tensor arms its finalizer).
   */
  _escaped?(): void;
}

type Scope = Set<Disposable>;
const scopes: Scope[] = [];

/**
 * Called by every tensor constructor: the innermost tidy scope will dispose it (true), or there is
 * no scope (false: the tensor arms its GC safety net at once). A tracked tensor cannot be
 * collected while its scope holds it, so it arms the net only if it escapes (_escaped).
 */
export function track(t: Disposable): boolean {
  const s = scopes[scopes.length - 1];
  if (s === undefined) return false;
  s.add(t);
  return true;
}

/** Removes a tensor from every enclosing tidy scope: it survives them (like tfjs keep). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  t._escaped?.();
  return t;
}

function collect(x: unknown, into: Set<Disposable>, depth = 0): void {
  if (x === null || x === undefined || depth > 4) return;
  if (typeof x === 'object') {
    if ('dispose' in x && 'isDisposed' in x) {
      into.add(x as Disposable);
      return;
    }
    if (Array.isArray(x)) {
      for (const v of x) collect(v, into, depth + 1);
      return;
    }
    if (Object.getPrototypeOf(x) === Object.prototype || x instanceof Map) {
      const values = x instanceof Map ? [...x.values()] : Object.values(x);
      for (const v of values) collect(v, into, depth + 1);
    }
  }
}

/**
 * Runs fn and disposes every tensor created inside it, except those it returns (a tensor, or
 * arrays/plain objects of tensors) and those passed to keep(). fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function')
    throw new TypeError(`tidy: expected a function, got ${fn === null ? 'null' : typeof fn} (write tidy(() => ...))`);
  const { result, scope } = runInScope(fn);
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('tidy: fn returned a Promise; tidy only works with synchronous functions (await outside, or dispose by hand)');
  }
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) {
      if (parent) parent.add(t);
      else t._escaped?.();
    } else if (!t.isDisposed) t.dispose();
  }
  return result;
}

/** Runs fn in a fresh scope; if it throws, everything created inside is disposed and the error rethrown. */
function runInScope<T>(fn: () => T): { result: T; scope: Scope } {
  const scope: Scope = new Set();
  scopes.push(scope);
  try {
    return { result: fn(), scope };
  } catch (e) {
    for (const t of scope) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
}

/**
 * Runs an op body so that a throw leaves nothing behind: tensors created inside fn are disposed
 * if it throws; when it returns they stay alive and join the enclosing tidy scope (if any).
 * Composite ops use it, so a failed call inside or outside tidy leaks no tensor.
 */
export function guard<T>(fn: () => T): T {
  const { result, scope } = runInScope(fn);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (t.isDisposed) continue;
    if (parent) parent.add(t);
    else t._escaped?.();
  }
  return result;
}

export function disposeAll(xs: Iterable<Disposable | null | undefined>): void {
  for (const x of xs) if (x && !x.isDisposed) x.dispose();
}

// Safety net: a tensor that is garbage-collected without dispose() releases its storage here.
// Tensors register (with themselves as the unregister token) only while they live outside every
// tidy scope: registering each short-lived tensor of a training step cost ~20% of an MLP
// 784-256-10 Adam step's CPU time with the native CPU kernels (V8's weak-cell bookkeeping).
export const finalizer = new FinalizationRegistry<Storage>((storage) => {
  countTensor(-1);
  storage.release();
});
