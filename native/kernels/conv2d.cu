// conv2d (NCHW, no bias) and its two backward kernels as implicit GEMMs on the SIMT core of
// gemm_simt.cuh. x is (N, C, H, W), w is (K, C/groups, R, S), y is (N, K, P, Q); per group g:
//   forward     y(m, n)      = Σ_k w(m, k) · im2col(x)(k, n)   m: out channel, n: (b, p, q), k: (c, r, s)
//   gradInput   dx(c, n)     = Σ_k wᵀ(c, k) · col2im(dy)(k, n)  c: in channel, n: (b, h, w), k: (m, r, s)
//                              (dy(b, m, p, q) where p·strideH = h + padH − r·dilationH, else 0)
//   gradWeight  dw(m, n)     = Σ_k dy(m, k) · im2col(x)(n, k)   n: (c, r, s), k: (b, p, q); split-K with
//                              atomicAdd into a zeroed dw when the output is small and K is long.
// No im2col buffer: the loaders compute the source address of each element (out of range = 0).
// Any stride / padding / dilation / groups. grid.z = groups (× splits). Tiles: 64×64×16, 4×4/thread.
// float32 only (16-bit and float64 throw). Checked by test/backend/parity.test.ts (strides,
// padding, dilation, groups, depthwise, 1×1, odd sizes).

#include "gemm_simt.cuh"

