// The streaming kernels (elementwise_kernels.h) with the baseline flags: 16-byte vectors, SSE2
// on x86-64 and the portable path (NEON on arm64) elsewhere. Stream() picks the table that
// matches the ISA wgcpu::Kernels() selected (cpuid, WATTGRAD_CPU_ISA, cpuSelectIsa).
// Check: npx vitest run test/native/cpu-streaming.test.ts
#include "elementwise.h"

#include "cpu_kernels.h"
#include "pool.h"

namespace wgcpu {
namespace stream_base {
#define WG_VBYTES 16
#include "elementwise_simd.h"
#include "elementwise_kernels.h"
#undef WG_VBYTES
}  // namespace stream_base

#if defined(__x86_64__)
WG_STREAM_TABLE(kStreamBase, stream_base, "sse2");
#else
WG_STREAM_TABLE(kStreamBase, stream_base, "generic");
#endif

const StreamKernels& Stream() {
#if defined(__x86_64__)
  const IsaKernels* k = &Kernels();
  if (k == &kAvx512Kernels) return kStreamAvx512;
  if (k == &kAvx2Kernels) return kStreamAvx2;
#endif
  return kStreamBase;
}

}  // namespace wgcpu
