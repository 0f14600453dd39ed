// Index kernels along the middle axis. x is (outer, dimSize, inner); idx is int32.
//   indexSelect: idx (nIdx), out (outer, nIdx, inner): out[o, j, i] = x[o, idx[j], i]
//   gather:      idx, out (outer, k, inner):             out[o, j, i] = x[o, idx[o, j, i], i]
//   backward:    dx = 0 (cudaMemsetAsync), then atomicAdd of dy at the same positions (repeats add).
// An index outside [0, dimSize) sets the runtime's device error flag (raised at the next sync);
// the element is written as 0 (forward) or skipped (backward).
// Launch: grid-stride, 256 threads, one output element each. Scatter kernels: float32/float64.

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename T>
__global__ void IndexSelectKernel(const T* x, const int* idx, T* out, int64_t dimSize, int64_t inner, int64_t nIdx,
                                  int64_t n, int* flag) {
  WG_GRID_STRIDE(i, n) {
    const int64_t in = i % inner, j = (i / inner) % nIdx, o = i / (inner * nIdx);
    const int64_t t = idx[j];
    if (t < 0 || t >= dimSize) {
      RaiseError(flag);
      out[i] = FromF<T>(0.f);
      continue;
    }
    out[i] = x[(o * dimSize + t) * inner + in];
  }
}

template <typename T>
__global__ void IndexSelectBackwardKernel(const T* dy, const int* idx, T* dx, int64_t dimSize, int64_t inner,
                                          int64_t nIdx, int64_t n, int* flag) {
  WG_GRID_STRIDE(i, n) {
    const int64_t in = i % inner, j = (i / inner) % nIdx, o = i / (inner * nIdx);
    const int64_t t = idx[j];
    if (t < 0 || t >= dimSize) {
      RaiseError(flag);
      continue;
    }
    AtomicAddT(dx + (o * dimSize + t) * inner + in, dy[i]);
  }
}

template <typename T>
__global__ void GatherKernel(const T* x, const int* idx, T* out, int64_t dimSize, int64_t inner, int64_t k, int64_t n,
                             int* flag) {
  WG_GRID_STRIDE(i, n) {
    const int64_t in = i % inner, o = i / (inner * k);
    const int64_t t = idx[i];
    if (t < 0 || t >= dimSize) {
      RaiseError(flag);
      out[i] = FromF<T>(0.f);
      continue;
    }
    out[i] = x[(o * dimSize + t) * inner + in];
  }
}

template <typename T>
__global__ void GatherBackwardKernel(const T* dy, const int* idx, T* dx, int64_t dimSize, int64_t inner, int64_t k,
                                     int64_t n, int* flag) {
  WG_GRID_STRIDE(i, n) {
    const int64_t in = i % inner, o = i / (inner * k);
    const int64_t t = idx[i];
    if (t < 0 || t >= dimSize) {
      RaiseError(flag);
      continue;
    }
    AtomicAddT(dx + (o * dimSize + t) * inner + in, dy[i]);
  }
}

size_t ElemSize(int dtype) { return dtype == kF64 ? 8 : (dtype == kBF16 || dtype == kF16) ? 2 : 4; }

}  // namespace

int LaunchIndexSelect(const void* x, const int* idx, void* out, int64_t outer, int64_t dimSize, int64_t inner,
                      int64_t nIdx, int dtype, int* flag, cudaStream_t s) {
  const int64_t n = outer * nIdx * inner;
  if (n <= 0) return kOk;
  WG_DISPATCH_ALL(dtype, IndexSelectKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                             static_cast<const T*>(x), idx, static_cast<T*>(out), dimSize, inner, nIdx, n, flag))
}

int LaunchIndexSelectBackward(const void* dy, const int* idx, void* dx, int64_t outer, int64_t dimSize, int64_t inner,
                              int64_t nIdx, int dtype, int* flag, cudaStream_t s) {
  if (dtype != kF32 && dtype != kF64) return kUnsupported;
  const int64_t total = outer * dimSize * inner, n = outer * nIdx * inner;
  if (total > 0) cudaMemsetAsync(dx, 0, static_cast<size_t>(total) * ElemSize(dtype), s);
  if (n <= 0) return kOk;
  WG_DISPATCH_F32_F64(dtype, IndexSelectBackwardKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                                 static_cast<const T*>(dy), idx, static_cast<T*>(dx), dimSize, inner, nIdx, n, flag))
}

int LaunchGather(const void* x, const int* idx, void* out, int64_t outer, int64_t dimSize, int64_t inner, int64_t k,
                 int dtype, int* flag, cudaStream_t s) {
  const int64_t n = outer * k * inner;
  if (n <= 0) return kOk;
  WG_DISPATCH_ALL(dtype, GatherKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                             static_cast<const T*>(x), idx, static_cast<T*>(out), dimSize, inner, k, n, flag))
}

int LaunchGatherBackward(const void* dy, const int* idx, void* dx, int64_t outer, int64_t dimSize, int64_t inner,
                         int64_t k, int dtype, int* flag, cudaStream_t s) {
  if (dtype != kF32 && dtype != kF64) return kUnsupported;
  const int64_t total = outer * dimSize * inner, n = outer * k * inner;
  if (total > 0) cudaMemsetAsync(dx, 0, static_cast<size_t>(total) * ElemSize(dtype), s);
  if (n <= 0) return kOk;
  WG_DISPATCH_F32_F64(dtype, GatherBackwardKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                                 static_cast<const T*>(dy), idx, static_cast<T*>(dx), dimSize, inner, k, n, flag))
}

}  // namespace k
}  // namespace wg
