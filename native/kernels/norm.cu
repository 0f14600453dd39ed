// Layer norm and batch norm, forward and backward.
// Saved statistics (layerNorm mean/rstd, batchNorm saveMean/saveInvStd) are Acc<T>: float32 for
// float32/bfloat16/float16 inputs (as PyTorch keeps them), float64 for float64.
//   layerNorm: x, y (rows, cols); per row mean, rstd = 1/sqrt(var + eps) (biased var), saved (rows);
//              y = (x − mean)·rstd·gamma + beta (gamma/beta optional, (cols)).
//   backward:  xhat = (x − mean)·rstd, g = dy·gamma;
//              dx = rstd·(g − mean_j(g) − xhat·mean_j(g·xhat)); dgamma = Σ_rows dy·xhat, dbeta = Σ_rows dy.
//   batchNorm: x, y (n, c, hw); per channel over n·hw. Training: batch mean / biased var, running
//              stats ← (1−momentum)·running + momentum·(mean, unbiased var), in place. Eval: running
//              stats. saveMean / saveInvStd (c) = what normalised.
//   backward:  training: dx = gamma·invstd·(dy − mean(dy) − xhat·mean(dy·xhat)); eval: dx = gamma·invstd·dy;
//              dgamma = Σ dy·xhat, dbeta = Σ dy.
// Launch: rows/channels one block each (grid-stride), 32..512 threads by length; two passes over
// the data for mean then variance (no catastrophic cancellation); layerNorm dgamma/dbeta by a
// (32, 8)-thread column reduction (deterministic, no atomics).

#include "common.cuh"

namespace wg {
namespace k {
namespace {

int Threads(int64_t len) { return len <= 128 ? 32 : (len <= 1024 ? 128 : 512); }
unsigned Blocks(int64_t n) { return static_cast<unsigned>(n < 65535LL * 16 ? n : 65535LL * 16); }

template <typename T>
__global__ void LayerNormKernel(const T* x, const T* gamma, const T* beta, T* y, Acc<T>* mean, Acc<T>* rstd,
                                int64_t rows, int64_t cols, double eps) {
  using A = Acc<T>;
  __shared__ A sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    A part = A(0);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) part += ToF(xr[j]);
    const A mu = BlockSum(part, sh) / A(cols);
    part = A(0);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A d = ToF(xr[j]) - mu;
      part += d * d;
    }
    const A var = BlockSum(part, sh) / A(cols);
    const A rs = A(1) / sqrt(var + A(eps));
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      A v = (ToF(xr[j]) - mu) * rs;
      if (gamma != nullptr) v *= ToF(gamma[j]);
      if (beta != nullptr) v += ToF(beta[j]);
      y[r * cols + j] = FromF<T>(v);
    }
    if (threadIdx.x == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
  }
}

template <typename T>
__global__ void LayerNormBackwardKernel(const T* dy, const T* x, const T* gamma, const Acc<T>* mean, const Acc<T>* rstd,
                                        T* dx, int64_t rows, int64_t cols) {
  using A = Acc<T>;
  __shared__ A sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    const T* dr = dy + r * cols;
    const A mu = mean[r], rs = rstd[r];
    A pa = A(0), pb = A(0);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A g = ToF(dr[j]) * (gamma != nullptr ? ToF(gamma[j]) : A(1));
      pa += g;
      pb += g * (ToF(xr[j]) - mu) * rs;
    }
    const A ma = BlockSum(pa, sh) / A(cols);
    const A mb = BlockSum(pb, sh) / A(cols);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A g = ToF(dr[j]) * (gamma != nullptr ? ToF(gamma[j]) : A(1));
      const A xh = (ToF(xr[j]) - mu) * rs;
      dx[r * cols + j] = FromF<T>(rs * (g - ma - xh * mb));
    }
  }
}

