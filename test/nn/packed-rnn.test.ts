// Variable-length batches through nn.LSTM / GRU / RNN: forward(x, state, { lengths }) against
// torch's pack_padded_sequence (test/fixtures/rnn_packed.json, float64), finite-difference
// gradients, and the equivalences that define it (full lengths = no lengths; each sequence alone,
// cut to its length, gives its output rows and final state).
import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor, tidy, memory, type Tensor } from '../../lib/index.js';
import * as ops from '../../lib/ops/index.js';
import * as nn from '../../lib/nn/index.js';
import { loadFixture, tensorOf } from '../util/fixtures.js';
import { gradcheck } from '../util/gradcheck.js';
import { close, ft, namedParams, stateOf, withParams } from './helpers.js';

const RTOL = 1e-9;
const dot = (a: Tensor, b: Tensor): Tensor => a.mul(b).sum();

type AnyRnn = nn.LSTM | nn.GRU | nn.RNN;
/** [output, hN, cN|null] of any of the three */
function fwd(
  m: AnyRnn,
  x: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
  lengths?: ArrayLike<number> | Tensor,
): [Tensor, Tensor, Tensor | null] {
  if (m instanceof nn.LSTM) {
    const [o, [h, c]] = m.forward(x, h0 && c0 ? [h0, c0] : null, lengths === undefined ? undefined : { lengths });
    return [o, h, c];
  }
  const [o, h] = (m as nn.GRU).forward(x, h0, lengths === undefined ? undefined : { lengths });
  return [o, h, null];
}

