// Recurrent kernels: the baseline gate table (SSE2 on x86-64: 4 float lanes; one lane elsewhere),
// the per-ISA table choice, and the whole-sequence loop of one layer and direction (rnn.h):
//   forward:  XG = X·W_ihᵀ + b_ih for all T·B rows in ONE GEMM; then per step t
//             HG = h_{t-1}·W_hhᵀ (one small GEMM) and the fused gate kernel on XG_t + (HG + b_hh)
//   backward: per step, from t = T-1 down, the fused gate backward gives dG_t (the pre-activation
//             gradient) and dh_{t-1} = dG_t·W_hh (+ dh·z for GRU); then ONE GEMM each for
//             dW_hh = dGᵀ·[h0; h_0..h_{T-2}], dW_ih = dGᵀ·X, dX = dG·W_ih, and column sums for the biases.
// The GEMMs are wgcpu::Kernels().sgemm/dgemm (threaded, packed); the gate kernels run on the pool
// over row blocks. Every element's arithmetic depends only on the shapes and the ISA, never on
// the thread count: results are identical run to run.
// Check: npx vitest run test/native/cpu-rnn.test.ts
#include "rnn.h"

#include <string.h>

#include <algorithm>
#include <new>
#include <vector>

#include "cpu_kernels.h"
#include "gemm_shared.h"
#include "pool.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace wgcpu {
namespace rnn {
namespace base {

#if defined(__x86_64__)
struct VF {
  typedef float E;
  typedef __m128 R;
  static const int W = 4;
  static R ld(const float* p) { return _mm_loadu_ps(p); }
  static void st(float* p, R v) { _mm_storeu_ps(p, v); }
  static R set1(float x) { return _mm_set1_ps(x); }
  static R add(R a, R b) { return _mm_add_ps(a, b); }
  static R sub(R a, R b) { return _mm_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm_mul_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static R div(R a, R b) { return _mm_div_ps(a, b); }
  static R min(R a, R b) { return _mm_min_ps(a, b); }
  static R max(R a, R b) { return _mm_max_ps(a, b); }
  static R round(R a) { return _mm_cvtepi32_ps(_mm_cvtps_epi32(a)); }  // |a| < 2^31 here
  static R pow2i(R n) {
    __m128i e = _mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127));
    return _mm_castsi128_ps(_mm_slli_epi32(e, 23));
  }
  static R gt0sel(R h, R v) { return _mm_and_ps(_mm_cmpgt_ps(h, _mm_setzero_ps()), v); }
  static R exp(R x);
  static R tanh(R x);
};
#include "rnn_body.h"
VF::R VF::exp(R x) { return PolyExp<VF>(x); }
VF::R VF::tanh(R x) { return RationalTanh<VF>(x); }
#else
#define WG_RNN_SCALAR_ONLY
#include "rnn_body.h"
#endif

}  // namespace base

const Ops kOpsBase = WG_RNN_OPS("base", base);

const Ops& Current() {
#if defined(__x86_64__)
  const char* isa = Kernels().name;
  if (strcmp(isa, "avx512") == 0) return kOpsAvx512;
  if (strcmp(isa, "avx2") == 0) return kOpsAvx2;
#endif
  return kOpsBase;
}

namespace {

const GateFns<float>& Fns(float*) { return Current().f; }
const GateFns<double>& Fns(double*) { return Current().d; }

// out (m, n) = op(a) · op(b), op(a) (m, k), op(b) (k, n); overwrites out
bool Gemm(const float* a, const float* b, float* out, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return Kernels().sgemm(GemmArgs<float>{a, b, out, 1, m, n, k, m * k, k * n, ta, tb});
}
bool Gemm(const double* a, const double* b, double* out, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return Kernels().dgemm(GemmArgs<double>{a, b, out, 1, m, n, k, m * k, k * n, ta, tb});
}

// f(r0, r1) over row blocks on the pool (inline when the work is below a few µs)
template <class F>
void Rows(int64_t rows, int64_t perRow, const F& f) {
  int64_t tasks = std::min<int64_t>(rows, std::max<int64_t>(1, rows * perRow / 8192));
  tasks = std::min<int64_t>(tasks, 4 * MaxThreads());
  if (tasks <= 1) {
    f(0, rows);
    return;
  }
  struct C {
    const F* f;
    int64_t rows, tasks;
  } c{&f, rows, tasks};
  ParallelFor(
      tasks,
      [](void* p, int64_t t, int) {
        auto* c = static_cast<C*>(p);
        (*c->f)(t * c->rows / c->tasks, (t + 1) * c->rows / c->tasks);
      },
      &c);
}

template <class T>
void AddRowBias(T* m, const T* b, int64_t rows, int64_t n) {
  if (!b) return;
  Rows(rows, n, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t j = 0; j < n; j++) m[r * n + j] += b[j];
  });
}

