// The streaming kernels, written once; included by elementwise.cc / elementwise_avx2.cc /
// elementwise_avx512.cc inside their own namespace after elementwise_simd.h (WG_VBYTES set).
// Semantics: the js backend's kernels (lib/backend/js/{softmax,norm,elementwise,reduce}.ts).
//
// Precision: float64 storage computes in float64 throughout. float32 storage: exp/tanh/sigmoid
// run in float32 vectors (elementwise_simd.h), every sum (softmax denominators, norm statistics,
// reductions, the cross-entropy) accumulates in float64, and the normalisations (x - mean)·rstd
// are done in float64 lanes (no cancellation against a rounded mean), as the js kernels do.
//
// Threads: work is split into tasks by the shape only (never by the thread count), and each
// output is computed by exactly one task in a fixed order; where a sum crosses tasks (long
// reductions, layer-norm dgamma/dbeta) the task partials are combined in task order. So results
// are identical for any thread count and run to run. Below kParMin elements everything runs on
// the calling thread: a task hand-off costs a few µs.

static const int64_t kParMin = int64_t(1) << 16;  // elements before threads pay off
static const int64_t kChunk = int64_t(1) << 14;   // elements per task

template <class F>
inline void Par(int64_t ntasks, F& f) {
  if (ntasks <= 0) return;
  if (ntasks == 1) {
    f(int64_t(0));
    return;
  }
  ::wgcpu::ParallelFor(
      ntasks, [](void* c, int64_t t, int) { (*static_cast<F*>(c))(t); }, &f);
}

// Tasks over `items` (rows, channels) of `per` elements each: 1 below kParMin, else about
// kChunk elements a task. Returns items per task.
inline int64_t ItemsPerTask(int64_t items, int64_t per, int64_t* ntasks) {
  double total = double(items) * double(per);
  if (items <= 1 || total < double(kParMin)) {
    *ntasks = items > 0 ? 1 : 0;
    return items;
  }
  int64_t ipt = per >= kChunk ? 1 : kChunk / (per > 0 ? per : 1);
  if (ipt < 1) ipt = 1;
  *ntasks = (items + ipt - 1) / ipt;
  return ipt;
}

inline bool IsNan(double v) { return v != v; }

// ---- row primitives -------------------------------------------------------------------------

// max over x[0..n): NaN if any is NaN (Math.max's rule), -inf for n == 0.
template <class T>
inline T RowMax(const T* x, int64_t n) {
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  const T ninf = -__builtin_inf();
  V m0 = Set<V>(ninf), m1 = m0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a = Load<V>(x + i), b = Load<V>(x + i + W);
    m0 = ((a > m0) | (a != a)) ? a : m0;
    m1 = ((b > m1) | (b != b)) ? b : m1;
  }
  for (; i + W <= n; i += W) {
    V a = Load<V>(x + i);
    m0 = ((a > m0) | (a != a)) ? a : m0;
  }
  if (i < n) {
    V a = LoadPart<V>(x + i, n - i, ninf);
    m0 = ((a > m0) | (a != a)) ? a : m0;
  }
  m0 = ((m1 > m0) | (m1 != m1)) ? m1 : m0;
  T r = m0[0];
  for (int l = 1; l < W; l++)
    if (m0[l] > r || m0[l] != m0[l]) r = m0[l];
  return r;
}

// Σ exp(x[j] - max) in float64; also stores the exponentials in e when given (e may be x).
template <class T>
inline double ExpSum(const T* x, int64_t n, T max, T* e) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const V mv = Set<V>(max);
  WV acc = Set<WV>(0.0);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    V v = Exp(Load<V>(x + i) - mv);
    if (e) Store(e + i, v);
    acc += Wide(v);
  }
  if (i < n) {
    V v = Exp(LoadPart<V>(x + i, n - i, max) - mv);
    for (int l = int(n - i); l < W; l++) v[l] = 0;
    if (e) StorePart(e + i, v, n - i);
    acc += Wide(v);
  }
  return HsumD(acc);
}

// Σ x in float64 (lanes, then a fixed pairwise fold).
template <class T>
inline double RowSum(const T* x, int64_t n) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  WV a0 = Set<WV>(0.0), a1 = a0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    a0 += Wide(Load<V>(x + i));
    a1 += Wide(Load<V>(x + i + W));
  }
  for (; i + W <= n; i += W) a0 += Wide(Load<V>(x + i));
  if (i < n) a0 += Wide(LoadPart<V>(x + i, n - i, T(0)));
  return HsumD(a0 + a1);
}

WG_INL vf Narrow(vfd v) { return __builtin_convertvector(v, vf); }
WG_INL vd Narrow(vd v) { return v; }

// ---- softmax / log-softmax -----------------------------------------------------------------

template <class T>
void SoftmaxRows(const T* X, T* Y, int64_t r0, int64_t r1, int64_t cols, bool log) {
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  for (int64_t r = r0; r < r1; r++) {
    const T* x = X + r * cols;
    T* y = Y + r * cols;
    T max = RowMax(x, cols);
    double s = ExpSum(x, cols, max, log ? (T*)nullptr : y);
    double lse = __builtin_log(s);
    int64_t j = 0;
    if (log) {  // y = (x - max) - lse
      const V mv = Set<V>(max), lv = Set<V>(T(lse));
      for (; j + W <= cols; j += W) Store(y + j, (Load<V>(x + j) - mv) - lv);
      for (; j < cols; j++) y[j] = T((x[j] - max) - T(lse));
    } else {  // y = e · exp(-lse)
      const T inv = T(__builtin_exp(-lse));
      const V iv = Set<V>(inv);
      for (; j + W <= cols; j += W) Store(y + j, Load<V>(y + j) * iv);
      for (; j < cols; j++) y[j] = y[j] * inv;
    }
  }
}

template <class T>
void SoftmaxT(const SoftmaxArgs& a) {
  const T* X = static_cast<const T*>(a.x);
  T* Y = static_cast<T*>(a.out);
  int64_t nt, ipt = ItemsPerTask(a.rows, a.cols, &nt);
  auto f = [&](int64_t t) {
    int64_t r0 = t * ipt, r1 = r0 + ipt < a.rows ? r0 + ipt : a.rows;
    SoftmaxRows(X, Y, r0, r1, a.cols, a.log);
  };
  Par(nt, f);
}

// softmax: dx = y·(dy - Σ dy·y); log-softmax: dx = dy - exp(y)·Σ dy.
template <class T>
void SoftmaxBackwardRows(const T* Yp, const T* DY, T* DX, int64_t r0, int64_t r1, int64_t cols, bool log) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  for (int64_t r = r0; r < r1; r++) {
    const T* y = Yp + r * cols;
    const T* dy = DY + r * cols;
    T* dx = DX + r * cols;
    int64_t j = 0;
    if (log) {
      const T s = T(RowSum(dy, cols));
      const V sv = Set<V>(s);
      for (; j + W <= cols; j += W) Store(dx + j, Load<V>(dy + j) - Exp(Load<V>(y + j)) * sv);
      if (j < cols) {
        V v = LoadPart<V>(dy + j, cols - j, T(0)) - Exp(LoadPart<V>(y + j, cols - j, T(0))) * sv;
        StorePart(dx + j, v, cols - j);
      }
    } else {
      WV acc = Set<WV>(0.0);
      for (; j + W <= cols; j += W) acc += Wide(Load<V>(dy + j)) * Wide(Load<V>(y + j));
      if (j < cols) acc += Wide(LoadPart<V>(dy + j, cols - j, T(0))) * Wide(LoadPart<V>(y + j, cols - j, T(0)));
      const T s = T(HsumD(acc));
      const V sv = Set<V>(s);
      for (j = 0; j + W <= cols; j += W) Store(dx + j, Load<V>(y + j) * (Load<V>(dy + j) - sv));
      for (; j < cols; j++) dx[j] = y[j] * (dy[j] - s);
    }
  }
}

