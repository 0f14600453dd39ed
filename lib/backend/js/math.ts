// Scalar math shared by the elementwise, bias-activation and gradient kernels, with torch's
// exact definitions (gelu in the erf form, softplus with threshold 20, round half to even).

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const INV_SQRT_PI = 0.5641895835477563; // 1/√π
const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)
const SQRT_2_OVER_PI = 0.7978845608028654; // √(2/π)
const GELU_KAPPA = 0.044715;

/**
 * erf(x) to ~1e-15 relative in float64.
 * |x| < 3: erf(x) = 2/√π · e^(-x²) · Σ_n 2^n x^(2n+1) / (1·3·…·(2n+1)), all terms positive, so no cancellation.
 * |x| ≥ 3: erf(x) = 1 - erfc(x), erfc from its continued fraction (modified Lentz).
 */
export function erf(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1; // erfc(6) ≈ 2e-17
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 0; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 3);
      sum += term;
      if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  const e = erfcLarge(ax);
  return x > 0 ? 1 - e : e - 1;
}

/** erfc(x) for x ≥ 3: e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))). */
function erfcLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = x + an * d;
    if (d === 0) d = tiny;
    c = x + an / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

// expFast: e^x to within 2 ulp of Math.exp in float64 (float32-rounded results agree with
// Math.exp's on 3e6 random inputs), about 2.5× faster in V8, where Math.exp costs ~13 ns a call
// and dominates softmax, cross-entropy and the sigmoid gates. The table method (as in musl):
//   x = (k/N)·ln2 + r, |r| ≤ ln2/(2N), N = 128;  e^x = 2^(k>>7) · 2^((k&127)/128) · e^r
// with e^r - 1 by its degree-6 Taylor polynomial (error ~r^7/5040 < 1e-21) and both powers of two
// from tables. k = round-to-nearest of x·N/ln2 by the 1.5·2^52 shift; ln2/N is split hi + lo
// (fdlibm's ln2_hi has 32 trailing zero bits, so kd·hi is exact). Outside (-708, 709) (results
// subnormal or overflowing, and NaN) it defers to Math.exp, so the specials are Math.exp's.
const EXP_N = 128;
const EXP_T = new Float64Array(EXP_N); // 2^(i/128)
for (let i = 0; i < EXP_N; i++) EXP_T[i] = Math.pow(2, i / EXP_N);
const EXP_POW2_BIAS = 1100;
const EXP_POW2 = new Float64Array(2 * EXP_POW2_BIAS); // 2^(e - 1100); only normal exponents are used
for (let i = 0; i < EXP_POW2.length; i++) EXP_POW2[i] = Math.pow(2, i - EXP_POW2_BIAS);
const EXP_INV_LN2N = EXP_N / Math.LN2;
const EXP_LN2N_HI = 6.9314718036912381649e-1 / EXP_N;
const EXP_LN2N_LO = 1.90821492927058770002e-10 / EXP_N;
const EXP_SHIFT = 6755399441055744; // 1.5·2^52: (z + SHIFT) - SHIFT rounds z to an integer
const EXP_C3 = 1 / 6,
  EXP_C4 = 1 / 24,
  EXP_C5 = 1 / 120,
  EXP_C6 = 1 / 720;

export function expFast(x: number): number {
  if (!(x > -708 && x < 709)) return Math.exp(x);
  const kd = x * EXP_INV_LN2N + EXP_SHIFT - EXP_SHIFT;
  const k = kd | 0;
  const r = x - kd * EXP_LN2N_HI - kd * EXP_LN2N_LO;
  const r2 = r * r;
  const p = r + r2 * (0.5 + r * EXP_C3 + r2 * (EXP_C4 + r * EXP_C5 + r2 * EXP_C6)); // e^r - 1
  const t = EXP_T[k & (EXP_N - 1)]!;
  return (t + t * p) * EXP_POW2[(k >> 7) + EXP_POW2_BIAS]!;
}

// tanhFast: tanh(x) to within 2 ulp of Math.tanh (float32-rounded results agree on 3e6 random
// inputs), ~1.8× faster. Cephes' method: |x| < 0.625, x + x³·P(x²)/Q(x²) (relative error
// ~2e-16); otherwise 1 - 2/(e^(2|x|) + 1) with expFast, and ±1 beyond 22 (as fdlibm).
// (Cephes' 21-digit coefficients, written as the doubles they round to: -9.64399179425052238628e-1 etc.)
const TANH_P0 = -0.9643991794250523,
  TANH_P1 = -99.28772310019185,
  TANH_P2 = -1614.6876844170845;
const TANH_Q0 = 112.81167849163293,
  TANH_Q1 = 2235.4883906010045,
  TANH_Q2 = 4844.063053251255;

export function tanhFast(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.625) {
    if (x === 0) return x; // keeps -0
    const z = x * x;
    return x + x * z * (((TANH_P0 * z + TANH_P1) * z + TANH_P2) / (((z + TANH_Q0) * z + TANH_Q1) * z + TANH_Q2));
  }
  if (ax > 22) return x > 0 ? 1 : -1;
  const y = 1 - 2 / (expFast(2 * ax) + 1); // NaN stays NaN
  return x < 0 ? -y : y;
}

export function sigmoid(x: number): number {
  return 1 / (1 + expFast(-x));
}

/** torch.nn.functional.gelu(x) (approximate='none') = x·Φ(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}

/** d gelu / dx = Φ(x) + x·φ(x). */
export function geluGrad(x: number): number {
  return 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** gelu(x, approximate='tanh') = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_KAPPA * x * x * x)));
}

/** torch's gelu_backward for approximate='tanh'. */
export function geluTanhGrad(x: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_KAPPA * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_KAPPA * x * x);
}

/** softplus with beta 1, threshold 20 (torch's defaults): x > 20 ? x : log1p(exp(x)). */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

export function softplusGrad(x: number): number {
  if (x > 20) return 1;
  const z = Math.exp(x);
  return z / (z + 1);
}

/** Round half to even (torch.round / nearbyint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half rounds toward +∞
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** torch.sign: (x > 0) - (x < 0), so 0 (and NaN) give 0. */
export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/** C pow semantics where they differ from Math.pow: pow(1, y) = 1 and pow(-1, ±∞) = 1. */
export function pow(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return Math.pow(a, b);
}
