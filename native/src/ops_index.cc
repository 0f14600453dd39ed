// Entry points: indexSelect(+Backward), gather(+Backward) (native/kernels/index.cu).
// Bad indices set the runtime's device error flag (SetErrorOp names the kernel first).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

using IndexLaunch = int (*)(const void*, const int*, void*, int64_t, int64_t, int64_t, int64_t, int, int*,
                            cudaStream_t);

// kernel(src, idx, dst, outer, dimSize, inner, count, dtype). The (outer, dimSize, inner) side is
// src for the forward kernels and dst for the backward ones; the other side is (outer, count, inner).
// idx (int32) is (count) for indexSelect and (outer, count, inner) for gather.
template <IndexLaunch Launch, bool kBackward, bool kGather>
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
  const uint64_t full = Elems({outer, dimSize, inner}), picked = Elems({outer, count, inner});
  // The backward zero-fills all of dx even when nothing is scattered; the forward touches idx
  // and x only when there is some output.
  const uint64_t idxN = picked == 0 ? 0 : (kGather ? picked : Elems({count}));
  if (!Holds(env, info[0], srcName, kBackward ? picked : (picked == 0 ? 0 : full), dtype) ||
      !Holds(env, info[1], idxName, idxN, k::kI32) || !Holds(env, info[2], dstName, kBackward ? full : picked, dtype))
    return env.Undefined();
  SetErrorOp(kernel);
  Done(env, Launch(src, idx, dst, outer, dimSize, inner, count, dtype, DeviceErrorFlag(), Stream()), dtype, kernel);
  return env.Undefined();
}

Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchIndexSelect, false, false>(info, "indexSelect", "indexSelect: x", "indexSelect: idx",
                                                     "indexSelect: out");
}
Napi::Value IndexSelectBackward(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchIndexSelectBackward, true, false>(info, "indexSelectBackward", "indexSelectBackward: dy",
                                                            "indexSelectBackward: idx", "indexSelectBackward: dx");
}
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchGather, false, true>(info, "gather", "gather: x", "gather: idx", "gather: out");
}
Napi::Value GatherBackward(const Napi::CallbackInfo& info) {
  return IndexOp<k::LaunchGatherBackward, true, true>(info, "gatherBackward", "gatherBackward: dy",
                                                      "gatherBackward: idx", "gatherBackward: dx");
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
