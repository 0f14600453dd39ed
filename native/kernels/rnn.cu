// Fused gate math of one LSTM / GRU step (the matmuls are done by the op layer with matmul).
//   LSTM (torch order i, f, g, o): gates (B, 4H) pre-activation, cPrev (B, H)
//     i = σ(gi), f = σ(gf), g = tanh(gg), o = σ(go); c = f·cPrev + i·g; h = o·tanh(c); act = [i, f, g, o]
//   backward: dcT = dc + dh·o·(1 − tanh²c); do = dh·tanh c; di = dcT·g; dg = dcT·i; df = dcT·cPrev;
//     dGates = [di·i(1−i), df·f(1−f), dg·(1−g²), do·o(1−o)], dcPrev = dcT·f
//   GRU (torch order r, z, n): xg, hg (B, 3H), hPrev (B, H)
//     r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r·hn), h = (1−z)·n + z·hPrev; saved = [r, z, n, hn]
//   backward: dn = dh(1−z)(1−n²); dz = dh(hPrev − n)z(1−z); dr = dn·hn·r(1−r)
//     dxg = [dr, dz, dn], dhg = [dr, dz, dn·r], dhPrev (direct part) = dh·z
// Launch: one thread per (b, j), grid-stride, 256 threads.

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename T>
__global__ void LstmCellKernel(const T* gates, const T* cPrev, T* h, T* c, T* act, int64_t B, int64_t H) {
  using A = Acc<T>;
  WG_GRID_STRIDE(idx, B * H) {
    const int64_t b = idx / H, j = idx - b * H;
    const T* gr = gates + b * 4 * H;
    const A i = Sigmoid(ToF(gr[j])), f = Sigmoid(ToF(gr[H + j])), g = tanh(ToF(gr[2 * H + j])),
            o = Sigmoid(ToF(gr[3 * H + j]));
    const A cv = f * ToF(cPrev[idx]) + i * g;
    c[idx] = FromF<T>(cv);
    h[idx] = FromF<T>(o * tanh(cv));
    T* ar = act + b * 4 * H;
    ar[j] = FromF<T>(i);
    ar[H + j] = FromF<T>(f);
    ar[2 * H + j] = FromF<T>(g);
    ar[3 * H + j] = FromF<T>(o);
  }
}

template <typename T>
__global__ void LstmCellBackwardKernel(const T* act, const T* cPrev, const T* c, const T* dh, const T* dc, T* dGates,
                                       T* dcPrev, int64_t B, int64_t H) {
  using A = Acc<T>;
  WG_GRID_STRIDE(idx, B * H) {
    const int64_t b = idx / H, j = idx - b * H;
    const T* ar = act + b * 4 * H;
    const A i = ToF(ar[j]), f = ToF(ar[H + j]), g = ToF(ar[2 * H + j]), o = ToF(ar[3 * H + j]);
    const A tc = tanh(ToF(c[idx])), dhv = ToF(dh[idx]);
    const A dcT = (dc != nullptr ? ToF(dc[idx]) : A(0)) + dhv * o * (A(1) - tc * tc);
    T* dr = dGates + b * 4 * H;
    dr[j] = FromF<T>(dcT * g * i * (A(1) - i));
    dr[H + j] = FromF<T>(dcT * ToF(cPrev[idx]) * f * (A(1) - f));
    dr[2 * H + j] = FromF<T>(dcT * i * (A(1) - g * g));
    dr[3 * H + j] = FromF<T>(dhv * tc * o * (A(1) - o));
    dcPrev[idx] = FromF<T>(dcT * f);
  }
}

