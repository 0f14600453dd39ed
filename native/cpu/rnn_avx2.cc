// AVX2+FMA recurrent gate kernels: 8 float lanes of rnn_body.h's math (float64: scalar). Built
// with the *_avx2.cc flags; only called when wgcpu::Kernels() picked "avx2".
// Check: npx vitest run test/native/cpu-rnn.test.ts
#if defined(__x86_64__)
#include <immintrin.h>

#include "rnn.h"

namespace wgcpu {
namespace rnn {
namespace avx2 {

struct VF {
  typedef float E;
  typedef __m256 R;
  static const int W = 8;
  static R ld(const float* p) { return _mm256_loadu_ps(p); }
  static void st(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R round(R a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R pow2i(R n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static R gt0sel(R h, R v) { return _mm256_and_ps(_mm256_cmp_ps(h, _mm256_setzero_ps(), _CMP_GT_OQ), v); }
  static R exp(R x);
  static R tanh(R x);
};

#include "rnn_body.h"

VF::R VF::exp(R x) { return PolyExp<VF>(x); }
VF::R VF::tanh(R x) { return RationalTanh<VF>(x); }

}  // namespace avx2

const Ops kOpsAvx2 = WG_RNN_OPS("avx2", avx2);

}  // namespace rnn
}  // namespace wgcpu
#endif
