// The 'norm' family's entry points (declared by gen_norm.h from native/manifest/cpu/norm.mjs;
// N-API unpacking in gen_norm.cc): layer norm and batch norm over the streaming kernels of the
// selected ISA (elementwise.h).
// Check: npx vitest run test/native/cpu-streaming.test.ts
#include "elementwise.h"
#include "gen_norm.h"

namespace wgcpu {
namespace {

template <class T>
const char* Ln(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
               double eps) {
  LayerNormArgs a{};
  a.x = x;
  a.gamma = gamma;
  a.beta = beta;
  a.y = y;
  a.mean = mean;
  a.rstd = rstd;
  a.rows = rows;
  a.cols = cols;
  a.eps = eps;
  a.f64 = sizeof(T) == 8;
  return Stream().layerNorm(a) ? nullptr : "out of memory for scratch";
}

template <class T>
const char* LnB(const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd, T* dx, T* dgamma, T* dbeta,
                int64_t rows, int64_t cols) {
  LayerNormArgs a{};
  a.dy = dy;
  a.x = x;
  a.gamma = gamma;
  a.mean = const_cast<T*>(mean);
  a.rstd = const_cast<T*>(rstd);
  a.dx = dx;
  a.dgamma = dgamma;
  a.dbeta = dbeta;
  a.rows = rows;
  a.cols = cols;
  a.f64 = sizeof(T) == 8;
  return Stream().layerNormBackward(a) ? nullptr : "out of memory for the dgamma/dbeta partials";
}

template <class T>
const char* Bn(const T* x, const T* gamma, const T* beta, T* rm, T* rv, T* y, T* sm, T* si, int64_t n, int64_t c,
               int64_t hw, bool training, double momentum, double eps) {
  BatchNormArgs a{};
  a.x = x;
  a.gamma = gamma;
  a.beta = beta;
  a.runningMean = rm;
  a.runningVar = rv;
  a.y = y;
  a.saveMean = sm;
  a.saveInvStd = si;
  a.n = n;
  a.c = c;
  a.hw = hw;
  a.training = training;
  a.momentum = momentum;
  a.eps = eps;
  a.f64 = sizeof(T) == 8;
  Stream().batchNorm(a);
  return nullptr;
}

template <class T>
const char* BnB(const T* dy, const T* x, const T* gamma, const T* sm, const T* si, T* dx, T* dgamma, T* dbeta,
                int64_t n, int64_t c, int64_t hw, bool training) {
  BatchNormArgs a{};
  a.dy = dy;
  a.x = x;
  a.gamma = gamma;
  a.saveMean = const_cast<T*>(sm);
  a.saveInvStd = const_cast<T*>(si);
  a.dx = dx;
  a.dgamma = dgamma;
  a.dbeta = dbeta;
  a.n = n;
  a.c = c;
  a.hw = hw;
  a.training = training;
  a.f64 = sizeof(T) == 8;
  Stream().batchNormBackward(a);
  return nullptr;
}

}  // namespace

const char* CpuLayerNorm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                         int64_t rows, int64_t cols, double eps) {
  return Ln(x, gamma, beta, y, mean, rstd, rows, cols, eps);
}
const char* CpuLayerNorm(const double* x, const double* gamma, const double* beta, double* y, double* mean,
                         double* rstd, int64_t rows, int64_t cols, double eps) {
  return Ln(x, gamma, beta, y, mean, rstd, rows, cols, eps);
}
const char* CpuLayerNormBackward(const float* dy, const float* x, const float* gamma, const float* mean,
                                 const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows,
                                 int64_t cols) {
  return LnB(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
}
const char* CpuLayerNormBackward(const double* dy, const double* x, const double* gamma, const double* mean,
                                 const double* rstd, double* dx, double* dgamma, double* dbeta, int64_t rows,
                                 int64_t cols) {
  return LnB(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
}
const char* CpuBatchNorm(const float* x, const float* gamma, const float* beta, float* runningMean, float* runningVar,
                         float* y, float* saveMean, float* saveInvStd, int64_t n, int64_t c, int64_t hw, bool training,
                         double momentum, double eps) {
  return Bn(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, n, c, hw, training, momentum, eps);
}
const char* CpuBatchNorm(const double* x, const double* gamma, const double* beta, double* runningMean,
                         double* runningVar, double* y, double* saveMean, double* saveInvStd, int64_t n, int64_t c,
                         int64_t hw, bool training, double momentum, double eps) {
  return Bn(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, n, c, hw, training, momentum, eps);
}
const char* CpuBatchNormBackward(const float* dy, const float* x, const float* gamma, const float* saveMean,
                                 const float* saveInvStd, float* dx, float* dgamma, float* dbeta, int64_t n, int64_t c,
                                 int64_t hw, bool training) {
  return BnB(dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, n, c, hw, training);
}
const char* CpuBatchNormBackward(const double* dy, const double* x, const double* gamma, const double* saveMean,
                                 const double* saveInvStd, double* dx, double* dgamma, double* dbeta, int64_t n,
                                 int64_t c, int64_t hw, bool training) {
  return BnB(dy, x, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, n, c, hw, training);
}

}  // namespace wgcpu
