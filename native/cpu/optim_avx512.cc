// AVX-512F optimizer steps: 8 float64 lanes (float32 storage widened on load, rounded on store),
// the element math of optim_body.h. Built with the *_avx512.cc flags; only called when
// wgcpu::Kernels() picked "avx512" (dispatch.cc checked AVX-512F). Only AVX-512F instructions are
// used (dispatch checks no more). Check: npx vitest run test/native/cpu-optim.test.ts
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12: _mm512_undefined_* in the intrinsics
#include <immintrin.h>

#include "optim.h"

namespace wgcpu {
namespace optim {
namespace avx512 {

struct V {
  typedef __m512d R;
  static const int W = 8;
  static R ld(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  static R ld(const double* p) { return _mm512_loadu_pd(p); }
  static void st(float* p, R v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
  static void st(double* p, R v) { _mm512_storeu_pd(p, v); }
  static R set1(double x) { return _mm512_set1_pd(x); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static R sub(R a, R b) { return _mm512_sub_pd(a, b); }
  static R mul(R a, R b) {
    R r = _mm512_mul_pd(a, b);
    __asm__("" : "+v"(r));  // no FMA contraction (see optim_body.h)
    return r;
  }
  static R div(R a, R b) { return _mm512_div_pd(a, b); }
  static R sqrt(R a) { return _mm512_sqrt_pd(a); }
  static R neg(R a) {
    return _mm512_castsi512_pd(
        _mm512_xor_si512(_mm512_castpd_si512(a), _mm512_set1_epi64((long long)0x8000000000000000ULL)));
  }
  static R jsmax(R a, R b) {
    R m = _mm512_max_pd(a, b);
    __mmask8 eq = _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), un = _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q);
    m = _mm512_mask_mov_pd(m, eq,
                           _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b))));
    return _mm512_mask_add_pd(m, un, a, b);
  }
};

#include "optim_body.h"

}  // namespace avx512

const Ops kOpsAvx512 = {"avx512", avx512::SgdF, avx512::SgdD, avx512::AdamF, avx512::AdamD};

}  // namespace optim
}  // namespace wgcpu
#endif
