// Row-wise softmax / log-softmax over the last axis, its backward, and fused cross-entropy.
// x, y, dy, dx, logits, dlogits are (rows, cols); targets int32 (rows); loss, dloss (rows).
//   softmax:      y = exp(x − max) / Σ exp(x − max)         log: y = x − max − log Σ exp(x − max)
//   backward:     dx = y·(dy − Σ dy·y)                      log: dx = dy − exp(y)·Σ dy
//   crossEntropy: loss = −(1−ε)·logp[t] − ε/cols·Σ_j logp[j], logp = x − lse; 0 when t == ignoreIndex
//   backward:     dlogits = dloss·(softmax − (1−ε)·onehot(t) − ε/cols); 0 for ignored rows
// A target outside [0, cols) (and not ignoreIndex) sets the device error flag; its row gets NaN loss
// (forward) or zeros (backward).
// Launch: one block per row (grid-stride over rows), 32 / 128 / 512 threads by cols. Max and sum are
// found in one pass (online softmax: each thread keeps (m, s) and rescales s when m grows), merged
// across the block; a second pass writes.

#include "common.cuh"

namespace wg {
namespace k {
namespace {

// Online (max, Σ exp(x − max)) of a row, reduced over the block; also Σ x when wantSum.
template <typename T, typename A>
__device__ void RowStats(const T* xr, int64_t cols, A* sh, A& M, A& S, A* sumX) {
  A m = A(-INFINITY), s = A(0), sx = A(0);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const A v = ToF(xr[j]);
    sx += v;
    // v = -inf adds exp(-inf) = 0; skipping it avoids exp(-inf - (-inf)) = NaN while m is still -inf
    // (a masked entry seen before any finite one). NaN v still reaches s and propagates.
    if (v > m) {
      s = s * exp(m - v) + A(1);
      m = v;
    } else if (v != A(-INFINITY)) s += exp(v - m);
  }
  M = BlockMax(m, sh);
  const A scaled = m == A(-INFINITY) ? A(0) : s * exp(m - M);
  S = BlockSum(scaled, sh);
  if (sumX != nullptr) *sumX = BlockSum(sx, sh);
}

template <typename T>
__global__ void SoftmaxKernel(const T* x, T* y, int64_t rows, int64_t cols, bool logOut) {
  using A = Acc<T>;
  __shared__ A sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    A M, S;
    RowStats<T, A>(xr, cols, sh, M, S, nullptr);
    const A logS = log(S), inv = A(1) / S;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A v = ToF(xr[j]) - M;
      yr[j] = FromF<T>(logOut ? v - logS : exp(v) * inv);
    }
  }
}

template <typename T>
__global__ void SoftmaxBackwardKernel(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols, bool logOut) {
  using A = Acc<T>;
  __shared__ A sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* yr = y + r * cols;
    const T* dyr = dy + r * cols;
    A part = A(0);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) part += logOut ? ToF(dyr[j]) : ToF(dyr[j]) * ToF(yr[j]);
    const A dot = BlockSum(part, sh);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A yv = ToF(yr[j]), g = ToF(dyr[j]);
      dx[r * cols + j] = FromF<T>(logOut ? g - exp(yv) * dot : yv * (g - dot));
    }
  }
}

template <typename T>
__global__ void CrossEntropyKernel(const T* logits, const int* targets, T* loss, int64_t rows, int64_t cols, double eps,
                                   int ignoreIndex, int* flag) {
  using A = Acc<T>;
  __shared__ A sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int t = targets[r];
    if (t == ignoreIndex) {  // uniform per block: no barrier is skipped by part of it
      if (threadIdx.x == 0) loss[r] = FromF<T>(0.f);
      continue;
    }
    const T* xr = logits + r * cols;
    A M, S, sumX;
    RowStats<T, A>(xr, cols, sh, M, S, &sumX);
    if (threadIdx.x == 0) {
      if (t < 0 || t >= cols) {
        RaiseError(flag);
        loss[r] = FromF<T>(NAN);
      } else {
        const A lse = M + log(S);
        const A e = A(eps);
        const A l = -(A(1) - e) * (ToF(xr[t]) - lse) - (e / A(cols)) * (sumX - A(cols) * lse);
        loss[r] = FromF<T>(l);
      }
    }
  }
}

template <typename T>
__global__ void CrossEntropyBackwardKernel(const T* logits, const int* targets, const T* dloss, T* dlogits,
                                           int64_t rows, int64_t cols, double eps, int ignoreIndex, int* flag) {
  using A = Acc<T>;
  __shared__ A sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int t = targets[r];
    T* dr = dlogits + r * cols;
    const bool bad = t != ignoreIndex && (t < 0 || t >= cols);
    if (t == ignoreIndex || bad) {
      if (bad && threadIdx.x == 0) RaiseError(flag);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dr[j] = FromF<T>(0.f);
      continue;
    }
    const T* xr = logits + r * cols;
    A M, S;
    RowStats<T, A>(xr, cols, sh, M, S, nullptr);
    const A inv = A(1) / S, g = ToF(dloss[r]), e = A(eps), smooth = e / A(cols);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A p = exp(ToF(xr[j]) - M) * inv;
      const A target = (j == t ? A(1) - e : A(0)) + smooth;
      dr[j] = FromF<T>(g * (p - target));
    }
  }
}

int RowThreads(int64_t cols) { return cols <= 128 ? 32 : (cols <= 2048 ? 128 : 512); }
unsigned RowBlocks(int64_t rows) { return static_cast<unsigned>(rows < 65535LL * 16 ? rows : 65535LL * 16); }

}  // namespace

int LaunchSoftmax(const void* x, void* y, int64_t rows, int64_t cols, bool log, int dtype, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, SoftmaxKernel<T><<<RowBlocks(rows), RowThreads(cols), 0, s>>>(
                               static_cast<const T*>(x), static_cast<T*>(y), rows, cols, log))
}

int LaunchSoftmaxBackward(const void* y, const void* dy, void* dx, int64_t rows, int64_t cols, bool log, int dtype,
                          cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype,
                    SoftmaxBackwardKernel<T><<<RowBlocks(rows), RowThreads(cols), 0, s>>>(
                        static_cast<const T*>(y), static_cast<const T*>(dy), static_cast<T*>(dx), rows, cols, log))
}

int LaunchCrossEntropy(const void* logits, const int* targets, void* loss, int64_t rows, int64_t cols,
                       double labelSmoothing, int ignoreIndex, int dtype, int* flag, cudaStream_t s) {
  if (rows <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, CrossEntropyKernel<T><<<RowBlocks(rows), RowThreads(cols), 0, s>>>(
                               static_cast<const T*>(logits), targets, static_cast<T*>(loss), rows, cols,
                               labelSmoothing, ignoreIndex, flag))
}

int LaunchCrossEntropyBackward(const void* logits, const int* targets, const void* dloss, void* dlogits, int64_t rows,
                               int64_t cols, double labelSmoothing, int ignoreIndex, int dtype, int* flag,
                               cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, CrossEntropyBackwardKernel<T><<<RowBlocks(rows), RowThreads(cols), 0, s>>>(
                               static_cast<const T*>(logits), targets, static_cast<const T*>(dloss),
                               static_cast<T*>(dlogits), rows, cols, labelSmoothing, ignoreIndex, flag))
}

}  // namespace k
}  // namespace wg