// out[j] = Σ_r m[r][j], rows in order (fixed summation order)
template <class T>
void ColSum(const T* m, T* out, int64_t rows, int64_t n) {
  if (!out) return;
  for (int64_t j = 0; j < n; j++) out[j] = 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < n; j++) out[j] += m[r * n + j];
}

template <class T>
bool FwdImpl(const SeqFwd<T>& a) {
  const GateFns<T>& g = Fns(static_cast<T*>(nullptr));
  const int64_t T_ = a.T_, B = a.B, I = a.I, H = a.H, G = Gates(a.mode), GH = G * H, TB = T_ * B;
  std::vector<T> xg, hg, tmp;
  try {
    xg.resize(size_t(TB * GH));
    hg.resize(size_t(B * GH));
    if (!a.saved && (a.mode == kLstm || a.mode == kGru)) tmp.resize(size_t(B * 4 * H));
  } catch (const std::bad_alloc&) {
    return false;
  }
  if (TB == 0 || H == 0) return true;
  if (!Gemm(a.x, a.wIh, xg.data(), TB, GH, I, false, true)) return false;  // X·W_ihᵀ
  AddRowBias(xg.data(), a.bIh, TB, GH);
  SharedB<T> whh;  // W_hhᵀ packed once for the T steps (it repacked the whole 128×512 W_hh every step)
  if (!whh.Init(a.wHh, B, GH, H, false, true)) return false;
  for (int64_t t = 0; t < T_; t++) {
    const T* hp = t ? a.hs + (t - 1) * B * H : a.h0;
    if (!whh.Mul(hp, hg.data())) return false;  // h·W_hhᵀ
    const T* x = xg.data() + t * B * GH;
    const T* hgp = hg.data();
    T* h = a.hs + t * B * H;
    T* sv = a.saved ? a.saved + t * B * 4 * H : tmp.data();
    if (a.mode == kLstm) {
      const T* cp = t ? a.cs + (t - 1) * B * H : a.c0;
      T* c = a.cs + t * B * H;
      Rows(B, 4 * H, [&](int64_t r0, int64_t r1) {
        g.lstm(x + r0 * GH, hgp + r0 * GH, a.bHh, cp + r0 * H, h + r0 * H, c + r0 * H, sv + r0 * 4 * H, r1 - r0, H);
      });
    } else if (a.mode == kGru) {
      Rows(B, 3 * H, [&](int64_t r0, int64_t r1) {
        g.gru(x + r0 * GH, hgp + r0 * GH, a.bHh, hp + r0 * H, h + r0 * H, sv + r0 * 4 * H, r1 - r0, H);
      });
    } else {
      bool relu = a.mode == kRelu;
      Rows(B, H,
           [&](int64_t r0, int64_t r1) { g.elman(x + r0 * GH, hgp + r0 * GH, a.bHh, h + r0 * H, r1 - r0, H, relu); });
    }
  }
  return true;
}

