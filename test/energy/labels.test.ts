// What the report and the text summary call each figure: train / validation / test accuracy by
// name, a device's unavailable reason once (not per row), and estimates apart from measurements.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordCost } from '../../lib/backend/counter.js';
import {
  EnergyMeter,
  formatEnergyProgress,
  formatEnergySummary,
  renderHtmlReport,
  type EnergyResult,
  type EpochRecord,
} from '../../lib/energy/index.js';
import { openNvml } from '../../lib/energy/nvml.js';
import { FakeNvml, ManualClock } from './fakes.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-labels-')); // an empty powercap tree: no RAPL
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Three epochs and the run, from a meter over `nvml` (no RAPL), with optional estimates. */
function run(o: { estimate?: { cpuWatts?: number; gpuWatts?: number }; gpu?: boolean } = {}): {
  rows: EnergyResult[];
  history: EpochRecord[];
} {
  const clock = new ManualClock();
  const nv = new FakeNvml(clock, [{ name: 'NVIDIA H100', energyJ: 0, powerW: 250 }]);
  const meter = new EnergyMeter({
    nvml: o.gpu === false ? openNvml(null, 'no addon here') : nv,
    rapl: { root },
    now: clock.now,
    estimate: o.estimate,
    samplePower: false,
  });
  const rows: EnergyResult[] = [];
  const history: EpochRecord[] = [];
  meter.begin('fit');
  for (let e = 1; e <= 3; e++) {
    meter.begin(`epoch ${e}`);
    recordCost('matmul', 1e12, 1e9);
    clock.advance(2000);
    nv.gpus[0]!.energyJ! += 500;
    const energy = meter.end(`epoch ${e}`, { samples: 1000 });
    rows.push(energy);
    history.push({ loss: 1 / e, accuracy: 0.9 + e / 100, valLoss: 1.1 / e, valAccuracy: 0.88 + e / 100, seconds: 2, energy });
  }
  rows.push(meter.end('fit', { samples: 3000 }));
  meter.close();
  return { rows, history };
}

const count = (s: string, sub: string): number => s.split(sub).length - 1;

describe('report labels each accuracy by what it is', () => {
  it('train accuracy, validation accuracy and a final test accuracy are three named cards', () => {
    const { rows, history } = run();
    const html = renderHtmlReport({ title: 't', history, summary: rows, test: { accuracy: 0.9785, samples: 2000 } });
    expect(html).toContain('<b>97.85%</b><span>test accuracy (final evaluation, 2,000 samples)</span>');
    expect(html).toContain('<b>93.00%</b><span>train accuracy (epoch 3)</span>');
    expect(html).toContain('<b>91.00%</b><span>validation accuracy (epoch 3)</span>');
    expect(html).not.toMatch(/final accuracy/);
    expect(html).toMatch(/<th>train loss<\/th><th>train accuracy<\/th><th>validation loss<\/th><th>validation accuracy<\/th>/);
  });

  it('a per-epoch evaluation on the test split is called test, with no duplicate card', () => {
    const { rows, history } = run();
    const html = renderHtmlReport({ title: 't', history, summary: rows, validationLabel: 'test', test: { accuracy: 0.91 } });
    expect(html).toMatch(/<th>test loss<\/th><th>test accuracy<\/th>/);
    expect(count(html, 'accuracy (epoch')).toBe(1); // the train card only
    expect(html).toContain('<span>test accuracy (final evaluation)</span>');
    expect(html).not.toMatch(/validation/);
    expect(html).toMatch(/class="lg"[^>]*>test</); // the chart legend
  });

  it('without a test result the cards are train and validation only', () => {
    const { history } = run();
    const html = renderHtmlReport({ title: 't', history });
    expect(html).toContain('train accuracy (epoch 3)');
    expect(html).toContain('validation accuracy (epoch 3)');
    expect(html).not.toMatch(/test accuracy/);
  });
});

