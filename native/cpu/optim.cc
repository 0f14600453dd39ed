// Baseline optimizer steps (SSE2 on x86-64: 2 float64 lanes; one scalar lane elsewhere) and the
// per-ISA table choice. The element math is optim_body.h; see optim.h for the contract.
// Check: npx vitest run test/native/cpu-optim.test.ts
#include "optim.h"

#include <string.h>

#include "cpu_kernels.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace wgcpu {
namespace optim {
namespace base {

#if defined(__x86_64__)
struct V {
  typedef __m128d R;
  static const int W = 2;
  static R ld(const float* p) { return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)p))); }
  static R ld(const double* p) { return _mm_loadu_pd(p); }
  static void st(float* p, R v) { _mm_storel_epi64((__m128i*)p, _mm_castps_si128(_mm_cvtpd_ps(v))); }
  static void st(double* p, R v) { _mm_storeu_pd(p, v); }
  static R set1(double x) { return _mm_set1_pd(x); }
  static R add(R a, R b) { return _mm_add_pd(a, b); }
  static R sub(R a, R b) { return _mm_sub_pd(a, b); }
  static R mul(R a, R b) {
    R r = _mm_mul_pd(a, b);
    __asm__("" : "+x"(r));  // no FMA contraction (see optim_body.h)
    return r;
  }
  static R div(R a, R b) { return _mm_div_pd(a, b); }
  static R sqrt(R a) { return _mm_sqrt_pd(a); }
  static R neg(R a) { return _mm_xor_pd(a, _mm_set1_pd(-0.0)); }
  static R jsmax(R a, R b) {
    R m = _mm_max_pd(a, b);
    R eq = _mm_cmpeq_pd(a, b), un = _mm_cmpunord_pd(a, b);
    m = _mm_or_pd(_mm_andnot_pd(eq, m), _mm_and_pd(eq, _mm_and_pd(a, b)));
    return _mm_or_pd(_mm_andnot_pd(un, m), _mm_and_pd(un, _mm_add_pd(a, b)));
  }
};
#include "optim_body.h"
#else
#define WG_OPTIM_SCALAR_ONLY  // optim_body.h makes its scalar lane the vector
#include "optim_body.h"
#endif

}  // namespace base

const Ops kOpsBase = {"base", base::SgdF, base::SgdD, base::AdamF, base::AdamD};

const Ops& Current() {
#if defined(__x86_64__)
  const char* isa = Kernels().name;
  if (strcmp(isa, "avx512") == 0) return kOpsAvx512;
  if (strcmp(isa, "avx2") == 0) return kOpsAvx2;
#endif
  return kOpsBase;
}

}  // namespace optim
}  // namespace wgcpu