// blockDim (32, 8): column j = blockIdx.x·32 + tx, rows split over ty.
template <typename T>
__global__ void LayerNormParamGradKernel(const T* dy, const T* x, const Acc<T>* mean, const Acc<T>* rstd, T* dgamma,
                                         T* dbeta, int64_t rows, int64_t cols) {
  using A = Acc<T>;
  __shared__ A sg[8][33], sb[8][33];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  A ag = A(0), ab = A(0);
  if (j < cols) {
    for (int64_t r = threadIdx.y; r < rows; r += 8) {
      const A d = ToF(dy[r * cols + j]);
      ag += d * (ToF(x[r * cols + j]) - mean[r]) * rstd[r];
      ab += d;
    }
  }
  sg[threadIdx.y][threadIdx.x] = ag;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    for (int y = 1; y < 8; ++y) {
      ag += sg[y][threadIdx.x];
      ab += sb[y][threadIdx.x];
    }
    if (dgamma != nullptr) dgamma[j] = FromF<T>(ag);
    if (dbeta != nullptr) dbeta[j] = FromF<T>(ab);
  }
}

// One block per channel: statistics, running-stat update, save.
template <typename T>
__global__ void BatchNormStatsKernel(const T* x, T* runningMean, T* runningVar, Acc<T>* saveMean, Acc<T>* saveInvStd,
                                     int64_t n, int64_t c, int64_t hw, bool training, double momentum, double eps) {
  using A = Acc<T>;
  __shared__ A sh[32];
  const int64_t cnt = n * hw;
  // Eval without running stats normalises with batch statistics (js reference: useBatch); the running
  // stats are updated only in training and only when both are given.
  const bool useBatch = training || runningMean == nullptr || runningVar == nullptr;
  const bool update = training && runningMean != nullptr && runningVar != nullptr;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    if (!useBatch) {
      if (threadIdx.x == 0) {
        const A rm = ToF(runningMean[ch]);
        const A rv = ToF(runningVar[ch]);
        saveMean[ch] = rm;
        saveInvStd[ch] = A(1) / sqrt(rv + A(eps));
      }
      continue;
    }
    A part = A(0);
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) {
      const int64_t b = i / hw, p = i - b * hw;
      part += ToF(x[(b * c + ch) * hw + p]);
    }
    const A mu = BlockSum(part, sh) / A(cnt);
    part = A(0);
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) {
      const int64_t b = i / hw, p = i - b * hw;
      const A d = ToF(x[(b * c + ch) * hw + p]) - mu;
      part += d * d;
    }
    const A m2 = BlockSum(part, sh);
    if (threadIdx.x == 0) {
      const A var = m2 / A(cnt);
      saveMean[ch] = mu;
      saveInvStd[ch] = A(1) / sqrt(var + A(eps));
      const A mom = A(momentum);
      if (update) {
        runningMean[ch] = FromF<T>((A(1) - mom) * ToF(runningMean[ch]) + mom * mu);
        const A unbiased = cnt > 1 ? m2 / A(cnt - 1) : var;
        runningVar[ch] = FromF<T>((A(1) - mom) * ToF(runningVar[ch]) + mom * unbiased);
      }
    }
  }
}

template <typename T>
__global__ void BatchNormApplyKernel(const T* x, const T* gamma, const T* beta, const Acc<T>* saveMean,
                                     const Acc<T>* saveInvStd, T* y, int64_t c, int64_t hw, int64_t total) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, total) {
    const int64_t ch = (i / hw) % c;
    A v = (ToF(x[i]) - saveMean[ch]) * saveInvStd[ch];
    if (gamma != nullptr) v *= ToF(gamma[ch]);
    if (beta != nullptr) v += ToF(beta[ch]);
    y[i] = FromF<T>(v);
  }
}

template <typename T>
__global__ void BatchNormBackwardKernel(const T* dy, const T* x, const T* gamma, const Acc<T>* saveMean,
                                        const Acc<T>* saveInvStd, T* dx, T* dgamma, T* dbeta, int64_t n, int64_t c,
                                        int64_t hw, bool training) {
  using A = Acc<T>;
  __shared__ A sh[32];
  const int64_t cnt = n * hw;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const A mu = saveMean[ch], is = saveInvStd[ch];
    const A gm = gamma != nullptr ? ToF(gamma[ch]) : A(1);
    A pd = A(0), pdx = A(0);
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) {
      const int64_t b = i / hw, p = i - b * hw, at = (b * c + ch) * hw + p;
      const A d = ToF(dy[at]);
      pd += d;
      pdx += d * (ToF(x[at]) - mu) * is;
    }
    const A sumDy = BlockSum(pd, sh);
    const A sumDyXh = BlockSum(pdx, sh);
    if (threadIdx.x == 0) {
      if (dgamma != nullptr) dgamma[ch] = FromF<T>(sumDyXh);
      if (dbeta != nullptr) dbeta[ch] = FromF<T>(sumDy);
    }
    const A mDy = sumDy / A(cnt), mDyXh = sumDyXh / A(cnt);
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) {
      const int64_t b = i / hw, p = i - b * hw, at = (b * c + ch) * hw + p;
      const A d = ToF(dy[at]);
      A v;
      if (training) v = gm * is * (d - mDy - (ToF(x[at]) - mu) * is * mDyXh);
      else v = gm * is * d;
      dx[at] = FromF<T>(v);
    }
  }
}

}  // namespace

