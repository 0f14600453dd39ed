// The direct conv2d kernels (conv_direct.h) on AVX-512F: 16 float lanes per row segment, a 8 × 3
// forward tile (24 accumulators), a 4 × 6 grad-weight tile. Built with the *_avx512.cc flags; only
// called when wgcpu::Kernels() is "avx512". Check: npx vitest run test/native/cpu-conv.test.ts
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12: _mm512_undefined_* in the intrinsics
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <string.h>

#include "conv_direct.h"
#include "pool.h"

namespace wgcpu {
namespace convdirect {
namespace avx512 {

struct V {
  static const int W = 16;
  typedef __m512 R;
  static R zero() { return _mm512_setzero_ps(); }
  static R ld(const float* p) { return _mm512_loadu_ps(p); }
  static __mmask16 mask(int n) { return __mmask16((1u << n) - 1u); }
  static R ldm(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  typedef __mmask16 Mask;
  static Mask maskOf(int n) { return __mmask16((1u << n) - 1u); }
  static R ldk(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  // lanes >= a set: the blend mask of a segment whose first a lanes are on one row
  static Mask maskFrom(int a) { return __mmask16(~((1u << a) - 1u)); }
  static R blend(Mask m, R a, R b) { return _mm512_mask_blend_ps(m, a, b); }
  static constexpr bool kCanSpan = true;
  static void st(float* p, R v) { _mm512_storeu_ps(p, v); }
  static void stm(float* p, int n, R v) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(R v) {
    __m256 s =
        _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
  }
};
constexpr int kMR = 8, kNV = 3, kMK = 4, kMP = 6;

#include "conv_direct_body.h"

}  // namespace avx512
}  // namespace convdirect
}  // namespace wgcpu
#endif
