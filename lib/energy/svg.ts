// Small inline-SVG chart generators for the HTML report (no scripts, no external assets).

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** "Nice" tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(4));
}

/** Averages consecutive points into at most `max` buckets (keeps charts light for long runs). */
export function downsample(x: readonly number[], y: readonly number[], max: number): { x: number[]; y: number[] } {
  if (x.length <= max) return { x: [...x], y: [...y] };
  const size = x.length / max;
  const ox: number[] = [];
  const oy: number[] = [];
  for (let b = 0; b < max; b++) {
    const s = Math.floor(b * size);
    const e = Math.min(x.length, Math.floor((b + 1) * size));
    let sx = 0;
    let sy = 0;
    for (let i = s; i < e; i++) {
      sx += x[i]!;
      sy += y[i]!;
    }
    ox.push(sx / (e - s));
    oy.push(sy / (e - s));
  }
  return { x: ox, y: oy };
}

export interface LineSeries {
  label: string;
  x: readonly number[];
  y: readonly (number | null)[];
  dashed?: boolean;
  /** draw a dot at each point (few points, e.g. per epoch) */
  dots?: boolean;
}

export interface ChartFrame {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** x values are integers (epochs): integer ticks from the first to the last value */
  xIntegers?: boolean;
}

function integerTicks(lo: number, hi: number): number[] {
  const step = Math.max(1, Math.ceil((hi - lo) / 10));
  const out: number[] = [];
  for (let v = Math.ceil(lo); v <= hi; v += step) out.push(v);
  return out;
}

const M = { left: 58, right: 16, top: 48, bottom: 46 };

function frame(
  f: ChartFrame,
  xt: number[],
  yt: number[],
  sx: (v: number) => number,
  sy: (v: number) => number,
  xLabels?: string[],
): string {
  const w = f.width ?? 560;
  const h = f.height ?? 300;
  const parts: string[] = [];
  parts.push(`<text x="${M.left}" y="20" class="ct">${escapeHtml(f.title)}</text>`);
  for (const v of yt) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y}" dy="0.32em" text-anchor="end" class="tick">${tickLabel(v)}</text>`);
  }
  xt.forEach((v, i) => {
    const x = sx(v).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${h - M.bottom}" y2="${h - M.bottom + 4}" class="axis"/>`);
    parts.push(
      `<text x="${x}" y="${h - M.bottom + 16}" text-anchor="middle" class="tick">${escapeHtml(xLabels?.[i] ?? tickLabel(v))}</text>`,
    );
  });
  parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}" class="axis"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${h - M.bottom}" class="axis"/>`);
  parts.push(`<text x="${(M.left + w - M.right) / 2}" y="${h - 8}" text-anchor="middle" class="al">${escapeHtml(f.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${(M.top + h - M.bottom) / 2}) rotate(-90)" text-anchor="middle" class="al">${escapeHtml(f.yLabel)}</text>`,
  );
  return parts.join('');
}

function legend(f: ChartFrame, items: Array<{ label: string; color: string; dashed?: boolean }>): string {
  const w = f.width ?? 560;
  let x = w - M.right - 4;
  const out: string[] = [];
  for (const it of [...items].reverse()) {
    const tw = it.label.length * 6.6 + 30;
    x -= tw;
    const dash = it.dashed ? ' stroke-dasharray="5 3"' : '';
    out.push(`<line x1="${x}" x2="${x + 16}" y1="${M.top - 14}" y2="${M.top - 14}" stroke="${it.color}" stroke-width="2.5"${dash}/>`);
    out.push(`<text x="${x + 20}" y="${M.top - 14}" dy="0.32em" class="lg">${escapeHtml(it.label)}</text>`);
  }
  return out.join('');
}

function svg(f: ChartFrame, body: string): string {
  const w = f.width ?? 560;
  const h = f.height ?? 300;
  return `<svg class="chart" data-chart="${escapeHtml(f.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(f.title)}">${body}</svg>`;
}

