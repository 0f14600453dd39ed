// Vector types and vectorised math for the streaming kernels, written once with GCC/Clang vector
// extensions and included inside a per-ISA namespace with WG_VBYTES = the register width in bytes
// (16 SSE2 / NEON, 32 AVX2, 64 AVX-512); the including file's -m flags decide the instructions.
// Everything here is a template or inline function inside that namespace (no std:: templates), so
// the AVX-compiled copies can never be picked by the linker for baseline code.
//
// Accuracy (measured by test/native/cpu-streaming.test.ts against Math.exp / Math.tanh):
//   vexp(float):  Cephes expf (Cody-Waite reduction, degree-5 polynomial), ≤ 1 ulp on
//                 [-87, 88] in float32 (scaling by 2^k in two steps, so subnormal results and
//                 overflow to +inf are right too).
//   vexp(double): fdlibm's exp (the rational Remez form), < 1 ulp; V8's Math.exp is also fdlibm.
//   vtanh:        |x| < 0.625 a polynomial (float, Cephes tanhf) or Cephes' rational (double, as
//                 the js tanhFast), else 1 - 2/(e^(2|x|) + 1).
#ifndef WG_VBYTES
#error "define WG_VBYTES before including elementwise_simd.h"
#endif
// vfd (twice the register width) crosses no ABI boundary: every function here is inline.
#pragma GCC diagnostic ignored "-Wpsabi"
// Every helper is force-inlined: no function taking or returning a vector exists out of line (so
// no ABI question, and GCC has nothing to warn about in the SSE2 unit).
#define WG_INL inline __attribute__((always_inline))

typedef float vf __attribute__((vector_size(WG_VBYTES)));
typedef double vd __attribute__((vector_size(WG_VBYTES)));
typedef int32_t vi __attribute__((vector_size(WG_VBYTES)));
typedef int64_t vl __attribute__((vector_size(WG_VBYTES)));
typedef double vfd __attribute__((vector_size(WG_VBYTES * 2)));  // vf's lanes widened to double

template <class T>
struct VT;
template <>
struct VT<float> {
  typedef vf V;
  typedef vi I;
  static const int W = WG_VBYTES / 4;
};
template <>
struct VT<double> {
  typedef vd V;
  typedef vl I;
  static const int W = WG_VBYTES / 8;
};

