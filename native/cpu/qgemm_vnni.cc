// int8 dot kernel with AVX-512 VNNI (vpdpbusd): see qgemm.h. Compiled with -mavx512vnni (CMake,
// by the _vnni.cc suffix); qgemm.cc calls it only when cpuid reports avx512_vnni.

#include <immintrin.h>

#include "qgemm.h"

namespace wgcpu {
namespace {

// [Σ c0, Σ c1, Σ c2, Σ c3] of four vectors of 16 int32
inline __m128i Sum4(__m512i c0, __m512i c1, __m512i c2, __m512i c3) {
  __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(c0, c1), _mm512_unpackhi_epi32(c0, c1));
  __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(c2, c3), _mm512_unpackhi_epi32(c2, c3));
  __m512i u = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
  __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(u), _mm512_extracti64x4_epi64(u, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

}  // namespace

void QgemmDotVnni(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i += 4) {
    const uint8_t* a0 = a + i * kp;
    const uint8_t* a1 = a0 + kp;
    const uint8_t* a2 = a1 + kp;
    const uint8_t* a3 = a2 + kp;
    for (int64_t j = 0; j < np; j += 4) {
      const int8_t* b0 = b + j * kp;
      __m512i c[4][4];
      for (int r = 0; r < 4; r++)
        for (int s = 0; s < 4; s++) c[r][s] = _mm512_setzero_si512();
      for (int64_t p = 0; p < kp; p += 64) {
        __m512i x0 = _mm512_load_si512(a0 + p), x1 = _mm512_load_si512(a1 + p);
        __m512i x2 = _mm512_load_si512(a2 + p), x3 = _mm512_load_si512(a3 + p);
        for (int s = 0; s < 4; s++) {
          __m512i w = _mm512_load_si512(b0 + s * kp + p);
          c[0][s] = _mm512_dpbusd_epi32(c[0][s], x0, w);
          c[1][s] = _mm512_dpbusd_epi32(c[1][s], x1, w);
          c[2][s] = _mm512_dpbusd_epi32(c[2][s], x2, w);
          c[3][s] = _mm512_dpbusd_epi32(c[3][s], x3, w);
        }
      }
      for (int r = 0; r < 4; r++)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dot + (i + r) * np + j), Sum4(c[r][0], c[r][1], c[r][2], c[r][3]));
    }
  }
}

}  // namespace wgcpu
