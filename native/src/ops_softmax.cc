// Entry points: softmax, softmaxBackward, crossEntropy, crossEntropyBackward (native/kernels/softmax.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// softmax(x, y, rows, cols, log, dtype)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 6, "softmax")) return env.Undefined();
  const void* x = Ptr(info[0], "softmax: x");
  void* y = Ptr(info[1], "softmax: y");
  const int64_t rows = I64(info, 2), cols = I64(info, 3);
  const int dtype = Int(info, 5);
  if (Pending(env) || !NonNeg(env, "softmax", {rows, cols}) ||
      !Holds(env, info[0], "softmax: x", Elems({rows, cols}), dtype) ||
      !Holds(env, info[1], "softmax: y", Elems({rows, cols}), dtype))
    return env.Undefined();
  Done(env, k::LaunchSoftmax(x, y, rows, cols, Bool(info, 4), dtype, Stream()), dtype, "softmax");
  return env.Undefined();
}

// softmaxBackward(y, dy, dx, rows, cols, log, dtype)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 7, "softmaxBackward")) return env.Undefined();
  const void* y = Ptr(info[0], "softmaxBackward: y");
  const void* dy = Ptr(info[1], "softmaxBackward: dy");
  void* dx = Ptr(info[2], "softmaxBackward: dx");
  const int64_t rows = I64(info, 3), cols = I64(info, 4);
  const int dtype = Int(info, 6);
  if (Pending(env) || !NonNeg(env, "softmaxBackward", {rows, cols}) ||
      !Holds(env, info[0], "softmaxBackward: y", Elems({rows, cols}), dtype) ||
      !Holds(env, info[1], "softmaxBackward: dy", Elems({rows, cols}), dtype) ||
      !Holds(env, info[2], "softmaxBackward: dx", Elems({rows, cols}), dtype))
    return env.Undefined();
  Done(env, k::LaunchSoftmaxBackward(y, dy, dx, rows, cols, Bool(info, 5), dtype, Stream()), dtype, "softmaxBackward");
  return env.Undefined();
}

// crossEntropy(logits, targets, loss, rows, cols, labelSmoothing, ignoreIndex, dtype)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "crossEntropy")) return env.Undefined();
  const void* logits = Ptr(info[0], "crossEntropy: logits");
  const int* targets = static_cast<const int*>(Ptr(info[1], "crossEntropy: targets"));
  void* loss = Ptr(info[2], "crossEntropy: loss");
  const int64_t rows = I64(info, 3), cols = I64(info, 4);
  const double eps = Num(info, 5);
  const int ignoreIndex = Int(info, 6), dtype = Int(info, 7);
  // logits (rows, cols), targets int32 (rows), loss (rows)
  if (Pending(env) || !NonNeg(env, "crossEntropy", {rows, cols}) ||
      !Holds(env, info[0], "crossEntropy: logits", Elems({rows, cols}), dtype) ||
      !Holds(env, info[1], "crossEntropy: targets", Elems({rows}), k::kI32) ||
      !Holds(env, info[2], "crossEntropy: loss", Elems({rows}), dtype))
    return env.Undefined();
  SetErrorOp("crossEntropy");
  Done(env,
       k::LaunchCrossEntropy(logits, targets, loss, rows, cols, eps, ignoreIndex, dtype, DeviceErrorFlag(), Stream()),
       dtype, "crossEntropy");
  return env.Undefined();
}

// crossEntropyBackward(logits, targets, dloss, dlogits, rows, cols, labelSmoothing, ignoreIndex, dtype)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 9, "crossEntropyBackward")) return env.Undefined();
  const void* logits = Ptr(info[0], "crossEntropyBackward: logits");
  const int* targets = static_cast<const int*>(Ptr(info[1], "crossEntropyBackward: targets"));
  const void* dloss = Ptr(info[2], "crossEntropyBackward: dloss");
  void* dlogits = Ptr(info[3], "crossEntropyBackward: dlogits");
  const int64_t rows = I64(info, 4), cols = I64(info, 5);
  const double eps = Num(info, 6);
  const int ignoreIndex = Int(info, 7), dtype = Int(info, 8);
  // logits, dlogits (rows, cols), targets int32 (rows), dloss (rows)
  if (Pending(env) || !NonNeg(env, "crossEntropyBackward", {rows, cols}) ||
      !Holds(env, info[0], "crossEntropyBackward: logits", Elems({rows, cols}), dtype) ||
      !Holds(env, info[1], "crossEntropyBackward: targets", Elems({rows}), k::kI32) ||
      !Holds(env, info[2], "crossEntropyBackward: dloss", Elems({rows}), dtype) ||
      !Holds(env, info[3], "crossEntropyBackward: dlogits", Elems({rows, cols}), dtype))
    return env.Undefined();
  SetErrorOp("crossEntropyBackward");
  Done(env,
       k::LaunchCrossEntropyBackward(logits, targets, dloss, dlogits, rows, cols, eps, ignoreIndex, dtype,
                                     DeviceErrorFlag(), Stream()),
       dtype, "crossEntropyBackward");
  return env.Undefined();
}

}  // namespace

void RegisterSoftmaxOps(Napi::Env env, Napi::Object exports) {
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward, "crossEntropyBackward"));
}

}  // namespace ops
}  // namespace wg
