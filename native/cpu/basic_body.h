// The row functions of the 'basic' kernels (basic.h), written once with GCC/Clang vector
// extensions and included inside a per-ISA namespace with WG_BVBYTES = the register width in bytes
// (16 SSE2 / NEON, 32 AVX2, 64 AVX-512), WG_BANY(mask) = "some lane of this integer mask vector
// is set" and, above 16 bytes, WG_BANY16 for 16-byte masks; the including file's -m flags decide the instructions.
// Everything is static or a template inside that namespace, so no AVX-compiled copy can stand in for baseline code.
//
// Semantics are the js kernels' (lib/backend/js/elementwise.ts, reduce.ts) to the bit:
//   argmax / argmin: the first index of the extremum; a NaN counts as the extremum, so the first
//     NaN wins (the js loop stops at it). ±0 compare equal (the first of them wins).
//   cast: float -> int32 is ToInt32(trunc(x)) (wraps modulo 2^32, NaN / ±inf -> 0); to float32
//     rounds to nearest even (as a Float32Array store); everything else is exact.
//   where: cond != 0 (NaN is true, -0 false).
#ifndef WG_BVBYTES
#error "define WG_BVBYTES and WG_BANY before including basic_body.h"
#endif
#pragma GCC diagnostic ignored "-Wpsabi"
#define WG_BINL inline __attribute__((always_inline))

typedef float bvf __attribute__((vector_size(WG_BVBYTES)));
typedef double bvd __attribute__((vector_size(WG_BVBYTES)));
typedef int32_t bvi __attribute__((vector_size(WG_BVBYTES)));
typedef int64_t bvl __attribute__((vector_size(WG_BVBYTES)));

template <class T>
struct BV;
template <>
struct BV<float> {
  typedef bvf V;
  typedef bvi M;      // the comparison mask / index vector: integers as wide as T
  typedef int32_t I;  // M's lane
};
template <>
struct BV<double> {
  typedef bvd V;
  typedef bvl M;
  typedef int64_t I;
};
template <>
struct BV<int32_t> {
  typedef bvi V;
  typedef bvi M;
  typedef int32_t I;
};

// 16-byte vectors beside the full width, for rows too short for it (the SSE2 unit has only these)
#if WG_BVBYTES > 16
typedef float bhf __attribute__((vector_size(16)));
typedef double bhd __attribute__((vector_size(16)));
typedef int32_t bhi __attribute__((vector_size(16)));
typedef int64_t bhl __attribute__((vector_size(16)));
template <class T>
struct BH;
template <>
struct BH<float> {
  typedef bhf V;
  typedef bhi M;
};
template <>
struct BH<double> {
  typedef bhd V;
  typedef bhl M;
};
template <>
struct BH<int32_t> {
  typedef bhi V;
  typedef bhi M;
};
static WG_BINL bool AnyMask(bhi m) { return WG_BANY16(m); }
static WG_BINL bool AnyMask(bhl m) { return WG_BANY16(m); }
#else
template <class T>
struct BH : BV<T> {};
#endif
static WG_BINL bool AnyMask(bvi m) { return WG_BANY(m); }
static WG_BINL bool AnyMask(bvl m) { return WG_BANY(m); }

