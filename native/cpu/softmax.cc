// The 'softmax' family's entry points (declared by gen_softmax.h from
// native/manifest/cpu/softmax.mjs; N-API unpacking in gen_softmax.cc): softmax / log-softmax and
// the fused cross-entropy over the streaming kernels of the selected ISA (elementwise.h).
// Check: npx vitest run test/native/cpu-streaming.test.ts
#include <string>

#include "elementwise.h"
#include "gen_softmax.h"

namespace wgcpu {
namespace {

template <class T>
const char* Softmax(const T* x, const T* dy, T* out, int64_t rows, int64_t cols, bool log, bool backward) {
  SoftmaxArgs a{};
  a.x = x;
  a.dy = dy;
  a.out = out;
  a.rows = rows;
  a.cols = cols;
  a.log = log;
  a.f64 = sizeof(T) == 8;
  if (backward) Stream().softmaxBackward(a);
  else Stream().softmax(a);
  return nullptr;
}

// The js kernel checks every target before writing (RangeError "crossEntropy: target ..."); the
// JS wrapper does the same check first, this one keeps a direct call from reading out of bounds.
thread_local std::string t_msg;
const char* CheckTargets(const int32_t* t, int64_t rows, int64_t cols, int64_t ignore) {
  for (int64_t r = 0; r < rows; r++) {
    int64_t v = t[r];
    if (v != ignore && !(v >= 0 && v < cols)) {
      t_msg =
          "target " + std::to_string(v) + " out of range [0, " + std::to_string(cols) + ") at row " + std::to_string(r);
      return t_msg.c_str();
    }
  }
  return nullptr;
}

template <class T>
const char* Xent(const T* logits, const int32_t* targets, const T* dloss, T* out, int64_t rows, int64_t cols, double ls,
                 int64_t ignore, bool backward) {
  if (const char* e = CheckTargets(targets, rows, cols, ignore)) return e;
  XentArgs a{};
  a.logits = logits;
  a.targets = targets;
  a.dloss = dloss;
  a.out = out;
  a.rows = rows;
  a.cols = cols;
  a.labelSmoothing = ls;
  a.ignoreIndex = ignore;
  a.f64 = sizeof(T) == 8;
  if (backward) Stream().crossEntropyBackward(a);
  else Stream().crossEntropy(a);
  return nullptr;
}

}  // namespace

const char* CpuSoftmax(const float* x, float* y, int64_t rows, int64_t cols, bool log) {
  return Softmax<float>(x, nullptr, y, rows, cols, log, false);
}
const char* CpuSoftmax(const double* x, double* y, int64_t rows, int64_t cols, bool log) {
  return Softmax<double>(x, nullptr, y, rows, cols, log, false);
}
const char* CpuSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log) {
  return Softmax<float>(y, dy, dx, rows, cols, log, true);
}
const char* CpuSoftmaxBackward(const double* y, const double* dy, double* dx, int64_t rows, int64_t cols, bool log) {
  return Softmax<double>(y, dy, dx, rows, cols, log, true);
}
const char* CpuCrossEntropy(const float* logits, const int32_t* targets, float* loss, int64_t rows, int64_t cols,
                            double labelSmoothing, int64_t ignoreIndex) {
  return Xent<float>(logits, targets, nullptr, loss, rows, cols, labelSmoothing, ignoreIndex, false);
}
const char* CpuCrossEntropy(const double* logits, const int32_t* targets, double* loss, int64_t rows, int64_t cols,
                            double labelSmoothing, int64_t ignoreIndex) {
  return Xent<double>(logits, targets, nullptr, loss, rows, cols, labelSmoothing, ignoreIndex, false);
}
const char* CpuCrossEntropyBackward(const float* logits, const int32_t* targets, const float* dloss, float* dlogits,
                                    int64_t rows, int64_t cols, double labelSmoothing, int64_t ignoreIndex) {
  return Xent<float>(logits, targets, dloss, dlogits, rows, cols, labelSmoothing, ignoreIndex, true);
}
const char* CpuCrossEntropyBackward(const double* logits, const int32_t* targets, const double* dloss, double* dlogits,
                                    int64_t rows, int64_t cols, double labelSmoothing, int64_t ignoreIndex) {
  return Xent<double>(logits, targets, dloss, dlogits, rows, cols, labelSmoothing, ignoreIndex, true);
}

}  // namespace wgcpu
