import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NvmlBinding, NvmlPowerSeries } from '../../binding.js';
import { EnergyMeter, openNvml } from '../../lib/energy/index.js';
import { loadNative } from '../../lib/native.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const native = loadNative();
const addon = native.binding as (NvmlBinding & object) | null;
const hasNvmlExports = addon !== null && typeof addon.nvmlStatus === 'function';

function haveCc(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A JS stand-in for the addon's nvml* functions, to test the TS wrapper's conversions. */
function fakeBinding(): NvmlBinding & { calls: string[] } {
  const calls: string[] = [];
  const series: NvmlPowerSeries = {
    timesMs: new Float64Array([10, 20, 30]),
    watts: new Float64Array([100, 110, 120]),
    errors: 1,
    lastError: 'Unknown Error',
    next: 3,
  };
  const slice = (from = 0): NvmlPowerSeries => ({
    ...series,
    timesMs: series.timesMs.slice(from),
    watts: series.watts.slice(from),
  });
  return {
    calls,
    nvmlStatus: () => ({ available: true, error: null, detail: null, library: 'libnvidia-ml.so.1' }),
    nvmlDevices: () => [{ index: 0, name: 'Fake A100', powerLimitMw: 400000, energyCounter: true, energyError: null }],
    nvmlEnergyMj: (i) => (calls.push(`energy ${i}`), 123456),
    nvmlPowerMw: (i) => (calls.push(`power ${i}`), 250500),
    nvmlNowMs: () => 42,
    nvmlStartSampling: (i, p) => (calls.push(`start ${i} ${p}`), 7),
    nvmlReadSampling: (id, from) => (calls.push(`read ${id} ${from}`), slice(from)),
    nvmlStopSampling: (id, from) => (calls.push(`stop ${id} ${from}`), slice(from)),
  };
}

describe('NVML wrapper (lib/energy/nvml.ts)', () => {
  it('converts units and reads the sampler incrementally', () => {
    const b = fakeBinding();
    const nv = openNvml(b);
    expect(nv.available).toBe(true);
    expect(nv.devices()).toEqual([{ index: 0, name: 'Fake A100', powerLimitW: 400, energyCounter: true, energyError: null }]);
    expect(nv.energyJ(0)).toBe(123.456);
    expect(nv.powerW(0)).toBe(250.5);
    const s = nv.startSampling(0, 50);
    expect(s.read()).toEqual({ timesMs: [10, 20, 30], watts: [100, 110, 120] });
    expect(s.errors).toBe(1);
    expect(s.lastError).toBe('Unknown Error');
    expect(s.read()).toEqual({ timesMs: [], watts: [] }); // from = 3 now
    expect(s.stop()).toEqual({ timesMs: [], watts: [] });
    expect(s.stop()).toEqual({ timesMs: [], watts: [] }); // idempotent, no second native stop
    expect(b.calls).toEqual(['energy 0', 'power 0', 'start 0 50', 'read 7 0', 'read 7 3', 'stop 7 3']);
  });

  it('tolerates a missing binding and an unavailable NVML', () => {
    expect(openNvml(null).reason).toBe('native addon not loaded');
    expect(openNvml(undefined, 'ENOENT').reason).toBe('native addon not loaded: ENOENT');
    const b = {
      ...fakeBinding(),
      nvmlStatus: () => ({ available: false, error: 'libnvidia-ml.so.1 not found', detail: 'dlerror text', library: null }),
    };
    const nv = openNvml(b);
    expect(nv.available).toBe(false);
    expect(nv.reason).toBe('libnvidia-ml.so.1 not found');
    expect(nv.devices()).toEqual([]);
    expect(() => nv.energyJ(0)).toThrow(/NVML unavailable: libnvidia-ml.so.1 not found/);
  });
});

describe.skipIf(!hasNvmlExports)('NVML through the real addon', () => {
  it('on a machine without NVML: status says libnvidia-ml.so.1 not found, the meter says so too', () => {
    const st = addon!.nvmlStatus();
    expect(typeof st.available).toBe('boolean');
    if (st.available) return; // a machine with a driver: covered by the GPU runs
    expect(st.error).toBe('libnvidia-ml.so.1 not found');
    expect(() => addon!.nvmlDevices()).toThrow(/NVML unavailable: libnvidia-ml.so.1 not found/);
    expect(() => addon!.nvmlStartSampling(0, 10)).toThrow(/NVML unavailable/);
    const meter = new EnergyMeter({ nvml: openNvml(addon), cpu: false });
    const r = meter.measure('x', () => 0);
    expect(r.gpu[0]).toMatchObject({ index: null, joules: null, method: 'unavailable: libnvidia-ml.so.1 not found' });
  });

  it.skipIf(!haveCc())(
    'against a fake libnvidia-ml (child process): counters, power, sampler thread, clean exit with a sampler running',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-fakenvml-'));
      try {
        const lib = path.join(dir, 'libfakenvml.so');
        execFileSync('cc', ['-shared', '-fPIC', '-o', lib, path.join(here, 'fixtures', 'fake-nvml.c')]);
        const script = `
          const b = require(process.env.ADDON);
          const out = { status: b.nvmlStatus(), devices: b.nvmlDevices() };
          const e0 = b.nvmlEnergyMj(0);
          try { b.nvmlEnergyMj(1); } catch (e) { out.unsupported = { message: e.message, code: e.nvmlCode }; }
          try { b.nvmlPowerMw(9); } catch (e) { out.badIndex = e.message; }
          out.power1 = b.nvmlPowerMw(1);
          const id = b.nvmlStartSampling(1, 10);
          const t0 = b.nvmlNowMs();
          setTimeout(() => {
            const r = b.nvmlReadSampling(id);
            const s = b.nvmlStopSampling(id, r.next);
            out.energyDelta = b.nvmlEnergyMj(0) - e0;
            out.elapsed = b.nvmlNowMs() - t0;
            out.samples = r.timesMs.length + s.timesMs.length;
            out.watts = [...r.watts, ...s.watts];
            out.sorted = [...r.timesMs, ...s.timesMs].every((t, i, a) => i === 0 || t >= a[i - 1]);
            out.next = s.next;
            try { b.nvmlStopSampling(id); } catch (e) { out.dead = e.message; }
            b.nvmlStartSampling(0, 5); // left running: the env cleanup hook must join it at exit
            console.log(JSON.stringify(out));
          }, 300);`;
        const { stdout } = await run(process.execPath, ['-e', script], {
          env: { ...process.env, ADDON: native.path!, WATTGRAD_NVML_PATH: lib },
          timeout: 30_000,
        });
        const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
        expect(out.status).toEqual({ available: true, error: null, detail: null, library: lib });
        expect(out.devices).toEqual([
          { index: 0, name: 'Fake H100', powerLimitMw: 700000, energyCounter: true, energyError: null },
          { index: 1, name: 'Fake Kepler', powerLimitMw: 700000, energyCounter: false, energyError: 'Not Supported' },
        ]);
        expect(out.unsupported).toEqual({ message: 'wattgrad nvml nvmlDeviceGetTotalEnergyConsumption(1): Not Supported', code: 3 });
        expect(out.badIndex).toMatch(/nvmlDeviceGetHandleByIndex_v2\(9\): Invalid Argument/);
        expect(out.power1).toBe(100000);
        // 250 W for ~elapsed ms -> 0.25 mJ per ms
        expect(out.energyDelta).toBeGreaterThan(0.25 * out.elapsed * 0.8);
        expect(out.energyDelta).toBeLessThan(0.25 * out.elapsed * 1.2 + 5);
        expect(out.samples).toBeGreaterThanOrEqual(10); // ~30 at 10 ms over 300 ms; loaded CI is slower
        expect(out.watts.every((w: number) => w === 100)).toBe(true);
        expect(out.sorted).toBe(true);
        expect(out.next).toBe(out.samples);
        expect(out.dead).toMatch(/no running sampler/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
