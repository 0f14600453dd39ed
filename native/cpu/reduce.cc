// The 'reduce' family's entry point (declared by gen_reduce.h from native/manifest/cpu/reduce.mjs;
// N-API unpacking in gen_reduce.cc) over the streaming kernels of the selected ISA (elementwise.h).
// Check: npx vitest run test/native/cpu-streaming.test.ts
#include "elementwise.h"
#include "gen_reduce.h"

namespace wgcpu {
namespace {

template <class T>
const char* Red(int64_t op, const T* x, T* out, int64_t outer, int64_t r, int64_t inner) {
  if (op >= int64_t(ReduceOp::kCount)) return "unknown reduce op code (see cpuStreamOps().reduce)";
  ReduceArgs a{};
  a.op = ReduceOp(op);
  a.x = x;
  a.out = out;
  a.outer = outer;
  a.r = r;
  a.inner = inner;
  a.f64 = sizeof(T) == 8;
  return Stream().reduce(a) ? nullptr : "out of memory for the partials";
}

}  // namespace

const char* CpuReduce(int64_t op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  return Red(op, x, out, outer, r, inner);
}
const char* CpuReduce(int64_t op, const double* x, double* out, int64_t outer, int64_t r, int64_t inner) {
  return Red(op, x, out, outer, r, inner);
}

}  // namespace wgcpu
