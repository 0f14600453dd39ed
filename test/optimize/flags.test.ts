// wattgrad optimize: flag errors (exit 2 with the flag and what it takes), static/qat availability,
// and the table/report renderers on a hand-made result (no training here; test/optimize/cli.test.ts runs it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli.js';
import { formatOptimizeTable, renderOptimizeReport, tableCells } from '../../lib/optimize/report.js';
import { percentile } from '../../lib/optimize/measure.js';
import { staticApiMissing, type OptimizeResult } from '../../lib/optimize/run.js';

const dir = mkdtempSync(join(tmpdir(), 'wg-opt-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } };
  const code = await main(['optimize', ...args], io as never);
  return { code, out, err };
}

describe('wattgrad optimize flags', () => {
  it('--help lists every technique', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const f of [
      '--quantize',
      '--prune',
      '--prune-channels',
      '--distill-from',
      '--student-limit',
      '--student-epochs',
      '--amp',
      '--epochs',
      '--limit',
      '--out',
    ])
      expect(r.out).toContain(f);
  });
  const cases: [string[], RegExp][] = [
    [[], /which model\?/],
    [['mnist-mlp', 'mnist-cnn'], /one model at a time/],
    [['mnist-cnx'], /unknown model 'mnist-cnx'.*did you mean 'mnist-cnn'/],
    [['cnn', '--prune', '1'], /invalid --prune 1 .*must be .*< 1|invalid --prune 1 .*1\)/],
    [['cnn', '--prune', '-0.1'], /--prune/],
    [['cnn', '--prune-channels', '1.5'], /--prune-channels/],
    [['cnn', '--quantize', 'dynamc'], /--quantize must be dynamic, static or qat, got 'dynamc' — did you mean 'dynamic'/],
    [['cnn', '--amp', 'fp8'], /--amp must be bf16 or f16/],
    [['cnn', '--distill-from', 'resnet'], /unknown --distill-from teacher 'resnet'/],
    [['cnn', '--epochs', '0'], /--epochs/],
    [['cnn', '--limit', '2.5'], /--limit/],
    [['cnn', '--distill-from', 'cnn', '--student-limit', '0'], /--student-limit/],
    [['cnn', '--distill-from', 'cnn', '--student-epochs', '1.5'], /--student-epochs/],
    [['lstm', '--prune-channels', '0.5'], /--prune-channels needs a Sequential/],
    [['cnn', '--prunee', '0.5'], /unknown option '--prunee'.*did you mean '--prune'/],
  ];
  for (const [args, re] of cases) {
    it(`${args.join(' ') || '(no model)'}: exit 2, ${re.source.slice(0, 40)}`, async () => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.out).toBe('');
    });
  }
  it('--out naming a file is refused before training', async () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'x');
    const r = await run(['mlp', '--out', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out .* is a file/);
  });
  it('static / qat run when lib/quantization has the API, else fail up front with "not available yet"', async () => {
    for (const mode of ['static', 'qat'] as const) {
      const missing = staticApiMissing(mode);
      if (missing === null) continue; // the API is there: test/optimize/cli.test.ts runs the rows
      expect(missing).toMatch(/not available yet/);
      const r = await run(['mlp', '--quantize', mode, '--out', join(dir, mode)]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`--quantize ${mode} is not available yet`));
    }
  });
});

describe('optimize table and report', () => {
  const res: OptimizeResult = {
    model: 'mnist-mlp',
    description: 'MLP',
    data: { source: 'test', train: 100, test: 50 },
    epochs: 1,
    finetuneEpochs: 1,
    seed: 0,
    machine: { platform: 'linux', arch: 'x64', cpus: 2, node: 'v22' },
    energyNote: 'energy is an ESTIMATE',
    rows: [
      {
        key: 'baseline',
        technique: 'baseline fp32',
        prepareSeconds: 1,
        notes: [],
        accuracy: 0.9,
        params: 1000,
        nonzeroParams: 1000,
        bytesOnDisk: 4000,
        flopsPerSample: 2e6,
        latencyMs: { p50: 2, p95: 3, batches: 20, batchSize: 64 },
        samplesPerSecond: 1000,
        joules: 0.5,
        joulesPer1k: 10,
        energyMethod: 'estimate: …',
        energyMeasured: false,
      },
      {
        key: 'dynamic',
        technique: 'dynamic int8',
        prepareSeconds: 0.1,
        notes: ['int8'],
        accuracy: 0.895,
        params: 1000,
        nonzeroParams: 1000,
        bytesOnDisk: 1000,
        flopsPerSample: 2e6,
        latencyMs: { p50: 1, p95: 1.5, batches: 20, batchSize: 64 },
        samplesPerSecond: 2000,
        joules: 0.25,
        joulesPer1k: 5,
        energyMethod: 'estimate: …',
        energyMeasured: false,
      },
      { key: 'static', technique: 'static int8', prepareSeconds: 0, notes: [], error: 'boom <b>' },
    ],
  };
  it('cells: baseline first, ratios against it, estimates marked ~, failed rows say why', () => {
    const c = tableCells(res);
    expect(c[0]![0]).toBe('baseline fp32');
    expect(c[0]![8]).toBe('~10.00');
    expect(c[1]![3]).toBe('1000 B (4.00× less)');
    expect(c[1]![7]).toBe('2,000 (2.00×)');
    expect(c[1]![8]).toBe('~5.00 (2.00× less)');
    expect(c[2]![1]).toBe('failed: boom <b>');
    const text = formatOptimizeTable(res);
    expect(text.split('\n')[0]).toMatch(/^technique\s+accuracy\s+params/);
    expect(text).toContain('energy is an ESTIMATE');
  });
  it('report.html: the table, one chart point per measured row, escaped text', () => {
    const html = renderOptimizeReport(res);
    expect(html).toContain('<table>');
    expect((html.match(/<circle /g) ?? []).length).toBe(2);
    expect(html).toContain('boom &lt;b&gt;');
    expect(html).not.toContain('boom <b>');
    expect(html).toMatch(/estimated joules per 1,000 predictions/);
  });
  it('percentile interpolates between ranks (numpy default)', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20], 95)).toBeCloseTo(19.5);
    expect(percentile([7], 95)).toBe(7);
  });
});
