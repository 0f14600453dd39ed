// model.summary(): per-layer output shapes, parameters (trainable / frozen), FLOPs from the op
// counter, activation bytes and totals, from one dry forward that changes and leaks nothing.
import { describe, expect, it } from 'vitest';
import * as nn from '../../lib/nn/index.js';
import { costDelta, costSnapshot, getRngState, memory, noGrad, randn, tidy } from '../../lib/index.js';
import { RowLstm } from '../../lib/models/index.js';

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(256, 10));
}

describe('Module.summary', () => {
  it('an MLP: shapes, parameters, FLOPs per layer and totals; printed and as data', () => {
    const m = mlp();
    const lines: string[] = [];
    const s = m.summary([2, 1, 28, 28], { log: (t) => lines.push(t) });
    expect(lines).toEqual([s.text]);
    expect(s.rows.map((r) => [r.name, r.type, r.depth])).toEqual([
      ['', 'Sequential', 0],
      ['0', 'Flatten', 1],
      ['1', 'Linear', 1],
      ['2', 'ReLU', 1],
      ['3', 'Dropout', 1],
      ['4', 'Linear', 1],
    ]);
    expect(s.rows.map((r) => r.outputShapes)).toEqual([[[2, 10]], [[2, 784]], [[2, 256]], [[2, 256]], [[2, 256]], [[2, 10]]]);
    expect(s.rows.map((r) => r.params)).toEqual([0, 0, 784 * 256 + 256, 0, 0, 256 * 10 + 10]);
    expect(s.totals).toMatchObject({
      params: 203_530,
      trainableParams: 203_530,
      frozenParams: 0,
      paramBytes: 203_530 * 4,
      inputBytes: 2 * 784 * 4,
    });
    // leaves' outputs, float32
    expect(s.totals.activationBytes).toBe((784 + 256 + 256 + 256 + 10) * 2 * 4);
    // each layer's FLOPs are what the counter records for that layer alone; the leaves add up to the model
    const alone = tidy(() =>
      noGrad(() => {
        const x = randn([2, 784]);
        const c0 = costSnapshot();
        m.at(1).forward(x);
        return costDelta(c0, costSnapshot()).flops;
      }),
    );
    expect(s.rows[2]!.flops).toBe(alone);
    expect(alone).toBeGreaterThanOrEqual(2 * 2 * 784 * 256); // at least the GEMM's multiply-adds
    expect(s.rows.slice(1).reduce((a, r) => a + r.flops, 0)).toBe(s.totals.flops);
    expect(s.text).toMatch(/Total params: 203,530/);
    expect(s.text).toMatch(/1 \(Linear\)\s+\[2, 256\]\s+200,960\s+yes/);
    expect(s.text).toMatch(new RegExp(`Forward FLOPs: ${s.totals.flops.toLocaleString('en-US')}`));
    m.dispose();
  });

  it('frozen parameters, depth, and print: false', () => {
    const m = mlp();
    for (const p of m.at(4).parameters()) p.requiresGrad = false;
    let printed = false;
    const s = m.summary([1, 784], {
      print: false,
      log: () => {
        printed = true;
      },
      depth: 0,
    });
    expect(printed).toBe(false);
    expect(s.totals).toMatchObject({ trainableParams: 200_960, frozenParams: 2570 });
    expect(s.rows[5]).toMatchObject({ trainableParams: 0, frozenParams: 2570 });
    expect(s.text.split('\n').filter((l) => /\(Linear\)/.test(l))).toEqual([]); // depth 0: only the model row
    expect(s.text).toMatch(/Non-trainable params: 2,570/);
    m.dispose();
  });

  it('nested modules and tuple outputs (LSTM inside a custom model)', () => {
    const m = new RowLstm(64);
    const s = m.summary([3, 1, 28, 28], { print: false });
    const lstm = s.rows.find((r) => r.name === 'lstm')!;
    expect(lstm.type).toBe('LSTM');
    expect(lstm.outputShapes).toEqual([
      [3, 28, 64],
      [1, 3, 64],
      [1, 3, 64],
    ]);
    expect(lstm.params).toBe(4 * 64 * (28 + 64) + 2 * 4 * 64);
    expect(s.rows.find((r) => r.name === 'head')!.outputShapes).toEqual([[3, 10]]);
    expect(s.rows[0]!.outputShapes).toEqual([[3, 10]]);
    expect(s.totals.flops).toBeGreaterThan(lstm.flops);
    expect(lstm.flops).toBeGreaterThan(0);
    m.dispose();
  });

  it('leaves no tensors, RNG state, mode or wrapper behind', () => {
    const m = mlp();
    m.train();
    const before = memory().tensors;
    const rng = getRngState();
    m.summary([4, 784], { print: false });
    expect(memory().tensors).toBe(before);
    expect(getRngState()).toEqual(rng);
    expect(m.training).toBe(true);
    for (const sub of m.modules()) expect(Object.prototype.hasOwnProperty.call(sub, 'forward')).toBe(false);
    m.eval();
    m.summary([4, 784], { print: false });
    expect(m.training).toBe(false);
    m.dispose();
  });

  it('bad inputs name the problem', () => {
    const m = mlp();
    expect(() => m.summary([] as number[], { print: false })).toThrow(/pass the input shape with the batch dimension/);
    expect(() => m.summary([2, 0, 3], { print: false })).toThrow(/positive integers including the batch dimension, got \[2,0,3\]/);
    expect(() => m.summary([2, 100], { print: false })).toThrow(/Sequential\.summary: the dry forward on input \(2, 100\) failed: /);
    expect(() => m.summary([2, 784], { prnt: false } as never)).toThrow(/unknown option 'prnt' — did you mean 'print'/);
    m.dispose();
  });
});
