// Entry points: fill, cast, unary, unaryGrad, binary, where, addBiasAct (native/kernels/elementwise.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// fill(out, n, value, dtype)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 4, "fill")) return env.Undefined();
  void* out = Ptr(info[0], "fill: out");
  const int64_t n = I64(info, 1);
  const int dtype = Int(info, 3);
  if (Pending(env) || !NonNeg(env, "fill", {n}) || !Holds(env, info[0], "fill: out", Elems({n}), dtype))
    return env.Undefined();
  Done(env, k::LaunchFill(out, n, Num(info, 2), dtype, Stream()), dtype, "fill");
  return env.Undefined();
}

// cast(x, out, n, from, to)
Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "cast")) return env.Undefined();
  const void* x = Ptr(info[0], "cast: x");
  void* out = Ptr(info[1], "cast: out");
  const int64_t n = I64(info, 2);
  const int from = Int(info, 3), to = Int(info, 4);
  if (Pending(env) || !NonNeg(env, "cast", {n}) || !Holds(env, info[0], "cast: x", Elems({n}), from) ||
      !Holds(env, info[1], "cast: out", Elems({n}), to))
    return env.Undefined();
  const int st = k::LaunchCast(x, out, n, from, to, Stream());
  Done(env, st, st == k::kUnsupported ? (from >= 0 && from < 5 ? to : from) : from, "cast");
  return env.Undefined();
}

// unary(op, x, out, n, dtype, a, b)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "unary")) return env.Undefined();
  const int op = Int(info, 0);
  const void* x = Ptr(info[1], "unary: x");
  void* out = Ptr(info[2], "unary: out");
  const int64_t n = I64(info, 3);
  const int dtype = Int(info, 4);
  if (Pending(env) || !NonNeg(env, "unary", {n}) || !Holds(env, info[1], "unary: x", Elems({n}), dtype) ||
      !Holds(env, info[2], "unary: out", Elems({n}), dtype))
    return env.Undefined();
  if (op < 0 || op >= static_cast<int>(k::Unary::kCount)) {
    Fail(env, "unary: unknown op code " + std::to_string(op));
    return env.Undefined();
  }
  Done(env, k::LaunchUnary(op, x, out, n, dtype, Num(info, 5), Num(info, 6), Stream()), dtype, "unary");
  return env.Undefined();
}

// unaryGrad(op, x, y, dy, dx, n, dtype, a, b) — x or y may be null when the op does not read it
Napi::Value UnaryGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 9, "unaryGrad")) return env.Undefined();
  const int op = Int(info, 0);
  const void* x = Ptr(info[1], "unaryGrad: x");
  const void* y = Ptr(info[2], "unaryGrad: y");
  const void* dy = Ptr(info[3], "unaryGrad: dy");
  void* dx = Ptr(info[4], "unaryGrad: dx");
  const int64_t n = I64(info, 5);
  const int dtype = Int(info, 6);
  if (Pending(env) || !NonNeg(env, "unaryGrad", {n})) return env.Undefined();
  if (op < 0 || op >= static_cast<int>(k::UnaryGrad::kCount)) {
    Fail(env, "unaryGrad: unknown op code " + std::to_string(op));
    return env.Undefined();
  }
  const bool needsY = op == static_cast<int>(k::UnaryGrad::tanh) || op == static_cast<int>(k::UnaryGrad::sigmoid);
  if ((needsY ? y : x) == nullptr || dy == nullptr || dx == nullptr) {
    Fail(env, needsY ? "unaryGrad: y is required for tanh/sigmoid" : "unaryGrad: x is required", true);
    return env.Undefined();
  }
  // x and y are nullable: the one the op does not read may be null (or any size when given).
  if (!Holds(env, info[1], "unaryGrad: x", needsY ? 0 : Elems({n}), dtype, true) ||
      !Holds(env, info[2], "unaryGrad: y", needsY ? Elems({n}) : 0, dtype, true) ||
      !Holds(env, info[3], "unaryGrad: dy", Elems({n}), dtype) ||
      !Holds(env, info[4], "unaryGrad: dx", Elems({n}), dtype))
    return env.Undefined();
  Done(env, k::LaunchUnaryGrad(op, x, y, dy, dx, n, dtype, Num(info, 7), Num(info, 8), Stream()), dtype, "unaryGrad");
  return env.Undefined();
}