template <class V, class T>
WG_INL V Load(const T* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T>
WG_INL void Store(T* p, V v) {
  __builtin_memcpy(p, &v, sizeof v);
}
// The first n (< W) lanes from p, the rest `fill`.
template <class V, class T>
WG_INL V LoadPart(const T* p, int64_t n, T fill) {
  V v;
  for (int i = 0; i < int(sizeof(V) / sizeof(T)); i++) v[i] = i < n ? p[i] : fill;
  return v;
}
template <class V, class T>
WG_INL void StorePart(T* p, V v, int64_t n) {
  for (int64_t i = 0; i < n; i++) p[i] = v[i];
}
template <class V, class T>
WG_INL V Set(T x) {
  V v;
  for (int i = 0; i < int(sizeof(V) / sizeof(T)); i++) v[i] = x;
  return v;
}

// The element type of a vector type, and its integer mask type.
template <class V>
struct ElemOf;
template <>
struct ElemOf<vf> {
  typedef float T;
  typedef vi I;
};
template <>
struct ElemOf<vd> {
  typedef double T;
  typedef vl I;
};

// Math.max / Math.min lane-wise: NaN if either is NaN, max(+0, -0) = +0, min(+0, -0) = -0.
template <class V>
WG_INL V MaxJs(V a, V b) {
  typedef typename ElemOf<V>::I I;
  V eqv = (V)((I)a & (I)b);  // equal values (the zeros: +0 unless both are -0)
  return a > b ? a : (b > a ? b : (a == b ? eqv : a + b));
}
template <class V>
WG_INL V MinJs(V a, V b) {
  typedef typename ElemOf<V>::I I;
  V eqv = (V)((I)a | (I)b);
  return a < b ? a : (b < a ? b : (a == b ? eqv : a + b));
}

template <class V>
WG_INL V Abs(V x) {
  typedef typename ElemOf<V>::I I;
  return (V)((I)x & ~(I)Set<V>(typename ElemOf<V>::T(-0.0)));
}

// 1 or 0 in the float type from an integer mask.
template <class V, class I>
WG_INL V OneIf(I m) {
  return (V)(m & (I)Set<V>(typename ElemOf<V>::T(1)));
}

WG_INL vf Exp(vf x) {
  const vf hiC = Set<vf>(89.0f), loC = Set<vf>(-104.0f);
  x = x > hiC ? hiC : x;  // comparisons are false for NaN: it passes through
  x = x < loC ? loC : x;
  const vf shift = Set<vf>(12582912.0f);  // 1.5·2^23: (t + shift) - shift rounds t to an integer
  vf kf = (x * Set<vf>(1.44269504088896341f) + shift) - shift;
  vf r = x - kf * Set<vf>(0.693359375f);
  r = r - kf * Set<vf>(-2.12194440e-4f);
  vf p = Set<vf>(1.9875691500E-4f);
  p = p * r + Set<vf>(1.3981999507E-3f);
  p = p * r + Set<vf>(8.3334519073E-3f);
  p = p * r + Set<vf>(4.1665795894E-2f);
  p = p * r + Set<vf>(1.6666665459E-1f);
  p = p * r + Set<vf>(5.0000001201E-1f);
  vf y = p * (r * r) + r + Set<vf>(1.0f);
  // 2^k in two halves (k in [-150, 129], each half a normal float)
  vi k = __builtin_convertvector(kf, vi);
  vi k1 = k >> 1, k2 = k - k1;
  vf s1 = (vf)((k1 + 127) << 23), s2 = (vf)((k2 + 127) << 23);
  return y * s1 * s2;
}

WG_INL vd Exp(vd x) {
  const vd hiC = Set<vd>(710.0), loC = Set<vd>(-746.0);
  x = x > hiC ? hiC : x;
  x = x < loC ? loC : x;
  const vd shift = Set<vd>(6755399441055744.0);  // 1.5·2^52
  vd kd = (x * Set<vd>(1.44269504088896338700e+00) + shift) - shift;
  vd hi = x - kd * Set<vd>(6.93147180369123816490e-01);
  vd lo = kd * Set<vd>(1.90821492927058770002e-10);
  vd r = hi - lo;
  vd t = r * r;
  vd c = r - t * (Set<vd>(1.66666666666666019037e-01) +
                  t * (Set<vd>(-2.77777777770155933842e-03) +
                       t * (Set<vd>(6.61375632143793436117e-05) +
                            t * (Set<vd>(-1.65339022054652515390e-06) + t * Set<vd>(4.13813679705723846039e-08)))));
  vd y = Set<vd>(1.0) - ((lo - (r * c) / (Set<vd>(2.0) - c)) - hi);
  // 2^k in two halves (k in [-1076, 1025]); the halves are split in floating point and their
  // integer read from the shifted sum's low bits (no 64-bit converts or arithmetic shifts: SSE2/AVX2)
  vd k1 = (kd * Set<vd>(0.5) + shift) - shift;
  vd k2 = kd - k1;
  const vl sb = (vl)shift;
  vl i1 = (vl)(k1 + shift) - sb, i2 = (vl)(k2 + shift) - sb;
  vd s1 = (vd)((i1 + 1023) << 52), s2 = (vd)((i2 + 1023) << 52);
  return y * s1 * s2;
}

WG_INL vf Tanh(vf x) {
  vf ax = Abs(x);
  vf z = x * x;
  vf p = Set<vf>(-5.70498872745E-3f);
  p = p * z + Set<vf>(2.06390887954E-2f);
  p = p * z + Set<vf>(-5.37397155531E-2f);
  p = p * z + Set<vf>(1.33314422036E-1f);
  p = p * z + Set<vf>(-3.33332819422E-1f);
  vf small = p * z * x + x;
  small = x == Set<vf>(0.0f) ? x : small;  // keeps -0
  vf big = Set<vf>(1.0f) - Set<vf>(2.0f) / (Exp(ax + ax) + Set<vf>(1.0f));
  big = x < Set<vf>(0.0f) ? -big : big;
  return ax < Set<vf>(0.625f) ? small : big;
}

WG_INL vd Tanh(vd x) {
  vd ax = Abs(x);
  vd z = x * x;
  vd num = (Set<vd>(-0.9643991794250523) * z + Set<vd>(-99.28772310019185)) * z + Set<vd>(-1614.6876844170845);
  vd den = ((z + Set<vd>(112.81167849163293)) * z + Set<vd>(2235.4883906010045)) * z + Set<vd>(4844.063053251255);
  vd small = x + x * z * (num / den);
  small = x == Set<vd>(0.0) ? x : small;
  vd big = Set<vd>(1.0) - Set<vd>(2.0) / (Exp(ax + ax) + Set<vd>(1.0));
  big = ax > Set<vd>(22.0) ? Set<vd>(1.0) : big;
  big = x < Set<vd>(0.0) ? -big : big;
  return ax < Set<vd>(0.625) ? small : big;
}

template <class V>
WG_INL V Sigmoid(V x) {
  typedef typename ElemOf<V>::T T;
  return Set<V>(T(1)) / (Set<V>(T(1)) + Exp(-x));
}

// Σ of the lanes in a fixed order (pairwise), in double.
template <class V>
WG_INL double HsumD(V v) {
  const int W = int(sizeof(V) / sizeof(v[0]));
  double t[W];
  for (int i = 0; i < W; i++) t[i] = double(v[i]);
  for (int w = W / 2; w >= 1; w /= 2)
    for (int i = 0; i < w; i++) t[i] += t[i + w];
  return t[0];
}

// x widened to double lanes (float: vfd; double: itself).
WG_INL vfd Wide(vf x) { return __builtin_convertvector(x, vfd); }
WG_INL vd Wide(vd x) { return x; }
template <class T>
struct WideT;
template <>
struct WideT<float> {
  typedef vfd V;
};
template <>
struct WideT<double> {
  typedef vd V;
};
