// The addon's recurrent kernels (native/cpu/rnn*.cc) against the js kernels (lib/backend/js/rnn.ts)
// and an independent reference of the whole sequence loop written here from the js cells and plain
// float64 matmul loops: LSTM / GRU cells forward and backward, and cpuRnnForward / cpuRnnBackward
// for RNN tanh, RNN relu, LSTM and GRU, with and without biases, on odd sizes (hidden not a multiple
// of any vector width, batch 1, T 1), outputs poisoned with NaN, float32 and float64, on every ISA
// this CPU supports (cpuSelectIsa in-process, WATTGRAD_CPU_ISA in a child process); results
// identical for 1, 2 and 3 threads; and nn.LSTM / nn.GRU trained a few Adam steps with the native
// kernels equal within rounding to the same training with WATTGRAD_CPU_KERNELS=js.
// float32 gate math is a polynomial exp / rational tanh (a few ulp from the js kernel's), so the
// comparisons are within rounding, scaled by the values' magnitude.
// Skips, saying why, when the loaded addon has no CPU kernels. Run with a cpu build:
//   node scripts/build-native.mjs --no-cuda --out=build/cpu-dev
//   WATTGRAD_NATIVE=$PWD/build/cpu-dev/Release/wattgrad.node npx vitest run test/native/cpu-rnn.test.ts
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { JsHandle } from '../../lib/backend/js/handle.js';
import * as jsr from '../../lib/backend/js/rnn.js';
import { RNN_MODE, type NativeRnnBinding } from '../../lib/backend/js/native-rnn.js';
import { resetNativeCpuForTests } from '../../lib/backend/js/native-cpu.js';
import { manualSeed, tensor, tidy, type Tensor } from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { Adam } from '../../lib/optim/index.js';
import { addonPath, cpu, noCpuLabel, randArray, rng, SEED, type F } from './cpu-util.js';

const nat = cpu as unknown as (NativeRnnBinding & NonNullable<typeof cpu>) | null;
const hasRnn = !!nat && typeof nat.cpuRnnForward === 'function';
const isas = cpu ? cpu.cpuInfo().supportedIsas : [];
const initial = cpu ? { isa: cpu.cpuInfo().isa, threads: cpu.cpuGetNumThreads() } : null;
afterAll(() => {
  if (cpu && initial) {
    cpu.cpuSelectIsa(initial.isa);
    cpu.cpuSetNumThreads(initial.threads);
  }
});

type DT = 'float32' | 'float64';
const alloc = (dt: DT, n: number): F => (dt === 'float32' ? new Float32Array(n) : new Float64Array(n));
const poisoned = (dt: DT, n: number): F => alloc(dt, n).fill(NaN);
const rand = (dt: DT, n: number, r: () => number, s = 1): F => {
  const a = randArray(dt, n, r);
  for (let i = 0; i < n; i++) a[i] = a[i]! * s;
  return a;
};
const J = (a: F, dt: DT): JsHandle => new JsHandle(a, dt);

/** First element off by more than tol·(1 + max|ref|) (NaN fails), or null. */
function firstBad(got: F, ref: F, dt: DT, what: string, k = 1): string | null {
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  const tol = (dt === 'float32' ? 2e-5 : 1e-12) * k * (1 + scale);
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    if (!(d <= tol)) return `${what}[${i}]: native ${got[i]}, reference ${ref[i]} (tol ${tol})`;
  }
  return null;
}

// ---- cells -------------------------------------------------------------------------------------
const CELL_SHAPES: [number, number][] = [
  [1, 1],
  [1, 5],
  [3, 17],
  [2, 33],
  [7, 16],
  [32, 128],
  [5, 100],
];

