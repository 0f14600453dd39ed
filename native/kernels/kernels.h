// Host launchers of our CUDA kernels: the only thing ops_*.cc sees of native/kernels/.
//
// Every launcher enqueues work on `s` and returns kOk, or kUnsupported when the dtype is not
// implemented for that kernel (the entry point then throws "cuda: <dtype> not supported for <kernel>").
// Launch errors are not returned: the entry point calls wg::CheckLaunch right after.
//
// Codes (dtype, op) are the indices of the name lists below; lib/backend/cuda/kernels.ts holds the
// same lists in the same order and test/backend/parity.test.ts compares them with `kernelEnums()`.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

namespace wg {
namespace k {

constexpr int kOk = 0;
constexpr int kUnsupported = 1;

// dtype codes: the order of DTYPES in lib/dtype.ts.
enum DType : int { kF32 = 0, kF64 = 1, kI32 = 2, kBF16 = 3, kF16 = 4 };
// The X-macro tables keep their hand layout (clang-format reflows them differently on every pass).
// clang-format off
#define WG_DTYPES(X) X(float32) X(float64) X(int32) X(bfloat16) X(float16)

#define WG_UNARY_OPS(X)                                                                       \
  X(neg) X(abs) X(sign) X(exp) X(expm1) X(log) X(log1p) X(sqrt) X(rsqrt) X(square)            \
  X(reciprocal) X(sin) X(cos) X(floor) X(ceil) X(round) X(tanh) X(sigmoid) X(relu) X(gelu)    \
  X(gelu_tanh) X(silu) X(softplus) X(leaky_relu) X(elu) X(clamp) X(add_scalar) X(mul_scalar)  \
  X(rsub_scalar) X(rdiv_scalar) X(pow_scalar) X(rpow_scalar) X(gt_scalar) X(lt_scalar)        \
  X(ge_scalar) X(le_scalar) X(eq_scalar) X(ne_scalar)
#define WG_UNARY_GRAD_OPS(X) \
  X(relu) X(gelu) X(gelu_tanh) X(silu) X(tanh) X(sigmoid) X(softplus) X(leaky_relu) X(elu) X(clamp) X(abs)
#define WG_BINARY_OPS(X) \
  X(add) X(sub) X(mul) X(div) X(pow) X(maximum) X(minimum) X(eq) X(ne) X(lt) X(le) X(gt) X(ge)
#define WG_REDUCE_OPS(X) X(sum) X(max) X(min) X(prod)
#define WG_ARG_REDUCE_OPS(X) X(argmax) X(argmin)
#define WG_ACTIVATIONS(X) X(none) X(relu) X(gelu) X(tanh) X(sigmoid)
// clang-format on

#define WG_ENUM_ENTRY(name) name,
enum class Unary : int { WG_UNARY_OPS(WG_ENUM_ENTRY) kCount };
enum class UnaryGrad : int { WG_UNARY_GRAD_OPS(WG_ENUM_ENTRY) kCount };
enum class Binary : int { WG_BINARY_OPS(WG_ENUM_ENTRY) kCount };
enum class Reduce : int { WG_REDUCE_OPS(WG_ENUM_ENTRY) kCount };
enum class ArgReduce : int { WG_ARG_REDUCE_OPS(WG_ENUM_ENTRY) kCount };
enum class Act : int { WG_ACTIVATIONS(WG_ENUM_ENTRY) kCount };
#undef WG_ENUM_ENTRY

// Broadcast / strided index space, by value in kernel parameters: up to 8 dims, up to 3 operands.
constexpr int kMaxDims = 8;
struct Strided {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t stride[3][kMaxDims];  // per operand, in elements (0 = broadcast)
};

struct Conv2d {
  int batch, inC, inH, inW, outC, kH, kW, outH, outW;
  int strideH, strideW, padH, padW, dilationH, dilationW, groups;
};

struct Pool2d {
  int batch, channels, inH, inW, outH, outW, kH, kW;
  int strideH, strideW, padH, padW, dilationH, dilationW;
  bool countIncludePad;
};

struct SgdHyper {  // doubles as JS gives them; the launcher derives the float scalars
  double lr, momentum, dampening, weightDecay;
  bool nesterov, maximize, firstStep;
};

struct AdamHyper {
  double lr, beta1, beta2, eps, weightDecay;
  bool decoupled, amsgrad, maximize;
  double step;
};

struct RmspropHyper {
  double lr, alpha, eps, weightDecay, momentum;
  bool centered, maximize;
};

struct AdagradHyper {  // clr: the step's lr, decayed by the host
  double clr, eps, weightDecay;
  bool maximize;
};

// ---- elementwise.cu
int LaunchFill(void* out, int64_t n, double value, int dtype, cudaStream_t s);
int LaunchCast(const void* x, void* out, int64_t n, int from, int to, cudaStream_t s);
int LaunchUnary(int op, const void* x, void* out, int64_t n, int dtype, double a, double b, cudaStream_t s);
int LaunchUnaryGrad(int op, const void* x, const void* y, const void* dy, void* dx, int64_t n, int dtype, double a,
                    double b, cudaStream_t s);
// dims.stride[0] = a, [1] = b; out is contiguous over dims.shape.
int LaunchBinary(int op, const void* a, const void* b, void* out, Strided dims, int dtype, cudaStream_t s);
// dims.stride[0] = cond, [1] = a, [2] = b.
int LaunchWhere(const void* cond, const void* a, const void* b, void* out, Strided dims, int condDtype, int dtype,
                cudaStream_t s);
int LaunchAddBiasAct(const void* x, const void* bias, void* out, int64_t outer, int64_t c, int64_t inner, int act,
                     int dtype, cudaStream_t s);

// ---- reduce.cu / copy.cu
int LaunchReduce(int op, const void* x, void* out, int64_t outer, int64_t r, int64_t inner, int dtype, cudaStream_t s);
int LaunchArgReduce(int op, const void* x, int* out, int64_t outer, int64_t r, int64_t inner, int dtype,
                    cudaStream_t s);
// dims.stride[0] = src, [1] = dst.
int LaunchStridedCopy(const void* src, void* dst, Strided dims, int64_t srcOffset, int64_t dstOffset, int dtype,
                      bool accumulate, cudaStream_t s);

// ---- matmul.cu
void SetAllowTf32(bool allow);
bool AllowTf32();
int LaunchMatmul(const void* a, const void* b, void* out, int batch, int m, int n, int k, bool transA, bool transB,
                 int64_t aBatchStride, int64_t bBatchStride, int dtype, cudaStream_t s);

// ---- conv2d.cu
int LaunchConv2d(const void* x, const void* w, void* y, const Conv2d& p, int dtype, cudaStream_t s);
int LaunchConv2dGradInput(const void* dy, const void* w, void* dx, const Conv2d& p, int dtype, cudaStream_t s);
int LaunchConv2dGradWeight(const void* x, const void* dy, void* dw, const Conv2d& p, int dtype, cudaStream_t s);

// ---- pool.cu
int LaunchMaxPool2d(const void* x, void* y, int* argmax, const Pool2d& p, int dtype, cudaStream_t s);
int LaunchMaxPool2dBackward(const void* dy, const int* argmax, void* dx, const Pool2d& p, int dtype, cudaStream_t s);
int LaunchAvgPool2d(const void* x, void* y, const Pool2d& p, int dtype, cudaStream_t s);
int LaunchAvgPool2dBackward(const void* dy, void* dx, const Pool2d& p, int dtype, cudaStream_t s);
int LaunchAdaptiveAvgPool2d(const void* x, void* y, int batch, int channels, int inH, int inW, int outH, int outW,
                            int dtype, cudaStream_t s);
int LaunchAdaptiveAvgPool2dBackward(const void* dy, void* dx, int batch, int channels, int inH, int inW, int outH,
                                    int outW, int dtype, cudaStream_t s);

// ---- index.cu (bad indices set *errorFlag)
int LaunchIndexSelect(const void* x, const int* idx, void* out, int64_t outer, int64_t dimSize, int64_t inner,
                      int64_t nIdx, int dtype, int* errorFlag, cudaStream_t s);
int LaunchIndexSelectBackward(const void* dy, const int* idx, void* dx, int64_t outer, int64_t dimSize, int64_t inner,
                              int64_t nIdx, int dtype, int* errorFlag, cudaStream_t s);
int LaunchGather(const void* x, const int* idx, void* out, int64_t outer, int64_t dimSize, int64_t inner, int64_t k,
                 int dtype, int* errorFlag, cudaStream_t s);
int LaunchGatherBackward(const void* dy, const int* idx, void* dx, int64_t outer, int64_t dimSize, int64_t inner,
                         int64_t k, int dtype, int* errorFlag, cudaStream_t s);

// ---- softmax.cu
int LaunchSoftmax(const void* x, void* y, int64_t rows, int64_t cols, bool log, int dtype, cudaStream_t s);
int LaunchSoftmaxBackward(const void* y, const void* dy, void* dx, int64_t rows, int64_t cols, bool log, int dtype,
                          cudaStream_t s);
int LaunchCrossEntropy(const void* logits, const int* targets, void* loss, int64_t rows, int64_t cols,
                       double labelSmoothing, int ignoreIndex, int dtype, int* errorFlag, cudaStream_t s);
int LaunchCrossEntropyBackward(const void* logits, const int* targets, const void* dloss, void* dlogits, int64_t rows,
                               int64_t cols, double labelSmoothing, int ignoreIndex, int dtype, int* errorFlag,
                               cudaStream_t s);

// ---- norm.cu
int LaunchLayerNorm(const void* x, const void* gamma, const void* beta, void* y, void* mean, void* rstd, int64_t rows,
                    int64_t cols, double eps, int dtype, cudaStream_t s);
int LaunchLayerNormBackward(const void* dy, const void* x, const void* gamma, const void* mean, const void* rstd,
                            void* dx, void* dgamma, void* dbeta, int64_t rows, int64_t cols, int dtype, cudaStream_t s);
int LaunchBatchNorm(const void* x, const void* gamma, const void* beta, void* runningMean, void* runningVar, void* y,
                    void* saveMean, void* saveInvStd, int64_t n, int64_t c, int64_t hw, bool training, double momentum,
                    double eps, int dtype, cudaStream_t s);
int LaunchBatchNormBackward(const void* dy, const void* x, const void* gamma, const void* saveMean,
                            const void* saveInvStd, void* dx, void* dgamma, void* dbeta, int64_t n, int64_t c,
                            int64_t hw, bool training, int dtype, cudaStream_t s);

// ---- rnn.cu
int LaunchLstmCell(const void* gates, const void* cPrev, void* h, void* c, void* act, int64_t batch, int64_t hidden,
                   int dtype, cudaStream_t s);
int LaunchLstmCellBackward(const void* act, const void* cPrev, const void* c, const void* dh, const void* dc,
                           void* dGates, void* dcPrev, int64_t batch, int64_t hidden, int dtype, cudaStream_t s);
int LaunchGruCell(const void* xg, const void* hg, const void* hPrev, void* h, void* saved, int64_t batch,
                  int64_t hidden, int dtype, cudaStream_t s);
int LaunchGruCellBackward(const void* saved, const void* hPrev, const void* dh, void* dxg, void* dhg, void* dhPrev,
                          int64_t batch, int64_t hidden, int dtype, cudaStream_t s);

// ---- random.cu (seed and offset are 64-bit, as the js Philox takes them)
int LaunchRandUniform(void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high, int dtype,
                      cudaStream_t s);
int LaunchRandNormal(void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, int dtype,
                     cudaStream_t s);
int LaunchDropoutMask(void* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int dtype, cudaStream_t s);

// ---- optim.cu (lists of device pointers on the host; the launcher chunks them into launches)
int LaunchSgdStep(void* const* params, void* const* grads, void* const* momentumBufs, const int64_t* numels, int count,
                  const SgdHyper& h, int dtype, cudaStream_t s);
int LaunchAdamStep(void* const* params, void* const* grads, void* const* expAvg, void* const* expAvgSq,
                   void* const* maxExpAvgSq, const int64_t* numels, int count, const AdamHyper& h, int dtype,
                   cudaStream_t s);
// momentumBufs (h.momentum > 0) and gradAvg (h.centered) may be nullptr.
int LaunchRmspropStep(void* const* params, void* const* grads, void* const* squareAvg, void* const* momentumBufs,
                      void* const* gradAvg, const int64_t* numels, int count, const RmspropHyper& h, int dtype,
                      cudaStream_t s);
int LaunchAdagradStep(void* const* params, void* const* grads, void* const* stateSum, const int64_t* numels, int count,
                      const AdagradHyper& h, int dtype, cudaStream_t s);

}  // namespace k
}  // namespace wg
