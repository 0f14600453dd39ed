// int8 dot kernel with AVX-512 VNNI (vpdpbusd): see qgemm.h. Compiled with -mavx512vnni (CMake,
// by the _vnni.cc suffix); qgemm.cc calls it only when cpuid reports avx512_vnni.

#if defined(__x86_64__)  // an x86 ISA unit: compiles to nothing elsewhere (qgemm.cc names it on x86 only)
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_epi32 in the unpack intrinsics)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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

// The epilogue, 8 outputs per step in double (qgemm.h QgemmRow); compiled with AVX-512F (this file's
// flags include it), called on the vnni path only.
void QgemmEpilogueAvx512(const QgemmRow& r) {
  const __m256i za = _mm256_set1_epi32(r.za), aSum = _mm256_set1_epi32(r.aSum), kza = _mm256_set1_epi32(r.k * r.za);
  const __m512d zero = _mm512_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= r.n; j += 8) {
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.dot + j));
    if (r.dotHi)
      d = _mm256_add_epi32(d, _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.dotHi + j)), 7));
    __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.bSum + j));
    __m256i zb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.bZero + j));
    // wrapping int32 arithmetic: the same low 32 bits as the reference's exact sum
    __m256i v = _mm256_sub_epi32(d, _mm256_mullo_epi32(za, bs));
    v = _mm256_sub_epi32(v, _mm256_mullo_epi32(zb, aSum));
    v = _mm256_add_epi32(v, _mm256_mullo_epi32(kza, zb));
    if (r.acc) _mm256_storeu_si256(reinterpret_cast<__m256i*>(r.acc + j), v);
    __m512d y = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(r.scale + j)), _mm512_cvtepi32_pd(v));
    if (r.bias) y = _mm512_add_pd(y, _mm512_cvtps_pd(_mm256_loadu_ps(r.bias + j)));
    if (r.relu) y = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(y, zero, _CMP_LT_OQ), y, zero);
    _mm256_storeu_ps(r.out + j, _mm512_cvtpd_ps(y));
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

// 16 values per step: double product, round half to even (roundscale), clamp, + shift, narrow to u8.
bool QuantizeU8Avx512(const float* x, uint8_t* out, int64_t n, double inv, int32_t zeroPoint, int32_t qmin,
                      int32_t qmax, int32_t shift) {
  const __m512d vinv = _mm512_set1_pd(inv);
  const __m512d lo = _mm512_set1_pd(double(qmin - zeroPoint) - 1), hi = _mm512_set1_pd(double(qmax - zeroPoint) + 1);
  const __m512i zp = _mm512_set1_epi32(zeroPoint), qlo = _mm512_set1_epi32(qmin), qhi = _mm512_set1_epi32(qmax);
  const __m512i sh = _mm512_set1_epi32(shift);
  __mmask8 nan = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 f = _mm512_loadu_ps(x + i);
    __m512d t0 = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(f)), vinv);
    __m512d t1 = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))), vinv);
    nan |= _mm512_cmp_pd_mask(t0, t0, _CMP_UNORD_Q) | _mm512_cmp_pd_mask(t1, t1, _CMP_UNORD_Q);
    t0 = _mm512_min_pd(_mm512_max_pd(t0, lo), hi);
    t1 = _mm512_min_pd(_mm512_max_pd(t1, lo), hi);
    t0 = _mm512_roundscale_pd(t0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    t1 = _mm512_roundscale_pd(t1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtpd_epi32(t0)), _mm512_cvtpd_epi32(t1), 1);
    q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zp), qlo), qhi), sh);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(q));
  }
  bool ok = QuantizeU8Scalar(x + i, out + i, n - i, inv, zeroPoint, qmin, qmax, shift);
  return ok && !nan;
}

// min and max of x[0, n) for n >= 1 (exact, as float compares are); false when x holds a NaN.
bool MinMaxF32Avx512(const float* x, int64_t n, float* lo, float* hi) {
  __m512 mn0 = _mm512_set1_ps(x[0]), mx0 = mn0, mn1 = mn0, mx1 = mn0;
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    nan |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
    mn0 = _mm512_min_ps(mn0, a);
    mx0 = _mm512_max_ps(mx0, a);
    mn1 = _mm512_min_ps(mn1, b);
    mx1 = _mm512_max_ps(mx1, b);
  }
  if (i < n) {
    const __mmask16 m0 = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 a = _mm512_mask_loadu_ps(mn0, m0, x + i);  // lanes past n repeat a value already seen
    nan |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    mn0 = _mm512_min_ps(mn0, a);
    mx0 = _mm512_max_ps(mx0, _mm512_mask_loadu_ps(mx0, m0, x + i));
    if (n - i > 16) {
      const __mmask16 m1 = __mmask16((1u << (n - i - 16)) - 1);
      const __m512 b = _mm512_mask_loadu_ps(mn1, m1, x + i + 16);
      nan |= _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
      mn1 = _mm512_min_ps(mn1, b);
      mx1 = _mm512_max_ps(mx1, _mm512_mask_loadu_ps(mx1, m1, x + i + 16));
    }
  }
  *lo = _mm512_reduce_min_ps(_mm512_min_ps(mn0, mn1));
  *hi = _mm512_reduce_max_ps(_mm512_max_ps(mx0, mx1));
  return nan == 0;
}

}  // namespace wgcpu
#endif  // __x86_64__