namespace wg {
namespace k {
namespace {

// forward A: w viewed per group as (Mg, Kd), row-major: MatLoader with zStride = Mg·Kd.

// forward B: im2col(x) as (n = (b, p, q), k = (c, r, s)), rows along n.
struct Im2colN {
  static constexpr bool kAlongK = false;
  const float* x;
  Conv2d p;
  int rows;  // batch·outH·outW
  __device__ __forceinline__ float At(int g, int n, int k) const {
    const int PQ = p.outH * p.outW, RS = p.kH * p.kW, Cg = p.inC / p.groups;
    const int b = n / PQ, pq = n - b * PQ, oh = pq / p.outW, ow = pq - oh * p.outW;
    const int c = k / RS, rs = k - c * RS, r = rs / p.kW, s = rs - r * p.kW;
    const int ih = oh * p.strideH - p.padH + r * p.dilationH, iw = ow * p.strideW - p.padW + s * p.dilationW;
    if (ih < 0 || ih >= p.inH || iw < 0 || iw >= p.inW) return 0.f;
    return x[((static_cast<int64_t>(b) * p.inC + g * Cg + c) * p.inH + ih) * p.inW + iw];
  }
  __device__ __forceinline__ void Fetch4(float (&v)[4], int g, int n, int k, int kEnd) const {
#pragma unroll
    for (int e = 0; e < 4; ++e) v[e] = (k < kEnd && n + e < rows) ? At(g, n + e, k) : 0.f;
  }
};

struct ConvOutStore {  // y(b, g·Mg + m, p, q)
  float* y;
  Conv2d p;
  __device__ __forceinline__ void Store(int g, int m, int n, float v, bool) const {
    const int PQ = p.outH * p.outW, b = n / PQ, pq = n - b * PQ, Mg = p.outC / p.groups;
    y[(static_cast<int64_t>(b) * p.outC + g * Mg + m) * PQ + pq] = v;
  }
};

// gradInput A: wᵀ per group as (c, k = (m, r, s)): w[(g·Mg + m), c, r, s].
struct WeightT {
  static constexpr bool kAlongK = true;
  const float* w;
  Conv2d p;
  __device__ __forceinline__ void Fetch4(float (&v)[4], int g, int c, int k, int kEnd) const {
    const int RS = p.kH * p.kW, Cg = p.inC / p.groups, Mg = p.outC / p.groups;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int kk = k + e;
      if (c >= Cg || kk >= kEnd) {
        v[e] = 0.f;
        continue;
      }
      const int m = kk / RS, rs = kk - m * RS;
      v[e] = w[((static_cast<int64_t>(g) * Mg + m) * Cg + c) * RS + rs];
    }
  }
};

// gradInput B: (n = (b, h, w), k = (m, r, s)) → dy(b, g·Mg + m, p, q) when (p, q) hits (h, w) exactly.
struct Col2imN {
  static constexpr bool kAlongK = false;
  const float* dy;
  Conv2d p;
  int rows;  // batch·inH·inW
  __device__ __forceinline__ float At(int g, int n, int k) const {
    const int HW = p.inH * p.inW, RS = p.kH * p.kW, Mg = p.outC / p.groups;
    const int b = n / HW, hw = n - b * HW, ih = hw / p.inW, iw = hw - ih * p.inW;
    const int m = k / RS, rs = k - m * RS, r = rs / p.kW, s = rs - r * p.kW;
    const int th = ih + p.padH - r * p.dilationH, tw = iw + p.padW - s * p.dilationW;
    if (th < 0 || tw < 0) return 0.f;
    const int oh = th / p.strideH, ow = tw / p.strideW;
    if (oh * p.strideH != th || ow * p.strideW != tw || oh >= p.outH || ow >= p.outW) return 0.f;
    return dy[((static_cast<int64_t>(b) * p.outC + g * Mg + m) * p.outH + oh) * p.outW + ow];
  }
  __device__ __forceinline__ void Fetch4(float (&v)[4], int g, int n, int k, int kEnd) const {
#pragma unroll
    for (int e = 0; e < 4; ++e) v[e] = (k < kEnd && n + e < rows) ? At(g, n + e, k) : 0.f;
  }
};

struct GradInputStore {  // dx(b, g·Cg + c, h, w)
  float* dx;
  Conv2d p;
  __device__ __forceinline__ void Store(int g, int c, int n, float v, bool) const {
    const int HW = p.inH * p.inW, b = n / HW, hw = n - b * HW, Cg = p.inC / p.groups;
    dx[(static_cast<int64_t>(b) * p.inC + g * Cg + c) * HW + hw] = v;
  }
};

// gradWeight A: dy per group as (m, k = (b, p, q)).
struct DyRows {
  static constexpr bool kAlongK = true;
  const float* dy;
  Conv2d p;
  __device__ __forceinline__ void Fetch4(float (&v)[4], int g, int m, int k, int kEnd) const {
    const int PQ = p.outH * p.outW, Mg = p.outC / p.groups;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int kk = k + e;
      if (m >= Mg || kk >= kEnd) {
        v[e] = 0.f;
        continue;
      }
      const int b = kk / PQ, pq = kk - b * PQ;
      v[e] = dy[(static_cast<int64_t>(b) * p.outC + g * Mg + m) * PQ + pq];
    }
  }
};

// gradWeight B: im2col(x) as (n = (c, r, s), k = (b, p, q)), along k.
struct Im2colK {
  static constexpr bool kAlongK = true;
  const float* x;
  Conv2d p;
  __device__ __forceinline__ void Fetch4(float (&v)[4], int g, int n, int k, int kEnd) const {
    const int PQ = p.outH * p.outW, RS = p.kH * p.kW, Cg = p.inC / p.groups;
    if (n >= Cg * RS) {
      v[0] = v[1] = v[2] = v[3] = 0.f;
      return;
    }
    const int c = n / RS, rs = n - c * RS, r = rs / p.kW, s = rs - r * p.kW;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int kk = k + e;
      v[e] = 0.f;
      if (kk >= kEnd) continue;
      const int b = kk / PQ, pq = kk - b * PQ, oh = pq / p.outW, ow = pq - oh * p.outW;
      const int ih = oh * p.strideH - p.padH + r * p.dilationH, iw = ow * p.strideW - p.padW + s * p.dilationW;
      if (ih >= 0 && ih < p.inH && iw >= 0 && iw < p.inW)
        v[e] = x[((static_cast<int64_t>(b) * p.inC + g * Cg + c) * p.inH + ih) * p.inW + iw];
    }
  }
};

struct GradWeightStore {  // dw(g·Mg + m, n = (c, r, s)); atomic when split over K
  float* dw;
  Conv2d p;
  __device__ __forceinline__ void Store(int g, int m, int n, float v, bool atomic) const {
    const int Mg = p.outC / p.groups, CRS = (p.inC / p.groups) * p.kH * p.kW;
    float* q = dw + (static_cast<int64_t>(g) * Mg + m) * CRS + n;
    if (atomic) atomicAdd(q, v);
    else *q = v;
  }
};

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4, NT = (BM / TM) * (BN / TN);

