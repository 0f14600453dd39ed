// The direct conv2d kernels (conv_direct.h) on AVX2 + FMA: 8 float lanes per row segment, a 4 × 3
// forward tile and a 3 × 4 grad-weight tile (12 accumulators of the 16 registers). Built with the
// *_avx2.cc flags; only called when wgcpu::Kernels() is "avx2". Check: npx vitest run test/native/cpu-conv.test.ts
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "conv_direct.h"
#include "pool.h"

namespace wgcpu {
namespace convdirect {
namespace avx2 {

struct V {
  static const int W = 8;
  typedef __m256 R;
  static R zero() { return _mm256_setzero_ps(); }
  static R ld(const float* p) { return _mm256_loadu_ps(p); }
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R ldm(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  typedef __m256i Mask;
  static Mask maskOf(int n) { return mask(n); }
  static R ldk(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  // no span segments on AVX2: three blend masks would take registers the tile needs
  static Mask maskFrom(int) { return _mm256_setzero_si256(); }
  static R blend(Mask, R a, R) { return a; }
  static constexpr bool kCanSpan = false;
  static void st(float* p, R v) { _mm256_storeu_ps(p, v); }
  static void stm(float* p, int n, R v) { _mm256_maskstore_ps(p, mask(n), v); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(R v) {
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
  }
};
constexpr int kMR = 4, kNV = 3, kMK = 3, kMP = 4;

#include "conv_direct_body.h"

}  // namespace avx2
}  // namespace convdirect
}  // namespace wgcpu
#endif
