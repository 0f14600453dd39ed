// EnergyMeter: joules, FLOP/J and CO2e of named windows of a program.
//
//   const meter = new EnergyMeter({ synchronize: () => cuda.synchronize() });
//   meter.begin('epoch 1'); ...; const r = meter.end('epoch 1', { samples: 60000 });
//   const r2 = await meter.measure('eval', async () => evaluate(model));
//
// GPU: the difference of NVML's total-energy counter (mJ, Volta+), with the device synchronised
// before each read so the kernels queued inside the window are counted in it (Zeus does the same).
// Where the counter is unsupported, a native thread samples board power and the window's energy
// is the trapezoid integral of the samples plus readings taken at both edges of the window.
// CPU: RAPL package counters (rapl.ts). FLOPs/bytes: the op layer's counter (backend/counter.ts).
//
// Nothing unmeasured is reported as 0 J: such a device has `joules: null` and
// `method: "unavailable: <reason>"`. Estimates (W × s) only when asked for, labelled "estimate",
// and never counted in joules, kWh, CO2e or FLOP/J.

import { costDelta, costSnapshot, type CostSnapshot } from '../backend/counter.js';
import { co2eGrams, joulesToKWh, resolveCarbon, type CarbonOptions, type CarbonSettings } from './carbon.js';
import { defaultNvml, type NvmlDevice, type NvmlSource, type PowerSampler } from './nvml.js';
import { Rapl, RaplCounter, type RaplOptions } from './rapl.js';
import { bool, checkOptions, func, nonNegative, nonNegativeInt, positive, string, type OptionKeys } from '../options.js';

const METER_KEYS: OptionKeys<EnergyMeterOptions> = {
  synchronize: true,
  gpu: true,
  cpu: true,
  rapl: true,
  nvml: true,
  samplePower: true,
  samplePeriodMs: true,
  counterUpdatePeriodMs: true,
  raplPollMs: true,
  estimate: true,
  carbon: true,
  now: true,
};
const END_KEYS: OptionKeys<EndOptions> = { samples: true };

/** EndOptions checked: samples a non-negative integer. */
function endOptions(where: string, o: EndOptions | undefined): EndOptions {
  o = checkOptions(where, o, END_KEYS);
  if (o.samples !== undefined) nonNegativeInt(where, 'samples', o.samples);
  return o;
}

export type EnergyMethod = 'nvml-counter' | 'nvml-power-sampling' | 'rapl' | 'estimate' | `unavailable: ${string}`;

export interface GpuEnergy {
  /** NVML index; null when no device could be enumerated (NVML or the addon missing) */
  index: number | null;
  name: string | null;
  /** null when not measured (and not estimated) */
  joules: number | null;
  method: EnergyMethod;
  /** joules / seconds */
  meanWatts: number | null;
  powerLimitW?: number | null;
  /** why a fallback or an estimate was used */
  note?: string;
}

export interface CpuEnergy {
  joules: number | null;
  method: EnergyMethod;
  meanWatts: number | null;
  /** RAPL zones summed, e.g. ["package-0", "package-1"] */
  zones?: string[];
  note?: string;
}

export interface EnergyResult {
  name: string;
  /** wall-clock start, ISO 8601 */
  startedAt: string;
  seconds: number;
  gpu: GpuEnergy[];
  /** null when CPU metering is switched off (`cpu: false`) */
  cpu: CpuEnergy | null;
  /** measured joules, GPU + CPU where measured; null when nothing was measured */
  joules: number | null;
  /** the part that is an estimate (never included in `joules`); null when none */
  estimatedJoules: number | null;
  flops: number;
  bytes: number;
  kernelCalls: number;
  /** flops / measured joules; null when joules unmeasured */
  flopsPerJoule: number | null;
  /** measured joules in kWh */
  kWh: number | null;
  /** kWh × PUE × grid intensity */
  co2eGrams: number | null;
  carbon: CarbonSettings;
  samples?: number;
  samplesPerSecond?: number;
  joulesPerSample?: number | null;
  /** flags such as "window shorter than the counter update period" */
  warnings: string[];
}

