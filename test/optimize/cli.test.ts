// wattgrad optimize end to end on a small budget (300 training digits, 1 epoch, 200 test digits):
// the table, optimize.json and report.html hold the baseline first and one row per requested
// technique, with sane values. In the integration (slow) set: it trains a few small models.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli.js';
import { staticApiMissing, type OptimizeResult } from '../../lib/optimize/run.js';

const dir = mkdtempSync(join(tmpdir(), 'wg-opt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wattgrad optimize', () => {
  it('mnist-mlp with every technique: table, JSON and report.html, baseline first, sane figures', async () => {
    const staticOk = staticApiMissing('static') === null && staticApiMissing('qat') === null;
    const out = join(dir, 'mlp');
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => ((stdout += s), true) }, stderr: { write: (s: string) => ((stderr += s), true) } };
    const quantize = staticOk ? 'dynamic,static,qat' : 'dynamic';
    const code = await main(
      [
        'optimize',
        'mlp',
        '--quantize',
        quantize,
        '--prune',
        '0.5',
        '--prune-channels',
        '0.5',
        '--distill-from',
        'cnn',
        '--student-limit',
        '200',
        '--student-epochs',
        '3',
        '--amp',
        'bf16',
        '--epochs',
        '1',
        '--limit',
        '300',
        '--test-limit',
        '200',
        '--batches',
        '4',
        '--out',
        out,
        '--seed',
        '3',
      ],
      io as never,
    );
    expect(stderr).not.toMatch(/failed/);
    expect(code).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'optimize.json'), 'utf8')) as OptimizeResult;
    const keys = ['baseline', 'dynamic', ...(staticOk ? ['static', 'qat'] : []), 'prune', 'prune-channels', 'distill', 'student', 'amp'];
    expect(res.rows.map((r) => r.key)).toEqual(keys);
    expect(res.data).toMatchObject({ train: 300, test: 200 });
    const row = (k: string) => res.rows.find((r) => r.key === k)!;
    for (const r of res.rows) {
      expect(r.error, r.technique).toBeUndefined();
      expect(r.accuracy!).toBeGreaterThan(0.2); // 10 classes: chance is 0.1; one epoch on 300 digits
      expect(r.accuracy!).toBeLessThanOrEqual(1);
      expect(r.params!).toBeGreaterThan(1000);
      expect(r.nonzeroParams!).toBeLessThanOrEqual(r.params!);
      const file = statSync(join(out, 'models', `${r.key}.safetensors`)).size;
      if (r.notes.some((n) => n.startsWith('bytes:'))) expect(r.bytesOnDisk!).toBeGreaterThan(file);
      else expect(r.bytesOnDisk).toBe(file);
      expect(r.latencyMs!.p50).toBeGreaterThan(0);
      expect(r.latencyMs!.p95).toBeGreaterThanOrEqual(r.latencyMs!.p50);
      expect(r.latencyMs!.batches).toBeGreaterThanOrEqual(4);
      expect(r.samplesPerSecond!).toBeGreaterThan(0);
      expect(r.joulesPer1k!).toBeGreaterThan(0);
      expect(r.energyMethod).toMatch(/^(measured|estimate): /);
      expect(r.energyMeasured).toBe(r.energyMethod!.startsWith('measured'));
    }
    const base = row('baseline');
    expect(base.params).toBe(784 * 256 + 256 + 256 * 10 + 10);
    // int8 weights: at least 3.5× smaller than float32 for the Linear-only MLP (biases and scales stay float)
    expect(base.bytesOnDisk! / row('dynamic').bytesOnDisk!).toBeGreaterThan(3.5);
    // 50% unstructured: half the weights are zero, the file is as big (dense)
    const w = 784 * 256 + 256 * 10;
    expect(row('prune').nonzeroParams!).toBeLessThanOrEqual(base.params! - Math.floor(w / 2) + 5);
    expect(row('prune').bytesOnDisk).toBe(base.bytesOnDisk);
    // channels really removed: fewer parameters, fewer FLOPs
    expect(row('prune-channels').params!).toBeLessThan(0.6 * base.params!);
    expect(row('prune-channels').flopsPerSample!).toBeLessThan(0.6 * base.flopsPerSample!);
    expect(row('distill').params).toBe(784 * 64 + 64 + 64 * 10 + 10);
    expect(row('student').params).toBe(row('distill').params);
    // both students: the same labelled subset and epochs, said in the notes
    for (const k of ['distill', 'student']) expect(row(k).notes.join(' ')).toMatch(/200 training digits × 3 epoch\(s\)/);
    expect(row('amp').params).toBe(base.params);
    // the table: a header, then the rows in the same order
    const lines = stdout.split('\n');
    const h = lines.findIndex((l) => l.startsWith('technique'));
    expect(h).toBeGreaterThan(-1);
    res.rows.forEach((r, i) => expect(lines[h + 1 + i]!.startsWith(r.technique)).toBe(true));
    expect(stdout).toMatch(/J\/1k pred/);
    // report.html: the table and the chart, a point per row
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const r of res.rows) expect(html).toContain(r.technique.replace('←', '←'));
    expect(html).toContain('<svg');
    expect((html.match(/<circle /g) ?? []).length).toBe(res.rows.length);
    expect(existsSync(join(out, 'models', 'baseline.safetensors'))).toBe(true);
  }, 600_000);
});
