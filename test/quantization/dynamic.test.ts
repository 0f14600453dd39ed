// quantization.quantizeDynamic (torch.ao.quantization.quantize_dynamic semantics): the converted
// layers against a float64 reference of the same int8 arithmetic, copy vs in place, errors, inference
// only, save/load as safetensors (layout and bad loads), and summary's int8 sizes (MNIST accuracy: mnist.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, memory, randn, tidy, noGrad, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { quantization } from '../../lib/index.js';
import { mnistMlp, mnistCnn, RowLstm } from '../../lib/models/index.js';
import * as io from '../../lib/io/index.js';
import { readSafetensors } from '../../lib/io/safetensors.js';

const { quantizeDynamic, saveQuantized, loadQuantized, roundHalfEven } = quantization;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-quant-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The dynamic int8 Linear in float64 from the float weights, written from the definition. */
function referenceLinear(x: Float32Array, rows: number, w: Float32Array, b: Float32Array | null, out: number, inn: number): Float64Array {
  let lo = 0,
    hi = 0;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const sa = Math.fround((hi - lo) / 127);
  const za = Math.min(127, Math.max(0, -roundHalfEven(lo / sa)));
  const qa = Array.from(x, (v) => Math.min(127, Math.max(0, roundHalfEven(v * (1 / sa)) + za)));
  const y = new Float64Array(rows * out);
  for (let j = 0; j < out; j++) {
    let amax = 0;
    for (let p = 0; p < inn; p++) amax = Math.max(amax, Math.abs(w[j * inn + p]!));
    const sw = Math.fround(amax / 127);
    const qw = Array.from(w.subarray(j * inn, (j + 1) * inn), (v) => Math.max(-127, Math.min(127, roundHalfEven(v / sw))));
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let p = 0; p < inn; p++) s += (qa[i * inn + p]! - za) * qw[p]!;
      y[i * out + j] = sa * sw * s + (b ? b[j]! : 0);
    }
  }
  return y;
}

