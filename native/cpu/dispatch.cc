// Picks the CPU kernel table at load: the best ISA this CPU (and OS) supports, or a lower one
// forced by WATTGRAD_CPU_ISA=avx512|avx2|sse2 on x86-64, neon|generic on arm64 (CI runs each
// path the machine supports). Built with the baseline flags: nothing here may execute AVX
// before the check.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

namespace wgcpu {
namespace {

struct Entry {
  const IsaKernels* k;
  bool (*supported)();
};

#if defined(__x86_64__)
// __builtin_cpu_supports checks the CPUID bits and that the OS saves the register state (XCR0).
bool HasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}
bool HasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool Always() { return true; }
const Entry kTable[] = {{&kAvx512Kernels, HasAvx512}, {&kAvx2Kernels, HasAvx2}, {&kSse2Kernels, Always}};
#elif defined(__aarch64__)
// NEON is part of the arm64 baseline: always there; "generic" stays selectable for comparison
bool Always() { return true; }
const Entry kTable[] = {{&kNeonKernels, Always}, {&kGenericKernels, Always}};
#else
bool Always() { return true; }
const Entry kTable[] = {{&kGenericKernels, Always}};
#endif
constexpr int kCount = sizeof(kTable) / sizeof(kTable[0]);

const IsaKernels* Pick() {
  const char* want = getenv("WATTGRAD_CPU_ISA");
  if (want && *want) {
    for (int i = 0; i < kCount; i++) {
      if (strcmp(want, kTable[i].k->name) != 0) continue;
      if (kTable[i].supported()) return kTable[i].k;
      fprintf(stderr, "wattgrad: WATTGRAD_CPU_ISA=%s is not supported by this CPU; using the best supported ISA\n",
              want);
      break;
    }
    bool known = false;
    for (int i = 0; i < kCount; i++) known = known || strcmp(want, kTable[i].k->name) == 0;
    if (!known) {
      fprintf(stderr, "wattgrad: WATTGRAD_CPU_ISA=%s is not one of", want);
      for (int i = 0; i < kCount; i++) fprintf(stderr, " %s", kTable[i].k->name);
      fprintf(stderr, "; using the best supported ISA\n");
    }
  }
  for (int i = 0; i < kCount; i++)
    if (kTable[i].supported()) return kTable[i].k;
  return kTable[kCount - 1].k;
}

const IsaKernels* g_kernels = nullptr;

}  // namespace

const IsaKernels& Kernels() {
  if (!g_kernels) g_kernels = Pick();
  return *g_kernels;
}

int SupportedIsas(const char** names, int cap) {
  int n = 0;
  for (int i = 0; i < kCount && n < cap; i++)
    if (kTable[i].supported()) names[n++] = kTable[i].k->name;
  return n;
}

bool SelectIsa(const char* name) {
  for (int i = 0; i < kCount; i++) {
    if (strcmp(name, kTable[i].k->name) == 0 && kTable[i].supported()) {
      g_kernels = kTable[i].k;
      return true;
    }
  }
  return false;
}

}  // namespace wgcpu
