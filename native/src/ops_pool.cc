// Entry points: maxPool2d(+Backward), avgPool2d(+Backward), adaptiveAvgPool2d(+Backward) (native/kernels/pool.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// params: Float64Array [batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW,
// dilationH, dilationW, countIncludePad (0/1)] (the order of Pool2dParams in lib/backend/kernels.ts)
bool ReadPool(const Napi::CallbackInfo& info, size_t arg, const char* kernel, k::Pool2d* p) {
  const double* v = ReadParams(info, arg, 15, kernel);
  if (v == nullptr) return false;
  int* f[14] = {&p->batch, &p->channels, &p->inH,     &p->inW,  &p->outH, &p->outW,      &p->kH,
                &p->kW,    &p->strideH,  &p->strideW, &p->padH, &p->padW, &p->dilationH, &p->dilationW};
  for (int i = 0; i < 14; ++i) {
    if (!(v[i] >= 0) || v[i] > 2147483647.0) return Fail(info.Env(), std::string(kernel) + ": bad pool parameter");
    *f[i] = static_cast<int>(v[i]);
  }
  p->countIncludePad = v[14] != 0;
  if (p->strideH < 1 || p->strideW < 1 || p->dilationH < 1 || p->dilationW < 1)
    return Fail(info.Env(), std::string(kernel) + ": strides and dilations must be >= 1");
  return true;
}

// x, dx are (batch, channels, inH, inW); y, dy, argmax (int32) are (batch, channels, outH, outW).
inline uint64_t PoolIn(const k::Pool2d& p) { return Elems({p.batch, p.channels, p.inH, p.inW}); }
inline uint64_t PoolOut(const k::Pool2d& p) { return Elems({p.batch, p.channels, p.outH, p.outW}); }

template <int (*Launch)(const void*, void*, const k::Pool2d&, int, cudaStream_t), bool kBackward>
Napi::Value Pool2Args(const Napi::CallbackInfo& info, const char* kernel, const char* in, const char* out) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 4, kernel)) return env.Undefined();
  const void* x = Ptr(info[0], in);
  void* y = Ptr(info[1], out);
  k::Pool2d p;
  if (Pending(env) || !ReadPool(info, 2, kernel, &p)) return env.Undefined();
  const int dtype = Int(info, 3);
  if (!Holds(env, info[0], in, kBackward ? PoolOut(p) : PoolIn(p), dtype) ||
      !Holds(env, info[1], out, kBackward ? PoolIn(p) : PoolOut(p), dtype))
    return env.Undefined();
  Done(env, Launch(x, y, p, dtype, Stream()), dtype, kernel);
  return env.Undefined();
}

// maxPool2d(x, y, argmax, params, dtype)
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "maxPool2d")) return env.Undefined();
  const void* x = Ptr(info[0], "maxPool2d: x");
  void* y = Ptr(info[1], "maxPool2d: y");
  int* argmax = static_cast<int*>(Ptr(info[2], "maxPool2d: argmax"));
  k::Pool2d p;
  if (Pending(env) || !ReadPool(info, 3, "maxPool2d", &p)) return env.Undefined();
  const int dtype = Int(info, 4);
  if (!Holds(env, info[0], "maxPool2d: x", PoolIn(p), dtype) ||
      !Holds(env, info[1], "maxPool2d: y", PoolOut(p), dtype) ||
      !Holds(env, info[2], "maxPool2d: argmax", PoolOut(p), k::kI32))
    return env.Undefined();
  Done(env, k::LaunchMaxPool2d(x, y, argmax, p, dtype, Stream()), dtype, "maxPool2d");
  return env.Undefined();
}