function checkCells(dt: DT, B: number, H: number, seed: number): void {
  const r = rng(seed);
  // LSTM
  const gates = rand(dt, B * 4 * H, r, 4),
    cPrev = rand(dt, B * H, r, 2);
  const out = [B * H, B * H, 4 * B * H].map((n) => poisoned(dt, n));
  const ref = [B * H, B * H, 4 * B * H].map((n) => alloc(dt, n));
  nat!.cpuLstmCell(gates, cPrev, out[0]!, out[1]!, out[2]!, B, H);
  jsr.lstmCell(J(gates, dt), J(cPrev, dt), J(ref[0]!, dt), J(ref[1]!, dt), J(ref[2]!, dt), B, H, dt);
  ['h', 'c', 'act'].forEach((w, i) => expect(firstBad(out[i]!, ref[i]!, dt, `lstmCell ${w}`)).toBeNull());
  const dh = rand(dt, B * H, r),
    dc = rand(dt, B * H, r);
  for (const withDc of [true, false]) {
    const o = [4 * B * H, B * H].map((n) => poisoned(dt, n));
    const e = [4 * B * H, B * H].map((n) => alloc(dt, n));
    nat!.cpuLstmCellBackward(ref[2]!, cPrev, ref[1]!, dh, withDc ? dc : null, o[0]!, o[1]!, B, H);
    jsr.lstmCellBackward(
      J(ref[2]!, dt),
      J(cPrev, dt),
      J(ref[1]!, dt),
      J(dh, dt),
      withDc ? J(dc, dt) : null,
      J(e[0]!, dt),
      J(e[1]!, dt),
      B,
      H,
      dt,
    );
    ['dGates', 'dcPrev'].forEach((w, i) => expect(firstBad(o[i]!, e[i]!, dt, `lstmCellBackward ${w} dc=${withDc}`)).toBeNull());
  }
  // GRU
  const xg = rand(dt, B * 3 * H, r, 3),
    hg = rand(dt, B * 3 * H, r, 3),
    hPrev = rand(dt, B * H, r);
  const go = [B * H, 4 * B * H].map((n) => poisoned(dt, n));
  const ge = [B * H, 4 * B * H].map((n) => alloc(dt, n));
  nat!.cpuGruCell(xg, hg, hPrev, go[0]!, go[1]!, B, H);
  jsr.gruCell(J(xg, dt), J(hg, dt), J(hPrev, dt), J(ge[0]!, dt), J(ge[1]!, dt), B, H, dt);
  ['h', 'saved'].forEach((w, i) => expect(firstBad(go[i]!, ge[i]!, dt, `gruCell ${w}`)).toBeNull());
  const bo = [3 * B * H, 3 * B * H, B * H].map((n) => poisoned(dt, n));
  const be = [3 * B * H, 3 * B * H, B * H].map((n) => alloc(dt, n));
  nat!.cpuGruCellBackward(ge[1]!, hPrev, dh, bo[0]!, bo[1]!, bo[2]!, B, H);
  jsr.gruCellBackward(J(ge[1]!, dt), J(hPrev, dt), J(dh, dt), J(be[0]!, dt), J(be[1]!, dt), J(be[2]!, dt), B, H, dt);
  ['dxg', 'dhg', 'dhPrev'].forEach((w, i) => expect(firstBad(bo[i]!, be[i]!, dt, `gruCellBackward ${w}`)).toBeNull());
}

// ---- the sequence reference: js cells + plain float64 matmul loops ----------------------------------
type Mode = keyof typeof RNN_MODE;
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

interface Seq {
  mode: Mode;
  T: number;
  B: number;
  I: number;
  H: number;
  bias: boolean;
}
interface SeqIn {
  x: F;
  h0: F;
  c0: F;
  wIh: F;
  wHh: F;
  bIh: F | null;
  bHh: F | null;
  dhs: F;
  dhN: F;
  dcN: F;
}

