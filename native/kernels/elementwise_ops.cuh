// The scalar math of the elementwise kernels (elementwise.cu): UnaryOp, UnaryGradOp, BinaryOp,
// ActOp in Acc<T>, and the int32 rules that follow the js backend exactly (UnaryT / BinaryT).
// Device functions only, so test/native/tc-emu compiles this same source on the host and checks
// the int32 results against the js kernels (test/native/int32-semantics.test.ts).
#pragma once

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename A>
__device__ __forceinline__ A Erf(A x);
template <>
__device__ __forceinline__ float Erf(float x) {
  return erff(x);
}
template <>
__device__ __forceinline__ double Erf(double x) {
  return erf(x);
}

// op(x; a, b) in A. Names and semantics: lib/backend/kernels.ts UnaryOp.
template <typename A>
__device__ __forceinline__ A UnaryOp(int op, A x, A a, A b) {
  const A one = A(1), zero = A(0);
  switch (static_cast<Unary>(op)) {
    case Unary::neg: return -x;
    case Unary::abs: return fabs(x);
    case Unary::sign: return x > zero ? one : (x < zero ? -one : zero);  // js/torch: 0 (and NaN) give 0
    case Unary::exp: return exp(x);
    case Unary::expm1: return expm1(x);
    case Unary::log: return log(x);
    case Unary::log1p: return log1p(x);
    case Unary::sqrt: return sqrt(x);
    case Unary::rsqrt: return one / sqrt(x);
    case Unary::square: return x * x;
    case Unary::reciprocal: return one / x;
    case Unary::sin: return sin(x);
    case Unary::cos: return cos(x);
    case Unary::floor: return floor(x);
    case Unary::ceil: return ceil(x);
    case Unary::round: return rint(x);  // half to even, like torch.round
    case Unary::tanh: return tanh(x);
    case Unary::sigmoid: return Sigmoid(x);
    case Unary::relu: return x < zero ? zero : x;
    case Unary::gelu: return A(0.5) * x * (one + Erf(x * A(0.70710678118654752440)));
    case Unary::gelu_tanh: {
      const A k0 = A(0.79788456080286535588), k1 = A(0.044715);
      return A(0.5) * x * (one + tanh(k0 * (x + k1 * x * x * x)));
    }
    case Unary::silu: return x * Sigmoid(x);
    case Unary::softplus: return x > A(20) ? x : log1p(exp(x));  // torch: beta 1, threshold 20
    case Unary::leaky_relu: return x > zero ? x : a * x;
    case Unary::elu: return x > zero ? x : a * expm1(x);
    case Unary::clamp: {  // min(max(x, a), b): b wins when a > b; NaN passes through
      const A t = x < a ? a : x;
      return t > b ? b : t;
    }
    case Unary::add_scalar: return x + a;
    case Unary::mul_scalar: return x * a;
    case Unary::rsub_scalar: return a - x;
    case Unary::rdiv_scalar: return a / x;
    case Unary::pow_scalar: return pow(x, a);
    case Unary::rpow_scalar: return pow(a, x);
    case Unary::gt_scalar: return x > a ? one : zero;
    case Unary::lt_scalar: return x < a ? one : zero;
    case Unary::ge_scalar: return x >= a ? one : zero;
    case Unary::le_scalar: return x <= a ? one : zero;
    case Unary::eq_scalar: return x == a ? one : zero;
    case Unary::ne_scalar: return x != a ? one : zero;
    default: return x;
  }
}