template <class T>
void SoftmaxBackwardT(const SoftmaxArgs& a) {
  const T* Yp = static_cast<const T*>(a.x);
  const T* DY = static_cast<const T*>(a.dy);
  T* DX = static_cast<T*>(a.out);
  int64_t nt, ipt = ItemsPerTask(a.rows, a.cols, &nt);
  auto f = [&](int64_t t) {
    int64_t r0 = t * ipt, r1 = r0 + ipt < a.rows ? r0 + ipt : a.rows;
    SoftmaxBackwardRows(Yp, DY, DX, r0, r1, a.cols, a.log);
  };
  Par(nt, f);
}

// ---- fused cross-entropy -------------------------------------------------------------------

// loss[r] = -(1-ε)·logp[t] - ε/cols·Σ_j logp[j]; 0 when t == ignoreIndex. Targets were checked.
template <class T>
void CrossEntropyT(const XentArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* X = static_cast<const T*>(a.logits);
  T* L = static_cast<T*>(a.out);
  const int64_t cols = a.cols;
  const double eps = a.labelSmoothing;
  int64_t nt, ipt = ItemsPerTask(a.rows, cols, &nt);
  auto f = [&](int64_t task) {
    int64_t r0 = task * ipt, r1 = r0 + ipt < a.rows ? r0 + ipt : a.rows;
    for (int64_t r = r0; r < r1; r++) {
      const int64_t t = a.targets[r];
      if (t == a.ignoreIndex) {
        L[r] = 0;
        continue;
      }
      const T* x = X + r * cols;
      const T max = RowMax(x, cols);
      const double shift = double(max) + __builtin_log(ExpSum(x, cols, max, (T*)nullptr));
      double l = -(1 - eps) * (double(x[t]) - shift);
      if (eps != 0) {
        WV acc = Set<WV>(0.0);
        const WV sv = Set<WV>(shift);
        int64_t j = 0;
        for (; j + W <= cols; j += W) acc += Wide(Load<V>(x + j)) - sv;
        double sum = HsumD(acc);
        for (; j < cols; j++) sum += double(x[j]) - shift;
        l -= (eps / double(cols)) * sum;
      }
      L[r] = T(l);
    }
  };
  Par(nt, f);
}

// dlogits[r] = dloss[r]·(softmax(logits[r]) - (1-ε)·onehot(t) - ε/cols); 0 for ignored rows.
template <class T>
void CrossEntropyBackwardT(const XentArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* X = static_cast<const T*>(a.logits);
  const T* DL = static_cast<const T*>(a.dloss);
  T* DX = static_cast<T*>(a.out);
  const int64_t cols = a.cols;
  const double eps = a.labelSmoothing;
  int64_t nt, ipt = ItemsPerTask(a.rows, cols, &nt);
  auto f = [&](int64_t task) {
    int64_t r0 = task * ipt, r1 = r0 + ipt < a.rows ? r0 + ipt : a.rows;
    for (int64_t r = r0; r < r1; r++) {
      const int64_t t = a.targets[r];
      T* dx = DX + r * cols;
      if (t == a.ignoreIndex) {
        for (int64_t j = 0; j < cols; j++) dx[j] = 0;
        continue;
      }
      const T* x = X + r * cols;
      const double g = double(DL[r]);
      const T max = RowMax(x, cols);
      const double inv = 1 / ExpSum(x, cols, max, dx);  // dx holds e^(x - max)
      const double u = eps / double(cols);
      const double et = double(dx[t]);
      const WV gv = Set<WV>(g), iv = Set<WV>(inv), uv = Set<WV>(u);
      int64_t j = 0;
      for (; j + W <= cols; j += W) Store(dx + j, Narrow(gv * (Wide(Load<V>(dx + j)) * iv - uv)));
      for (; j < cols; j++) dx[j] = T(g * (double(dx[j]) * inv - u));
      dx[t] = T(g * (et * inv - (1 - eps) - u));
    }
  };
  Par(nt, f);
}

// ---- layer norm ----------------------------------------------------------------------------

template <class T>
inline void MeanRstd(const T* x, int64_t cols, double eps, double* mu, double* rs) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const double m = RowSum(x, cols) / double(cols);
  const WV mv = Set<WV>(m);
  WV acc = Set<WV>(0.0);
  int64_t j = 0;
  for (; j + W <= cols; j += W) {
    WV d = Wide(Load<V>(x + j)) - mv;
    acc += d * d;
  }
  double v = HsumD(acc);
  for (; j < cols; j++) {
    double d = double(x[j]) - m;
    v += d * d;
  }
  *mu = m;
  *rs = 1 / __builtin_sqrt(v / double(cols) + eps);
}

template <class T>
bool LayerNormT(const LayerNormArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* X = static_cast<const T*>(a.x);
  const T* G = static_cast<const T*>(a.gamma);
  const T* B = static_cast<const T*>(a.beta);
  T* Y = static_cast<T*>(a.y);
  T* M = static_cast<T*>(a.mean);
  T* R = static_cast<T*>(a.rstd);
  const int64_t cols = a.cols;
  int64_t nt, ipt = ItemsPerTask(a.rows, cols, &nt);
  auto f = [&](int64_t task) {
    int64_t r0 = task * ipt, r1 = r0 + ipt < a.rows ? r0 + ipt : a.rows;
    for (int64_t r = r0; r < r1; r++) {
      const T* x = X + r * cols;
      T* y = Y + r * cols;
      double mu, rs;
      MeanRstd(x, cols, a.eps, &mu, &rs);
      M[r] = T(mu);
      R[r] = T(rs);
      const WV mv = Set<WV>(mu), rv = Set<WV>(rs);
      int64_t j = 0;
      for (; j + W <= cols; j += W) {
        WV t = (Wide(Load<V>(x + j)) - mv) * rv;
        if (G) t *= Wide(Load<V>(G + j));
        if (B) t += Wide(Load<V>(B + j));
        Store(y + j, Narrow(t));
      }
      for (; j < cols; j++) {
        double t = (double(x[j]) - mu) * rs;
        if (G) t *= double(G[j]);
        if (B) t += double(B[j]);
        y[j] = T(t);
      }
    }
  };
  Par(nt, f);
  return true;
}

