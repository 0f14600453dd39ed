// Plain-text reporting of energy results: the summary table and the progress-line snippet.

import type { EnergyMethod, EnergyProgress, EnergyResult } from './meter.js';

/** 3 significant digits with an SI prefix: 1234 -> "1.23 k". */
export function formatSI(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return String(x);
  const prefixes: Array<[number, string]> = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
    [1, ''],
    [1e-3, 'm'],
    [1e-6, 'µ'],
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
  const lines = [
    columns
      .map((c, i) => pad(c.head, i))
      .join('  ')
      .trimEnd(),
  ];
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  const rows = columns[0]?.cells.length ?? 0;
  for (let r = 0; r < rows; r++)
    lines.push(
      columns
        .map((c, i) => pad(c.cells[r]!, i))
        .join('  ')
        .trimEnd(),
    );
  return lines.join('\n');
}

type DeviceKey = string;

/** A device's method in words; an estimate says its wattage and why nothing was measured. */
function detail(method: EnergyMethod, meanWatts: number | null, note: string | undefined): string {
  if (method === 'estimate')
    return `estimated: ${meanWatts ?? '?'} W × window time, not a measurement${note ? ` (not measured: ${note})` : ''}`;
  return note ? `${method} (${note})` : method;
}

/** The meter's per-window "estimated as W × s" warnings: the methods list says it once instead. */
export const ESTIMATE_WARNING = /^(GPU( \d+)?|CPU): estimated as /;

function devicesOf(r: EnergyResult): Array<{ key: DeviceKey; label: string; joules: number | null; method: EnergyMethod; detail: string }> {
  const out = r.gpu.map((g) => ({
    key: g.index === null ? 'GPU' : `GPU ${g.index}`,
    label: g.index === null ? 'GPU' : `GPU ${g.index}${g.name ? ` (${g.name})` : ''}`,
    joules: g.joules,
    method: g.method,
    detail: detail(g.method, g.meanWatts, g.note),
  }));
  if (r.cpu !== null) {
    const zones = r.cpu.zones && r.cpu.zones.length > 0 ? ` [${r.cpu.zones.join(', ')}]` : '';
    out.push({
      key: 'CPU',
      label: `CPU${zones}`,
      joules: r.cpu.joules,
      method: r.cpu.method,
      detail: detail(r.cpu.method, r.cpu.meanWatts, r.cpu.note),
    });
  }
  return out;
}

/**
 * How each device was measured, one line per device and distinct method ("GPU 0 (H100): nvml-counter",
 * "CPU: unavailable: no RAPL: …"), so a reason is said once for all the windows, not per row.
 */
export function energyMethods(results: readonly EnergyResult[]): string[] {
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
  const out: string[] = [];
  for (const k of keys) {
    const seen = new Set<string>();
    for (const r of results) {
      const d = devicesOf(r).find((x) => x.key === k);
      if (d !== undefined && !seen.has(d.detail)) {
        seen.add(d.detail);
        out.push(`${labels.get(k)}: ${d.detail}`);
      }
    }
  }
  return out;
}

/**
 * The results' warnings, each once, prefixed with the windows it applies to unless it applies to
 * all of them. The meter's per-window "estimated as W × s" lines are left out (energyMethods and
 * the estimate note say it once).
 */
export function energyWarnings(results: readonly EnergyResult[]): string[] {
  const where = new Map<string, string[]>();
  for (const r of results) {
    for (const w of r.warnings) {
      if (ESTIMATE_WARNING.test(w)) continue;
      const names = where.get(w) ?? [];
      if (!names.includes(r.name)) names.push(r.name);
      where.set(w, names);
    }
  }
  return [...where].map(([w, names]) => (results.length > 1 && names.length < results.length ? `${names.join(', ')}: ${w}` : w));
}

/** Short per-device methods of one result: "GPU:counter CPU:n/a". */
export function shortMethods(r: EnergyResult): string {
  return devicesOf(r)
    .map((d) => `${d.key.replace(' ', '')}:${shortMethod(d.method)}`)
    .join(' ');
}

/**
 * A plain-text table, one row per result: time, samples/s, energy per device, total measured
 * energy, J/sample, FLOP/J, CO2e and the method; then the full methods (with the reasons behind
 * any "n/a", each said once), the carbon assumptions and the warnings. An estimate is shown as
 * "~x J" in its device's column and in "estimated", never in "total" (measured only).
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
    // measured only; an estimate has its own column and is never added in
    col('total', true, (r) => formatJoules(r.joules)),
    col('estimated', true, (r) => (r.estimatedJoules === null ? '' : `~${formatJoules(r.estimatedJoules)}`)),
    col('J/sample', true, (r) => (r.samples === undefined ? '' : formatJoules(r.joulesPerSample ?? null))),
    col('FLOP/J', true, (r) => (r.flopsPerJoule === null ? 'n/a' : formatSI(r.flopsPerJoule))),
    col('CO2e', true, (r) => formatGrams(r.co2eGrams)),
    col('method', false, shortMethods),
  ].filter((c) => c.head === 'window' || c.cells.some((x) => x !== ''));

  const lines = [table(columns), ''];
  lines.push('methods:');
  for (const m of energyMethods(results)) lines.push(`  ${m}`);
  const c = results[0]!.carbon;
  lines.push(
    `carbon: ${c.gPerKWh} gCO2e/kWh (${c.region ?? 'user-supplied'}${c.region ? `, ${c.source}` : ''}) × PUE ${c.pue}; measured energy only`,
  );
  if (results.some((r) => r.estimatedJoules !== null)) {
    lines.push('estimates ("~"): watts you gave × time, shown apart; never in total, J/sample, FLOP/J, kWh or CO2e');
  }
  const warnings = energyWarnings(results);
  if (warnings.length > 0) {
    lines.push('warnings:');
    for (const w of warnings) lines.push(`  - ${w}`);
  }
  return lines.join('\n');
}

/**
 * A short snippet for progress lines: "1.23 kJ 245 W" (or "energy n/a"); an estimate is added
 * apart, marked: "1.23 kJ 245 W + ~40.0 J est." or "~40.0 J est.".
 */
export function formatEnergyProgress(p: EnergyProgress | null | undefined): string {
  const est = p?.estimatedJoules ?? null;
  const e = est === null ? '' : `~${formatJoules(est)} est.`;
  if (p === null || p === undefined || p.joules === null) return e || 'energy n/a';
  const w = p.watts === null ? '' : ` ${formatSI(p.watts, 'W')}`;
  return `${formatJoules(p.joules)}${w}${e ? ` + ${e}` : ''}`;
}
