// Reductions over the middle axis: x is (outer, r, inner), out is (outer, inner).
//   reduce: sum / max / min / prod (max/min propagate NaN; r = 0 writes the identity: 0, -inf, inf, 1)
//   argReduce: int32 index of the first max/min along r (a NaN counts as the extreme, the first wins)
//
// Launch: inner == 1 (rows are contiguous): blockDim (tx, ty) with tx threads per row (32, or 256/1024
// for long rows), ty rows per block, grid-stride over rows. inner > 1: blockDim (32, 8), x runs over
// 32 consecutive inner positions (coalesced), y splits r; grid (ceil(inner/32), outer) with outer
// folded into y/z. Both reduce the partials through shared memory (tree, deterministic order).
// Checked by test/backend/parity.test.ts (odd r/inner, inner 1, r 1, large r).

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename A>
__device__ __forceinline__ A Identity(int op) {
  switch (static_cast<Reduce>(op)) {
    case Reduce::max: return A(-INFINITY);
    case Reduce::min: return A(INFINITY);
    case Reduce::prod: return A(1);
    default: return A(0);
  }
}

template <typename A>
__device__ __forceinline__ A Combine(int op, A acc, A v) {
  switch (static_cast<Reduce>(op)) {
    case Reduce::max: return (acc != acc || acc >= v) ? acc : v;  // NaN in v: acc >= NaN is false
    case Reduce::min: return (acc != acc || acc <= v) ? acc : v;
    case Reduce::prod: return acc * v;
    default: return acc + v;
  }
}

// Is (v, i) better than (bv, bi)? bi < 0 means "none yet".
template <typename A>
__device__ __forceinline__ bool Better(bool isMax, A v, int64_t i, A bv, int64_t bi) {
  if (i < 0) return false;
  if (bi < 0) return true;
  const bool vn = v != v, bn = bv != bv;
  if (vn || bn) return vn && bn ? i < bi : vn;
  if (v == bv) return i < bi;
  return isMax ? v > bv : v < bv;
}

// One row of length r per (threadIdx.y, row) slot, blockDim.x threads per row.
template <typename T>
__global__ void ReduceRowsKernel(int op, const T* x, T* out, int64_t rows, int64_t r) {
  using A = Acc<T>;
  extern __shared__ unsigned char smem_raw[];
  A* sh = reinterpret_cast<A*>(smem_raw) + threadIdx.y * blockDim.x;
  // Every thread of the block runs the same number of iterations (the __syncthreads are uniform).
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * blockDim.y; base < rows;
       base += static_cast<int64_t>(gridDim.x) * blockDim.y) {
    const int64_t row = base + threadIdx.y;
    A acc = Identity<A>(op);
    if (row < rows) {
      const T* xr = x + row * r;
      for (int64_t j = threadIdx.x; j < r; j += blockDim.x) acc = Combine(op, acc, ToF(xr[j]));
    }
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
      if (threadIdx.x < w) sh[threadIdx.x] = Combine(op, sh[threadIdx.x], sh[threadIdx.x + w]);
      __syncthreads();
    }
    if (threadIdx.x == 0 && row < rows) out[row] = FromF<T>(sh[0]);
    __syncthreads();
  }
}