template <typename T>
__global__ void GruCellKernel(const T* xg, const T* hg, const T* hPrev, T* h, T* saved, int64_t B, int64_t H) {
  using A = Acc<T>;
  WG_GRID_STRIDE(idx, B * H) {
    const int64_t b = idx / H, j = idx - b * H;
    const T* xr = xg + b * 3 * H;
    const T* hr = hg + b * 3 * H;
    const A r = Sigmoid(ToF(xr[j]) + ToF(hr[j]));
    const A z = Sigmoid(ToF(xr[H + j]) + ToF(hr[H + j]));
    const A hn = ToF(hr[2 * H + j]);
    const A n = tanh(ToF(xr[2 * H + j]) + r * hn);
    h[idx] = FromF<T>((A(1) - z) * n + z * ToF(hPrev[idx]));
    T* sr = saved + b * 4 * H;
    sr[j] = FromF<T>(r);
    sr[H + j] = FromF<T>(z);
    sr[2 * H + j] = FromF<T>(n);
    sr[3 * H + j] = FromF<T>(hn);
  }
}

template <typename T>
__global__ void GruCellBackwardKernel(const T* saved, const T* hPrev, const T* dh, T* dxg, T* dhg, T* dhPrev, int64_t B,
                                      int64_t H) {
  using A = Acc<T>;
  WG_GRID_STRIDE(idx, B * H) {
    const int64_t b = idx / H, j = idx - b * H;
    const T* sr = saved + b * 4 * H;
    const A r = ToF(sr[j]), z = ToF(sr[H + j]), n = ToF(sr[2 * H + j]), hn = ToF(sr[3 * H + j]);
    const A d = ToF(dh[idx]);
    const A dn = d * (A(1) - z) * (A(1) - n * n);
    const A dz = d * (ToF(hPrev[idx]) - n) * z * (A(1) - z);
    const A dr = dn * hn * r * (A(1) - r);
    T* xo = dxg + b * 3 * H;
    T* ho = dhg + b * 3 * H;
    xo[j] = FromF<T>(dr);
    xo[H + j] = FromF<T>(dz);
    xo[2 * H + j] = FromF<T>(dn);
    ho[j] = FromF<T>(dr);
    ho[H + j] = FromF<T>(dz);
    ho[2 * H + j] = FromF<T>(dn * r);
    dhPrev[idx] = FromF<T>(d * z);
  }
}

}  // namespace

int LaunchLstmCell(const void* gates, const void* cPrev, void* h, void* c, void* act, int64_t batch, int64_t hidden,
                   int dtype, cudaStream_t s) {
  const int64_t n = batch * hidden;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, LstmCellKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               static_cast<const T*>(gates), static_cast<const T*>(cPrev), static_cast<T*>(h),
                               static_cast<T*>(c), static_cast<T*>(act), batch, hidden))
}

int LaunchLstmCellBackward(const void* act, const void* cPrev, const void* c, const void* dh, const void* dc,
                           void* dGates, void* dcPrev, int64_t batch, int64_t hidden, int dtype, cudaStream_t s) {
  const int64_t n = batch * hidden;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, LstmCellBackwardKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               static_cast<const T*>(act), static_cast<const T*>(cPrev), static_cast<const T*>(c),
                               static_cast<const T*>(dh), static_cast<const T*>(dc), static_cast<T*>(dGates),
                               static_cast<T*>(dcPrev), batch, hidden))
}

int LaunchGruCell(const void* xg, const void* hg, const void* hPrev, void* h, void* saved, int64_t batch,
                  int64_t hidden, int dtype, cudaStream_t s) {
  const int64_t n = batch * hidden;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, GruCellKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               static_cast<const T*>(xg), static_cast<const T*>(hg), static_cast<const T*>(hPrev),
                               static_cast<T*>(h), static_cast<T*>(saved), batch, hidden))
}

int LaunchGruCellBackward(const void* saved, const void* hPrev, const void* dh, void* dxg, void* dhg, void* dhPrev,
                          int64_t batch, int64_t hidden, int dtype, cudaStream_t s) {
  const int64_t n = batch * hidden;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, GruCellBackwardKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               static_cast<const T*>(saved), static_cast<const T*>(hPrev), static_cast<const T*>(dh),
                               static_cast<T*>(dxg), static_cast<T*>(dhg), static_cast<T*>(dhPrev), batch, hidden))
}

}  // namespace k
}  // namespace wg