// dy * f'(x), with y = f(x) where cheaper. Backward next to the forward above.
template <typename A>
__device__ __forceinline__ A UnaryGradOp(int op, A x, A y, A dy, A a, A b) {
  const A one = A(1), zero = A(0);
  switch (static_cast<UnaryGrad>(op)) {
    case UnaryGrad::relu: return x > zero ? dy : zero;
    case UnaryGrad::gelu: {  // Φ(x) + x φ(x)
      const A cdf = A(0.5) * (one + Erf(x * A(0.70710678118654752440)));
      const A pdf = A(0.39894228040143267794) * exp(A(-0.5) * x * x);
      return dy * (cdf + x * pdf);
    }
    case UnaryGrad::gelu_tanh: {
      const A k0 = A(0.79788456080286535588), k1 = A(0.044715);
      const A inner = k0 * (x + k1 * x * x * x);
      const A t = tanh(inner);
      const A dinner = k0 * (one + A(3) * k1 * x * x);
      return dy * (A(0.5) * (one + t) + A(0.5) * x * (one - t * t) * dinner);
    }
    case UnaryGrad::silu: {
      const A s = Sigmoid(x);
      return dy * s * (one + x * (one - s));
    }
    case UnaryGrad::tanh: return dy * (one - y * y);
    case UnaryGrad::sigmoid: return dy * y * (one - y);
    case UnaryGrad::softplus: return x > A(20) ? dy : dy * Sigmoid(x);
    case UnaryGrad::leaky_relu: return x > zero ? dy : dy * a;
    case UnaryGrad::elu: return x > zero ? dy : dy * a * exp(x);
    case UnaryGrad::clamp: return (x >= a && x <= b) ? dy : zero;
    case UnaryGrad::abs: return x > zero ? dy : (x < zero ? -dy : zero);
    default: return dy;
  }
}

template <typename A>
__device__ __forceinline__ A BinaryOp(int op, A x, A y) {
  const A one = A(1), zero = A(0);
  switch (static_cast<Binary>(op)) {
    case Binary::add: return x + y;
    case Binary::sub: return x - y;
    case Binary::mul: return x * y;
    case Binary::div: return x / y;
    case Binary::pow: return pow(x, y);
    case Binary::maximum: return (x != x || y != y) ? x + y : (x > y ? x : y);  // NaN propagates
    case Binary::minimum: return (x != x || y != y) ? x + y : (x < y ? x : y);
    case Binary::eq: return x == y ? one : zero;
    case Binary::ne: return x != y ? one : zero;
    case Binary::lt: return x < y ? one : zero;
    case Binary::le: return x <= y ? one : zero;
    case Binary::gt: return x > y ? one : zero;
    case Binary::ge: return x >= y ? one : zero;
    default: return x;
  }
}

// ---- int32: the js backend's semantics ------------------------------------------------------------
// The js backend computes in float64 and stores into an Int32Array (ToInt32: truncate, wrap modulo
// 2^32, NaN/±inf → 0); binary mul is Math.imul. Here in integer arithmetic where the op is integer
// (add/sub/mul wrap, div truncates with x/0 → 0 and INT_MIN/−1 → INT_MIN, which is what
// Math.trunc(x / y) stored as int32 gives), and JsToInt32 of the float64 result otherwise.

// Bit length of x (0 for 0), by halving: plain shifts and compares.
__device__ __forceinline__ int BitLength(uint64_t x) {
  int n = 0;
  for (int s = 32; s > 0; s >>= 1) {
    if (x >> s) {
      x >>= s;
      n += s;
    }
  }
  return n + static_cast<int>(x);
}

// Whether an integer-valued y is odd, from its float64 bits (±inf and |y| >= 2^53 are even).
__device__ __forceinline__ bool IsOddInteger(double y) {
  uint64_t b;
  memcpy(&b, &y, sizeof b);
  const int e = static_cast<int>((b >> 52) & 0x7ff) - 1075;  // y = ±m·2^e
  if (e > 0 || e < -52) return false;                        // even, or |y| < 1 (0 for an integer)
  const uint64_t m = (b & 0xFFFFFFFFFFFFFull) | (1ull << 52);
  return ((m >> -e) & 1) != 0;
}

