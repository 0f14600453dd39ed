// Fused optimizer steps of the CPU kernels (optim.cc, optim_avx2.cc, optim_avx512.cc), in place
// over one contiguous chunk of one tensor; the entry point (napi_optim.cc) splits every tensor of
// a param group into chunks and runs them on the pool. Each element is computed with exactly the
// js kernel's arithmetic (lib/backend/js/optim.ts): float64 throughout, the same operation order,
// no FMA contraction, state rounded to the storage dtype on store and read back, so float32 and
// float64 results are bitwise equal to the js reference on every ISA.
// Plain C types only: shared by translation units built with different -m flags.
#pragma once

#include <stdint.h>

namespace wgcpu {
namespace optim {

struct SgdArgs {
  double lr, momentum, dampening, wd;
  bool nesterov, maximize, firstStep;
  bool hasBuf;  // momentum != 0
};

// stepSize = lr / (1 - beta1^step) and bc2Sqrt = sqrt(1 - beta2^step) come from JS (Math.pow), so
// they are the js kernel's doubles to the bit.
struct AdamArgs {
  double lr, beta1, beta2, eps, wd, stepSize, bc2Sqrt;
  bool decoupled, amsgrad, maximize;
};

struct Ops {
  const char* isa;
  void (*sgdF)(float* p, const float* g, float* buf, int64_t n, const SgdArgs& a);
  void (*sgdD)(double* p, const double* g, double* buf, int64_t n, const SgdArgs& a);
  void (*adamF)(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, const AdamArgs& a);
  void (*adamD)(double* p, const double* g, double* m, double* v, double* vmax, int64_t n, const AdamArgs& a);
};

extern const Ops kOpsAvx512;
extern const Ops kOpsAvx2;
extern const Ops kOpsBase;

// The table for the ISA wgcpu::Kernels() picked (so WATTGRAD_CPU_ISA / cpuSelectIsa force it).
const Ops& Current();

}  // namespace optim
}  // namespace wgcpu
