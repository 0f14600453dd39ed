// Every error names the op and the shapes, and a failed call leaves nothing behind: the live
// tensor count is unchanged whether the call was inside tidy or not.
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy, memory, Tensor } from '../../lib/index.js';
import { createJsBackend } from '../../lib/backend/js/index.js';
import { Storage } from '../../lib/memory.js';
import { describeBackends, type BackendCtx } from '../util/backends.js';

/** fn must throw matching `re`, both outside and inside tidy, and leak nothing either way. */
function throwsClean(fn: () => unknown, re: RegExp): void {
  const before = memory().tensors;
  expect(fn).toThrow(re);
  expect(memory().tensors, `leak after a failed call (${re})`).toBe(before);
  expect(() => tidy(fn as () => void)).toThrow(re);
  expect(memory().tensors, `leak after a failed call in tidy (${re})`).toBe(before);
}

describeBackends('errors', (ctx: BackendCtx) => {
  // inputs live for the whole block; created lazily per test and freed in the test
  const T = (v: wg.NestedArray, o: wg.TensorOptions = {}) => ctx.t(v, o);

  it('shape mismatches name the op and both shapes', () =>
    tidy(() => {
      const a = T([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const _h1 = wg.zeros([4, 5], { device: ctx.device });
      throwsClean(() => a.matmul(_h1), /matmul: cannot multiply \(2,3\) by \(4,5\)/);
      const _h2 = wg.zeros([4, 5], { device: ctx.device });
      const v3 = T([1, 2, 3]);
      throwsClean(() => v3.matmul(_h2), /matmul: cannot multiply \(3,\) by \(4,5\)/);
      const _h3 = wg.zeros([3, 3, 4], { device: ctx.device });
      const z223 = wg.zeros([2, 2, 3], { device: ctx.device });
      throwsClean(() => z223.matmul(_h3), /matmul: .*\(2,?\).*\(3,?\)/);
      const _h4 = T([1, 2]);
      throwsClean(() => a.add(_h4), /add: shapes \(2,3\) and \(2,\) cannot be broadcast/);
      const _h5 = T([[1], [2], [3]]);
      throwsClean(() => a.mul(_h5), /mul: shapes \(2,3\) and \(3,1\)/);
      const _h6 = T([1, 2]);
      throwsClean(() => wg.maximum(a, _h6), /maximum: shapes \(2,3\) and \(2,\)/);
      const _h7 = T([1, 0]);
      throwsClean(() => wg.where(_h7, a, 0), /where: shapes \(2,\) and \(2,3\)/);
      throwsClean(() => a.reshape(4, 2), /reshape: cannot reshape \(2,3\) \(6 elements\) into \(4,2\)/);
      throwsClean(() => a.reshape(-1, 4), /reshape: cannot reshape \(2,3\)/);
      throwsClean(() => a.expand(3, 3), /expand: cannot expand \(2,3\)/);
      throwsClean(() => a.permute(0), /permute: expected 2 dims for shape \(2,3\)/);
      throwsClean(() => a.permute(0, 0), /permute: repeated dim/);
      const _h8 = T([1, 2]);
      throwsClean(() => wg.cat([a, _h8]), /cat: shapes \(2,3\), \(2,\)/);
      const _h9 = T([[1, 2]]);
      throwsClean(() => wg.cat([a, _h9], 0), /cat: shapes \(2,3\), \(1,2\) do not match except in dim 0/);
      const _h10 = T(1);
      const _h11 = T(2);
      throwsClean(() => wg.cat([_h10, _h11]), /cat: zero-dimensional/);
      throwsClean(() => wg.cat([]), /cat: expected a non-empty list/);
      const _h12 = T([1, 2]);
      throwsClean(() => wg.stack([a, _h12]), /stack: all tensors must have the same shape, got \(2,3\), \(2,\)/);
      throwsClean(() => a.split([1, 1], 1), /split: sizes \[1, 1\] do not sum to 3/);
      const _h13 = T([[0]], { dtype: 'int32' });
      throwsClean(() => a.gather(1, _h13), /gather: index \(1,1\) must match input \(2,3\)/);
      const _h14 = T([[0]], { dtype: 'int32' });
      throwsClean(() => a.indexSelect(0, _h14), /indexSelect: index must be 1-D, got \(1,1\)/);
      const _h15 = wg.zeros([4, 2], { device: ctx.device });
      throwsClean(() => wg.linear(a, _h15), /linear: input \(2,3\) has 3 features, weight \(4,2\) expects 2/);
      const _h16 = wg.zeros([4, 3], { device: ctx.device });
      const _h17 = T([1, 2]);
      throwsClean(() => wg.linear(a, _h16, _h17), /linear: bias must be \(4,\), got \(2,\)/);
      const _h18 = wg.zeros([1, 3, 5, 5], { device: ctx.device });
      const _h19 = wg.zeros([2, 2, 3, 3], { device: ctx.device });
      throwsClean(() => wg.conv2d(_h18, _h19), /conv2d: weight \(2,2,3,3\) expects 2 input channels.*input \(1,3,5,5\) has 3/);
      const _h20 = wg.zeros([3, 5, 5], { device: ctx.device });
      const _h21 = wg.zeros([2, 3, 3, 3], { device: ctx.device });
      throwsClean(() => wg.conv2d(_h20, _h21), /conv2d: input must have 4 dimensions, got shape \(3,5,5\)/);
      const _h22 = wg.zeros([1, 1, 2, 2], { device: ctx.device });
      const _h23 = wg.zeros([1, 1, 3, 3], { device: ctx.device });
      throwsClean(() => wg.conv2d(_h22, _h23), /conv2d: input \(1,1,2,2\) is too small for kernel 3×3/);
      const _h24 = wg.zeros([1, 1, 1, 1], { device: ctx.device });
      throwsClean(() => wg.maxPool2d(_h24, 2), /maxPool2d: input \(1,1,1,1\) is too small/);
      throwsClean(() => wg.layerNorm(a, 4), /layerNorm: normalizedShape \(4,\) does not match the trailing dims of input \(2,3\)/);
      const _h25 = T([1, 2]);
      throwsClean(() => wg.batchNorm(a, null, null, _h25, null, { training: true }), /batchNorm: weight must be \(3,\)/);
      const _h26 = T([0, 1, 2], { dtype: 'int32' });
      throwsClean(() => wg.crossEntropy(a, _h26), /crossEntropy: target \(3,\) does not match logits \(2,3\)/);
      const _h27 = T([[0.5, 0.5]]);
      throwsClean(() => wg.crossEntropy(a, _h27), /crossEntropy: probability targets must match logits \(2,3\), got \(1,2\)/);
      const _h28 = T([0], { dtype: 'int32' });
      throwsClean(() => wg.nllLoss(a, _h28), /nllLoss: target \(1,\) does not match input \(2,3\)/);
      const _h29 = T([1, 2, 3]);
      throwsClean(() => wg.mseLoss(a, _h29), /mseLoss: input \(2,3\) and target \(3,\) must have the same shape/);
      const _h30 = wg.zeros([2, 7], { device: ctx.device });
      const _h31 = wg.zeros([2, 2], { device: ctx.device });
      throwsClean(() => wg.lstmGates(_h30, _h31), /lstmCell: gates must be \(B, 4H\).*\(2,7\).*\(2,2\)/);
      const _h32 = wg.zeros([2, 6], { device: ctx.device });
      const _h33 = wg.zeros([2, 5], { device: ctx.device });
      const _h34 = wg.zeros([2, 2], { device: ctx.device });
      throwsClean(() => wg.gruGates(_h32, _h33, _h34), /gruCell: .*\(2,6\), \(2,5\), \(2,2\)/);
      throwsClean(() => a.item(), /item: tensor of shape \(2,3\) has 6 elements, expected 1/);
      throwsClean(() => wg.tensor([[1, 2], [3]]), /tensor: ragged nested array/);
      throwsClean(() => wg.tensor([1, 2, 3], { shape: [2, 2] }), /tensor: shape \(2,2\) needs 4 values, got 3/);
      throwsClean(() => wg.zeros([2, -1]), /zeros: invalid shape \[2, -1\]/);
    }));

  it('dims out of range name the op, the dim and the rank', () =>
    tidy(() => {
      const a = T([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      throwsClean(() => a.sum(2), /sum: dim 2 is out of range for a tensor with 2 dimension\(s\)/);
      throwsClean(() => a.sum(-3), /sum: dim -3 is out of range/);
      throwsClean(() => a.max(5), /max: dim 5 is out of range/);
      throwsClean(() => a.argmax(-3), /argmax: dim -3 is out of range/);
      throwsClean(() => a.softmax(2), /softmax: dim 2 is out of range/);
      throwsClean(() => a.transpose(0, 2), /transpose: dim 2 is out of range/);
      throwsClean(() => a.unsqueeze(4), /unsqueeze: dim 4 is out of range/);
      throwsClean(() => a.slice(3, 0, 1), /slice: dim 3 is out of range/);
      throwsClean(() => wg.cat([a, a], 2), /cat: dim 2 is out of range/);
      throwsClean(() => wg.stack([a, a], 3), /stack: dim 3 is out of range/);
    }));

  it('indices out of range name the op and the index; nothing leaks', () =>
    tidy(() => {
      const a = T([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      throwsClean(() => a.select(0, 2), /select: index 2 is out of range for dim 0 of size 2/);
      throwsClean(() => a.select(1, -4), /select: index -4 is out of range/);
      if (ctx.name === 'js') {
        // the js backend checks indices in the kernel (cuda raises at the next synchronisation)
        const _h35 = T([0, 2], { dtype: 'int32' });
        throwsClean(() => a.indexSelect(0, _h35), /indexSelect.*2/);
        const _h36 = T([-1], { dtype: 'int32' });
        throwsClean(() => a.indexSelect(1, _h36), /indexSelect.*-1/);
        const _h37 = T(
          [
            [0, 3],
            [0, 0],
          ],
          { dtype: 'int32' },
        );
        throwsClean(() => a.gather(1, _h37), /gather.*3/);
        const _h38 = T([[5]], { dtype: 'int32' });
        throwsClean(() => wg.embedding(_h38, a), /indexSelect.*5/);
        const _h39 = T([0, 3], { dtype: 'int32' });
        throwsClean(() => wg.crossEntropy(a, _h39), /crossEntropy.*3/);
        const _h40 = T([0, 3], { dtype: 'int32' });
        throwsClean(() => wg.crossEntropy(a, _h40, { reduction: 'none' }), /crossEntropy.*3/);
        const w = T(
          [
            [1, 2],
            [3, 4],
          ],
          { requiresGrad: true },
        );
        const _h41 = T([2], { dtype: 'int32' });
        throwsClean(() => wg.embedding(_h41, w), /indexSelect/);
      }
    }));

  it('dtype mismatches name the op and the dtypes', () =>
    tidy(() => {
      const f = T([[1, 2]]);
      const d = T([[1], [2]], { dtype: 'float64' });
      const i = T([1, 2], { dtype: 'int32' });
      throwsClean(() => f.matmul(d), /matmul: dtypes differ: float32 \(1,2\) and float64 \(2,1\)/);
      throwsClean(() => i.matmul(i), /matmul: expected a floating point tensor, got int32/);
      const _h42 = T([[1, 2]], { dtype: 'float64' });
      throwsClean(() => wg.cat([f, _h42]), /cat: dtypes differ \(float32 vs float64\)/);
      const _h43 = T([1, 2]);
      throwsClean(() => wg.stack([i, _h43]), /stack: dtypes differ/);
      throwsClean(() => i.mean(), /mean: expected a floating point tensor, got int32 \(2,\)/);
      throwsClean(() => i.exp(), /exp: expected a floating point tensor, got int32/);
      throwsClean(() => i.softmax(), /softmax: expected a floating point tensor, got int32/);
      const _h44 = T([0]);
      throwsClean(() => f.indexSelect(1, _h44), /indexSelect: index must be int32, got float32/);
      const _h45 = T([[0, 0]]);
      throwsClean(() => f.gather(1, _h45), /gather: index must be int32, got float32/);
      const _h46 = T([0]);
      throwsClean(() => wg.nllLoss(f, _h46), /nllLoss: target must be int32/);
      const _h47 = T([0]);
      const _h48 = T([[1, 2]]);
      throwsClean(() => wg.embedding(_h47, _h48), /embedding: indices must be int32, got float32/);
      const _h49 = wg.zeros([1, 1, 3, 3], { device: ctx.device });
      const _h50 = wg.zeros([1, 1, 2, 2], { device: ctx.device, dtype: 'float64' });
      throwsClean(() => wg.conv2d(_h49, _h50), /conv2d: input is float32 but weight is float64/);
      throwsClean(() => wg.randn([2], { dtype: 'int32', device: ctx.device }), /randn: dtype must be a float type, got int32/);
      throwsClean(
        () => wg.zeros([2], { dtype: 'int32', requiresGrad: true, device: ctx.device }),
        /zeros: only floating point tensors can require gradients/,
      );
      expect(() => {
        i.requiresGrad = true;
      }).toThrow(/requiresGrad: only floating point tensors can require gradients \(got int32\)/);
    }));

  it('bad hyper-parameters name the op and the value', () =>
    tidy(() => {
      const x = wg.zeros([1, 2, 4, 4], { device: ctx.device });
      const w = wg.zeros([2, 2, 3, 3], { device: ctx.device });
      throwsClean(() => wg.conv2d(x, w, null, { stride: 0 }), /conv2d: stride must be positive integer\(s\), got 0/);
      throwsClean(() => wg.conv2d(x, w, null, { padding: -1 }), /conv2d: padding must be non-negative integer\(s\), got -1/);
      throwsClean(() => wg.conv2d(x, w, null, { dilation: [1, 0] }), /conv2d: dilation must be positive/);
      const _h51 = wg.zeros([3, 1, 3, 3], { device: ctx.device });
      throwsClean(() => wg.conv2d(x, _h51, null, { groups: 2 }), /conv2d: groups=2 must divide in channels 2 and out channels 3/);
      throwsClean(() => wg.conv2d(x, w, null, { padding: 'same', stride: 2 }), /conv2d: padding='same' needs stride 1/);
      throwsClean(() => wg.maxPool2d(x, 2, { padding: 2 }), /maxPool2d: padding 2×2 must be at most half the kernel 2×2/);
      throwsClean(() => wg.avgPool2d(x, 0), /avgPool2d: kernel size must be positive/);
      throwsClean(() => wg.avgPool2d(x, 2, { dilation: 2 }), /avgPool2d: dilation is not supported/);
      throwsClean(() => wg.adaptiveAvgPool2d(x, 0), /adaptiveAvgPool2d: output size must be positive/);
      throwsClean(() => wg.dropout(x, 1), /dropout: p must be in \[0, 1\), got 1/);
      throwsClean(() => wg.dropout(x, -0.1), /dropout: p must be in \[0, 1\), got -0.1/);
      const logits = wg.zeros([2, 3], { device: ctx.device });
      const _h52 = T([0, 1], { dtype: 'int32' });
      throwsClean(
        () => wg.crossEntropy(logits, _h52, { labelSmoothing: 1.5 }),
        /crossEntropy: invalid labelSmoothing 1.5 \(must be a finite number in \[0, 1\]\)/,
      );
      const _h53 = T([0, 1], { dtype: 'int32' });
      throwsClean(
        () => wg.crossEntropy(logits, _h53, { reduction: 'avg' as never }),
        /crossEntropy: reduction must be 'mean', 'sum' or 'none', got 'avg'|reduction/,
      );
      throwsClean(
        () => wg.mseLoss(logits, logits, { reduction: 'avg' as never }),
        /mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'/,
      );
      const _h54 = wg.zeros([1, 2], { device: ctx.device });
      throwsClean(
        () => wg.batchNorm(_h54, null, null, null, null, { training: true }),
        /batchNorm: expected more than 1 value per channel when training, got input \(1,2\)/,
      );
      throwsClean(() => logits.clamp(1, 0), /clamp: min 1 is greater than max 0/);
      throwsClean(() => logits.chunk(0), /chunk: chunks must be a positive integer, got 0/);
      throwsClean(() => logits.split(0), /split: size must be a positive integer, got 0/);
      throwsClean(() => logits.slice(0, 0, 1, 0), /slice: step must be a positive integer, got 0/);
      throwsClean(() => wg.arange(0, 5, 0), /arange: step must be finite and nonzero, got 0/);
      throwsClean(() => wg.linspace(0, 1, -1), /linspace: steps must be a non-negative integer, got -1/);
      throwsClean(() => wg.eye(-2), /eye: invalid shape/);
      throwsClean(() => wg.randint(3, 3, [2]), /randint: need integers low < high, got 3, 3/);
      throwsClean(() => wg.randint(0, 1.5, [2]), /randint: need integers low < high/);
      throwsClean(() => wg.normal([2], 0, -1, { device: ctx.device }), /randn: need a finite mean and std >= 0/);
      expect(() => wg.manualSeed(-1)).toThrow(/manualSeed: seed must be a non-negative safe integer, got -1/);
      expect(() => wg.manualSeed(1.5)).toThrow(/manualSeed/);
    }));

  it('unknown devices and unavailable cuda are named', () =>
    tidy(() => {
      throwsClean(() => wg.zeros([2], { device: 'tpu' }), /unknown device 'tpu'/);
      if (!wg.backends().find((b) => b.name === 'cuda')!.available) {
        throwsClean(() => wg.zeros([2], { device: 'cuda' }), /cuda unavailable: /);
        const one = T([1]);
        throwsClean(() => one.to('cuda'), /cuda unavailable: /);
      }
    }));
});

describe('device mismatches', () => {
  // a second backend that calls itself another device: enough to exercise the op-layer checks
  const other = { ...createJsBackend(), device: 'cuda:7' };
  const on = (v: number[]) => {
    const h = other.alloc(v.length, 'float32');
    other.upload(h, Float32Array.from(v), 'float32');
    return new Tensor(new Storage(other, h, 'float32', v.length), [v.length], 'float32');
  };

  it('name the op and both devices, and leak nothing', () =>
    tidy(() => {
      const a = wg.tensor([1, 2]);
      const b = on([3, 4]);
      throwsClean(() => a.add(b), /add: expected all tensors on one device, found cpu and cuda:7/);
      throwsClean(() => a.matmul(b), /matmul: expected all tensors on one device, found cpu and cuda:7/);
      throwsClean(() => wg.cat([a, b]), /cat: expected all tensors on one device/);
      throwsClean(() => wg.stack([a, b]), /stack: expected all tensors on one device/);
      throwsClean(() => wg.where(a, b, 0), /where: expected all tensors on one device/);
      throwsClean(() => wg.mseLoss(a, b), /mseLoss: expected all tensors on one device/);
      const x = wg.tensor([1, 2], { requiresGrad: true });
      const y = x.mul(2);
      throwsClean(() => y.backward(b), /backward: gradient of shape \(2,\) on cuda:7 does not match the tensor's \(2,\) on cpu/);
      expect(x.grad).toBeNull();
    }));
});
