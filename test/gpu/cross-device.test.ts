// Moving tensors, modules, optimizers and checkpoints between cpu and cuda.
//
//   - tensor.to('cuda').to('cpu') is bit-exact for float32 (±0, subnormals, ±Inf, NaN, extremes),
//     float64 and int32, keeps shapes, materialises views, and carries gradients back across;
//   - Module.to('cuda') keeps every Parameter object (an optimizer built before the move holds the
//     same objects), moves existing grads, and that optimizer (SGD with momentum, Adam) then trains
//     the model on cuda like the same model and optimizer on cpu, its state on cuda;
//   - a checkpoint saved from a cuda model (weights + Adam state) loads into a cpu model: the
//     weights bit for bit, eval outputs equal to the cuda model's within float32 tolerance (same
//     argmax) and bit-identical to the cuda model moved to cpu, and the next optimizer step agrees;
//     save()/load() of a cuda state dict round-trips onto cuda bit for bit.
//
// Cost on the GPU machine: < 2 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, type Tensor } from '../../lib/index.js';
import { mnistCnn } from '../../lib/models/index.js';
import { assertClose } from '../util/backends.js';
import { describeCuda, leakGuard } from './cuda.js';
import { scaled } from '../util/scale.js';

/** The raw bits of a typed array, for exact comparison (NaN, -0). */
function bits(
  a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number },
  bytesPer: 4 | 8,
): number[] | bigint[] {
  return bytesPer === 4
    ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4))
    : Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.byteLength / 8));
}

function mlp(): wg.nn.Sequential {
  // no dropout: the cpu and cuda copies are stepped interleaved, so they must not draw random numbers
  return new wg.nn.Sequential(new wg.nn.Linear(784, 32), new wg.nn.ReLU(), new wg.nn.Linear(32, 10));
}

function trainStep(model: wg.nn.Module, opt: { zeroGrad(): void; step(): void }, x: Tensor, y: Tensor): number {
  return tidy(() => {
    opt.zeroGrad();
    const loss = wg.crossEntropy(model.forward(x) as Tensor, y);
    loss.backward();
    opt.step();
    return loss.item();
  });
}