// blockDim (32, 8); block (bx, o) covers out[o, bx*32 .. bx*32+31].
template <typename T>
__global__ void ReduceColsKernel(int op, const T* x, T* out, int64_t outer, int64_t r, int64_t inner) {
  using A = Acc<T>;
  __shared__ A sh[8][33];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.y) + static_cast<int64_t>(blockIdx.z) * gridDim.y; o < outer;
       o += static_cast<int64_t>(gridDim.y) * gridDim.z) {
    A acc = Identity<A>(op);
    if (col < inner) {
      const T* xo = x + o * r * inner + col;
      for (int64_t j = threadIdx.y; j < r; j += 8) acc = Combine(op, acc, ToF(xo[j * inner]));
    }
    sh[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0) {
      for (int y = 1; y < 8; ++y) acc = Combine(op, acc, sh[y][threadIdx.x]);
      if (col < inner) out[o * inner + col] = FromF<T>(acc);
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void ArgReduceRowsKernel(bool isMax, const T* x, int* out, int64_t rows, int64_t r) {
  using A = Acc<T>;
  __shared__ A shv[256];
  __shared__ int64_t shi[256];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * r;
    A bv = A(0);
    int64_t bi = -1;
    for (int64_t j = threadIdx.x; j < r; j += blockDim.x) {
      const A v = ToF(xr[j]);
      if (Better(isMax, v, j, bv, bi)) {
        bv = v;
        bi = j;
      }
    }
    shv[threadIdx.x] = bv;
    shi[threadIdx.x] = bi;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
      if (threadIdx.x < w &&
          Better(isMax, shv[threadIdx.x + w], shi[threadIdx.x + w], shv[threadIdx.x], shi[threadIdx.x])) {
        shv[threadIdx.x] = shv[threadIdx.x + w];
        shi[threadIdx.x] = shi[threadIdx.x + w];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[row] = static_cast<int>(shi[0] < 0 ? 0 : shi[0]);
    __syncthreads();
  }
}

// One thread per output column: coalesced across inner, sequential over r (first index wins).
template <typename T>
__global__ void ArgReduceColsKernel(bool isMax, const T* x, int* out, int64_t outer, int64_t r, int64_t inner) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, outer * inner) {
    const int64_t o = i / inner, col = i - o * inner;
    const T* xo = x + o * r * inner + col;
    A bv = A(0);
    int64_t bi = -1;
    for (int64_t j = 0; j < r; ++j) {
      const A v = ToF(xo[j * inner]);
      if (Better(isMax, v, j, bv, bi)) {
        bv = v;
        bi = j;
      }
    }
    out[i] = static_cast<int>(bi < 0 ? 0 : bi);
  }
}

template <typename T>
void ReduceTyped(int op, const T* x, T* out, int64_t outer, int64_t r, int64_t inner, cudaStream_t s) {
  using A = Acc<T>;
  if (inner == 1) {
    const int tx = r >= 8192 ? 1024 : (r >= 512 ? 256 : 32);
    const int ty = tx == 32 ? 8 : 1;
    int64_t blocks = (outer + ty - 1) / ty;
    if (blocks > 65535LL * 4) blocks = 65535LL * 4;
    ReduceRowsKernel<T><<<static_cast<unsigned>(blocks), dim3(tx, ty), sizeof(A) * tx * ty, s>>>(op, x, out, outer, r);
  } else {
    const int64_t gx = (inner + 31) / 32;
    const int64_t gy = outer < 65535 ? outer : 65535;
    const int64_t gz = (outer + gy - 1) / gy < 64 ? (outer + gy - 1) / gy : 64;
    ReduceColsKernel<T>
        <<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz)), dim3(32, 8), 0, s>>>(
            op, x, out, outer, r, inner);
  }
}

template <typename T>
void ArgReduceTyped(bool isMax, const T* x, int* out, int64_t outer, int64_t r, int64_t inner, cudaStream_t s) {
  if (inner == 1) {
    const int64_t blocks = outer < 65535LL * 8 ? outer : 65535LL * 8;
    ArgReduceRowsKernel<T><<<static_cast<unsigned>(blocks), r >= 1024 ? 256 : 32, 0, s>>>(isMax, x, out, outer, r);
  } else {
    ArgReduceColsKernel<T><<<GridFor(outer * inner), kThreads, 0, s>>>(isMax, x, out, outer, r, inner);
  }
}

}  // namespace

int LaunchReduce(int op, const void* x, void* out, int64_t outer, int64_t r, int64_t inner, int dtype, cudaStream_t s) {
  if (outer * inner <= 0) return kOk;
  WG_DISPATCH_ALL(dtype, ReduceTyped<T>(op, static_cast<const T*>(x), static_cast<T*>(out), outer, r, inner, s))
}

int LaunchArgReduce(int op, const void* x, int* out, int64_t outer, int64_t r, int64_t inner, int dtype,
                    cudaStream_t s) {
  if (outer * inner <= 0) return kOk;
  const bool isMax = op == static_cast<int>(ArgReduce::argmax);
  WG_DISPATCH_ALL(dtype, ArgReduceTyped<T>(isMax, static_cast<const T*>(x), out, outer, r, inner, s))
}

}  // namespace k
}  // namespace wg
