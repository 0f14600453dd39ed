// The streaming CPU kernels (softmax / log-softmax, fused cross-entropy, layer and batch norm,
// bias + activation, unary / unary-grad / broadcasting binary, reductions): their argument
// structs and the per-ISA tables. The kernels themselves are written once, in
// elementwise_kernels.h, and compiled three times (elementwise.cc: SSE2 baseline on x86-64 and
// the portable path elsewhere; elementwise_avx2.cc; elementwise_avx512.cc); Stream() picks the
// table that matches wgcpu::Kernels() (cpuid, WATTGRAD_CPU_ISA, cpuSelectIsa), so forcing an ISA
// forces it for these kernels too. Semantics are the js backend's (lib/backend/js/{softmax,norm,
// elementwise,reduce}.ts); the N-API entry points live in napi_{softmax,norm,elementwise,reduce}.cc.
//
// Plain C types only: shared by translation units built with different -m flags.
// Check: npx vitest run test/native/cpu-streaming.test.ts
#pragma once

#include <stdint.h>

namespace wgcpu {

// Op codes: the index into the name lists below (exported to JS by cpuStreamOps, so the JS side
// never restates them).
// clang-format off
#define WG_UNARY_OPS(X)                                                                               \
  X(neg) X(abs) X(sign) X(exp) X(expm1) X(log) X(log1p) X(sqrt) X(rsqrt) X(square) X(reciprocal)      \
  X(sin) X(cos) X(floor) X(ceil) X(round) X(tanh) X(sigmoid) X(relu) X(gelu) X(gelu_tanh) X(silu)     \
  X(softplus) X(leaky_relu) X(elu) X(clamp) X(add_scalar) X(mul_scalar) X(rsub_scalar)                \
  X(rdiv_scalar) X(pow_scalar) X(rpow_scalar) X(gt_scalar) X(lt_scalar) X(ge_scalar) X(le_scalar)     \
  X(eq_scalar) X(ne_scalar)
#define WG_UNARY_GRAD_OPS(X) \
  X(relu) X(gelu) X(gelu_tanh) X(silu) X(tanh) X(sigmoid) X(softplus) X(leaky_relu) X(elu) X(clamp) X(abs)
#define WG_BINARY_OPS(X) X(add) X(sub) X(mul) X(div) X(pow) X(maximum) X(minimum) X(eq) X(ne) X(lt) X(le) X(gt) X(ge)
#define WG_REDUCE_OPS(X) X(sum) X(max) X(min) X(prod)
#define WG_ACTIVATIONS(X) X(none) X(relu) X(gelu) X(tanh) X(sigmoid)
// clang-format on

#define WG_ENUM_ITEM(name) name,
enum class UnaryOp { WG_UNARY_OPS(WG_ENUM_ITEM) kCount };
enum class UnaryGradOp { WG_UNARY_GRAD_OPS(WG_ENUM_ITEM) kCount };
enum class BinaryOp { WG_BINARY_OPS(WG_ENUM_ITEM) kCount };
enum class ReduceOp { WG_REDUCE_OPS(WG_ENUM_ITEM) kCount };
enum class Act { WG_ACTIVATIONS(WG_ENUM_ITEM) kCount };
#undef WG_ENUM_ITEM

// Every pointer is a float* when f64 is false, a double* when true (targets: int32).

struct SoftmaxArgs {  // x, y are (rows, cols); backward: y, dy, dx
  const void* x;      // forward input, or the backward's y
  const void* dy;     // backward only
  void* out;          // y (forward) or dx (backward)
  int64_t rows, cols;
  bool log, f64;
};

struct XentArgs {  // logits (rows, cols), targets (rows) int32, loss / dloss (rows), dlogits (rows, cols)
  const void* logits;
  const int32_t* targets;
  const void* dloss;  // backward
  void* out;          // loss (forward) or dlogits (backward)
  int64_t rows, cols;
  double labelSmoothing;
  int64_t ignoreIndex;
  bool f64;
};

struct LayerNormArgs {  // x, y, dy, dx (rows, cols); gamma, beta, dgamma, dbeta (cols) or null; mean, rstd (rows)
  const void *x, *gamma, *beta, *dy;
  void *y, *mean, *rstd, *dx, *dgamma, *dbeta;
  int64_t rows, cols;
  double eps;
  bool f64;
};

struct BatchNormArgs {  // x, y, dy, dx (n, c, hw); gamma, beta, running stats, saved stats, dgamma, dbeta (c)
  const void *x, *gamma, *beta, *dy;
  void *runningMean, *runningVar, *y, *saveMean, *saveInvStd, *dx, *dgamma, *dbeta;
  int64_t n, c, hw;
  bool training;
  double momentum, eps;
  bool f64;
};

struct BiasActArgs {  // x, out (outer, c, inner), bias (c)
  const void* x;
  const void* bias;
  void* out;
  int64_t outer, c, inner;
  Act act;
  bool f64;
};

struct UnaryArgs {  // x, out (n); grad: x, y, dy, dx (n)
  const void *x, *y, *dy;
  void* out;
  int64_t n;
  double a, b;
  int op;  // UnaryOp or UnaryGradOp
  bool f64;
};

// out = a op b over `shape` (nd dims, row-major contiguous out); aStrides / bStrides in elements,
// 0 on broadcast dimensions.
struct BinaryArgs {
  const void *a, *b;
  void* out;
  int nd;
  const int64_t *shape, *aStrides, *bStrides;
  BinaryOp op;
  bool f64;
};

struct ReduceArgs {  // x (outer, r, inner) -> out (outer, inner)
  const void* x;
  void* out;
  int64_t outer, r, inner;
  ReduceOp op;
  bool f64;
};

struct StreamKernels {
  const char* name;
  void (*softmax)(const SoftmaxArgs&);
  void (*softmaxBackward)(const SoftmaxArgs&);
  void (*crossEntropy)(const XentArgs&);
  void (*crossEntropyBackward)(const XentArgs&);
  // false: out of memory for scratch
  bool (*layerNorm)(const LayerNormArgs&);
  bool (*layerNormBackward)(const LayerNormArgs&);
  void (*batchNorm)(const BatchNormArgs&);
  void (*batchNormBackward)(const BatchNormArgs&);
  void (*addBiasAct)(const BiasActArgs&);
  void (*unary)(const UnaryArgs&);
  void (*unaryGrad)(const UnaryArgs&);
  void (*binary)(const BinaryArgs&);
  bool (*reduce)(const ReduceArgs&);
};

extern const StreamKernels kStreamAvx512;
extern const StreamKernels kStreamAvx2;
extern const StreamKernels kStreamBase;  // SSE2 on x86-64, portable elsewhere

// The table for the ISA wgcpu::Kernels() selected.
const StreamKernels& Stream();

}  // namespace wgcpu
