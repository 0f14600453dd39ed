// OneCycleLR, ReduceLROnPlateau and ExponentialLR against torch.optim.lr_scheduler
// (test/fixtures/schedulers.json, written by make_fixtures.py schedulers), plus their state dicts.
import { describe, expect, it } from 'vitest';
import { tensor } from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import * as nn from '../../lib/nn/index.js';
import { loadFixture, type SchedulerCase } from '../util/fixtures.js';

type Opt = optim.SGD | optim.Adam;

function makeOpt(c: SchedulerCase): Opt {
  const p = [nn.Parameter.from(tensor([0.5, -1]))];
  const lr = c.params.lr as number;
  return c.optimizer === 'Adam'
    ? new optim.Adam(p, { lr })
    : new optim.SGD(p, { lr, momentum: (c.params.momentum as number | undefined) ?? 0 });
}

function oneCycleOpts(p: SchedulerCase['params']): optim.OneCycleLROptions {
  const o: Record<string, unknown> = {};
  const map: Record<string, string> = {
    max_lr: 'maxLr',
    total_steps: 'totalSteps',
    epochs: 'epochs',
    steps_per_epoch: 'stepsPerEpoch',
    pct_start: 'pctStart',
    anneal_strategy: 'annealStrategy',
    cycle_momentum: 'cycleMomentum',
    base_momentum: 'baseMomentum',
    max_momentum: 'maxMomentum',
    div_factor: 'divFactor',
    final_div_factor: 'finalDivFactor',
    three_phase: 'threePhase',
  };
  for (const [k, v] of Object.entries(p)) if (map[k]) o[map[k]!] = v;
  return o as unknown as optim.OneCycleLROptions;
}

function plateauOpts(p: SchedulerCase['params']): optim.ReduceLROnPlateauOptions {
  const map: Record<string, string> = {
    mode: 'mode',
    factor: 'factor',
    patience: 'patience',
    threshold: 'threshold',
    threshold_mode: 'thresholdMode',
    cooldown: 'cooldown',
    min_lr: 'minLr',
    eps: 'eps',
  };
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (map[k]) o[map[k]!] = v;
  return o as optim.ReduceLROnPlateauOptions;
}

const momentumOf = (o: Opt): number => {
  const g = o.paramGroups[0] as unknown as { betas?: [number, number]; momentum?: number };
  return g.betas ? g.betas[0] : g.momentum!;
};

function closeSeq(what: string, a: number[], b: number[]): void {
  expect(a.length, what).toBe(b.length);
  a.forEach((v, i) =>
    expect(Math.abs(v - b[i]!), `${what} at ${i}: ${v} vs torch ${b[i]}`).toBeLessThanOrEqual(1e-11 * Math.max(1, Math.abs(b[i]!))),
  );
}

describe('schedulers vs torch.optim.lr_scheduler fixture', () => {
  for (const c of loadFixture('schedulers').cases) {
    it(c.name, () => {
      const o = makeOpt(c);
      const lrs: number[] = [];
      const moms: number[] = [];
      if (c.scheduler === 'ReduceLROnPlateau') {
        const s = new optim.ReduceLROnPlateau(o, plateauOpts(c.params));
        for (const m of c.metrics!) {
          s.step(m);
          lrs.push(o.paramGroups[0]!.lr);
        }
        expect(s.getLastLr()).toEqual([lrs[lrs.length - 1]]);
      } else {
        const s =
          c.scheduler === 'OneCycleLR'
            ? new optim.OneCycleLR(o, oneCycleOpts(c.params))
            : new optim.ExponentialLR(o, { gamma: c.params.gamma as number });
        for (let i = 0; i < c.lrs.length; i++) {
          if (i > 0) s.step();
          lrs.push(o.paramGroups[0]!.lr);
          moms.push(momentumOf(o));
        }
      }
      closeSeq('lr', lrs, c.lrs);
      if (c.momentum) closeSeq('momentum', moms, c.momentum);
      o.dispose();
    });
  }
});

describe('OneCycleLR', () => {
  it('errors past totalSteps, on bad options, and without momentum to cycle', () => {
    const o = new optim.SGD([nn.Parameter.from(tensor([1]))], { lr: 0.1, momentum: 0.9 });
    const s = new optim.OneCycleLR(o, { maxLr: 1, totalSteps: 3 });
    for (let i = 0; i < 3; i++) s.step();
    expect(() => s.step()).toThrow(/OneCycleLR: tried to step 4 times; the specified number of total steps is 3/);
    expect(() => new optim.OneCycleLR(o, { maxLr: 1 })).toThrow(/totalSteps, or epochs and stepsPerEpoch/);
    expect(() => new optim.OneCycleLR(o, { maxLr: 1, totalSteps: 5, annealStrategy: 'exp' as 'cos' })).toThrow(
      /annealStrategy must be 'cos' or 'linear'/,
    );
    expect(() => new optim.OneCycleLR(o, { maxLr: [1, 2], totalSteps: 5 })).toThrow(/expected 1 values for maxLr, got 2/);
  });

  it('a state dict resumes the schedule mid-way (lr and β1)', () => {
    const mk = (): optim.Adam => new optim.Adam([nn.Parameter.from(tensor([1]))], { lr: 0.1 });
    const a = mk();
    const sa = new optim.OneCycleLR(a, { maxLr: 0.01, totalSteps: 20 });
    for (let i = 0; i < 7; i++) sa.step();
    const sd = JSON.parse(JSON.stringify(sa.stateDict()));
    const b = mk();
    const sb = new optim.OneCycleLR(b, { maxLr: 0.01, totalSteps: 20 });
    sb.loadStateDict(sd);
    expect(b.paramGroups[0]!.lr).toBe(a.paramGroups[0]!.lr);
    expect(b.paramGroups[0]!.betas[0]).toBe(a.paramGroups[0]!.betas[0]);
    sa.step();
    sb.step();
    expect(b.paramGroups[0]!.lr).toBe(a.paramGroups[0]!.lr);
    expect(sb.getLastMomentum()).toEqual(sa.getLastMomentum());
  });
});

