// LSTM and GRU cell gate math for one time step (the matmuls run in the op layer), torch's gate
// order and formulas. All tensors are row-major with `batch` rows.

import type { Handle } from '../kernels.js';
import type { DType } from '../../dtype.js';
import { farr, floatDType } from './handle.js';
import { sigmoid, tanhFast } from './math.js';

/**
 * gates (B, 4H) pre-activation in order i, f, g, o; cPrev, h, c (B, H); act (B, 4H) saves σ(i), σ(f), tanh(g), σ(o).
 * c = σ(f)·cPrev + σ(i)·tanh(g);  h = σ(o)·tanh(c).
 */
export function lstmCell(
  gates: Handle,
  cPrev: Handle,
  h: Handle,
  c: Handle,
  act: Handle,
  batch: number,
  hidden: number,
  dtype: DType,
): void {
  floatDType(dtype, 'lstmCell');
  const Gt = farr(gates, dtype, 'lstmCell');
  const CP = farr(cPrev, dtype, 'lstmCell');
  const Hh = farr(h, dtype, 'lstmCell');
  const Cc = farr(c, dtype, 'lstmCell');
  const A = farr(act, dtype, 'lstmCell');
  const H = hidden;
  for (let b = 0; b < batch; b++) {
    const g0 = b * 4 * H,
      s0 = b * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(Gt[g0 + j]!);
      const f = sigmoid(Gt[g0 + H + j]!);
      const g = tanhFast(Gt[g0 + 2 * H + j]!);
      const o = sigmoid(Gt[g0 + 3 * H + j]!);
      const cv = f * CP[s0 + j]! + i * g;
      A[g0 + j] = i;
      A[g0 + H + j] = f;
      A[g0 + 2 * H + j] = g;
      A[g0 + 3 * H + j] = o;
      Cc[s0 + j] = cv;
      Hh[s0 + j] = o * tanhFast(cv);
    }
  }
}

/**
 * With tc = tanh(c) and dcT = dc + dh·o·(1 - tc²):
 *   di = dcT·g·i(1-i), df = dcT·cPrev·f(1-f), dg = dcT·i·(1-g²), do = dh·tc·o(1-o), dcPrev = dcT·f.
 */
export function lstmCellBackward(
  act: Handle,
  cPrev: Handle,
  c: Handle,
  dh: Handle,
  dc: Handle | null,
  dGates: Handle,
  dcPrev: Handle,
  batch: number,
  hidden: number,
  dtype: DType,
): void {
  floatDType(dtype, 'lstmCellBackward');
  const A = farr(act, dtype, 'lstmCellBackward');
  const CP = farr(cPrev, dtype, 'lstmCellBackward');
  const Cc = farr(c, dtype, 'lstmCellBackward');
  const DH = farr(dh, dtype, 'lstmCellBackward');
  const DC = dc ? farr(dc, dtype, 'lstmCellBackward') : null;
  const DG = farr(dGates, dtype, 'lstmCellBackward');
  const DCP = farr(dcPrev, dtype, 'lstmCellBackward');
  const H = hidden;
  for (let b = 0; b < batch; b++) {
    const g0 = b * 4 * H,
      s0 = b * H;
    for (let j = 0; j < H; j++) {
      const i = A[g0 + j]!,
        f = A[g0 + H + j]!,
        g = A[g0 + 2 * H + j]!,
        o = A[g0 + 3 * H + j]!;
      const tc = tanhFast(Cc[s0 + j]!);
      const d = DH[s0 + j]!;
      const dcT = (DC ? DC[s0 + j]! : 0) + d * o * (1 - tc * tc);
      DG[g0 + j] = dcT * g * i * (1 - i);
      DG[g0 + H + j] = dcT * CP[s0 + j]! * f * (1 - f);
      DG[g0 + 2 * H + j] = dcT * i * (1 - g * g);
      DG[g0 + 3 * H + j] = d * tc * o * (1 - o);
      DCP[s0 + j] = dcT * f;
    }
  }
}

/**
 * xg, hg (B, 3H) in order r, z, n; hPrev, h (B, H); saved (B, 4H) = [r, z, n, hn].
 * r = σ(xr+hr), z = σ(xz+hz), n = tanh(xn + r·hn), h = (1-z)·n + z·hPrev.
 */
export function gruCell(
  xg: Handle,
  hg: Handle,
  hPrev: Handle,
  h: Handle,
  saved: Handle,
  batch: number,
  hidden: number,
  dtype: DType,
): void {
  floatDType(dtype, 'gruCell');
  const XG = farr(xg, dtype, 'gruCell');
  const HG = farr(hg, dtype, 'gruCell');
  const HP = farr(hPrev, dtype, 'gruCell');
  const Hh = farr(h, dtype, 'gruCell');
  const S = farr(saved, dtype, 'gruCell');
  const H = hidden;
  for (let b = 0; b < batch; b++) {
    const g0 = b * 3 * H,
      s0 = b * 4 * H,
      h0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = sigmoid(XG[g0 + j]! + HG[g0 + j]!);
      const z = sigmoid(XG[g0 + H + j]! + HG[g0 + H + j]!);
      const hn = HG[g0 + 2 * H + j]!;
      const nv = tanhFast(XG[g0 + 2 * H + j]! + r * hn);
      S[s0 + j] = r;
      S[s0 + H + j] = z;
      S[s0 + 2 * H + j] = nv;
      S[s0 + 3 * H + j] = hn;
      Hh[h0 + j] = (1 - z) * nv + z * HP[h0 + j]!;
    }
  }
}

/**
 * dn = dh·(1-z), dz = dh·(hPrev - n), dnPre = dn·(1-n²), drPre = dnPre·hn·r(1-r), dzPre = dz·z(1-z):
 *   dxg = [drPre, dzPre, dnPre], dhg = [drPre, dzPre, dnPre·r], dhPrev (direct part) = dh·z.
 */
export function gruCellBackward(
  saved: Handle,
  hPrev: Handle,
  dh: Handle,
  dxg: Handle,
  dhg: Handle,
  dhPrev: Handle,
  batch: number,
  hidden: number,
  dtype: DType,
): void {
  floatDType(dtype, 'gruCellBackward');
  const S = farr(saved, dtype, 'gruCellBackward');
  const HP = farr(hPrev, dtype, 'gruCellBackward');
  const DH = farr(dh, dtype, 'gruCellBackward');
  const DXG = farr(dxg, dtype, 'gruCellBackward');
  const DHG = farr(dhg, dtype, 'gruCellBackward');
  const DHP = farr(dhPrev, dtype, 'gruCellBackward');
  const H = hidden;
  for (let b = 0; b < batch; b++) {
    const g0 = b * 3 * H,
      s0 = b * 4 * H,
      h0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = S[s0 + j]!,
        z = S[s0 + H + j]!,
        nv = S[s0 + 2 * H + j]!,
        hn = S[s0 + 3 * H + j]!;
      const d = DH[h0 + j]!;
      const dnPre = d * (1 - z) * (1 - nv * nv);
      const drPre = dnPre * hn * r * (1 - r);
      const dzPre = d * (HP[h0 + j]! - nv) * z * (1 - z);
      DXG[g0 + j] = drPre;
      DXG[g0 + H + j] = dzPre;
      DXG[g0 + 2 * H + j] = dnPre;
      DHG[g0 + j] = drPre;
      DHG[g0 + H + j] = dzPre;
      DHG[g0 + 2 * H + j] = dnPre * r;
      DHP[h0 + j] = d * z;
    }
  }
}
