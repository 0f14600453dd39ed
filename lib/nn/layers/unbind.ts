// unbind0: x (T, …) → T tensors (…), one differentiable node with T outputs. The RNN layers use it
// to cut the one big input projection into time steps. Its backward writes each step's gradient
// into one (T, …) tensor (linear in T), where T separate slices would each build a full-size
// zero gradient (quadratic in T).

import { needsGrad, record } from '../../autograd/record.js';
import type { Tensor } from '../../tensor.js';
import { empty, launch, nbytes } from '../../ops/util.js';

export function unbind0(x: Tensor): Tensor[] {
  const T = x.shape[0]!;
  const inner = x.shape.slice(1);
  const n = T ? x.size / T : 0;
  const be = x.backend;
  const outs: Tensor[] = [];
  for (let t = 0; t < T; t++) {
    const o = empty(be, inner, x.dtype);
    if (n) launch(be, 'stridedCopy', 0, nbytes(2 * n, x.dtype), x.handle, o.handle, [n], [1], t * n, [1], 0, x.dtype, false);
    outs.push(o);
  }
  if (T && needsGrad(x)) {
    record('unbind0', outs, [x], (gs) => {
      const gb = gs.find((g) => g)!.backend;
      const dx = empty(gb, x.shape, x.dtype);
      if (gs.some((g) => !g)) launch(gb, 'fill', 0, nbytes(x.size, x.dtype), dx.handle, x.size, 0, x.dtype);
      gs.forEach((g, t) => {
        if (g && n) launch(gb, 'stridedCopy', 0, nbytes(2 * n, x.dtype), g.handle, dx.handle, [n], [1], 0, [1], t * n, x.dtype, false);
      });
      return [dx];
    });
  }
  return outs;
}