describe('quantizeDynamic', () => {
  it('replaces each nn.Linear with nn.quantized.dynamic.Linear in a copy; the forward matches a float64 reference of the int8 math', () =>
    tidy(() => {
      manualSeed(3);
      const model = new nn.Sequential(new nn.Linear(13, 7), new nn.ReLU(), new nn.Linear(7, 5, { bias: false }));
      const before = Float32Array.from(model.stateDict()['0.weight']!.dataSync());
      const q = quantizeDynamic(model, { layers: [nn.Linear] }) as nn.Sequential;
      expect(q).not.toBe(model);
      expect(q.at(0)).toBeInstanceOf(nn.quantized.dynamic.Linear);
      expect(q.at(1)).toBeInstanceOf(nn.ReLU);
      expect(q.at(2)).toBeInstanceOf(nn.quantized.DynamicQuantizedLinear);
      expect(model.at(0)).toBeInstanceOf(nn.Linear); // the original is untouched
      expect(Float32Array.from(model.stateDict()['0.weight']!.dataSync())).toEqual(before);
      expect(q.training).toBe(false);
      expect(String(q.at(0))).toBe(
        'DynamicQuantizedLinear(in_features=13, out_features=7, dtype=qint8, qscheme=per_channel_symmetric, reduce_range=true)',
      );
      const x = randn([6, 13]);
      const xs = x.dataSync() as Float32Array;
      const l0 = model.at(0) as nn.Linear;
      const ref0 = referenceLinear(xs, 6, l0.weight.dataSync() as Float32Array, l0.bias!.dataSync() as Float32Array, 7, 13);
      const got0 = (q.at(0).forward(x) as Tensor).dataSync();
      for (let i = 0; i < ref0.length; i++)
        expect(Math.abs(got0[i]! - ref0[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref0[i]!)));
      // the whole model is close to the float one (int8 error, not a different function)
      const yf = model.forward(x).dataSync(),
        yq = q.forward(x).dataSync();
      let err = 0,
        mag = 0;
      for (let i = 0; i < yf.length; i++) {
        err = Math.max(err, Math.abs(yf[i]! - yq[i]!));
        mag = Math.max(mag, Math.abs(yf[i]!));
      }
      expect(err).toBeLessThan(0.03 * mag);
      expect(err).toBeGreaterThan(0); // it really is int8
      model.dispose();
      q.dispose();
    }));

  it('odd shapes: 3-d inputs, a bare Linear, batch 1, tied layers converted once', () =>
    tidy(() => {
      manualSeed(4);
      const lin = new nn.Linear(5, 3);
      const q = quantizeDynamic(lin) as nn.quantized.DynamicQuantizedLinear;
      expect(q).toBeInstanceOf(nn.quantized.dynamic.Linear);
      const x = randn([2, 4, 5]);
      const y = q.forward(x);
      expect(y.shape).toEqual([2, 4, 3]);
      const ref = referenceLinear(
        x.dataSync() as Float32Array,
        8,
        lin.weight.dataSync() as Float32Array,
        lin.bias!.dataSync() as Float32Array,
        3,
        5,
      );
      const got = y.dataSync();
      for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i]!, 5);
      expect(q.forward(randn([1, 5])).shape).toEqual([1, 3]);
      const shared = new nn.Linear(4, 4);
      const tied = quantizeDynamic(new nn.Sequential(shared, new nn.Tanh(), shared)) as nn.Sequential;
      expect(tied.at(0)).toBe(tied.at(2));
      lin.dispose();
      q.dispose();
      shared.dispose();
      tied.dispose();
    }));

  it('inplace: true converts the model itself and frees the replaced float weights', () => {
    const live0 = memory().tensors;
    const model = new nn.Sequential(new nn.Linear(6, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const out = quantizeDynamic(model, { layers: [nn.Linear], inplace: true });
    expect(out).toBe(model);
    expect(model.at(0)).toBeInstanceOf(nn.quantized.dynamic.Linear);
    expect(model.parameters()).toEqual([]);
    model.dispose();
    expect(memory().tensors).toBe(live0);
  });

  it('a copy leaves no tensors behind once both models are disposed', () => {
    const live0 = memory().tensors;
    const model = mnistCnn();
    const q = quantizeDynamic(model);
    // the convolutions stay float in the copy, with their own storage
    expect((q as nn.Sequential).at(0)).toBeInstanceOf(nn.Conv2d);
    expect((q as nn.Sequential).at(0)).not.toBe(model.at(0));
    expect((q as nn.Sequential).at(7)).toBeInstanceOf(nn.quantized.dynamic.Linear);
    noGrad(() => tidy(() => expect(q.forward(randn([2, 1, 28, 28])).shape).toEqual([2, 10])));
    model.dispose();
    q.dispose();
    expect(memory().tensors).toBe(live0);
  });

  it('unsupported layers and options are errors that say which and why', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2));
    expect(() => quantizeDynamic(m, { layers: [nn.RNN] })).toThrow('quantizeDynamic: nn.RNN is not supported yet');
    expect(() => quantizeDynamic(m, { layers: [nn.LSTMCell] })).toThrow(/quantizeDynamic: nn.LSTMCell is not supported yet/);
    expect(() => quantizeDynamic(m, { layers: [nn.Conv2d] })).toThrow(
      /quantizeDynamic: nn.Conv2d is not supported by dynamic quantization: only nn.Linear, nn.LSTM and nn.GRU are .*static quantization/,
    );
    expect(() => quantizeDynamic(m, { layers: [nn.quantized.dynamic.LSTM as never] })).toThrow(/DynamicQuantizedLSTM is already quantized/);
    expect(() => quantizeDynamic(m, { layers: ['Linear' as never] })).toThrow(
      /layers must hold layer classes such as nn.Linear, got string/,
    );
    expect(() => quantizeDynamic(m, { dtype: 'float16' as never })).toThrow(/dtype must be 'qint8'/);
    expect(() => quantizeDynamic(m, { inPlace: true } as never)).toThrow(/quantizeDynamic/);
    expect(() => quantizeDynamic({} as never)).toThrow(/expected a Module/);
    m.dispose();
  });

  it('inference only: backward through an int8 layer is an error; cuda or float64 inputs are refused', () =>
    tidy(() => {
      const q = quantizeDynamic(new nn.Linear(3, 2));
      const x = randn([4, 3]).requiresGrad_();
      const y = q.forward(x).sum();
      expect(() => y.backward()).toThrow(/backward through a quantized layer is not supported .*noGrad/);
      expect(() => q.forward(randn([4, 3], { dtype: 'float64' }))).toThrow(/expected float32 input/);
      expect(() => q.forward(randn([4, 2]))).toThrow(/DynamicQuantizedLinear.*expected input \(…, 3\)/);
      q.dispose();
    }));

  it('saves as safetensors (I8 weights, F32 scales, I32 zero points, metadata) and loads into a quantized model', () =>
    tidy(() => {
      manualSeed(5);
      const model = mnistMlp();
      const q = quantizeDynamic(model) as nn.Sequential;
      const file = path.join(dir, 'mlp-int8.safetensors');
      saveQuantized(file, q);
      const c = readSafetensors(file);
      expect(c.metadata['wattgrad.quantization']).toBe('dynamic int8');
      expect(JSON.parse(c.metadata['wattgrad.quantized_layers']!)).toEqual({
        '1': { type: 'DynamicQuantizedLinear', qscheme: 'per_channel_symmetric', reduce_range: true },
        '4': { type: 'DynamicQuantizedLinear', qscheme: 'per_channel_symmetric', reduce_range: true },
      });
      const layout = Object.fromEntries([...c.tensors].map(([k, r]) => [k, `${r.dtype} [${r.shape.join(', ')}]`]));
      expect(layout).toEqual({
        '1.weight': 'I8 [256, 784]',
        '1.weight_scale': 'F32 [256]',
        '1.weight_zero_point': 'I32 [256]',
        '1.bias': 'F32 [256]',
        '4.weight': 'I8 [10, 256]',
        '4.weight_scale': 'F32 [10]',
        '4.weight_zero_point': 'I32 [10]',
        '4.bias': 'F32 [10]',
      });
      const floatFile = path.join(dir, 'mlp-f32.safetensors');
      io.save(floatFile, model.stateDict());
      expect(fs.statSync(floatFile).size / fs.statSync(file).size).toBeGreaterThan(3.9);
      // a second model with other weights takes the checkpoint and then predicts exactly the same
      manualSeed(99);
      const other = quantizeDynamic(mnistMlp(), { inplace: true });
      const x = randn([3, 1, 28, 28]);
      const want = Array.from(q.forward(x).dataSync());
      expect(Array.from(other.forward(x).dataSync())).not.toEqual(want);
      loadQuantized(other, file);
      expect(Array.from(other.forward(x).dataSync())).toEqual(want);
      model.dispose();
      q.dispose();
      other.dispose();
    }));

  it('loading an int8 checkpoint into a float model, or a float one into an int8 model, says what to do', () =>
    tidy(() => {
      const model = mnistMlp();
      const q = quantizeDynamic(model);
      const qfile = path.join(dir, 'q.safetensors');
      const ffile = path.join(dir, 'f.safetensors');
      saveQuantized(qfile, q);
      io.save(ffile, model.stateDict());
      const qsd = io.load(qfile);
      for (const strict of [true, false]) {
        expect(() => model.loadStateDict(qsd, { strict })).toThrow(
          /this is an int8 checkpoint .* quantize the model first .*quantization.quantizeDynamic\(model\); quantization.loadQuantized\(q, file\)/,
        );
      }
      const fsd = io.load(ffile);
      expect(() => q.loadStateDict(fsd)).toThrow(/'1.weight' is a float weight but 1 is an int8 layer .*before quantizing/);
      expect(() => loadQuantized(q, ffile)).toThrow(/is a float checkpoint .*quantizeDynamic/);
      expect(() => loadQuantized(model, qfile)).toThrow(/has no int8 layers but .* is an int8 checkpoint .*quantizeDynamic/);
      expect(() => saveQuantized(ffile, model)).toThrow(/saveQuantized: Sequential has no int8 layers/);
      // a layer of another size: named with both shapes, and the model is unchanged
      const small = quantizeDynamic(
        new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 128), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(128, 10)),
      );
      expect(() => loadQuantized(small, qfile)).toThrow(/'1.weight' has shape \[256, 784\], the model's layer needs \[128, 784\]/);
      for (const t of [...Object.values(qsd), ...Object.values(fsd)] as Tensor[]) t.dispose();
      model.dispose();
      q.dispose();
      small.dispose();
    }));

  it('summary shows the int8 sizes', () => {
    const model = mnistMlp();
    const q = quantizeDynamic(model);
    const fs32 = model.summary([2, 1, 28, 28], { print: false });
    const s = q.summary([2, 1, 28, 28], { print: false });
    expect(s.totals.params).toBe(fs32.totals.params);
    expect(s.totals.trainableParams).toBe(0);
    expect(s.totals.quantizedParams).toBe(fs32.totals.params);
    expect(s.totals.quantizedFloat32Bytes).toBe(fs32.totals.paramBytes);
    expect(fs32.totals.paramBytes / s.totals.paramBytes).toBeGreaterThanOrEqual(3.9);
    expect(s.text).toMatch(
      /Int8 layer params: 203,530 \(.* KiB with scales, zero points and float bias; float32: 795\.04 KiB, 3\.9\dx larger\)/,
    );
    expect(s.rows.find((r) => r.name === '1')!.params).toBe(784 * 256 + 256);
    // the int8 product reports its multiply-adds like the float one: 2 · batch · out · in
    expect(s.rows.find((r) => r.name === '1')!.flops).toBe(2 * 2 * 256 * 784);
    model.dispose();
    q.dispose();
  });
});

