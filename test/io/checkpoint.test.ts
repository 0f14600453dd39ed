// Checkpoint loads are all or nothing, and every field read from a checkpoint is checked: a file
// that does not fit (or holds a bad field) is an error naming the file and the field, and the model
// weights, the optimizer state, the scheduler and the RNG are exactly as before the failed load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as wg from '../../lib/index.js';
import { nn, optim, tidy, memory } from '../../lib/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../lib/io/checkpoint.js';
import { readSafetensors, serialize, SafetensorsError } from '../../lib/io/safetensors.js';
import { getRngState, manualSeed, setRngState } from '../../lib/random.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-ck-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function net(seed: number): nn.Sequential {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
}

/** A few Adam steps so the optimizer has state (exp_avg, exp_avg_sq, step). */
function train(model: nn.Sequential, opt: optim.Optimizer<{ lr: number }>, steps: number): void {
  const x = wg.tensor([
    [0.5, -1, 2],
    [1.5, 0.25, -0.75],
  ]);
  const y = wg.tensor([1, 0], { dtype: 'int32' });
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    tidy(() => wg.crossEntropy(model.forward(x), y).backward());
    opt.step();
  }
  x.dispose();
  y.dispose();
}

/** Every value the model, optimizer and scheduler hold, to compare before and after a failed load. */
function fingerprint(model: nn.Module, opt?: optim.Optimizer<{ lr: number }>, sched?: optim.LRScheduler): unknown {
  const weights = Object.entries(model.stateDict()).map(([k, t]) => [k, [...t.dataSync()]]);
  const state = opt
    ? [...opt.state.entries()].map(([, s]) => [s.step, Object.entries(s.tensors).map(([k, t]) => [k, [...t.dataSync()]])])
    : null;
  const groups = opt ? opt.paramGroups.map((g) => ({ ...g, params: g.params.length })) : null;
  return { weights, state, groups, sched: sched ? sched.stateDict() : null };
}

/** A copy of checkpoint `src` with some metadata fields replaced (undefined removes one). */
function withMetadata(src: string, dst: string, patch: Record<string, string | undefined>): string {
  const c = readSafetensors(src);
  const md: Record<string, string> = { ...c.metadata };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete md[k];
    else md[k] = v;
  }
  fs.writeFileSync(dst, serialize(c.tensors, md));
  return dst;
}

describe('loadCheckpoint is transactional', () => {
  let ck: string;
  beforeAll(() => {
    const m = net(1);
    const opt = new optim.Adam(m.parameters(), { lr: 0.01 });
    const sched = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
    train(m, opt, 3);
    sched.step();
    ck = path.join(dir, 'good.safetensors');
    saveCheckpoint(ck, { model: m, optimizer: opt, scheduler: sched, epoch: 3 });
    opt.dispose();
    m.dispose();
  });

  it('an optimizer that does not fit the file leaves the model weights unchanged', () => {
    const m = net(2);
    // an optimizer over the first layer only: 2 parameters where the file has 4
    const opt = new optim.Adam([m.stateDict()['0.weight']!, m.stateDict()['0.bias']!], { lr: 0.01 });
    train(m, opt, 1); // state of its own: the undo copy of it must be freed too
    const before = fingerprint(m, opt);
    const tensors = memory().tensors;
    expect(() => loadCheckpoint(ck, { model: m, optimizer: opt })).toThrow(
      new RegExp(`${ck.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot restore the optimizer \\(nothing was changed\\): .*parameters`),
    );
    expect(fingerprint(m, opt)).toEqual(before);
    expect(memory().tensors).toBe(tensors);
    opt.dispose();
    m.dispose();
  });

  it('a scheduler state that is refused puts the optimizer back (undo of an earlier step)', () => {
    const m = net(3);
    const opt = new optim.Adam(m.parameters(), { lr: 0.02 });
    const sched = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
    train(m, opt, 1); // some state of its own, different from the file's
    const bad = withMetadata(ck, path.join(dir, 'bad-sched.safetensors'), {
      scheduler: JSON.stringify({ lastEpoch: 'abc', baseLrs: [0.01], lastLrs: [0.01] }),
    });
    const before = fingerprint(m, opt, sched);
    const rng = getRngState();
    const live = memory().tensors;
    expect(() => loadCheckpoint(bad, { model: m, optimizer: opt, scheduler: sched })).toThrow(/lastEpoch/);
    expect(fingerprint(m, opt, sched)).toEqual(before);
    expect(memory().tensors).toBe(live); // the undo copies and the decoded tensors are freed
    expect(getRngState()).toEqual(rng);
    opt.dispose();
    m.dispose();
  });

  it('an optimizer step "abc" is refused before anything changes (the next Adam step would NaN every weight)', () => {
    const c = readSafetensors(ck);
    const o = JSON.parse(c.metadata.optimizer!) as { state: Record<string, { step: unknown }> };
    o.state['0']!.step = 'abc';
    const bad = withMetadata(ck, path.join(dir, 'bad-step.safetensors'), { optimizer: JSON.stringify(o) });
    const m = net(4);
    const opt = new optim.Adam(m.parameters(), { lr: 0.01 });
    const before = fingerprint(m, opt);
    expect(() => loadCheckpoint(bad, { model: m, optimizer: opt })).toThrow(/step of parameter 0/);
    expect(fingerprint(m, opt)).toEqual(before);
    opt.dispose();
    m.dispose();
  });

  it('a good load still restores everything', () => {
    const m = net(5);
    const opt = new optim.Adam(m.parameters(), { lr: 0.5 });
    const sched = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const r = loadCheckpoint(ck, { model: m, optimizer: opt, scheduler: sched, restoreRng: false });
    expect(r.epoch).toBe(3);
    expect(sched.lastEpoch).toBe(1);
    expect(opt.state.get([...m.parameters()][0]!)!.step).toBe(3);
    const file = readSafetensors(ck);
    const w = file.tensors.get('0.weight')!;
    expect([...m.stateDict()['0.weight']!.dataSync()]).toEqual([...new Float32Array(w.data.slice().buffer)]);
    opt.dispose();
    m.dispose();
  });
});

