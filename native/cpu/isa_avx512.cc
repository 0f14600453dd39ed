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

// PackB's full transposed panel (op(B) = Wᵀ, W row-major: dst[p*32 + j] = src[j*ld + p], 32 columns)
// by 16×16 in-register transposes, p in steps of 16; returns the p it reached (the rest is the
// driver's scalar loop). A copy: the packed values, hence the products, are the same bits.
// (GCC 12 warns about the _mm512_undefined_* inside its own shuffle intrinsics: a false positive.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
static int64_t PackTFull(const float* src, int64_t ld, int64_t kc, float* dst) {
  int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    for (int h = 0; h < 2; h++) {
      const float* s = src + h * 16 * ld + p;
      __m512 r[16], t[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(s + i * ld);
        // 32-bit, then 64-bit interleaves within 128-bit lanes, then the 128-bit lanes
#pragma GCC unroll 8
      for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
      }
#pragma GCC unroll 4
      for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
      }
      // r[4q + c] holds, in 128-bit lane L, rows 4q..4q+3 of column 4L + c
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) {
        __m512 a = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), b = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
        __m512 d = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88), e = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
        // a: (rows 0-3 | 4-7) of columns c and 8 + c, b: of 4 + c and 12 + c; d, e: rows 8-15
        t[c] = _mm512_shuffle_f32x4(a, d, 0x88);       // column c
        t[8 + c] = _mm512_shuffle_f32x4(a, d, 0xDD);   // column 8 + c
        t[4 + c] = _mm512_shuffle_f32x4(b, e, 0x88);   // column 4 + c
        t[12 + c] = _mm512_shuffle_f32x4(b, e, 0xDD);  // column 12 + c
      }
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + (p + i) * 32 + h * 16, t[i]);
    }
  }
  return p;
}
#pragma GCC diagnostic pop
#define WG_GEMM_PACK_T 1
#include "gemm_driver.h"
#undef WG_GEMM_PACK_T
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
