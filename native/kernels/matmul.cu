// Batched GEMM: out[b] (m, n) = op(A[b]) · op(B[b]), out contiguous (batch, m, n).
// A[b] starts at b·aBatchStride and is (m, k) row-major, or (k, m) when transA; B[b] is (k, n),
// or (n, k) when transB. A batch stride of 0 broadcasts one matrix over the batch.
//
// Paths (chosen per call on the host):
//  - float32, tf32 off (default), or any device below sm_80: the SIMT core of gemm_simt.cuh,
//    128×128×8 tiles with 8×8 per thread (256 threads) for large outputs, 64×64×16 with 4×4 per
//    thread when 128-tiles would leave the GPU idle. float4 loads when the operand is 16-byte
//    aligned with ld and batch stride multiples of 4; scalar, bounds-checked loads otherwise
//    (odd M/N/K, 1×N, tall-skinny all take the same code, only the loads differ).
//  - float32 with setAllowTf32(true), sm_80+: tensor cores, mma.sync m16n8k8 TF32 (inputs rounded
//    to tf32 with cvt.rna, fp32 accumulate), like torch.backends.cuda.matmul.allow_tf32.
//  - bfloat16 / float16, sm_80+: mma.sync m16n8k16 with fp32 accumulate, output rounded once.
//  Tensor-core kernel: 128×128×32 block tile, 8 warps as 2 (m) × 4 (n), each warp 64×32 = 4×4 mma
//  tiles. Shared tiles are stored in the operand's memory order (k-inner for row-major A, m-inner
//  for transposed A, likewise B), padded so the fragment reads are bank-conflict free; the next
//  k-tile is prefetched into registers during the mma loop.
// float64: unsupported ("cuda: float64 not supported for matmul"); gradient checks run on js.
// Checked by test/backend/parity.test.ts against the js backend: all four transpose combinations,
// batch broadcast, 1×N, N×1, tall-skinny, K not a multiple of the tile, tf32 and bf16 tolerances.

#include "gemm_simt.cuh"

namespace wg {
namespace k {
namespace {

bool g_allowTf32 = false;

// Compute capability major*10+minor of the current device, cached per device (up to 16).
int DeviceSm() {
  static int cache[16] = {0};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return 0;
  if (dev < 16 && cache[dev] != 0) return cache[dev];
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
  const int sm = major * 10 + minor;
  if (dev < 16) cache[dev] = sm;
  return sm;
}

int SmCount() {
  static int cache[16] = {0};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return 80;
  if (dev < 16 && cache[dev] != 0) return cache[dev];
  int n = 0;
  cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
  if (n <= 0) n = 80;
  if (dev < 16) cache[dev] = n;
  return n;
}

template <typename T> struct MatStore {
  T* out;
  int64_t ldc, zStride;
  __device__ __forceinline__ void Store(int z, int m, int n, float v, bool /*atomic*/) const {
    out[static_cast<int64_t>(z) * zStride + static_cast<int64_t>(m) * ldc + n] = FromF<T>(v);
  }
};

// ---- tensor-core path ------------------------------------------------------------------------------

constexpr int TC_BM = 128, TC_BN = 128, TC_BK = 32, TC_THREADS = 256;

// Shared tile of one operand, ROWS (m or n) × BK, in the operand's memory order.
// k-inner: S[row][k], row pitch BK + PADK; row-inner: S[k][row], pitch ROWS + 8.
template <typename T, bool ALONG_K, int ROWS> struct TcTile {
  static constexpr int PADK = sizeof(T) == 4 ? 4 : 8;
  static constexpr int kElems = ALONG_K ? ROWS * (TC_BK + PADK) : TC_BK * (ROWS + 8);
  __device__ static __forceinline__ int Index(int row, int k) {
    return ALONG_K ? row * (TC_BK + PADK) + k : k * (ROWS + 8) + row;
  }
};

__device__ __forceinline__ uint32_t ToTf32(float f) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
  return r;
}

template <typename T> __device__ __forceinline__ uint32_t Pack2(T lo, T hi) {
  const uint16_t l = reinterpret_cast<const uint16_t&>(lo), h = reinterpret_cast<const uint16_t&>(hi);
  return static_cast<uint32_t>(l) | (static_cast<uint32_t>(h) << 16);
}

// Global → registers: 4 groups of 4 consecutive elements per thread per operand (ROWS·BK / 4 / 256 = 4).
// Group q = v·256 + tid; along k: row = q / (BK/4), k = (q % (BK/4))·4; along rows: k = q / (ROWS/4), row = (q % (ROWS/4))·4.
template <typename T, bool ALONG_K, int ROWS> struct TcLoader {
  const T* p;
  int64_t ld;
  int rows, K;
  bool vec;  // base, ld and batch stride allow 4-element vector loads
  __device__ __forceinline__ void Coords(int v, int& row, int& k) const {
    const int q = v * TC_THREADS + threadIdx.x;
    if (ALONG_K) { row = q / (TC_BK / 4); k = (q % (TC_BK / 4)) * 4; }
    else { k = q / (ROWS / 4); row = (q % (ROWS / 4)) * 4; }
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
          r[v][0] = reinterpret_cast<const T&>(f.x); r[v][1] = reinterpret_cast<const T&>(f.y);
          r[v][2] = reinterpret_cast<const T&>(f.z); r[v][3] = reinterpret_cast<const T&>(f.w);
        } else {
          const uint2 u = *reinterpret_cast<const uint2*>(q);
          const T* h = reinterpret_cast<const T*>(&u);
          r[v][0] = h[0]; r[v][1] = h[1]; r[v][2] = h[2]; r[v][3] = h[3];
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
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
__device__ __forceinline__ void Mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], __nv_bfloat16) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
__device__ __forceinline__ void Mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], __half) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
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
  const int tilesM = (M + TC_BM - 1) / TC_BM;

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