int LaunchLayerNorm(const void* x, const void* gamma, const void* beta, void* y, void* mean, void* rstd, int64_t rows,
                    int64_t cols, double eps, int dtype, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype,
                    LayerNormKernel<T><<<Blocks(rows), Threads(cols), 0, s>>>(
                        static_cast<const T*>(x), static_cast<const T*>(gamma), static_cast<const T*>(beta),
                        static_cast<T*>(y), static_cast<Acc<T>*>(mean), static_cast<Acc<T>*>(rstd), rows, cols, eps))
}

int LaunchLayerNormBackward(const void* dy, const void* x, const void* gamma, const void* mean, const void* rstd,
                            void* dx, void* dgamma, void* dbeta, int64_t rows, int64_t cols, int dtype,
                            cudaStream_t s) {
  if (cols <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, {
    if (rows > 0)
      LayerNormBackwardKernel<T><<<Blocks(rows), Threads(cols), 0, s>>>(
          static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const T*>(gamma),
          static_cast<const Acc<T>*>(mean), static_cast<const Acc<T>*>(rstd), static_cast<T*>(dx), rows, cols);
    if (dgamma != nullptr || dbeta != nullptr)
      LayerNormParamGradKernel<T><<<static_cast<unsigned>((cols + 31) / 32), dim3(32, 8), 0, s>>>(
          static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const Acc<T>*>(mean),
          static_cast<const Acc<T>*>(rstd), static_cast<T*>(dgamma), static_cast<T*>(dbeta), rows, cols);
  })
}

int LaunchBatchNorm(const void* x, const void* gamma, const void* beta, void* runningMean, void* runningVar, void* y,
                    void* saveMean, void* saveInvStd, int64_t n, int64_t c, int64_t hw, bool training, double momentum,
                    double eps, int dtype, cudaStream_t s) {
  if (c <= 0) return kOk;
  const int64_t total = n * c * hw;
  WG_DISPATCH_FLOAT(dtype, {
    BatchNormStatsKernel<T><<<Blocks(c), Threads(n * hw), 0, s>>>(
        static_cast<const T*>(x), static_cast<T*>(runningMean), static_cast<T*>(runningVar),
        static_cast<Acc<T>*>(saveMean), static_cast<Acc<T>*>(saveInvStd), n, c, hw, training, momentum, eps);
    if (total > 0)
      BatchNormApplyKernel<T><<<GridFor(total), kThreads, 0, s>>>(
          static_cast<const T*>(x), static_cast<const T*>(gamma), static_cast<const T*>(beta),
          static_cast<const Acc<T>*>(saveMean), static_cast<const Acc<T>*>(saveInvStd), static_cast<T*>(y), c, hw,
          total);
  })
}

int LaunchBatchNormBackward(const void* dy, const void* x, const void* gamma, const void* saveMean,
                            const void* saveInvStd, void* dx, void* dgamma, void* dbeta, int64_t n, int64_t c,
                            int64_t hw, bool training, int dtype, cudaStream_t s) {
  if (c <= 0) return kOk;
  WG_DISPATCH_FLOAT(
      dtype, BatchNormBackwardKernel<T><<<Blocks(c), Threads(n * hw), 0, s>>>(
                 static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const T*>(gamma),
                 static_cast<const Acc<T>*>(saveMean), static_cast<const Acc<T>*>(saveInvStd), static_cast<T*>(dx),
                 static_cast<T*>(dgamma), static_cast<T*>(dbeta), n, c, hw, training))
}

}  // namespace k
}  // namespace wg
