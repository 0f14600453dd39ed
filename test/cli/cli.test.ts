import { vi } from 'vitest';
vi.mock('../../lib/backend/cuda-loader.js', () => ({ cudaStatus: () => ({ available: false, reason: 'mock', devices: [], path: null }), cudaBackendFor: () => { throw new Error('cuda unavailable: mock'); } }));
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { main } from '../../lib/cli.js';
import { loadCheckpoint } from '../../lib/io/checkpoint.js';

function io(): { stdout: { write(s: string): boolean; isTTY: boolean }; stderr: { write(s: string): boolean; isTTY: boolean }; out(): string; err(): string } {
  const o: string[] = [], e: string[] = [];
  return {
    stdout: { write: (s: string) => (o.push(s), true), isTTY: false },
    stderr: { write: (s: string) => (e.push(s), true), isTTY: false },
    out: () => o.join(''), err: () => e.join(''),
  };
}

describe('wattgrad CLI', () => {
  it('--help lists the commands and models', async () => {
    const c = io();
    expect(await main(['--help'], c)).toBe(0);
    expect(c.out()).toMatch(/train <model>/);
    expect(c.out()).toMatch(/mnist-mlp.*\n.*mnist-cnn.*\n.*mnist-lstm/);
    expect(c.out()).toMatch(/--data-dir DIR/);
  });

  it('info prints the version, backends and why cuda is unavailable', async () => {
    const c = io();
    expect(await main(['info'], c)).toBe(0);
    const version = JSON.parse(fs.readFileSync('package.json', 'utf8')).version;
    expect(c.out()).toContain(`wattgrad ${version}`);
    expect(c.out()).toMatch(/js\s+available: cpu/);
    expect(c.out()).toMatch(/cuda\s+unavailable: /);
    expect(c.out()).toMatch(/native addon: /);
    const j = io();
    expect(await main(['info', '--json'], j)).toBe(0);
    expect(JSON.parse(j.out()).backends[0].name).toBe('js');
  });

  it('gives clear errors for unknown commands, models and flags', async () => {
    let c = io();
    expect(await main(['fly'], c)).toBe(2);
    expect(c.err()).toMatch(/unknown command 'fly'/);
    c = io();
    expect(await main(['train', 'mnist-gpt'], c)).toBe(2);
    expect(c.err()).toMatch(/unknown model 'mnist-gpt' \(expected one of mnist-mlp, mnist-cnn, mnist-lstm\)/);
    c = io();
    expect(await main(['train', 'mnist-mlp', '--epoks', '2'], c)).toBe(2);
    expect(c.err()).toMatch(/Unknown option '--epoks'/);
    c = io();
    expect(await main(['train', 'mnist-mlp', '--epochs', 'two'], c)).toBe(2);
    expect(c.err()).toMatch(/--epochs must be an integer >= 1, got 'two'/);
    c = io();
    expect(await main(['train'], c)).toBe(2);
    expect(c.err()).toMatch(/which model\?/);
    c = io();
    expect(await main(['train', 'mnist-mlp', '--device', 'cuda'], c)).toBe(1);
    expect(c.err()).toMatch(/cuda unavailable/);
  });

  it('trains mnist-mlp briefly, prints a summary and saves a checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-cli-'));
    const ck = path.join(dir, 'mlp.safetensors');
    const c = io();
    const code = await main(['train', 'mnist-mlp', '--epochs', '1', '--limit', '2000', '--seed', '1', '--save', ck], c);
    expect(c.err()).not.toMatch(/error/);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/training mnist-mlp \([\d,]+ parameters\) on cpu/);
    expect(c.out()).toMatch(/test accuracy \d+\.\d\d% \(loss \d\.\d+\) on 2000 samples/);
    expect(c.out()).toMatch(/samples\/s/);
    expect(c.err()).toMatch(/epoch 1\/1: loss/); // progress lines (not a TTY)
    const acc = Number(/test accuracy (\d+\.\d\d)%/.exec(c.out())![1]);
    expect(acc).toBeGreaterThan(85);
    const { MODELS } = await import('../../lib/models/index.js');
    const run = MODELS['mnist-mlp'].create({ lr: 1e-3, epochs: 1, device: 'cpu' });
    const r = loadCheckpoint(ck, { model: run.model, optimizer: run.optimizer });
    expect(r.epoch).toBe(1);
    expect((r.extra as { model: string }).model).toBe('mnist-mlp');
    run.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!fs.existsSync('dist/cli.js'))('node dist/cli.js info runs as a subprocess', () => {
    const out = execFileSync(process.execPath, ['dist/cli.js', 'info'], { encoding: 'utf8', env: { ...process.env, WATTGRAD_QUIET: '1' } });
    expect(out).toMatch(/^wattgrad \d+\.\d+\.\d+/);
    expect(fs.readFileSync('dist/cli.js', 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
