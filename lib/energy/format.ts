// Plain-text reporting of energy results: the summary table and the progress-line snippet.

import type { EnergyMethod, EnergyProgress, EnergyResult } from './meter.js';

/** 3 significant digits with an SI prefix: 1234 -> "1.23 k". */
export function formatSI(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return String(x);
  const prefixes: Array<[number, string]> = [
    [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'],
  ];
  const a = Math.abs(x);
  if (a === 0) return `0${unit ? ` ${unit}` : ''}`;
  let [scale, p] = prefixes[prefixes.length - 1]!;
  for (const [s, q] of prefixes) {
    if (a >= s * 0.9995) {
      [scale, p] = [s, q];
      break;
    }
  }
  const v = x / scale;
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  const sep = unit || p ? ' ' : '';
  return `${v.toFixed(digits)}${sep}${p}${unit}`;
}

export function formatJoules(j: number | null | undefined): string {
  return j === null || j === undefined ? 'n/a' : formatSI(j, 'J');
}

export function formatSeconds(s: number): string {
  if (s < 1) return `${+(s * 1000).toPrecision(3)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} m` : `${m} m ${String(sec).padStart(2, '0')} s`;
}

export function formatGrams(g: number | null | undefined): string {
  if (g === null || g === undefined) return 'n/a';
  if (g >= 1e6) return `${(g / 1e6).toPrecision(3)} t`;
  if (g >= 1e3) return `${(g / 1e3).toPrecision(3)} kg`;
  if (g >= 1) return `${g.toPrecision(3)} g`;
  return `${(g * 1e3).toPrecision(3)} mg`;
}

function shortMethod(m: EnergyMethod): string {
  switch (m) {
    case 'nvml-counter':
      return 'counter';
    case 'nvml-power-sampling':
      return 'sampled';
    case 'rapl':
      return 'rapl';
    case 'estimate':
      return 'estimate';
    default:
      return 'n/a';
  }
}

interface Column {
  head: string;
  right: boolean;
  cells: string[];
}

function table(columns: Column[]): string {
  const widths = columns.map((c) => Math.max(c.head.length, ...c.cells.map((x) => x.length)));
  const pad = (s: string, i: number) => (columns[i]!.right ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const lines = [columns.map((c, i) => pad(c.head, i)).join('  ').trimEnd()];
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  const rows = columns[0]?.cells.length ?? 0;
  for (let r = 0; r < rows; r++) lines.push(columns.map((c, i) => pad(c.cells[r]!, i)).join('  ').trimEnd());
  return lines.join('\n');
}

type DeviceKey = string;

function devicesOf(r: EnergyResult): Array<{ key: DeviceKey; label: string; joules: number | null; method: EnergyMethod; detail: string }> {
  const out = r.gpu.map((g) => ({
    key: g.index === null ? 'GPU' : `GPU ${g.index}`,
    label: g.index === null ? 'GPU' : `GPU ${g.index}${g.name ? ` (${g.name})` : ''}`,
    joules: g.joules,
    method: g.method,
    detail: g.note ? `${g.method} (${g.note})` : g.method,
  }));
  if (r.cpu !== null) {
    const zones = r.cpu.zones && r.cpu.zones.length > 0 ? ` [${r.cpu.zones.join(', ')}]` : '';
    out.push({
      key: 'CPU',
      label: `CPU${zones}`,
      joules: r.cpu.joules,
      method: r.cpu.method,
      detail: r.cpu.note ? `${r.cpu.method} (${r.cpu.note})` : r.cpu.method,
    });
  }
  return out;
}

/**
 * A plain-text table, one row per result: time, samples/s, energy per device, total measured
 * energy, J/sample, FLOP/J, CO2e and the method; then the full methods (with the reasons behind
 * any "n/a"), the carbon assumptions and the warnings. An estimate is shown as "~x J".
 */
export function formatEnergySummary(input: EnergyResult | readonly EnergyResult[]): string {
  const results = Array.isArray(input) ? (input as readonly EnergyResult[]) : [input as EnergyResult];
  if (results.length === 0) return '(no energy results)';
  const keys: DeviceKey[] = [];
  const labels = new Map<DeviceKey, string>();
  for (const r of results) {
    for (const d of devicesOf(r)) {
      if (!labels.has(d.key)) {
        keys.push(d.key);
        labels.set(d.key, d.label);
      }
    }
  }
  const col = (head: string, right: boolean, f: (r: EnergyResult) => string): Column => ({ head, right, cells: results.map(f) });
  const cell = (r: EnergyResult, key: DeviceKey) => {
    const d = devicesOf(r).find((x) => x.key === key);
    if (d === undefined) return '';
    if (d.joules === null) return 'n/a';
    return d.method === 'estimate' ? `~${formatJoules(d.joules)}` : formatJoules(d.joules);
  };
  const columns: Column[] = [
    col('window', false, (r) => r.name),
    col('time', true, (r) => formatSeconds(r.seconds)),
    col('samples/s', true, (r) => (r.samplesPerSecond === undefined ? '' : formatSI(r.samplesPerSecond))),
    ...keys.map((k) => col(k, true, (r) => cell(r, k))),
    col('total', true, (r) => (r.joules === null ? (r.estimatedJoules === null ? 'n/a' : `~${formatJoules(r.estimatedJoules)}`) : formatJoules(r.joules))),
    col('J/sample', true, (r) => (r.samples === undefined ? '' : formatJoules(r.joulesPerSample ?? null))),
    col('FLOP/J', true, (r) => (r.flopsPerJoule === null ? 'n/a' : formatSI(r.flopsPerJoule))),
    col('CO2e', true, (r) => formatGrams(r.co2eGrams)),
    col('method', false, (r) => devicesOf(r).map((d) => `${d.key.replace(' ', '')}:${shortMethod(d.method)}`).join(' ')),
  ].filter((c) => c.head === 'window' || c.cells.some((x) => x !== ''));

  const lines = [table(columns), ''];
  // Methods: one line per device and distinct method string (results may differ, e.g. a short window).
  lines.push('methods:');
  for (const k of keys) {
    const seen = new Set<string>();
    for (const r of results) {
      const d = devicesOf(r).find((x) => x.key === k);
      if (d !== undefined && !seen.has(d.detail)) {
        seen.add(d.detail);
        lines.push(`  ${labels.get(k)}: ${d.detail}`);
      }
    }
  }
  const c = results[0]!.carbon;
  lines.push(`carbon: ${c.gPerKWh} gCO2e/kWh (${c.region ?? 'user-supplied'}${c.region ? `, ${c.source}` : ''}) × PUE ${c.pue}; measured energy only`);
  const warnings = [...new Set(results.flatMap((r) => r.warnings.map((w) => (results.length > 1 ? `${r.name}: ${w}` : w))))];
  if (warnings.length > 0) {
    lines.push('warnings:');
    for (const w of warnings) lines.push(`  - ${w}`);
  }
  return lines.join('\n');
}

/** A short snippet for progress lines: "1.23 kJ 245 W" (or "energy n/a"). */
export function formatEnergyProgress(p: EnergyProgress | null | undefined): string {
  if (p === null || p === undefined || p.joules === null) return 'energy n/a';
  const w = p.watts === null ? '' : ` ${formatSI(p.watts, 'W')}`;
  return `${formatJoules(p.joules)}${w}`;
}