describe('quantizeDynamic: LSTM and GRU', () => {
  const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>): { err: number; mag: number } => {
    let err = 0,
      mag = 0;
    for (let i = 0; i < a.length; i++) {
      err = Math.max(err, Math.abs(a[i]! - b[i]!));
      mag = Math.max(mag, Math.abs(a[i]!));
    }
    return { err, mag };
  };

  for (const mode of ['LSTM', 'GRU'] as const) {
    it(`nn.${mode} (2 layers, bidirectional, batchFirst, initial state) → int8: same shapes, close to the float layer`, () =>
      tidy(() => {
        manualSeed(mode === 'LSTM' ? 21 : 22);
        const Cls = mode === 'LSTM' ? nn.LSTM : nn.GRU;
        const rnn = new Cls(5, 7, { numLayers: 2, bidirectional: true, batchFirst: true });
        rnn.eval();
        const q = quantizeDynamic(new nn.Sequential(rnn), { layers: [Cls] }) as nn.Sequential;
        const qr = q.at(0) as unknown as nn.quantized.DynamicQuantizedRNN;
        expect(qr).toBeInstanceOf(mode === 'LSTM' ? nn.quantized.dynamic.LSTM : nn.quantized.dynamic.GRU);
        expect(String(qr)).toBe(
          `DynamicQuantized${mode}(5, 7, num_layers=2, batch_first=true, bidirectional=true, dtype=qint8, reduce_range=true)`,
        );
        const x = randn([3, 6, 5]);
        const h0 = randn([4, 3, 7]).mul(0.5);
        const c0 = randn([4, 3, 7]).mul(0.5);
        const st = mode === 'LSTM' ? [h0, c0] : h0;
        const [yf, sf] = (rnn.forward as (...a: unknown[]) => [Tensor, Tensor | Tensor[]])(x, st);
        const [yq, sq] = (qr.forward as (...a: unknown[]) => [Tensor, Tensor | Tensor[]])(x, st);
        expect(yq.shape).toEqual([3, 6, 14]);
        const fs = Array.isArray(sf) ? sf : [sf],
          qs = Array.isArray(sq) ? sq : [sq];
        expect(qs.map((t) => t.shape)).toEqual(fs.map((t) => t.shape));
        for (const [a, b] of [[yf, yq], ...fs.map((t, i) => [t, qs[i]!])] as [Tensor, Tensor][]) {
          const { err, mag } = maxRel(a.dataSync(), b.dataSync());
          expect(err).toBeLessThan(0.05 * mag);
          expect(err).toBeGreaterThan(0);
        }
        // unbatched (T, in) input and a default (zero) state
        const [yu] = qr.forward(randn([4, 5]));
        expect(yu.shape).toEqual([4, 14]);
        expect(() => (qr.forward as (...a: unknown[]) => unknown)(x, null, { lengths: [6, 5, 4] })).toThrow(
          /variable lengths\) are not supported by int8 recurrent layers yet/,
        );
        rnn.dispose();
        q.dispose();
      }));
  }

  it('the MNIST row-LSTM: int8 copy saves, loads into a fresh int8 copy, and predicts the same; summary counts its int8 bytes', () =>
    tidy(() => {
      manualSeed(8);
      const model = new RowLstm(16);
      const q = quantizeDynamic(model);
      expect((q as unknown as { lstm: unknown }).lstm).toBeInstanceOf(nn.quantized.dynamic.LSTM);
      expect((q as unknown as { head: unknown }).head).toBeInstanceOf(nn.quantized.dynamic.Linear);
      const file = path.join(dir, 'lstm-int8.safetensors');
      saveQuantized(file, q);
      const c = readSafetensors(file);
      expect(c.tensors.get('lstm.weight_ih_l0')!.dtype).toBe('I8');
      expect(c.tensors.get('lstm.weight_hh_l0_scale')!.shape).toEqual([64]);
      expect(c.tensors.get('lstm.bias_ih_l0')!.dtype).toBe('F32');
      expect(JSON.parse(c.metadata['wattgrad.quantized_layers']!).lstm.type).toBe('DynamicQuantizedLSTM');
      manualSeed(9);
      const other = quantizeDynamic(new RowLstm(16), { inplace: true });
      const x = randn([2, 1, 28, 28]);
      const want = Array.from(noGrad(() => q.forward(x)).dataSync());
      loadQuantized(other, file);
      expect(Array.from(noGrad(() => other.forward(x)).dataSync())).toEqual(want);
      const { err, mag } = maxRel(noGrad(() => model.forward(x)).dataSync(), want);
      expect(err).toBeLessThan(0.05 * Math.max(mag, 1e-3));
      const sf = model.summary([1, 1, 28, 28], { print: false }),
        sq = q.summary([1, 1, 28, 28], { print: false });
      expect(sq.totals.params).toBe(sf.totals.params);
      // int8 values + a float32 scale and an int32 zero point per row + float32 biases:
      // lstm 64·(28 + 16) + 2·64·8 + 2·64·4, head 10·16 + 10·8 + 10·4 (small layers: the per-row overhead shows)
      expect(sq.totals.paramBytes).toBe(64 * 44 + 2 * 64 * 8 + 2 * 64 * 4 + 160 + 80 + 40);
      expect(sf.totals.paramBytes / sq.totals.paramBytes).toBeGreaterThan(2.5);
      // an int8 LSTM checkpoint into the float model: what to do
      const sd = io.load(file);
      expect(() => model.loadStateDict(sd)).toThrow(/int8 checkpoint \('lstm.weight_ih_l0_scale'/);
      for (const t of Object.values(sd) as Tensor[]) t.dispose();
      model.dispose();
      q.dispose();
      other.dispose();
    }));
});
