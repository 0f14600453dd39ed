// The 'basic' row functions (basic_body.h) for AVX-512: 64-byte vectors. Built with -mavx512f -mavx512bw ...
// (CMakeLists.txt, by the _avx512.cc suffix); only called when wgcpu::Kernels() picked "avx512"
// (basic.cc's Current()). Check: npx vitest run test/native/cpu-basic.test.ts
#if defined(__x86_64__)
#include <immintrin.h>

#include "basic.h"

namespace wgcpu {
namespace basic {
namespace avx512 {
#define WG_BVBYTES 64
#define WG_BANY(m) (_mm512_test_epi32_mask((__m512i)(m), (__m512i)(m)) != 0)
#define WG_BANY16(m) (_mm_movemask_epi8((__m128i)(m)) != 0)
#include "basic_body.h"
#undef WG_BANY16
#undef WG_BANY
#undef WG_BVBYTES
}  // namespace avx512

using namespace avx512;
WG_BASIC_TABLE(kOpsAvx512, "avx512");

}  // namespace basic
}  // namespace wgcpu
#endif
