// The tensor-core GEMM kernel of matmul.cu (see the header there for the paths and tiling):
//   C[z] (M, N) = op(A[z]) · op(B[z]) with mma.sync m16n8k8 TF32 (float) or m16n8k16 bf16/f16,
//   fp32 accumulate, 128×128×32 block tiles, 256 threads = 8 warps as 2 (m) × 4 (n), 64×32 per warp.
// A header of its own so that test/native/tc-emu compiles this exact source as host C++ (threads
// as fibers, the mma/cvt instructions of ptx_tc.cuh emulated from the PTX ISA fragment tables):
//   npx vitest run test/native/tc-emu.test.ts
// Compiled out in the simulator build (WG_NO_TENSOR_CORES: GPGPU-Sim cannot parse these instructions).
#pragma once

#ifndef WG_NO_TENSOR_CORES

#include "common.cuh"
#include "ptx_tc.cuh"

namespace wg {
namespace k {
namespace {

constexpr int TC_BM = 128, TC_BN = 128, TC_BK = 32, TC_THREADS = 256;

// Shared tile of one operand, ROWS (m or n) × BK, in the operand's memory order.
// k-inner: S[row][k], row pitch BK + PADK; row-inner: S[k][row], pitch ROWS + 8.
template <typename T, bool ALONG_K, int ROWS>
struct TcTile {
  static constexpr int PADK = sizeof(T) == 4 ? 4 : 8;
  static constexpr int kElems = ALONG_K ? ROWS * (TC_BK + PADK) : TC_BK * (ROWS + 8);
  __device__ static __forceinline__ int Index(int row, int k) {
    return ALONG_K ? row * (TC_BK + PADK) + k : k * (ROWS + 8) + row;
  }
};

__device__ __forceinline__ uint32_t ToTf32(float f) { return CvtRnaTf32(f); }

template <typename T>
__device__ __forceinline__ uint32_t Pack2(T lo, T hi) {
  const uint16_t l = reinterpret_cast<const uint16_t&>(lo), h = reinterpret_cast<const uint16_t&>(hi);
  return static_cast<uint32_t>(l) | (static_cast<uint32_t>(h) << 16);
}

// Global → registers: 4 groups of 4 consecutive elements per thread per operand (ROWS·BK / 4 / 256 = 4).
// Group q = v·256 + tid; along k: row = q / (BK/4), k = (q % (BK/4))·4; along rows: k = q / (ROWS/4), row = (q %
// (ROWS/4))·4.
template <typename T, bool ALONG_K, int ROWS>
struct TcLoader {
  const T* p;
  int64_t ld;
  int rows, K;
  bool vec;  // base, ld and batch stride allow 4-element vector loads
  __device__ __forceinline__ void Coords(int v, int& row, int& k) const {
    const int q = v * TC_THREADS + threadIdx.x;
    if (ALONG_K) {
      row = q / (TC_BK / 4);
      k = (q % (TC_BK / 4)) * 4;
    } else {
      k = q / (ROWS / 4);
      row = (q % (ROWS / 4)) * 4;
    }
  }
  __device__ __forceinline__ void Fetch(T (&r)[4][4], int row0, int k0) const {
#pragma unroll
    for (int v = 0; v < 4; ++v) {
      int row, k;
      Coords(v, row, k);
      row += row0;
      k += k0;
      const bool inb = ALONG_K ? (row < rows && k + 3 < K) : (k < K && row + 3 < rows);
      const T* q = ALONG_K ? p + static_cast<int64_t>(row) * ld + k : p + static_cast<int64_t>(k) * ld + row;
      if (vec && inb) {
        if constexpr (sizeof(T) == 4) {
          const float4 f = *reinterpret_cast<const float4*>(q);
          r[v][0] = reinterpret_cast<const T&>(f.x);
          r[v][1] = reinterpret_cast<const T&>(f.y);
          r[v][2] = reinterpret_cast<const T&>(f.z);
          r[v][3] = reinterpret_cast<const T&>(f.w);
        } else {
          const uint2 u = *reinterpret_cast<const uint2*>(q);
          const T* h = reinterpret_cast<const T*>(&u);
          r[v][0] = h[0];
          r[v][1] = h[1];
          r[v][2] = h[2];
          r[v][3] = h[3];
        }
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const bool ok = ALONG_K ? (row < rows && k + e < K) : (k < K && row + e < rows);
          r[v][e] = ok ? q[e] : FromF<T>(0.f);
        }
      }
    }
  }
  __device__ __forceinline__ void Stage(T* s, const T (&r)[4][4]) const {
#pragma unroll
    for (int v = 0; v < 4; ++v) {
      int row, k;
      Coords(v, row, k);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if (ALONG_K) s[TcTile<T, ALONG_K, ROWS>::Index(row, k + e)] = r[v][e];
        else s[TcTile<T, ALONG_K, ROWS>::Index(row + e, k)] = r[v][e];
      }
    }
  }
};

// One mma tile step: acc (16×8) += a (16×KS) · b (KS×8). KS = 8 (tf32) or 16 (bf16/f16).
__device__ __forceinline__ void Mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], float) {
  MmaM16n8k8Tf32(c, a, b);
}
__device__ __forceinline__ void Mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], __nv_bfloat16) {
  MmaM16n8k16Bf16(c, a, b);
}
__device__ __forceinline__ void Mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], __half) {
  MmaM16n8k16F16(c, a, b);
}