describe('rnn_packed fixture: forward(x, state, { lengths }) = torch pack_padded_sequence', () => {
  for (const c of loadFixture('rnn_packed').cases) {
    it(c.name, () =>
      tidy(() => {
        const p = c.params;
        const o = { numLayers: p.numLayers, batchFirst: p.batchFirst, bidirectional: p.bidirectional, dtype: 'float64' as const };
        const m: AnyRnn =
          c.mode === 'LSTM'
            ? new nn.LSTM(p.inputSize, p.hiddenSize, o)
            : c.mode === 'GRU'
              ? new nn.GRU(p.inputSize, p.hiddenSize, o)
              : new nn.RNN(p.inputSize, p.hiddenSize, { ...o, nonlinearity: c.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
        m.loadStateDict(stateOf(c.state));
        const x = ft(tensorOf(c, 'input'), true);
        const h0 = c.tensors.h0 ? ft(tensorOf(c, 'h0'), true) : null;
        const c0 = c.tensors.c0 ? ft(tensorOf(c, 'c0'), true) : null;
        const [out, hN, cN] = fwd(m, x, h0, c0, p.lengths);
        close('output', out, tensorOf(c, 'output'), RTOL);
        close('h_n', hN, tensorOf(c, 'h_n'), RTOL);
        if (cN) close('c_n', cN, tensorOf(c, 'c_n'), RTOL);
        let L = dot(out, ft(tensorOf(c, 'doutput'))).add(dot(hN, ft(tensorOf(c, 'dh_n'))));
        if (cN) L = L.add(dot(cN, ft(tensorOf(c, 'dc_n'))));
        L.backward();
        close('dinput', x.grad, tensorOf(c, 'dinput'), RTOL);
        if (h0) close('dh0', h0.grad, tensorOf(c, 'dh0'), RTOL);
        if (c0) close('dc0', c0.grad, tensorOf(c, 'dc0'), RTOL);
        for (const [k, g] of Object.entries(c.grads)) close(`grad ${k}`, m.getTensor(k)!.grad, g, RTOL);
        m.dispose();
      }),
    );
  }
});

describe('lengths: definition by equivalence', () => {
  const r = (shape: number[], grad = false): Tensor => randn(shape, { dtype: 'float64', requiresGrad: grad });

  for (const kind of ['lstm', 'gru', 'rnn'] as const) {
    it(`${kind}: each sequence alone, cut to its length, gives its rows and final state (bidirectional, 2 layers)`, () =>
      tidy(() => {
        manualSeed(31);
        const o = { numLayers: 2, bidirectional: true, batchFirst: true, dtype: 'float64' as const };
        const m = kind === 'lstm' ? new nn.LSTM(3, 4, o) : kind === 'gru' ? new nn.GRU(3, 4, o) : new nn.RNN(3, 4, o);
        const lengths = [2, 5, 1, 4];
        const x = r([4, 5, 3]);
        const [out, hN, cN] = fwd(m, x, null, null, lengths);
        lengths.forEach((n, b) => {
          const xb = ops.slice(ops.select(x, 0, b), 0, 0, n).unsqueeze(0); // (1, n, 3)
          const [ob, hb, cb] = fwd(m, xb, null, null);
          const rows = ops.select(out, 0, b); // (5, 8)
          close(
            `output rows of ${b}`,
            ops.slice(rows, 0, 0, n).unsqueeze(0),
            { shape: ob.shape as number[], data: [...ob.dataSync()] },
            1e-12,
          );
          if (n < 5) expect([...ops.slice(rows, 0, n, 5).dataSync()].every((v) => v === 0)).toBe(true);
          close(`h_n of ${b}`, ops.select(hN, 1, b).unsqueeze(1), { shape: hb.shape as number[], data: [...hb.dataSync()] }, 1e-12);
          if (cN)
            close(`c_n of ${b}`, ops.select(cN, 1, b).unsqueeze(1), { shape: cb!.shape as number[], data: [...cb!.dataSync()] }, 1e-12);
        });
        m.dispose();
      }));
  }

  it('full lengths give exactly the unmasked result; masks leave no tensors behind', () => {
    const before = memory().tensors;
    tidy(() => {
      manualSeed(32);
      const m = new nn.LSTM(3, 4, { dtype: 'float64' });
      const x = r([6, 2, 3]); // seq first
      const [a, [ha, ca]] = m.forward(x);
      const [b, [hb, cb]] = m.forward(x, null, { lengths: [6, 6] });
      expect([...b.dataSync()]).toEqual([...a.dataSync()]);
      expect([...hb.dataSync()]).toEqual([...ha.dataSync()]);
      expect([...cb.dataSync()]).toEqual([...ca.dataSync()]);
      // lengths as an Int32Array and as a cpu int tensor
      const [c1] = m.forward(x, null, { lengths: Int32Array.from([3, 6]) });
      const [c2] = m.forward(x, null, { lengths: tensor([3, 6], { dtype: 'int32' }) });
      expect([...c2.dataSync()]).toEqual([...c1.dataSync()]);
      m.dispose();
    });
    const m = new nn.GRU(2, 3);
    const x = randn([4, 3, 2]);
    const [o, h] = m.forward(x, null, { lengths: [4, 1, 2] });
    for (const t of [o, h, x]) t.dispose();
    m.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('an unbatched (T, in) input takes one length', () =>
    tidy(() => {
      manualSeed(33);
      const m = new nn.GRU(2, 3, { dtype: 'float64' });
      const x = r([5, 2]);
      const [o, h] = m.forward(x, null, { lengths: [2] });
      const [o2, h2] = m.forward(ops.slice(x, 0, 0, 2));
      expect(o.shape).toEqual([5, 3]);
      expect([...ops.slice(o, 0, 0, 2).dataSync()]).toEqual([...o2.dataSync()]);
      expect([...ops.slice(o, 0, 2, 5).dataSync()].every((v) => v === 0)).toBe(true);
      expect([...h.dataSync()]).toEqual([...h2.dataSync()]);
      expect(() => m.forward(x, null, { lengths: [2, 3] })).toThrow(/lengths has 2 entries but the batch has 1 sequence$/);
      m.dispose();
    }));

  it('checks lengths and options, naming the layer', () => {
    const m = new nn.LSTM(2, 3, { batchFirst: true });
    const x = randn([2, 4, 2]);
    expect(() => m.forward(x, null, { lengths: [4] })).toThrow(
      /LSTM\(2, 3, batch_first=true\): lengths has 1 entries but the batch has 2 sequences/,
    );
    expect(() => m.forward(x, null, { lengths: [5, 1] })).toThrow(/lengths\[0\] = 5 must be an integer in 1\.\.4/);
    expect(() => m.forward(x, null, { lengths: [0, 1] })).toThrow(/lengths\[0\] = 0 must be an integer in 1\.\.4/);
    expect(() => m.forward(x, null, { lengths: [1.5, 1] })).toThrow(/must be an integer/);
    expect(() => m.forward(x, null, { lenghts: [1, 1] } as never)).toThrow(
      /LSTM\(2, 3, batch_first=true\)\.forward: unknown option 'lenghts' — did you mean 'lengths'\?/,
    );
    const g = new nn.GRU(2, 3);
    expect(() => g.forward(randn([4, 2, 2]), null, { lengths: randn([2]).reshape([1, 2]) })).toThrow(
      /lengths must be a 1-D tensor or an array/,
    );
    x.dispose();
    m.dispose();
    g.dispose();
  });
});

describe('gradcheck with lengths (float64)', () => {
  const r = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', requiresGrad: true });
  function check(m: AnyRnn, inputs: Tensor[], lengths: number[]): void {
    m.double();
    const [names, ps] = namedParams(m);
    const fn = withParams(m, names, inputs.length, (x, h0, c0) => {
      const [o, h, c] = fwd(m, x!, h0 ?? null, c0 ?? null, lengths);
      return c ? [o, h, c] : [o, h];
    });
    gradcheck(fn, [...inputs, ...ps], { atol: 1e-6, rtol: 1e-5 });
    m.dispose();
  }
  it('LSTM bidirectional with h0, c0', () =>
    tidy(() => {
      manualSeed(41);
      check(new nn.LSTM(2, 3, { bidirectional: true }), [r([4, 3, 2]), r([2, 3, 3]), r([2, 3, 3])], [4, 1, 3]);
    }));
  it('GRU 2 layers batchFirst', () =>
    tidy(() => {
      manualSeed(42);
      check(new nn.GRU(2, 3, { numLayers: 2, batchFirst: true }), [r([3, 4, 2])], [2, 4, 3]);
    }));
  it('RNN relu bidirectional', () =>
    tidy(() => {
      manualSeed(43);
      check(new nn.RNN(2, 2, { nonlinearity: 'relu', bidirectional: true }), [r([3, 2, 2]), r([2, 2, 2])], [1, 3]);
    }));
});