// x̂ = (x - mean)·rstd, g = dy·gamma: dx = rstd·(g - mean(g) - x̂·mean(g·x̂)),
// dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy (float64 partials per task, combined in task order).
template <class T>
bool LayerNormBackwardT(const LayerNormArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* DY = static_cast<const T*>(a.dy);
  const T* X = static_cast<const T*>(a.x);
  const T* G = static_cast<const T*>(a.gamma);
  const T* M = static_cast<const T*>(a.mean);
  const T* R = static_cast<const T*>(a.rstd);
  T* DX = static_cast<T*>(a.dx);
  T* DG = static_cast<T*>(a.dgamma);
  T* DB = static_cast<T*>(a.dbeta);
  const int64_t rows = a.rows, cols = a.cols;
  const bool params = DG || DB;
  // tasks: by shape only, at most 64 (each keeps 2·cols float64 partials)
  int64_t nt = 1;
  if (double(rows) * double(cols) >= double(kParMin) && rows > 1) {
    nt = int64_t((double(rows) * double(cols) + double(kChunk) - 1) / double(kChunk));
    if (nt > 64) nt = 64;
    if (nt > rows) nt = rows;
  }
  const int64_t ipt = (rows + nt - 1) / (nt > 0 ? nt : 1);
  if (rows > 0) nt = (rows + ipt - 1) / ipt;
  double* part = nullptr;
  if (params && cols > 0) {
    part = static_cast<double*>(__builtin_calloc(size_t(nt > 0 ? nt : 1) * 2 * size_t(cols), sizeof(double)));
    if (!part) return false;
  }
  auto f = [&](int64_t task) {
    int64_t r0 = task * ipt, r1 = r0 + ipt < rows ? r0 + ipt : rows;
    double* dg = part ? part + task * 2 * cols : nullptr;
    double* db = part ? dg + cols : nullptr;
    for (int64_t r = r0; r < r1; r++) {
      const T* x = X + r * cols;
      const T* dy = DY + r * cols;
      T* dx = DX + r * cols;
      const double mu = double(M[r]), rs = double(R[r]);
      const WV mv = Set<WV>(mu), rv = Set<WV>(rs);
      WV sgv = Set<WV>(0.0), sgxv = sgv;
      int64_t j = 0;
      for (; j + W <= cols; j += W) {
        WV xh = (Wide(Load<V>(x + j)) - mv) * rv;
        WV d = Wide(Load<V>(dy + j));
        WV g = G ? d * Wide(Load<V>(G + j)) : d;
        sgv += g;
        sgxv += g * xh;
        if (dg) {
          Store(dg + j, Load<WV>(dg + j) + d * xh);
          Store(db + j, Load<WV>(db + j) + d);
        }
      }
      double sg = HsumD(sgv), sgx = HsumD(sgxv);
      for (int64_t k = j; k < cols; k++) {
        double xh = (double(x[k]) - mu) * rs;
        double d = double(dy[k]);
        double g = G ? d * double(G[k]) : d;
        sg += g;
        sgx += g * xh;
        if (dg) {
          dg[k] += d * xh;
          db[k] += d;
        }
      }
      sg /= double(cols);
      sgx /= double(cols);
      const WV sgw = Set<WV>(sg), sgxw = Set<WV>(sgx);
      for (j = 0; j + W <= cols; j += W) {
        WV xh = (Wide(Load<V>(x + j)) - mv) * rv;
        WV d = Wide(Load<V>(dy + j));
        WV g = G ? d * Wide(Load<V>(G + j)) : d;
        Store(dx + j, Narrow(rv * (g - sgw - xh * sgxw)));
      }
      for (; j < cols; j++) {
        double xh = (double(x[j]) - mu) * rs;
        double g = G ? double(dy[j]) * double(G[j]) : double(dy[j]);
        dx[j] = T(rs * (g - sg - xh * sgx));
      }
    }
  };
  Par(nt, f);
  if (part) {
    for (int64_t j = 0; j < cols; j++) {
      double g = 0, b = 0;
      for (int64_t t = 0; t < nt; t++) {
        g += part[t * 2 * cols + j];
        b += part[t * 2 * cols + cols + j];
      }
      if (DG) DG[j] = T(g);
      if (DB) DB[j] = T(b);
    }
    __builtin_free(part);
  } else {
    // cols == 0: nothing; rows == 0 with params: zeros
    for (int64_t j = 0; j < cols; j++) {
      if (DG) DG[j] = 0;
      if (DB) DB[j] = 0;
    }
  }
  return true;
}

// ---- batch norm ----------------------------------------------------------------------------

template <class T>
void BatchNormT(const BatchNormArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* X = static_cast<const T*>(a.x);
  const T* G = static_cast<const T*>(a.gamma);
  const T* B = static_cast<const T*>(a.beta);
  T* RM = static_cast<T*>(a.runningMean);
  T* RV = static_cast<T*>(a.runningVar);
  T* Y = static_cast<T*>(a.y);
  T* SM = static_cast<T*>(a.saveMean);
  T* SI = static_cast<T*>(a.saveInvStd);
  const int64_t n = a.n, c = a.c, hw = a.hw;
  const double count = double(n) * double(hw);
  const bool useBatch = a.training || !RM || !RV;
  int64_t nt, ipt = ItemsPerTask(c, n * hw, &nt);
  auto f = [&](int64_t task) {
    int64_t c0 = task * ipt, c1 = c0 + ipt < c ? c0 + ipt : c;
    for (int64_t ch = c0; ch < c1; ch++) {
      double mu, invStd;
      if (useBatch) {
        double s = 0;
        for (int64_t b = 0; b < n; b++) s += RowSum(X + (b * c + ch) * hw, hw);
        mu = s / count;
        const WV mv = Set<WV>(mu);
        double v = 0;
        for (int64_t b = 0; b < n; b++) {
          const T* x = X + (b * c + ch) * hw;
          WV acc = Set<WV>(0.0);
          int64_t i = 0;
          for (; i + W <= hw; i += W) {
            WV d = Wide(Load<V>(x + i)) - mv;
            acc += d * d;
          }
          double vb = HsumD(acc);
          for (; i < hw; i++) {
            double d = double(x[i]) - mu;
            vb += d * d;
          }
          v += vb;
        }
        const double varB = v / count;
        invStd = 1 / __builtin_sqrt(varB + a.eps);
        if (a.training && RM && RV) {
          const double unbiased = count > 1 ? v / (count - 1) : varB;
          RM[ch] = T((1 - a.momentum) * double(RM[ch]) + a.momentum * mu);
          RV[ch] = T((1 - a.momentum) * double(RV[ch]) + a.momentum * unbiased);
        }
      } else {
        mu = double(RM[ch]);
        invStd = 1 / __builtin_sqrt(double(RV[ch]) + a.eps);
      }
      SM[ch] = T(mu);
      SI[ch] = T(invStd);
      const double scale = G ? double(G[ch]) * invStd : invStd;
      const double shift = B ? double(B[ch]) : 0;
      const WV mv = Set<WV>(mu), sv = Set<WV>(scale), hv = Set<WV>(shift);
      for (int64_t b = 0; b < n; b++) {
        const T* x = X + (b * c + ch) * hw;
        T* y = Y + (b * c + ch) * hw;
        int64_t i = 0;
        for (; i + W <= hw; i += W) Store(y + i, Narrow((Wide(Load<V>(x + i)) - mv) * sv + hv));
        for (; i < hw; i++) y[i] = T((double(x[i]) - mu) * scale + shift);
      }
    }
  };
  Par(nt, f);
}

