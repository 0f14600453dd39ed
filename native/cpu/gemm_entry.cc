// The plain entry functions of the 'matmul' CPU family (declared in gen_matmul.h, generated from
// native/manifest/cpu/matmul.mjs; gen_matmul.cc has checked the arguments): the batched GEMM of
// the ISA picked at load (cpu_kernels.h). Check: npx vitest run test/native/cpu-matmul.test.ts
#include "cpu_kernels.h"
#include "gen_matmul.h"

namespace wgcpu {

const char* CpuMatmul(const float* a, const float* b, float* out, int64_t batch, int64_t m, int64_t n, int64_t k,
                      bool transA, bool transB, int64_t aBatchStride, int64_t bBatchStride) {
  GemmArgs<float> g{a, b, out, batch, m, n, k, aBatchStride, bBatchStride, transA, transB};
  return Kernels().sgemm(g) ? nullptr : "out of memory for the packing buffers";
}

const char* CpuMatmul(const double* a, const double* b, double* out, int64_t batch, int64_t m, int64_t n, int64_t k,
                      bool transA, bool transB, int64_t aBatchStride, int64_t bBatchStride) {
  GemmArgs<double> g{a, b, out, batch, m, n, k, aBatchStride, bBatchStride, transA, transB};
  return Kernels().dgemm(g) ? nullptr : "out of memory for the packing buffers";
}

}  // namespace wgcpu
