import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordCost } from '../../lib/backend/counter.js';
import {
  EnergyMeter,
  formatEnergyProgress,
  formatEnergySummary,
  GRID_INTENSITY,
  openNvml,
  resolveCarbon,
  co2eGrams,
  type EnergyResult,
} from '../../lib/energy/index.js';
import { FakeNvml, ManualClock } from './fakes.js';

let root: string;
let clock: ManualClock;

function raplZone(id: string, energyUj: number): void {
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'name'), 'package-0');
  fs.writeFileSync(path.join(dir, 'energy_uj'), String(energyUj));
  fs.writeFileSync(path.join(dir, 'max_energy_range_uj'), '262143328850');
}
const setRapl = (id: string, uj: number) => fs.writeFileSync(path.join(root, id, 'energy_uj'), String(uj));

/** Every number-valued energy field is either a real measurement or null, never a silent 0. */
function expectNoSilentZeros(r: EnergyResult): void {
  for (const g of r.gpu) {
    if (g.method.startsWith('unavailable')) expect(g.joules).toBeNull();
    if (g.joules !== null) expect(g.joules).toBeGreaterThan(0);
  }
  if (r.cpu !== null && r.cpu.method.startsWith('unavailable')) expect(r.cpu.joules).toBeNull();
  if (r.joules === null) {
    expect(r.kWh).toBeNull();
    expect(r.co2eGrams).toBeNull();
    expect(r.flopsPerJoule).toBeNull();
  }
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-meter-'));
  clock = new ManualClock();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('EnergyMeter on this machine (no NVML, no RAPL)', () => {
  it('says why nothing was measured instead of reporting 0 J', () => {
    const meter = new EnergyMeter({ rapl: { root } });
    const r = meter.measure('step', () => 1 + 1);
    expect(r.value).toBe(2);
    expect(r.gpu).toHaveLength(1);
    expect(r.gpu[0]!.joules).toBeNull();
    expect(r.gpu[0]!.index).toBeNull();
    expect(r.gpu[0]!.method).toMatch(/^unavailable: (libnvidia-ml\.so\.1 not found|native addon not loaded)/);
    expect(r.cpu).not.toBeNull();
    expect(r.cpu!.joules).toBeNull();
    expect(r.cpu!.method).toMatch(/^unavailable: no RAPL package zones under /);
    expect(r.joules).toBeNull();
    expect(r.estimatedJoules).toBeNull();
    expect(r.seconds).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(r.warnings)).toBe(true);
    expectNoSilentZeros(r);
    const text = formatEnergySummary(r);
    expect(text).toMatch(/n\/a/);
    expect(text).toMatch(/unavailable: /);
    expect(text).not.toMatch(/\b0 J\b/);
  });

  it('an addon that did not load is named as the reason', () => {
    const meter = new EnergyMeter({ nvml: openNvml(null, 'wattgrad.node not built'), cpu: false });
    const r = meter.measure('x', () => undefined);
    expect(r.gpu[0]!.method).toBe('unavailable: native addon not loaded: wattgrad.node not built');
    expect(r.cpu).toBeNull();
  });

  it('estimates only when asked, labelled, and never in kWh/CO2e/FLOP/J', () => {
    const meter = new EnergyMeter({
      nvml: openNvml(null, 'no addon'),
      rapl: { root },
      now: clock.now,
      estimate: { gpuWatts: 300, cpuWatts: 65 },
    });
    meter.begin('e');
    clock.advance(2000);
    const r = meter.end('e', { samples: 100 });
    expect(r.gpu[0]).toMatchObject({ joules: 600, method: 'estimate', note: 'native addon not loaded: no addon' });
    expect(r.cpu).toMatchObject({ joules: 130, method: 'estimate' });
    expect(r.joules).toBeNull();
    expect(r.estimatedJoules).toBe(730);
    expect(r.kWh).toBeNull();
    expect(r.co2eGrams).toBeNull();
    expect(r.flopsPerJoule).toBeNull();
    expect(r.joulesPerSample).toBeNull();
    expect(r.warnings.join('\n')).toMatch(/estimated as 300 W × 2\.000 s/);
    expect(formatEnergySummary(r)).toMatch(/~600 J/);
  });
});

