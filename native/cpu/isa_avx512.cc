// AVX-512F kernels: fp32 GEMM micro-tile 14×32 (28 zmm accumulators, 2 for B, 1 broadcast),
// fp64 14×16. Built with -mavx512f -mfma (CMakeLists.txt); only ever called after dispatch.cc
// saw AVX-512F on the CPU. Check: npx vitest run test/native/cpu-matmul.test.ts
#if defined(__x86_64__)
#include <immintrin.h>

#include "cpu_kernels.h"
#include "pool.h"

namespace wgcpu {
namespace isa_avx512 {

struct VF {
  typedef __m512 R;
  static const int W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static float fmas(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
  static float hsum(R v) {  // pairwise, fixed order
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    for (int w = 8; w >= 1; w /= 2)
      for (int i = 0; i < w; i++) t[i] += t[i + w];
    return t[0];
  }
};

struct VD {
  typedef __m512d R;
  static const int W = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, R v) { _mm512_storeu_pd(p, v); }
  static R set1(double x) { return _mm512_set1_pd(x); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static double fmas(double a, double b, double c) { return __builtin_fma(a, b, c); }
  static double hsum(R v) {  // pairwise, fixed order
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    for (int w = 4; w >= 1; w /= 2)
      for (int i = 0; i < w; i++) t[i] += t[i + w];
    return t[0];
  }
};

namespace f32 {
typedef float T;
typedef VF V;
static const int MR = 14, NV = 2;
static const int64_t KC = 512, MC = 14 * 16, NC = 4096;
#include "gemm_driver.h"
}  // namespace f32

namespace f64 {
typedef double T;
typedef VD V;
static const int MR = 14, NV = 2;
static const int64_t KC = 256, MC = 14 * 12, NC = 2048;
#include "gemm_driver.h"
}  // namespace f64

static bool Sgemm(const GemmArgs<float>& g) { return f32::Gemm(g); }
static bool Dgemm(const GemmArgs<double>& g) { return f64::Gemm(g); }
static int64_t SPackedSize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f32::PackedBSize(m, n, k, ta, tb);
}
static void SPackB(const float* b, int64_t n, int64_t k, bool tb, float* p) { f32::PackBAll(b, n, k, tb, p); }
static bool SPrepacked(const GemmArgs<float>& g, const float* p) { return f32::GemmPrepacked(g, p); }
static int64_t DPackedSize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f64::PackedBSize(m, n, k, ta, tb);
}
static void DPackB(const double* b, int64_t n, int64_t k, bool tb, double* p) { f64::PackBAll(b, n, k, tb, p); }
static bool DPrepacked(const GemmArgs<double>& g, const double* p) { return f64::GemmPrepacked(g, p); }
static int64_t SPackedASize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f32::PackedASize(m, n, k, ta, tb);
}
static void SPackA(const float* a, int64_t m, int64_t k, bool ta, float* p) { f32::PackAAll(a, m, k, ta, p); }
static bool SPrepackedA(const GemmArgs<float>& g, const float* p) { return f32::GemmPrepackedA(g, p); }
static int64_t DPackedASize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f64::PackedASize(m, n, k, ta, tb);
}
static void DPackA(const double* a, int64_t m, int64_t k, bool ta, double* p) { f64::PackAAll(a, m, k, ta, p); }
static bool DPrepackedA(const GemmArgs<double>& g, const double* p) { return f64::GemmPrepackedA(g, p); }

// 16 independent FMA chains (≥ latency × pipes on current cores), registers only.
static double FmaPeak(int64_t iters) {
  __m512 x[16];
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 16; i++) x[i] = _mm512_set1_ps(float(i));
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) x[i] = _mm512_fmadd_ps(x[i], a, b);
  }
  __m512 s = x[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, x[i]);
  volatile float sink = VF::hsum(s);
  (void)sink;
  return double(iters) * 16 * 16 * 2;
}

}  // namespace isa_avx512

const IsaKernels kAvx512Kernels = {"avx512",
                                   isa_avx512::Sgemm,
                                   isa_avx512::Dgemm,
                                   isa_avx512::FmaPeak,
                                   14,
                                   32,
                                   isa_avx512::SPackedSize,
                                   isa_avx512::SPackB,
                                   isa_avx512::SPrepacked,
                                   isa_avx512::DPackedSize,
                                   isa_avx512::DPackB,
                                   isa_avx512::DPrepacked,
                                   isa_avx512::SPackedASize,
                                   isa_avx512::SPackA,
                                   isa_avx512::SPrepackedA,
                                   isa_avx512::DPackedASize,
                                   isa_avx512::DPackA,
                                   isa_avx512::DPrepackedA};

}  // namespace wgcpu
#endif