// x̂ = (x - mean)·invStd, N = n·hw; dbeta = Σ dy, dgamma = Σ dy·x̂;
// training: dx = gamma·invStd/N·(N·dy - Σdy - x̂·Σ dy·x̂); eval: dx = gamma·invStd·dy.
template <class T>
void BatchNormBackwardT(const BatchNormArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* DY = static_cast<const T*>(a.dy);
  const T* X = static_cast<const T*>(a.x);
  const T* G = static_cast<const T*>(a.gamma);
  const T* SM = static_cast<const T*>(a.saveMean);
  const T* SI = static_cast<const T*>(a.saveInvStd);
  T* DX = static_cast<T*>(a.dx);
  T* DG = static_cast<T*>(a.dgamma);
  T* DB = static_cast<T*>(a.dbeta);
  const int64_t n = a.n, c = a.c, hw = a.hw;
  const double count = double(n) * double(hw);
  int64_t nt, ipt = ItemsPerTask(c, n * hw, &nt);
  auto f = [&](int64_t task) {
    int64_t c0 = task * ipt, c1 = c0 + ipt < c ? c0 + ipt : c;
    for (int64_t ch = c0; ch < c1; ch++) {
      const double mu = double(SM[ch]), is = double(SI[ch]);
      const WV mv = Set<WV>(mu), iv = Set<WV>(is);
      double sdy = 0, sdyx = 0;
      for (int64_t b = 0; b < n; b++) {
        const T* x = X + (b * c + ch) * hw;
        const T* dy = DY + (b * c + ch) * hw;
        WV a0 = Set<WV>(0.0), a1 = a0;
        int64_t i = 0;
        for (; i + W <= hw; i += W) {
          WV d = Wide(Load<V>(dy + i));
          a0 += d;
          a1 += d * ((Wide(Load<V>(x + i)) - mv) * iv);
        }
        double s0 = HsumD(a0), s1 = HsumD(a1);
        for (; i < hw; i++) {
          double d = double(dy[i]);
          s0 += d;
          s1 += d * ((double(x[i]) - mu) * is);
        }
        sdy += s0;
        sdyx += s1;
      }
      if (DG) DG[ch] = T(sdyx);
      if (DB) DB[ch] = T(sdy);
      const double gs = (G ? double(G[ch]) : 1.0) * is;
      const double k = gs / count;
      const WV kv = Set<WV>(k), cv = Set<WV>(count), sdyv = Set<WV>(sdy), sdyxv = Set<WV>(sdyx), gsv = Set<WV>(gs);
      for (int64_t b = 0; b < n; b++) {
        const T* x = X + (b * c + ch) * hw;
        const T* dy = DY + (b * c + ch) * hw;
        T* dx = DX + (b * c + ch) * hw;
        int64_t i = 0;
        if (a.training) {
          for (; i + W <= hw; i += W) {
            WV xh = (Wide(Load<V>(x + i)) - mv) * iv;
            Store(dx + i, Narrow(kv * (cv * Wide(Load<V>(dy + i)) - sdyv - xh * sdyxv)));
          }
          for (; i < hw; i++) {
            double xh = (double(x[i]) - mu) * is;
            dx[i] = T(k * (count * double(dy[i]) - sdy - xh * sdyx));
          }
        } else {
          for (; i + W <= hw; i += W) Store(dx + i, Narrow(gsv * Wide(Load<V>(dy + i))));
          for (; i < hw; i++) dx[i] = T(gs * double(dy[i]));
        }
      }
    }
  };
  Par(nt, f);
}

// ---- scalar math (the js math.ts definitions, in float64) ----------------------------------

inline double JsMax(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return (a == 0 && !__builtin_signbit(a)) ? a : b;  // max(+0, -0) = +0
  return a > b ? a : b;
}
inline double JsMin(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return (a == 0 && __builtin_signbit(a)) ? a : b;  // min(+0, -0) = -0
  return a < b ? a : b;
}
inline double Sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
inline double SigmoidS(double x) { return 1 / (1 + __builtin_exp(-x)); }
const double kSqrt1_2 = 0.70710678118654752440, kInvSqrt2Pi = 0.3989422804014327, kSqrt2OverPi = 0.7978845608028654,
             kGeluKappa = 0.044715;
inline double GeluS(double x) { return 0.5 * x * (1 + __builtin_erf(x * kSqrt1_2)); }
inline double GeluGradS(double x) {
  return 0.5 * (1 + __builtin_erf(x * kSqrt1_2)) + x * kInvSqrt2Pi * __builtin_exp(-0.5 * x * x);
}
inline double GeluTanhS(double x) {
  return 0.5 * x * (1 + __builtin_tanh(kSqrt2OverPi * (x + kGeluKappa * x * x * x)));
}
inline double GeluTanhGradS(double x) {
  double t = __builtin_tanh(kSqrt2OverPi * (x + kGeluKappa * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * kSqrt2OverPi * (1 + 3 * kGeluKappa * x * x);
}
inline double SoftplusS(double x) { return x > 20 ? x : __builtin_log1p(__builtin_exp(x)); }
inline double SoftplusGradS(double x) {
  if (x > 20) return 1;
  double z = __builtin_exp(x);
  return z / (z + 1);
}

inline double UnaryS(UnaryOp op, double x, double a, double b) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return __builtin_fabs(x);
    case UnaryOp::sign: return Sign(x);
    case UnaryOp::exp: return __builtin_exp(x);
    case UnaryOp::expm1: return __builtin_expm1(x);
    case UnaryOp::log: return __builtin_log(x);
    case UnaryOp::log1p: return __builtin_log1p(x);
    case UnaryOp::sqrt: return __builtin_sqrt(x);
    case UnaryOp::rsqrt: return 1 / __builtin_sqrt(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return 1 / x;
    case UnaryOp::sin: return __builtin_sin(x);
    case UnaryOp::cos: return __builtin_cos(x);
    case UnaryOp::floor: return __builtin_floor(x);
    case UnaryOp::ceil: return __builtin_ceil(x);
    case UnaryOp::round: return __builtin_nearbyint(x);  // half to even in the default mode
    case UnaryOp::tanh: return __builtin_tanh(x);
    case UnaryOp::sigmoid: return SigmoidS(x);
    case UnaryOp::relu: return x < 0 ? 0 : x;
    case UnaryOp::gelu: return GeluS(x);
    case UnaryOp::gelu_tanh: return GeluTanhS(x);
    case UnaryOp::silu: return x * SigmoidS(x);
    case UnaryOp::softplus: return SoftplusS(x);
    case UnaryOp::leaky_relu: return x > 0 ? x : x * a;
    case UnaryOp::elu: return x > 0 ? x : a * __builtin_expm1(x);
    case UnaryOp::clamp: return JsMin(JsMax(x, a), b);
    case UnaryOp::add_scalar: return x + a;
    case UnaryOp::mul_scalar: return x * a;
    case UnaryOp::rsub_scalar: return a - x;
    case UnaryOp::rdiv_scalar: return a / x;
    case UnaryOp::pow_scalar: return __builtin_pow(x, a);  // C pow: pow(1, y) = pow(x, 0) = 1, as js pow()
    case UnaryOp::rpow_scalar: return __builtin_pow(a, x);
    case UnaryOp::gt_scalar: return x > a ? 1 : 0;
    case UnaryOp::lt_scalar: return x < a ? 1 : 0;
    case UnaryOp::ge_scalar: return x >= a ? 1 : 0;
    case UnaryOp::le_scalar: return x <= a ? 1 : 0;
    case UnaryOp::eq_scalar: return x == a ? 1 : 0;
    case UnaryOp::ne_scalar: return x != a ? 1 : 0;
    default: return __builtin_nan("");
  }
}

inline double UnaryGradS(UnaryGradOp op, double x, double y, double a, double b) {
  switch (op) {
    case UnaryGradOp::relu: return x > 0 ? 1 : 0;
    case UnaryGradOp::gelu: return GeluGradS(x);
    case UnaryGradOp::gelu_tanh: return GeluTanhGradS(x);
    case UnaryGradOp::silu: {
      double s = SigmoidS(x);
      return s * (1 + x * (1 - s));
    }
    case UnaryGradOp::tanh: return 1 - y * y;
    case UnaryGradOp::sigmoid: return y * (1 - y);
    case UnaryGradOp::softplus: return SoftplusGradS(x);
    case UnaryGradOp::leaky_relu: return x > 0 ? 1 : a;
    case UnaryGradOp::elu: return x > 0 ? 1 : a * __builtin_exp(x);
    case UnaryGradOp::clamp: return x >= a && x <= b ? 1 : 0;
    case UnaryGradOp::abs: return Sign(x);
    default: return __builtin_nan("");
  }
}

// ---- unary ---------------------------------------------------------------------------------

// The vectorised unary ops; false for the ops that go through UnaryS.
template <class V>
WG_INL bool UnaryV(UnaryOp op, V x, V av, V bv, V* out) {
  typedef typename ElemOf<V>::T T;
  const V zero = Set<V>(T(0)), one = Set<V>(T(1));
  switch (op) {
    case UnaryOp::neg: *out = -x; return true;
    case UnaryOp::abs: *out = Abs(x); return true;
    case UnaryOp::sign: *out = x > zero ? one : (x < zero ? -one : zero); return true;
    case UnaryOp::exp: *out = Exp(x); return true;
    case UnaryOp::square: *out = x * x; return true;
    case UnaryOp::reciprocal: *out = one / x; return true;
    case UnaryOp::tanh: *out = Tanh(x); return true;
    case UnaryOp::sigmoid: *out = Sigmoid(x); return true;
    case UnaryOp::relu: *out = x < zero ? zero : x; return true;
    case UnaryOp::silu: *out = x * Sigmoid(x); return true;
    case UnaryOp::leaky_relu: *out = x > zero ? x : x * av; return true;
    case UnaryOp::clamp: *out = MinJs(MaxJs(x, av), bv); return true;
    case UnaryOp::add_scalar: *out = x + av; return true;
    case UnaryOp::mul_scalar: *out = x * av; return true;
    case UnaryOp::rsub_scalar: *out = av - x; return true;
    case UnaryOp::rdiv_scalar: *out = av / x; return true;
    case UnaryOp::gt_scalar: *out = OneIf<V>(x > av); return true;
    case UnaryOp::lt_scalar: *out = OneIf<V>(x < av); return true;
    case UnaryOp::ge_scalar: *out = OneIf<V>(x >= av); return true;
    case UnaryOp::le_scalar: *out = OneIf<V>(x <= av); return true;
    case UnaryOp::eq_scalar: *out = OneIf<V>(x == av); return true;
    case UnaryOp::ne_scalar: *out = OneIf<V>(x != av); return true;
    default: return false;
  }
}

// The ops UnaryV vectorises (the rest run UnaryS per element, in float64).
constexpr bool VectorUnary(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::sign:
    case UnaryOp::exp:
    case UnaryOp::square:
    case UnaryOp::reciprocal:
    case UnaryOp::tanh:
    case UnaryOp::sigmoid:
    case UnaryOp::relu:
    case UnaryOp::silu:
    case UnaryOp::leaky_relu:
    case UnaryOp::clamp:
    case UnaryOp::add_scalar:
    case UnaryOp::mul_scalar:
    case UnaryOp::rsub_scalar:
    case UnaryOp::rdiv_scalar:
    case UnaryOp::gt_scalar:
    case UnaryOp::lt_scalar:
    case UnaryOp::ge_scalar:
    case UnaryOp::le_scalar:
    case UnaryOp::eq_scalar:
    case UnaryOp::ne_scalar: return true;
    default: return false;
  }
}

