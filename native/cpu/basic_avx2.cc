// The 'basic' row functions (basic_body.h) for AVX2: 32-byte vectors. Built with -mavx2 -mfma
// (CMakeLists.txt, by the _avx2.cc suffix); only called when wgcpu::Kernels() picked "avx2"
// (basic.cc's Current()). Check: npx vitest run test/native/cpu-basic.test.ts
#if defined(__x86_64__)
#include <immintrin.h>

#include "basic.h"

namespace wgcpu {
namespace basic {
namespace avx2 {
#define WG_BVBYTES 32
#define WG_BANY(m) (_mm256_movemask_epi8((__m256i)(m)) != 0)
#define WG_BANY16(m) (_mm_movemask_epi8((__m128i)(m)) != 0)
#include "basic_body.h"
#undef WG_BANY16
#undef WG_BANY
#undef WG_BVBYTES
}  // namespace avx2

using namespace avx2;
WG_BASIC_TABLE(kOpsAvx2, "avx2");

}  // namespace basic
}  // namespace wgcpu
#endif
