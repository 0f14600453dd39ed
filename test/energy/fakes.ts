// Test doubles: a manual clock and an NVML source with scripted counters and power samples.

import type { NvmlDevice, NvmlSource, PowerSampler } from '../../lib/energy/nvml.js';

export class ManualClock {
  ms = 1000;
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface FakeGpu {
  name: string;
  /** null: no energy counter (pre-Volta) */
  energyJ: number | null;
  powerW: number;
  powerLimitW?: number;
}

/** Every call is logged, so tests can check that the device was synchronised before a read. */
export class FakeNvml implements NvmlSource {
  readonly available = true;
  readonly reason = null;
  readonly log: string[] = [];
  /** samples handed out by the next read() of each device's sampler */
  pending = new Map<number, { timesMs: number[]; watts: number[] }>();
  running = new Set<number>();

  constructor(
    readonly clock: ManualClock,
    readonly gpus: FakeGpu[],
  ) {}

  devices(): NvmlDevice[] {
    return this.gpus.map((g, index) => ({
      index,
      name: g.name,
      powerLimitW: g.powerLimitW ?? 700,
      energyCounter: g.energyJ !== null,
      energyError: g.energyJ === null ? 'Not Supported' : null,
    }));
  }
  energyJ(index: number): number {
    this.log.push(`energy ${index}`);
    const e = this.gpus[index]!.energyJ;
    if (e === null) throw Object.assign(new Error('Not Supported'), { nvmlCode: 3 });
    return e;
  }
  powerW(index: number): number {
    this.log.push(`power ${index}`);
    return this.gpus[index]!.powerW;
  }
  nowMs(): number {
    return this.clock.ms;
  }
  /** queues samples (absolute clock ms) for device `index` */
  addSamples(index: number, timesMs: number[], watts: number[]): void {
    const p = this.pending.get(index) ?? { timesMs: [], watts: [] };
    p.timesMs.push(...timesMs);
    p.watts.push(...watts);
    this.pending.set(index, p);
  }
  startSampling(index: number, _periodMs: number): PowerSampler {
    this.log.push(`start ${index}`);
    this.running.add(index);
    const take = () => {
      const p = this.pending.get(index) ?? { timesMs: [], watts: [] };
      this.pending.delete(index);
      return p;
    };
    return {
      read: take,
      stop: () => {
        this.log.push(`stop ${index}`);
        this.running.delete(index);
        return take();
      },
      errors: 0,
      lastError: null,
    };
  }
}
