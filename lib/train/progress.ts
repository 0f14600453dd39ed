// Progress output for fit(): on a TTY a cli-progress bar per epoch (batch, loss, accuracy,
// samples/s, ETA); elsewhere (CI, pipes, files) plain lines at each log interval and one per
// epoch. Values shown are those read at the last log interval: the bar never forces a readback.

import cliProgress from 'cli-progress';
import type { EpochLog } from './history.js';
import { bool, checkOptions } from '../options.js';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** where to write (default process.stderr) */
  stream?: ProgressStream;
  /** force bar (true) or line (false) output; default: the stream's isTTY */
  tty?: boolean;
}

export interface ProgressValues {
  loss?: number;
  metrics?: Record<string, number>;
  samplesPerSecond: number;
  /** e.g. "12.3 J, 45 W" from the energy meter */
  energy?: string;
}

export function fmtNum(x: number | undefined, digits = 4): string {
  if (x === undefined || Number.isNaN(x)) return '-';
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(digits);
}

export function fmtPct(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(2)}%`;
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function metricText(metrics: Record<string, number> | undefined, prefix = ''): string {
  if (!metrics) return '';
  return Object.entries(metrics)
    .map(([k, v]) => ` ${prefix}${k} ${k === 'accuracy' ? fmtPct(v) : fmtNum(v)}`)
    .join('');
}

/** A one-line epoch summary (used by both modes). */
export function formatEpochLog(log: EpochLog, epochs: number): string {
  let s = `epoch ${log.epoch}/${epochs}: loss ${fmtNum(log.loss)}${metricText(log.metrics)}`;
  if (log.valLoss !== undefined) s += ` | val_loss ${fmtNum(log.valLoss)}${metricText(log.valMetrics, 'val_')}`;
  s += ` | ${fmtDuration(log.seconds)}, ${Math.round(log.samplesPerSecond)} samples/s`;
  if (log.lr !== undefined) s += `, lr ${log.lr.toPrecision(3)}`;
  if (log.energy && log.energy.joules !== null) s += `, ${log.energy.joules.toPrecision(3)} J`;
  return s;
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private bar: cliProgress.SingleBar | null = null;
  private epoch = 0;
  private epochs = 0;
  private total = 0;
  private started = 0;

  constructor(o: ProgressOptions = {}) {
    // fit({ verbose: { stream } }) lands here: a misspelt { steam } would print to stderr silently
    o = checkOptions('Progress (fit verbose)', o, ['stream', 'tty']);
    if (o.stream !== undefined && (o.stream === null || typeof o.stream.write !== 'function'))
      throw new TypeError('Progress (fit verbose): stream must have a write(text) method (e.g. process.stdout)');
    this.stream = o.stream ?? process.stderr;
    this.tty = bool('Progress (fit verbose)', 'tty', o.tty, this.stream.isTTY === true);
  }

  epochBegin(epoch: number, epochs: number, batches: number): void {
    this.epoch = epoch;
    this.epochs = epochs;
    this.total = batches;
    this.started = performance.now();
    if (this.tty) {
      this.bar = new cliProgress.SingleBar({
        stream: this.stream as NodeJS.WritableStream,
        format: `epoch ${epoch}/${epochs} {bar} {value}/{total} | loss {loss}{metrics} | {sps} samples/s | ETA {eta_formatted}{energy}`,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
        fps: 10,
        synchronousUpdate: true,
        forceRedraw: false,
      });
      this.bar.start(batches, 0, { loss: '-', metrics: '', sps: '-', energy: '' });
    }
  }

  /** Called every batch (cheap); `v.loss` etc. are the values of the last log point. */
  update(batch: number, v: ProgressValues, logPoint: boolean): void {
    if (this.bar) {
      this.bar.update(batch, {
        loss: fmtNum(v.loss),
        metrics: metricText(v.metrics),
        sps: Math.round(v.samplesPerSecond),
        energy: v.energy ? ` | ${v.energy}` : '',
      });
    } else if (logPoint) {
      const el = (performance.now() - this.started) / 1000;
      const eta = batch > 0 ? (el / batch) * (this.total - batch) : NaN;
      this.stream.write(
        `epoch ${this.epoch}/${this.epochs} batch ${batch}/${this.total}: loss ${fmtNum(v.loss)}${metricText(v.metrics)} | ` +
          `${Math.round(v.samplesPerSecond)} samples/s | ETA ${fmtDuration(eta)}${v.energy ? ` | ${v.energy}` : ''}\n`,
      );
    }
  }

  epochEnd(log: EpochLog): void {
    this.stopBar();
    this.stream.write(formatEpochLog(log, this.epochs) + '\n');
  }

  message(line: string): void {
    this.stopBar();
    this.stream.write(line + '\n');
  }

  private stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }

  close(): void {
    this.stopBar();
  }
}
