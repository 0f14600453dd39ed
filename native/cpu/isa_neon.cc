// NEON kernels (arm64, where NEON is baseline: always supported): fp32 GEMM micro-tile 8×12
// (24 q-register accumulators, 3 for B, one ld1r broadcast of A), fp64 8×6. Compiled to nothing
// on other architectures (dispatch.cc lists it on aarch64 only, ahead of the generic kernels).
// Check (cross-compiled on x86-64, run under qemu-user when installed): bash scripts/check-neon.sh
#if defined(__aarch64__)
#include <arm_neon.h>

#include "cpu_kernels.h"
#include "pool.h"

namespace wgcpu {
namespace isa_neon {

struct VF {
  typedef float32x4_t R;
  static const int W = 4;
  static R zero() { return vdupq_n_f32(0.0f); }
  static R load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, R v) { vst1q_f32(p, v); }
  static R set1(float x) { return vdupq_n_f32(x); }
  static R fma(R a, R b, R c) { return vfmaq_f32(c, a, b); }  // c + a·b, one rounding
  static R add(R a, R b) { return vaddq_f32(a, b); }
  static float fmas(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
  static float hsum(R v) {  // pairwise, fixed order
    float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(s, 0) + vget_lane_f32(s, 1);
  }
};

struct VD {
  typedef float64x2_t R;
  static const int W = 2;
  static R zero() { return vdupq_n_f64(0.0); }
  static R load(const double* p) { return vld1q_f64(p); }
  static void store(double* p, R v) { vst1q_f64(p, v); }
  static R set1(double x) { return vdupq_n_f64(x); }
  static R fma(R a, R b, R c) { return vfmaq_f64(c, a, b); }
  static R add(R a, R b) { return vaddq_f64(a, b); }
  static double fmas(double a, double b, double c) { return __builtin_fma(a, b, c); }
  static double hsum(R v) { return vgetq_lane_f64(v, 0) + vgetq_lane_f64(v, 1); }
};

// Blocking for a typical arm64 core (64 KiB L1d, 1 MiB L2: Neoverse N1/V1/N2, Apple's are larger):
// A block MC×KC = 96×512 floats (192 KiB) in L2, B micro-panel KC×12 (24 KiB) streamed from L2.
namespace f32 {
typedef float T;
typedef VF V;
static const int MR = 8, NV = 3;
static const int64_t KC = 512, MC = 8 * 12, NC = 4096;
#include "gemm_driver.h"
}  // namespace f32

namespace f64 {
typedef double T;
typedef VD V;
static const int MR = 8, NV = 3;
static const int64_t KC = 256, MC = 8 * 12, NC = 2048;
#include "gemm_driver.h"
}  // namespace f64

static bool Sgemm(const GemmArgs<float>& g) { return f32::Gemm(g); }
static bool Dgemm(const GemmArgs<double>& g) { return f64::Gemm(g); }
static int64_t SPackedSize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f32::PackedBSize(m, n, k, ta, tb);
}
static void SPackB(const float* b, int64_t n, int64_t k, bool tb, float* p) { f32::PackBAll(b, n, k, tb, p); }
static bool SPrepacked(const GemmArgs<float>& g, const float* p) { return f32::GemmPrepacked(g, p); }
static int64_t DPackedSize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f64::PackedBSize(m, n, k, ta, tb);
}
static void DPackB(const double* b, int64_t n, int64_t k, bool tb, double* p) { f64::PackBAll(b, n, k, tb, p); }
static bool DPrepacked(const GemmArgs<double>& g, const double* p) { return f64::GemmPrepacked(g, p); }
static int64_t SPackedASize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f32::PackedASize(m, n, k, ta, tb);
}
static void SPackA(const float* a, int64_t m, int64_t k, bool ta, float* p) { f32::PackAAll(a, m, k, ta, p); }
static bool SPrepackedA(const GemmArgs<float>& g, const float* p) { return f32::GemmPrepackedA(g, p); }
static int64_t DPackedASize(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return f64::PackedASize(m, n, k, ta, tb);
}
static void DPackA(const double* a, int64_t m, int64_t k, bool ta, double* p) { f64::PackAAll(a, m, k, ta, p); }
static bool DPrepackedA(const GemmArgs<double>& g, const double* p) { return f64::GemmPrepackedA(g, p); }

// 16 independent FMA chains (latency 4 × up to 4 pipes), registers only.
static double FmaPeak(int64_t iters) {
  float32x4_t x[16];
  const float32x4_t a = vdupq_n_f32(0.999999f), b = vdupq_n_f32(1e-7f);
  for (int i = 0; i < 16; i++) x[i] = vdupq_n_f32(float(i));
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) x[i] = vfmaq_f32(b, x[i], a);
  }
  float32x4_t s = x[0];
  for (int i = 1; i < 16; i++) s = vaddq_f32(s, x[i]);
  volatile float sink = VF::hsum(s);
  (void)sink;
  return double(iters) * 16 * 4 * 2;
}

}  // namespace isa_neon

const IsaKernels kNeonKernels = {"neon",
                                 isa_neon::Sgemm,
                                 isa_neon::Dgemm,
                                 isa_neon::FmaPeak,
                                 8,
                                 12,
                                 isa_neon::SPackedSize,
                                 isa_neon::SPackB,
                                 isa_neon::SPrepacked,
                                 isa_neon::DPackedSize,
                                 isa_neon::DPackB,
                                 isa_neon::DPrepacked,
                                 isa_neon::SPackedASize,
                                 isa_neon::SPackA,
                                 isa_neon::SPrepackedA,
                                 isa_neon::DPackedASize,
                                 isa_neon::DPackA,
                                 isa_neon::DPrepackedA};

}  // namespace wgcpu
#endif
