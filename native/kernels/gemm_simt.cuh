// The fp32 SIMT GEMM core shared by matmul.cu and conv2d.cu (implicit GEMM):
//   C[z](m, n) = Σ_k A[z](m, k) · B[z](n, k)   for m < M, n < N, k in the split's range of [0, K)
//
// A and B are reached through loader functors, so the same core multiplies plain matrices
// (MatLoader: strided rows, float4 loads when aligned) and the implicit im2col views of conv2d
// (index math per element, nothing materialised). The epilogue is a store functor.
//
// Tiling: block tile BM×BN, k-tile BK, each of the (BM/TM)·(BN/TN) threads owns a TM×TN register
// block of C. Every thread fetches one group of 4 consecutive elements of A and of B per k-tile
// (BM·BK = BN·BK = 4·threads), along k or along m/n as the loader's memory layout prefers
// (kAlongK), and stores them k-major into shared memory (As[k][m], Bs[k][n]) so the inner loop reads
// float4 rows. Two shared buffers with the next tile prefetched into registers: one barrier per k-tile.
// grid: x = N tiles, y = M tiles (grid-stride, at most 65535), z = batch·splits (grid-stride over z). Split-K: z =
// batch·splits + split, each split covers kChunk of K and the store functor accumulates atomically.
#pragma once

#include <type_traits>

#include "common.cuh"

namespace wg {
namespace k {

template <int BM, int BN, int BK, int TM, int TN, class LA, class LB, class ST>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    GemmSimtKernel(LA la, LB lb, ST st, int M, int N, int K, int zCount, int splits, int kChunk) {
  constexpr int NT = (BM / TM) * (BN / TN);
  static_assert(BM * BK == 4 * NT && BN * BK == 4 * NT, "one group of 4 per thread per operand");
  static_assert(TM % 4 == 0 && TN % 4 == 0, "float4 fragment reads");
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];

  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int n0 = blockIdx.x * BN;
  // The group of 4 this thread loads, in tile coordinates.
  const int ar = LA::kAlongK ? tid / (BK / 4) : (tid % (BM / 4)) * 4;
  const int ak = LA::kAlongK ? (tid % (BK / 4)) * 4 : tid / (BM / 4);
  const int br = LB::kAlongK ? tid / (BK / 4) : (tid % (BN / 4)) * 4;
  const int bk = LB::kAlongK ? (tid % (BK / 4)) * 4 : tid / (BN / 4);

  // M tiles grid-stride over y (gridDim.y <= 65535; M may need more tiles), batch·splits over z.
  const int tilesM = static_cast<int>(CeilDiv(M, BM));
  for (int mt = blockIdx.y; mt < tilesM; mt += gridDim.y)
    for (int zz = blockIdx.z; zz < zCount * splits; zz += gridDim.z) {
      const int m0 = mt * BM;
      const int z = zz / splits, sp = zz - z * splits;
      const int kBegin = sp * kChunk;
      const int kEnd = min(K, kBegin + kChunk);

      float acc[TM][TN];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

      float ra[4], rb[4];
      auto stage = [&](int buf) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          if (LA::kAlongK) As[buf][ak + e][ar] = ra[e];
          else As[buf][ak][ar + e] = ra[e];
          if (LB::kAlongK) Bs[buf][bk + e][br] = rb[e];
          else Bs[buf][bk][br + e] = rb[e];
        }
      };
      la.Fetch4(ra, z, m0 + ar, kBegin + ak, kEnd);
      lb.Fetch4(rb, z, n0 + br, kBegin + bk, kEnd);
      stage(0);
      __syncthreads();

      int buf = 0;
      for (int k0 = kBegin; k0 < kEnd; k0 += BK) {
        const bool more = k0 + BK < kEnd;
        if (more) {  // prefetch the next tile into registers while computing this one
          la.Fetch4(ra, z, m0 + ar, k0 + BK + ak, kEnd);
          lb.Fetch4(rb, z, n0 + br, k0 + BK + bk, kEnd);
        }
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
          float a[TM], b[TN];
#pragma unroll
          for (int i = 0; i < TM; i += 4) {
            const float4 v = *reinterpret_cast<const float4*>(&As[buf][kk][ty * TM + i]);
            a[i] = v.x;
            a[i + 1] = v.y;
            a[i + 2] = v.z;
            a[i + 3] = v.w;
          }
#pragma unroll
          for (int j = 0; j < TN; j += 4) {
            const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][kk][tx * TN + j]);
            b[j] = v.x;
            b[j + 1] = v.y;
            b[j + 2] = v.z;
            b[j + 3] = v.w;
          }
