// RegisterKernels (runtime.h): every kernel entry point (generated from native/manifest/cuda/*.mjs
// into ops_gen_<family>.cc, see native/manifest/README.md), plus the hand-written utilities:
// setAllowTf32 / getAllowTf32 and kernelEnums() so the TS wrapper can check that its code tables
// match kernels.h.
#include "ops_common.h"

namespace wg {
namespace ops {
void RegisterGeneratedOps(Napi::Env env, Napi::Object exports);  // ops_gen_register.cc (generated)

namespace {

// setAllowTf32(allow): float32 matmul may use TF32 tensor cores (10-bit mantissa inputs, fp32 accumulate).
Napi::Value SetAllowTf32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 1, "setAllowTf32")) return env.Undefined();
  k::SetAllowTf32(Bool(info, 0));
  return env.Undefined();
}

Napi::Value GetAllowTf32(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), k::AllowTf32()); }

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
  RegisterGeneratedOps(env, exports);
  exports.Set("setAllowTf32", Napi::Function::New(env, SetAllowTf32, "setAllowTf32"));
  exports.Set("getAllowTf32", Napi::Function::New(env, GetAllowTf32, "getAllowTf32"));
  exports.Set("kernelEnums", Napi::Function::New(env, KernelEnums, "kernelEnums"));
}
