// A gradient arrives in its input's dtype: ops that promote (float32 · float64) compute their
// backward in the promoted dtype, and the engine casts each input's share back (torch's
// validate_outputs). Before, a float32 leaf got a float64 .grad.
import { expect, it } from 'vitest';
import { tensor, tidy } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

describeBackends('gradient dtypes', (ctx) => {
  it('float32 and float64 operands each get a gradient of their own dtype, with the right values', () =>
    tidy(() => {
      const x = ctx.t([1, 2]).requiresGrad_(true);
      const y = ctx.t([3, 4], { dtype: 'float64' }).requiresGrad_(true);
      const out = x.mul(y).add(x).div(y).sum();
      expect(out.dtype).toBe('float64');
      out.backward();
      expect(x.grad!.dtype).toBe('float32');
      expect(y.grad!.dtype).toBe('float64');
      // d/dx (x·y + x)/y = 1 + 1/y ; d/dy = -x/y²
      ctx.close(x.grad!, [1 + 1 / 3, 1 + 1 / 4]);
      ctx.close(y.grad!, [-1 / 9, -2 / 16]);
      // through a non-leaf too: the float32 intermediate's node gets a float32 gradient
      const z = ctx.t([0.5, -1]).requiresGrad_(true);
      const h = z.tanh();
      h.mul(tensor([2, 2], { dtype: 'float64', device: ctx.device }))
        .sum()
        .backward();
      expect(z.grad!.dtype).toBe('float32');
      ctx.close(z.grad!, [2 * (1 - Math.tanh(0.5) ** 2), 2 * (1 - Math.tanh(-1) ** 2)]);
    }));
});