/** out (m, n) = a (m, k) · op(b): b is (n, k) when tb, else (k, n); rounded into dt on store. */
function mm(dt: DT, a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, m: number, n: number, k: number, tb: boolean, ta = false): F {
  const out = alloc(dt, m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aOff + (ta ? p * m + i : i * k + p)]! * b[tb ? j * k + p : p * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

function seqInputs(dt: DT, s: Seq, seed: number): SeqIn {
  const r = rng(seed);
  const GH = GATES[s.mode] * s.H;
  const w = 1 / Math.sqrt(s.H);
  return {
    x: rand(dt, s.T * s.B * s.I, r),
    h0: rand(dt, s.B * s.H, r),
    c0: rand(dt, s.B * s.H, r),
    wIh: rand(dt, GH * s.I, r, 2 * w),
    wHh: rand(dt, GH * s.H, r, 2 * w),
    bIh: s.bias ? rand(dt, GH, r, 2 * w) : null,
    bHh: s.bias ? rand(dt, GH, r, 2 * w) : null,
    dhs: rand(dt, s.T * s.B * s.H, r),
    dhN: rand(dt, s.B * s.H, r),
    dcN: rand(dt, s.B * s.H, r),
  };
}

type Grads = Record<'hs' | 'cs' | 'dx' | 'dh0' | 'dc0' | 'dWih' | 'dWhh' | 'dbIh' | 'dbHh', F | null>;

function refSeq(dt: DT, s: Seq, v: SeqIn): Grads {
  const { T, B, I, H, mode } = s;
  const GH = GATES[mode] * H;
  const lstm = mode === 'LSTM',
    gru = mode === 'GRU';
  const addBias = (m: F, b: F | null, rows: number): void => {
    if (b) for (let i = 0; i < rows; i++) for (let j = 0; j < GH; j++) m[i * GH + j] = m[i * GH + j]! + b[j]!;
  };
  const hs: F[] = [],
    cs: F[] = [],
    saved: F[] = [];
  const xg = mm(dt, v.x, 0, v.wIh, T * B, GH, I, true);
  addBias(xg, v.bIh, T * B);
  for (let t = 0; t < T; t++) {
    const hp = t ? hs[t - 1]! : v.h0;
    const hg = mm(dt, hp, 0, v.wHh, B, GH, H, true);
    addBias(hg, v.bHh, B);
    const xt = xg.subarray(t * B * GH, (t + 1) * B * GH);
    const h = alloc(dt, B * H);
    if (gru) {
      const sv = alloc(dt, 4 * B * H);
      jsr.gruCell(J(xt, dt), J(hg, dt), J(hp, dt), J(h, dt), J(sv, dt), B, H, dt);
      saved.push(sv);
    } else {
      const pre = alloc(dt, B * GH);
      for (let i = 0; i < B * GH; i++) pre[i] = xt[i]! + hg[i]!;
      if (lstm) {
        const c = alloc(dt, B * H),
          act = alloc(dt, 4 * B * H);
        jsr.lstmCell(J(pre, dt), J(t ? cs[t - 1]! : v.c0, dt), J(h, dt), J(c, dt), J(act, dt), B, H, dt);
        cs.push(c);
        saved.push(act);
      } else for (let i = 0; i < B * H; i++) h[i] = mode === 'RNN_TANH' ? Math.tanh(pre[i]!) : Math.max(pre[i]!, 0);
    }
    hs.push(h);
  }
  // backward
  const dXG = alloc(dt, T * B * GH),
    dHG = alloc(dt, T * B * GH);
  let dh: F = v.dhN.slice();
  let dc: F = v.dcN.slice();
  for (let t = T - 1; t >= 0; t--) {
    for (let i = 0; i < B * H; i++) dh[i] = dh[i]! + v.dhs[t * B * H + i]!;
    const hp = t ? hs[t - 1]! : v.h0;
    const dxt = dXG.subarray(t * B * GH, (t + 1) * B * GH),
      dht = dHG.subarray(t * B * GH, (t + 1) * B * GH);
    if (lstm) {
      const dcp = alloc(dt, B * H);
      jsr.lstmCellBackward(
        J(saved[t]!, dt),
        J(t ? cs[t - 1]! : v.c0, dt),
        J(cs[t]!, dt),
        J(dh, dt),
        J(dc, dt),
        J(dxt, dt),
        J(dcp, dt),
        B,
        H,
        dt,
      );
      dht.set(dxt);
      dc = dcp;
      dh = mm(dt, dxt, 0, v.wHh, B, H, GH, false);
    } else if (gru) {
      const dhp = alloc(dt, B * H);
      jsr.gruCellBackward(J(saved[t]!, dt), J(hp, dt), J(dh, dt), J(dxt, dt), J(dht, dt), J(dhp, dt), B, H, dt);
      const m = mm(dt, dht, 0, v.wHh, B, H, GH, false);
      for (let i = 0; i < B * H; i++) m[i] = m[i]! + dhp[i]!;
      dh = m;
    } else {
      const h = hs[t]!;
      for (let i = 0; i < B * H; i++) dxt[i] = mode === 'RNN_TANH' ? dh[i]! * (1 - h[i]! * h[i]!) : h[i]! > 0 ? dh[i]! : 0;
      dht.set(dxt);
      dh = mm(dt, dxt, 0, v.wHh, B, H, GH, false);
    }
  }
  const hprev = alloc(dt, T * B * H);
  hprev.set(v.h0);
  for (let t = 0; t + 1 < T; t++) hprev.set(hs[t]!, (t + 1) * B * H);
  const colsum = (m: F): F => {
    const o = alloc(dt, GH);
    for (let j = 0; j < GH; j++) {
      let sum = 0;
      for (let i = 0; i < T * B; i++) sum += m[i * GH + j]!;
      o[j] = sum;
    }
    return o;
  };
  const cat = (xs: F[]): F => {
    const o = alloc(dt, T * B * H);
    xs.forEach((a, t) => o.set(a, t * B * H));
    return o;
  };
  return {
    hs: cat(hs),
    cs: lstm ? cat(cs) : null,
    dx: mm(dt, dXG, 0, v.wIh, T * B, I, GH, false),
    dh0: dh,
    dc0: lstm ? dc : null,
    dWih: mm(dt, dXG, 0, v.x, GH, I, T * B, false, true),
    dWhh: mm(dt, dHG, 0, hprev, GH, H, T * B, false, true),
    dbIh: s.bias ? colsum(dXG) : null,
    dbHh: s.bias ? colsum(dHG) : null,
  };
}

function nativeSeq(dt: DT, s: Seq, v: SeqIn): Grads {
  const { T, B, I, H, mode } = s;
  const GH = GATES[mode] * H;
  const lstm = mode === 'LSTM',
    gated = lstm || mode === 'GRU';
  const m = RNN_MODE[mode];
  const hs = poisoned(dt, T * B * H),
    cs = lstm ? poisoned(dt, T * B * H) : null,
    saved = gated ? poisoned(dt, T * B * 4 * H) : null;
  nat!.cpuRnnForward(m, v.x, v.h0, lstm ? v.c0 : null, v.wIh, v.wHh, v.bIh, v.bHh, hs, cs, saved, T, B, I, H);
  const g: Grads = {
    hs,
    cs,
    dx: poisoned(dt, T * B * I),
    dh0: poisoned(dt, B * H),
    dc0: lstm ? poisoned(dt, B * H) : null,
    dWih: poisoned(dt, GH * I),
    dWhh: poisoned(dt, GH * H),
    dbIh: s.bias ? poisoned(dt, GH) : null,
    dbHh: s.bias ? poisoned(dt, GH) : null,
  };
  nat!.cpuRnnBackward(
    m,
    v.x,
    v.h0,
    lstm ? v.c0 : null,
    v.wIh,
    v.wHh,
    hs,
    cs,
    saved,
    v.dhs,
    v.dhN,
    lstm ? v.dcN : null,
    g.dx,
    g.dh0!,
    g.dc0,
    g.dWih!,
    g.dWhh!,
    g.dbIh,
    g.dbHh,
    T,
    B,
    I,
    H,
  );
  return g;
}

const SEQS: Omit<Seq, 'mode' | 'bias'>[] = [
  { T: 1, B: 1, I: 1, H: 1 },
  { T: 3, B: 2, I: 5, H: 7 },
  { T: 1, B: 4, I: 3, H: 17 },
  { T: 6, B: 1, I: 6, H: 33 },
  { T: 4, B: 5, I: 9, H: 16 },
  { T: 3, B: 9, I: 20, H: 40 }, // every GEMM of the loop above the no-packing threshold (packed path)
];
const MODES: Mode[] = ['RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'];

function checkSeq(dt: DT, s: Seq, seed: number): void {
  const v = seqInputs(dt, s, seed);
  const got = nativeSeq(dt, s, v),
    ref = refSeq(dt, s, v);
  for (const k of Object.keys(ref) as (keyof Grads)[]) {
    const r = ref[k];
    if (!r) continue;
    const bad = firstBad(got[k]!, r, dt, k, 4 * s.T);
    expect(bad, `${dt} ${JSON.stringify(s)} seed ${seed} isa ${cpu!.cpuInfo().isa}: ${bad}`).toBeNull();
  }
}

describe.skipIf(!hasRnn)(
  `native CPU recurrent kernels vs the js kernels${hasRnn ? '' : noCpuLabel || ' [skipped: the addon has no cpuRnnForward]'}`,
  () => {
    for (const isa of isas) {
      for (const dt of ['float32', 'float64'] as const) {
        it(`${isa} ${dt}: LSTM / GRU cells forward and backward, odd sizes, poisoned outputs`, () => {
          expect(cpu!.cpuSelectIsa(isa)).toBe(true);
          CELL_SHAPES.forEach(([B, H], i) => checkCells(dt, B, H, SEED + 13 * i));
        });
        it(`${isa} ${dt}: whole-sequence forward + backward (RNN tanh/relu, LSTM, GRU; with and without bias)`, () => {
          expect(cpu!.cpuSelectIsa(isa)).toBe(true);
          let seed = SEED + 500;
          for (const mode of MODES)
            for (const shape of SEQS) for (const bias of [true, false]) checkSeq(dt, { ...shape, mode, bias }, seed++);
        });
      }
    }

    it('the sequence kernels give identical bits for 1, 2 and 3 threads and run to run (a size that splits)', () => {
      cpu!.cpuSelectIsa(initial!.isa);
      for (const mode of ['LSTM', 'GRU'] as const) {
        const s: Seq = { mode, T: 5, B: 64, I: 40, H: 96, bias: true };
        const v = seqInputs('float32', s, SEED + 3);
        cpu!.cpuSetNumThreads(1);
        const one = nativeSeq('float32', s, v);
        for (const t of [2, 3, 2]) {
          cpu!.cpuSetNumThreads(t);
          const got = nativeSeq('float32', s, v);
          for (const k of Object.keys(one) as (keyof Grads)[])
            if (one[k]) expect(Buffer.from(got[k]!.buffer).equals(Buffer.from(one[k]!.buffer)), `${mode} ${k} at ${t} threads`).toBe(true);
        }
      }
      cpu!.cpuSetNumThreads(initial!.threads);
    });

    it('WATTGRAD_CPU_ISA picks each ISA at load (child process) and the LSTM sequence matches the reference', () => {
      const s: Seq = { mode: 'LSTM', T: 3, B: 3, I: 4, H: 21, bias: true };
      const v = seqInputs('float32', s, SEED + 21);
      const ref = refSeq('float32', s, v);
      const script = `
      const b = require(${JSON.stringify(addonPath)});
      const v = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const f = (a) => Float32Array.from(a);
      const hs = new Float32Array(${s.T * s.B * s.H}).fill(NaN), cs = hs.slice(), saved = new Float32Array(${s.T * s.B * 4 * s.H});
      b.cpuRnnForward(2, f(v.x), f(v.h0), f(v.c0), f(v.wIh), f(v.wHh), f(v.bIh), f(v.bHh), hs, cs, saved, ${s.T}, ${s.B}, ${s.I}, ${s.H});
      process.stdout.write(JSON.stringify({ isa: b.cpuInfo().isa, hs: Array.from(hs) }));`;
      const input = JSON.stringify(Object.fromEntries(Object.entries(v).map(([k, a]) => [k, a ? Array.from(a as F) : null])));
      for (const isa of isas) {
        const out = JSON.parse(
          execFileSync(process.execPath, ['-e', script], { input, env: { ...process.env, WATTGRAD_CPU_ISA: isa }, encoding: 'utf8' }),
        ) as {
          isa: string;
          hs: number[];
        };
        expect(out.isa).toBe(isa);
        expect(firstBad(Float32Array.from(out.hs), ref.hs!, 'float32', 'hs', 4 * s.T), isa).toBeNull();
      }
    });

    it('checks its arguments', () => {
      const f = (n: number): Float32Array => new Float32Array(n);
      expect(() => nat!.cpuLstmCell(f(8), f(2), f(2), f(2), f(7), 1, 2)).toThrow(/cpuLstmCell: act holds 7 elements, needs 8/);
      expect(() => nat!.cpuGruCell(f(6), new Float64Array(6) as unknown as F, f(2), f(2), f(8), 1, 2)).toThrow(
        /cpuGruCell: xg, hg, hPrev, h and saved must have the same dtype/,
      );
      expect(() => nat!.cpuRnnForward(5, f(1), f(1), null, f(1), f(1), null, null, f(1), null, null, 1, 1, 1, 1)).toThrow(
        /mode must be 0 \(RNN tanh\)/,
      );
      expect(() => nat!.cpuRnnForward(2, f(1), f(1), null, f(4), f(4), null, null, f(1), f(1), null, 1, 1, 1, 1)).toThrow(
        /cpuRnnForward: LSTM \(mode 2\) needs c0 and cs/,
      );
      expect(() => nat!.cpuRnnForward(3, f(6), f(2), null, f(12), f(12), null, null, f(6), null, null, 3, 1, 2, 2)).not.toThrow();
      expect(() => nat!.cpuRnnForward(3, f(6), f(2), null, f(11), f(12), null, null, f(6), null, null, 3, 1, 2, 2)).toThrow(
        /wIh holds 11 elements, needs 12/,
      );
    });
  },
);

// ---- nn.LSTM / nn.GRU training: native kernels vs WATTGRAD_CPU_KERNELS=js ---------------------------
function train(kind: 'LSTM' | 'GRU', dtype: DT): { params: number[][]; losses: number[] } {
  return tidy(() => {
    manualSeed(7);
    const rnn = kind === 'LSTM' ? new nn.LSTM(5, 19, { numLayers: 2 }) : new nn.GRU(5, 19, { bidirectional: true });
    const head = new nn.Linear(kind === 'LSTM' ? 19 : 38, 3);
    if (dtype === 'float64') {
      rnn.double();
      head.double();
    }
    const ps = [...rnn.parameters(), ...head.parameters()];
    const opt = new Adam(ps, { lr: 0.01 });
    const r = rng(99);
    const x = tensor(
      Array.from({ length: 6 * 4 * 5 }, () => r()),
      { shape: [6, 4, 5], dtype },
    );
    const y = tensor(
      Array.from({ length: 6 * 4 * 3 }, () => r()),
      { shape: [6, 4, 3], dtype },
    );
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      const [out] = rnn.forward(x) as [Tensor, unknown];
      const loss = head.forward(out).sub(y).square().mean();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    return { params: ps.map((p) => Array.from(p.dataSync())), losses };
  });
}

describe.skipIf(!hasRnn)('nn.LSTM / nn.GRU training with the native CPU kernels vs WATTGRAD_CPU_KERNELS=js', () => {
  for (const kind of ['LSTM', 'GRU'] as const)
    for (const dtype of ['float32', 'float64'] as const)
      it(`${kind} ${dtype}: 3 Adam steps, parameters equal within rounding`, () => {
        cpu!.cpuSelectIsa(initial!.isa);
        const saved = process.env.WATTGRAD_CPU_KERNELS;
        try {
          process.env.WATTGRAD_CPU_KERNELS = 'js';
          resetNativeCpuForTests();
          const ref = train(kind, dtype);
          delete process.env.WATTGRAD_CPU_KERNELS;
          resetNativeCpuForTests();
          const got = train(kind, dtype);
          // Adam normalises the step (~lr per element), so rounding differences in tiny gradients
          // can move a parameter by up to ~lr·(relative error of m/√v): compare at 1e-4 (f32)
          const tol = dtype === 'float32' ? 1e-4 : 1e-10;
          ref.params.forEach((p, i) =>
            p.forEach((v, j) => expect(Math.abs(got.params[i]![j]! - v), `param ${i}[${j}]`).toBeLessThanOrEqual(tol)),
          );
          got.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!)).toBeLessThanOrEqual(tol * Math.abs(l)));
          expect(got.losses[2]!).toBeLessThan(got.losses[0]!); // it trained
        } finally {
          if (saved === undefined) delete process.env.WATTGRAD_CPU_KERNELS;
          else process.env.WATTGRAD_CPU_KERNELS = saved;
          resetNativeCpuForTests();
        }
      });
});