describe('loadCheckpoint checks every field', () => {
  let ck: string;
  beforeAll(() => {
    const m = net(7);
    ck = path.join(dir, 'fields.safetensors');
    saveCheckpoint(ck, { model: m, epoch: 2, rng: { seed: 5, offset: 9 } });
    m.dispose();
  });

  const cases: [string, Record<string, string | undefined>, RegExp][] = [
    ['epoch "abc"', { epoch: 'abc' }, /'epoch' must be a non-negative integer .* got "abc"/],
    ['epoch "-7" (resume would run 0 epochs)', { epoch: '-7' }, /'epoch' must be a non-negative integer .* got "-7"/],
    ['epoch "1.5"', { epoch: '1.5' }, /'epoch' must be a non-negative integer/],
    ['epoch "" (Number("") is 0)', { epoch: '' }, /'epoch' must be a non-negative integer/],
    ['epoch "1e3"', { epoch: '1e3' }, /'epoch' must be a non-negative integer/],
    ['rng {seed: "abc"}', { rng: '{"seed":"abc","offset":0}' }, /'rng.seed' must be a non-negative integer, got string "abc"/],
    ['rng offset -1', { rng: '{"seed":1,"offset":-1}' }, /'rng.offset' must be a non-negative integer/],
    ['rng an array', { rng: '[1,2]' }, /'rng' must be an object \{seed, offset\}, got an array/],
    ['model keys an object', { model: '{"0.weight":1}' }, /'model' must be a JSON array of state-dict names, got an object/],
    ['model keys numbers', { model: '[1,2]' }, /'model' must be a JSON array of state-dict names/],
    ['model key twice', { model: '["0.weight","0.weight","0.bias","2.weight","2.bias"]' }, /'model' lists '0.weight' twice/],
    ['optimizer a number', { optimizer: '5' }, /'optimizer' must be a JSON object .* got number 5/],
    ['scheduler a string', { scheduler: '"x"' }, /'scheduler' must be a JSON object/],
    ['history an array', { history: '[1]' }, /'history' must be an object/],
    ['history epochs numbers', { history: '{"epochs":[1,2]}' }, /'history.epochs' must be an array of objects/],
    ['metadata not JSON', { history: '{' }, /'history' is not valid JSON/],
    ['duplicate key in JSON metadata', { rng: '{"seed":1,"seed":2,"offset":0}' }, /'rng' is not valid JSON \(duplicate key "seed"/],
    ['an unknown format version', { 'wattgrad.checkpoint': '2' }, /checkpoint format version "2" is not supported/],
  ];
  for (const [name, patch, re] of cases) {
    it(`refuses ${name}, changing nothing`, () => {
      const bad = withMetadata(ck, path.join(dir, 'field.safetensors'), patch);
      const m = net(8);
      const before = fingerprint(m);
      const rng = getRngState();
      const live = memory().tensors;
      expect(() => loadCheckpoint(bad, { model: m })).toThrow(SafetensorsError);
      expect(memory().tensors).toBe(live); // nothing decoded is left behind
      expect(() => loadCheckpoint(bad, { model: m })).toThrow(re);
      expect(() => loadCheckpoint(bad, { model: m })).toThrow(bad); // names the file
      expect(fingerprint(m)).toEqual(before);
      expect(getRngState()).toEqual(rng);
      m.dispose();
    });
  }

  it('a float tensor in the file for an int32 buffer is refused (not truncated)', () => {
    const m = new nn.Sequential(new nn.BatchNorm1d(3));
    const f = path.join(dir, 'bn.safetensors');
    saveCheckpoint(f, { model: m });
    const c = readSafetensors(f);
    const raws = new Map(c.tensors);
    raws.set('0.num_batches_tracked', { dtype: 'F32', shape: [], data: new Uint8Array(new Float32Array([2.5]).buffer) });
    fs.writeFileSync(f, serialize(raws, c.metadata));
    expect(() => loadCheckpoint(f, { model: m })).toThrow(/'0.num_batches_tracked' is F32 in the file but int32 in the model/);
    m.dispose();
  });

  it('the good fields still load (and the RNG is restored)', () => {
    const m = net(9);
    const r = loadCheckpoint(ck, { model: m });
    expect(r.epoch).toBe(2);
    expect(r.rng).toEqual({ seed: 5, offset: 9 });
    expect(getRngState()).toEqual({ seed: 5, offset: 9 });
    m.dispose();
  });
});

describe('setRngState checks its argument', () => {
  it('refuses non-integer or negative seeds and offsets, keeping the state', () => {
    manualSeed(11);
    const before = getRngState();
    expect(() => setRngState({ seed: 'abc' as never, offset: 0 })).toThrow(
      /setRngState: seed must be a non-negative safe integer .* got "abc"/,
    );
    expect(() => setRngState({ seed: 1, offset: -1 })).toThrow(/offset must be a non-negative safe integer/);
    expect(() => setRngState({ seed: 1.5, offset: 0 })).toThrow(/seed/);
    expect(() => setRngState(null as never)).toThrow(/seed/);
    expect(getRngState()).toEqual(before);
  });
});

describe('Module.loadStateDict is transactional', () => {
  it('a bad entry after good ones leaves every weight unchanged', () => {
    const m = net(12);
    const before = fingerprint(m);
    const src = net(13);
    const sd = { ...src.stateDict() };
    sd['2.bias'] = wg.zeros([3]).add(1); // wrong shape, after 0.weight/0.bias/2.weight in key order
    expect(() => m.loadStateDict(sd)).toThrow(/size mismatch for 2.bias: copying a param with shape \(3,\)/);
    expect(fingerprint(m)).toEqual(before);
    sd['2.bias'].dispose();
    sd['2.bias'] = 5 as never;
    expect(() => m.loadStateDict(sd)).toThrow(/'2.bias' is not a tensor \(got number\)/);
    expect(fingerprint(m)).toEqual(before);
    src.dispose();
    m.dispose();
  });

  it('keys named after Object.prototype members are unexpected keys, not silently matched', () => {
    const m = net(14);
    const sd = Object.assign(Object.create(null) as Record<string, wg.Tensor>, m.stateDict());
    const extra = wg.tensor([1]);
    sd['constructor'] = extra;
    expect(() => m.loadStateDict(sd)).toThrow(/unexpected keys: constructor/);
    const r = m.loadStateDict(sd, { strict: false });
    expect(r.unexpectedKeys).toEqual(['constructor']);
    // and a model key missing from a plain object is missing even if Object.prototype has the name
    extra.dispose();
    m.dispose();
  });

  it('accepts a Map state dict', () => {
    const a = net(15);
    const b = net(16);
    b.loadStateDict(new Map(Object.entries(a.stateDict())));
    expect([...b.stateDict()['2.bias']!.dataSync()]).toEqual([...a.stateDict()['2.bias']!.dataSync()]);
    a.dispose();
    b.dispose();
  });
});

describe('saveCheckpoint refuses what loadCheckpoint would refuse, before replacing a good file', () => {
  it('a bad rng state or extra that is not JSON', () => {
    const m = net(20);
    const f = path.join(dir, 'save-bad.safetensors');
    saveCheckpoint(f, { model: m, epoch: 1 });
    const good = fs.readFileSync(f);
    expect(() => saveCheckpoint(f, { model: m, rng: { seed: 'x', offset: 0 } as never })).toThrow(
      /saveCheckpoint: rng.seed must be a non-negative integer .* got string "x"/,
    );
    expect(() => saveCheckpoint(f, { model: m, rng: { seed: 1, offset: -2 } })).toThrow(/rng.offset must be a non-negative integer/);
    expect(() => saveCheckpoint(f, { model: m, extra: { big: 1n } })).toThrow(
      /saveCheckpoint: extra cannot be stored as JSON \(Do not know how to serialize a BigInt\)/,
    );
    const circ: Record<string, unknown> = {};
    circ.self = circ;
    expect(() => saveCheckpoint(f, { model: m, extra: circ })).toThrow(
      /extra cannot be stored as JSON \(Converting circular structure to JSON\)/,
    );
    expect(fs.readFileSync(f).equals(good)).toBe(true);
    m.dispose();
  });
});

describe('loadCheckpoint checks the optimizer and scheduler class', () => {
  it('SGD state into Adam (its moments would restart at zero silently) is refused, changing nothing', () => {
    const m = net(30);
    const sgd = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
    train(m, sgd, 2);
    const f = path.join(dir, 'sgd.safetensors');
    saveCheckpoint(f, { model: m, optimizer: sgd, scheduler: new optim.StepLR(sgd, { stepSize: 1 }) });
    expect(readSafetensors(f).metadata['optimizer.class']).toBe('SGD');
    const m2 = net(31);
    const adam = new optim.Adam(m2.parameters());
    const before = fingerprint(m2, adam);
    expect(() => loadCheckpoint(f, { model: m2, optimizer: adam })).toThrow(
      /holds SGD optimizer state but the optimizer given is Adam; build a SGD to resume, or leave the optimizer out/,
    );
    const cos = new optim.CosineAnnealingLR(adam, { tMax: 5 });
    expect(() => loadCheckpoint(f, { model: m2, scheduler: cos })).toThrow(
      /holds StepLR scheduler state but the scheduler given is CosineAnnealingLR/,
    );
    expect(fingerprint(m2, adam)).toEqual(before);
    // the same classes load; a file without the class names (older wattgrad) is not checked
    const sgd2 = new optim.SGD(m2.parameters(), { lr: 0.1, momentum: 0.9 });
    loadCheckpoint(f, { model: m2, optimizer: sgd2, restoreRng: false });
    expect(sgd2.state.size).toBe(4);
    const old = withMetadata(f, path.join(dir, 'sgd-old.safetensors'), { 'optimizer.class': undefined });
    const sgd3 = new optim.SGD(m2.parameters(), { lr: 0.1, momentum: 0.9 });
    loadCheckpoint(old, { model: m2, optimizer: sgd3, restoreRng: false });
    for (const o of [sgd, adam, sgd2, sgd3]) o.dispose();
    m.dispose();
    m2.dispose();
  });
});

describe('deeply nested JSON metadata', () => {
  it('extra nested past the limit is refused at save; within it, it round-trips', async () => {
    const { MAX_METADATA_DEPTH } = await import('../../lib/io/checkpoint.js');
    const m = net(40);
    const f = path.join(dir, 'deep.safetensors');
    const nest = (n: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    expect(() => saveCheckpoint(f, { model: m, extra: nest(MAX_METADATA_DEPTH + 1) })).toThrow(
      new RegExp(`saveCheckpoint: extra nests deeper than ${MAX_METADATA_DEPTH} levels`),
    );
    expect(fs.existsSync(f)).toBe(false);
    saveCheckpoint(f, { model: m, extra: nest(MAX_METADATA_DEPTH) });
    expect(JSON.stringify(loadCheckpoint(f, { model: m, restoreRng: false }).extra)).toBe(JSON.stringify(nest(MAX_METADATA_DEPTH)));
    // a hand-edited file nested far deeper is an error naming the limit, not a stack overflow
    const bad = withMetadata(f, path.join(dir, 'deeper.safetensors'), { extra: '['.repeat(200000) + ']'.repeat(200000) });
    expect(() => loadCheckpoint(bad, { model: m })).toThrow(
      new RegExp(`'extra' is not valid JSON \\(nesting deeper than ${MAX_METADATA_DEPTH} levels`),
    );
    m.dispose();
  });
});