describe('an unavailable device says why once', () => {
  it('HTML: the reason appears once under the energy table, rows say n/a', () => {
    const { rows, history } = run();
    const html = renderHtmlReport({ title: 't', history, summary: rows });
    const reason = rows[0]!.cpu!.method; // "unavailable: no RAPL package zones under …"
    expect(reason).toMatch(/^unavailable: /);
    expect(count(html, reason)).toBe(1);
    expect(count(html, 'GPU0:counter CPU:n/a')).toBe(4); // each row's short method
    expect(html).toMatch(/<ul class="methods"><li>GPU 0 \(NVIDIA H100\): nvml-counter<\/li><li>CPU: unavailable: /);
  });

  it('text: the reason once in methods, each warning once for all windows', () => {
    const { rows } = run();
    const text = formatEnergySummary(rows);
    expect(count(text, rows[0]!.cpu!.method)).toBe(1);
    expect(count(text, 'total covers measured devices only; not measured: CPU')).toBe(1);
    expect(text).not.toMatch(/epoch 1: total covers/);
  });
});

describe('estimates stay apart from measurements', () => {
  it('a CPU estimate beside a measured GPU: its own column, not in the total', () => {
    const { rows } = run({ estimate: { cpuWatts: 65 } });
    const fit = rows.at(-1)!;
    expect(fit.joules).toBe(1500); // GPU only, measured
    expect(fit.estimatedJoules).toBe(65 * 6);
    const text = formatEnergySummary(rows);
    expect(text).toMatch(/window +time +samples\/s +GPU 0 +CPU +total +estimated +J\/sample/);
    expect(text).toMatch(/\nfit +6\.00 s +500 +1\.50 kJ +~390 J +1\.50 kJ +~390 J +500 mJ /);
    expect(text).toMatch(/ {2}CPU: estimated: 65 W × window time, not a measurement \(not measured: no RAPL package zones/);
    expect(text).toMatch(/estimates \("~"\): .*never in total, J\/sample, FLOP\/J, kWh or CO2e/);
    expect(text).not.toMatch(/estimated as 65 W/); // the per-window meter warning is said once above instead
    const html = renderHtmlReport({ title: 't', history: [], summary: rows });
    expect(html).toMatch(/<th>measured energy<\/th><th>estimated<\/th>/);
    expect(html).toMatch(/<td>fit<\/td><td>6\.00 s<\/td><td>500<\/td><td>1\.50 kJ<\/td><td>~390 J<\/td>/);
    expect(html).toContain('<b>1.50 kJ</b><span>energy (measured)</span>');
    expect(html).toContain('<b>~390 J</b><span>energy (estimated, not measured)</span>');
  });

  it('nothing measured: total n/a, the estimate labelled, no CO2e from it', () => {
    const { rows } = run({ estimate: { cpuWatts: 40, gpuWatts: 200 }, gpu: false });
    const fit = rows.at(-1)!;
    expect(fit.joules).toBeNull();
    expect(fit.estimatedJoules).toBe(240 * 6);
    expect(fit.co2eGrams).toBeNull();
    const text = formatEnergySummary(rows);
    expect(text).toMatch(/\nfit +6\.00 s +500 +~1\.20 kJ +~240 J +n\/a +~1\.44 kJ +n\/a +n\/a +n\/a +GPU:estimate CPU:estimate/);
    const html = renderHtmlReport({ title: 't', history: [], summary: rows });
    expect(html).toContain('<b>n/a</b><span>energy (not measured: see methods)</span>');
    expect(html).toContain('<b>~1.44 kJ</b><span>energy (estimated, not measured)</span>');
  });
});

describe('progress lines', () => {
  it('show an estimate apart and marked, never as measured joules', () => {
    const clock = new ManualClock();
    const nv = new FakeNvml(clock, [{ name: 'G', energyJ: 0, powerW: 100 }]);
    const meter = new EnergyMeter({ nvml: nv, rapl: { root }, now: clock.now, estimate: { cpuWatts: 20 }, samplePower: false });
    meter.begin('epoch');
    clock.advance(2000);
    nv.gpus[0]!.energyJ = 500;
    const p = meter.progress()!;
    expect(p.joules).toBe(500); // the GPU, measured
    expect(p.estimatedJoules).toBe(40); // the CPU, 20 W × 2 s
    expect(formatEnergyProgress(p)).toBe('500 J 250 W + ~40.0 J est.');
    meter.end('epoch');
    meter.close();
    const only = new EnergyMeter({
      nvml: openNvml(null, 'none'),
      rapl: { root },
      now: clock.now,
      estimate: { cpuWatts: 20, gpuWatts: 100 },
    });
    only.begin('w');
    clock.advance(1000);
    expect(formatEnergyProgress(only.progress())).toBe('~120 J est.');
    only.close();
  });
});
