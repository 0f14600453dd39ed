// AVX-512F recurrent gate kernels: 16 float lanes of rnn_body.h's math (float64: scalar). Built
// with the *_avx512.cc flags; only called when wgcpu::Kernels() picked "avx512" (dispatch.cc saw
// AVX-512F); only AVX-512F instructions are used. Check: npx vitest run test/native/cpu-rnn.test.ts
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12: _mm512_undefined_* in the intrinsics
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "rnn.h"

namespace wgcpu {
namespace rnn {
namespace avx512 {

struct VF {
  typedef float E;
  typedef __m512 R;
  static const int W = 16;
  static R ld(const float* p) { return _mm512_loadu_ps(p); }
  static void st(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R round(R a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R pow2i(R n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static R gt0sel(R h, R v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(h, _mm512_setzero_ps(), _CMP_GT_OQ), v); }
  static R exp(R x);
  static R tanh(R x);
};

#include "rnn_body.h"

VF::R VF::exp(R x) { return PolyExp<VF>(x); }
VF::R VF::tanh(R x) { return RationalTanh<VF>(x); }

}  // namespace avx512

const Ops kOpsAvx512 = WG_RNN_OPS("avx512", avx512);

}  // namespace rnn
}  // namespace wgcpu
#endif
