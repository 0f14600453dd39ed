// The recurrent gate kernels, written once over lane traits and included inside each ISA's own
// namespace (rnn.cc, rnn_avx2.cc, rnn_avx512.cc), so no AVX copy stands in for the baseline one at
// link time. Requires before inclusion: VF, float lanes with W, R, ld, st, set1, add, sub, mul,
// fma (a·b + c), div, min, max, round (to nearest, as float), pow2i (2^n for integral float n),
// gt0sel (h > 0 ? v : 0). The float math: exp by Cephes' range reduction and degree-6
// polynomial (≤ 2 ulp on [-87, 88]), tanh by Eigen's 13/6 rational (≤ 3 ulp), sigmoid = 1/(1 + e^-x);
// float tails run the same math one lane at a time. float64 calls the C library's exp and tanh.

template <class X>
static inline typename X::R PolyExp(typename X::R x) {
  typedef typename X::R R;
  x = X::min(X::max(x, X::set1(-87.33654f)), X::set1(88.37626f));
  R n = X::round(X::mul(x, X::set1(1.44269504088896341f)));
  R r = X::fma(n, X::set1(-0.693359375f), x);  // x - n·ln2 in two parts (Cody-Waite)
  r = X::fma(n, X::set1(2.12194440e-4f), r);
  R p = X::set1(1.9875691500E-4f);
  p = X::fma(p, r, X::set1(1.3981999507E-3f));
  p = X::fma(p, r, X::set1(8.3334519073E-3f));
  p = X::fma(p, r, X::set1(4.1665795894E-2f));
  p = X::fma(p, r, X::set1(1.6666665459E-1f));
  p = X::fma(p, r, X::set1(5.0000001201E-1f));
  p = X::fma(p, X::mul(r, r), X::add(r, X::set1(1.0f)));
  return X::mul(p, X::pow2i(n));
}

template <class X>
static inline typename X::R RationalTanh(typename X::R x) {
  typedef typename X::R R;
  x = X::min(X::max(x, X::set1(-7.90531110763549805f)), X::set1(7.90531110763549805f));
  R x2 = X::mul(x, x);
  R p = X::set1(-2.76076847742355e-16f);
  p = X::fma(p, x2, X::set1(2.00018790482477e-13f));
  p = X::fma(p, x2, X::set1(-8.60467152213735e-11f));
  p = X::fma(p, x2, X::set1(5.12229709037114e-08f));
  p = X::fma(p, x2, X::set1(1.48572235717979e-05f));
  p = X::fma(p, x2, X::set1(6.37261928875436e-04f));
  p = X::fma(p, x2, X::set1(4.89352455891786e-03f));
  p = X::mul(p, x);
  R q = X::set1(1.19825839466702e-06f);
  q = X::fma(q, x2, X::set1(1.18534705686654e-04f));
  q = X::fma(q, x2, X::set1(2.26843463243900e-03f));
  q = X::fma(q, x2, X::set1(4.89352518554385e-03f));
  return X::div(p, q);
}

