// The streaming kernels (elementwise_kernels.h) for AVX-512: 64-byte vectors. Built with
// -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma (CMakeLists.txt, by the _avx512.cc suffix);
// only called when wgcpu::Kernels() is the AVX-512 table (elementwise.cc's Stream()).
// Check: npx vitest run test/native/cpu-streaming.test.ts
#if defined(__x86_64__)
#include "elementwise.h"
#include "pool.h"

namespace wgcpu {
namespace stream_avx512 {
#define WG_VBYTES 64
#include "elementwise_simd.h"
#include "elementwise_kernels.h"
#undef WG_VBYTES
}  // namespace stream_avx512

WG_STREAM_TABLE(kStreamAvx512, stream_avx512, "avx512");

}  // namespace wgcpu
#endif
