// The js backend's recurrent cell kernels (lstmCell, lstmCellBackward, gruCell, gruCellBackward)
// through the addon's CPU kernels (native/cpu/rnn*.cc) when it is loaded and carries them, else
// the pure-JS kernels of ./rnn.ts. float32 gate math is SIMD with a polynomial exp and a rational
// tanh (a few ulp from the js kernel's), float64 the C library's exp / tanh (within an ulp or two).
//
// The addon also has the whole sequence loop of one layer and direction, forward and backward
// (cpuRnnForward / cpuRnnBackward: one GEMM for every step's input projection, per step one small
// GEMM and the fused gate kernel; the weight gradients as one GEMM each over all steps); this
// file types it (nativeRnn()) for the callers that use it.

import type { CpuKernelBinding } from '../../../binding.js';
import type { Handle, KernelFns } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farrOf, floatDType, type FloatArray } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import {
  gruCell as jsGruCell,
  gruCellBackward as jsGruCellBackward,
  lstmCell as jsLstmCell,
  lstmCellBackward as jsLstmCellBackward,
} from './rnn.js';

/** cpuRnnForward / cpuRnnBackward modes. */
export const RNN_MODE = { RNN_TANH: 0, RNN_RELU: 1, LSTM: 2, GRU: 3 } as const;

/**
 * The addon's recurrent entry points (generated from native/manifest/cpu/rnn.mjs into binding.d.ts).
 * cpuRnnForward(mode, x, h0, c0, wIh, wHh, bIh, bHh, hs, cs, saved, T, B, I, H): one layer and
 * direction over T steps; x (T, B, I); h0, c0 (B, H) (c0 LSTM only); wIh (G·H, I); wHh (G·H, H);
 * biases (G·H) or null; writes hs (T, B, H), cs (T, B, H) (LSTM) and saved (T, B, 4H) (LSTM act,
 * GRU [r, z, n, hn]; null for RNN). cpuRnnBackward: the gradients of Σ dhs·hs + Σ dhN·h_T +
 * Σ dcN·c_T (each may be null), overwriting every output given.
 */
export type NativeRnnBinding = Pick<
  CpuKernelBinding,
  'cpuLstmCell' | 'cpuLstmCellBackward' | 'cpuGruCell' | 'cpuGruCellBackward' | 'cpuRnnForward' | 'cpuRnnBackward'
>;

/** The addon's recurrent kernels, or null (no addon, one without them, WATTGRAD_CPU_KERNELS=js). */
export function nativeRnn(): NativeRnnBinding | null {
  const n = nativeCpu() as unknown as Partial<NativeRnnBinding> | null;
  return n && typeof n.cpuLstmCell === 'function' && typeof n.cpuRnnForward === 'function' ? (n as NativeRnnBinding) : null;
}

/** The float arrays of handles when all are of the dtype's class, else null (then the js kernel runs). */
function arrays(hs: (Handle | null)[], dtype: DType, kernel: string): (FloatArray | null)[] | null {
  const dt = floatDType(dtype, kernel);
  const out: (FloatArray | null)[] = [];
  for (const h of hs) {
    if (h === null) {
      out.push(null);
      continue;
    }
    const a = farrOf(h, dt, kernel);
    if (a === null) return null;
    out.push(a);
  }
  return out;
}

export const lstmCell: KernelFns['lstmCell'] = (gates, cPrev, h, c, act, batch, hidden, dtype) => {
  const nat = nativeRnn();
  const a = nat && arrays([gates, cPrev, h, c, act], dtype, 'lstmCell');
  if (a) return nat!.cpuLstmCell(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, batch, hidden);
  jsLstmCell(gates, cPrev, h, c, act, batch, hidden, dtype);
};

export const lstmCellBackward: KernelFns['lstmCellBackward'] = (act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden, dtype) => {
  const nat = nativeRnn();
  const a = nat && arrays([act, cPrev, c, dh, dc, dGates, dcPrev], dtype, 'lstmCellBackward');
  if (a) return nat!.cpuLstmCellBackward(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, batch, hidden);
  jsLstmCellBackward(act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden, dtype);
};

export const gruCell: KernelFns['gruCell'] = (xg, hg, hPrev, h, saved, batch, hidden, dtype) => {
  const nat = nativeRnn();
  const a = nat && arrays([xg, hg, hPrev, h, saved], dtype, 'gruCell');
  if (a) return nat!.cpuGruCell(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, batch, hidden);
  jsGruCell(xg, hg, hPrev, h, saved, batch, hidden, dtype);
};

export const gruCellBackward: KernelFns['gruCellBackward'] = (saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden, dtype) => {
  const nat = nativeRnn();
  const a = nat && arrays([saved, hPrev, dh, dxg, dhg, dhPrev], dtype, 'gruCellBackward');
  if (a) return nat!.cpuGruCellBackward(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, batch, hidden);
  jsGruCellBackward(saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden, dtype);
};