// ToInt32(Math.pow(x, y)) for an integer-valued (or infinite) y, exactly: the float64 result is
// round-to-nearest of the exact power, so the power is formed in 128 bits, rounded to 53 bits and
// reduced mod 2^32. A power >= 2^84 rounds to a multiple of 2^32 (or overflows to inf): 0.
// Integer arithmetic only (no fmod/__umul64hi/clz library paths and no 64-bit float→int convert,
// so GPGPU-Sim runs it too).
__device__ __forceinline__ int IntPowJs(int x, double y) {
  if (y == 0 || x == 1) return 1;
  const bool odd = IsOddInteger(y);
  if (x == 0) return 0;  // 0^y: 0, or inf for y < 0 → 0
  if (x == -1) return odd ? -1 : 1;
  if (y < 0 || y >= 84) return 0;  // |x| >= 2: |x^y| < 1 (truncates to 0) or >= 2^84
  const uint64_t ax = x < 0 ? 0ull - static_cast<uint64_t>(static_cast<int64_t>(x)) : static_cast<uint64_t>(x);
  uint64_t hi = 0, lo = 1;  // the power so far, hi·2^64 + lo (< 2^84)
  for (int i = 0, e = static_cast<int>(y); i < e; ++i) {
    // (hi, lo) · ax with ax < 2^32: lo = l1·2^32 + l0
    const uint64_t p0 = (lo & 0xFFFFFFFFull) * ax, p1 = (lo >> 32) * ax;
    const uint64_t nlo = p0 + (p1 << 32);
    hi = hi * ax + (p1 >> 32) + (nlo < p0 ? 1 : 0);
    lo = nlo;
    if (hi >= (1ull << 20)) return 0;  // >= 2^84
  }
  const int bits = hi != 0 ? 64 + BitLength(hi) : BitLength(lo);
  uint32_t r;
  if (bits <= 53) {
    r = static_cast<uint32_t>(lo);
  } else {                     // round to 53 significant bits, half to even
    const int sh = bits - 53;  // 1..31
    uint64_t m = (hi << (64 - sh)) | (lo >> sh);
    const uint64_t rem = lo & ((1ull << sh) - 1), half = 1ull << (sh - 1);
    if (rem > half || (rem == half && (m & 1))) ++m;
    r = static_cast<uint32_t>(m << sh);
  }
  if (x < 0 && odd) r = 0u - r;
  return static_cast<int>(r);
}

__device__ __forceinline__ int IntBinaryOp(int op, int x, int y) {
  const uint32_t ux = static_cast<uint32_t>(x), uy = static_cast<uint32_t>(y);
  switch (static_cast<Binary>(op)) {
    case Binary::add: return static_cast<int>(ux + uy);
    case Binary::sub: return static_cast<int>(ux - uy);
    case Binary::mul: return static_cast<int>(ux * uy);
    case Binary::div:
      if (y == 0) return 0;
      if (x == INT32_MIN && y == -1) return INT32_MIN;
      return x / y;
    case Binary::pow: return IntPowJs(x, static_cast<double>(y));
    case Binary::maximum: return x > y ? x : y;
    case Binary::minimum: return x < y ? x : y;
    case Binary::eq: return x == y;
    case Binary::ne: return x != y;
    case Binary::lt: return x < y;
    case Binary::le: return x <= y;
    case Binary::gt: return x > y;
    case Binary::ge: return x >= y;
    default: return x;
  }
}

// out = op(x, y) in T: Acc<T> math rounded once, or the int32 rules above.
template <typename T>
__device__ __forceinline__ T BinaryT(int op, T x, T y) {
  return FromF<T>(BinaryOp<Acc<T>>(op, ToF(x), ToF(y)));
}
template <>
__device__ __forceinline__ int BinaryT<int>(int op, int x, int y) {
  return IntBinaryOp(op, x, y);
}

template <typename T>
__device__ __forceinline__ T UnaryT(int op, T x, Acc<T> a, Acc<T> b) {
  return FromF<T>(UnaryOp<Acc<T>>(op, ToF(x), a, b));
}
template <>
__device__ __forceinline__ int UnaryT<int>(int op, int x, double a, double b) {
  if (static_cast<Unary>(op) == Unary::pow_scalar && a == trunc(a)) return IntPowJs(x, a);
  if (static_cast<Unary>(op) == Unary::clamp && (a != a || b != b)) return 0;  // Math.min/max with NaN
  return JsToInt32(UnaryOp<double>(op, static_cast<double>(x), a, b));
}

template <typename A>
__device__ __forceinline__ A ActOp(int act, A x) {
  switch (static_cast<Act>(act)) {
    case Act::relu: return x < A(0) ? A(0) : x;
    case Act::gelu: return A(0.5) * x * (A(1) + Erf(x * A(0.70710678118654752440)));
    case Act::tanh: return tanh(x);
    case Act::sigmoid: return Sigmoid(x);
    default: return x;
  }
}

}  // namespace
}  // namespace k
}  // namespace wg
