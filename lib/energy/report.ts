// A self-contained HTML training report: loss/accuracy per epoch, power over time, energy per
// epoch (inline SVG we generate; no scripts, no CDN), the energy summary with its methods, and
// the per-epoch table. Written atomically (temp file in the same directory, then rename).
//
// Every figure says what it is: "train accuracy" (the epoch's running training metric), the
// per-epoch evaluation under its own name ("validation" by default; the CLI evaluates on the test
// split each epoch and says "test"), and a final "test accuracy" when one is given. A device's
// method (and the reason it was not measured) is said once under the energy table, not per row.

import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { energyMethods, energyWarnings, formatGrams, formatJoules, formatSeconds, formatSI, shortMethods } from './format.js';
import type { EnergyResult, PowerSeries } from './meter.js';
import { barChart, downsample, emptyChart, escapeHtml, lineChart, type Bar } from './svg.js';
import { checkOptions, type OptionKeys } from '../options.js';

const REPORT_KEYS: OptionKeys<HtmlReportData> = {
  title: true,
  history: true,
  powerSeries: true,
  summary: true,
  notes: true,
  validationLabel: true,
  test: true,
};

export interface EpochRecord {
  /** 1-based epoch number; default position + 1 */
  epoch?: number;
  /** mean training loss of the epoch */
  loss: number;
  /** training accuracy of the epoch (NaN when not tracked) */
  accuracy: number;
  /** loss / accuracy of the per-epoch evaluation (named by HtmlReportData.validationLabel) */
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  /** the epoch's EnergyResult, or measured joules, or null when not measured */
  energy: EnergyResult | number | null;
}

export interface HtmlReportData {
  title: string;
  history: EpochRecord[];
  /** from EnergyMeter.powerSeries() */
  powerSeries?: PowerSeries[];
  /** the run's result(s), e.g. the whole-run window */
  summary?: EnergyResult | EnergyResult[];
  /** free lines shown under the title (model, dataset, backend, …) */
  notes?: string[];
  /** what the per-epoch evaluation (valLoss, valAccuracy) ran on: 'validation' (default), 'test', … */
  validationLabel?: string;
  /** a final evaluation on held-out data, shown as its own "test accuracy" card */
  test?: { accuracy?: number; loss?: number; samples?: number };
}