describe('EnergyMeter with a fake NVML', () => {
  it('takes counter differences, synchronising before each read', () => {
    const nv = new FakeNvml(clock, [{ name: 'Fake H100', energyJ: 1000, powerW: 250 }]);
    const order: string[] = [];
    const meter = new EnergyMeter({
      nvml: nv,
      cpu: false,
      now: clock.now,
      samplePower: false,
      synchronize: () => nv.log.push('sync'),
    });
    meter.begin('epoch');
    clock.advance(4000);
    nv.gpus[0]!.energyJ = 2000;
    const r = meter.end('epoch');
    order.push(...nv.log);
    // sync precedes every counter read
    const reads = order.flatMap((x, i) => (x === 'energy 0' ? [i] : []));
    expect(reads).toHaveLength(2);
    for (const i of reads) expect(order.slice(0, i).lastIndexOf('sync')).toBeGreaterThan(order.slice(0, i).lastIndexOf('energy 0'));
    expect(r.gpu[0]).toMatchObject({ index: 0, name: 'Fake H100', joules: 1000, method: 'nvml-counter', meanWatts: 250, powerLimitW: 700 });
    expect(r.joules).toBe(1000);
    expect(r.seconds).toBe(4);
    expect(r.warnings).toEqual([]);
  });

  it('integrates sampled power (trapezoid) where the counter is unsupported', () => {
    const nv = new FakeNvml(clock, [{ name: 'Fake Kepler', energyJ: null, powerW: 100 }]);
    const meter = new EnergyMeter({ nvml: nv, cpu: false, now: clock.now });
    meter.begin('w'); // t = 1000, edge reading 100 W
    expect(nv.running.has(0)).toBe(true);
    nv.addSamples(0, [1500, 2000, 2500], [200, 200, 100]);
    clock.advance(2000); // t = 3000
    nv.gpus[0]!.powerW = 100; // edge reading at the end
    const r = meter.end('w');
    // points (1000,100) (1500,200) (2000,200) (2500,100) (3000,100):
    // 0.5*(150) + 0.5*(200) + 0.5*(150) + 0.5*(100) = 75 + 100 + 75 + 50 = 300 J
    expect(r.gpu[0]).toMatchObject({ joules: 300, method: 'nvml-power-sampling' });
    expect(r.gpu[0]!.note).toMatch(/energy counter unsupported \(Not Supported\)/);
    expect(nv.running.has(0)).toBe(false); // stopped with the last window
    const series = meter.powerSeries();
    expect(series).toHaveLength(1);
    expect(series[0]!.tSeconds).toEqual([0.5, 1, 1.5]);
    expect(series[0]!.watts).toEqual([200, 200, 100]);
  });

  it('flags a window shorter than the counter update period instead of reporting 0 J', () => {
    const nv = new FakeNvml(clock, [{ name: 'Fake H100', energyJ: 5000, powerW: 300 }]);
    const meter = new EnergyMeter({ nvml: nv, cpu: false, now: clock.now });
    meter.begin('tiny');
    clock.advance(20); // the counter does not move in 20 ms
    const r = meter.end('tiny');
    expect(r.gpu[0]!.joules).toBeCloseTo(6, 12); // 300 W × 0.02 s from the edge readings
    expect(r.gpu[0]!.method).toBe('nvml-power-sampling');
    expect(r.warnings.join('\n')).toMatch(/window 20\.0 ms is shorter than the NVML energy counter update period \(~100 ms\)/);

    meter.begin('tiny2');
    clock.advance(50);
    nv.gpus[0]!.energyJ = 5015; // the counter did tick once
    const r2 = meter.end('tiny2');
    expect(r2.gpu[0]).toMatchObject({ joules: 15, method: 'nvml-counter' });
    expect(r2.warnings[0]).toMatch(/shorter than the NVML energy counter update period.*coarse/);
  });

  it('carbon and FLOP/J arithmetic with exact numbers', () => {
    raplZone('intel-rapl:0', 0);
    const nv = new FakeNvml(clock, [{ name: 'Fake H100', energyJ: 0, powerW: 250 }]);
    const meter = new EnergyMeter({ nvml: nv, rapl: { root }, now: clock.now, carbon: { pue: 1.5, intensity: 400 } });
    meter.begin('run');
    recordCost('matmul', 7.2e12, 1e9);
    recordCost('relu', 0, 2e9);
    clock.advance(10_000);
    nv.gpus[0]!.energyJ = 3000;
    setRapl('intel-rapl:0', 600_000_000); // 600 J
    const r = meter.end('run', { samples: 1200 });
    expect(r.gpu[0]!.joules).toBe(3000);
    expect(r.cpu).toMatchObject({ joules: 600, method: 'rapl', zones: ['package-0'], meanWatts: 60 });
    expect(r.joules).toBe(3600);
    expect(r.kWh).toBe(0.001);
    expect(r.co2eGrams).toBeCloseTo(0.6, 12); // 0.001 kWh × 1.5 × 400 g/kWh
    expect(r.flops).toBe(7.2e12);
    expect(r.bytes).toBe(3e9);
    expect(r.kernelCalls).toBe(2);
    expect(r.flopsPerJoule).toBe(2e9);
    expect(r.samples).toBe(1200);
    expect(r.samplesPerSecond).toBe(120);
    expect(r.joulesPerSample).toBe(3);
    expect(r.carbon).toEqual({ pue: 1.5, gPerKWh: 400, region: null, source: 'user-supplied' });
    expectNoSilentZeros(r);
  });

  it('windows nest; each gets its own energy and FLOPs', () => {
    const nv = new FakeNvml(clock, [{ name: 'G', energyJ: 0, powerW: 100 }]);
    const meter = new EnergyMeter({ nvml: nv, cpu: false, now: clock.now, samplePower: false });
    meter.begin('outer');
    recordCost('a', 100, 0);
    clock.advance(1000);
    nv.gpus[0]!.energyJ = 100;
    meter.begin('inner');
    expect(meter.openWindows()).toEqual(['outer', 'inner']);
    expect(() => meter.begin('inner')).toThrow(/already open/);
    recordCost('b', 50, 0);
    clock.advance(2000);
    nv.gpus[0]!.energyJ = 300;
    const inner = meter.end('inner');
    clock.advance(1000);
    nv.gpus[0]!.energyJ = 450;
    const outer = meter.end('outer');
    expect(inner).toMatchObject({ seconds: 2, joules: 200, flops: 50 });
    expect(outer).toMatchObject({ seconds: 4, joules: 450, flops: 150 });
    expect(() => meter.end('outer')).toThrow(/no open window "outer"/);
  });

  it('measure() works for async functions and cancels the window on a throw', async () => {
    const nv = new FakeNvml(clock, [{ name: 'G', energyJ: 0, powerW: 100 }]);
    const meter = new EnergyMeter({ nvml: nv, cpu: false, now: clock.now });
    const r = await meter.measure(
      'async',
      async () => {
        await new Promise((res) => setTimeout(res, 5));
        clock.advance(500);
        nv.gpus[0]!.energyJ = 50;
        return 'done';
      },
      { samples: 10 },
    );
    expect(r).toMatchObject({ name: 'async', value: 'done', joules: 50, seconds: 0.5, joulesPerSample: 5 });
    await expect(meter.measure('bad', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(() =>
      meter.measure('bad-sync', () => {
        throw new Error('sync boom');
      }),
    ).toThrow('sync boom');
    expect(meter.openWindows()).toEqual([]);
    expect(nv.running.size).toBe(0);
  });

  it('progress() gives J and W so far for progress lines', () => {
    const nv = new FakeNvml(clock, [{ name: 'G', energyJ: 0, powerW: 100 }]);
    const meter = new EnergyMeter({ nvml: nv, cpu: false, now: clock.now });
    meter.begin('epoch');
    clock.advance(2000);
    nv.gpus[0]!.energyJ = 500;
    const p = meter.progress();
    expect(p).toEqual({ name: 'epoch', seconds: 2, joules: 500, watts: 250 });
    expect(formatEnergyProgress(p)).toBe('500 J 250 W');
    clock.advance(1000);
    nv.gpus[0]!.energyJ = 1700;
    expect(formatEnergyProgress(meter.progress('epoch'))).toBe('1.70 kJ 1.20 kW');
    meter.end('epoch');
    expect(meter.progress()).toBeNull();
    expect(formatEnergyProgress(null)).toBe('energy n/a');
  });

  it('a multi-window summary table reads as a table', () => {
    const nv = new FakeNvml(clock, [{ name: 'Fake H100', energyJ: 0, powerW: 100 }]);
    const meter = new EnergyMeter({ nvml: nv, rapl: { root }, now: clock.now, samplePower: false });
    const rs: EnergyResult[] = [];
    for (let e = 1; e <= 2; e++) {
      meter.begin(`epoch ${e}`);
      recordCost('matmul', 1e12, 0);
      clock.advance(5000);
      nv.gpus[0]!.energyJ! += 1000;
      rs.push(meter.end(`epoch ${e}`, { samples: 60000 }));
    }
    const text = formatEnergySummary(rs);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^window\s+time\s+samples\/s\s+GPU 0\s+CPU\s+total\s+J\/sample\s+FLOP\/J\s+CO2e\s+method$/);
    expect(lines[2]).toMatch(
      /^epoch 1\s+5\.00 s\s+12\.0 k\s+1\.00 kJ\s+n\/a\s+1\.00 kJ\s+16\.7 mJ\s+1\.00 G\s+134 mg\s+GPU0:counter CPU:n\/a$/,
    );
    expect(text).toMatch(/GPU 0 \(Fake H100\): nvml-counter/);
    expect(text).toMatch(/CPU: unavailable: no RAPL package zones/);
    expect(text).toMatch(/carbon: 481 gCO2e\/kWh \(WORLD, World average, Ember/);
  });
});

describe('carbon', () => {
  it('defaults: PUE 1.0 and the world average', () => {
    expect(resolveCarbon()).toMatchObject({ pue: 1, gPerKWh: GRID_INTENSITY.WORLD!.gPerKWh, region: 'WORLD' });
    expect(resolveCarbon({ intensity: 'fr' })).toMatchObject({ gPerKWh: 56, region: 'FR' });
    expect(resolveCarbon().source).toMatch(/Ember.*2023/);
    expect(() => resolveCarbon({ intensity: 'XX' })).toThrow(/unknown region/);
    expect(() => resolveCarbon({ pue: 0.5 })).toThrow(/pue/);
  });
  it('co2e = kWh × PUE × intensity', () => {
    // 7.2e6 J = 2 kWh; × 1.2 × 500 = 1200 g
    expect(co2eGrams(7.2e6, { pue: 1.2, gPerKWh: 500, region: null, source: 'x' })).toBeCloseTo(1200, 9);
    expect(co2eGrams(3.6e6, resolveCarbon({ intensity: 'IN' }))).toBe(713);
  });
});