// maxPool2dBackward(dy, argmax, dx, params, dtype)
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 5, "maxPool2dBackward")) return env.Undefined();
  const void* dy = Ptr(info[0], "maxPool2dBackward: dy");
  const int* argmax = static_cast<const int*>(Ptr(info[1], "maxPool2dBackward: argmax"));
  void* dx = Ptr(info[2], "maxPool2dBackward: dx");
  k::Pool2d p;
  if (Pending(env) || !ReadPool(info, 3, "maxPool2dBackward", &p)) return env.Undefined();
  const int dtype = Int(info, 4);
  if (!Holds(env, info[0], "maxPool2dBackward: dy", PoolOut(p), dtype) ||
      !Holds(env, info[1], "maxPool2dBackward: argmax", PoolOut(p), k::kI32) ||
      !Holds(env, info[2], "maxPool2dBackward: dx", PoolIn(p), dtype))
    return env.Undefined();
  Done(env, k::LaunchMaxPool2dBackward(dy, argmax, dx, p, dtype, Stream()), dtype, "maxPool2dBackward");
  return env.Undefined();
}

// avgPool2d(x, y, params, dtype)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return Pool2Args<k::LaunchAvgPool2d, false>(info, "avgPool2d", "avgPool2d: x", "avgPool2d: y");
}
// avgPool2dBackward(dy, dx, params, dtype)
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  return Pool2Args<k::LaunchAvgPool2dBackward, true>(info, "avgPool2dBackward", "avgPool2dBackward: dy",
                                                     "avgPool2dBackward: dx");
}

// adaptiveAvgPool2d(x, y, batch, channels, inH, inW, outH, outW, dtype) and the backward (dy, dx, ...)
template <bool BACKWARD>
Napi::Value Adaptive(const Napi::CallbackInfo& info) {
  const char* kernel = BACKWARD ? "adaptiveAvgPool2dBackward" : "adaptiveAvgPool2d";
  Napi::Env env = info.Env();
  if (!ArgCount(info, 9, kernel)) return env.Undefined();
  const void* in = Ptr(info[0], BACKWARD ? "adaptiveAvgPool2dBackward: dy" : "adaptiveAvgPool2d: x");
  void* out = Ptr(info[1], BACKWARD ? "adaptiveAvgPool2dBackward: dx" : "adaptiveAvgPool2d: y");
  const int64_t b = I64(info, 2), c = I64(info, 3), ih = I64(info, 4), iw = I64(info, 5), oh = I64(info, 6),
                ow = I64(info, 7);
  const int dtype = Int(info, 8);
  if (Pending(env) || !NonNeg(env, kernel, {b, c, ih, iw, oh, ow})) return env.Undefined();
  const uint64_t inN = Elems({b, c, ih, iw}), outN = Elems({b, c, oh, ow});
  if (!Holds(env, info[0], BACKWARD ? "adaptiveAvgPool2dBackward: dy" : "adaptiveAvgPool2d: x", BACKWARD ? outN : inN,
             dtype) ||
      !Holds(env, info[1], BACKWARD ? "adaptiveAvgPool2dBackward: dx" : "adaptiveAvgPool2d: y", BACKWARD ? inN : outN,
             dtype))
    return env.Undefined();
  // outH or outW 0 in the backward: no window covers any input, the kernel writes dx = 0 (as js does).
  const int st = BACKWARD ? k::LaunchAdaptiveAvgPool2dBackward(in, out, int(b), int(c), int(ih), int(iw), int(oh),
                                                               int(ow), dtype, Stream())
                          : k::LaunchAdaptiveAvgPool2d(in, out, int(b), int(c), int(ih), int(iw), int(oh), int(ow),
                                                       dtype, Stream());
  Done(env, st, dtype, kernel);
  return env.Undefined();
}

}  // namespace

void RegisterPoolOps(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPool2d", Napi::Function::New(env, MaxPool2d, "maxPool2d"));
  exports.Set("maxPool2dBackward", Napi::Function::New(env, MaxPool2dBackward, "maxPool2dBackward"));
  exports.Set("avgPool2d", Napi::Function::New(env, AvgPool2d, "avgPool2d"));
  exports.Set("avgPool2dBackward", Napi::Function::New(env, AvgPool2dBackward, "avgPool2dBackward"));
  exports.Set("adaptiveAvgPool2d", Napi::Function::New(env, Adaptive<false>, "adaptiveAvgPool2d"));
  exports.Set("adaptiveAvgPool2dBackward", Napi::Function::New(env, Adaptive<true>, "adaptiveAvgPool2dBackward"));
}

}  // namespace ops
}  // namespace wg
