import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCost } from '../../lib/backend/counter.js';
import {
  EnergyMeter,
  renderHtmlReport,
  writeHtmlReport,
  type EpochRecord,
  type EnergyResult,
  type HtmlReportData,
  type PowerSeries,
} from '../../lib/energy/index.js';
import { FakeNvml, ManualClock } from './fakes.js';

const run = promisify(execFile);
const CHROMIUM = process.env.WATTGRAD_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const requireChromium = process.env.WATTGRAD_REQUIRE_CHROMIUM === '1';

let dir: string;

/** A plausible 8-epoch MNIST run, measured by the meter over a fake NVML. */
function sampleData(): HtmlReportData {
  const clock = new ManualClock();
  const nv = new FakeNvml(clock, [{ name: 'NVIDIA H100 80GB HBM3', energyJ: 0, powerW: 240 }]);
  const meter = new EnergyMeter({ nvml: nv, cpu: false, now: clock.now, carbon: { intensity: 'DE', pue: 1.1 } });
  const history: EpochRecord[] = [];
  meter.begin('run');
  for (let e = 1; e <= 8; e++) {
    meter.begin(`epoch ${e}`);
    recordCost('conv2d', 2.4e12, 1e10);
    const secs = 9 + (e === 1 ? 2 : 0) + Math.sin(e);
    clock.advance(secs * 1000);
    nv.gpus[0]!.energyJ! += secs * (230 + 15 * Math.cos(e));
    const energy = meter.end(`epoch ${e}`, { samples: 60000 });
    history.push({
      loss: 0.9 * Math.exp(-e / 2.5) + 0.03,
      accuracy: 0.99 - 0.25 * Math.exp(-e / 1.5),
      valLoss: 0.85 * Math.exp(-e / 2.8) + 0.05,
      valAccuracy: 0.985 - 0.22 * Math.exp(-e / 1.6),
      seconds: secs,
      energy,
    });
  }
  const summary = meter.end('run', { samples: 8 * 60000 });
  const t: number[] = [];
  const gpuW: number[] = [];
  const cpuW: number[] = [];
  for (let i = 0; i < 900; i++) {
    t.push(i * 0.1);
    gpuW.push(235 + 40 * Math.sin(i / 9) * (i % 110 < 100 ? 1 : 0) - (i % 110 >= 100 ? 150 : 0));
    cpuW.push(48 + 6 * Math.sin(i / 23));
  }
  const powerSeries: PowerSeries[] = [
    { label: 'GPU 0 NVIDIA H100 80GB HBM3', tSeconds: t, watts: gpuW },
    { label: 'CPU (RAPL)', tSeconds: t, watts: cpuW },
  ];
  return {
    title: 'mnist-cnn on cuda:0 <demo>',
    history,
    powerSeries,
    summary: [summary],
    notes: ['model: 2×conv + 2×linear', 'batch 128', 'AdamW lr 1e-3'],
  };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-report-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HTML report', () => {
  it('is self-contained: inline SVG charts, no scripts, no external resources', () => {
    const html = renderHtmlReport(sampleData());
    for (const id of ['loss', 'accuracy', 'power', 'energy']) expect(html).toContain(`data-chart="${id}"`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).toContain('mnist-cnn on cuda:0 &lt;demo&gt;'); // escaped
    expect(html).toContain('nvml-counter');
    expect(html).toMatch(/CO2e/);
  });

  it('shows unmeasured energy as n/a, never as a zero-height bar', () => {
    const r = { joules: null, estimatedJoules: null } as unknown as EnergyResult;
    const html = renderHtmlReport({
      title: 't',
      history: [
        { loss: 1, accuracy: 0.5, seconds: 1, energy: r },
        { loss: 0.5, accuracy: 0.7, seconds: 1, energy: null },
      ],
    });
    const energy = html.slice(html.indexOf('data-chart="energy"'));
    expect(energy.slice(0, energy.indexOf('</svg>'))).toMatch(/>n\/a</);
    expect(energy.slice(0, energy.indexOf('</svg>'))).not.toMatch(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="0\.0"/);
    expect(html).toMatch(/no power samples/);
  });

  it('writes atomically (temp file + rename, nothing left behind)', async () => {
    const file = path.join(dir, 'sub', 'report.html');
    const out = await writeHtmlReport(file, sampleData());
    expect(out).toBe(path.resolve(file));
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^<!doctype html>/);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['report.html']);
    await writeHtmlReport(file, { ...sampleData(), title: 'second' }); // replaces in place
    expect(fs.readFileSync(file, 'utf8')).toContain('<title>second</title>');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['report.html']);
  });

  it.skipIf(!haveChromium && !requireChromium)(
    'renders in headless Chromium with all four SVG charts',
    async () => {
      expect(haveChromium, `${CHROMIUM} missing and WATTGRAD_REQUIRE_CHROMIUM=1`).toBe(true);
      const file = path.join(dir, 'render.html');
      await writeHtmlReport(file, sampleData());
      const png = process.env.WATTGRAD_REPORT_SCREENSHOT ?? path.join(dir, 'report.png');
      const flags = (profile: string) => [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${fs.mkdtempSync(path.join(dir, profile))}`,
      ];
      const url = `file://${file}`;
      const dom = await run(CHROMIUM, [...flags('dom-'), '--dump-dom', url], { timeout: 90_000, maxBuffer: 64 << 20 });
      for (const id of ['loss', 'accuracy', 'power', 'energy']) {
        expect(dom.stdout).toMatch(new RegExp(`<svg class="chart" data-chart="${id}"[^>]*>[\\s\\S]*?<path|<rect`));
      }
      expect(dom.stdout).toMatch(/<table class="summary">/);
      await run(CHROMIUM, [...flags('shot-'), `--screenshot=${png}`, '--window-size=1200,1600', '--hide-scrollbars', url], {
        timeout: 90_000,
      });
      const bytes = fs.readFileSync(png);
      expect(bytes.subarray(1, 4).toString()).toBe('PNG');
      expect(bytes.length).toBeGreaterThan(20_000); // a blank page is a few KB
    },
    200_000,
  );
});
