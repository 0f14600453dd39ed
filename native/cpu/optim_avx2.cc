// AVX2 optimizer steps: 4 float64 lanes (float32 storage widened on load, rounded on store), the
// element math of optim_body.h. Built with the *_avx2.cc flags; only called when
// wgcpu::Kernels() picked "avx2". Check: npx vitest run test/native/cpu-optim.test.ts
#if defined(__x86_64__)
#include <immintrin.h>

#include "optim.h"

namespace wgcpu {
namespace optim {
namespace avx2 {

struct V {
  typedef __m256d R;
  static const int W = 4;
  static R ld(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static R ld(const double* p) { return _mm256_loadu_pd(p); }
  static void st(float* p, R v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
  static void st(double* p, R v) { _mm256_storeu_pd(p, v); }
  static R set1(double x) { return _mm256_set1_pd(x); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static R sub(R a, R b) { return _mm256_sub_pd(a, b); }
  static R mul(R a, R b) {
    R r = _mm256_mul_pd(a, b);
    __asm__("" : "+x"(r));  // no FMA contraction (see optim_body.h)
    return r;
  }
  static R div(R a, R b) { return _mm256_div_pd(a, b); }
  static R sqrt(R a) { return _mm256_sqrt_pd(a); }
  static R neg(R a) { return _mm256_xor_pd(a, _mm256_set1_pd(-0.0)); }
  static R jsmax(R a, R b) {
    R m = _mm256_max_pd(a, b);
    R eq = _mm256_cmp_pd(a, b, _CMP_EQ_OQ), un = _mm256_cmp_pd(a, b, _CMP_UNORD_Q);
    m = _mm256_blendv_pd(m, _mm256_and_pd(a, b), eq);
    return _mm256_blendv_pd(m, _mm256_add_pd(a, b), un);
  }
};

#include "optim_body.h"

}  // namespace avx2

const Ops kOpsAvx2 = {"avx2", avx2::SgdF, avx2::SgdD, avx2::AdamF, avx2::AdamD};

}  // namespace optim
}  // namespace wgcpu
#endif
