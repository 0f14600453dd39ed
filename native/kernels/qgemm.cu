// CUDA int8 GEMM of the quantized layers (the contract of lib/quantization/qgemm.ts, as the CPU
// kernels in native/cpu/qgemm*.cc): a (m, k) quint8, b (n, k) qint8 per output channel,
//   acc[i, j] = Σ_p (a[i, p] − za) · (b[j, p] − zb[j])                     exact int32
//   out[i, j] = float(double(float(sa · sb[j])) · acc + bias[j]), ReLU'd when relu
// (the epilogue in double, as the js reference, so out matches it bit for bit).
//
// Two kernels over the same operands (rows of a and b padded with zeros to a multiple of 4 bytes
// by the caller: lda, ldb are byte strides, multiples of 16; the bytes between k and the stride are 0):
//   QgemmDp4aKernel  dp4a (sm_61+): 4 products summed into int32 per instruction (u8 × s8 as
//                    (a − 128) × b + 128 · b with the signed form: see Dp4aUS);
//                    64 × 64 output tile per 256-thread block, 4 × 4 per thread, k in 32-byte steps
//                    through shared memory.
//   QgemmMmaKernel   int8 tensor cores, mma.sync.m16n8k32.row.col.s32.u8.s8.s32 (sm_80+; on older
//                    archs the body is empty and the launcher refuses): one 16 × 8 tile per warp,
//                    fragments loaded from global memory (PTX ISA's m16n8k32 8-bit layouts).
// Row sums (Σ_p a[i, p], Σ_p b[j, p]) for the zero-point corrections come from QgemmRowSums first.
//
// Status: compiled for the release archs (75, 80, 86, 89, 90, 90a). UNVERIFIED on hardware: no GPU
// was lent, and GPGPU-Sim 4.2 cannot execute dp4a (its dp4a_impl asserts) nor mma.sync. What the
// simulator does check (test/quantization/sim/qgemm-sim.cu, run by
// test/quantization/qgemm-sim.test.ts) is the dp4a kernel's tiling, the a ^ 0x80 shift and the
// epilogue, bit for bit against a C++ copy of qgemmJs, with dp4a emulated (WG_QGEMM_EMULATE_DP4A). Neither
// is wired to a JS entry point yet (the tensor library has no int8 device dtype: quantized layers
// run on the CPU).

#include <cuda_runtime.h>

#include <cstdint>