describeCuda('cross-device moves', (device) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-gpu-xdev-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tensor.to(cuda).to(cpu) round-trips bit-exactly (float32, float64, int32), shapes and views included', () => {
    const done = leakGuard('round trips');
    tidy(() => {
      const special = [0, -0, 1, -1, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, NaN, Math.PI, 1 / 3];
      const f32 = new Float32Array(3 * 5 * 7);
      for (let i = 0; i < f32.length; i++) f32[i] = i < special.length ? special[i]! : Math.sin(i) * 10 ** ((i % 11) - 5);
      const a = wg.tensor(f32, { shape: [3, 5, 7] });
      for (const moved of [a.to('cuda'), a.to(device), a.cuda()]) {
        expect(moved.device).toBe(device);
        expect([...moved.shape]).toEqual([3, 5, 7]);
        const back = moved.to('cpu');
        expect(back.device).toBe('cpu');
        expect(back.dtype).toBe('float32');
        expect([...back.shape]).toEqual([3, 5, 7]);
        expect(bits(back.dataSync() as Float32Array, 4)).toEqual(bits(f32, 4));
        expect(bits(moved.cpu().dataSync() as Float32Array, 4)).toEqual(bits(f32, 4));
      }

      const f64 = Float64Array.from([0, -0, 5e-324, Number.MAX_VALUE, -Infinity, NaN, 0.1, 1 + 2 ** -52, -1e300]);
      const d = wg.tensor(f64);
      const d2 = d.to(device).to('cpu');
      expect(d2.dtype).toBe('float64');
      expect(bits(d2.dataSync() as Float64Array, 8)).toEqual(bits(f64, 8));

      const i32 = Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 123456789]);
      const n = wg.tensor(i32, { shape: [2, 3] });
      const n2 = n.to(device).to('cpu');
      expect(n2.dtype).toBe('int32');
      expect(Array.from(n2.dataSync())).toEqual(Array.from(i32));

      // non-contiguous views: a permuted and a strided slice, moved in both directions
      const v = a.permute(2, 0, 1).slice(0, 1, 7, 2); // (3, 3, 5)
      const vc = v.to(device);
      expect([...vc.shape]).toEqual([3, 3, 5]);
      expect(bits(vc.to('cpu').dataSync() as Float32Array, 4)).toEqual(bits(v.contiguous().dataSync() as Float32Array, 4));
      const onCuda = a.to(device);
      const vg = onCuda.permute(2, 0, 1).slice(0, 1, 7, 2);
      expect(bits(vg.to('cpu').dataSync() as Float32Array, 4)).toEqual(bits(v.contiguous().dataSync() as Float32Array, 4));
    });
    done();
  });

  it('gradients flow back across .to(cuda)', () => {
    const done = leakGuard('cross-device autograd');
    const x = wg.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true },
    );
    tidy(() => {
      const y = x.to(device);
      expect(y.requiresGrad).toBe(true);
      y.mul(y).sum().backward(); // d/dx Σx² = 2x
    });
    expect(x.grad!.device).toBe('cpu');
    expect(x.grad!.toArray()).toEqual([
      [2, 4, 6],
      [8, 10, 12],
    ]);
    x.grad!.dispose();
    x.grad = null;
    x.dispose();
    done();
  });

  // SGD with momentum is compared parameter by parameter. Adam's first steps are ±lr wherever a
  // gradient is tiny (m/√v ≈ sign g), so a rounding-level difference in such a gradient can move
  // one weight by up to 2·lr: for Adam the losses are compared step by step and the weights in bulk.
  for (const kind of ['SGD', 'Adam'] as const) {
    it(`Module.to('cuda') keeps Parameter identity; a ${kind} optimizer built before the move trains it like on cpu`, () => {
      const done = leakGuard('Module.to');
      const makeOpt = (ps: wg.Tensor[]): wg.optim.SGD | wg.optim.Adam =>
        kind === 'SGD' ? new wg.optim.SGD(ps, { lr: 0.05, momentum: 0.9 }) : new wg.optim.Adam(ps, { lr: 1e-3 });
      wg.manualSeed(3);
      const ref = mlp();
      wg.manualSeed(3);
      const m = mlp();
      const before = m.parameters();
      const named = m.stateDict();
      const opt = makeOpt(before);
      const refOpt = makeOpt(ref.parameters());
      wg.manualSeed(4);
      const x = wg.randn([16, 784]);
      const y = wg.tensor(Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 10));
      // a grad that exists before the move moves with its parameter
      tidy(() => wg.crossEntropy(m.forward(x), y).backward());
      const gradBefore = Array.from(before[0]!.grad!.dataSync());

      expect(m.to('cuda')).toBe(m);
      const after = m.parameters();
      expect(after).toHaveLength(before.length);
      after.forEach((p, i) => {
        expect(p, `parameter ${i} is the same object`).toBe(before[i]);
        expect(p).toBeInstanceOf(wg.nn.Parameter);
        expect(p.device).toBe(device);
        expect(p.requiresGrad).toBe(true);
        expect(p.isLeaf).toBe(true);
      });
      for (const [k, t] of Object.entries(m.stateDict())) expect(t, `stateDict '${k}' is the same object`).toBe(named[k]);
      expect(opt.paramGroups[0]!.params.every((p, i) => p === before[i])).toBe(true);
      expect(before[0]!.grad!.device).toBe(device);
      assertClose(before[0]!.grad!.dataSync(), gradBefore, { rtol: 0, atol: 0 }, 'grad moved with its parameter');

      const xc = x.to(device);
      const yc = y.to(device);
      const losses: [number, number][] = [];
      for (let s = 0; s < 5; s++) losses.push([trainStep(ref, refOpt, x, y), trainStep(m, opt, xc, yc)]);
      console.log(`[Module.to ${kind}] losses cpu/cuda: ${losses.map(([a, b]) => `${a.toFixed(5)}/${b.toFixed(5)}`).join(' ')}`);
      assertClose(
        losses.map((l) => l[1]),
        losses.map((l) => l[0]),
        { rtol: 1e-4, atol: 1e-6 },
        'loss per step, cuda vs cpu',
      );
      expect(losses[4]![1]).toBeLessThan(losses[0]![1]);
      // the optimizer's state is keyed by the same Parameter objects and lives on cuda
      for (const p of before) {
        const st = opt.state.get(p);
        expect(st, 'optimizer state for a moved parameter').toBeDefined();
        for (const [k, t] of Object.entries(st!.tensors)) expect(t.device, `state '${k}'`).toBe(device);
      }
      const refParams = ref.parameters();
      m.parameters().forEach((p, i) => {
        expect(p.device).toBe(device);
        const got = p.dataSync();
        const want = refParams[i]!.dataSync();
        if (kind === 'SGD') {
          assertClose(got, want, { rtol: 1e-4, atol: 1e-5 }, `parameter ${i} after 5 SGD steps, cuda vs cpu`);
        } else {
          let off = 0;
          for (let j = 0; j < want.length; j++) if (!(Math.abs(got[j]! - want[j]!) <= 1e-5 + 1e-4 * Math.abs(want[j]!))) off++;
          expect(off / want.length, `parameter ${i}: fraction of weights off after 5 Adam steps`).toBeLessThanOrEqual(1e-3);
        }
      });

      for (const t of [x, y, xc, yc]) t.dispose();
      opt.dispose();
      refOpt.dispose();
      m.dispose();
      ref.dispose();
      done();
    });
  }

  it('a checkpoint saved from a cuda model loads into a cpu model: same weights, same outputs, same next step', () => {
    const done = leakGuard('checkpoints');
    wg.manualSeed(5);
    const m = mnistCnn().to(device);
    const opt = new wg.optim.Adam(m.parameters(), { lr: 1e-3 });
    wg.manualSeed(6);
    const batch = scaled(24, 1); // the simulator (WATTGRAD_TEST_SCALE=sim): one CNN image forward+backward is ~25 s there
    const x = wg.randn([batch, 1, 28, 28]);
    const y = wg.tensor(Int32Array.from({ length: batch }, (_, i) => i % 10));
    const xc = x.to(device);
    const yc = y.to(device);
    for (let s = 0; s < 3; s++) trainStep(m, opt, xc, yc);
    const file = path.join(dir, 'cnn.safetensors');
    wg.saveCheckpoint(file, { model: m, optimizer: opt, epoch: 3, extra: { device } });

    wg.manualSeed(99); // a different init, overwritten by the checkpoint
    const c = mnistCnn();
    const copt = new wg.optim.Adam(c.parameters(), { lr: 1e-3 });
    const ck = wg.loadCheckpoint(file, { model: c, optimizer: copt, restoreRng: false });
    expect(ck.epoch).toBe(3);
    expect(ck.extra).toEqual({ device });

    // weights bit for bit, now on cpu
    const cs = c.stateDict();
    for (const [k, t] of Object.entries(m.stateDict())) {
      expect(cs[k]!.device).toBe('cpu');
      expect(bits(cs[k]!.dataSync() as Float32Array, 4), `weight '${k}'`).toEqual(bits(t.dataSync() as Float32Array, 4));
    }
    // eval outputs: cuda vs cpu within float32 tolerance, the same predicted classes
    m.eval();
    c.eval();
    const [outCuda, outCpu] = wg.noGrad(() => tidy(() => [m.forward(xc).to('cpu'), c.forward(x)]));
    assertClose(outCpu.dataSync(), outCuda.dataSync(), { rtol: 1e-4, atol: 1e-5 }, 'logits of the loaded cpu model vs the cuda model');
    const classes = (t: Tensor): number[] => tidy(() => Array.from(t.argmax(1).dataSync()));
    expect(classes(outCpu)).toEqual(classes(outCuda));
    m.train();
    c.train();

    // the Adam state came along: one more step agrees
    const lc = trainStep(m, opt, xc, yc);
    const lp = trainStep(c, copt, x, y);
    expect(lp).toBeCloseTo(lc, 4);
    const mp = m.parameters();
    c.parameters().forEach((p, i) =>
      assertClose(p.dataSync(), mp[i]!.dataSync(), { rtol: 1e-4, atol: 1e-5 }, `parameter ${i} after one more step, cpu vs cuda`),
    );

    // the cuda model moved to cpu and the cpu model loaded from its checkpoint compute the same bits
    const file2 = path.join(dir, 'cnn2.safetensors');
    wg.save(file2, m.stateDict());
    const sd = wg.load(file2, { device });
    for (const [k, t] of Object.entries(m.stateDict())) {
      expect(sd[k]!.device).toBe(device);
      expect(bits(sd[k]!.dataSync() as Float32Array, 4), `save/load on cuda '${k}'`).toEqual(bits(t.dataSync() as Float32Array, 4));
    }
    for (const t of Object.values(sd)) t.dispose();
    c.loadStateDict(m.stateDict()); // cuda tensors into a cpu model
    m.to('cpu');
    m.eval();
    c.eval();
    const [o1, o2] = wg.noGrad(() => tidy(() => [m.forward(x), c.forward(x)]));
    expect(o1.device).toBe('cpu');
    expect(bits(o2.dataSync() as Float32Array, 4)).toEqual(bits(o1.dataSync() as Float32Array, 4));

    for (const t of [x, y, xc, yc, outCuda, outCpu, o1, o2]) t.dispose();
    opt.dispose();
    copt.dispose();
    m.dispose();
    c.dispose();
    done();
  });
});
