// Variable-length RNN batches and dataset wrappers on cuda, against the same work on cpu:
//   - LSTM / GRU (bidirectional) forward(x, h0, { lengths }) on cuda gives the cpu outputs, final
//     states and gradients (float32, within 1e-4 relative), padding rows exactly 0;
//   - Subset / ConcatDataset.getBatch of cuda TensorDatasets gather on the device, in order.
// Cost on the GPU machine: < 1 s.
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, type Tensor } from '../../lib/index.js';
import { assertClose } from '../util/backends.js';
import { describeCuda, leakGuard } from './cuda.js';

// float32: the cuda kernels have no float64 GEMM ("cuda: float64 not supported for matmul"; the
// simulator stage found this test asking for float64 RNNs on cuda), so the cuda side is float32 and
// the tolerance is float32's (other summation orders, same math).
const TOL = { rtol: 1e-4, atol: 1e-5 };

describeCuda('RNN lengths and dataset wrappers', (device) => {
  for (const kind of ['lstm', 'gru'] as const) {
    it(`${kind} with lengths: cuda = cpu (outputs, states, gradients)`, () => {
      const done = leakGuard(`${kind} lengths`);
      tidy(() => {
        wg.manualSeed(7);
        const o = { bidirectional: true, batchFirst: true, dtype: 'float32' as const };
        const cpu = kind === 'lstm' ? new wg.nn.LSTM(3, 5, o) : new wg.nn.GRU(3, 5, o);
        const gpu = kind === 'lstm' ? new wg.nn.LSTM(3, 5, o) : new wg.nn.GRU(3, 5, o);
        gpu.loadStateDict(cpu.stateDict());
        gpu.to(device);
        const lengths = [4, 1, 6, 3];
        const xc = wg.randn([4, 6, 3], { dtype: 'float32', requiresGrad: true });
        const xg = xc.detach().to(device);
        xg.requiresGrad = true;
        const run = (m: wg.nn.LSTM | wg.nn.GRU, x: Tensor): [Tensor, Tensor] => {
          const [out, s] = (m as wg.nn.LSTM).forward(x, null, { lengths }) as [Tensor, Tensor | [Tensor, Tensor]];
          return [out, Array.isArray(s) ? s[0] : s];
        };
        const [oc, hc] = run(cpu, xc);
        const [og, hg] = run(gpu, xg);
        assertClose(og.to('cpu').dataSync(), oc.dataSync(), TOL, 'output');
        assertClose(hg.to('cpu').dataSync(), hc.dataSync(), TOL, 'h_n');
        const rows = og.to('cpu').toArray() as number[][][];
        lengths.forEach((n, b) => rows[b]!.slice(n).forEach((r) => expect(r.every((v) => v === 0)).toBe(true)));
        const w = wg.randn(oc.shape as number[], { dtype: 'float32' });
        oc.mul(w).sum().add(hc.sum()).backward();
        og.mul(w.to(device)).sum().add(hg.sum()).backward();
        assertClose(xg.grad!.to('cpu').dataSync(), xc.grad!.dataSync(), TOL, 'dx');
        for (const k of Object.keys(cpu.stateDict())) {
          assertClose(gpu.getTensor(k)!.grad!.to('cpu').dataSync(), cpu.getTensor(k)!.grad!.dataSync(), TOL, `grad ${k}`);
        }
        cpu.dispose();
        gpu.dispose();
      });
      done();
    });
  }

  it('Subset and ConcatDataset of cuda TensorDatasets batch on the device, in order', () => {
    const done = leakGuard('dataset wrappers');
    const a = new wg.data.TensorDataset(wg.tensor([0, 1, 2, 3, 4, 5], { device }));
    const b = new wg.data.TensorDataset(wg.tensor([10, 11, 12, 13], { device }));
    const cd = new wg.data.ConcatDataset([a, b]);
    const [train] = wg.data.randomSplit(cd, [0.7, 0.3], 1);
    for (const [x] of new wg.data.DataLoader(train!, { batchSize: 4 })) {
      expect(x!.device).toBe(device);
      const want = Array.from(train!.indices.subarray(0, 4), (i) => (i < 6 ? i : i + 4));
      const host = x!.to('cpu');
      expect(Array.from(host.dataSync())).toEqual(want);
      host.dispose();
      break;
    }
    a.dispose();
    b.dispose();
    done();
  });
});