// One op over [i0, i1). Every case is its own loop (the switch is outside the loop).
template <class T, UnaryOp OP>
inline void UnaryLoopV(const T* x, T* y, int64_t i0, int64_t i1, T a, T b) {
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  const V av = Set<V>(a), bv = Set<V>(b);
  int64_t i = i0;
  V o;
  for (; i + W <= i1; i += W) {
    UnaryV(OP, Load<V>(x + i), av, bv, &o);
    Store(y + i, o);
  }
  if (i < i1) {
    UnaryV(OP, LoadPart<V>(x + i, i1 - i, T(0)), av, bv, &o);
    StorePart(y + i, o, i1 - i);
  }
}

template <class T>
inline void UnaryRange(UnaryOp op, const T* x, T* y, int64_t i0, int64_t i1, double a, double b) {
  // float32 with scalars a float cannot hold exactly: float64 lanes (as the js kernel, which
  // computes in float64), in blocks through the stack
  if (sizeof(T) == 4 && VectorUnary(op) && (double(float(a)) != a || double(float(b)) != b) && !(a != a) && !(b != b)) {
    double buf[256];
    for (int64_t s = i0; s < i1; s += 256) {
      int64_t m = i1 - s < 256 ? i1 - s : 256;
      for (int64_t k = 0; k < m; k++) buf[k] = double(x[s + k]);
      UnaryRange<double>(op, buf, buf, 0, m, a, b);
      for (int64_t k = 0; k < m; k++) y[s + k] = T(buf[k]);
    }
    return;
  }
  const T ta = T(a), tb = T(b);
  switch (op) {
#define WG_UCASE(name)                                                                       \
  case UnaryOp::name:                                                                        \
    if constexpr (VectorUnary(UnaryOp::name)) {                                              \
      UnaryLoopV<T, UnaryOp::name>(x, y, i0, i1, ta, tb);                                    \
    } else {                                                                                 \
      for (int64_t i = i0; i < i1; i++) y[i] = T(UnaryS(UnaryOp::name, double(x[i]), a, b)); \
    }                                                                                        \
    return;
    WG_UNARY_OPS(WG_UCASE)
#undef WG_UCASE
    default: return;
  }
}

template <class T>
void UnaryT(const UnaryArgs& a) {
  const T* X = static_cast<const T*>(a.x);
  T* Y = static_cast<T*>(a.out);
  const UnaryOp op = UnaryOp(a.op);
  int64_t nt = a.n >= kParMin ? (a.n + kChunk - 1) / kChunk : (a.n > 0 ? 1 : 0);
  auto f = [&](int64_t t) {
    int64_t i0 = nt == 1 ? 0 : t * kChunk, i1 = nt == 1 ? a.n : (i0 + kChunk < a.n ? i0 + kChunk : a.n);
    UnaryRange(op, X, Y, i0, i1, a.a, a.b);
  };
  Par(nt, f);
}

// ---- unary grad ----------------------------------------------------------------------------

template <class V>
WG_INL bool UnaryGradV(UnaryGradOp op, V x, V y, V g, V av, V bv, V* out) {
  typedef typename ElemOf<V>::T T;
  const V zero = Set<V>(T(0)), one = Set<V>(T(1));
  switch (op) {
    case UnaryGradOp::relu: *out = x > zero ? g : zero; return true;
    case UnaryGradOp::tanh: *out = g * (one - y * y); return true;
    case UnaryGradOp::sigmoid: *out = g * (y * (one - y)); return true;
    case UnaryGradOp::leaky_relu: *out = g * (x > zero ? one : av); return true;
    case UnaryGradOp::clamp: *out = g * (((x >= av) & (x <= bv)) ? one : zero); return true;
    case UnaryGradOp::abs: *out = g * (x > zero ? one : (x < zero ? -one : zero)); return true;
    default: return false;
  }
}

constexpr bool VectorUnaryGrad(UnaryGradOp op) {
  switch (op) {
    case UnaryGradOp::relu:
    case UnaryGradOp::tanh:
    case UnaryGradOp::sigmoid:
    case UnaryGradOp::leaky_relu:
    case UnaryGradOp::clamp:
    case UnaryGradOp::abs: return true;
    default: return false;
  }
}