/** A line chart; null y values break the line. Returns an empty-state chart when there is no data. */
export function lineChart(f: ChartFrame, series: LineSeries[]): string {
  const w = f.width ?? 560;
  const h = f.height ?? 300;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (y !== null && y !== undefined && Number.isFinite(y) && Number.isFinite(x)) {
        xs.push(x);
        ys.push(y);
      }
    });
  }
  if (xs.length === 0) return emptyChart(f, 'no data');
  let ylo = Math.min(...ys);
  const yhi = Math.max(...ys);
  if (ylo > 0 && ylo < yhi * 0.5) ylo = 0; // anchor at zero unless the data sits far from it
  const yt = niceTicks(ylo, yhi);
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const xt = f.xIntegers ? integerTicks(xmin, xmax) : niceTicks(xmin, xmax, 6);
  const pad = f.xIntegers ? Math.max(0.25, (xmax - xmin) * 0.03) : 0;
  const x0 = f.xIntegers ? xmin - pad : xt[0]!;
  const x1 = f.xIntegers ? xmax + pad : xt[xt.length - 1]!;
  const y0 = yt[0]!;
  const y1 = yt[yt.length - 1]!;
  const sx = (v: number) => M.left + ((v - x0) / (x1 - x0 || 1)) * (w - M.left - M.right);
  const sy = (v: number) => h - M.bottom - ((v - y0) / (y1 - y0 || 1)) * (h - M.top - M.bottom);
  const body: string[] = [frame(f, xt, yt, sx, sy)];
  series.forEach((s, si) => {
    const color = PALETTE[si % PALETTE.length]!;
    let d = '';
    let pen = false;
    const dots: string[] = [];
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (y === null || y === undefined || !Number.isFinite(y)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`;
      pen = true;
      if (s.dots) dots.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
    });
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dash}/>`);
    body.push(dots.join(''));
  });
  body.push(
    legend(
      f,
      series.map((s, si) => ({ label: s.label, color: PALETTE[si % PALETTE.length]!, dashed: s.dashed })),
    ),
  );
  return svg(f, body.join(''));
}

export interface Bar {
  label: string;
  /** null: not measured (drawn as a grey "n/a" marker, never as 0) */
  value: number | null;
  /** an estimate: drawn hatched */
  estimate?: boolean;
}

/** A bar chart with one bar per category. */
export function barChart(f: ChartFrame, bars: Bar[]): string {
  const w = f.width ?? 560;
  const h = f.height ?? 300;
  const vals = bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v));
  if (bars.length === 0) return emptyChart(f, 'no data');
  const yt = niceTicks(0, vals.length > 0 ? Math.max(...vals) : 1);
  const y1 = yt[yt.length - 1]!;
  const band = (w - M.left - M.right) / bars.length;
  const sx = (i: number) => M.left + band * (i + 0.5);
  const sy = (v: number) => h - M.bottom - (v / (y1 || 1)) * (h - M.top - M.bottom);
  const every = Math.max(1, Math.ceil(bars.length / 12));
  const xt = bars.map((_, i) => i).filter((i) => i % every === 0);
  const body: string[] = [
    `<defs><pattern id="hatch-${escapeHtml(f.id)}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fed7aa"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ea580c" stroke-width="2"/></pattern></defs>`,
    frame(
      f,
      xt,
      yt,
      sx,
      sy,
      xt.map((i) => bars[i]!.label),
    ),
  ];
  const bw = Math.max(2, band * 0.7);
  bars.forEach((b, i) => {
    const x = (sx(i) - bw / 2).toFixed(1);
    if (b.value === null || !Number.isFinite(b.value)) {
      body.push(`<text x="${sx(i).toFixed(1)}" y="${h - M.bottom - 6}" text-anchor="middle" class="na">n/a</text>`);
      return;
    }
    const y = sy(b.value);
    const fill = b.estimate ? `url(#hatch-${escapeHtml(f.id)})` : PALETTE[0]!;
    body.push(
      `<rect x="${x}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${(h - M.bottom - y).toFixed(1)}" fill="${fill}"><title>${escapeHtml(b.label)}: ${b.value.toPrecision(4)}${b.estimate ? ' (estimate)' : ''}</title></rect>`,
    );
  });
  if (bars.some((b) => b.estimate)) body.push(legend(f, [{ label: 'estimate', color: '#ea580c' }]));
  return svg(f, body.join(''));
}

export function emptyChart(f: ChartFrame, text: string): string {
  const w = f.width ?? 560;
  const h = f.height ?? 300;
  return svg(
    f,
    `<text x="${M.left}" y="20" class="ct">${escapeHtml(f.title)}</text>` +
      `<rect x="${M.left}" y="${M.top}" width="${w - M.left - M.right}" height="${h - M.top - M.bottom}" class="empty"/>` +
      `<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="na">${escapeHtml(text)}</text>`,
  );
}
