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

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
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
