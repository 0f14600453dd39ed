// The 'elementwise' family's entry points (declared by gen_elementwise.h from
// native/manifest/cpu/elementwise.mjs; N-API unpacking in gen_elementwise.cc): unary, unary-grad,
// broadcasting binary and bias + activation over the streaming kernels of the selected ISA.
// Check: npx vitest run test/native/cpu-streaming.test.ts
#include "elementwise.h"
#include "gen_elementwise.h"

namespace wgcpu {
namespace {

template <class T>
const char* Un(int64_t op, const T* x, const T* y, const T* dy, T* out, int64_t n, double a, double b, bool grad) {
  if (op >= (grad ? int64_t(UnaryGradOp::kCount) : int64_t(UnaryOp::kCount)))
    return grad ? "unknown unaryGrad op code (see cpuStreamOps().unaryGrad)"
                : "unknown unary op code (see cpuStreamOps().unary)";
  UnaryArgs u{};
  u.op = int(op);
  u.x = x;
  u.y = y;
  u.dy = dy;
  u.out = out;
  u.n = n;
  u.a = a;
  u.b = b;
  u.f64 = sizeof(T) == 8;
  if (grad) Stream().unaryGrad(u);
  else Stream().unary(u);
  return nullptr;
}

template <class T>
const char* Bin(int64_t op, const T* a, const T* b, T* out, int64_t nd, const int32_t* dims) {
  if (op >= int64_t(BinaryOp::kCount)) return "unknown binary op code (see cpuStreamOps().binary)";
  int64_t shape[16], as[16], bs[16];
  for (int64_t d = 0; d < nd; d++) {
    shape[d] = dims[d];
    as[d] = dims[nd + d];
    bs[d] = dims[2 * nd + d];
  }
  BinaryArgs x{};
  x.op = BinaryOp(op);
  x.a = a;
  x.b = b;
  x.out = out;
  x.nd = int(nd);
  x.shape = shape;
  x.aStrides = as;
  x.bStrides = bs;
  x.f64 = sizeof(T) == 8;
  Stream().binary(x);
  return nullptr;
}

template <class T>
const char* BiasAct(const T* x, const T* bias, T* out, int64_t outer, int64_t c, int64_t inner, int64_t act) {
  if (act >= int64_t(Act::kCount)) return "unknown activation code (see cpuStreamOps().activation)";
  BiasActArgs a{};
  a.x = x;
  a.bias = bias;
  a.out = out;
  a.outer = outer;
  a.c = c;
  a.inner = inner;
  a.act = Act(act);
  a.f64 = sizeof(T) == 8;
  Stream().addBiasAct(a);
  return nullptr;
}

}  // namespace

const char* CpuUnary(int64_t op, const float* x, float* out, int64_t n, double a, double b) {
  return Un<float>(op, x, nullptr, nullptr, out, n, a, b, false);
}
const char* CpuUnary(int64_t op, const double* x, double* out, int64_t n, double a, double b) {
  return Un<double>(op, x, nullptr, nullptr, out, n, a, b, false);
}
const char* CpuUnaryGrad(int64_t op, const float* x, const float* y, const float* dy, float* dx, int64_t n, double a,
                         double b) {
  return Un<float>(op, x, y, dy, dx, n, a, b, true);
}
const char* CpuUnaryGrad(int64_t op, const double* x, const double* y, const double* dy, double* dx, int64_t n,
                         double a, double b) {
  return Un<double>(op, x, y, dy, dx, n, a, b, true);
}
const char* CpuBinary(int64_t op, const float* a, const float* b, float* out, int64_t nd, const int32_t* dims) {
  return Bin(op, a, b, out, nd, dims);
}
const char* CpuBinary(int64_t op, const double* a, const double* b, double* out, int64_t nd, const int32_t* dims) {
  return Bin(op, a, b, out, nd, dims);
}
const char* CpuAddBiasAct(const float* x, const float* bias, float* out, int64_t outer, int64_t c, int64_t inner,
                          int64_t act) {
  return BiasAct(x, bias, out, outer, c, inner, act);
}
const char* CpuAddBiasAct(const double* x, const double* bias, double* out, int64_t outer, int64_t c, int64_t inner,
                          int64_t act) {
  return BiasAct(x, bias, out, outer, c, inner, act);
}

}  // namespace wgcpu