export interface EnergyMeterOptions {
  /** blocks until the device has finished queued work (the cuda backend's synchronize); default none */
  synchronize?: () => void;
  /** false: no GPU metering; an array: only these NVML indices; default all NVML devices */
  gpu?: boolean | number[];
  /** false: no CPU metering (result.cpu is null); default true */
  cpu?: boolean;
  rapl?: RaplOptions;
  /** the NVML source; default the addon's (defaultNvml()) */
  nvml?: NvmlSource;
  /** sample GPU power in the background even where the energy counter works (for the power chart); default true */
  samplePower?: boolean;
  /** power sampling period, ms; default 100 */
  samplePeriodMs?: number;
  /** NVML energy counter update period; shorter windows are flagged; default 100 ms */
  counterUpdatePeriodMs?: number;
  /** RAPL poll period while a window is open (wrap-around safety and the CPU power series); default 1000 ms */
  raplPollMs?: number;
  /** report W × seconds labelled "estimate" where a device cannot be measured */
  estimate?: { cpuWatts?: number; gpuWatts?: number };
  carbon?: CarbonOptions;
  /** wall clock in ms (tests); default performance.now */
  now?: () => number;
}

export interface EndOptions {
  /** samples processed in the window: gives samplesPerSecond and joulesPerSample */
  samples?: number;
}

/** Energy so far in an open window, for progress lines. */
export interface EnergyProgress {
  name: string;
  seconds: number;
  /** measured joules so far (no device sync), null when nothing is measured */
  joules: number | null;
  /** mean power since the previous progress() call of this window (or its start), W */
  watts: number | null;
  /** the `estimate` watts × seconds so far of the devices that are not measured (absent when none) */
  estimatedJoules?: number;
}

/** A power series for charts; t in seconds since the meter's first window began. */
export interface PowerSeries {
  label: string;
  tSeconds: number[];
  watts: number[];
}

interface GpuState {
  index: number | null;
  name: string | null;
  powerLimitW: number | null;
  mode: 'counter' | 'sampling' | 'unavailable';
  reason: string | null;
  sampler: PowerSampler | null;
  /** every power sample taken, on the NVML clock */
  t: number[];
  w: number[];
}

interface GpuMark {
  counterJ: number | null;
  counterError: string | null;
  powerW: number | null;
}

interface Mark {
  wall: number;
  nv: number;
  cpuJ: number | null;
  gpu: GpuMark[];
}

interface OpenWindow {
  name: string;
  startedAt: string;
  start: Mark;
  cost: CostSnapshot;
  progress: { wall: number; joules: number | null };
}

const MEASURED = new Set<EnergyMethod>(['nvml-counter', 'nvml-power-sampling', 'rapl']);

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Trapezoid integral of (t ms, watts) points sorted by t, in joules. */
export function trapezoidJoules(tMs: readonly number[], watts: readonly number[]): number {
  let j = 0;
  for (let i = 1; i < tMs.length; i++) j += ((watts[i]! + watts[i - 1]!) / 2) * ((tMs[i]! - tMs[i - 1]!) / 1000);
  return j;
}

