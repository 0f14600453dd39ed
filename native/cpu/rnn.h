// Recurrent kernels of the CPU addon (rnn.cc, rnn_avx2.cc, rnn_avx512.cc; entry points in
// napi_rnn.cc): the fused gate math of one step for LSTM, GRU and the Elman RNN (tanh / relu),
// forward and backward, and the whole sequence loop over T steps built from them and the GEMM.
// Torch's gate orders and formulas, the js kernels' (lib/backend/js/rnn.ts) definitions:
//   LSTM (i, f, g, o): c = σ(f)·cPrev + σ(i)·tanh(g), h = σ(o)·tanh(c); act = [σi, σf, tanh g, σo]
//   GRU (r, z, n): r = σ(xr+hr), z = σ(xz+hz), n = tanh(xn + r·hn), h = (1-z)·n + z·hPrev;
//                  saved = [r, z, n, hn]
//   RNN: h = tanh(pre) or relu(pre)
// Gate kernels work on `rows` rows (batch rows) of H hidden units; the pre-activations are
// xg + (hg + bias), with hg and bias optional (null: absent). float32 runs SIMD with a
// polynomial exp / rational tanh (a few ulp); float64 uses the C library's exp / tanh.
// Plain C types only: shared by translation units built with different -m flags.
#pragma once

#include <math.h>
#include <stdint.h>

namespace wgcpu {
namespace rnn {

template <class T>
struct GateFns {
  // xg, hg (rows, 4H); b (4H); cPrev, h, c (rows, H); act (rows, 4H)
  void (*lstm)(const T* xg, const T* hg, const T* b, const T* cPrev, T* h, T* c, T* act, int64_t rows, int64_t H);
  // dc may be null (0); dG (rows, 4H) pre-activation; dcPrev (rows, H)
  void (*lstmBack)(const T* act, const T* cPrev, const T* c, const T* dh, const T* dc, T* dG, T* dcPrev, int64_t rows,
                   int64_t H);
  // xg, hg (rows, 3H) (hg without b_hh when b is given: hg + b is used); hPrev, h (rows, H); saved (rows, 4H)
  void (*gru)(const T* xg, const T* hg, const T* b, const T* hPrev, T* h, T* saved, int64_t rows, int64_t H);
  // dxg, dhg (rows, 3H); dhPrev (rows, H) = dh·z (the direct part)
  void (*gruBack)(const T* saved, const T* hPrev, const T* dh, T* dxg, T* dhg, T* dhPrev, int64_t rows, int64_t H);
  // h = act(xg + (hg + b)) over (rows, H); relu when `relu`, else tanh
  void (*elman)(const T* xg, const T* hg, const T* b, T* h, int64_t rows, int64_t H, bool relu);
  // dpre = dh·(1 - h²) (tanh) or dh·[h > 0] (relu)
  void (*elmanBack)(const T* h, const T* dh, T* dpre, int64_t rows, int64_t H, bool relu);
};

struct Ops {
  const char* isa;
  GateFns<float> f;
  GateFns<double> d;
};

extern const Ops kOpsAvx512;
extern const Ops kOpsAvx2;
extern const Ops kOpsBase;

// The table for the ISA wgcpu::Kernels() picked (WATTGRAD_CPU_ISA / cpuSelectIsa force it).
const Ops& Current();

enum Mode { kTanh = 0, kRelu = 1, kLstm = 2, kGru = 3 };
inline int Gates(int mode) { return mode == kLstm ? 4 : mode == kGru ? 3 : 1; }

// One layer, one direction, the whole sequence (rnn.cc). G = Gates(mode).
//   x (T, B, I); h0 (B, H); c0 (B, H) (LSTM only); wIh (G·H, I); wHh (G·H, H); bIh, bHh (G·H) or null
//   hs (T, B, H) out: every step's h; cs (T, B, H) out, LSTM only: every step's c;
//   saved (T, B, 4H): LSTM act, GRU [r, z, n, hn]; null for RNN (and allowed null when no backward follows)
// Returns false when out of memory.
template <class T>
struct SeqFwd {
  int mode;
  int64_t T_, B, I, H;
  const T *x, *h0, *c0, *wIh, *wHh, *bIh, *bHh;
  T *hs, *cs, *saved;
};
// Gradients of sum(dhs·hs) + sum(dhN·h_T) + sum(dcN·c_T) (dhs, dhN, dcN each may be null = 0).
// Writes (overwrites) dx (T, B, I) (null: skipped), dh0, dc0 (LSTM), dWih, dWhh, dbIh, dbHh (null: skipped).
template <class T>
struct SeqBwd {
  int mode;
  int64_t T_, B, I, H;
  const T *x, *h0, *c0, *wIh, *wHh, *hs, *cs, *saved, *dhs, *dhN, *dcN;
  T *dx, *dh0, *dc0, *dWih, *dWhh, *dbIh, *dbHh;
};
bool Forward(const SeqFwd<float>& a);
bool Forward(const SeqFwd<double>& a);
bool Backward(const SeqBwd<float>& a);
bool Backward(const SeqBwd<double>& a);

}  // namespace rnn
}  // namespace wgcpu