namespace wg {
namespace k {
namespace {

// u8 × s8 through the signed dp4a: a · b = (a − 128) · b + 128 · b, and a − 128 as s8 is a ^ 0x80
// per byte; Finish adds the 128 · Σb back. (dp4a.u32.s32 would do it in one instruction, but
// GPGPU-Sim 4.2 implements only dp4a.s32.s32 / .u32.u32, and this keeps one code path.)
// WG_QGEMM_EMULATE_DP4A (the simulator test only: GPGPU-Sim 4.2's dp4a_impl is an assert(0)) does
// the same four products with byte arithmetic, so the tiling and the epilogue run there.
__device__ __forceinline__ int Dp4aUS(unsigned a, int b, int c) {
#ifdef WG_QGEMM_EMULATE_DP4A
  const unsigned x = a ^ 0x80808080u;
  for (int t = 0; t < 4; t++) {
    int p;  // the multiply in asm: nvcc would otherwise fuse the idiom back into dp4a
    asm("mul.lo.s32 %0, %1, %2;" : "=r"(p) : "r"(int(int8_t(x >> (8 * t)))), "r"(int(int8_t(unsigned(b) >> (8 * t)))));
    c += p;
  }
  return c;
#else
  return __dp4a(int(a ^ 0x80808080u), b, c);
#endif
}

struct QEpilogue {
  const int32_t* aSum;  // (m)
  const int32_t* bSum;  // (n)
  const float* bScale;
  const int32_t* bZero;
  const float* bias;  // or null
  float* out;         // (m, n)
  int32_t* acc;       // (m, n) or null
  int m, n, k, za;
  float aScale;  // float32(sa) — the scale product is rounded to float32 first, as the js Float32Array
  bool relu;
};

// dot: Σ a·b (mma) or Σ (a − 128)·b (dp4a, shifted = true).
__device__ __forceinline__ void Finish(const QEpilogue& e, int i, int j, int dot, bool shifted) {
  if (i >= e.m || j >= e.n) return;
  if (shifted) dot = int(((long long)dot + 128ll * e.bSum[j]) & 0xffffffffll);
  const int zb = e.bZero[j];
  // mod 2^32, as the reference's (… ) | 0
  // in 64 bits, then the low 32 bits (the reference's `| 0`)
  const long long v64 =
      (long long)dot - (long long)e.za * e.bSum[j] - (long long)zb * e.aSum[i] + (long long)e.k * e.za * zb;
  const int v = int((unsigned long long)v64 & 0xffffffffull);
  if (e.acc) e.acc[size_t(i) * e.n + j] = v;
  // float32(sa · sb): the product of two float32 values correctly rounded, as Math.fround(sa * sb)
  const float scale = __fmul_rn(e.aScale, e.bScale[j]);
  double y = double(scale) * double(v) + (e.bias ? double(e.bias[j]) : 0.0);
  if (e.relu && y < 0) y = 0;
  e.out[size_t(i) * e.n + j] = float(y);
}

template <typename T>
struct Signed {
  static constexpr bool value = false;
};
template <>
struct Signed<int8_t> {
  static constexpr bool value = true;
};

// Σ over each row of a (u8) or b (s8): one warp per row.
template <typename T>
__global__ void QgemmRowSums(const T* x, int rows, int k, int ld, int32_t* sums) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  int s = 0;
  // 32-bit words (the rows are zero-padded to a multiple of 4 bytes), bytes taken apart by hand:
  // GPGPU-Sim 4.2 mis-loads single bytes (garbage in the upper half of the 16-bit register), and
  // words are faster anyway
  const unsigned* xw = reinterpret_cast<const unsigned*>(x + size_t(row) * ld);
  for (int w = lane; w < (k + 3) / 4; w += 32) {
    const unsigned v = xw[w];
    for (int t = 0; t < 4; t++) {
      const int u = int((v >> (8 * t)) & 0xffu);
      s += Signed<T>::value ? (u ^ 0x80) - 0x80 : u;
    }
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
  if (lane == 0) sums[row] = s;
}

constexpr int kBM = 64, kBN = 64, kBK = 32;  // bytes of k per step

__global__ void __launch_bounds__(256)
    QgemmDp4aKernel(const uint8_t* a, int lda, const int8_t* b, int ldb, QEpilogue e) {
  __shared__ unsigned sa[kBM][kBK / 4 + 1];
  __shared__ int sb[kBN][kBK / 4 + 1];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int i0 = blockIdx.y * kBM, j0 = blockIdx.x * kBN;
  int c[4][4] = {};
  const int kw = (e.k + 3) / 4;  // words of k
  for (int w0 = 0; w0 < kw; w0 += kBK / 4) {
    // 64 rows × 8 words of each operand: two words per thread
    for (int t = threadIdx.x; t < kBM * (kBK / 4); t += 256) {
      const int r = t / (kBK / 4), w = t % (kBK / 4);
      const int i = i0 + r, j = j0 + r, ww = w0 + w;
      sa[r][w] = i < e.m && ww < kw ? reinterpret_cast<const unsigned*>(a + size_t(i) * lda)[ww] : 0u;
      sb[r][w] = j < e.n && ww < kw ? reinterpret_cast<const int*>(b + size_t(j) * ldb)[ww] : 0;
    }
    __syncthreads();
#pragma unroll
    for (int w = 0; w < kBK / 4; w++) {
      unsigned av[4];
      int bv[4];
#pragma unroll
      for (int r = 0; r < 4; r++) av[r] = sa[ty * 4 + r][w];
#pragma unroll
      for (int s = 0; s < 4; s++) bv[s] = sb[tx * 4 + s][w];
#pragma unroll
      for (int r = 0; r < 4; r++)
#pragma unroll
        for (int s = 0; s < 4; s++) c[r][s] = Dp4aUS(av[r], bv[s], c[r][s]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 4; r++)
#pragma unroll
    for (int s = 0; s < 4; s++) Finish(e, i0 + ty * 4 + r, j0 + tx * 4 + s, c[r][s], true);
}

// One warp per 16 × 8 output tile; k in steps of 32 (requires lda, ldb ≥ round_up(k, 32) with zero
// padding, which the launcher checks). Fragment layouts of mma.m16n8k32 for 8-bit types (PTX ISA):
// g = lane / 4, t = lane % 4; A regs 0..3 hold row g / g+8 / g / g+8, bytes 4t..4t+3 (+16 for
// regs 2, 3); B regs 0, 1 hold column g, k bytes 4t..4t+3 (+16); C regs 0..3 are (g, 2t), (g, 2t+1),
// (g+8, 2t), (g+8, 2t+1).
__global__ void QgemmMmaKernel(const uint8_t* a, int lda, const int8_t* b, int ldb, QEpilogue e) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int tilesN = (e.n + 7) / 8;
  const int i0 = (warp / tilesN) * 16, j0 = (warp % tilesN) * 8;
  if (i0 >= e.m) return;
  int c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  const int ra = min(i0 + g, e.m - 1), rb = min(i0 + g + 8, e.m - 1), cb = min(j0 + g, e.n - 1);
  const bool okA0 = i0 + g < e.m, okA1 = i0 + g + 8 < e.m, okB = j0 + g < e.n;
  for (int kk = 0; kk < e.k; kk += 32) {
    const unsigned a0 = okA0 ? *reinterpret_cast<const unsigned*>(a + size_t(ra) * lda + kk + 4 * t) : 0u;
    const unsigned a1 = okA1 ? *reinterpret_cast<const unsigned*>(a + size_t(rb) * lda + kk + 4 * t) : 0u;
    const unsigned a2 = okA0 ? *reinterpret_cast<const unsigned*>(a + size_t(ra) * lda + kk + 16 + 4 * t) : 0u;
    const unsigned a3 = okA1 ? *reinterpret_cast<const unsigned*>(a + size_t(rb) * lda + kk + 16 + 4 * t) : 0u;
    const unsigned b0 = okB ? *reinterpret_cast<const unsigned*>(b + size_t(cb) * ldb + kk + 4 * t) : 0u;
    const unsigned b1 = okB ? *reinterpret_cast<const unsigned*>(b + size_t(cb) * ldb + kk + 16 + 4 * t) : 0u;
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+r"(c0), "+r"(c1), "+r"(c2), "+r"(c3)
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
  Finish(e, i0 + g, j0 + 2 * t, c0, false);
  Finish(e, i0 + g, j0 + 2 * t + 1, c1, false);
  Finish(e, i0 + g + 8, j0 + 2 * t, c2, false);
  Finish(e, i0 + g + 8, j0 + 2 * t + 1, c3, false);
#endif
}

}  // namespace

// Host launchers (not yet called from an N-API entry: see the header). `sums` is device scratch of
// m + n int32. Return 0 when launched, 1 when the arguments do not fit the kernel (the caller then
// uses the CPU), 2 for tensor cores on a GPU older than sm_80.
int LaunchQgemmU8S8S32(const uint8_t* a, int lda, const int8_t* b, int ldb, const float* bScale, const int32_t* bZero,
                       const float* bias, float* out, int32_t* acc, int m, int n, int k, float aScale, int aZeroPoint,
                       bool relu, int32_t* sums, bool tensorCores, cudaStream_t s) {
  if (m <= 0 || n <= 0) return 0;
  if (lda % 16 || ldb % 16 || lda < ((k + 3) / 4) * 4 || ldb < ((k + 3) / 4) * 4) return 1;
  if (double(k) * 255 * 255 >= 2147483648.0 || aZeroPoint < 0 || aZeroPoint > 255) return 1;
  QgemmRowSums<uint8_t><<<(m + 7) / 8, 256, 0, s>>>(a, m, k, lda, sums);
  QgemmRowSums<int8_t><<<(n + 7) / 8, 256, 0, s>>>(b, n, k, ldb, sums + m);
  QEpilogue e{sums, sums + m, bScale, bZero, bias, out, acc, m, n, k, aZeroPoint, aScale, relu};
  if (tensorCores) {
    int dev = 0, major = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    if (major < 8) return 2;
    if (lda < ((k + 31) / 32) * 32 || ldb < ((k + 31) / 32) * 32) return 1;
    const long long warps = (long long)((m + 15) / 16) * ((n + 7) / 8);
    QgemmMmaKernel<<<unsigned((warps + 3) / 4), 128, 0, s>>>(a, lda, b, ldb, e);
    return 0;
  }
  dim3 grid((n + kBN - 1) / kBN, (m + kBM - 1) / kBM);
  QgemmDp4aKernel<<<grid, 256, 0, s>>>(a, lda, b, ldb, e);
  return 0;
}

}  // namespace k
}  // namespace wg
