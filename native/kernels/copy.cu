// stridedCopy: dst[dstOffset + Σ i_d·dstStrides[d]] (+)= src[srcOffset + Σ i_d·srcStrides[d]] over an
// index space of up to 8 dims (permute, slice, expand, cat pieces, slice-backward with accumulate).
//
// The launcher merges dims contiguous in both src and dst first (a plain copy becomes 1-D).
// Launch: grid-stride, 256 threads, one element per step. dst addresses are distinct (contract), so
// accumulate needs no atomics. Accumulation is in Acc<T>.
// Checked by test/backend/parity.test.ts (transposes, broadcasts, offsets, accumulate).

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename T, bool ACC>
__global__ void StridedCopyKernel(const T* src, T* dst, Strided d, int64_t n) {
  WG_GRID_STRIDE(i, n) {
    int64_t off[2];
    StridedOffsets<2>(d, i, off);
    if (ACC) {
      dst[off[1]] = FromF<T>(ToF(dst[off[1]]) + ToF(src[off[0]]));
    } else {
      dst[off[1]] = src[off[0]];
    }
  }
}

template <typename T>
void CopyTyped(const T* src, T* dst, const Strided& d, int64_t n, bool accumulate, cudaStream_t s) {
  if (!accumulate && d.ndim == 1 && d.stride[0][0] == 1 && d.stride[1][0] == 1) {
    cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, s);
    return;
  }
  if (accumulate) StridedCopyKernel<T, true><<<GridFor(n), kThreads, 0, s>>>(src, dst, d, n);
  else StridedCopyKernel<T, false><<<GridFor(n), kThreads, 0, s>>>(src, dst, d, n);
}

}  // namespace

int LaunchStridedCopy(const void* src, void* dst, Strided dims, int64_t srcOffset, int64_t dstOffset, int dtype,
                      bool accumulate, cudaStream_t s) {
  const int64_t n = Numel(dims);
  if (n <= 0) return kOk;
  const Strided d = Coalesce(dims, 2);
  WG_DISPATCH_ALL(dtype, CopyTyped<T>(static_cast<const T*>(src) + srcOffset, static_cast<T*>(dst) + dstOffset, d, n,
                                      accumulate, s))
}

}  // namespace k
}  // namespace wg
