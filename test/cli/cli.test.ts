import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { main } from '../../lib/cli.js';
import { nativeInfo } from '../../lib/native.js';
import { backends } from '../../lib/backend/registry.js';
import { loadCheckpoint } from '../../lib/io/checkpoint.js';
import { writeIdxFile } from '../../lib/data/idx.js';
import { embeddedMnist, MNIST_FILES, type MnistRaw } from '../../lib/data/mnist.js';

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
    // cuda: its devices, or why not (this machine has no GPU; the GPU machine has one)
    expect(c.out()).toMatch(/\n {2}cuda {2}(available: cuda:0|unavailable: \S.{10,})\n/);
    // the addon file that was loaded, or why none was
    const native = nativeInfo();
    if (native.path) {
      expect(c.out()).toContain(`native addon: ${native.path}\n`);
      expect(c.out()).toMatch(/\n {2}build: \d+\.\d+\.\d+, \w+, cuda (yes|no)/);
    } else {
      expect(c.out()).toMatch(/native addon: not loaded \(\S.+\)\n/);
    }
    expect(c.out()).toMatch(/\n(GPU: none found|GPU 0: .+)/);
    const j = io();
    expect(await main(['info', '--json'], j)).toBe(0);
    const r = JSON.parse(j.out());
    expect(r.version).toBe(version);
    expect(r.backends.map((b: { name: string }) => b.name)).toEqual(['js', 'cuda']);
    expect(r.addon.path).toBe(native.path);
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
    expect(c.err()).toMatch(/train: unknown option '--epoks' — did you mean '--epochs'\?/);
    c = io();
    expect(await main(['train', 'mnist-mlp', '--epochs', 'two'], c)).toBe(2);
    expect(c.err()).toMatch(/train: invalid --epochs "two" \(must be an integer >= 1\)/);
    c = io();
    expect(await main(['train'], c)).toBe(2);
    expect(c.err()).toMatch(/which model\?/);
    c = io();
    expect(await main(['train', 'mnist-mlp', '--device', 'cpu:1'], c)).toBe(2);
    expect(c.err()).toMatch(/--device must be cpu, cuda or cuda:N, got 'cpu:1'/);
    if (!backends()[1]!.available) {
      // asking for cuda where it is unavailable fails with the reason, before any training
      c = io();
      expect(await main(['train', 'mnist-mlp', '--device', 'cuda'], c)).toBe(1);
      expect(c.err()).toMatch(/cuda unavailable/);
    }
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

  it('--energy prints the energy summary per epoch and for the run, honestly (n/a with the reason, never 0 J)', async () => {
    const c = io();
    const code = await main(['train', 'mnist-mlp', '--epochs', '2', '--limit', '500', '--energy', '--quiet'], c);
    expect(c.err()).not.toMatch(/error/);
    expect(code).toBe(0);
    const out = c.out();
    expect(out).toMatch(/energy on/);
    expect(out).toMatch(/\nenergy:\nwindow +time +samples\/s .*total +J\/sample +FLOP\/J +CO2e +method/);
    expect(out).toMatch(/\nepoch 1 .*\nepoch 2 .*\nfit /); // a row per epoch, then the run
    expect(out).toMatch(/\nmethods:\n {2}GPU: \S.*\n {2}CPU: \S.*/);
    expect(out).toMatch(/\ncarbon: \d+ gCO2e\/kWh/);
    // a device either has a measured method or says why it is unavailable; its cells are then n/a
    const methods = /\nmethods:\n((?: {2}.*\n?)+)/.exec(out)![1]!;
    for (const line of methods.split('\n').filter((l) => l.trim() !== '')) {
      expect(line).toMatch(/^ {2}(GPU|CPU|DRAM)\b.*: (unavailable: .{10,}|\S+)/);
    }
    if (/GPU: unavailable/.test(methods) && /CPU: unavailable/.test(methods)) expect(out).toMatch(/\nfit .* n\/a .*GPU:n\/a CPU:n\/a/);
    expect(out).not.toMatch(/(^|\s)0(\.0+)? [mkM]?J\b/m); // never a silent zero
  }, 120_000);

  it('--report writes the HTML report with per-epoch loss, accuracy and energy and the power chart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-cli-'));
    const file = path.join(dir, 'sub', 'report.html');
    const c = io();
    const code = await main(['train', 'mnist-mlp', '--epochs', '2', '--limit', '500', '--report', file, '--quiet'], c);
    expect(c.err()).not.toMatch(/error/);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/energy on/); // --report implies --energy
    expect(c.out()).toMatch(/\nmethods:\n/);
    expect(c.out()).toContain(`wrote report ${file}`);
    expect(fs.existsSync(file)).toBe(true);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>wattgrad: mnist-mlp on MNIST</title>');
    for (const chart of ['loss', 'accuracy', 'power', 'energy']) expect(html).toMatch(new RegExp(`<svg [^>]*data-chart="${chart}"`));
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(4);
    expect(html).toMatch(/Loss per epoch[\s\S]*Accuracy per epoch[\s\S]*Power over time[\s\S]*Energy per epoch/);
    expect(html).toMatch(/<h2>Epochs<\/h2>/);
    expect(html).toMatch(/test accuracy \d+\.\d\d%/);
    expect(html).not.toMatch(/<script/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('--data-dir trains on IDX files (gzipped here) instead of the embedded digits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-cli-idx-'));
    const e = embeddedMnist();
    const files: [string, MnistRaw, boolean][] = [
      [MNIST_FILES.trainImages, e.train, true],
      [MNIST_FILES.trainLabels, e.train, false],
      [MNIST_FILES.testImages, e.test, true],
      [MNIST_FILES.testLabels, e.test, false],
    ];
    for (const [name, r, images] of files) {
      const n = r === e.train ? 600 : 300;
      writeIdxFile(
        path.join(dir, name + '.gz'),
        images
          ? { type: 'uint8', dims: [n, 28, 28], data: r.images.slice(0, n * 784) }
          : { type: 'uint8', dims: [n], data: r.labels.slice(0, n) },
        { gzip: true },
      );
    }
    const c = io();
    expect(await main(['train', 'mnist-mlp', '--epochs', '1', '--data-dir', dir, '--quiet'], c)).toBe(0);
    expect(c.out()).toMatch(/: 600 train \/ 300 test samples/);
    expect(c.out()).toMatch(/test accuracy \d+\.\d\d% \(loss \d\.\d+\) on 300 samples/);
    const bad = io();
    expect(await main(['train', 'mnist-mlp', '--data-dir', path.join(dir, 'nope'), '--quiet'], bad)).toBe(1);
    expect(bad.err()).toMatch(/wattgrad: error: .*nope/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!fs.existsSync('dist/cli.js'))('node dist/cli.js info runs as a subprocess', () => {
    const out = execFileSync(process.execPath, ['dist/cli.js', 'info'], { encoding: 'utf8', env: { ...process.env, WATTGRAD_QUIET: '1' } });
    expect(out).toMatch(/^wattgrad \d+\.\d+\.\d+/);
    expect(fs.readFileSync('dist/cli.js', 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