/** First index with a[i] > x (a sorted ascending). */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class EnergyMeter {
  private readonly nvml: NvmlSource | null;
  private readonly gpus: GpuState[];
  private readonly rapl: Rapl | null;
  private raplCounter: RaplCounter | null = null;
  private readonly cpuReason: string | null;
  private readonly carbon: CarbonSettings;
  private readonly opts: EnergyMeterOptions;
  private readonly now: () => number;
  private readonly open = new Map<string, OpenWindow>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private origin: { wall: number; nv: number } | null = null;
  private readonly cpuSeries = { t: [] as number[], w: [] as number[] };
  private lastCpuPoll: { wall: number; joules: number } | null = null;

  constructor(options: EnergyMeterOptions = {}) {
    const W = 'EnergyMeter';
    options = checkOptions(W, options, METER_KEYS);
    if (options.synchronize !== undefined) func(W, 'synchronize', options.synchronize);
    if (options.now !== undefined) func(W, 'now', options.now);
    if (options.gpu !== undefined && !Array.isArray(options.gpu)) bool(W, 'gpu', options.gpu);
    if (Array.isArray(options.gpu)) options.gpu.forEach((g, i) => nonNegativeInt(W, `gpu[${i}]`, g));
    bool(W, 'cpu', options.cpu, true);
    bool(W, 'samplePower', options.samplePower, true);
    positive(W, 'samplePeriodMs', options.samplePeriodMs, 100);
    positive(W, 'counterUpdatePeriodMs', options.counterUpdatePeriodMs, 100);
    positive(W, 'raplPollMs', options.raplPollMs, 1000);
    if (options.rapl !== undefined) checkOptions(`${W}: rapl`, options.rapl, ['root', 'fs']);
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.carbon = resolveCarbon(options.carbon);
    const est = checkOptions(`${W}: estimate`, options.estimate, ['cpuWatts', 'gpuWatts']);
    for (const [k, v] of Object.entries(est)) {
      if (v !== undefined) nonNegative(W, `estimate.${k} (watts)`, v);
    }

    // GPU
    this.gpus = [];
    if (options.gpu === false) {
      this.nvml = null;
    } else {
      this.nvml = options.nvml ?? defaultNvml();
      this.gpus = this.discoverGpus(this.nvml, Array.isArray(options.gpu) ? options.gpu : null);
    }

    // CPU
    if (options.cpu === false) {
      this.rapl = null;
      this.cpuReason = null;
    } else {
      this.rapl = Rapl.open(options.rapl);
      this.cpuReason = this.rapl.available ? null : this.rapl.reason;
      if (this.rapl.available) {
        try {
          this.raplCounter = new RaplCounter(this.rapl);
        } catch (e) {
          this.cpuReason = message(e);
        }
      }
    }
  }

  private discoverGpus(nvml: NvmlSource, only: number[] | null): GpuState[] {
    const none = (reason: string, index: number | null = null, name: string | null = null): GpuState => ({
      index,
      name,
      powerLimitW: null,
      mode: 'unavailable',
      reason,
      sampler: null,
      t: [],
      w: [],
    });
    if (!nvml.available) return [none(nvml.reason ?? 'NVML unavailable')];
    let devices: NvmlDevice[];
    try {
      devices = nvml.devices();
    } catch (e) {
      return [none(`NVML device query failed: ${message(e)}`)];
    }
    if (devices.length === 0) return [none('no NVIDIA GPU found by NVML')];
    const wanted = only ?? devices.map((d) => d.index);
    return wanted.map((index) => {
      const d = devices.find((x) => x.index === index);
      if (d === undefined) return none(`no NVML device ${index}`, index);
      const base = { index, name: d.name, powerLimitW: d.powerLimitW, sampler: null, t: [], w: [] };
      if (d.energyCounter) return { ...base, mode: 'counter' as const, reason: null };
      try {
        nvml.powerW(index);
        return { ...base, mode: 'sampling' as const, reason: `energy counter unsupported (${d.energyError ?? 'pre-Volta'})` };
      } catch (e) {
        return {
          ...base,
          mode: 'unavailable' as const,
          reason: `no energy counter (${d.energyError ?? 'unsupported'}) and power reading failed: ${message(e)}`,
        };
      }
    });
  }

  /** What each device will be measured with (before any window). */
  sources(): {
    gpu: Array<{ index: number | null; name: string | null; powerLimitW: number | null; method: EnergyMethod }>;
    cpu: { method: EnergyMethod; zones: string[] } | null;
  } {
    return {
      gpu: this.gpus.map((g) => ({
        index: g.index,
        name: g.name,
        powerLimitW: g.powerLimitW,
        method:
          g.mode === 'counter'
            ? 'nvml-counter'
            : g.mode === 'sampling'
              ? 'nvml-power-sampling'
              : (`unavailable: ${g.reason}` as EnergyMethod),
      })),
      cpu:
        this.rapl === null
          ? null
          : {
              method: this.raplCounter !== null ? 'rapl' : (`unavailable: ${this.cpuReason}` as EnergyMethod),
              zones: this.rapl.zones.map((z) => z.name),
            },
    };
  }

  /** Names of the open windows, outermost first. */
  openWindows(): string[] {
    return [...this.open.keys()];
  }

  /** Opens a window. Windows may nest (and overlap); names of open windows must be distinct. */
  begin(name: string): void {
    string('EnergyMeter.begin', 'window name', name);
    if (this.open.has(name)) throw new Error(`EnergyMeter.begin: window "${name}" is already open`);
    this.opts.synchronize?.();
    if (this.open.size === 0) this.startBackground();
    const start = this.mark();
    this.open.set(name, {
      name,
      startedAt: new Date().toISOString(),
      start,
      cost: costSnapshot(),
      progress: { wall: start.wall, joules: 0 },
    });
  }

  /** Closes a window and returns what it cost. */
  end(name: string, options: EndOptions = {}): EnergyResult {
    options = endOptions('EnergyMeter.end', options);
    const w = this.open.get(name);
    if (w === undefined) throw new Error(`EnergyMeter.end: no open window "${name}" (open: ${this.openWindows().join(', ') || 'none'})`);
    this.opts.synchronize?.();
    const endMark = this.mark();
    const cost = costDelta(w.cost, costSnapshot());
    this.drainSamplers();
    this.open.delete(name);
    const result = this.compute(w, endMark, cost, options);
    if (this.open.size === 0) this.stopBackground();
    return result;
  }

  /** Closes a window without a result (e.g. after an exception). */
  cancel(name: string): void {
    if (!this.open.delete(name)) return;
    if (this.open.size === 0) this.stopBackground();
  }

  /** Runs fn inside a window; works for sync and async functions. The window is cancelled if fn throws. */
  measure<T>(name: string, fn: () => Promise<T>, options?: EndOptions): Promise<EnergyResult & { value: T }>;
  measure<T>(name: string, fn: () => T, options?: EndOptions): EnergyResult & { value: T };
  measure<T>(
    name: string,
    fn: () => T | Promise<T>,
    options: EndOptions = {},
  ): (EnergyResult & { value: T }) | Promise<EnergyResult & { value: T }> {
    options = endOptions('EnergyMeter.measure', options);
    func('EnergyMeter.measure', 'fn', fn);
    this.begin(name);
    let out: T | Promise<T>;
    try {
      out = fn();
    } catch (e) {
      this.cancel(name);
      throw e;
    }
    if (out !== null && typeof out === 'object' && typeof (out as { then?: unknown }).then === 'function') {
      return Promise.resolve(out).then(
        (value) => ({ ...this.end(name, options), value }),
        (e: unknown) => {
          this.cancel(name);
          throw e;
        },
      );
    }
    return { ...this.end(name, options), value: out as T };
  }

  /** Energy so far in an open window (default: the innermost), without synchronising the device. */
  progress(name?: string): EnergyProgress | null {
    const key = name ?? [...this.open.keys()].at(-1);
    const w = key === undefined ? undefined : this.open.get(key);
    if (w === undefined) return null;
    this.drainSamplers();
    const m = this.mark();
    let joules: number | null = null;
    for (let i = 0; i < this.gpus.length; i++) {
      const j = this.gpuJoules(this.gpus[i]!, w.start, m, i).joules;
      if (j !== null) joules = (joules ?? 0) + j;
    }
    if (w.start.cpuJ !== null && m.cpuJ !== null) joules = (joules ?? 0) + (m.cpuJ - w.start.cpuJ);
    const dt = (m.wall - w.progress.wall) / 1000;
    const prevJ = w.progress.joules;
    const watts = joules !== null && prevJ !== null && dt > 0 ? (joules - prevJ) / dt : null;
    w.progress = { wall: m.wall, joules };
    const seconds = (m.wall - w.start.wall) / 1000;
    // estimates, as compute() makes them: only for devices with nothing measured, kept apart
    const est = this.opts.estimate ?? {};
    let estimatedJoules: number | null = null;
    if (est.gpuWatts !== undefined) {
      for (let i = 0; i < this.gpus.length; i++) {
        if (this.gpuJoules(this.gpus[i]!, w.start, m, i).joules === null) estimatedJoules = (estimatedJoules ?? 0) + est.gpuWatts * seconds;
      }
    }
    if (est.cpuWatts !== undefined && this.rapl !== null && (w.start.cpuJ === null || m.cpuJ === null))
      estimatedJoules = (estimatedJoules ?? 0) + est.cpuWatts * seconds;
    return { name: w.name, seconds, joules, watts, ...(estimatedJoules !== null ? { estimatedJoules } : {}) };
  }

  /** Power over time of every sampled GPU and of the CPU (RAPL polls), for charts. */
  powerSeries(): PowerSeries[] {
    this.drainSamplers();
    const out: PowerSeries[] = [];
    if (this.origin === null) return out;
    const o = this.origin;
    for (const g of this.gpus) {
      if (g.t.length === 0) continue;
      out.push({
        label: `GPU ${g.index}${g.name ? ` ${g.name}` : ''}`,
        tSeconds: g.t.map((t) => (t - o.nv) / 1000),
        watts: [...g.w],
      });
    }
    if (this.cpuSeries.t.length > 0) {
      out.push({ label: 'CPU (RAPL)', tSeconds: this.cpuSeries.t.map((t) => (t - o.wall) / 1000), watts: [...this.cpuSeries.w] });
    }
    return out;
  }

  /** Stops background sampling and discards open windows. */
  close(): void {
    this.open.clear();
    this.stopBackground();
  }

  // ---- internals ---------------------------------------------------------------------------------

  private startBackground(): void {
    const nvml = this.nvml;
    const period = this.opts.samplePeriodMs ?? 100;
    const wall = this.now();
    const nv = nvml !== null && nvml.available ? nvml.nowMs() : wall;
    this.origin ??= { wall, nv };
    if (nvml !== null) {
      for (const g of this.gpus) {
        const want = g.mode === 'sampling' || (g.mode === 'counter' && this.opts.samplePower !== false);
        if (!want || g.index === null) continue;
        try {
          g.sampler = nvml.startSampling(g.index, period);
        } catch (e) {
          if (g.mode === 'sampling') {
            g.mode = 'unavailable';
            g.reason = `power sampling failed to start: ${message(e)}`;
          }
        }
      }
    }
    if (this.raplCounter !== null) {
      this.lastCpuPoll = null;
      this.pollCpu();
      this.timer = setInterval(() => this.pollCpu(), this.opts.raplPollMs ?? 1000);
      this.timer.unref?.();
    }
  }

  private stopBackground(): void {
    for (const g of this.gpus) {
      if (g.sampler === null) continue;
      try {
        this.append(g, g.sampler.stop());
      } catch {
        /* the series so far stays */
      }
      g.sampler = null;
    }
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private append(g: GpuState, s: { timesMs: number[]; watts: number[] }): void {
    for (let i = 0; i < s.timesMs.length; i++) {
      const t = s.timesMs[i]!;
      if (g.t.length > 0 && t < g.t[g.t.length - 1]!) continue; // keep the series sorted
      g.t.push(t);
      g.w.push(s.watts[i]!);
    }
  }

  private drainSamplers(): void {
    for (const g of this.gpus) {
      if (g.sampler === null) continue;
      try {
        this.append(g, g.sampler.read());
      } catch {
        /* a failed read leaves the series as it is */
      }
    }
  }

  /** Reads the RAPL counter and records CPU power for the series. Returns J since the meter began. */
  private pollCpu(): number | null {
    const c = this.raplCounter;
    if (c === null) return null;
    const j = c.poll();
    if (j === null) return null;
    const wall = this.now();
    const last = this.lastCpuPoll;
    if (last !== null && wall - last.wall >= 50) {
      this.cpuSeries.t.push(wall);
      this.cpuSeries.w.push((j - last.joules) / ((wall - last.wall) / 1000));
    }
    if (last === null || wall - last.wall >= 50) this.lastCpuPoll = { wall, joules: j };
    return j;
  }

  private mark(): Mark {
    const nvml = this.nvml;
    const gpu: GpuMark[] = this.gpus.map((g) => {
      const m: GpuMark = { counterJ: null, counterError: null, powerW: null };
      if (nvml === null || g.index === null || g.mode === 'unavailable') return m;
      if (g.mode === 'counter') {
        try {
          m.counterJ = nvml.energyJ(g.index);
        } catch (e) {
          m.counterError = message(e);
        }
      }
      try {
        m.powerW = nvml.powerW(g.index);
      } catch {
        /* the samples may still cover the window */
      }
      return m;
    });
    const cpuJ = this.pollCpu();
    const wall = this.now();
    const nv = nvml !== null && nvml.available ? nvml.nowMs() : wall;
    return { wall, nv, cpuJ, gpu };
  }

  /** Power integral over [a.nv, b.nv]: the edge readings plus the samples strictly inside. */
  private integrate(g: GpuState, a: Mark, b: Mark, i: number): number | null {
    const t: number[] = [];
    const w: number[] = [];
    const lo = upperBound(g.t, a.nv);
    let hi = lo;
    while (hi < g.t.length && g.t[hi]! < b.nv) hi++;
    const p0 = a.gpu[i]!.powerW ?? (lo > 0 ? g.w[lo - 1]! : lo < hi ? g.w[lo]! : null);
    const p1 = b.gpu[i]!.powerW ?? (hi > lo ? g.w[hi - 1]! : null);
    if (p0 !== null) {
      t.push(a.nv);
      w.push(p0);
    }
    for (let k = lo; k < hi; k++) {
      t.push(g.t[k]!);
      w.push(g.w[k]!);
    }
    if (p1 !== null) {
      t.push(b.nv);
      w.push(p1);
    }
    if (t.length < 2) return null;
    return trapezoidJoules(t, w);
  }

  private gpuJoules(
    g: GpuState,
    a: Mark,
    b: Mark,
    i: number,
  ): { joules: number | null; method: EnergyMethod; note?: string; warning?: string } {
    const seconds = (b.wall - a.wall) / 1000;
    const ms = seconds * 1000;
    const period = this.opts.counterUpdatePeriodMs ?? 100;
    if (g.mode === 'unavailable') return { joules: null, method: `unavailable: ${g.reason}` };
    if (g.mode === 'counter') {
      const c0 = a.gpu[i]!.counterJ;
      const c1 = b.gpu[i]!.counterJ;
      const short = ms < period;
      if (c0 !== null && c1 !== null && c1 - c0 > 0) {
        return {
          joules: c1 - c0,
          method: 'nvml-counter',
          warning: short
            ? `GPU ${g.index}: window ${ms.toFixed(1)} ms is shorter than the NVML energy counter update period (~${period} ms); the value is coarse`
            : undefined,
        };
      }
      // The counter did not advance (short window) or could not be read: integrate power instead.
      const why =
        c0 === null || c1 === null
          ? `energy counter read failed: ${a.gpu[i]!.counterError ?? b.gpu[i]!.counterError}`
          : short
            ? `window ${ms.toFixed(1)} ms is shorter than the NVML energy counter update period (~${period} ms) and the counter did not advance`
            : 'the NVML energy counter did not advance';
      const j = this.integrate(g, a, b, i);
      if (j === null) return { joules: null, method: `unavailable: ${why}; no power readings either`, warning: `GPU ${g.index}: ${why}` };
      return {
        joules: j,
        method: 'nvml-power-sampling',
        note: why,
        warning: `GPU ${g.index}: ${why}; energy integrated from power readings instead`,
      };
    }
    // sampling
    const j = this.integrate(g, a, b, i);
    if (j === null) return { joules: null, method: 'unavailable: no power readings in the window' };
    const sp = this.opts.samplePeriodMs ?? 100;
    return {
      joules: j,
      method: 'nvml-power-sampling',
      note: g.reason ?? undefined,
      warning:
        ms < sp
          ? `GPU ${g.index}: window ${ms.toFixed(1)} ms is shorter than the power sampling period (${sp} ms); energy from the power readings at its edges only`
          : undefined,
    };
  }

  private compute(w: OpenWindow, b: Mark, cost: CostSnapshot, options: EndOptions): EnergyResult {
    const a = w.start;
    const seconds = (b.wall - a.wall) / 1000;
    const warnings: string[] = [];
    const est = this.opts.estimate ?? {};

    const gpu: GpuEnergy[] = this.gpus.map((g, i) => {
      const r = this.gpuJoules(g, a, b, i);
      if (r.warning) warnings.push(r.warning);
      const e: GpuEnergy = {
        index: g.index,
        name: g.name,
        joules: r.joules,
        method: r.method,
        meanWatts: r.joules !== null && seconds > 0 ? r.joules / seconds : null,
        powerLimitW: g.powerLimitW,
      };
      if (r.note) e.note = r.note;
      if (r.joules === null && est.gpuWatts !== undefined) {
        e.note = r.method.replace(/^unavailable: /, '');
        e.joules = est.gpuWatts * seconds;
        e.method = 'estimate';
        e.meanWatts = est.gpuWatts;
        warnings.push(
          `GPU${g.index === null ? '' : ` ${g.index}`}: estimated as ${est.gpuWatts} W × ${seconds.toFixed(3)} s (not measured: ${e.note})`,
        );
      }
      return e;
    });

    let cpu: CpuEnergy | null = null;
    if (this.rapl !== null) {
      const zones = this.rapl.zones.map((z) => z.name);
      if (a.cpuJ !== null && b.cpuJ !== null) {
        const j = b.cpuJ - a.cpuJ;
        cpu = { joules: j, method: 'rapl', meanWatts: seconds > 0 ? j / seconds : null, zones };
      } else {
        const reason = this.raplCounter?.error ?? this.cpuReason ?? 'RAPL read failed';
        cpu = { joules: null, method: `unavailable: ${reason}`, meanWatts: null };
        if (est.cpuWatts !== undefined) {
          cpu = { joules: est.cpuWatts * seconds, method: 'estimate', meanWatts: est.cpuWatts, note: reason };
          warnings.push(`CPU: estimated as ${est.cpuWatts} W × ${seconds.toFixed(3)} s (not measured: ${reason})`);
        }
      }
      for (const x of this.raplCounter?.warnings ?? []) if (!warnings.includes(`CPU: ${x}`)) warnings.push(`CPU: ${x}`);
    }

    let joules: number | null = null;
    let estimated: number | null = null;
    const parts: Array<{ label: string; joules: number | null; method: EnergyMethod }> = [
      ...gpu.map((g) => ({ label: g.index === null ? 'GPU' : `GPU ${g.index}`, joules: g.joules, method: g.method })),
      ...(cpu === null ? [] : [{ label: 'CPU', joules: cpu.joules, method: cpu.method }]),
    ];
    const unmeasured: string[] = [];
    for (const p of parts) {
      if (p.joules !== null && MEASURED.has(p.method)) joules = (joules ?? 0) + p.joules;
      else if (p.joules !== null && p.method === 'estimate') estimated = (estimated ?? 0) + p.joules;
      if (!MEASURED.has(p.method)) unmeasured.push(p.label);
    }
    if (joules !== null && unmeasured.length > 0) {
      warnings.push(`total covers measured devices only; not measured: ${unmeasured.join(', ')}`);
    }

    const kWh = joules === null ? null : joulesToKWh(joules);
    const result: EnergyResult = {
      name: w.name,
      startedAt: w.startedAt,
      seconds,
      gpu,
      cpu,
      joules,
      estimatedJoules: estimated,
      flops: cost.flops,
      bytes: cost.bytes,
      kernelCalls: cost.calls,
      flopsPerJoule: joules !== null && joules > 0 ? cost.flops / joules : null,
      kWh,
      co2eGrams: joules === null ? null : co2eGrams(joules, this.carbon),
      carbon: this.carbon,
      warnings,
    };
    if (options.samples !== undefined) {
      result.samples = options.samples;
      result.samplesPerSecond = seconds > 0 ? options.samples / seconds : 0;
      result.joulesPerSample = joules !== null && options.samples > 0 ? joules / options.samples : null;
    }
    return result;
  }
}
