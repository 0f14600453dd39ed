// Entry points: layerNorm(+Backward), batchNorm(+Backward) (native/kernels/norm.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// Saved statistics (mean/rstd, saveMean/saveInvStd) are float32 for float32/bfloat16/float16 inputs
// and float64 for float64 (PyTorch keeps them in the accumulation type, not the 16-bit dtype).
int StatsDType(int dtype) { return dtype == k::kF64 ? k::kF64 : k::kF32; }

// layerNorm(x, gamma|null, beta|null, y, mean, rstd, rows, cols, eps, dtype)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 10, "layerNorm")) return env.Undefined();
  const void* x = Ptr(info[0], "layerNorm: x");
  const void* gamma = Ptr(info[1], "layerNorm: gamma");
  const void* beta = Ptr(info[2], "layerNorm: beta");
  void* y = Ptr(info[3], "layerNorm: y");
  void* mean = Ptr(info[4], "layerNorm: mean");
  void* rstd = Ptr(info[5], "layerNorm: rstd");
  const int64_t rows = I64(info, 6), cols = I64(info, 7);
  const int dtype = Int(info, 9);
  if (Pending(env) || !NonNeg(env, "layerNorm", {rows, cols})) return env.Undefined();
  // x, y (rows, cols); gamma, beta (cols) or null; mean, rstd (rows)
  const uint64_t xy = Elems({rows, cols}), perCol = rows == 0 ? 0 : Elems({cols}), perRow = Elems({rows});
  if (!Holds(env, info[0], "layerNorm: x", xy, dtype) ||
      !Holds(env, info[1], "layerNorm: gamma", perCol, dtype, true) ||
      !Holds(env, info[2], "layerNorm: beta", perCol, dtype, true) || !Holds(env, info[3], "layerNorm: y", xy, dtype) ||
      !Holds(env, info[4], "layerNorm: mean", perRow, StatsDType(dtype)) ||
      !Holds(env, info[5], "layerNorm: rstd", perRow, StatsDType(dtype)))
    return env.Undefined();
  Done(env, k::LaunchLayerNorm(x, gamma, beta, y, mean, rstd, rows, cols, Num(info, 8), dtype, Stream()), dtype,
       "layerNorm");
  return env.Undefined();
}

// layerNormBackward(dy, x, gamma|null, mean, rstd, dx, dgamma|null, dbeta|null, rows, cols, dtype)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 11, "layerNormBackward")) return env.Undefined();
  const void* dy = Ptr(info[0], "layerNormBackward: dy");
  const void* x = Ptr(info[1], "layerNormBackward: x");
  const void* gamma = Ptr(info[2], "layerNormBackward: gamma");
  const void* mean = Ptr(info[3], "layerNormBackward: mean");
  const void* rstd = Ptr(info[4], "layerNormBackward: rstd");
  void* dx = Ptr(info[5], "layerNormBackward: dx");
  void* dgamma = Ptr(info[6], "layerNormBackward: dgamma");
  void* dbeta = Ptr(info[7], "layerNormBackward: dbeta");
  const int64_t rows = I64(info, 8), cols = I64(info, 9);
  const int dtype = Int(info, 10);
  if (Pending(env) || !NonNeg(env, "layerNormBackward", {rows, cols})) return env.Undefined();
  // dgamma / dbeta (cols) are written (zeros) even when rows is 0
  const uint64_t xy = Elems({rows, cols}), perCol = Elems({cols}), perRow = Elems({rows});
  if (!Holds(env, info[0], "layerNormBackward: dy", xy, dtype) ||
      !Holds(env, info[1], "layerNormBackward: x", xy, dtype) ||
      !Holds(env, info[2], "layerNormBackward: gamma", rows == 0 ? 0 : perCol, dtype, true) ||
      !Holds(env, info[3], "layerNormBackward: mean", perRow, StatsDType(dtype)) ||
      !Holds(env, info[4], "layerNormBackward: rstd", perRow, StatsDType(dtype)) ||
      !Holds(env, info[5], "layerNormBackward: dx", xy, dtype) ||
      !Holds(env, info[6], "layerNormBackward: dgamma", perCol, dtype, true) ||
      !Holds(env, info[7], "layerNormBackward: dbeta", perCol, dtype, true))
    return env.Undefined();
  Done(env, k::LaunchLayerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols, dtype, Stream()), dtype,
       "layerNormBackward");
  return env.Undefined();
}

