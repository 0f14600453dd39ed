// Entry points: indexSelect(+Backward), gather(+Backward) (native/kernels/index.cu).
// Bad indices set the runtime's device error flag (SetErrorOp names the kernel first).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

using IndexLaunch = int (*)(const void*, const int*, void*, int64_t, int64_t, int64_t, int64_t, int, int*, cudaStream_t);

// kernel(src, idx, dst, outer, dimSize, inner, count, dtype)
template <IndexLaunch Launch>
Napi::Value IndexOp(const Napi::CallbackInfo& info, const char* kernel, const char* srcName, const char* idxName,
                    const char* dstName) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, kernel)) return env.Undefined();
  const void* src = Ptr(info[0], srcName);
  const int* idx = static_cast<const int*>(Ptr(info[1], idxName));
  void* dst = Ptr(info[2], dstName);
  const int64_t outer = I64(info, 3), dimSize = I64(info, 4), inner = I64(info, 5), count = I64(info, 6);
  const int dtype = Int(info, 7);
  if (Pending(env) || !NonNeg(env, kernel, {outer, dimSize, inner, count})) return env.Undefined();
  SetErrorOp(kernel);
  Done(env, Launch(src, idx, dst, outer, dimSize, inner, count, dtype, DeviceErrorFlag(), Stream()), dtype, kernel);
  return env.Undefined();
}

Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchIndexSelect>(info, "indexSelect", "indexSelect: x", "indexSelect: idx", "indexSelect: out");
}
Napi::Value IndexSelectBackward(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchIndexSelectBackward>(info, "indexSelectBackward", "indexSelectBackward: dy",
                                               "indexSelectBackward: idx", "indexSelectBackward: dx");
}
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchGather>(info, "gather", "gather: x", "gather: idx", "gather: out");
}
Napi::Value GatherBackward(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchGatherBackward>(info, "gatherBackward", "gatherBackward: dy", "gatherBackward: idx",
                                          "gatherBackward: dx");
}

}  // namespace

void RegisterIndexOps(Napi::Env env, Napi::Object exports) {
  exports.Set("indexSelect", Napi::Function::New(env, IndexSelect, "indexSelect"));
  exports.Set("indexSelectBackward", Napi::Function::New(env, IndexSelectBackward, "indexSelectBackward"));
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  exports.Set("gatherBackward", Napi::Function::New(env, GatherBackward, "gatherBackward"));
}

}  // namespace ops
}  // namespace wg