template <class T, UnaryGradOp OP>
inline void UnaryGradLoopV(const T* x, const T* y, const T* g, T* dx, int64_t i0, int64_t i1, T a, T b) {
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  const V av = Set<V>(a), bv = Set<V>(b);
  int64_t i = i0;
  V o;
  for (; i + W <= i1; i += W) {
    UnaryGradV(OP, Load<V>(x + i), Load<V>(y + i), Load<V>(g + i), av, bv, &o);
    Store(dx + i, o);
  }
  if (i < i1) {
    int64_t m = i1 - i;
    UnaryGradV(OP, LoadPart<V>(x + i, m, T(0)), LoadPart<V>(y + i, m, T(0)), LoadPart<V>(g + i, m, T(0)), av, bv, &o);
    StorePart(dx + i, o, m);
  }
}

template <class T>
inline void UnaryGradRange(UnaryGradOp op, const T* x, const T* y, const T* g, T* dx, int64_t i0, int64_t i1, double a,
                           double b) {
  if (sizeof(T) == 4 && VectorUnaryGrad(op) && (double(float(a)) != a || double(float(b)) != b) && !(a != a) &&
      !(b != b)) {
    for (int64_t i = i0; i < i1; i++) dx[i] = T(double(g[i]) * UnaryGradS(op, double(x[i]), double(y[i]), a, b));
    return;
  }
  const T ta = T(a), tb = T(b);
  switch (op) {
#define WG_GCASE(name)                                                                             \
  case UnaryGradOp::name:                                                                          \
    if constexpr (VectorUnaryGrad(UnaryGradOp::name)) {                                            \
      UnaryGradLoopV<T, UnaryGradOp::name>(x, y, g, dx, i0, i1, ta, tb);                           \
    } else {                                                                                       \
      for (int64_t i = i0; i < i1; i++)                                                            \
        dx[i] = T(double(g[i]) * UnaryGradS(UnaryGradOp::name, double(x[i]), double(y[i]), a, b)); \
    }                                                                                              \
    return;
    WG_UNARY_GRAD_OPS(WG_GCASE)
#undef WG_GCASE
    default: return;
  }
}

template <class T>
void UnaryGradT(const UnaryArgs& a) {
  const T* X = static_cast<const T*>(a.x);
  const T* Yp = static_cast<const T*>(a.y);
  const T* G = static_cast<const T*>(a.dy);
  T* DX = static_cast<T*>(a.out);
  const UnaryGradOp op = UnaryGradOp(a.op);
  int64_t nt = a.n >= kParMin ? (a.n + kChunk - 1) / kChunk : (a.n > 0 ? 1 : 0);
  auto f = [&](int64_t t) {
    int64_t i0 = nt == 1 ? 0 : t * kChunk, i1 = nt == 1 ? a.n : (i0 + kChunk < a.n ? i0 + kChunk : a.n);
    UnaryGradRange(op, X, Yp, G, DX, i0, i1, a.a, a.b);
  };
  Par(nt, f);
}

// ---- bias + activation ---------------------------------------------------------------------

template <class V>
WG_INL V ActV(Act act, V v) {
  typedef typename ElemOf<V>::T T;
  switch (act) {
    case Act::relu: return v < Set<V>(T(0)) ? Set<V>(T(0)) : v;
    case Act::tanh: return Tanh(v);
    case Act::sigmoid: return Sigmoid(v);
    default: return v;
  }
}

template <class T, Act ACT>
inline void BiasActRow(const T* x, const T* bias, T* out, int64_t n) {  // out = act(x + bias), bias a row
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  int64_t i = 0;
  if (ACT == Act::gelu) {
    for (; i < n; i++) out[i] = T(GeluS(double(x[i]) + double(bias[i])));
    return;
  }
  for (; i + W <= n; i += W) Store(out + i, ActV(ACT, Load<V>(x + i) + Load<V>(bias + i)));
  if (i < n) StorePart(out + i, ActV(ACT, LoadPart<V>(x + i, n - i, T(0)) + LoadPart<V>(bias + i, n - i, T(0))), n - i);
}

template <class T, Act ACT>
inline void BiasActPlane(const T* x, T bias, T* out, int64_t n) {  // out = act(x + bias), one bias
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  int64_t i = 0;
  if (ACT == Act::gelu) {
    for (; i < n; i++) out[i] = T(GeluS(double(x[i]) + double(bias)));
    return;
  }
  const V bv = Set<V>(bias);
  for (; i + W <= n; i += W) Store(out + i, ActV(ACT, Load<V>(x + i) + bv));
  if (i < n) StorePart(out + i, ActV(ACT, LoadPart<V>(x + i, n - i, T(0)) + bv), n - i);
}

template <class T, Act ACT>
void BiasActTT(const BiasActArgs& a) {
  const T* X = static_cast<const T*>(a.x);
  const T* Bs = static_cast<const T*>(a.bias);
  T* O = static_cast<T*>(a.out);
  const int64_t c = a.c, inner = a.inner;
  if (inner == 1) {  // linear: rows of c
    int64_t nt, ipt = ItemsPerTask(a.outer, c, &nt);
    auto f = [&](int64_t t) {
      int64_t r0 = t * ipt, r1 = r0 + ipt < a.outer ? r0 + ipt : a.outer;
      for (int64_t r = r0; r < r1; r++) BiasActRow<T, ACT>(X + r * c, Bs, O + r * c, c);
    };
    Par(nt, f);
    return;
  }
  const int64_t planes = a.outer * c;  // conv: planes of inner, bias per channel
  int64_t nt, ipt = ItemsPerTask(planes, inner, &nt);
  auto f = [&](int64_t t) {
    int64_t p0 = t * ipt, p1 = p0 + ipt < planes ? p0 + ipt : planes;
    for (int64_t p = p0; p < p1; p++) BiasActPlane<T, ACT>(X + p * inner, Bs[p % c], O + p * inner, inner);
  };
  Par(nt, f);
}

template <class T>
void BiasActT(const BiasActArgs& a) {
  switch (a.act) {
    case Act::none: return BiasActTT<T, Act::none>(a);
    case Act::relu: return BiasActTT<T, Act::relu>(a);
    case Act::gelu: return BiasActTT<T, Act::gelu>(a);
    case Act::tanh: return BiasActTT<T, Act::tanh>(a);
    case Act::sigmoid: return BiasActTT<T, Act::sigmoid>(a);
    default: return;
  }
}

// ---- broadcasting binary -------------------------------------------------------------------

template <class V>
WG_INL V BinaryV(BinaryOp op, V x, V y) {
  switch (op) {
    case BinaryOp::add: return x + y;
    case BinaryOp::sub: return x - y;
    case BinaryOp::mul: return x * y;
    case BinaryOp::div: return x / y;
    case BinaryOp::maximum: return MaxJs(x, y);
    case BinaryOp::minimum: return MinJs(x, y);
    case BinaryOp::eq: return OneIf<V>(x == y);
    case BinaryOp::ne: return OneIf<V>(x != y);
    case BinaryOp::lt: return OneIf<V>(x < y);
    case BinaryOp::le: return OneIf<V>(x <= y);
    case BinaryOp::gt: return OneIf<V>(x > y);
    case BinaryOp::ge: return OneIf<V>(x >= y);
    default: {  // pow: C pow per lane (pow(1, y) = pow(x, 0) = 1, as the js kernel's pow())
      V o;
      for (int l = 0; l < int(sizeof(V) / sizeof(x[0])); l++) o[l] = __builtin_pow(double(x[l]), double(y[l]));
      return o;
    }
  }
}