describe('ReduceLROnPlateau', () => {
  it('state dict round trip (through JSON) continues identically', () => {
    const mk = (): optim.SGD => new optim.SGD([nn.Parameter.from(tensor([1]))], { lr: 1 });
    const vals = [5, 4, 4.5, 4.4, 4.6, 4.7, 3, 3.1, 3.2, 3.3, 3.4];
    const a = mk();
    const sa = new optim.ReduceLROnPlateau(a, { patience: 1, factor: 0.5, cooldown: 1 });
    vals.slice(0, 5).forEach((v) => sa.step(v));
    const b = mk();
    const sb = new optim.ReduceLROnPlateau(b, { patience: 1, factor: 0.5, cooldown: 1 });
    sb.loadStateDict(JSON.parse(JSON.stringify(sa.stateDict())));
    expect(b.paramGroups[0]!.lr).toBe(0.5);
    for (const v of vals.slice(5)) {
      sa.step(v);
      sb.step(v);
      expect(sb.getLastLr()).toEqual(sa.getLastLr());
      expect(sb.stateDict()).toEqual(sa.stateDict());
    }
    expect(a.paramGroups[0]!.lr).toBe(0.25); // reduced at 4.4 and 3.2 (2 bad epochs > patience 1); the cooldown resets the count at 4.6 and 3.3
  });

  it('needs the monitored value; checks its options', () => {
    const o = new optim.SGD([nn.Parameter.from(tensor([1]))], { lr: 1 });
    const s = new optim.ReduceLROnPlateau(o);
    expect(() => s.step()).toThrow(/pass the monitored value/);
    s.step(tensor(2));
    expect(s.best).toBe(2);
    expect(() => new optim.ReduceLROnPlateau(o, { factor: 1 })).toThrow(/factor should be in \[0, 1\), got 1/);
    expect(() => new optim.ReduceLROnPlateau(o, { mode: 'up' as 'min' })).toThrow(/mode must be 'min' or 'max'/);
    expect(() => new optim.ReduceLROnPlateau(o, { minLr: [0, 0] })).toThrow(/expected 1 values for minLr, got 2/);
  });
});

describe('new schedulers in checkpoints and fit', () => {
  it('ReduceLROnPlateau and OneCycleLR survive saveCheckpoint / loadCheckpoint', async () => {
    const { saveCheckpoint, loadCheckpoint } = await import('../../lib/io/checkpoint.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-sched-'));
    try {
      const model = new nn.Linear(2, 1);
      const mk = (): [optim.SGD, optim.ReduceLROnPlateau, optim.OneCycleLR] => {
        const a = new optim.SGD([...model.parameters()].slice(0, 1), { lr: 1 });
        const b = new optim.SGD([...model.parameters()].slice(1), { lr: 0.1, momentum: 0.9 });
        void b;
        return [a, new optim.ReduceLROnPlateau(a, { patience: 0, factor: 0.5 }), new optim.OneCycleLR(b, { maxLr: 1, totalSteps: 10 })];
      };
      const [o1, p1, c1] = mk();
      [3, 2, 2.5].forEach((v) => p1.step(v));
      for (let i = 0; i < 4; i++) c1.step();
      const f1 = path.join(dir, 'p.safetensors');
      const f2 = path.join(dir, 'c.safetensors');
      saveCheckpoint(f1, { model, optimizer: o1, scheduler: p1, epoch: 3 });
      saveCheckpoint(f2, { model, optimizer: c1.optimizer, scheduler: c1, epoch: 4 });
      const [o2, p2, c2] = mk();
      loadCheckpoint(f1, { model, optimizer: o2, scheduler: p2 });
      loadCheckpoint(f2, { model, optimizer: c2.optimizer, scheduler: c2 });
      expect(p2.stateDict()).toEqual(p1.stateDict());
      expect(o2.paramGroups[0]!.lr).toBe(0.5);
      expect(c2.getLastLr()).toEqual(c1.getLastLr());
      expect(c2.getLastMomentum()).toEqual(c1.getLastMomentum());
      p1.step(2.6);
      p2.step(2.6);
      c1.step();
      c2.step();
      expect(o2.paramGroups[0]!.lr).toBe(o1.paramGroups[0]!.lr);
      expect(c2.getLastLr()).toEqual(c1.getLastLr());
      model.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('OneCycleLR per batch in fit (schedulerInterval step) follows its closed form', async () => {
    const { fit } = await import('../../lib/train/fit.js');
    const { randn, randint } = await import('../../lib/index.js');
    const m = new nn.Linear(4, 3);
    const x = randn([40, 4]);
    const y = randint(0, 3, [40]);
    const opt = new optim.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
    const s = new optim.OneCycleLR(opt, { maxLr: 0.1, epochs: 2, stepsPerEpoch: 4 });
    const ref = s.lrAt(4); // the lr after the first epoch's 4 steps
    const h = await fit(m, { x, y, batchSize: 10, epochs: 2, optimizer: opt, scheduler: s, schedulerInterval: 'step', verbose: false });
    expect(h.epochs[0]!.lr).toBeCloseTo(0.1 / 25, 15);
    expect(h.epochs[1]!.lr).toBe(ref[0]);
    expect(s.lastEpoch).toBe(8);
    opt.dispose();
    m.dispose();
    x.dispose();
    y.dispose();
  });
});