// One float lane: the tails of the SIMD loops.
struct SF {
  typedef float E;
  typedef float R;
  static const int W = 1;
  static R ld(const float* p) { return *p; }
  static void st(float* p, R v) { *p = v; }
  static R set1(float x) { return x; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R mul(R a, R b) { return a * b; }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R div(R a, R b) { return a / b; }
  static R min(R a, R b) { return b < a ? b : a; }
  static R max(R a, R b) { return b > a ? b : a; }
  static R round(R a) { return nearbyintf(a); }
  static R pow2i(R n) { return ldexpf(1.0f, int(n)); }
  static R gt0sel(R h, R v) { return h > 0 ? v : 0.0f; }
  static R exp(R x) { return PolyExp<SF>(x); }
  static R tanh(R x) { return RationalTanh<SF>(x); }
};

#ifdef WG_RNN_SCALAR_ONLY
typedef SF VF;  // no SIMD on this architecture: the float lanes are scalar
#endif

// One float64 lane (the whole float64 path).
struct SD {
  typedef double E;
  typedef double R;
  static const int W = 1;
  static R ld(const double* p) { return *p; }
  static void st(double* p, R v) { *p = v; }
  static R set1(double x) { return x; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R mul(R a, R b) { return a * b; }
  static R div(R a, R b) { return a / b; }
  static R gt0sel(R h, R v) { return h > 0 ? v : 0.0; }
  static R exp(R x) { return ::exp(x); }
  static R tanh(R x) { return ::tanh(x); }
};

template <class X>
static inline typename X::R Sig(typename X::R x) {
  const typename X::R one = X::set1(1);
  return X::div(one, X::add(one, X::exp(X::sub(X::set1(0), x))));
}

// pre-activation of gate column j: xg + (hg + b)
template <class X>
static inline typename X::R Pre(const typename X::E* xg, const typename X::E* hg, const typename X::E* b, int64_t j) {
  typename X::R v = X::ld(xg + j);
  if (hg) {
    typename X::R h = X::ld(hg + j);
    if (b) h = X::add(h, X::ld(b + j));
    v = X::add(v, h);
  } else if (b) {
    v = X::add(v, X::ld(b + j));
  }
  return v;
}

// ---- LSTM ------------------------------------------------------------------------------------
template <class X>
static inline void LstmAt(const typename X::E* xg, const typename X::E* hg, const typename X::E* b,
                          const typename X::E* cp, typename X::E* h, typename X::E* c, typename X::E* a, int64_t H,
                          int64_t j) {
  typedef typename X::R R;
  R i = Sig<X>(Pre<X>(xg, hg, b, j));
  R f = Sig<X>(Pre<X>(xg, hg, b, H + j));
  R g = X::tanh(Pre<X>(xg, hg, b, 2 * H + j));
  R o = Sig<X>(Pre<X>(xg, hg, b, 3 * H + j));
  R cv = X::add(X::mul(f, X::ld(cp + j)), X::mul(i, g));
  X::st(a + j, i);
  X::st(a + H + j, f);
  X::st(a + 2 * H + j, g);
  X::st(a + 3 * H + j, o);
  X::st(c + j, cv);
  X::st(h + j, X::mul(o, X::tanh(cv)));
}

template <class V, class S1, class T>
static void LstmRows(const T* xg, const T* hg, const T* b, const T* cp, T* h, T* c, T* act, int64_t rows, int64_t H) {
  for (int64_t r = 0; r < rows; r++) {
    const T* x = xg + r * 4 * H;
    const T* hh = hg ? hg + r * 4 * H : nullptr;
    int64_t j = 0;
    for (; j + V::W <= H; j += V::W) LstmAt<V>(x, hh, b, cp + r * H, h + r * H, c + r * H, act + r * 4 * H, H, j);
    for (; j < H; j++) LstmAt<S1>(x, hh, b, cp + r * H, h + r * H, c + r * H, act + r * 4 * H, H, j);
  }
}

// tc = tanh(c), dcT = dc + dh·o·(1 - tc²); di = dcT·g·i(1-i), df = dcT·cPrev·f(1-f),
// dg = dcT·i·(1-g²), do = dh·tc·o(1-o), dcPrev = dcT·f
template <class X>
static inline void LstmBackAt(const typename X::E* A, const typename X::E* cp, const typename X::E* c,
                              const typename X::E* dh, const typename X::E* dc, typename X::E* dG, typename X::E* dcp,
                              int64_t H, int64_t j) {
  typedef typename X::R R;
  const R one = X::set1(1);
  R i = X::ld(A + j), f = X::ld(A + H + j), g = X::ld(A + 2 * H + j), o = X::ld(A + 3 * H + j);
  R tc = X::tanh(X::ld(c + j));
  R d = X::ld(dh + j);
  R dcT = X::mul(X::mul(d, o), X::sub(one, X::mul(tc, tc)));
  if (dc) dcT = X::add(X::ld(dc + j), dcT);
  X::st(dG + j, X::mul(X::mul(X::mul(dcT, g), i), X::sub(one, i)));
  X::st(dG + H + j, X::mul(X::mul(X::mul(dcT, X::ld(cp + j)), f), X::sub(one, f)));
  X::st(dG + 2 * H + j, X::mul(X::mul(dcT, i), X::sub(one, X::mul(g, g))));
  X::st(dG + 3 * H + j, X::mul(X::mul(X::mul(d, tc), o), X::sub(one, o)));
  X::st(dcp + j, X::mul(dcT, f));
}

template <class V, class S1, class T>
static void LstmBackRows(const T* act, const T* cp, const T* c, const T* dh, const T* dc, T* dG, T* dcp, int64_t rows,
                         int64_t H) {
  for (int64_t r = 0; r < rows; r++) {
    const T* A = act + r * 4 * H;
    const T* dcr = dc ? dc + r * H : nullptr;
    int64_t o = r * H, j = 0;
    for (; j + V::W <= H; j += V::W) LstmBackAt<V>(A, cp + o, c + o, dh + o, dcr, dG + r * 4 * H, dcp + o, H, j);
    for (; j < H; j++) LstmBackAt<S1>(A, cp + o, c + o, dh + o, dcr, dG + r * 4 * H, dcp + o, H, j);
  }
}

// ---- GRU -------------------------------------------------------------------------------------
template <class X>
static inline void GruAt(const typename X::E* xg, const typename X::E* hg, const typename X::E* b,
                         const typename X::E* hp, typename X::E* h, typename X::E* S, int64_t H, int64_t j) {
  typedef typename X::R R;
  R hr = X::ld(hg + j), hz = X::ld(hg + H + j), hn = X::ld(hg + 2 * H + j);
  if (b) hr = X::add(hr, X::ld(b + j)), hz = X::add(hz, X::ld(b + H + j)), hn = X::add(hn, X::ld(b + 2 * H + j));
  R r = Sig<X>(X::add(X::ld(xg + j), hr));
  R z = Sig<X>(X::add(X::ld(xg + H + j), hz));
  R n = X::tanh(X::add(X::ld(xg + 2 * H + j), X::mul(r, hn)));
  X::st(S + j, r);
  X::st(S + H + j, z);
  X::st(S + 2 * H + j, n);
  X::st(S + 3 * H + j, hn);
  X::st(h + j, X::add(X::mul(X::sub(X::set1(1), z), n), X::mul(z, X::ld(hp + j))));
}

template <class V, class S1, class T>
static void GruRows(const T* xg, const T* hg, const T* b, const T* hp, T* h, T* saved, int64_t rows, int64_t H) {
  for (int64_t r = 0; r < rows; r++) {
    int64_t g3 = r * 3 * H, o = r * H, j = 0;
    for (; j + V::W <= H; j += V::W) GruAt<V>(xg + g3, hg + g3, b, hp + o, h + o, saved + r * 4 * H, H, j);
    for (; j < H; j++) GruAt<S1>(xg + g3, hg + g3, b, hp + o, h + o, saved + r * 4 * H, H, j);
  }
}

// dnPre = dh·(1-z)·(1-n²), drPre = dnPre·hn·r(1-r), dzPre = dh·(hPrev-n)·z(1-z)
template <class X>
static inline void GruBackAt(const typename X::E* S, const typename X::E* hp, const typename X::E* dh,
                             typename X::E* dxg, typename X::E* dhg, typename X::E* dhp, int64_t H, int64_t j) {
  typedef typename X::R R;
  const R one = X::set1(1);
  R r = X::ld(S + j), z = X::ld(S + H + j), n = X::ld(S + 2 * H + j), hn = X::ld(S + 3 * H + j);
  R d = X::ld(dh + j);
  R dnPre = X::mul(X::mul(d, X::sub(one, z)), X::sub(one, X::mul(n, n)));
  R drPre = X::mul(X::mul(X::mul(dnPre, hn), r), X::sub(one, r));
  R dzPre = X::mul(X::mul(X::mul(d, X::sub(X::ld(hp + j), n)), z), X::sub(one, z));
  X::st(dxg + j, drPre);
  X::st(dxg + H + j, dzPre);
  X::st(dxg + 2 * H + j, dnPre);
  X::st(dhg + j, drPre);
  X::st(dhg + H + j, dzPre);
  X::st(dhg + 2 * H + j, X::mul(dnPre, r));
  X::st(dhp + j, X::mul(d, z));
}

template <class V, class S1, class T>
static void GruBackRows(const T* saved, const T* hp, const T* dh, T* dxg, T* dhg, T* dhp, int64_t rows, int64_t H) {
  for (int64_t r = 0; r < rows; r++) {
    int64_t g3 = r * 3 * H, o = r * H, j = 0;
    for (; j + V::W <= H; j += V::W) GruBackAt<V>(saved + r * 4 * H, hp + o, dh + o, dxg + g3, dhg + g3, dhp + o, H, j);
    for (; j < H; j++) GruBackAt<S1>(saved + r * 4 * H, hp + o, dh + o, dxg + g3, dhg + g3, dhp + o, H, j);
  }
}

// ---- Elman RNN -------------------------------------------------------------------------------
template <class V, class S1, class T>
static void ElmanRows(const T* xg, const T* hg, const T* b, T* h, int64_t rows, int64_t H, bool relu) {
  for (int64_t r = 0; r < rows; r++) {
    const T* x = xg + r * H;
    const T* hh = hg ? hg + r * H : nullptr;
    T* out = h + r * H;
    int64_t j = 0;
    for (; j + V::W <= H; j += V::W) {
      typename V::R p = Pre<V>(x, hh, b, j);
      V::st(out + j, relu ? V::gt0sel(p, p) : V::tanh(p));
    }
    for (; j < H; j++) {
      typename S1::R p = Pre<S1>(x, hh, b, j);
      S1::st(out + j, relu ? S1::gt0sel(p, p) : S1::tanh(p));
    }
  }
}

template <class V, class S1, class T>
static void ElmanBackRows(const T* h, const T* dh, T* dpre, int64_t rows, int64_t H, bool relu) {
  int64_t n = rows * H, j = 0;
  for (; j + V::W <= n; j += V::W) {
    typename V::R hv = V::ld(h + j), d = V::ld(dh + j);
    V::st(dpre + j, relu ? V::gt0sel(hv, d) : V::mul(d, V::sub(V::set1(1), V::mul(hv, hv))));
  }
  for (; j < n; j++) {
    typename S1::R hv = S1::ld(h + j), d = S1::ld(dh + j);
    S1::st(dpre + j, relu ? S1::gt0sel(hv, d) : S1::mul(d, S1::sub(S1::set1(1), S1::mul(hv, hv))));
  }
}

// float: SIMD lanes VF with SF tails; float64: SD throughout
static void LstmF(const float* xg, const float* hg, const float* b, const float* cp, float* h, float* c, float* a,
                  int64_t rows, int64_t H) {
  LstmRows<VF, SF>(xg, hg, b, cp, h, c, a, rows, H);
}
static void LstmD(const double* xg, const double* hg, const double* b, const double* cp, double* h, double* c,
                  double* a, int64_t rows, int64_t H) {
  LstmRows<SD, SD>(xg, hg, b, cp, h, c, a, rows, H);
}
static void LstmBackF(const float* a, const float* cp, const float* c, const float* dh, const float* dc, float* dG,
                      float* dcp, int64_t rows, int64_t H) {
  LstmBackRows<VF, SF>(a, cp, c, dh, dc, dG, dcp, rows, H);
}
static void LstmBackD(const double* a, const double* cp, const double* c, const double* dh, const double* dc,
                      double* dG, double* dcp, int64_t rows, int64_t H) {
  LstmBackRows<SD, SD>(a, cp, c, dh, dc, dG, dcp, rows, H);
}
static void GruF(const float* xg, const float* hg, const float* b, const float* hp, float* h, float* s, int64_t rows,
                 int64_t H) {
  GruRows<VF, SF>(xg, hg, b, hp, h, s, rows, H);
}
static void GruD(const double* xg, const double* hg, const double* b, const double* hp, double* h, double* s,
                 int64_t rows, int64_t H) {
  GruRows<SD, SD>(xg, hg, b, hp, h, s, rows, H);
}
static void GruBackF(const float* s, const float* hp, const float* dh, float* dxg, float* dhg, float* dhp, int64_t rows,
                     int64_t H) {
  GruBackRows<VF, SF>(s, hp, dh, dxg, dhg, dhp, rows, H);
}
static void GruBackD(const double* s, const double* hp, const double* dh, double* dxg, double* dhg, double* dhp,
                     int64_t rows, int64_t H) {
  GruBackRows<SD, SD>(s, hp, dh, dxg, dhg, dhp, rows, H);
}
static void ElmanF(const float* xg, const float* hg, const float* b, float* h, int64_t rows, int64_t H, bool relu) {
  ElmanRows<VF, SF>(xg, hg, b, h, rows, H, relu);
}
static void ElmanD(const double* xg, const double* hg, const double* b, double* h, int64_t rows, int64_t H, bool relu) {
  ElmanRows<SD, SD>(xg, hg, b, h, rows, H, relu);
}
static void ElmanBackF(const float* h, const float* dh, float* dp, int64_t rows, int64_t H, bool relu) {
  ElmanBackRows<VF, SF>(h, dh, dp, rows, H, relu);
}
static void ElmanBackD(const double* h, const double* dh, double* dp, int64_t rows, int64_t H, bool relu) {
  ElmanBackRows<SD, SD>(h, dh, dp, rows, H, relu);
}

// The table of one ISA namespace `ns` (used at namespace wgcpu::rnn scope).
#define WG_RNN_OPS(name, ns)                                                                \
  {                                                                                         \
    name, {ns::LstmF, ns::LstmBackF, ns::GruF, ns::GruBackF, ns::ElmanF, ns::ElmanBackF}, { \
      ns::LstmD, ns::LstmBackD, ns::GruD, ns::GruBackD, ns::ElmanD, ns::ElmanBackD          \
    }                                                                                       \
  }