// out[j] = x[j·sa] op y[j·sb] for j < len; sa, sb in {0, 1} take the vector loops.
template <class T, BinaryOp OP>
inline void BinaryRow(const T* x, int64_t sa, const T* y, int64_t sb, T* out, int64_t len) {
  typedef typename VT<T>::V V;
  const int W = VT<T>::W;
  int64_t j = 0;
  if (sa == 1 && sb == 1) {
    for (; j + W <= len; j += W) Store(out + j, BinaryV(OP, Load<V>(x + j), Load<V>(y + j)));
    if (j < len)
      StorePart(out + j, BinaryV(OP, LoadPart<V>(x + j, len - j, T(1)), LoadPart<V>(y + j, len - j, T(1))), len - j);
  } else if (sa == 1 && sb == 0) {
    const V yv = Set<V>(y[0]);
    for (; j + W <= len; j += W) Store(out + j, BinaryV(OP, Load<V>(x + j), yv));
    if (j < len) StorePart(out + j, BinaryV(OP, LoadPart<V>(x + j, len - j, T(1)), yv), len - j);
  } else if (sa == 0 && sb == 1) {
    const V xv = Set<V>(x[0]);
    for (; j + W <= len; j += W) Store(out + j, BinaryV(OP, xv, Load<V>(y + j)));
    if (j < len) StorePart(out + j, BinaryV(OP, xv, LoadPart<V>(y + j, len - j, T(1))), len - j);
  } else {  // any other strides: gather W lanes at a time
    for (; j < len; j += W) {
      int64_t m = len - j < W ? len - j : W;
      V xv = Set<V>(T(1)), yv = xv;
      for (int64_t l = 0; l < m; l++) {
        xv[l] = x[(j + l) * sa];
        yv[l] = y[(j + l) * sb];
      }
      StorePart(out + j, BinaryV(OP, xv, yv), m);
    }
  }
}

template <class T, BinaryOp OP>
void BinaryTT(const BinaryArgs& a) {
  const T* X = static_cast<const T*>(a.a);
  const T* Y = static_cast<const T*>(a.b);
  T* O = static_cast<T*>(a.out);
  // collapse: drop size-1 dims, merge d into d+1 where both inputs are contiguous across them
  int64_t shape[16], sa[16], sb[16];
  int nd = 0;
  for (int d = 0; d < a.nd; d++) {
    if (a.shape[d] == 0) return;
    if (a.shape[d] == 1) continue;
    shape[nd] = a.shape[d];
    sa[nd] = a.aStrides[d];
    sb[nd] = a.bStrides[d];
    nd++;
  }
  if (nd == 0) {
    O[0] = BinaryV(OP, Set<typename VT<T>::V>(X[0]), Set<typename VT<T>::V>(Y[0]))[0];
    return;
  }
  int m = 0;
  for (int d = 1; d < nd; d++) {
    if (sa[m] == sa[d] * shape[d] && sb[m] == sb[d] * shape[d]) {
      shape[m] *= shape[d];
      sa[m] = sa[d];
      sb[m] = sb[d];
    } else {
      m++;
      shape[m] = shape[d];
      sa[m] = sa[d];
      sb[m] = sb[d];
    }
  }
  nd = m + 1;
  const int64_t len = shape[nd - 1], la = sa[nd - 1], lb = sb[nd - 1];
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= shape[d];
  if (rows == 1) {  // one long row: split it
    int64_t nt = len >= kParMin ? (len + kChunk - 1) / kChunk : 1;
    auto f = [&](int64_t t) {
      int64_t j0 = t * kChunk, j1 = nt == 1 ? len : (j0 + kChunk < len ? j0 + kChunk : len);
      BinaryRow<T, OP>(X + j0 * la, la, Y + j0 * lb, lb, O + j0, j1 - j0);
    };
    Par(nt, f);
    return;
  }
  int64_t nt, ipt = ItemsPerTask(rows, len, &nt);
  auto f = [&](int64_t t) {
    int64_t r0 = t * ipt, r1 = r0 + ipt < rows ? r0 + ipt : rows;
    // offsets of row r0 (dims 0..nd-2), then an odometer
    int64_t idx[16], oa = 0, ob = 0;
    int64_t rem = r0;
    for (int d = nd - 2; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    for (int64_t r = r0; r < r1; r++) {
      BinaryRow<T, OP>(X + oa, la, Y + ob, lb, O + r * len, len);
      for (int d = nd - 2; d >= 0; d--) {
        idx[d]++;
        oa += sa[d];
        ob += sb[d];
        if (idx[d] < shape[d]) break;
        oa -= sa[d] * shape[d];
        ob -= sb[d] * shape[d];
        idx[d] = 0;
      }
    }
  };
  Par(nt, f);
}

template <class T>
void BinaryT(const BinaryArgs& a) {
  switch (a.op) {
#define WG_BCASE(name) \
  case BinaryOp::name: return BinaryTT<T, BinaryOp::name>(a);
    WG_BINARY_OPS(WG_BCASE)
#undef WG_BCASE
    default: return;
  }
}

// ---- reductions ----------------------------------------------------------------------------

// max/min with sticky NaN (the js rule: `if (v > a || v !== v) a = v`).
template <class V>
WG_INL V RedStep(ReduceOp op, V acc, V v) {
  switch (op) {
    case ReduceOp::max: return ((v > acc) | (v != v)) ? v : acc;
    case ReduceOp::min: return ((v < acc) | (v != v)) ? v : acc;
    case ReduceOp::prod: return acc * v;
    default: return acc + v;
  }
}
inline double RedStepS(ReduceOp op, double acc, double v) {
  switch (op) {
    case ReduceOp::max: return (v > acc || v != v) ? v : acc;
    case ReduceOp::min: return (v < acc || v != v) ? v : acc;
    case ReduceOp::prod: return acc * v;
    default: return acc + v;
  }
}
inline double RedInit(ReduceOp op) {
  switch (op) {
    case ReduceOp::max: return -__builtin_inf();
    case ReduceOp::min: return __builtin_inf();
    case ReduceOp::prod: return 1;
    default: return 0;
  }
}

// One contiguous run x[0..n) reduced (sum/prod in float64 lanes).
template <class T>
inline double RunReduce(ReduceOp op, const T* x, int64_t n) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const double init = RedInit(op);
  int64_t i = 0;
  double r;
  if (op == ReduceOp::sum || op == ReduceOp::prod) {
    WV acc = Set<WV>(init);
    if (n >= 8 * W) {
      // four accumulators (one would wait on the add latency: ~4 floats per cycle), combined in a
      // fixed order: the order depends on n only
      WV a1 = Set<WV>(init), a2 = Set<WV>(init), a3 = Set<WV>(init);
      for (; i + 4 * W <= n; i += 4 * W) {
        acc = RedStep(op, acc, Wide(Load<V>(x + i)));
        a1 = RedStep(op, a1, Wide(Load<V>(x + i + W)));
        a2 = RedStep(op, a2, Wide(Load<V>(x + i + 2 * W)));
        a3 = RedStep(op, a3, Wide(Load<V>(x + i + 3 * W)));
      }
      acc = RedStep(op, RedStep(op, acc, a1), RedStep(op, a2, a3));
    }
    for (; i + W <= n; i += W) acc = RedStep(op, acc, Wide(Load<V>(x + i)));
    if (i < n) acc = RedStep(op, acc, Wide(LoadPart<V>(x + i, n - i, T(init))));
    if (op == ReduceOp::sum) return HsumD(acc);
    r = 1;
    for (int l = 0; l < W; l++) r *= acc[l];
    return r;
  }
  V acc = Set<V>(T(init));
  for (; i + W <= n; i += W) acc = RedStep(op, acc, Load<V>(x + i));
  if (i < n) acc = RedStep(op, acc, LoadPart<V>(x + i, n - i, T(init)));
  r = init;
  for (int l = 0; l < W; l++) r = RedStepS(op, r, double(acc[l]));
  return r;
}

