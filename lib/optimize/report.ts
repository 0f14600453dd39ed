// The optimize comparison as text (the CLI's table), and as a self-contained report.html: the same
// table, and a chart of accuracy against joules per 1,000 predictions (one point per technique;
// inline SVG, no scripts). Estimated energy is marked "~" and said so under the table and chart.

import { writeFileAtomic } from '../io/atomic.js';
import { escapeHtml, niceTicks } from '../energy/svg.js';
import type { OptimizeResult, OptimizeRow } from './run.js';

const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(100 * v).toFixed(2)}%`);
const int = (v: number | undefined | null): string => (v === undefined || v === null ? '—' : Math.round(v).toLocaleString('en-US'));
function bytes(v: number | undefined): string {
  if (v === undefined) return '—';
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(2)} MiB`;
}
const ms = (v: number | undefined): string => (v === undefined ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1));
function joules(r: OptimizeRow): string {
  if (r.joulesPer1k === undefined || r.joulesPer1k === null) return '—';
  const v = r.joulesPer1k;
  const s = v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
  return r.energyMeasured ? s : `~${s}`;
}
function ratio(r: OptimizeRow, base: OptimizeRow | undefined, k: 'bytesOnDisk' | 'samplesPerSecond' | 'joulesPer1k'): string {
  const a = r[k];
  const b = base?.[k];
  if (typeof a !== 'number' || typeof b !== 'number' || a === 0 || r === base) return '';
  if (k === 'samplesPerSecond') return ` (${(a / b).toFixed(2)}×)`;
  if (Math.abs(a / b - 1) < 0.005) return ' (same)';
  return a < b ? ` (${(b / a).toFixed(2)}× less)` : ` (${(a / b).toFixed(2)}× more)`;
}

export const TABLE_COLUMNS = [
  'technique',
  'accuracy',
  'params (nonzero)',
  'bytes on disk',
  'MFLOP/sample',
  'p50 ms/batch',
  'p95 ms/batch',
  'samples/s',
  'J/1k pred',
] as const;

/** The rows as table cells (strings), baseline first, in TABLE_COLUMNS order. */
export function tableCells(res: OptimizeResult): string[][] {
  const base = res.rows.find((r) => r.key === 'baseline');
  return res.rows.map((r) =>
    r.error
      ? [r.technique, `failed: ${r.error}`, '', '', '', '', '', '', '']
      : [
          r.technique,
          pct(r.accuracy),
          `${int(r.params)}${r.nonzeroParams !== undefined && r.nonzeroParams !== r.params ? ` (${int(r.nonzeroParams)})` : ''}`,
          bytes(r.bytesOnDisk) + ratio(r, base, 'bytesOnDisk'),
          r.flopsPerSample === null || r.flopsPerSample === undefined ? '—' : (r.flopsPerSample / 1e6).toFixed(2),
          ms(r.latencyMs?.p50),
          ms(r.latencyMs?.p95),
          int(r.samplesPerSecond) + ratio(r, base, 'samplesPerSecond'),
          joules(r) + ratio(r, base, 'joulesPer1k'),
        ],
  );
}

