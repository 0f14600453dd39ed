// Entry points: sgdStep, adamStep, rmspropStep, adagradStep (native/kernels/optim.cu). Lists of handles are JS arrays.
#include <vector>

#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// Unwraps a JS array of handles, one per numel, into ptrs (nullptr list when the value is
// null/undefined); each must hold numels[i] elements of `dtype` ("adamStep: grads[3] holds N bytes, needs M").
bool ReadList(const Napi::CallbackInfo& info, size_t arg, const char* what, const std::vector<int64_t>& numels,
              int dtype, std::vector<void*>* ptrs, bool* present) {
  const size_t count = numels.size();
  Napi::Value v = info[arg];
  *present = !(v.IsNull() || v.IsUndefined());
  if (!*present) return true;
  if (!v.IsArray()) return Fail(info.Env(), std::string(what) + " must be an array of tensors", true);
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != count) return Fail(info.Env(), std::string(what) + ": list length differs from params");
  ptrs->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    (*ptrs)[i] = Ptr(a.Get(i), what);
    if (info.Env().IsExceptionPending()) return false;
    if ((*ptrs)[i] == nullptr) return Fail(info.Env(), std::string(what) + ": null tensor in list", true);
    const std::string name = std::string(what) + "[" + std::to_string(i) + "]";
    if (!Holds(info.Env(), a.Get(i), name.c_str(), static_cast<uint64_t>(numels[i]), dtype)) return false;
  }
  return true;
}

bool ReadNumels(const Napi::CallbackInfo& info, size_t arg, const char* kernel, std::vector<int64_t>* numels) {
  if (!info[arg].IsArray()) return Fail(info.Env(), std::string(kernel) + ": numels must be an array", true);
  Napi::Array a = info[arg].As<Napi::Array>();
  numels->resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    (*numels)[i] = a.Get(i).As<Napi::Number>().Int64Value();
    if ((*numels)[i] < 0) return Fail(info.Env(), std::string(kernel) + ": negative numel");
  }
  return true;
}

// sgdStep(params, grads, momentumBufs|null, numels, lr, momentum, dampening, nesterov, weightDecay,
//         maximize, firstStep, dtype)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 12, "sgdStep")) return env.Undefined();
  std::vector<int64_t> numels;
  if (!ReadNumels(info, 3, "sgdStep", &numels)) return env.Undefined();
  const int dtype = Int(info, 11);
  std::vector<void*> p, g, b;
  bool hasP, hasG, hasB;
  if (!ReadList(info, 0, "sgdStep: params", numels, dtype, &p, &hasP) ||
      !ReadList(info, 1, "sgdStep: grads", numels, dtype, &g, &hasG) ||
      !ReadList(info, 2, "sgdStep: momentumBufs", numels, dtype, &b, &hasB))
    return env.Undefined();
  if (!hasP || !hasG) {
    Fail(env, "sgdStep: params and grads are required", true);
    return env.Undefined();
  }
  k::SgdHyper h;
  h.lr = Num(info, 4);
  h.momentum = Num(info, 5);
  h.dampening = Num(info, 6);
  h.nesterov = Bool(info, 7);
  h.weightDecay = Num(info, 8);
  h.maximize = Bool(info, 9);
  h.firstStep = Bool(info, 10);
  if (h.momentum != 0 && !hasB) {
    Fail(env, "sgdStep: momentum needs momentumBufs");
    return env.Undefined();
  }
  Done(env,
       k::LaunchSgdStep(p.data(), g.data(), hasB ? b.data() : nullptr, numels.data(), static_cast<int>(numels.size()),
                        h, dtype, Stream()),
       dtype, "sgdStep");
  return env.Undefined();
}

// adamStep(params, grads, expAvg, expAvgSq, maxExpAvgSq|null, numels, lr, beta1, beta2, eps, weightDecay,
//          decoupled, amsgrad, maximize, step, dtype)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 16, "adamStep")) return env.Undefined();
  std::vector<int64_t> numels;
  if (!ReadNumels(info, 5, "adamStep", &numels)) return env.Undefined();
  const int dtype = Int(info, 15);
  std::vector<void*> p, g, m, v, vm;
  bool hasP, hasG, hasM, hasV, hasVm;
  if (!ReadList(info, 0, "adamStep: params", numels, dtype, &p, &hasP) ||
      !ReadList(info, 1, "adamStep: grads", numels, dtype, &g, &hasG) ||
      !ReadList(info, 2, "adamStep: expAvg", numels, dtype, &m, &hasM) ||
      !ReadList(info, 3, "adamStep: expAvgSq", numels, dtype, &v, &hasV) ||
      !ReadList(info, 4, "adamStep: maxExpAvgSq", numels, dtype, &vm, &hasVm))
    return env.Undefined();
  if (!hasP || !hasG || !hasM || !hasV) {
    Fail(env, "adamStep: params, grads, expAvg and expAvgSq are required", true);
    return env.Undefined();
  }
  k::AdamHyper h;
  h.lr = Num(info, 6);
  h.beta1 = Num(info, 7);
  h.beta2 = Num(info, 8);
  h.eps = Num(info, 9);
  h.weightDecay = Num(info, 10);
  h.decoupled = Bool(info, 11);
  h.amsgrad = Bool(info, 12);
  h.maximize = Bool(info, 13);
  h.step = Num(info, 14);
  if (h.amsgrad && !hasVm) {
    Fail(env, "adamStep: amsgrad needs maxExpAvgSq");
    return env.Undefined();
  }
  if (!(h.step >= 1)) {
    Fail(env, "adamStep: step must be >= 1");
    return env.Undefined();
  }
  Done(env,
       k::LaunchAdamStep(p.data(), g.data(), m.data(), v.data(), hasVm ? vm.data() : nullptr, numels.data(),
                         static_cast<int>(numels.size()), h, dtype, Stream()),
       dtype, "adamStep");
  return env.Undefined();
}

