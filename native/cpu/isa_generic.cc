// Portable kernels for non-x86-64 builds: scalar C++ over the same driver, left to the
// compiler's auto-vectoriser. The only table on architectures other than x86-64 and arm64; on
// arm64 isa_neon.cc is picked first and this one stays selectable (WATTGRAD_CPU_ISA=generic).
#if !defined(__x86_64__)
#include "cpu_kernels.h"
#include "pool.h"

namespace wgcpu {
namespace isa_generic {

template <class TT>
struct VS {
  typedef TT R;
  static const int W = 1;
  static R zero() { return 0; }
  static R load(const TT* p) { return *p; }
  static void store(TT* p, R v) { *p = v; }
  static R set1(TT x) { return x; }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R add(R a, R b) { return a + b; }
  static TT fmas(TT a, TT b, TT c) { return a * b + c; }
  static TT hsum(R v) { return v; }
};

namespace f32 {
typedef float T;
typedef VS<float> V;
static const int MR = 4, NV = 8;
static const int64_t KC = 256, MC = 64, NC = 2048;
#include "gemm_driver.h"
}  // namespace f32

namespace f64 {
typedef double T;
typedef VS<double> V;
static const int MR = 4, NV = 4;
static const int64_t KC = 256, MC = 64, NC = 1024;
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

static double FmaPeak(int64_t iters) {
  float x[16];
  for (int i = 0; i < 16; i++) x[i] = float(i);
  for (int64_t it = 0; it < iters; it++)
    for (int i = 0; i < 16; i++) x[i] = x[i] * 0.999999f + 1e-7f;
  float s = 0;
  for (int i = 0; i < 16; i++) s += x[i];
  volatile float sink = s;
  (void)sink;
  return double(iters) * 16 * 2;
}

}  // namespace isa_generic

const IsaKernels kGenericKernels = {"generic",
                                    isa_generic::Sgemm,
                                    isa_generic::Dgemm,
                                    isa_generic::FmaPeak,
                                    4,
                                    8,
                                    isa_generic::SPackedSize,
                                    isa_generic::SPackB,
                                    isa_generic::SPrepacked,
                                    isa_generic::DPackedSize,
                                    isa_generic::DPackB,
                                    isa_generic::DPrepacked,
                                    isa_generic::SPackedASize,
                                    isa_generic::SPackA,
                                    isa_generic::SPrepackedA,
                                    isa_generic::DPackedASize,
                                    isa_generic::DPackA,
                                    isa_generic::DPrepackedA};

}  // namespace wgcpu
#endif
