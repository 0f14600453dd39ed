// RegisterKernels (runtime.h): every kernel entry point, plus kernelEnums() so the TS wrapper can
// check that its code tables match kernels.h.
#include "ops_common.h"

namespace wg {
namespace ops {
void RegisterElementwiseOps(Napi::Env env, Napi::Object exports);
void RegisterReduceOps(Napi::Env env, Napi::Object exports);
void RegisterMatmulOps(Napi::Env env, Napi::Object exports);
void RegisterPoolOps(Napi::Env env, Napi::Object exports);
void RegisterIndexOps(Napi::Env env, Napi::Object exports);
void RegisterSoftmaxOps(Napi::Env env, Napi::Object exports);
void RegisterNormOps(Napi::Env env, Napi::Object exports);
void RegisterRnnOps(Napi::Env env, Napi::Object exports);
void RegisterRandomOps(Napi::Env env, Napi::Object exports);
void RegisterOptimOps(Napi::Env env, Napi::Object exports);

namespace {

Napi::Array Names(Napi::Env env, std::initializer_list<const char*> names) {
  Napi::Array a = Napi::Array::New(env, names.size());
  uint32_t i = 0;
  for (const char* n : names) a.Set(i++, Napi::String::New(env, n));
  return a;
}

// kernelEnums(): { dtypes, unary, unaryGrad, binary, reduce, argReduce, activation } — name lists in code order.
Napi::Value KernelEnums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#define WG_NAME(n) #n,
  o.Set("dtypes", Names(env, {WG_DTYPES(WG_NAME)}));
  o.Set("unary", Names(env, {WG_UNARY_OPS(WG_NAME)}));
  o.Set("unaryGrad", Names(env, {WG_UNARY_GRAD_OPS(WG_NAME)}));
  o.Set("binary", Names(env, {WG_BINARY_OPS(WG_NAME)}));
  o.Set("reduce", Names(env, {WG_REDUCE_OPS(WG_NAME)}));
  o.Set("argReduce", Names(env, {WG_ARG_REDUCE_OPS(WG_NAME)}));
  o.Set("activation", Names(env, {WG_ACTIVATIONS(WG_NAME)}));
#undef WG_NAME
  return o;
}

}  // namespace
}  // namespace ops
}  // namespace wg

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  using namespace wg::ops;
  RegisterElementwiseOps(env, exports);
  RegisterReduceOps(env, exports);
  RegisterMatmulOps(env, exports);
  RegisterPoolOps(env, exports);
  RegisterIndexOps(env, exports);
  RegisterSoftmaxOps(env, exports);
  RegisterNormOps(env, exports);
  RegisterRnnOps(env, exports);
  RegisterRandomOps(env, exports);
  RegisterOptimOps(env, exports);
  exports.Set("kernelEnums", Napi::Function::New(env, KernelEnums, "kernelEnums"));
}
