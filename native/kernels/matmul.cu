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
// batch broadcast, 1×N, N×1, tall-skinny, K not a multiple of the tile, tf32 and bf16 tolerances;
// the tensor-core kernel (matmul_tc.cuh) also by test/native/tc-emu.test.ts, compiled as host C++
// with the mma/cvt instructions emulated (no GPU needed).

#include <atomic>

#include "gemm_simt.cuh"
#include "matmul_tc.cuh"

namespace wg {
namespace k {
namespace {

// Set and read from any JS thread (main and workers share the addon): atomics, relaxed (each value
// stands alone; a stale cache entry is recomputed, never torn).
std::atomic<bool> g_allowTf32{false};

// Compute capability major*10+minor of the current device, cached per device (up to 16).
int DeviceSm() {
  static std::atomic<int> cache[16] = {};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return 0;
  if (dev < 16) {
    const int hit = cache[dev].load(std::memory_order_relaxed);
    if (hit != 0) return hit;
  }
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
  const int sm = major * 10 + minor;
  if (dev < 16) cache[dev].store(sm, std::memory_order_relaxed);
  return sm;
}

int SmCount() {
  static std::atomic<int> cache[16] = {};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return 80;
  if (dev < 16) {
    const int hit = cache[dev].load(std::memory_order_relaxed);
    if (hit != 0) return hit;
  }
  int n = 0;
  cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
  if (n <= 0) n = 80;
  if (dev < 16) cache[dev].store(n, std::memory_order_relaxed);
  return n;
}

// ---- tensor-core path ------------------------------------------------------------------------------
// WG_NO_TENSOR_CORES (the simulator build: GPGPU-Sim cannot parse mma.sync / cvt.rna.tf32, and one
// such instruction in the binary aborts it at load) compiles this path out; every dtype then takes
// the SIMT path below.
#ifndef WG_NO_TENSOR_CORES
constexpr bool kTensorCores = true;

// The kernel, its tiles and fragments: matmul_tc.cuh (shared with the host emulation in test/native/tc-emu).

template <typename T, bool AK, bool BK_>
void LaunchTc(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch,
              cudaStream_t s) {
  const TcPlan p = PlanTc<T, AK, BK_>(a, b, batch, m, n, k, aBatch, bBatch);
  MatmulTcKernel<T, AK, BK_>
      <<<p.grid, TC_THREADS, 0, s>>>(a, b, c, batch, m, n, k, p.lda, p.ldb, aBatch, bBatch, p.vecA, p.vecB);
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
#endif  // WG_NO_TENSOR_CORES

// ---- SIMT path -----------------------------------------------------------------------------------------

template <typename T, bool AK, bool BK_, int BM, int BN, int BK, int TM, int TN>
void LaunchSimtTile(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch,
                    cudaStream_t s) {
  const SimtPlan<T, AK, BK_> p =
      PlanSimt<T, AK, BK_, BM, BN>(a, b, c, batch, m, n, k, aBatch, bBatch);  // gemm_simt.cuh
  GemmSimtKernel<BM, BN, BK, TM, TN>
      <<<p.grid, (BM / TM) * (BN / TN), 0, s>>>(p.la, p.lb, p.st, m, n, k, batch, 1, k > 0 ? k : 1);
}

template <typename T, bool AK, bool BK_>
void LaunchSimt(const T* a, const T* b, T* c, int batch, int m, int n, int k, int64_t aBatch, int64_t bBatch,
                cudaStream_t s) {
  const int64_t bigTiles = CeilDiv(m, 128) * CeilDiv(n, 128) * batch;
  if (bigTiles >= 2 * SmCount())
    LaunchSimtTile<T, AK, BK_, 128, 128, 8, 8, 8>(a, b, c, batch, m, n, k, aBatch, bBatch, s);
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

#ifdef WG_NO_TENSOR_CORES
constexpr bool kTensorCores = false;
// Never called (kTensorCores is false); keeps LaunchMatmul one code path for both builds.
template <typename T>
void DispatchTc(const T* a, const T* b, T* c, int batch, int m, int n, int k, bool tA, bool tB, int64_t aBatch,
                int64_t bBatch, cudaStream_t s) {
  DispatchSimt(a, b, c, batch, m, n, k, tA, tB, aBatch, bBatch, s);
}
#endif

}  // namespace

void SetAllowTf32(bool allow) { g_allowTf32.store(allow, std::memory_order_relaxed); }
bool AllowTf32() { return g_allowTf32.load(std::memory_order_relaxed); }

int LaunchMatmul(const void* a, const void* b, void* out, int batch, int m, int n, int k, bool transA, bool transB,
                 int64_t aBatchStride, int64_t bBatchStride, int dtype, cudaStream_t s) {
  if (batch <= 0 || m <= 0 || n <= 0) return kOk;
  const bool tc = kTensorCores && DeviceSm() >= 80;
  switch (dtype) {
    case kF32: {
      const auto* A = static_cast<const float*>(a);
      const auto* B = static_cast<const float*>(b);
      auto* C = static_cast<float*>(out);
      if (AllowTf32() && tc && k > 0)
        DispatchTc(A, B, C, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, s);
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