// binary(op, a, b, out, ndim, dims, dtype); dims = [outShape, aStrides, bStrides]
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "binary")) return env.Undefined();
  const int op = Int(info, 0);
  const void* a = Ptr(info[1], "binary: a");
  const void* b = Ptr(info[2], "binary: b");
  void* out = Ptr(info[3], "binary: out");
  k::Strided d;
  if (Pending(env) || !ReadStrided(info, 4, 5, 2, "binary", &d)) return env.Undefined();
  const int dtype = Int(info, 6);
  if (op < 0 || op >= static_cast<int>(k::Binary::kCount)) {
    Fail(env, "binary: unknown op code " + std::to_string(op));
    return env.Undefined();
  }
  uint64_t aExt = 0, bExt = 0, outN = 1;
  for (int i = 0; i < d.ndim; ++i) outN = MulSat(outN, static_cast<uint64_t>(d.shape[i]));
  if (!StridedExtent(env, d, 0, 0, "binary: a", &aExt) || !StridedExtent(env, d, 1, 0, "binary: b", &bExt) ||
      !Holds(env, info[1], "binary: a", aExt, dtype) || !Holds(env, info[2], "binary: b", bExt, dtype) ||
      !Holds(env, info[3], "binary: out", outN, dtype))
    return env.Undefined();
  Done(env, k::LaunchBinary(op, a, b, out, d, dtype, Stream()), dtype, "binary");
  return env.Undefined();
}

// where(cond, a, b, out, ndim, dims, condDtype, dtype); dims = [outShape, condStrides, aStrides, bStrides]
Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "where")) return env.Undefined();
  const void* cond = Ptr(info[0], "where: cond");
  const void* a = Ptr(info[1], "where: a");
  const void* b = Ptr(info[2], "where: b");
  void* out = Ptr(info[3], "where: out");
  k::Strided d;
  if (Pending(env) || !ReadStrided(info, 4, 5, 3, "where", &d)) return env.Undefined();
  const int condDtype = Int(info, 6), dtype = Int(info, 7);
  uint64_t cExt = 0, aExt = 0, bExt = 0, outN = 1;
  for (int i = 0; i < d.ndim; ++i) outN = MulSat(outN, static_cast<uint64_t>(d.shape[i]));
  if (!StridedExtent(env, d, 0, 0, "where: cond", &cExt) || !StridedExtent(env, d, 1, 0, "where: a", &aExt) ||
      !StridedExtent(env, d, 2, 0, "where: b", &bExt) || !Holds(env, info[0], "where: cond", cExt, condDtype) ||
      !Holds(env, info[1], "where: a", aExt, dtype) || !Holds(env, info[2], "where: b", bExt, dtype) ||
      !Holds(env, info[3], "where: out", outN, dtype))
    return env.Undefined();
  Done(env, k::LaunchWhere(cond, a, b, out, d, condDtype, dtype, Stream()), dtype, "where");
  return env.Undefined();
}

// addBiasAct(x, bias, out, outer, c, inner, act, dtype)
Napi::Value AddBiasAct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "addBiasAct")) return env.Undefined();
  const void* x = Ptr(info[0], "addBiasAct: x");
  const void* bias = Ptr(info[1], "addBiasAct: bias");
  void* out = Ptr(info[2], "addBiasAct: out");
  const int64_t outer = I64(info, 3), c = I64(info, 4), inner = I64(info, 5);
  const int act = Int(info, 6), dtype = Int(info, 7);
  if (Pending(env) || !NonNeg(env, "addBiasAct", {outer, c, inner})) return env.Undefined();
  if (act < 0 || act >= static_cast<int>(k::Act::kCount)) {
    Fail(env, "addBiasAct: unknown activation code " + std::to_string(act));
    return env.Undefined();
  }
  // x, out (outer, c, inner); bias (c)
  if (!Holds(env, info[0], "addBiasAct: x", Elems({outer, c, inner}), dtype) ||
      !Holds(env, info[1], "addBiasAct: bias", Elems({outer, inner}) == 0 ? 0 : Elems({c}), dtype) ||
      !Holds(env, info[2], "addBiasAct: out", Elems({outer, c, inner}), dtype))
    return env.Undefined();
  Done(env, k::LaunchAddBiasAct(x, bias, out, outer, c, inner, act, dtype, Stream()), dtype, "addBiasAct");
  return env.Undefined();
}

}  // namespace

void RegisterElementwiseOps(Napi::Env env, Napi::Object exports) {
  exports.Set("fill", Napi::Function::New(env, Fill, "fill"));
  exports.Set("cast", Napi::Function::New(env, Cast, "cast"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("unaryGrad", Napi::Function::New(env, UnaryGrad, "unaryGrad"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("where", Napi::Function::New(env, Where, "where"));
  exports.Set("addBiasAct", Napi::Function::New(env, AddBiasAct, "addBiasAct"));
}

}  // namespace ops
}  // namespace wg
