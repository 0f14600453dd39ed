// The streaming kernels (elementwise_kernels.h) for AVX2 + FMA: 32-byte vectors. Built with
// -mavx2 -mfma (CMakeLists.txt, by the _avx2.cc suffix); only called when wgcpu::Kernels() is
// the AVX2 table (elementwise.cc's Stream()).
// Check: npx vitest run test/native/cpu-streaming.test.ts
#if defined(__x86_64__)
#include "elementwise.h"
#include "pool.h"

namespace wgcpu {
namespace stream_avx2 {
#define WG_VBYTES 32
#include "elementwise_simd.h"
#include "elementwise_kernels.h"
#undef WG_VBYTES
}  // namespace stream_avx2

WG_STREAM_TABLE(kStreamAvx2, stream_avx2, "avx2");

}  // namespace wgcpu
#endif
