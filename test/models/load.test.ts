// wattgrad/models: the demo model builders are a package entry point, and a checkpoint written by
// `wattgrad train --save` loads through loadModel without rebuilding the model by hand.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../lib/cli.js';
import { MODELS, createModel, loadModel, modelNames } from '../../lib/models/index.js';
import { evaluate } from '../../lib/train/fit.js';
import { DataLoader } from '../../lib/data/loader.js';
import { loadMnist } from '../../lib/data/mnist.js';
import { load, save } from '../../lib/io/safetensors.js';
import { memory } from '../../lib/memory.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-models-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const quiet = { write: () => true, isTTY: false };

describe('wattgrad/models', () => {
  it('is an export of the package that points at lib/models', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, { import: string; types: string }>;
    };
    expect(pkg.exports['./models']).toEqual({ types: './dist/models/index.d.ts', import: './dist/models/index.js' });
    expect(fs.existsSync(new URL('../../lib/models/index.ts', import.meta.url))).toBe(true);
  });

  it('loads a checkpoint saved by the CLI (weights equal, accuracy kept)', async () => {
    const ck = path.join(dir, 'mlp.safetensors');
    const code = await main(['train', 'mnist-mlp', '--epochs', '1', '--limit', '1000', '--seed', '3', '--quiet', '--save', ck], {
      stdout: quiet,
      stderr: quiet,
    });
    expect(code).toBe(0);
    const before = memory().tensors;
    const model = loadModel(ck);
    const file = load(ck);
    for (const [k, t] of Object.entries(model.stateDict())) expect(Array.from(t.dataSync()), k).toEqual(Array.from(file[k]!.dataSync()));
    for (const t of Object.values(file)) t.dispose();
    const mnist = loadMnist({ trainLimit: 1, testLimit: 500 });
    const r = await evaluate(model.eval(), new DataLoader(mnist.test, { batchSize: 250 }), { metrics: ['accuracy'] });
    expect(r.metrics.accuracy).toBeGreaterThan(0.7); // 1 epoch on 1,000 digits; chance is 0.1
    mnist.train.dispose();
    mnist.test.dispose();
    model.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('builds every demo model by name; plain weights need a name; errors say what to do', () => {
    for (const n of modelNames()) {
      const m = createModel(n);
      expect(m.numParameters()).toBeGreaterThan(1000);
      expect(m.constructor.name).toBe(MODELS[n].build().constructor.name);
      m.dispose();
    }
    expect(() => createModel('mnist-cn' as 'mnist-cnn')).toThrow(/unknown demo model "mnist-cn" — did you mean 'mnist-cnn'/);
    const plain = path.join(dir, 'plain.safetensors');
    const src = createModel('mnist-cnn');
    save(plain, src.stateDict());
    expect(() => loadModel(plain)).toThrow(/not a wattgrad checkpoint; pass \{ name \}/);
    const m = loadModel(plain, { name: 'mnist-cnn' });
    const a = src.stateDict(),
      b = m.stateDict();
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.dataSync()), k).toEqual(Array.from(a[k]!.dataSync()));
    expect(() => loadModel(plain, { name: 'mnist-mlp' })).toThrow(/0\.weight|1\.weight|shape|missing|unexpected/);
    expect(() => loadModel(plain, { nme: 'x' } as never)).toThrow(/unknown option 'nme' — did you mean 'name'/);
    src.dispose();
    m.dispose();
  });
});
