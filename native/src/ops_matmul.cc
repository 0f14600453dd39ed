// Entry points: matmul, setAllowTf32 (native/kernels/matmul.cu); conv2d, conv2dGradInput,
// conv2dGradWeight (native/kernels/conv2d.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// matmul(a, b, out, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, dtype)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 12, "matmul")) return env.Undefined();
  const void* a = Ptr(info[0], "matmul: a");
  const void* b = Ptr(info[1], "matmul: b");
  void* out = Ptr(info[2], "matmul: out");
  const int64_t batch = I64(info, 3), m = I64(info, 4), n = I64(info, 5), kk = I64(info, 6);
  const int64_t aStride = I64(info, 9), bStride = I64(info, 10);
  const int dtype = Int(info, 11);
  if (Pending(env) || !NonNeg(env, "matmul", {batch, m, n, kk, aStride, bStride})) return env.Undefined();
  const int64_t lim = 0x7fffffff - 256;  // the kernels step int tile offsets up to one tile past a dimension
  if (batch > lim || m > lim || n > lim || kk > lim || m * n > (int64_t(1) << 40)) {
    Fail(env, "matmul: dimensions too large");
    return env.Undefined();
  }
  // a[b] is (m, k) or (k, m), b[b] (k, n) or (n, k), starting batch strides apart; out (batch, m, n).
  if (!Holds(env, info[0], "matmul: a", BatchedExtent(batch, aStride, Elems({m, kk})), dtype) ||
      !Holds(env, info[1], "matmul: b", BatchedExtent(batch, bStride, Elems({kk, n})), dtype) ||
      !Holds(env, info[2], "matmul: out", Elems({batch, m, n}), dtype))
    return env.Undefined();
  Done(env,
       k::LaunchMatmul(a, b, out, static_cast<int>(batch), static_cast<int>(m), static_cast<int>(n),
                       static_cast<int>(kk), Bool(info, 7), Bool(info, 8), aStride, bStride, dtype, Stream()),
       dtype, "matmul");
  return env.Undefined();
}

// setAllowTf32(allow): float32 matmul may use TF32 tensor cores (10-bit mantissa inputs, fp32 accumulate).
Napi::Value SetAllowTf32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 1, "setAllowTf32")) return env.Undefined();
  k::SetAllowTf32(Bool(info, 0));
  return env.Undefined();
}

Napi::Value GetAllowTf32(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), k::AllowTf32()); }

// params: Float64Array [batch, inC, inH, inW, outC, kH, kW, outH, outW, strideH, strideW, padH, padW,
// dilationH, dilationW, groups] (the order of Conv2dParams in lib/backend/kernels.ts)
bool ReadConv(const Napi::CallbackInfo& info, size_t arg, const char* kernel, k::Conv2d* p) {
  const double* v = ReadParams(info, arg, 16, kernel);
  if (v == nullptr) return false;
  int* f[16] = {&p->batch, &p->inC,     &p->inH,     &p->inW,  &p->outC, &p->kH,        &p->kW,        &p->outH,
                &p->outW,  &p->strideH, &p->strideW, &p->padH, &p->padW, &p->dilationH, &p->dilationW, &p->groups};
  for (int i = 0; i < 16; ++i) {
    if (!(v[i] >= 0) || v[i] > 2147483647.0) return Fail(info.Env(), std::string(kernel) + ": bad conv parameter");
    *f[i] = static_cast<int>(v[i]);
  }
  if (p->groups < 1 || p->strideH < 1 || p->strideW < 1 || p->dilationH < 1 || p->dilationW < 1 ||
      p->inC % p->groups != 0 || p->outC % p->groups != 0)
    return Fail(info.Env(), std::string(kernel) + ": groups must divide inC and outC; strides and dilations >= 1");
  const int64_t big = 0x7fffffff;
  if (int64_t(p->batch) * p->inC * p->inH * p->inW > big || int64_t(p->batch) * p->outC * p->outH * p->outW > big)
    return Fail(info.Env(), std::string(kernel) + ": tensors over 2^31 elements are not supported");
  return true;
}