// Fragment element (row, k) of a staged tile as an mma operand register.
// tf32: one element per register. 16-bit: elements (row, k) and (row, k+1) packed, k even.
template <typename T, bool ALONG_K, int ROWS>
__device__ __forceinline__ uint32_t Frag(const T* s, int row, int k) {
  using Tile = TcTile<T, ALONG_K, ROWS>;
  if constexpr (sizeof(T) == 4) {
    return ToTf32(reinterpret_cast<const float&>(s[Tile::Index(row, k)]));
  } else {
    if constexpr (ALONG_K) return *reinterpret_cast<const uint32_t*>(&s[Tile::Index(row, k)]);
    else return Pack2(s[Tile::Index(row, k)], s[Tile::Index(row, k + 1)]);
  }
}

template <typename T, bool AK, bool BK_>
__global__ void __launch_bounds__(TC_THREADS)
    MatmulTcKernel(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C, int batch, int M, int N, int K,
                   int64_t lda, int64_t ldb, int64_t aBatch, int64_t bBatch, bool vecA, bool vecB) {
  constexpr int KS = sizeof(T) == 4 ? 8 : 16;
  using TA = TcTile<T, AK, TC_BM>;
  using TB = TcTile<T, BK_, TC_BN>;
  __shared__ __align__(16) T As[TA::kElems];
  __shared__ __align__(16) T Bs[TB::kElems];

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, tig = lane & 3;
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;  // warp tile origin in the block tile
  const int n0 = blockIdx.x * TC_BN;
  const int tilesM = static_cast<int>(CeilDiv(M, TC_BM));

  // M tiles grid-stride over y (gridDim.y <= 65535), batch over z.
  for (int mt = blockIdx.y; mt < tilesM; mt += gridDim.y)
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
      const int m0 = mt * TC_BM;
      TcLoader<T, AK, TC_BM> la{A + z * aBatch, lda, M, K, vecA};
      TcLoader<T, BK_, TC_BN> lb{B + z * bBatch, ldb, N, K, vecB};
      float acc[4][4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

      T ra[4][4], rb[4][4];
      la.Fetch(ra, m0, 0);
      lb.Fetch(rb, n0, 0);
      for (int k0 = 0; k0 < K; k0 += TC_BK) {
        la.Stage(As, ra);
        lb.Stage(Bs, rb);
        __syncthreads();
        if (k0 + TC_BK < K) {  // prefetch the next k-tile while the tensor cores work
          la.Fetch(ra, m0, k0 + TC_BK);
          lb.Fetch(rb, n0, k0 + TC_BK);
        }
#pragma unroll
        for (int kk = 0; kk < TC_BK; kk += KS) {
          uint32_t af[4][4], bf[4][2];
          constexpr int H = KS / 2;  // second half of the k-slice: +4 (tf32) or +8 (16-bit)
          const int kc = sizeof(T) == 4 ? kk + tig : kk + 2 * tig;
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int r = wm + i * 16 + g;
            af[i][0] = Frag<T, AK, TC_BM>(As, r, kc);
            af[i][1] = Frag<T, AK, TC_BM>(As, r + 8, kc);
            af[i][2] = Frag<T, AK, TC_BM>(As, r, kc + H);
            af[i][3] = Frag<T, AK, TC_BM>(As, r + 8, kc + H);
          }
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const int c = wn + j * 8 + g;
            bf[j][0] = Frag<T, BK_, TC_BN>(Bs, c, kc);
            bf[j][1] = Frag<T, BK_, TC_BN>(Bs, c, kc + H);
          }
#pragma unroll
          for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) Mma(acc[i][j], af[i], bf[j], T());
        }
        __syncthreads();
      }

      // c0: (g, 2tig), c1: (g, 2tig+1), c2: (g+8, 2tig), c3: (g+8, 2tig+1)
      T* Cz = C + static_cast<int64_t>(z) * M * N;
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int m = m0 + wm + i * 16 + g + (e >> 1) * 8;
            const int n = n0 + wn + j * 8 + 2 * tig + (e & 1);
            if (m < M && n < N) Cz[static_cast<int64_t>(m) * N + n] = FromF<T>(acc[i][j][e]);
          }
    }
}

// Launch shape of MatmulTcKernel: grid x = N tiles, y = M tiles, z = batch (y and z capped at 65535,
// the kernel grid-strides over the rest); vector loads when base, ld and batch stride allow them.
struct TcPlan {
  dim3 grid;
  int64_t lda, ldb;
  bool vecA, vecB;
};

template <typename T, bool AK, bool BK_>
inline TcPlan PlanTc(const T* a, const T* b, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch) {
  TcPlan p;
  p.lda = AK ? k : m;
  p.ldb = BK_ ? k : n;
  const uintptr_t mask = 4 * sizeof(T) - 1;
  p.vecA = (reinterpret_cast<uintptr_t>(a) & mask) == 0 && p.lda % 4 == 0 && aBatch % 4 == 0;
  p.vecB = (reinterpret_cast<uintptr_t>(b) & mask) == 0 && p.ldb % 4 == 0 && bBatch % 4 == 0;
  const int64_t tilesM = CeilDiv(m, TC_BM);
  p.grid = dim3(static_cast<unsigned>(CeilDiv(n, TC_BN)), static_cast<unsigned>(tilesM < 65535 ? tilesM : 65535),
                static_cast<unsigned>(batch < 65535 ? batch : 65535));
  return p;
}

}  // namespace
}  // namespace k
}  // namespace wg

#endif  // WG_NO_TENSOR_CORES