template <class V, class T>
static WG_BINL V BLoad(const T* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// ToInt32 of ECMAScript (what an Int32Array store does): truncate toward zero, wrap modulo 2^32;
// NaN and ±inf give 0.
static WG_BINL int32_t ToInt32(double d) {
  if (d > -2147483649.0 && d < 2147483648.0) return int32_t(d);  // truncates; the common case
  if (!(d - d == 0)) return 0;                                   // NaN, ±inf
  double m = __builtin_fmod(__builtin_trunc(d), 4294967296.0);   // exact; sign of d
  if (m < 0) m += 4294967296.0;                                  // [0, 2^32), exact
  return int32_t(uint32_t(m));
}

// ---- argmax / argmin --------------------------------------------------------------------------

// The js loop's answer (first index of the extremum; the first NaN once one is met), branch-free:
// a row of random values mispredicts the js loop's branch at every new extremum.
template <bool Min, class T>
static int64_t ArgRowScalar(const T* x, int64_t n, int64_t stride = 1) {
  T best = x[0];
  int64_t bi = 0;
  for (int64_t j = 1; j < n; j++) {
    const T v = x[j * stride];
    const bool take = (Min ? v < best : v > best) | ((v != v) & (best == best));
    best = take ? v : best;
    bi = take ? j : bi;
  }
  return bi;
}

// Two passes over a contiguous row: the extremum (and whether there is a NaN) with vectors, then
// the first index holding it (or the first NaN), which exits early.
template <bool Min, class T, class Tr = BV<T>>
static int64_t ArgRowT(const T* x, int64_t n) {
  typedef typename Tr::V V;
  typedef typename Tr::M M;
  const int W = int(sizeof(V) / sizeof(T));
  if (n < 2 * W) return ArgRowScalar<Min>(x, n);
  V m0 = BLoad<V>(x), m1 = BLoad<V>(x + W);
  M nan = (m0 != m0) | (m1 != m1);
  int64_t j = 2 * W;
  for (; j + 2 * W <= n; j += 2 * W) {
    const V v0 = BLoad<V>(x + j), v1 = BLoad<V>(x + j + W);
    nan |= (v0 != v0) | (v1 != v1);
    m0 = Min ? (v0 < m0 ? v0 : m0) : (v0 > m0 ? v0 : m0);
    m1 = Min ? (v1 < m1 ? v1 : m1) : (v1 > m1 ? v1 : m1);
  }
  if (j + W <= n) {
    const V v0 = BLoad<V>(x + j);
    nan |= v0 != v0;
    m0 = Min ? (v0 < m0 ? v0 : m0) : (v0 > m0 ? v0 : m0);
    j += W;
  }
  bool hasNan = AnyMask(nan);
  T best = m0[0];
  for (int k = 0; k < W; k++) {
    const T a = m0[k], b = m1[k];
    if (Min ? a < best : a > best) best = a;
    if (Min ? b < best : b > best) best = b;
  }
  for (int64_t i = j; i < n; i++) {
    const T v = x[i];
    if (v != v) hasNan = true;
    else if (Min ? v < best : v > best) best = v;
  }
  if (hasNan) {
    for (int64_t i = 0;; i++)
      if (x[i] != x[i]) return i;
  }
  const V bv = V{} + best;  // broadcast
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    if (AnyMask(BLoad<V>(x + i) == bv)) break;
  }
  for (;; i++)
    if (x[i] == best) return i;
}

template <class T>
static int64_t ArgRow(const void* x, int64_t n, bool argmin) {
  const T* p = static_cast<const T*>(x);
  return argmin ? ArgRowT<true>(p, n) : ArgRowT<false>(p, n);
}

// out[o] for `rows` contiguous rows of r: short rows four at a time (independent dependency
// chains: one row's compare-select chain is the scalar loop's bound), long ones by ArgRowT.
template <bool Min, class T>
static void ArgRowsT(const T* x, int32_t* out, int64_t rows, int64_t r) {
  typedef typename BV<T>::V V;
  const int W = int(sizeof(V) / sizeof(T));
  int64_t o = 0;
#if WG_BVBYTES > 16
  if (r < 2 * W && r >= int64_t(32 / sizeof(T))) {  // two 16-byte vectors fit
    for (; o < rows; o++) out[o] = int32_t(ArgRowT<Min, T, BH<T>>(x + o * r, r));
    return;
  }
#endif
  if (r < 2 * W) {
    for (; o + 4 <= rows; o += 4) {
      const T* x0 = x + o * r;
      const T* x1 = x0 + r;
      const T* x2 = x1 + r;
      const T* x3 = x2 + r;
      T b0 = x0[0], b1 = x1[0], b2 = x2[0], b3 = x3[0];
      int64_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
      for (int64_t j = 1; j < r; j++) {
        const T v0 = x0[j], v1 = x1[j], v2 = x2[j], v3 = x3[j];
        const bool t0 = (Min ? v0 < b0 : v0 > b0) | ((v0 != v0) & (b0 == b0));
        const bool t1 = (Min ? v1 < b1 : v1 > b1) | ((v1 != v1) & (b1 == b1));
        const bool t2 = (Min ? v2 < b2 : v2 > b2) | ((v2 != v2) & (b2 == b2));
        const bool t3 = (Min ? v3 < b3 : v3 > b3) | ((v3 != v3) & (b3 == b3));
        b0 = t0 ? v0 : b0;
        i0 = t0 ? j : i0;
        b1 = t1 ? v1 : b1;
        i1 = t1 ? j : i1;
        b2 = t2 ? v2 : b2;
        i2 = t2 ? j : i2;
        b3 = t3 ? v3 : b3;
        i3 = t3 ? j : i3;
      }
      out[o] = int32_t(i0);
      out[o + 1] = int32_t(i1);
      out[o + 2] = int32_t(i2);
      out[o + 3] = int32_t(i3);
    }
  }
  for (; o < rows; o++) out[o] = int32_t(ArgRowT<Min>(x + o * r, r));
}