// x is (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW): each
// handle (named `names[i]`, in the entry point's argument order x|dy, w|dy, y|dx|dw) must hold its tensor.
enum class ConvRole { kX, kW, kY };
bool ConvHolds(const Napi::CallbackInfo& info, const k::Conv2d& p, int dtype, const ConvRole (&roles)[3],
               const char* const (&names)[3]) {
  for (int i = 0; i < 3; ++i) {
    uint64_t n = 0;
    switch (roles[i]) {
      case ConvRole::kX: n = Elems({p.batch, p.inC, p.inH, p.inW}); break;
      case ConvRole::kW: n = Elems({p.outC, p.inC / p.groups, p.kH, p.kW}); break;
      case ConvRole::kY: n = Elems({p.batch, p.outC, p.outH, p.outW}); break;
    }
    if (!Holds(info.Env(), info[i], names[i], n, dtype)) return false;
  }
  return true;
}

// conv2d(x, w, y, params, dtype)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "conv2d")) return env.Undefined();
  const void* x = Ptr(info[0], "conv2d: x");
  const void* w = Ptr(info[1], "conv2d: w");
  void* y = Ptr(info[2], "conv2d: y");
  k::Conv2d p;
  if (Pending(env) || !ReadConv(info, 3, "conv2d", &p)) return env.Undefined();
  const int dtype = Int(info, 4);
  if (!ConvHolds(info, p, dtype, {ConvRole::kX, ConvRole::kW, ConvRole::kY}, {"conv2d: x", "conv2d: w", "conv2d: y"}))
    return env.Undefined();
  Done(env, k::LaunchConv2d(x, w, y, p, dtype, Stream()), dtype, "conv2d");
  return env.Undefined();
}

// conv2dGradInput(dy, w, dx, params, dtype)
Napi::Value Conv2dGradInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "conv2dGradInput")) return env.Undefined();
  const void* dy = Ptr(info[0], "conv2dGradInput: dy");
  const void* w = Ptr(info[1], "conv2dGradInput: w");
  void* dx = Ptr(info[2], "conv2dGradInput: dx");
  k::Conv2d p;
  if (Pending(env) || !ReadConv(info, 3, "conv2dGradInput", &p)) return env.Undefined();
  const int dtype = Int(info, 4);
  if (!ConvHolds(info, p, dtype, {ConvRole::kY, ConvRole::kW, ConvRole::kX},
                 {"conv2dGradInput: dy", "conv2dGradInput: w", "conv2dGradInput: dx"}))
    return env.Undefined();
  Done(env, k::LaunchConv2dGradInput(dy, w, dx, p, dtype, Stream()), dtype, "conv2dGradInput");
  return env.Undefined();
}

// conv2dGradWeight(x, dy, dw, params, dtype)
Napi::Value Conv2dGradWeight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "conv2dGradWeight")) return env.Undefined();
  const void* x = Ptr(info[0], "conv2dGradWeight: x");
  const void* dy = Ptr(info[1], "conv2dGradWeight: dy");
  void* dw = Ptr(info[2], "conv2dGradWeight: dw");
  k::Conv2d p;
  if (Pending(env) || !ReadConv(info, 3, "conv2dGradWeight", &p)) return env.Undefined();
  const int dtype = Int(info, 4);
  if (!ConvHolds(info, p, dtype, {ConvRole::kX, ConvRole::kY, ConvRole::kW},
                 {"conv2dGradWeight: x", "conv2dGradWeight: dy", "conv2dGradWeight: dw"}))
    return env.Undefined();
  Done(env, k::LaunchConv2dGradWeight(x, dy, dw, p, dtype, Stream()), dtype, "conv2dGradWeight");
  return env.Undefined();
}

}  // namespace

void RegisterMatmulOps(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("setAllowTf32", Napi::Function::New(env, SetAllowTf32, "setAllowTf32"));
  exports.Set("getAllowTf32", Napi::Function::New(env, GetAllowTf32, "getAllowTf32"));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d, "conv2d"));
  exports.Set("conv2dGradInput", Napi::Function::New(env, Conv2dGradInput, "conv2dGradInput"));
  exports.Set("conv2dGradWeight", Napi::Function::New(env, Conv2dGradWeight, "conv2dGradWeight"));
}

}  // namespace ops
}  // namespace wg
