// One recurrent layer and direction over the whole sequence as ONE op, when the js backend has the
// addon's CPU kernels: forward is one native call (cpuRnnForward: one GEMM projects every step,
// then per step a small GEMM and the fused gates), backward one more (cpuRnnBackward: the gate
// backward per step, then one GEMM each for dW_ih, dW_hh, dX over all steps). The per-step op path
// of lib/nn/layers/rnn.ts (linear + gate op per step) stays the definition and the fallback:
// rnnLayer returns null when the native kernels do not apply (another backend, no addon,
// WATTGRAD_CPU_KERNELS=js), and the caller runs the steps.
// x (T, B, I), h0 / c0 (B, H), wIh (G·H, I), wHh (G·H, H), biases (G·H) → out (T, B, H), hN, cN (B, H).

import { autocastActive } from '../amp/state.js';
import { needsGrad, record, save } from '../autograd/record.js';
import { nativeRnn, RNN_MODE } from '../backend/js/native-rnn.js';
import { farr } from '../backend/js/handle.js';
import type { Tensor } from '../tensor.js';
import { empty, nbytes } from './util.js';
import { recordCost } from '../backend/counter.js';
import { clone } from './elementwise.js';
import { select } from './shape.js';

export type RnnLayerMode = keyof typeof RNN_MODE;

const GATES: Record<RnnLayerMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

/** Whether rnnLayer runs natively for an input on this backend and dtype (else it returns null). */
export function rnnLayerApplies(x: Tensor): boolean {
  // under autocast the per-step path runs: its projections go through linear, which autocast rounds
  if (autocastActive()) return false;
  return x.backend.name === 'js' && (x.dtype === 'float32' || x.dtype === 'float64') && nativeRnn() !== null;
}

export function rnnLayer(
  mode: RnnLayerMode,
  x: Tensor,
  h0: Tensor,
  c0: Tensor | null,
  wIh: Tensor,
  wHh: Tensor,
  bIh: Tensor | null,
  bHh: Tensor | null,
): { out: Tensor; hN: Tensor; cN: Tensor | null } | null {
  const be = x.backend;
  if (be.name !== 'js' || (x.dtype !== 'float32' && x.dtype !== 'float64')) return null;
  const nat = nativeRnn();
  if (!nat) return null;
  const all = [x, h0, c0, wIh, wHh, bIh, bHh];
  if (all.some((t) => t && (t.backend !== be || t.dtype !== x.dtype))) return null;
  const [T, B, I] = x.shape as [number, number, number];
  const H = h0.shape[1]!;
  const lstm = mode === 'LSTM',
    gated = lstm || mode === 'GRU';
  const G = GATES[mode],
    GH = G * H,
    dt = x.dtype;
  const A = (t: Tensor | null): Float32Array | Float64Array | null => (t ? farr(t.handle, dt, 'rnnLayer') : null);
  const grad = needsGrad(...all);
  const out = empty(be, [T, B, H], dt);
  const cs = lstm ? empty(be, [T, B, H], dt) : null;
  const saved = gated && grad ? empty(be, [T, B, 4 * H], dt) : null;
  const m = RNN_MODE[mode];
  nat.cpuRnnForward(m, A(x)!, A(h0)!, A(c0), A(wIh)!, A(wHh)!, A(bIh), A(bHh), A(out)!, A(cs), A(saved), T, B, I, H);
  const fwdFlops = 2 * T * B * GH * (I + H);
  recordCost('rnnLayer', fwdFlops, nbytes(GH * (I + H) + T * B * (I + 2 * H + (gated ? 4 * H : 0)), dt));
  const last = (t: Tensor): Tensor => {
    const s = select(t, 0, T - 1);
    const c = clone(s);
    s.dispose();
    return c;
  };
  const hN = last(out);
  const cN = lstm ? last(cs!) : null;
  if (!grad) {
    cs?.dispose();
    saved?.dispose();
    return { out, hN, cN };
  }
  const keep = save(...([x, h0, wIh, wHh, out, ...(c0 ? [c0] : []), ...(cs ? [cs] : []), ...(saved ? [saved] : [])] as Tensor[]));
  const [sx, sh0, sWih, sWhh, sOut] = keep as [Tensor, Tensor, Tensor, Tensor, Tensor];
  let k = 5;
  const sc0 = c0 ? keep[k++]! : null;
  const scs = cs ? keep[k++]! : null;
  const ssv = saved ? keep[k++]! : null;
  const outputs = cN ? [out, hN, cN] : [out, hN];
  record(
    'rnnLayer',
    outputs,
    all,
    (grads) => {
      const [dOut, dhN, dcN] = grads as (Tensor | null)[];
      const gb = sx.backend;
      const dx = empty(gb, [T, B, I], dt),
        dh0 = empty(gb, [B, H], dt),
        dc0 = lstm ? empty(gb, [B, H], dt) : null,
        dWih = empty(gb, [GH, I], dt),
        dWhh = empty(gb, [GH, H], dt),
        dbIh = bIh ? empty(gb, [GH], dt) : null,
        dbHh = bHh ? empty(gb, [GH], dt) : null;
      nat.cpuRnnBackward(
        m,
        A(sx)!,
        A(sh0)!,
        A(sc0),
        A(sWih)!,
        A(sWhh)!,
        A(sOut)!,
        A(scs),
        A(ssv),
        A(dOut ?? null),
        A(dhN ?? null),
        A(lstm ? (dcN ?? null) : null),
        A(dx),
        A(dh0)!,
        A(dc0),
        A(dWih)!,
        A(dWhh)!,
        A(dbIh),
        A(dbHh),
        T,
        B,
        I,
        H,
      );
      recordCost('rnnLayerBackward', 2 * fwdFlops, nbytes(2 * GH * (I + H) + T * B * (2 * I + 2 * GH + 4 * H), dt));
      return [dx, dh0, dc0, dWih, dWhh, dbIh, dbHh];
    },
    keep,
  );
  return { out, hN, cN };
}
