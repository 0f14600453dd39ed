// A self-contained HTML training report: loss/accuracy per epoch, power over time, energy per
// epoch (inline SVG we generate; no scripts, no CDN), the energy summary with its methods, and
// the per-epoch table. Written atomically (temp file in the same directory, then rename).

import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { formatGrams, formatJoules, formatSeconds, formatSI } from './format.js';
import type { EnergyResult, PowerSeries } from './meter.js';
import { barChart, downsample, emptyChart, escapeHtml, lineChart, type Bar } from './svg.js';

export interface EpochRecord {
  /** 1-based epoch number; default position + 1 */
  epoch?: number;
  loss: number;
  accuracy: number;
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
ul.w{color:#92400e;background:#fffbeb;border:1px solid #fde68a;border-radius:8px;padding:8px 8px 8px 28px}
footer{color:#6b7280;font-size:12px;margin-top:24px}
`;

function kpi(label: string, value: string): string {
  return `<div class="kpi"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

function methodText(r: EnergyResult): string {
  const parts = r.gpu.map((g) => {
    const who = g.index === null ? 'GPU' : `GPU ${g.index}${g.name ? ` (${g.name})` : ''}`;
    return `${who}: ${g.method}${g.note ? ` — ${g.note}` : ''}`;
  });
  if (r.cpu !== null) {
    const z = r.cpu.zones?.length ? ` [${r.cpu.zones.join(', ')}]` : '';
    parts.push(`CPU${z}: ${r.cpu.method}${r.cpu.note ? ` — ${r.cpu.note}` : ''}`);
  }
  return parts.map(escapeHtml).join('<br>');
}

function summaryTable(results: EnergyResult[]): string {
  const rows = results.map((r) => {
    const total = r.joules !== null ? formatJoules(r.joules) : r.estimatedJoules !== null ? `~${formatJoules(r.estimatedJoules)} (estimate)` : 'n/a';
    return (
      `<tr><td>${escapeHtml(r.name)}</td><td>${formatSeconds(r.seconds)}</td>` +
      `<td>${r.samplesPerSecond === undefined ? '' : formatSI(r.samplesPerSecond)}</td>` +
      `<td>${escapeHtml(total)}</td>` +
      `<td>${r.joulesPerSample === undefined ? '' : formatJoules(r.joulesPerSample)}</td>` +
      `<td>${r.flopsPerJoule === null ? 'n/a' : formatSI(r.flopsPerJoule)}</td>` +
      `<td>${r.kWh === null ? 'n/a' : r.kWh.toPrecision(3)}</td>` +
      `<td>${formatGrams(r.co2eGrams)}</td><td class="m">${methodText(r)}</td></tr>`
    );
  });
  return (
    `<table class="summary"><thead><tr><th>window</th><th>time</th><th>samples/s</th><th>energy</th>` +
    `<th>J/sample</th><th>FLOP/J</th><th>kWh</th><th>CO2e</th><th class="m">method</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function historyTable(history: EpochRecord[]): string {
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
    `<table class="history"><thead><tr><th>epoch</th><th>loss</th><th>accuracy</th>` +
    (hasVal ? '<th>val loss</th><th>val accuracy</th>' : '') +
    `<th>time</th><th>energy</th><th>J/sample</th><th>FLOP/J</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** The report as one HTML string (no external resources). */
export function renderHtmlReport(data: HtmlReportData): string {
  const history = data.history;
  const epochs = history.map((e, i) => e.epoch ?? i + 1);
  const summaries = data.summary === undefined ? [] : Array.isArray(data.summary) ? data.summary : [data.summary];
  const hasValLoss = history.some((e) => e.valLoss !== undefined);
  const hasValAcc = history.some((e) => e.valAccuracy !== undefined);

  const lossChart = lineChart({ id: 'loss', title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', xIntegers: true }, [
    { label: 'train', x: epochs, y: history.map((e) => e.loss), dots: true },
    ...(hasValLoss ? [{ label: 'validation', x: epochs, y: history.map((e) => e.valLoss ?? null), dashed: true, dots: true }] : []),
  ]);
  const accChart = lineChart({ id: 'accuracy', title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy (%)', xIntegers: true }, [
    { label: 'train', x: epochs, y: history.map((e) => e.accuracy * 100), dots: true },
    ...(hasValAcc ? [{ label: 'validation', x: epochs, y: history.map((e) => (e.valAccuracy === undefined ? null : e.valAccuracy * 100)), dashed: true, dots: true }] : []),
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
    kpis.push(kpi(run.joules !== null ? 'energy (measured)' : 'energy', run.joules !== null ? formatJoules(run.joules) : run.estimatedJoules !== null ? `~${formatJoules(run.estimatedJoules)} est.` : 'n/a'));
    if (run.joulesPerSample !== undefined) kpis.push(kpi('J / sample', formatJoules(run.joulesPerSample)));
    kpis.push(kpi('FLOP / J', run.flopsPerJoule === null ? 'n/a' : formatSI(run.flopsPerJoule)));
    kpis.push(kpi(`CO2e (${run.carbon.gPerKWh} g/kWh × PUE ${run.carbon.pue})`, formatGrams(run.co2eGrams)));
  }
  const last = history.at(-1);
  if (last !== undefined) kpis.push(kpi('final accuracy', `${(last.accuracy * 100).toFixed(2)}%${last.valAccuracy !== undefined ? ` (val ${(last.valAccuracy * 100).toFixed(2)}%)` : ''}`));

  const warnings = [...new Set(summaries.flatMap((r) => r.warnings))];
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
${history.length ? historyTable(history) : '<p class="notes">no epochs recorded</p>'}
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
