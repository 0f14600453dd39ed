// GPU energy and power through NVML, via the addon's nvml* functions (native/src/nvml.cc).
//
// The addon dlopens libnvidia-ml.so.1 at run time, so everything here works (reporting why it
// cannot measure) on machines with no NVIDIA driver, and with no addon at all.

import type { NvmlBinding, NvmlPowerSeries } from '../../binding.js';
import { loadNative } from '../native.js';

export interface NvmlDevice {
  index: number;
  name: string;
  /** enforced power limit, W; null when not readable */
  powerLimitW: number | null;
  /** true when nvmlDeviceGetTotalEnergyConsumption works (Volta+) */
  energyCounter: boolean;
  /** why the counter does not work, when it does not */
  energyError: string | null;
}

/** A running background power sampler (a native thread). */
export interface PowerSampler {
  /** new samples since the last read (times on the `nowMs()` clock, ms) */
  read(): { timesMs: number[]; watts: number[] };
  /** stops the thread; returns the samples not yet read */
  stop(): { timesMs: number[]; watts: number[] };
  /** failed power reads so far and the last failure */
  readonly errors: number;
  readonly lastError: string | null;
}

/**
 * What the meter needs from NVML. `NvmlSource` from `openNvml()` implements it over the addon;
 * tests implement it with fakes.
 */
export interface NvmlSource {
  readonly available: boolean;
  /** why NVML is unavailable, e.g. "libnvidia-ml.so.1 not found" (null when available) */
  readonly reason: string | null;
  devices(): NvmlDevice[];
  /** total energy counter, J (throws where unsupported) */
  energyJ(index: number): number;
  /** current power, W (throws on failure) */
  powerW(index: number): number;
  /** the monotonic clock power samples are stamped with, ms */
  nowMs(): number;
  startSampling(index: number, periodMs: number): PowerSampler;
}

class Unavailable implements NvmlSource {
  readonly available = false;
  constructor(readonly reason: string) {}
  devices(): NvmlDevice[] {
    return [];
  }
  energyJ(): number {
    throw new Error(`NVML unavailable: ${this.reason}`);
  }
  powerW(): number {
    throw new Error(`NVML unavailable: ${this.reason}`);
  }
  nowMs(): number {
    return performance.now();
  }
  startSampling(): PowerSampler {
    throw new Error(`NVML unavailable: ${this.reason}`);
  }
}

class AddonNvml implements NvmlSource {
  readonly available = true;
  readonly reason = null;
  private cached: NvmlDevice[] | null = null;
  constructor(private readonly b: NvmlBinding) {}

  devices(): NvmlDevice[] {
    this.cached ??= this.b.nvmlDevices().map((d) => ({
      index: d.index,
      name: d.name,
      powerLimitW: d.powerLimitMw === null ? null : d.powerLimitMw / 1000,
      energyCounter: d.energyCounter,
      energyError: d.energyError,
    }));
    return this.cached.map((d) => ({ ...d }));
  }
  energyJ(index: number): number {
    return this.b.nvmlEnergyMj(index) / 1000;
  }
  powerW(index: number): number {
    return this.b.nvmlPowerMw(index) / 1000;
  }
  nowMs(): number {
    return this.b.nvmlNowMs();
  }
  startSampling(index: number, periodMs: number): PowerSampler {
    const b = this.b;
    const id = b.nvmlStartSampling(index, periodMs);
    let next = 0;
    let errors = 0;
    let lastError: string | null = null;
    let stopped = false;
    const take = (s: NvmlPowerSeries) => {
      next = s.next;
      errors = s.errors;
      lastError = s.lastError;
      return { timesMs: Array.from(s.timesMs), watts: Array.from(s.watts) };
    };
    return {
      read: () => (stopped ? { timesMs: [], watts: [] } : take(b.nvmlReadSampling(id, next))),
      stop: () => {
        if (stopped) return { timesMs: [], watts: [] };
        stopped = true;
        return take(b.nvmlStopSampling(id, next));
      },
      get errors() {
        return errors;
      },
      get lastError() {
        return lastError;
      },
    };
  }
}

/**
 * NVML over a binding. `binding` null means the addon did not load; `addonError` says why.
 * Never throws.
 */
export function openNvml(binding: NvmlBinding | null | undefined, addonError?: string | null): NvmlSource {
  if (binding == null || typeof binding.nvmlStatus !== 'function') {
    const why = addonError ? `: ${addonError}` : '';
    return new Unavailable(`native addon not loaded${why}`);
  }
  let status;
  try {
    status = binding.nvmlStatus();
  } catch (e) {
    return new Unavailable(`nvmlStatus failed: ${(e as Error).message}`);
  }
  if (!status.available) return new Unavailable(status.error ?? 'NVML unavailable');
  const src = new AddonNvml(binding);
  try {
    src.devices();
  } catch (e) {
    return new Unavailable(`nvmlDevices failed: ${(e as Error).message}`);
  }
  return src;
}

let shared: NvmlSource | null = null;

/** The process-wide NVML source over the addon from `loadNative()` (cached). */
export function defaultNvml(): NvmlSource {
  if (shared !== null) return shared;
  let binding: NvmlBinding | null = null;
  let error: string | null = null;
  try {
    const loaded = loadNative();
    binding = (loaded.binding as NvmlBinding | null) ?? null;
    const err: unknown = loaded.error;
    error = err == null ? null : err instanceof Error ? err.message : String(err);
  } catch (e) {
    error = (e as Error).message;
  }
  shared = openNvml(binding, error);
  return shared;
}