template <class T>
bool BwdImpl(const SeqBwd<T>& a) {
  const GateFns<T>& g = Fns(static_cast<T*>(nullptr));
  const int64_t T_ = a.T_, B = a.B, I = a.I, H = a.H, G = Gates(a.mode), GH = G * H, TB = T_ * B;
  const bool gru = a.mode == kGru, lstm = a.mode == kLstm;
  std::vector<T> dX, dHbuf, dh, dc, dc2, tmp, hprev;
  try {
    dX.resize(size_t(TB * GH));
    if (gru) dHbuf.resize(size_t(TB * GH));
    dh.resize(size_t(B * H));
    if (lstm) dc.resize(size_t(B * H)), dc2.resize(size_t(B * H));
    if (gru) tmp.resize(size_t(B * H));
    hprev.resize(size_t(TB * H));
  } catch (const std::bad_alloc&) {
    return false;
  }
  T* dXG = dX.data();                 // gradient of the input projections (T·B, G·H)
  T* dHG = gru ? dHbuf.data() : dXG;  // of the hidden projections (the same for LSTM / RNN)
  SharedB<T> whh;                     // W_hh packed once for the T steps' dh = dG·W_hh
  if (B && H && !whh.Init(a.wHh, B, H, GH, false, false)) return false;
  for (int64_t i = 0; i < B * H; i++) dh[i] = a.dhN ? a.dhN[i] : T(0);
  if (lstm)
    for (int64_t i = 0; i < B * H; i++) dc[i] = a.dcN ? a.dcN[i] : T(0);
  for (int64_t t = T_ - 1; t >= 0; t--) {
    if (a.dhs) {
      const T* d = a.dhs + t * B * H;
      for (int64_t i = 0; i < B * H; i++) dh[i] += d[i];
    }
    const T* hp = t ? a.hs + (t - 1) * B * H : a.h0;
    T* dXt = dXG + t * B * GH;
    T* dHt = dHG + t * B * GH;
    if (lstm) {
      const T* cp = t ? a.cs + (t - 1) * B * H : a.c0;
      const T* c = a.cs + t * B * H;
      const T* act = a.saved + t * B * 4 * H;
      Rows(B, 4 * H, [&](int64_t r0, int64_t r1) {
        g.lstmBack(act + r0 * 4 * H, cp + r0 * H, c + r0 * H, dh.data() + r0 * H, dc.data() + r0 * H, dXt + r0 * GH,
                   dc2.data() + r0 * H, r1 - r0, H);
      });
      dc.swap(dc2);
      if (B && H && !whh.Mul(dXt, dh.data())) return false;  // dh = dG·W_hh
    } else if (gru) {
      const T* sv = a.saved + t * B * 4 * H;
      Rows(B, 3 * H, [&](int64_t r0, int64_t r1) {
        g.gruBack(sv + r0 * 4 * H, hp + r0 * H, dh.data() + r0 * H, dXt + r0 * GH, dHt + r0 * GH, tmp.data() + r0 * H,
                  r1 - r0, H);
      });
      if (B && H && !whh.Mul(dHt, dh.data())) return false;
      for (int64_t i = 0; i < B * H; i++) dh[i] += tmp[i];
    } else {
      bool relu = a.mode == kRelu;
      const T* h = a.hs + t * B * H;
      g.elmanBack(h, dh.data(), dXt, B, H, relu);
      if (B && H && !whh.Mul(dXt, dh.data())) return false;
    }
  }
  if (a.dh0) memcpy(a.dh0, dh.data(), size_t(B * H) * sizeof(T));
  if (lstm && a.dc0) memcpy(a.dc0, dc.data(), size_t(B * H) * sizeof(T));
  if (TB && H) {
    memcpy(hprev.data(), a.h0, size_t(B * H) * sizeof(T));
    if (T_ > 1) memcpy(hprev.data() + B * H, a.hs, size_t((T_ - 1) * B * H) * sizeof(T));
  }
  // one GEMM each over all T·B rows (k = T·B)
  if (a.dWhh && !Gemm(dHG, hprev.data(), a.dWhh, GH, H, TB, true, false)) return false;
  if (a.dWih && !Gemm(dXG, a.x, a.dWih, GH, I, TB, true, false)) return false;
  if (a.dx && !Gemm(dXG, a.wIh, a.dx, TB, I, GH, false, false)) return false;
  ColSum(dXG, a.dbIh, TB, GH);
  ColSum(dHG, a.dbHh, TB, GH);
  return true;
}

}  // namespace

bool Forward(const SeqFwd<float>& a) { return FwdImpl(a); }
bool Forward(const SeqFwd<double>& a) { return FwdImpl(a); }
bool Backward(const SeqBwd<float>& a) { return BwdImpl(a); }
bool Backward(const SeqBwd<double>& a) { return BwdImpl(a); }

}  // namespace rnn
}  // namespace wgcpu
