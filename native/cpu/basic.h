// The 'basic' CPU kernels (fill, cast, where, argmax / argmin) per ISA: basic_body.h compiled with
// the baseline flags (basic.cc: SSE2 on x86-64, 16-byte vectors), AVX2 (basic_avx2.cc) and AVX-512
// (basic_avx512.cc). The entry points (basic.cc, declared by gen_basic.h from
// native/manifest/cpu/basic.mjs) split the work into tasks fixed by the shape alone and run them on
// the pool; each task calls one of these row functions. Every result is exact (a copy, a
// conversion, a comparison), so all ISAs and all thread counts give the same bits.
// Plain C types only: shared by translation units built with different -m flags.
#pragma once

#include <stdint.h>

namespace wgcpu {
namespace basic {

// Element type codes: the order of the manifest's `types` (f32, f64, i32).
enum Elem { kF32 = 0, kF64 = 1, kI32 = 2 };

struct Ops {
  const char* isa;
  // out[i] = x[i] converted, i < n (from/to: Elem); from == to is a copy.
  void (*cast)(const void* x, int from, void* out, int to, int64_t n);
  // the first index of the max (argmin: min) of x[0..n) (n >= 1), or of its first NaN
  int64_t (*argRow[3])(const void* x, int64_t n, bool argmin);
  // out[o] = argRow of row o, for `rows` contiguous rows of r (r >= 1)
  void (*argRows[3])(const void* x, int32_t* out, int64_t rows, int64_t r, bool argmin);
  // out[i - i0] for columns i in [i0, i1) of an (r, inner) block at x (r >= 1): the js argReduce
  void (*argCols[3])(const void* x, int32_t* out, int64_t r, int64_t inner, int64_t i0, int64_t i1, bool argmin);
  // o[j] = c[j·sc] != 0 ? a[j·sa] : b[j·sb] for j < len; [cond elem][value elem]
  void (*whereRow[3][3])(const void* c, int64_t sc, const void* a, int64_t sa, const void* b, int64_t sb, void* o,
                         int64_t len);
};

extern const Ops kOpsAvx512;
extern const Ops kOpsAvx2;
extern const Ops kOpsBase;

// The table for the ISA wgcpu::Kernels() picked (so WATTGRAD_CPU_ISA / cpuSelectIsa force it).
const Ops& Current();

}  // namespace basic
}  // namespace wgcpu
