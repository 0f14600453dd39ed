// AVX2 + FMA kernels: fp32 GEMM micro-tile 6×16 (12 ymm accumulators), fp64 6×8. Built with
// -mavx2 -mfma (CMakeLists.txt); only called after dispatch.cc saw AVX2 and FMA.
#if defined(__x86_64__)
#include <immintrin.h>

#include "cpu_kernels.h"
#include "pool.h"

namespace wgcpu {
namespace isa_avx2 {

struct VF {
  typedef __m256 R;
  static const int W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static float fmas(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
  static float hsum(R v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
  }
};

struct VD {
  typedef __m256d R;
  static const int W = 4;
  static R zero() { return _mm256_setzero_pd(); }
  static R load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, R v) { _mm256_storeu_pd(p, v); }
  static R set1(double x) { return _mm256_set1_pd(x); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static double fmas(double a, double b, double c) { return __builtin_fma(a, b, c); }
  static double hsum(R v) {
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    q = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
    return _mm_cvtsd_f64(q);
  }
};

namespace f32 {
typedef float T;
typedef VF V;
static const int MR = 6, NV = 2;
static const int64_t KC = 512, MC = 6 * 40, NC = 4096;
#include "gemm_driver.h"
}  // namespace f32

namespace f64 {
typedef double T;
typedef VD V;
static const int MR = 6, NV = 2;
static const int64_t KC = 256, MC = 6 * 12, NC = 2048;
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

static double FmaPeak(int64_t iters) {
  __m256 x[12];
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; i++) x[i] = _mm256_set1_ps(float(i));
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) x[i] = _mm256_fmadd_ps(x[i], a, b);
  }
  __m256 s = x[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, x[i]);
  volatile float sink = VF::hsum(s);
  (void)sink;
  return double(iters) * 12 * 8 * 2;
}

}  // namespace isa_avx2

const IsaKernels kAvx2Kernels = {"avx2",
                                 isa_avx2::Sgemm,
                                 isa_avx2::Dgemm,
                                 isa_avx2::FmaPeak,
                                 6,
                                 16,
                                 isa_avx2::SPackedSize,
                                 isa_avx2::SPackB,
                                 isa_avx2::SPrepacked,
                                 isa_avx2::DPackedSize,
                                 isa_avx2::DPackB,
                                 isa_avx2::DPrepacked,
                                 isa_avx2::SPackedASize,
                                 isa_avx2::SPackA,
                                 isa_avx2::SPrepackedA,
                                 isa_avx2::DPackedASize,
                                 isa_avx2::DPackA,
                                 isa_avx2::DPrepackedA};

}  // namespace wgcpu
#endif