// rmspropStep(params, grads, squareAvg, momentumBufs|null, gradAvg|null, numels, lr, alpha, eps, weightDecay,
//             momentum, centered, maximize, dtype)
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 14, "rmspropStep")) return env.Undefined();
  std::vector<int64_t> numels;
  if (!ReadNumels(info, 5, "rmspropStep", &numels)) return env.Undefined();
  const int dtype = Int(info, 13);
  std::vector<void*> p, g, sq, b, ga;
  bool hasP, hasG, hasSq, hasB, hasGa;
  if (!ReadList(info, 0, "rmspropStep: params", numels, dtype, &p, &hasP) ||
      !ReadList(info, 1, "rmspropStep: grads", numels, dtype, &g, &hasG) ||
      !ReadList(info, 2, "rmspropStep: squareAvg", numels, dtype, &sq, &hasSq) ||
      !ReadList(info, 3, "rmspropStep: momentumBufs", numels, dtype, &b, &hasB) ||
      !ReadList(info, 4, "rmspropStep: gradAvg", numels, dtype, &ga, &hasGa))
    return env.Undefined();
  if (!hasP || !hasG || !hasSq) {
    Fail(env, "rmspropStep: params, grads and squareAvg are required", true);
    return env.Undefined();
  }
  k::RmspropHyper h;
  h.lr = Num(info, 6);
  h.alpha = Num(info, 7);
  h.eps = Num(info, 8);
  h.weightDecay = Num(info, 9);
  h.momentum = Num(info, 10);
  h.centered = Bool(info, 11);
  h.maximize = Bool(info, 12);
  if (h.momentum > 0 && !hasB) {
    Fail(env, "rmspropStep: momentum needs momentumBufs");
    return env.Undefined();
  }
  if (h.centered && !hasGa) {
    Fail(env, "rmspropStep: centered needs gradAvg");
    return env.Undefined();
  }
  Done(env,
       k::LaunchRmspropStep(p.data(), g.data(), sq.data(), hasB ? b.data() : nullptr, hasGa ? ga.data() : nullptr,
                            numels.data(), static_cast<int>(numels.size()), h, dtype, Stream()),
       dtype, "rmspropStep");
  return env.Undefined();
}

// adagradStep(params, grads, stateSum, numels, clr, eps, weightDecay, maximize, dtype)
Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 9, "adagradStep")) return env.Undefined();
  std::vector<int64_t> numels;
  if (!ReadNumels(info, 3, "adagradStep", &numels)) return env.Undefined();
  const int dtype = Int(info, 8);
  std::vector<void*> p, g, sum;
  bool hasP, hasG, hasS;
  if (!ReadList(info, 0, "adagradStep: params", numels, dtype, &p, &hasP) ||
      !ReadList(info, 1, "adagradStep: grads", numels, dtype, &g, &hasG) ||
      !ReadList(info, 2, "adagradStep: stateSum", numels, dtype, &sum, &hasS))
    return env.Undefined();
  if (!hasP || !hasG || !hasS) {
    Fail(env, "adagradStep: params, grads and stateSum are required", true);
    return env.Undefined();
  }
  k::AdagradHyper h;
  h.clr = Num(info, 4);
  h.eps = Num(info, 5);
  h.weightDecay = Num(info, 6);
  h.maximize = Bool(info, 7);
  Done(env,
       k::LaunchAdagradStep(p.data(), g.data(), sum.data(), numels.data(), static_cast<int>(numels.size()), h, dtype,
                            Stream()),
       dtype, "adagradStep");
  return env.Undefined();
}

}  // namespace

void RegisterOptimOps(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep, "sgdStep"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
  exports.Set("rmspropStep", Napi::Function::New(env, RmspropStep, "rmspropStep"));
  exports.Set("adagradStep", Napi::Function::New(env, AdagradStep, "adagradStep"));
}

}  // namespace ops
}  // namespace wg
