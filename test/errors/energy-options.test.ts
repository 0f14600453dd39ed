// EnergyMeter and carbon: misspelt options are errors with a did-you-mean; periods, watts and
// sample counts are checked.
import { describe, expect, it } from 'vitest';
import { EnergyMeter } from '../../lib/energy/meter.js';
import { resolveCarbon } from '../../lib/energy/carbon.js';

const quiet = { gpu: false, cpu: false } as const;

describe('energy options', () => {
  it('EnergyMeter rejects unknown keys, in nested options too', () => {
    expect(() => new EnergyMeter({ ...quiet, samplePeriod: 50 } as never)).toThrow(
      "EnergyMeter: unknown option 'samplePeriod' — did you mean 'samplePeriodMs'?",
    );
    expect(() => new EnergyMeter({ ...quiet, estimate: { cpuWatt: 10 } } as never)).toThrow(
      /EnergyMeter: estimate: unknown option 'cpuWatt' — did you mean 'cpuWatts'\?/,
    );
    expect(() => new EnergyMeter({ ...quiet, carbon: { PUE: 1.2 } } as never)).toThrow(
      /carbon: unknown option 'PUE' — did you mean 'pue'\?/,
    );
  });
  it('EnergyMeter checks values', () => {
    expect(() => new EnergyMeter({ ...quiet, samplePeriodMs: 0 })).toThrow(
      /EnergyMeter: invalid samplePeriodMs 0 \(must be a finite number > 0\)/,
    );
    expect(() => new EnergyMeter({ ...quiet, raplPollMs: NaN })).toThrow(/raplPollMs NaN/);
    expect(() => new EnergyMeter({ ...quiet, estimate: { cpuWatts: -5 } })).toThrow(/estimate.cpuWatts \(watts\) -5/);
    expect(() => new EnergyMeter({ ...quiet, estimate: { cpuWatts: Infinity } })).toThrow(/cpuWatts/);
    expect(() => new EnergyMeter({ gpu: 'all' as never, cpu: false })).toThrow(/EnergyMeter: invalid gpu "all"/);
    expect(() => new EnergyMeter({ gpu: [0, -1], cpu: false })).toThrow(/gpu\[1\] -1/);
    expect(() => new EnergyMeter({ ...quiet, synchronize: 1 as never })).toThrow(/synchronize 1 \(must be a function\)/);
    const m = new EnergyMeter({ ...quiet, estimate: { cpuWatts: 10 } });
    m.begin('w');
    expect(() => m.end('w', { sample: 5 } as never)).toThrow("EnergyMeter.end: unknown option 'sample' — did you mean 'samples'?");
    expect(() => m.end('w', { samples: -1 })).toThrow(/EnergyMeter.end: invalid samples -1/);
    expect(m.end('w', { samples: 4 }).samples).toBe(4);
    expect(() => m.measure('x', () => 1, { samples: 0.5 })).toThrow(/EnergyMeter.measure: invalid samples 0.5/);
    expect(m.openWindows()).toEqual([]);
    m.close();
  });
  it('carbon: intensity must be a number or a region code; lookups are own keys only', () => {
    expect(() => resolveCarbon({ intensity: true as never })).toThrow(/carbon: intensity must be gCO2e\/kWh \(a number\) or a region code/);
    expect(() => resolveCarbon({ intensity: 'constructor' })).toThrow(/carbon: unknown region "constructor"/);
    expect(() => resolveCarbon({ intensity: '__proto__' })).toThrow(/unknown region/);
    expect(resolveCarbon({ intensity: 'fr' }).region).toBe('FR');
  });
});

describe('report data', () => {
  it('writeHtmlReport/renderHtmlReport reject misspelt keys (a silently missing chart or card)', async () => {
    const { renderHtmlReport } = await import('../../lib/energy/report.js');
    const history = [{ epoch: 1, loss: 0.5, accuracy: 0.9, seconds: 1, energy: null }];
    expect(() => renderHtmlReport({ title: 't', history, note: ['x'] } as never)).toThrow(
      "writeHtmlReport: unknown option 'note' — did you mean 'notes'?",
    );
    expect(() => renderHtmlReport({ title: 't', history, test: { acc: 0.9 } } as never)).toThrow(
      /writeHtmlReport: test: unknown option 'acc' — did you mean 'accuracy'\?/,
    );
    expect(() => renderHtmlReport({ title: 't', history: 3 } as never)).toThrow(/history must be an array/);
    expect(renderHtmlReport({ title: 't', history, notes: ['x'] })).toMatch(/<html/i);
  });
});

describe('meter window names', () => {
  it('a window name must be a non-empty string', () => {
    const m = new EnergyMeter({ gpu: false, cpu: false });
    expect(() => m.begin(5 as never)).toThrow(/EnergyMeter.begin: invalid window name 5 \(must be a non-empty string\)/);
    expect(() => m.begin('')).toThrow(/invalid window name ""/);
    expect(m.openWindows()).toEqual([]);
    m.close();
  });
});