template <class T>
static void ArgRows(const void* x, int32_t* out, int64_t rows, int64_t r, bool argmin) {
  const T* p = static_cast<const T*>(x);
  if (argmin) ArgRowsT<true>(p, out, rows, r);
  else ArgRowsT<false>(p, out, rows, r);
}

// Columns [i0, i1) of an (r, inner) block, W columns per vector: per lane the js rule (take v when
// it beats the best, or when it is a NaN and the best is not yet one).
template <bool Min, class T>
static void ArgColsT(const T* x, int32_t* out, int64_t r, int64_t inner, int64_t i0, int64_t i1) {
  typedef typename BV<T>::V V;
  typedef typename BV<T>::M M;
  typedef typename BV<T>::I Mi;
  const int W = int(sizeof(V) / sizeof(T));
  int64_t i = i0;
  for (; i + 2 * W <= i1; i += 2 * W) {
    V b0 = BLoad<V>(x + i), b1 = BLoad<V>(x + i + W);
    M k0 = M{}, k1 = M{};
    for (int64_t j = 1; j < r; j++) {
      const T* row = x + j * inner + i;
      const V v0 = BLoad<V>(row), v1 = BLoad<V>(row + W);
      const M t0 = (Min ? v0 < b0 : v0 > b0) | ((v0 != v0) & (b0 == b0));
      const M t1 = (Min ? v1 < b1 : v1 > b1) | ((v1 != v1) & (b1 == b1));
      const M jv = Mi(j) - M{};
      b0 = t0 ? v0 : b0;
      b1 = t1 ? v1 : b1;
      k0 = t0 ? jv : k0;
      k1 = t1 ? jv : k1;
    }
    for (int k = 0; k < W; k++) {
      out[i - i0 + k] = int32_t(k0[k]);
      out[i - i0 + W + k] = int32_t(k1[k]);
    }
  }
  for (; i + W <= i1; i += W) {
    V b0 = BLoad<V>(x + i);
    M k0 = M{};
    for (int64_t j = 1; j < r; j++) {
      const V v0 = BLoad<V>(x + j * inner + i);
      const M t0 = (Min ? v0 < b0 : v0 > b0) | ((v0 != v0) & (b0 == b0));
      b0 = t0 ? v0 : b0;
      k0 = t0 ? Mi(j) - M{} : k0;
    }
    for (int k = 0; k < W; k++) out[i - i0 + k] = int32_t(k0[k]);
  }
  for (; i < i1; i++) out[i - i0] = int32_t(ArgRowScalar<Min>(x + i, r, inner));
}

template <class T>
static void ArgCols(const void* x, int32_t* out, int64_t r, int64_t inner, int64_t i0, int64_t i1, bool argmin) {
  const T* p = static_cast<const T*>(x);
  if (argmin) ArgColsT<true>(p, out, r, inner, i0, i1);
  else ArgColsT<false>(p, out, r, inner, i0, i1);
}

// ---- cast -------------------------------------------------------------------------------------

template <class S, class D>
static void Convert(const S* __restrict x, D* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = D(x[i]);
}

