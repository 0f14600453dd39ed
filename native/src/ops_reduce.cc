// Entry points: reduce, argReduce (native/kernels/reduce.cu), stridedCopy (native/kernels/copy.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// reduce(op, x, out, outer, r, inner, dtype)
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "reduce")) return env.Undefined();
  const int op = Int(info, 0);
  const void* x = Ptr(info[1], "reduce: x");
  void* out = Ptr(info[2], "reduce: out");
  const int64_t outer = I64(info, 3), r = I64(info, 4), inner = I64(info, 5);
  const int dtype = Int(info, 6);
  if (Pending(env) || !NonNeg(env, "reduce", {outer, r, inner})) return env.Undefined();
  if (op < 0 || op >= static_cast<int>(k::Reduce::kCount)) {
    Fail(env, "reduce: unknown op code " + std::to_string(op));
    return env.Undefined();
  }
  // x (outer, r, inner), out (outer, inner)
  if (!Holds(env, info[1], "reduce: x", Elems({outer, r, inner}), dtype) ||
      !Holds(env, info[2], "reduce: out", Elems({outer, inner}), dtype))
    return env.Undefined();
  Done(env, k::LaunchReduce(op, x, out, outer, r, inner, dtype, Stream()), dtype, "reduce");
  return env.Undefined();
}

// argReduce(op, x, out, outer, r, inner, dtype)
Napi::Value ArgReduceOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "argReduce")) return env.Undefined();
  const int op = Int(info, 0);
  const void* x = Ptr(info[1], "argReduce: x");
  int* out = static_cast<int*>(Ptr(info[2], "argReduce: out"));
  const int64_t outer = I64(info, 3), r = I64(info, 4), inner = I64(info, 5);
  const int dtype = Int(info, 6);
  if (Pending(env) || !NonNeg(env, "argReduce", {outer, r, inner})) return env.Undefined();
  if (op < 0 || op >= static_cast<int>(k::ArgReduce::kCount)) {
    Fail(env, "argReduce: unknown op code " + std::to_string(op));
    return env.Undefined();
  }
  if (r == 0 && outer * inner > 0) {
    Fail(env, "argReduce: cannot reduce an empty axis");
    return env.Undefined();
  }
  // x (outer, r, inner), out int32 (outer, inner)
  if (!Holds(env, info[1], "argReduce: x", Elems({outer, r, inner}), dtype) ||
      !Holds(env, info[2], "argReduce: out", Elems({outer, inner}), k::kI32))
    return env.Undefined();
  Done(env, k::LaunchArgReduce(op, x, out, outer, r, inner, dtype, Stream()), dtype, "argReduce");
  return env.Undefined();
}

// stridedCopy(src, dst, ndim, dims, srcOffset, dstOffset, dtype, accumulate); dims = [shape, srcStrides, dstStrides]
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "stridedCopy")) return env.Undefined();
  const void* src = Ptr(info[0], "stridedCopy: src");
  void* dst = Ptr(info[1], "stridedCopy: dst");
  k::Strided d;
  if (Pending(env) || !ReadStrided(info, 2, 3, 2, "stridedCopy", &d)) return env.Undefined();
  const int64_t srcOffset = I64(info, 4), dstOffset = I64(info, 5);
  const int dtype = Int(info, 6);
  if (!NonNeg(env, "stridedCopy", {srcOffset, dstOffset})) return env.Undefined();
  uint64_t srcExt = 0, dstExt = 0;
  if (!StridedExtent(env, d, 0, srcOffset, "stridedCopy: src", &srcExt) ||
      !StridedExtent(env, d, 1, dstOffset, "stridedCopy: dst", &dstExt) ||
      !Holds(env, info[0], "stridedCopy: src", srcExt, dtype) ||
      !Holds(env, info[1], "stridedCopy: dst", dstExt, dtype))
    return env.Undefined();
  Done(env, k::LaunchStridedCopy(src, dst, d, srcOffset, dstOffset, dtype, Bool(info, 7), Stream()), dtype,
       "stridedCopy");
  return env.Undefined();
}

}  // namespace

void RegisterReduceOps(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, ReduceOp, "reduce"));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduceOp, "argReduce"));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy, "stridedCopy"));
}

}  // namespace ops
}  // namespace wg
