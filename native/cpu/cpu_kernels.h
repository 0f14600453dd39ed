// The CPU kernel table one ISA provides (isa_avx512.cc, isa_avx2.cc, isa_sse2.cc on x86-64;
// isa_neon.cc and isa_generic.cc on arm64; isa_generic.cc elsewhere). dispatch.cc picks one table at load (cpuid,
// WATTGRAD_CPU_ISA). Plain C types only: this header is shared by translation units built with different -m flags.
#pragma once

#include <stdint.h>

namespace wgcpu {

// out[b] = op(A[b]) · op(B[b]) for b < batch; op(A) is (m, k): A[b] is (m, k) row-major at
// A + b*aBatchStride, or (k, m) when transA; op(B) is (k, n): (k, n), or (n, k) when transB.
// out is (batch, m, n) contiguous and is overwritten (never read). k == 0 writes zeros.
// Each element of out is computed by one task with a fixed summation order that depends only on
// (m, n, k, transA, transB) and the ISA, never on the thread count.
template <class T>
struct GemmArgs {
  const T* a;
  const T* b;
  T* out;
  int64_t batch, m, n, k;
  int64_t aBatchStride, bBatchStride;
  bool transA, transB;
};

struct IsaKernels {
  const char* name;                       // "avx512", "avx2", "sse2", "neon", "generic"
  bool (*sgemm)(const GemmArgs<float>&);  // false: out of memory for the packing buffers
  bool (*dgemm)(const GemmArgs<double>&);
  // Register-only FMA loop (no memory traffic): `iters` iterations on each of `threads` pool
  // threads (1 = the caller only); returns the float32 FLOPs executed per thread.
  double (*fmaPeakFlops)(int64_t iters);
  int sgemmMR, sgemmNR;  // micro-tile, for info
  // Pre-packed B, for an operand reused by many products (an RNN's W_hh over its steps): packedSize
  // = elements of the packed op(B) for that shape, 0 when it would not be packed (then just call
  // sgemm); packB writes it; gemmPrepacked(g, packed) (batch 1, g.b still valid) = sgemm(g), bit for
  // bit, without packing B. The layout is this table's own: pack and multiply with the same one.
  int64_t (*sgemmPackedSize)(int64_t m, int64_t n, int64_t k, bool transA, bool transB);
  void (*sgemmPackB)(const float* b, int64_t n, int64_t k, bool transB, float* packed);
  bool (*sgemmPrepacked)(const GemmArgs<float>&, const float* packed);
  int64_t (*dgemmPackedSize)(int64_t m, int64_t n, int64_t k, bool transA, bool transB);
  void (*dgemmPackB)(const double* b, int64_t n, int64_t k, bool transB, double* packed);
  bool (*dgemmPrepacked)(const GemmArgs<double>&, const double* packed);
  // The same for a shared A operand (op(A), m×k): packedASize, packA, gemmPrepackedA.
  int64_t (*sgemmPackedASize)(int64_t m, int64_t n, int64_t k, bool transA, bool transB);
  void (*sgemmPackA)(const float* a, int64_t m, int64_t k, bool transA, float* packed);
  bool (*sgemmPrepackedA)(const GemmArgs<float>&, const float* packed);
  int64_t (*dgemmPackedASize)(int64_t m, int64_t n, int64_t k, bool transA, bool transB);
  void (*dgemmPackA)(const double* a, int64_t m, int64_t k, bool transA, double* packed);
  bool (*dgemmPrepackedA)(const GemmArgs<double>&, const double* packed);
};

extern const IsaKernels kAvx512Kernels;
extern const IsaKernels kAvx2Kernels;
extern const IsaKernels kSse2Kernels;
extern const IsaKernels kNeonKernels;
extern const IsaKernels kGenericKernels;

// The table in use and why (set at load by dispatch.cc).
const IsaKernels& Kernels();
// "avx512" etc. of every table this CPU can run, best first.
int SupportedIsas(const char** names, int cap);
// Switches the table (tests and benches); false when the CPU cannot run `name`.
bool SelectIsa(const char* name);

}  // namespace wgcpu