function epochEnergy(e: EpochRecord): { joules: number | null; estimate: boolean } {
  if (e.energy === null || e.energy === undefined) return { joules: null, estimate: false };
  if (typeof e.energy === 'number') return { joules: Number.isFinite(e.energy) ? e.energy : null, estimate: false };
  if (e.energy.joules !== null) return { joules: e.energy.joules, estimate: false };
  return { joules: e.energy.estimatedJoules, estimate: e.energy.estimatedJoules !== null };
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f3f4f6}
main{max-width:1160px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.notes{color:#4b5563;margin:0 0 12px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:16px 0}
.kpi{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}
.kpi b{display:block;font-size:18px}.kpi span{color:#6b7280;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
.chart{width:100%;height:auto;background:#fff;border:1px solid #e5e7eb;border-radius:8px}
.ct{font-size:14px;font-weight:600;fill:#111827}.tick{font-size:11px;fill:#6b7280}.al{font-size:12px;fill:#374151}
.lg{font-size:11px;fill:#374151}.grid{stroke:#eef0f3}.axis{stroke:#9ca3af}.na{font-size:12px;fill:#9ca3af}
.empty{fill:#f9fafb;stroke:#e5e7eb}
table{border-collapse:collapse;background:#fff;border:1px solid #e5e7eb;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid #eef0f3;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f9fafb;font-weight:600}
td.m,th.m{text-align:left;white-space:normal;color:#374151}
ul.methods{color:#374151;margin:8px 0;padding-left:20px}
ul.w{color:#92400e;background:#fffbeb;border:1px solid #fde68a;border-radius:8px;padding:8px 8px 8px 28px}
footer{color:#6b7280;font-size:12px;margin-top:24px}
`;

function kpi(label: string, value: string): string {
  return `<div class="kpi"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

function summaryTable(results: EnergyResult[]): string {
  const anyEstimate = results.some((r) => r.estimatedJoules !== null);
  const rows = results.map((r) => {
    return (
      `<tr><td>${escapeHtml(r.name)}</td><td>${formatSeconds(r.seconds)}</td>` +
      `<td>${r.samplesPerSecond === undefined ? '' : formatSI(r.samplesPerSecond)}</td>` +
      `<td>${escapeHtml(formatJoules(r.joules))}</td>` +
      (anyEstimate ? `<td>${r.estimatedJoules === null ? '' : escapeHtml(`~${formatJoules(r.estimatedJoules)}`)}</td>` : '') +
      `<td>${r.joulesPerSample === undefined ? '' : formatJoules(r.joulesPerSample)}</td>` +
      `<td>${r.flopsPerJoule === null ? 'n/a' : formatSI(r.flopsPerJoule)}</td>` +
      `<td>${r.kWh === null ? 'n/a' : r.kWh.toPrecision(3)}</td>` +
      `<td>${formatGrams(r.co2eGrams)}</td><td class="m">${escapeHtml(shortMethods(r))}</td></tr>`
    );
  });
  // each device's method, and why one was not measured, once for the whole table
  const methods = energyMethods(results);
  return (
    `<table class="summary"><thead><tr><th>window</th><th>time</th><th>samples/s</th><th>measured energy</th>` +
    (anyEstimate ? '<th>estimated</th>' : '') +
    `<th>J/sample</th><th>FLOP/J</th><th>kWh</th><th>CO2e</th><th class="m">method</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<ul class="methods">${methods.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>` +
    (anyEstimate
      ? '<p class="notes">"~" marks an estimate (the watts you gave × time, for a device that could not be measured): shown apart, never added to the measured energy, J/sample, FLOP/J, kWh or CO2e.</p>'
      : '')
  );
}

function historyTable(history: EpochRecord[], valLabel: string): string {
  const hasVal = history.some((e) => e.valLoss !== undefined || e.valAccuracy !== undefined);
  const num = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));
  const rows = history.map((e, i) => {
    const en = epochEnergy(e);
    const energy = en.joules === null ? 'n/a' : `${en.estimate ? '~' : ''}${formatJoules(en.joules)}`;
    const r = typeof e.energy === 'object' && e.energy !== null ? e.energy : null;
    return (
      `<tr><td>${e.epoch ?? i + 1}</td><td>${num(e.loss, 4)}</td><td>${num(e.accuracy * 100, 2)}%</td>` +
      (hasVal ? `<td>${num(e.valLoss, 4)}</td><td>${e.valAccuracy === undefined ? '' : `${num(e.valAccuracy * 100, 2)}%`}</td>` : '') +
      `<td>${formatSeconds(e.seconds)}</td><td>${escapeHtml(energy)}</td>` +
      `<td>${r?.joulesPerSample === undefined || r.joulesPerSample === null ? '' : formatJoules(r.joulesPerSample)}</td>` +
      `<td>${r === null || r.flopsPerJoule === null ? '' : formatSI(r.flopsPerJoule)}</td></tr>`
    );
  });
  return (
    `<table class="history"><thead><tr><th>epoch</th><th>train loss</th><th>train accuracy</th>` +
    (hasVal ? `<th>${escapeHtml(valLabel)} loss</th><th>${escapeHtml(valLabel)} accuracy</th>` : '') +
    `<th>time</th><th>energy</th><th>J/sample</th><th>FLOP/J</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** The report as one HTML string (no external resources). */
export function renderHtmlReport(data: HtmlReportData): string {
  if (!data || typeof data !== 'object') throw new TypeError('writeHtmlReport: expected { title, history, ... } as the report data');
  checkOptions('writeHtmlReport', data, REPORT_KEYS);
  if (data.test !== undefined) checkOptions('writeHtmlReport: test', data.test, ['accuracy', 'loss', 'samples']);
  if (!Array.isArray(data.history))
    throw new TypeError(`writeHtmlReport: history must be an array of epoch records, got ${typeof data.history}`);
  const history = data.history;
  const epochs = history.map((e, i) => e.epoch ?? i + 1);
  const summaries = data.summary === undefined ? [] : Array.isArray(data.summary) ? data.summary : [data.summary];
  const hasValLoss = history.some((e) => e.valLoss !== undefined);
  const hasValAcc = history.some((e) => e.valAccuracy !== undefined);
  const valLabel = data.validationLabel ?? 'validation';

  const lossChart = lineChart({ id: 'loss', title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', xIntegers: true }, [
    { label: 'train', x: epochs, y: history.map((e) => e.loss), dots: true },
    ...(hasValLoss ? [{ label: valLabel, x: epochs, y: history.map((e) => e.valLoss ?? null), dashed: true, dots: true }] : []),
  ]);
  const accChart = lineChart({ id: 'accuracy', title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy (%)', xIntegers: true }, [
    { label: 'train', x: epochs, y: history.map((e) => e.accuracy * 100), dots: true },
    ...(hasValAcc
      ? [
          {
            label: valLabel,
            x: epochs,
            y: history.map((e) => (e.valAccuracy === undefined ? null : e.valAccuracy * 100)),
            dashed: true,
            dots: true,
          },
        ]
      : []),
  ]);
  const series = (data.powerSeries ?? []).filter((s) => s.tSeconds.length > 0);
  const powerChart =
    series.length === 0
      ? emptyChart({ id: 'power', title: 'Power over time', xLabel: 's', yLabel: 'W' }, 'no power samples (NVML/RAPL unavailable)')
      : lineChart(
          { id: 'power', title: 'Power over time', xLabel: 'time (s)', yLabel: 'power (W)' },
          series.map((s) => {
            const d = downsample(s.tSeconds, s.watts, 1200);
            return { label: s.label, x: d.x, y: d.y };
          }),
        );
  const bars: Bar[] = history.map((e, i) => {
    const en = epochEnergy(e);
    return { label: String(epochs[i]), value: en.joules, estimate: en.estimate };
  });
  const energyChart = barChart({ id: 'energy', title: 'Energy per epoch', xLabel: 'epoch', yLabel: 'energy (J)' }, bars);

  const kpis: string[] = [];
  const run = summaries.at(-1);
  if (run !== undefined) {
    kpis.push(kpi('time', formatSeconds(run.seconds)));
    kpis.push(kpi(run.joules !== null ? 'energy (measured)' : 'energy (not measured: see methods)', formatJoules(run.joules)));
    if (run.estimatedJoules !== null) kpis.push(kpi('energy (estimated, not measured)', `~${formatJoules(run.estimatedJoules)}`));
    if (run.joulesPerSample !== undefined) kpis.push(kpi('J / sample', formatJoules(run.joulesPerSample)));
    kpis.push(kpi('FLOP / J', run.flopsPerJoule === null ? 'n/a' : formatSI(run.flopsPerJoule)));
    kpis.push(kpi(`CO2e (${run.carbon.gPerKWh} g/kWh × PUE ${run.carbon.pue})`, formatGrams(run.co2eGrams)));
  }
  const last = history.at(-1);
  const lastN = last === undefined ? 0 : (last.epoch ?? history.length);
  const test = data.test;
  if (test?.accuracy !== undefined && Number.isFinite(test.accuracy)) {
    kpis.push(
      kpi(`test accuracy (final evaluation${test.samples ? `, ${test.samples.toLocaleString('en-US')} samples` : ''})`, pct(test.accuracy)),
    );
  }
  // the last epoch's evaluation, unless it is the test card above under another name
  if (last?.valAccuracy !== undefined && Number.isFinite(last.valAccuracy) && !(test?.accuracy !== undefined && valLabel === 'test')) {
    kpis.push(kpi(`${valLabel} accuracy (epoch ${lastN})`, pct(last.valAccuracy)));
  }
  if (last !== undefined && Number.isFinite(last.accuracy)) kpis.push(kpi(`train accuracy (epoch ${lastN})`, pct(last.accuracy)));

  const warnings = energyWarnings(summaries);
  const carbon = run?.carbon;
  const notes = (data.notes ?? []).map((n) => escapeHtml(n)).join(' · ');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(data.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(data.title)}</h1>
${notes ? `<p class="notes">${notes}</p>` : ''}
<p class="notes">Generated ${escapeHtml(new Date().toISOString())} by wattgrad.</p>
${kpis.length ? `<div class="kpis">${kpis.join('')}</div>` : ''}
<div class="charts">
${lossChart}
${accChart}
${powerChart}
${energyChart}
</div>
${summaries.length ? `<h2>Energy</h2>${summaryTable(summaries)}` : ''}
${warnings.length ? `<ul class="w">${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : ''}
<h2>Epochs</h2>
${history.length ? historyTable(history, valLabel) : '<p class="notes">no epochs recorded</p>'}
<footer>Energy is measured, never assumed: "n/a" means not measured (the method says why); "~" marks an estimate (W × time), which is excluded from kWh, CO2e and FLOP/J.
${carbon ? ` CO2e = kWh × PUE ${carbon.pue} × ${carbon.gPerKWh} gCO2e/kWh (${escapeHtml(carbon.region ? carbon.source : 'user-supplied')}).` : ''}</footer>
</main></body></html>
`;
}

/** Writes the report atomically (io/atomic: temp file, fsync, rename) and returns the absolute path. */
export async function writeHtmlReport(file: string, data: HtmlReportData): Promise<string> {
  const target = path.resolve(file);
  writeFileAtomic(target, renderHtmlReport(data));
  return target;
}
