// cpuStreamOps() -> { unary, unaryGrad, binary, reduce, activation }: the op-name lists whose
// indexes are the op codes of cpuUnary / cpuUnaryGrad / cpuBinary / cpuReduce / cpuAddBiasAct
// (elementwise.h), so the JS side maps names once at load and never restates the C++ order.
// Hand-written with WGCPU_ENTRY (not in native/manifest/cpu/elementwise.mjs): it returns a value,
// which the generated boundary's kinds do not express.
// Check: npx vitest run test/native/cpu-streaming.test.ts

#include <napi.h>

#include "elementwise.h"
#include "registry.h"

namespace {

#define WG_NAME_ITEM(name) #name,
const char* const kUnaryNames[] = {WG_UNARY_OPS(WG_NAME_ITEM)};
const char* const kUnaryGradNames[] = {WG_UNARY_GRAD_OPS(WG_NAME_ITEM)};
const char* const kBinaryNames[] = {WG_BINARY_OPS(WG_NAME_ITEM)};
const char* const kReduceNames[] = {WG_REDUCE_OPS(WG_NAME_ITEM)};
const char* const kActNames[] = {WG_ACTIVATIONS(WG_NAME_ITEM)};
#undef WG_NAME_ITEM

Napi::Array Names(Napi::Env env, const char* const* names, int n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) a.Set(uint32_t(i), names[i]);
  return a;
}

Napi::Value CpuStreamOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("unary", Names(env, kUnaryNames, int(wgcpu::UnaryOp::kCount)));
  o.Set("unaryGrad", Names(env, kUnaryGradNames, int(wgcpu::UnaryGradOp::kCount)));
  o.Set("binary", Names(env, kBinaryNames, int(wgcpu::BinaryOp::kCount)));
  o.Set("reduce", Names(env, kReduceNames, int(wgcpu::ReduceOp::kCount)));
  o.Set("activation", Names(env, kActNames, int(wgcpu::Act::kCount)));
  return o;
}

}  // namespace

WGCPU_ENTRY("cpuStreamOps", CpuStreamOps, nullptr);
