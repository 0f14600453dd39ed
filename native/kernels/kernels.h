// Host launchers of our CUDA kernels: the only thing ops_*.cc sees of native/kernels/. This header
// holds the codes and parameter structs; the launchers' declarations are generated from
// native/manifest/cuda/*.mjs (launch.gen.h, included at the end; scripts/gen-boundary.mjs).
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

// ---- matmul.cu: the TF32 switch (the launchers, one per kernel entry point, are generated from
// native/manifest/cuda/*.mjs into launch.gen.h, included below).
void SetAllowTf32(bool allow);
bool AllowTf32();

}  // namespace k
}  // namespace wg

#include "launch.gen.h"  // IWYU pragma: export
