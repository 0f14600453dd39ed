// --cpu-watts / --gpu-watts: estimates where no counter exists, labelled and apart from measured
// energy; fit's energy option takes the same `estimate`.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../lib/cli.js';
import { fit } from '../../lib/train/fit.js';
import * as wg from '../../lib/index.js';

function io(): {
  stdout: { write(s: string): boolean; isTTY: boolean };
  stderr: { write(s: string): boolean; isTTY: boolean };
  out(): string;
  err(): string;
} {
  const o: string[] = [],
    e: string[] = [];
  return {
    stdout: { write: (s: string) => (o.push(s), true), isTTY: false },
    stderr: { write: (s: string) => (e.push(s), true), isTTY: false },
    out: () => o.join(''),
    err: () => e.join(''),
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-cli-energy-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('wattgrad train --cpu-watts', () => {
  it('is in the help', async () => {
    const c = io();
    await main(['--help'], c);
    expect(c.out()).toMatch(/--cpu-watts W +where the CPU cannot be measured \(no RAPL\), estimate it as W watts × time/);
    expect(c.out()).toMatch(/--gpu-watts W/);
  });

  it('estimates an unmeasured CPU, apart from the measured total, and implies --energy', async () => {
    const c = io();
    const report = path.join(dir, 'r.html');
    const code = await main(
      ['train', 'mnist-mlp', '--epochs', '1', '--limit', '300', '--cpu-watts', '65', '--report', report, '--quiet'],
      c,
    );
    expect(c.err()).not.toMatch(/error/);
    expect(code).toBe(0);
    const out = c.out();
    expect(out).toMatch(/energy on/);
    const cpuLine = /\n {2}CPU[^:]*: (.*)\n/.exec(out)![1]!;
    const html = fs.readFileSync(report, 'utf8');
    if (cpuLine.startsWith('rapl')) {
      // a machine with RAPL measures: the estimate is not used
      expect(out).not.toMatch(/estimated/);
    } else {
      expect(cpuLine).toMatch(/^estimated: 65 W × window time, not a measurement \(not measured: .{10,}\)$/);
      expect(out).toMatch(/window +time +samples\/s .*CPU +total +estimated +J\/sample/);
      // the fit row: CPU ~x J, total measured only (n/a when the GPU is not measured either)
      expect(out).toMatch(/\nfit .* ~\d[\d.]* (m|k)?J .*GPU:\S+ CPU:estimate/);
      expect(out).toMatch(/estimates \("~"\): watts you gave × time, shown apart; never in total/);
      expect(html).toContain('energy (estimated, not measured)');
    }
    // the report names its figures: the CLI's per-epoch evaluation runs on the test split
    expect(html).toMatch(/<span>test accuracy \(final evaluation, 2,000 samples\)<\/span>/);
    expect(html).toMatch(/<span>train accuracy \(epoch 1\)<\/span>/);
    expect(html).not.toMatch(/final accuracy|validation accuracy/);
  }, 120_000);

  it('rejects a wattage that is not a positive number', async () => {
    for (const bad of ['-5', '0', 'abc', '']) {
      const c = io();
      expect(await main(['train', 'mnist-mlp', '--cpu-watts', bad], c)).toBe(2);
      expect(c.err()).toMatch(/--cpu-watts/);
    }
  });
});

describe('fit({ energy: { estimate } })', () => {
  it('labels the estimate and keeps it out of joules, kWh and CO2e', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'powercap-')); // no RAPL zones
    wg.manualSeed(0);
    const x = wg.randn([64, 4]);
    const y = wg.tensor(Int32Array.from({ length: 64 }, (_, i) => i % 2));
    const ds = new wg.data.TensorDataset(x, y);
    const model = new wg.nn.Linear(4, 2);
    const optimizer = new wg.optim.SGD(model.parameters(), { lr: 0.1 });
    const h = await fit(model, {
      train: new wg.data.DataLoader(ds, { batchSize: 16 }),
      optimizer,
      epochs: 2,
      verbose: false,
      energy: { gpu: false, rapl: { root: empty }, estimate: { cpuWatts: 50 } },
    });
    const run = h.energy!;
    expect(run.cpu!.method).toBe('estimate');
    expect(run.cpu!.meanWatts).toBe(50);
    expect(run.cpu!.note).toMatch(/no RAPL package zones under /);
    expect(run.joules).toBeNull();
    expect(run.estimatedJoules).toBeCloseTo(50 * run.seconds, 6);
    expect(run.kWh).toBeNull();
    expect(run.co2eGrams).toBeNull();
    for (const e of h.epochs) expect(e.energy!.cpu!.method).toBe('estimate');
    model.dispose();
    optimizer.dispose();
    ds.dispose();
  });
});