// batchNorm(x, gamma|null, beta|null, runningMean|null, runningVar|null, y, saveMean, saveInvStd,
//           n, c, hw, training, momentum, eps, dtype)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 15, "batchNorm")) return env.Undefined();
  const void* x = Ptr(info[0], "batchNorm: x");
  const void* gamma = Ptr(info[1], "batchNorm: gamma");
  const void* beta = Ptr(info[2], "batchNorm: beta");
  void* rm = Ptr(info[3], "batchNorm: runningMean");
  void* rv = Ptr(info[4], "batchNorm: runningVar");
  void* y = Ptr(info[5], "batchNorm: y");
  void* sm = Ptr(info[6], "batchNorm: saveMean");
  void* si = Ptr(info[7], "batchNorm: saveInvStd");
  const int64_t n = I64(info, 8), c = I64(info, 9), hw = I64(info, 10);
  const bool training = Bool(info, 11);
  const int dtype = Int(info, 14);
  if (Pending(env) || !NonNeg(env, "batchNorm", {n, c, hw})) return env.Undefined();
  if (training && n * hw == 0 && c > 0) {
    Fail(env, "batchNorm: training needs at least one value per channel");
    return env.Undefined();
  }
  // x, y (n, c, hw); gamma, beta, runningMean, runningVar, saveMean, saveInvStd (c)
  const uint64_t xy = Elems({n, c, hw}), perC = Elems({c});
  if (!Holds(env, info[0], "batchNorm: x", xy, dtype) || !Holds(env, info[1], "batchNorm: gamma", perC, dtype, true) ||
      !Holds(env, info[2], "batchNorm: beta", perC, dtype, true) ||
      !Holds(env, info[3], "batchNorm: runningMean", perC, dtype, true) ||
      !Holds(env, info[4], "batchNorm: runningVar", perC, dtype, true) ||
      !Holds(env, info[5], "batchNorm: y", xy, dtype) ||
      !Holds(env, info[6], "batchNorm: saveMean", perC, StatsDType(dtype)) ||
      !Holds(env, info[7], "batchNorm: saveInvStd", perC, StatsDType(dtype)))
    return env.Undefined();
  Done(env,
       k::LaunchBatchNorm(x, gamma, beta, rm, rv, y, sm, si, n, c, hw, training, Num(info, 12), Num(info, 13), dtype,
                          Stream()),
       dtype, "batchNorm");
  return env.Undefined();
}

// batchNormBackward(dy, x, gamma|null, saveMean, saveInvStd, dx, dgamma|null, dbeta|null, n, c, hw, training, dtype)
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 13, "batchNormBackward")) return env.Undefined();
  const void* dy = Ptr(info[0], "batchNormBackward: dy");
  const void* x = Ptr(info[1], "batchNormBackward: x");
  const void* gamma = Ptr(info[2], "batchNormBackward: gamma");
  const void* sm = Ptr(info[3], "batchNormBackward: saveMean");
  const void* si = Ptr(info[4], "batchNormBackward: saveInvStd");
  void* dx = Ptr(info[5], "batchNormBackward: dx");
  void* dgamma = Ptr(info[6], "batchNormBackward: dgamma");
  void* dbeta = Ptr(info[7], "batchNormBackward: dbeta");
  const int64_t n = I64(info, 8), c = I64(info, 9), hw = I64(info, 10);
  const int dtype = Int(info, 12);
  if (Pending(env) || !NonNeg(env, "batchNormBackward", {n, c, hw})) return env.Undefined();
  const uint64_t xy = Elems({n, c, hw}), perC = Elems({c});
  if (!Holds(env, info[0], "batchNormBackward: dy", xy, dtype) ||
      !Holds(env, info[1], "batchNormBackward: x", xy, dtype) ||
      !Holds(env, info[2], "batchNormBackward: gamma", perC, dtype, true) ||
      !Holds(env, info[3], "batchNormBackward: saveMean", perC, StatsDType(dtype)) ||
      !Holds(env, info[4], "batchNormBackward: saveInvStd", perC, StatsDType(dtype)) ||
      !Holds(env, info[5], "batchNormBackward: dx", xy, dtype) ||
      !Holds(env, info[6], "batchNormBackward: dgamma", perC, dtype, true) ||
      !Holds(env, info[7], "batchNormBackward: dbeta", perC, dtype, true))
    return env.Undefined();
  Done(env,
       k::LaunchBatchNormBackward(dy, x, gamma, sm, si, dx, dgamma, dbeta, n, c, hw, Bool(info, 11), dtype, Stream()),
       dtype, "batchNormBackward");
  return env.Undefined();
}

}  // namespace

void RegisterNormOps(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward, "batchNormBackward"));
}

}  // namespace ops
}  // namespace wg
