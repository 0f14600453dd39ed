// save / load / saveCheckpoint / loadCheckpoint: misspelt options are errors with a did-you-mean,
// and a bad epoch is refused before anything is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { save, load } from '../../lib/io/safetensors.js';
import { saveCheckpoint, loadCheckpoint } from '../../lib/io/checkpoint.js';
import { Linear } from '../../lib/nn/index.js';
import { SGD } from '../../lib/optim/index.js';
import { tensor } from '../../lib/ops/index.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-io-opts-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('io options', () => {
  it('save/load reject unknown keys', () => {
    const t = tensor([1, 2]);
    const f = path.join(dir, 'a.safetensors');
    expect(() => save(f, { t }, { meta: { a: 'b' } } as never)).toThrow("save: unknown option 'meta' — did you mean 'metadata'?");
    expect(fs.existsSync(f)).toBe(false);
    save(f, { t });
    expect(() => load(f, { devce: 'cpu' } as never)).toThrow(/load: unknown option 'devce' — did you mean 'device'\?/);
    t.dispose();
  });
  it('saveCheckpoint/loadCheckpoint reject unknown keys and bad epochs before writing or loading', () => {
    const model = new Linear(2, 2);
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const f = path.join(dir, 'ck.safetensors');
    expect(() => saveCheckpoint(f, { model, optimiser: opt } as never)).toThrow(
      "saveCheckpoint: unknown option 'optimiser' — did you mean 'optimizer'?",
    );
    expect(() => saveCheckpoint(f, { model, epoch: -7 })).toThrow(/saveCheckpoint: invalid epoch -7 \(must be a non-negative integer\)/);
    expect(() => saveCheckpoint(f, { model, epoch: 1.5 })).toThrow(/invalid epoch 1.5/);
    expect(() => saveCheckpoint({ model } as never, f as never)).toThrow(/saveCheckpoint: path must be a non-empty string/);
    expect(fs.existsSync(f)).toBe(false);
    saveCheckpoint(f, { model, optimizer: opt, epoch: 2 });
    const w = model.weight.toArray();
    expect(() => loadCheckpoint(f, { model, optimzer: opt } as never)).toThrow(
      "loadCheckpoint: unknown option 'optimzer' — did you mean 'optimizer'?",
    );
    expect(() => loadCheckpoint(f, { model, restoreRng: 'no' as never })).toThrow(/restoreRng "no" \(must be true or false\)/);
    expect(model.weight.toArray()).toEqual(w);
    expect(loadCheckpoint(f, { model, optimizer: opt }).epoch).toBe(2);
    opt.dispose();
    model.dispose();
  });
});
