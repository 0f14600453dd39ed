// Gradient check by central finite differences in float64: perturb every element of every input
// that requires grad, compare (L(x+ε) - L(x-ε)) / 2ε with the autograd gradient of
// L = Σ_k Σ_i w_k[i]·out_k[i], a fixed random projection of the outputs (so every output element
// and every output of a multi-output fn is checked, not only their sum).
//
//   gradcheck((a, b) => a.mul(b).sum(1), [tensor(..., {dtype: 'float64', requiresGrad: true}), ...]);
//
// Inputs that do not require grad (int32 indices, constants) are passed through unchanged. The
// function must be deterministic (re-seed inside it for dropout). Everything it allocates is freed.
import { noGrad, tensor, tidy, type Tensor } from '../../lib/index.js';

export interface GradcheckOptions {
  /** finite-difference step (default 1e-6) */
  eps?: number;
  /** absolute tolerance (default 1e-5) */
  atol?: number;
  /** relative tolerance (default 1e-4) */
  rtol?: number;
  /** also accept float32 inputs (tolerances must then be loose); default false */
  allowFloat32?: boolean;
  /** check only these input positions (default: every input that requires grad) */
  only?: number[];
}

export interface GradcheckResult {
  maxAbsErr: number;
  maxRelErr: number;
  /** elements compared */
  checked: number;
}

type Out = Tensor | readonly Tensor[];

function outputs(o: Out): readonly Tensor[] {
  return Array.isArray(o) ? (o as readonly Tensor[]) : [o as Tensor];
}

/** Deterministic projection weights in [0.5, 1.5) with alternating sign, never 0. */
function weightsFor(n: number, salt: number): Float64Array {
  const w = new Float64Array(n);
  let s = (0x9e3779b9 ^ (salt * 2654435761)) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    w[i] = (i % 2 ? -1 : 1) * (0.5 + s / 4294967296);
  }
  return w;
}

/** Σ w·out over every output, as a JS number (reads back). */
function projectValue(o: Out): number {
  let total = 0;
  outputs(o).forEach((t, k) => {
    const v = t.dataSync();
    const w = weightsFor(v.length, k);
    for (let i = 0; i < v.length; i++) total += w[i]! * v[i]!;
  });
  return total;
}

/** Throws with the worst mismatches when autograd and finite differences disagree. */
export function gradcheck(fn: (...xs: Tensor[]) => Out, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  const which = opts.only ?? inputs.map((x, i) => (x.requiresGrad ? i : -1)).filter((i) => i >= 0);
  if (which.length === 0) throw new Error('gradcheck: no input requires grad');
  for (const i of which) {
    const x = inputs[i]!;
    if (x.dtype !== 'float64' && !(opts.allowFloat32 && x.dtype === 'float32')) {
      throw new Error(`gradcheck: input ${i} is ${x.dtype}; finite differences need float64 (or pass allowFloat32)`);
    }
  }
  // analytic: fresh leaves so the caller's .grad stays untouched
  const analytic: Float64Array[] = tidy(() => {
    const leaves = inputs.map((x, i) => (which.includes(i) ? x.detach().requiresGrad_(true) : x));
    const out = outputs(fn(...leaves));
    const parts = out.map((t, k) => {
      if (!t.requiresGrad) throw new Error(`gradcheck: output ${k} does not require grad`);
      const w = tensor(weightsFor(t.size, k), { dtype: t.dtype, shape: [...t.shape], device: t.device });
      return t.mul(w).sum();
    });
    let L = parts[0]!;
    for (const p of parts.slice(1)) L = L.add(p);
    L.backward();
    return which.map((i) => {
      const g = leaves[i]!.grad;
      return g ? Float64Array.from(g.dataSync()) : new Float64Array(inputs[i]!.size);
    });
  });
  // numeric
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let checked = 0;
  const bad: string[] = [];
  which.forEach((i, wi) => {
    const x = inputs[i]!;
    const base = Float64Array.from(x.dataSync());
    const at = (k: number, delta: number): number =>
      noGrad(() =>
        tidy(() => {
          const v = Float64Array.from(base);
          v[k] = v[k]! + delta;
          const xp = tensor(v, { dtype: x.dtype, shape: [...x.shape], device: x.device });
          const args = inputs.map((y, j) => (j === i ? xp : y));
          return projectValue(fn(...args));
        }),
      );
    for (let k = 0; k < base.length; k++) {
      const num = (at(k, eps) - at(k, -eps)) / (2 * eps);
      const ana = analytic[wi]![k]!;
      const abs = Math.abs(num - ana);
      const rel = abs / Math.max(Math.abs(num), Math.abs(ana), 1e-12);
      checked++;
      if (abs > maxAbsErr) maxAbsErr = abs;
      if (abs > atol && rel > maxRelErr) maxRelErr = rel;
      if (!(abs <= atol + rtol * Math.abs(num)) && bad.length < 8) {
        bad.push(`input ${i} ${JSON.stringify([...x.shape])} element ${k}: autograd ${ana}, finite difference ${num}`);
      }
    }
  });
  if (bad.length) throw new Error(`gradcheck failed (atol ${atol}, rtol ${rtol}):\n  ${bad.join('\n  ')}`);
  return { maxAbsErr, maxRelErr, checked };
}