// float -> int32: blocks whose elements all lie in int32 range convert with the truncating
// instruction (vectorised); a block with one outside goes through ToInt32 element by element.
template <class S>
static void ToInt(const S* __restrict x, int32_t* __restrict o, int64_t n) {
  const int64_t B = 256;
  for (int64_t i0 = 0; i0 < n; i0 += B) {
    const int64_t len = n - i0 < B ? n - i0 : B;
    const S* xs = x + i0;
    int32_t* os = o + i0;
    int ok = 1;
    for (int64_t i = 0; i < len; i++) ok &= int(xs[i] > S(-2147483649.0)) & int(xs[i] < S(2147483648.0));
    const int bad = !ok;
    if (!bad) {
      for (int64_t i = 0; i < len; i++) os[i] = int32_t(xs[i]);
    } else {
      for (int64_t i = 0; i < len; i++) os[i] = ToInt32(double(xs[i]));
    }
  }
}

static void Cast(const void* x, int from, void* out, int to, int64_t n) {
  const size_t size = from == 1 ? 8 : 4;
  if (from == to) {
    __builtin_memcpy(out, x, size_t(n) * size);
    return;
  }
  const float* xf = static_cast<const float*>(x);
  const double* xd = static_cast<const double*>(x);
  const int32_t* xi = static_cast<const int32_t*>(x);
  float* of = static_cast<float*>(out);
  double* od = static_cast<double*>(out);
  int32_t* oi = static_cast<int32_t*>(out);
  switch (from * 3 + to) {
    case 0 * 3 + 1: Convert(xf, od, n); break;
    case 0 * 3 + 2: ToInt(xf, oi, n); break;
    case 1 * 3 + 0: Convert(xd, of, n); break;
    case 1 * 3 + 2: ToInt(xd, oi, n); break;
    case 2 * 3 + 0: Convert(xi, of, n); break;
    case 2 * 3 + 1: Convert(xi, od, n); break;
    default: break;
  }
}

// ---- where ------------------------------------------------------------------------------------

template <class C, class T>
static void WhereRow(const void* cv, int64_t sc, const void* av, int64_t sa, const void* bv, int64_t sb, void* ov,
                     int64_t len) {
  const C* __restrict c = static_cast<const C*>(cv);
  const T* __restrict a = static_cast<const T*>(av);
  const T* __restrict b = static_cast<const T*>(bv);
  T* __restrict o = static_cast<T*>(ov);
  if (sc == 1 && sa == 1 && sb == 1) {
    for (int64_t j = 0; j < len; j++) o[j] = c[j] != C(0) ? a[j] : b[j];
  } else if (sc == 1 && sa == 1 && sb == 0) {
    const T y = b[0];
    for (int64_t j = 0; j < len; j++) o[j] = c[j] != C(0) ? a[j] : y;
  } else if (sc == 1 && sa == 0 && sb == 1) {
    const T x = a[0];
    for (int64_t j = 0; j < len; j++) o[j] = c[j] != C(0) ? x : b[j];
  } else if (sc == 1 && sa == 0 && sb == 0) {
    const T x = a[0], y = b[0];
    for (int64_t j = 0; j < len; j++) o[j] = c[j] != C(0) ? x : y;
  } else {
    for (int64_t j = 0; j < len; j++) o[j] = c[j * sc] != C(0) ? a[j * sa] : b[j * sb];
  }
}

#define WG_BASIC_TABLE(name, isaName)                                                      \
  const Ops name = {                                                                       \
      isaName,                                                                             \
      Cast,                                                                                \
      {ArgRow<float>, ArgRow<double>, ArgRow<int32_t>},                                    \
      {ArgRows<float>, ArgRows<double>, ArgRows<int32_t>},                                 \
      {ArgCols<float>, ArgCols<double>, ArgCols<int32_t>},                                 \
      {{WhereRow<float, float>, WhereRow<float, double>, WhereRow<float, int32_t>},        \
       {WhereRow<double, float>, WhereRow<double, double>, WhereRow<double, int32_t>},     \
       {WhereRow<int32_t, float>, WhereRow<int32_t, double>, WhereRow<int32_t, int32_t>}}, \
  }