/** A plain-text table (columns padded), with the energy note under it. */
export function formatOptimizeTable(res: OptimizeResult): string {
  const rows = [TABLE_COLUMNS.slice() as string[], ...tableCells(res)];
  const measured = rows.filter((r) => !r[1]?.startsWith('failed: '));
  const widths = TABLE_COLUMNS.map((_, c) => Math.max(...measured.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r[2] === '' && r[1]?.startsWith('failed')
      ? `${r[0]!.padEnd(widths[0]!)}  ${r[1]}`
      : r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  const batch = res.rows.find((r) => r.latencyMs)?.latencyMs;
  return [
    line(rows[0]!),
    ...rows.slice(1).map(line),
    '',
    `latency: one forward of a ${batch?.batchSize ?? '?'}-image batch (p50/p95 over ${batch?.batches ?? '?'} batches); ${res.energyNote}`,
  ].join('\n');
}

// ---- HTML ----------------------------------------------------------------------------------------

/** Accuracy (y) against J per 1k predictions (x), one labelled point per measured row. */
export function accuracyEnergyChart(res: OptimizeResult, width = 640, height = 360): string {
  const pts = res.rows.filter((r) => typeof r.joulesPer1k === 'number' && typeof r.accuracy === 'number') as (OptimizeRow & {
    joulesPer1k: number;
    accuracy: number;
  })[];
  const m = { l: 64, r: 24, t: 24, b: 52 };
  const W = width - m.l - m.r;
  const H = height - m.t - m.b;
  if (!pts.length)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img"><text x="${width / 2}" y="${height / 2}" text-anchor="middle">no energy figures to plot</text></svg>`;
  const xs = niceTicks(0, Math.max(...pts.map((p) => p.joulesPer1k)) * 1.1);
  const ys = niceTicks(Math.min(...pts.map((p) => p.accuracy)) * 100 - 1, Math.max(...pts.map((p) => p.accuracy)) * 100 + 0.5);
  const [x0, x1] = [xs[0]!, xs[xs.length - 1]!];
  const [y0, y1] = [ys[0]!, ys[ys.length - 1]!];
  const px = (v: number): number => m.l + ((v - x0) / (x1 - x0 || 1)) * W;
  const py = (v: number): number => m.t + H - ((v - y0) / (y1 - y0 || 1)) * H;
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
  const estimated = pts.some((p) => !p.energyMeasured);
  const parts: string[] = [];
  for (const t of xs)
    parts.push(
      `<line x1="${px(t)}" y1="${m.t}" x2="${px(t)}" y2="${m.t + H}" stroke="#eee"/><text x="${px(t)}" y="${m.t + H + 16}" text-anchor="middle" font-size="11">${+t.toPrecision(6)}</text>`,
    );
  for (const t of ys)
    parts.push(
      `<line x1="${m.l}" y1="${py(t)}" x2="${m.l + W}" y2="${py(t)}" stroke="#eee"/><text x="${m.l - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${+t.toPrecision(6)}%</text>`,
    );
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W}" height="${H}" fill="none" stroke="#999"/>`);
  pts.forEach((p, i) => {
    const c = colors[i % colors.length]!;
    const [x, y] = [px(p.joulesPer1k), py(p.accuracy * 100)];
    parts.push(
      `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5" fill="${p.energyMeasured ? c : 'white'}" stroke="${c}" stroke-width="2"><title>${escapeHtml(
        `${p.technique}: ${(p.accuracy * 100).toFixed(2)}%, ${p.energyMeasured ? '' : '~'}${p.joulesPer1k.toPrecision(3)} J/1k`,
      )}</title></circle>`,
      // labels right of the point, or left of it in the right half (so they stay inside the frame)
      x > m.l + W / 2
        ? `<text x="${(x - 8).toFixed(1)}" y="${(y - 6).toFixed(1)}" font-size="11" text-anchor="end" fill="${c}">${escapeHtml(p.technique)}</text>`
        : `<text x="${(x + 8).toFixed(1)}" y="${(y - 6).toFixed(1)}" font-size="11" fill="${c}">${escapeHtml(p.technique)}</text>`,
    );
  });
  parts.push(
    `<text x="${m.l + W / 2}" y="${height - 12}" text-anchor="middle" font-size="12">${estimated ? 'estimated ' : ''}joules per 1,000 predictions${estimated ? ' (open circles: estimates)' : ''}</text>`,
    `<text transform="translate(14 ${m.t + H / 2}) rotate(-90)" text-anchor="middle" font-size="12">test accuracy</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="accuracy vs joules per 1,000 predictions" font-family="sans-serif">${parts.join('')}</svg>`;
}

export function renderOptimizeReport(res: OptimizeResult): string {
  const cells = tableCells(res);
  const head = TABLE_COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = cells
    .map((r, i) => {
      const row = res.rows[i]!;
      if (row.error)
        return `<tr class="failed"><td>${escapeHtml(r[0]!)}</td><td colspan="${TABLE_COLUMNS.length - 1}">${escapeHtml(r[1]!)}</td></tr>`;
      return `<tr>${r.map((v, c) => (c === 0 ? `<td>${escapeHtml(v)}</td>` : `<td class="n">${escapeHtml(v)}</td>`)).join('')}</tr>`;
    })
    .join('\n');
  const notes = res.rows
    .map(
      (r) =>
        `<li><b>${escapeHtml(r.technique)}</b>: ${escapeHtml([...r.notes, ...(r.prepareSeconds ? [`prepared in ${r.prepareSeconds.toFixed(1)} s`] : [])].join('; '))}</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wattgrad optimize: ${escapeHtml(res.model)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px}th{background:#f4f4f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{color:#a00}
.note{color:#555;font-size:0.9em}
</style></head><body>
<h1>wattgrad optimize: ${escapeHtml(res.model)}</h1>
<p class="note">${escapeHtml(res.description)}; data: ${escapeHtml(res.data.source)}, ${res.data.train} train / ${res.data.test} test samples;
baseline ${res.epochs} epoch(s), fine-tuning ${res.finetuneEpochs} epoch(s), seed ${res.seed};
${escapeHtml(`${res.machine.platform} ${res.machine.arch}, ${res.machine.cpus} CPUs, node ${res.machine.node}`)}</p>
<h2>Trade-off</h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
<p class="note">${escapeHtml(res.energyNote)}. Ratios in brackets are against the baseline. "~" marks estimated energy.</p>
<h2>Accuracy vs joules per 1,000 predictions</h2>
${accuracyEnergyChart(res)}
<h2>How each row was made</h2>
<ul>
${notes}
</ul>
</body></html>
`;
}

export function writeOptimizeReport(file: string, res: OptimizeResult): void {
  writeFileAtomic(file, renderOptimizeReport(res));
}