#pragma unroll
          for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) stage(buf ^ 1);
        __syncthreads();
        buf ^= 1;
      }

#pragma unroll
      for (int i = 0; i < TM; ++i) {
        const int m = m0 + ty * TM + i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
          const int n = n0 + tx * TN + j;
          if (n < N) st.Store(z, m, n, acc[i][j], splits > 1);
        }
      }
      __syncthreads();  // the next z reuses the shared buffers
    }
}

// A plain strided matrix seen as (row, k): element at row·ld + k (kAlongK) or k·ld + row.
// vec: base, ld and zStride allow 16-byte float4 loads (float only).
template <typename T, bool ALONG_K>
struct MatLoader {
  static constexpr bool kAlongK = ALONG_K;
  const T* p;
  int64_t ld, zStride;
  int rows;
  bool vec;
  __device__ __forceinline__ void Fetch4(float (&v)[4], int z, int row, int k, int kEnd) const {
    const T* base = p + static_cast<int64_t>(z) * zStride;
    if (ALONG_K) {
      if (row >= rows) {
        v[0] = v[1] = v[2] = v[3] = 0.f;
        return;
      }
      const T* q = base + static_cast<int64_t>(row) * ld + k;
      if (std::is_same<T, float>::value && vec && k + 3 < kEnd) {
        const float4 f = *reinterpret_cast<const float4*>(q);
        v[0] = f.x;
        v[1] = f.y;
        v[2] = f.z;
        v[3] = f.w;
        return;
      }
#pragma unroll
      for (int e = 0; e < 4; ++e) v[e] = k + e < kEnd ? static_cast<float>(ToF(q[e])) : 0.f;
    } else {
      if (k >= kEnd) {
        v[0] = v[1] = v[2] = v[3] = 0.f;
        return;
      }
      const T* q = base + static_cast<int64_t>(k) * ld + row;
      if (std::is_same<T, float>::value && vec && row + 3 < rows) {
        const float4 f = *reinterpret_cast<const float4*>(q);
        v[0] = f.x;
        v[1] = f.y;
        v[2] = f.z;
        v[3] = f.w;
        return;
      }
#pragma unroll
      for (int e = 0; e < 4; ++e) v[e] = row + e < rows ? static_cast<float>(ToF(q[e])) : 0.f;
    }
  }
};

// ---- plain matrices (matmul.cu's SIMT path) ----------------------------------------------------
// C[z] (m, n) row-major, contiguous over z.
template <typename T>
struct MatStore {
  T* out;
  int64_t ldc, zStride;
  __device__ __forceinline__ void Store(int z, int m, int n, float v, bool /*atomic*/) const {
    out[static_cast<int64_t>(z) * zStride + static_cast<int64_t>(m) * ldc + n] = FromF<T>(v);
  }
};

// Loaders, store and grid of one batched GEMM (A (m, k) or (k, m) when !AK, B (n, k) when BK_ else
// (k, n)): grid x = N tiles, y = M tiles, z = batch, y and z capped at 65535 (the kernel grid-strides).
// Host code shared by matmul.cu's launcher and the host emulation (test/native/tc-emu).
template <typename T, bool AK, bool BK_>
struct SimtPlan {
  MatLoader<T, AK> la;
  MatLoader<T, BK_> lb;
  MatStore<T> st;
  dim3 grid;
};

template <typename T, bool AK, bool BK_, int BM, int BN>
inline SimtPlan<T, AK, BK_> PlanSimt(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch,
                                     int64_t bBatch) {
  const int64_t lda = AK ? k : m, ldb = BK_ ? k : n;
  const bool isF = sizeof(T) == 4;
  const int64_t tilesM = CeilDiv(m, BM);
  return SimtPlan<T, AK, BK_>{
      MatLoader<T, AK>{a, lda, aBatch, m, isF && Aligned16(a) && lda % 4 == 0 && aBatch % 4 == 0},
      MatLoader<T, BK_>{b, ldb, bBatch, n, isF && Aligned16(b) && ldb % 4 == 0 && bBatch % 4 == 0},
      MatStore<T>{c, n, static_cast<int64_t>(m) * n},
      dim3(static_cast<unsigned>(CeilDiv(n, BN)), static_cast<unsigned>(tilesM < 65535 ? tilesM : 65535),
           static_cast<unsigned>(batch < 65535 ? batch : 65535))};
}

}  // namespace k
}  // namespace wg
