// int8 dot kernel with AVX2 (vpmaddubsw + vpmaddwd): see qgemm.h for the a <= 127 precondition
// (vpmaddubsw's int16 saturation) and how qgemm.cc meets it for every input. Compiled with -mavx2
// (CMake, by the _avx2.cc suffix); qgemm.cc calls it only when the CPU has AVX2.

#if defined(__x86_64__)  // an x86 ISA unit: compiles to nothing elsewhere (qgemm.cc names it on x86 only)
#include <immintrin.h>

#include "qgemm.h"

namespace wgcpu {
namespace {

// [Σ c0, Σ c1, Σ c2, Σ c3] of four vectors of 8 int32
inline __m128i Sum4(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
  __m256i t0 = _mm256_add_epi32(_mm256_unpacklo_epi32(c0, c1), _mm256_unpackhi_epi32(c0, c1));
  __m256i t1 = _mm256_add_epi32(_mm256_unpacklo_epi32(c2, c3), _mm256_unpackhi_epi32(c2, c3));
  __m256i u = _mm256_add_epi32(_mm256_unpacklo_epi64(t0, t1), _mm256_unpackhi_epi64(t0, t1));
  return _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
}

}  // namespace

void QgemmDotAvx2(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0, int64_t i1) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t i = i0; i < i1; i += 2) {
    const uint8_t* a0 = a + i * kp;
    const uint8_t* a1 = a0 + kp;
    for (int64_t j = 0; j < np; j += 4) {
      const int8_t* b0 = b + j * kp;
      __m256i c[2][4];
      for (int r = 0; r < 2; r++)
        for (int s = 0; s < 4; s++) c[r][s] = _mm256_setzero_si256();
      for (int64_t p = 0; p < kp; p += 32) {
        __m256i x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a0 + p));
        __m256i x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(a1 + p));
        for (int s = 0; s < 4; s++) {
          __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(b0 + s * kp + p));
          // u8 × s8 pairs → int16 (exact: a <= 127), then int16 pairs × 1 → int32
          c[0][s] = _mm256_add_epi32(c[0][s], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, w), ones));
          c[1][s] = _mm256_add_epi32(c[1][s], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, w), ones));
        }
      }
      for (int r = 0; r < 2; r++)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dot + (i + r) * np + j), Sum4(c[r][0], c[r][1], c[r][2], c[r][3]));
    }
  }
}

// The epilogue, 4 outputs per step in double (qgemm.h QgemmRow).
void QgemmEpilogueAvx2(const QgemmRow& r) {
  const __m128i za = _mm_set1_epi32(r.za), aSum = _mm_set1_epi32(r.aSum), kza = _mm_set1_epi32(r.k * r.za);
  const __m256d zero = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 4 <= r.n; j += 4) {
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r.dot + j));
    if (r.dotHi)
      d = _mm_add_epi32(d, _mm_slli_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r.dotHi + j)), 7));
    __m128i bs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r.bSum + j));
    __m128i zb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r.bZero + j));
    __m128i v = _mm_sub_epi32(d, _mm_mullo_epi32(za, bs));
    v = _mm_sub_epi32(v, _mm_mullo_epi32(zb, aSum));
    v = _mm_add_epi32(v, _mm_mullo_epi32(kza, zb));
    if (r.acc) _mm_storeu_si128(reinterpret_cast<__m128i*>(r.acc + j), v);
    __m256d y = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(r.scale + j)), _mm256_cvtepi32_pd(v));
    if (r.bias) y = _mm256_add_pd(y, _mm256_cvtps_pd(_mm_loadu_ps(r.bias + j)));
    if (r.relu) y = _mm256_blendv_pd(y, zero, _mm256_cmp_pd(y, zero, _CMP_LT_OQ));
    _mm_storeu_ps(r.out + j, _mm256_cvtpd_ps(y));
  }
  if (j < r.n) {
    QgemmRow t = r;
    t.dot += j;
    if (t.dotHi) t.dotHi += j;
    t.bSum += j;
    t.bZero += j;
    t.scale += j;
    if (t.bias) t.bias += j;
    t.out += j;
    if (t.acc) t.acc += j;
    t.n = r.n - j;
    QgemmEpilogueScalar(t);
  }
}

}  // namespace wgcpu
#endif  // __x86_64__