template <class LA, class LB, class ST>
void Run(LA la, LB lb, ST st, int M, int N, int K, int groups, int splits, int kChunk, cudaStream_t s) {
  const int64_t z = static_cast<int64_t>(groups) * splits;
  const int64_t tilesM = CeilDiv(M, BM);
  const dim3 grid(static_cast<unsigned>(CeilDiv(N, BN)), static_cast<unsigned>(tilesM < 65535 ? tilesM : 65535),
                  static_cast<unsigned>(z < 65535 ? z : 65535));
  GemmSimtKernel<BM, BN, BK, TM, TN><<<grid, NT, 0, s>>>(la, lb, st, M, N, K, groups, splits, kChunk);
}

int SmCountConv() {
  int dev = 0, n = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
  return n > 0 ? n : 80;
}

}  // namespace

int LaunchConv2d(const void* x, const void* w, void* y, const Conv2d& p, int dtype, cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  const int Mg = p.outC / p.groups, Kd = (p.inC / p.groups) * p.kH * p.kW, N = p.batch * p.outH * p.outW;
  if (Mg <= 0 || N <= 0) return kOk;
  const auto* wf = static_cast<const float*>(w);
  MatLoader<float, true> la{wf, Kd, static_cast<int64_t>(Mg) * Kd, Mg, Aligned16(wf) && Kd % 4 == 0};
  Im2colN lb{static_cast<const float*>(x), p, N};
  Run(la, lb, ConvOutStore{static_cast<float*>(y), p}, Mg, N, Kd, p.groups, 1, Kd > 0 ? Kd : 1, s);
  return kOk;
}

int LaunchConv2dGradInput(const void* dy, const void* w, void* dx, const Conv2d& p, int dtype, cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  const int Cg = p.inC / p.groups, Kd = (p.outC / p.groups) * p.kH * p.kW, N = p.batch * p.inH * p.inW;
  if (Cg <= 0 || N <= 0) return kOk;
  WeightT la{static_cast<const float*>(w), p};
  Col2imN lb{static_cast<const float*>(dy), p, N};
  Run(la, lb, GradInputStore{static_cast<float*>(dx), p}, Cg, N, Kd, p.groups, 1, Kd > 0 ? Kd : 1, s);
  return kOk;
}

int LaunchConv2dGradWeight(const void* x, const void* dy, void* dw, const Conv2d& p, int dtype, cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  const int Mg = p.outC / p.groups, CRS = (p.inC / p.groups) * p.kH * p.kW, K = p.batch * p.outH * p.outW;
  if (Mg <= 0 || CRS <= 0) return kOk;
  // Split K when the output tiles alone cannot fill the GPU; each split gets at least 256 of K.
  const int64_t tiles = CeilDiv(Mg, BM) * CeilDiv(CRS, BN) * p.groups;
  int splits = 1;
  const int64_t want = 2 * SmCountConv();
  if (tiles < want && K > 512) {
    splits = static_cast<int>(CeilDiv(want, tiles));
    const int64_t maxSplits = CeilDiv(K, 256);
    if (splits > maxSplits) splits = static_cast<int>(maxSplits);
    if (splits > 64) splits = 64;
  }
  // 64-bit: K near INT_MAX must not wrap while rounding the chunk up to a multiple of BK
  int64_t chunk = CeilDiv(CeilDiv(K, splits), BK) * BK;
  if (chunk <= 0) chunk = BK;
  if (chunk > INT32_MAX) chunk = K;  // one split covers all of K
  const int kChunk = static_cast<int>(chunk);
  splits = static_cast<int>(CeilDiv(K, kChunk));
  if (splits < 1) splits = 1;
  if (splits > 1) {
    cudaMemsetAsync(dw, 0, static_cast<size_t>(p.outC) * CRS * sizeof(float), s);
  }
  DyRows la{static_cast<const float*>(dy), p};
  Im2colK lb{static_cast<const float*>(x), p};
  Run(la, lb, GradWeightStore{static_cast<float*>(dw), p}, Mg, CRS, K, p.groups, splits, kChunk, s);
  return kOk;
}

}  // namespace k
}  // namespace wg