// The js kernel keeps the first zero it meets when max/min ties at ±0; lanes do not know which
// came first, so a zero result is replaced by the first zero of the run.
template <class T>
inline double FirstZero(const T* x, int64_t n, int64_t stride) {
  for (int64_t i = 0; i < n; i++)
    if (x[i * stride] == 0) return double(x[i * stride]);
  return 0;
}

static const int64_t kRunChunk = int64_t(1) << 15;  // a long inner==1 run is split in chunks this long

template <class T>
bool ReduceT(const ReduceArgs& a) {
  typedef typename VT<T>::V V;
  typedef typename WideT<T>::V WV;
  const int W = VT<T>::W;
  const T* X = static_cast<const T*>(a.x);
  T* O = static_cast<T*>(a.out);
  const ReduceOp op = a.op;
  const int64_t outer = a.outer, r = a.r, inner = a.inner;
  const bool minmax = op == ReduceOp::max || op == ReduceOp::min;
  if (outer == 0 || inner == 0) return true;
  if (inner == 1) {
    const int64_t chunks =
        r > kRunChunk && double(outer) * double(r) >= double(kParMin) ? (r + kRunChunk - 1) / kRunChunk : 1;
    if (chunks == 1) {
      int64_t nt, ipt = ItemsPerTask(outer, r, &nt);
      auto f = [&](int64_t t) {
        int64_t o0 = t * ipt, o1 = o0 + ipt < outer ? o0 + ipt : outer;
        for (int64_t o = o0; o < o1; o++) {
          double v = RunReduce(op, X + o * r, r);
          if (minmax && v == 0) v = FirstZero(X + o * r, r, 1);
          O[o] = T(v);
        }
      };
      Par(nt, f);
      return true;
    }
    // long runs: fixed chunks (by shape), partials combined in chunk order
    double* part = static_cast<double*>(__builtin_malloc(size_t(outer * chunks) * sizeof(double)));
    if (!part) return false;
    auto f = [&](int64_t t) {
      int64_t o = t / chunks, k = t % chunks;
      int64_t j0 = k * kRunChunk, j1 = j0 + kRunChunk < r ? j0 + kRunChunk : r;
      part[t] = RunReduce(op, X + o * r + j0, j1 - j0);
    };
    Par(outer * chunks, f);
    for (int64_t o = 0; o < outer; o++) {
      double v = RedInit(op);
      for (int64_t k = 0; k < chunks; k++) v = RedStepS(op, v, part[o * chunks + k]);
      if (minmax && v == 0) v = FirstZero(X + o * r, r, 1);
      O[o] = T(v);
    }
    __builtin_free(part);
    return true;
  }
  // inner > 1: for each output column, walk r in order (the js order), W columns at a time
  const int64_t colBlocks = (inner + W - 1) / W;
  int64_t nt, ipt = ItemsPerTask(outer * colBlocks, r * W, &nt);
  const double init = RedInit(op);
  auto f = [&](int64_t t) {
    int64_t i0 = t * ipt, i1 = i0 + ipt < outer * colBlocks ? i0 + ipt : outer * colBlocks;
    for (int64_t it = i0; it < i1; it++) {
      const int64_t o = it / colBlocks, c0 = (it % colBlocks) * W;
      const int64_t m = inner - c0 < W ? inner - c0 : W;
      const T* x = X + o * r * inner + c0;
      T* out = O + o * inner + c0;
      if (!minmax) {
        WV acc = Set<WV>(init);
        if (m == W)
          for (int64_t j = 0; j < r; j++) acc = RedStep(op, acc, Wide(Load<V>(x + j * inner)));
        else
          for (int64_t j = 0; j < r; j++) acc = RedStep(op, acc, Wide(LoadPart<V>(x + j * inner, m, T(init))));
        for (int64_t l = 0; l < m; l++) out[l] = T(acc[l]);
      } else {
        V acc = Set<V>(T(init));
        if (m == W)
          for (int64_t j = 0; j < r; j++) acc = RedStep(op, acc, Load<V>(x + j * inner));
        else
          for (int64_t j = 0; j < r; j++) acc = RedStep(op, acc, LoadPart<V>(x + j * inner, m, T(init)));
        for (int64_t l = 0; l < m; l++) out[l] = acc[l];
      }
    }
  };
  Par(nt, f);
  return true;
}

// ---- the table -----------------------------------------------------------------------------

inline void Softmax(const SoftmaxArgs& a) { a.f64 ? SoftmaxT<double>(a) : SoftmaxT<float>(a); }
inline void SoftmaxBackward(const SoftmaxArgs& a) { a.f64 ? SoftmaxBackwardT<double>(a) : SoftmaxBackwardT<float>(a); }
inline void CrossEntropy(const XentArgs& a) { a.f64 ? CrossEntropyT<double>(a) : CrossEntropyT<float>(a); }
inline void CrossEntropyBackward(const XentArgs& a) {
  a.f64 ? CrossEntropyBackwardT<double>(a) : CrossEntropyBackwardT<float>(a);
}
inline bool LayerNorm(const LayerNormArgs& a) { return a.f64 ? LayerNormT<double>(a) : LayerNormT<float>(a); }
inline bool LayerNormBackward(const LayerNormArgs& a) {
  return a.f64 ? LayerNormBackwardT<double>(a) : LayerNormBackwardT<float>(a);
}
inline void BatchNorm(const BatchNormArgs& a) { a.f64 ? BatchNormT<double>(a) : BatchNormT<float>(a); }
inline void BatchNormBackward(const BatchNormArgs& a) {
  a.f64 ? BatchNormBackwardT<double>(a) : BatchNormBackwardT<float>(a);
}
inline void AddBiasAct(const BiasActArgs& a) { a.f64 ? BiasActT<double>(a) : BiasActT<float>(a); }
inline void Unary(const UnaryArgs& a) { a.f64 ? UnaryT<double>(a) : UnaryT<float>(a); }
inline void UnaryGrad(const UnaryArgs& a) { a.f64 ? UnaryGradT<double>(a) : UnaryGradT<float>(a); }
inline void Binary(const BinaryArgs& a) { a.f64 ? BinaryT<double>(a) : BinaryT<float>(a); }
inline bool Reduce(const ReduceArgs& a) { return a.f64 ? ReduceT<double>(a) : ReduceT<float>(a); }

#define WG_STREAM_TABLE(var, ns, isaName)              \
  const StreamKernels var = {isaName,                  \
                             ns::Softmax,              \
                             ns::SoftmaxBackward,      \
                             ns::CrossEntropy,         \
                             ns::CrossEntropyBackward, \
                             ns::LayerNorm,            \
                             ns::LayerNormBackward,    \
                             ns::BatchNorm,            \
                             ns::BatchNormBackward,    \
                             ns::AddBiasAct,           \
                             ns::Unary,                \
                             ns::UnaryGrad,            \
                             ns::Binary,               \
                             ns::Reduce}
