// Entry points: randUniform, randNormal, dropoutMask (native/kernels/random.cu).
// seed and offset are JS numbers holding integers in [0, 2^53).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// randUniform(out, n, seed, offset, low, high, dtype)
Napi::Value RandUniform(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "randUniform")) return env.Undefined();
  void* out = Ptr(info[0], "randUniform: out");
  const int64_t n = I64(info, 1);
  uint64_t seed = 0, offset = 0;
  if (Pending(env) || !NonNeg(env, "randUniform", {n}) || !ReadU64(info, 2, "randUniform", "seed", &seed) ||
      !ReadU64(info, 3, "randUniform", "offset", &offset))
    return env.Undefined();
  const int dtype = Int(info, 6);
  if (!Holds(env, info[0], "randUniform: out", Elems({n}), dtype)) return env.Undefined();
  Done(env, k::LaunchRandUniform(out, n, seed, offset, Num(info, 4), Num(info, 5), dtype, Stream()), dtype,
       "randUniform");
  return env.Undefined();
}

// randNormal(out, n, seed, offset, mean, std, dtype)
Napi::Value RandNormal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "randNormal")) return env.Undefined();
  void* out = Ptr(info[0], "randNormal: out");
  const int64_t n = I64(info, 1);
  uint64_t seed = 0, offset = 0;
  if (Pending(env) || !NonNeg(env, "randNormal", {n}) || !ReadU64(info, 2, "randNormal", "seed", &seed) ||
      !ReadU64(info, 3, "randNormal", "offset", &offset))
    return env.Undefined();
  const int dtype = Int(info, 6);
  if (!Holds(env, info[0], "randNormal: out", Elems({n}), dtype)) return env.Undefined();
  Done(env, k::LaunchRandNormal(out, n, seed, offset, Num(info, 4), Num(info, 5), dtype, Stream()), dtype,
       "randNormal");
  return env.Undefined();
}

// dropoutMask(mask, n, p, seed, offset, dtype)
Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 6, "dropoutMask")) return env.Undefined();
  void* mask = Ptr(info[0], "dropoutMask: mask");
  const int64_t n = I64(info, 1);
  const double p = Num(info, 2);
  uint64_t seed = 0, offset = 0;
  if (Pending(env) || !NonNeg(env, "dropoutMask", {n}) || !ReadU64(info, 3, "dropoutMask", "seed", &seed) ||
      !ReadU64(info, 4, "dropoutMask", "offset", &offset))
    return env.Undefined();
  if (!(p >= 0 && p <= 1)) {
    Fail(env, "dropoutMask: p must be in [0, 1]");
    return env.Undefined();
  }
  const int dtype = Int(info, 5);
  if (!Holds(env, info[0], "dropoutMask: mask", Elems({n}), dtype)) return env.Undefined();
  Done(env, k::LaunchDropoutMask(mask, n, p, seed, offset, dtype, Stream()), dtype, "dropoutMask");
  return env.Undefined();
}

}  // namespace

void RegisterRandomOps(Napi::Env env, Napi::Object exports) {
  exports.Set("randUniform", Napi::Function::New(env, RandUniform, "randUniform"));
  exports.Set("randNormal", Napi::Function::New(env, RandNormal, "randNormal"));
  exports.Set("dropoutMask", Napi::Function::New(env, DropoutMask, "dropoutMask"));
}

}  // namespace ops
}  // namespace wg
