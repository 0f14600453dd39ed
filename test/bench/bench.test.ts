// The benchmark suite in its quick mode on the js backend, in-process: every family runs, is
// validated, counted and timed, and the tfjs peer ratios are there. (The CNN training step is left
// out: tfjs's CPU CNN step alone takes seconds even at batch 4.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, runBench } from '../../bench/run.js';
import { renderMarkdown, writeResultsSection } from '../../bench/lib/report.js';

process.env.WATTGRAD_QUIET = '1';

describe('bench (quick, js backend)', () => {
  it('runs every op family and reports medians, FLOPs, validation and tfjs ratios', async () => {
    const o = parseArgs(['--quick', '--backend', 'js', '--op', 'matmul,conv2d,lstm,gru,adamw,sgd,softmax,xent,mlp']);
    const rep = await runBench({ ...o, budgetMs: 15, log: () => {} });

    expect(rep.meta.backend).toBe('js');
    expect(rep.roofline.bandwidth).toBeGreaterThan(0);
    expect(rep.roofline.peakFlops.float32).toBeGreaterThan(0);
    const families = new Set(rep.cases.map((c) => c.op));
    for (const f of ['matmul', 'conv2d', 'lstm', 'gru', 'adamw', 'sgd', 'softmax', 'xent']) expect(families.has(f)).toBe(true);

    for (const c of rep.cases) {
      expect(c.error, `${c.id}: ${c.error}`).toBeUndefined();
      expect(c.timing!.medianMs).toBeGreaterThan(0);
      expect(c.flops).toBeGreaterThan(0);
      expect(c.bytes).toBeGreaterThan(0);
      expect(c.flopsPerSecond).toBeGreaterThan(0);
      expect(c.pctRoofline).toBeGreaterThan(0);
      expect(c.validation?.ok, `${c.id}: ${JSON.stringify(c.validation)}`).toBe(true);
      expect(c.counter?.flopsMatch, `${c.id}: counter ${c.counter?.flops} vs ${c.flops}`).toBe(true);
    }
    // tfjs ratios on matmul and conv2d forward
    const withPeer = rep.cases.filter((c) => c.op === 'matmul' || c.id.startsWith('conv2d fwd'));
    expect(withPeer.length).toBeGreaterThanOrEqual(4);
    for (const c of withPeer) {
      const p = c.peers.find((x) => x.peer === 'tfjs-cpu');
      expect(p, c.id).toBeDefined();
      expect(p!.medianMs).toBeGreaterThan(0);
      expect(Number.isFinite(p!.speedup) && p!.speedup > 0).toBe(true);
    }
    // end to end: MLP training step, throughput, energy reported (measured or 'unavailable: …'), tfjs ratio
    const mlp = rep.e2e.find((e) => e.model === 'mlp')!;
    expect(mlp.error).toBeUndefined();
    expect(mlp.samplesPerSecond).toBeGreaterThan(0);
    expect(mlp.flopsPerStep).toBeGreaterThan(0);
    expect(mlp.energy.joules === null ? mlp.energy.method.startsWith('unavailable') : mlp.energy.joules > 0).toBe(true);
    expect(mlp.peers.find((p) => p.peer === 'tfjs-cpu')?.speedup).toBeGreaterThan(0);

    const md = renderMarkdown(rep);
    expect(md).toContain('### matmul');
    expect(md).toContain('vs tfjs-cpu');
  }, 120_000);

  it('rewrites only its own section of RESULTS.md', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-')), 'RESULTS.md');
    writeResultsSection(f, 'gpu: none', 'GPU placeholder');
    writeResultsSection(f, 'cpu: X', 'first');
    writeResultsSection(f, 'cpu: X', 'second');
    writeResultsSection(f, 'gpu: H', 'gpu figures', ['gpu: none']);
    const t = fs.readFileSync(f, 'utf8');
    expect(t).toContain('second');
    expect(t).not.toContain('first');
    expect(t).not.toContain('GPU placeholder');
    expect(t).toContain('gpu figures');
  });

  it('parses the command line', () => {
    expect(parseArgs(['--backend', 'cuda', '--op', 'e2e,matmul', '--json', 'x.json']).ops).toEqual(['mlp', 'cnn', 'matmul']);
    expect(() => parseArgs(['--op', 'nope'])).toThrow(/unknown op/);
    expect(() => parseArgs(['--quick', '--write-results'])).toThrow(/full runs/);
  });
});
