// The optimizer element math, written once over a traits class V of double lanes and included
// inside each ISA's own namespace (optim.cc, optim_avx2.cc, optim_avx512.cc), so no AVX copy can
// stand in for the baseline one at link time. Requires before inclusion: V with W, R,
// ld(const float*), ld(const double*), st(float*, R), st(double*, R), set1, add, sub, mul, div,
// sqrt, neg, jsmax (Math.max: NaN if either is NaN, max(+0, -0) = +0); every mul passes its
// product through WG_NO_CONTRACT so the compiler cannot fuse it with the next add into an FMA
// (gnu++17 builds contract by default, and an FMA rounds once where js rounds twice). Option
// branches are per call, not per element.
//
// Every step mirrors lib/backend/js/optim.ts line by line; comments give the js line.

#ifndef WG_NO_CONTRACT
#if defined(__x86_64__)
#define WG_NO_CONTRACT(r) __asm__("" : "+x"(r))
#elif defined(__aarch64__)
#define WG_NO_CONTRACT(r) __asm__("" : "+w"(r))
#else
#define WG_NO_CONTRACT(r) __asm__("" : "+m"(r))
#endif
#endif

// One scalar lane: the tails (and the whole of the baseline table's double loop).
struct S {
  typedef double R;
  static const int W = 1;
  static R ld(const float* p) { return double(*p); }
  static R ld(const double* p) { return *p; }
  static void st(float* p, R v) { *p = float(v); }
  static void st(double* p, R v) { *p = v; }
  static R set1(double x) { return x; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R mul(R a, R b) {
    R r = a * b;
    WG_NO_CONTRACT(r);
    return r;
  }
  static R div(R a, R b) { return a / b; }
  static R sqrt(R a) { return __builtin_sqrt(a); }
  static R neg(R a) { return -a; }
  static R jsmax(R a, R b) {
    if (a != a || b != b) return a + b;  // NaN
    if (a == b) {                        // +0 beats -0 (Math.max)
      uint64_t x, y;
      __builtin_memcpy(&x, &a, 8);
      __builtin_memcpy(&y, &b, 8);
      x &= y;
      __builtin_memcpy(&a, &x, 8);
      return a;
    }
    return a > b ? a : b;
  }
};

#ifdef WG_OPTIM_SCALAR_ONLY
typedef S V;
#endif

template <class X, class T>
static inline void SgdAt(T* P, const T* G, T* M, const SgdArgs& a) {
  typename X::R g = X::ld(G);  // let g = maximize ? -G[i] : G[i]
  if (a.maximize) g = X::neg(g);
  if (a.wd != 0) g = X::add(g, X::mul(X::set1(a.wd), X::ld(P)));  // g += wd * P[i]
  if (a.hasBuf) {
    typename X::R buf = a.firstStep ? g
                                    : X::add(X::mul(X::set1(a.momentum), X::ld(M)),
                                             X::mul(X::set1(1 - a.dampening), g));  // momentum*M + (1-dampening)*g
    X::st(M, buf);
    typename X::R b = X::ld(M);  // the stored (rounded) buffer
    g = a.nesterov ? X::add(g, X::mul(X::set1(a.momentum), b)) : b;
  }
  X::st(P, X::sub(X::ld(P), X::mul(X::set1(a.lr), g)));  // P[i] = P[i] - lr * g
}

template <class X, class T>
static inline void AdamAt(T* P, const T* G, T* M, T* Vs, T* VM, const AdamArgs& a) {
  typename X::R g = X::ld(G);
  if (a.maximize) g = X::neg(g);
  if (a.wd != 0) {
    if (a.decoupled) X::st(P, X::mul(X::ld(P), X::set1(1 - a.lr * a.wd)));  // P[i] = P[i] * (1 - lr*wd)
    else g = X::add(g, X::mul(X::set1(a.wd), X::ld(P)));                    // g += wd * P[i]
  }
  const double w = 1 - a.beta1;  // lerp(M, g, 1 - beta1)
  typename X::R m0 = X::ld(M), d = X::sub(g, m0);
  if (w < 0.5) X::st(M, X::add(m0, X::mul(X::set1(w), d)));  // a + w*(b-a)
  else X::st(M, X::sub(g, X::mul(d, X::set1(1 - w))));       // b - (b-a)*(1-w)
  // V[i] = V[i]*beta2 + (1-beta2)*g*g
  X::st(Vs, X::add(X::mul(X::ld(Vs), X::set1(a.beta2)), X::mul(X::mul(X::set1(1 - a.beta2), g), g)));
  typename X::R v = X::ld(Vs);
  if (a.amsgrad) {
    X::st(VM, X::jsmax(X::ld(VM), v));
    v = X::ld(VM);
  }
  typename X::R denom = X::add(X::div(X::sqrt(v), X::set1(a.bc2Sqrt)), X::set1(a.eps));
  X::st(P, X::sub(X::ld(P), X::mul(X::set1(a.stepSize), X::div(X::ld(M), denom))));
}

template <class T>
static void Sgd(T* P, const T* G, T* M, int64_t n, const SgdArgs& a) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) SgdAt<V>(P + i, G + i, a.hasBuf ? M + i : M, a);
  for (; i < n; i++) SgdAt<S>(P + i, G + i, a.hasBuf ? M + i : M, a);
}

template <class T>
static void Adam(T* P, const T* G, T* M, T* Vs, T* VM, int64_t n, const AdamArgs& a) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) AdamAt<V>(P + i, G + i, M + i, Vs + i, a.amsgrad ? VM + i : VM, a);
  for (; i < n; i++) AdamAt<S>(P + i, G + i, M + i, Vs + i, a.amsgrad ? VM + i : VM, a);
}

static void SgdF(float* p, const float* g, float* b, int64_t n, const SgdArgs& a) { Sgd(p, g, b, n, a); }
static void SgdD(double* p, const double* g, double* b, int64_t n, const SgdArgs& a) { Sgd(p, g, b, n, a); }
static void AdamF(float* p, const float* g, float* m, float* v, float* vm, int64_t n, const AdamArgs& a) {
  Adam(p, g, m, v, vm, n, a);
}
static void AdamD(double* p, const double* g, double* m, double* v, double* vm, int64_t n, const AdamArgs& a) {
  Adam(p, g, m, v, vm, n, a);
}