template <typename T, bool AK, bool BK_>
void LaunchTc(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch,
              cudaStream_t s) {
  const int64_t lda = AK ? k : m, ldb = BK_ ? k : n;
  const uintptr_t mask = 4 * sizeof(T) - 1;
  const bool vecA = (reinterpret_cast<uintptr_t>(a) & mask) == 0 && lda % 4 == 0 && aBatch % 4 == 0;
  const bool vecB = (reinterpret_cast<uintptr_t>(b) & mask) == 0 && ldb % 4 == 0 && bBatch % 4 == 0;
  const int tilesM = (m + TC_BM - 1) / TC_BM;
  const dim3 grid((n + TC_BN - 1) / TC_BN, tilesM < 65535 ? tilesM : 65535, batch < 65535 ? batch : 65535);
  MatmulTcKernel<T, AK, BK_><<<grid, TC_THREADS, 0, s>>>(a, b, c, batch, m, n, k, lda, ldb, aBatch, bBatch, vecA, vecB);
}

template <typename T>
void DispatchTc(const T* a, const T* b, T* c, int batch, int m, int n, int k, bool tA, bool tB, int64_t aBatch,
                int64_t bBatch, cudaStream_t s) {
  // A is k-inner unless transposed; B (seen as (n, k)) is k-inner only when transposed.
  if (!tA && !tB) LaunchTc<T, true, false>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else if (!tA && tB) LaunchTc<T, true, true>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else if (tA && !tB) LaunchTc<T, false, false>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else LaunchTc<T, false, true>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
}

// ---- SIMT path -----------------------------------------------------------------------------------------

template <typename T, bool AK, bool BK_, int BM, int BN, int BK, int TM, int TN>
void LaunchSimtTile(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch,
                    cudaStream_t s) {
  const int64_t lda = AK ? k : m, ldb = BK_ ? k : n;
  const bool isF = sizeof(T) == 4;
  MatLoader<T, AK> la{a, lda, aBatch, m, isF && Aligned16(a) && lda % 4 == 0 && aBatch % 4 == 0};
  MatLoader<T, BK_> lb{b, ldb, bBatch, n, isF && Aligned16(b) && ldb % 4 == 0 && bBatch % 4 == 0};
  MatStore<T> st{c, n, static_cast<int64_t>(m) * n};
  const int tilesM = (m + BM - 1) / BM;
  const dim3 grid((n + BN - 1) / BN, tilesM < 65535 ? tilesM : 65535, batch < 65535 ? batch : 65535);
  GemmSimtKernel<BM, BN, BK, TM, TN><<<grid, (BM / TM) * (BN / TN), 0, s>>>(la, lb, st, m, n, k, batch, 1, k > 0 ? k : 1);
}

template <typename T, bool AK, bool BK_>
void LaunchSimt(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch,
                cudaStream_t s) {
  const int64_t bigTiles = static_cast<int64_t>((m + 127) / 128) * ((n + 127) / 128) * batch;
  if (bigTiles >= 2 * SmCount()) LaunchSimtTile<T, AK, BK_, 128, 128, 8, 8, 8>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else LaunchSimtTile<T, AK, BK_, 64, 64, 16, 4, 4>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
}

template <typename T>
void DispatchSimt(const T* a, const T* b, T* c, int batch, int m, int n, int k, bool tA, bool tB, int64_t aBatch,
                  int64_t bBatch, cudaStream_t s) {
  if (!tA && !tB) LaunchSimt<T, true, false>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else if (!tA && tB) LaunchSimt<T, true, true>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else if (tA && !tB) LaunchSimt<T, false, false>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
  else LaunchSimt<T, false, true>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
}

}  // namespace

void SetAllowTf32(bool allow) { g_allowTf32 = allow; }
bool AllowTf32() { return g_allowTf32; }

int LaunchMatmul(const void* a, const void* b, void* out, int batch, int m, int n, int k, bool transA, bool transB,
                 int64_t aBatchStride, int64_t bBatchStride, int dtype, cudaStream_t s) {
  if (batch <= 0 || m <= 0 || n <= 0) return kOk;
  const bool tc = DeviceSm() >= 80;
  switch (dtype) {
    case kF32: {
      const auto* A = static_cast<const float*>(a);
      const auto* B = static_cast<const float*>(b);
      auto* C = static_cast<float*>(out);
      if (g_allowTf32 && tc && k > 0) DispatchTc(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
      else DispatchSimt(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
      return kOk;
    }
    case kBF16: {
      const auto* A = static_cast<const __nv_bfloat16*>(a);
      const auto* B = static_cast<const __nv_bfloat16*>(b);
      auto* C = static_cast<__nv_bfloat16*>(out);
      if (tc && k > 0) DispatchTc(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
      else DispatchSimt(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
      return kOk;
    }
    case kF16: {
      const auto* A = static_cast<const __half*>(a);
      const auto* B = static_cast<const __half*>(b);
      auto* C = static_cast<__half*>(out);
      if (tc && k > 0) DispatchTc(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
      else DispatchSimt(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
      return kOk;
    }
    default: return kUnsupported;
  }
}

}  // namespace k
}  // namespace wg
