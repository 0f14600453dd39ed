// Hand-written N-API utilities of the int8 GEMM, for tests and benches: cpuQgemmInfo(): { isa,
// supportedIsas } and cpuQgemmSelectIsa(name) ('vnni' | 'avx2' | 'scalar' | 'auto') → boolean. They
// return values, which the generated boundary's kinds do not express (native/manifest/README.md);
// the kernel entry cpuQgemmU8S8S32 itself is generated from native/manifest/cpu/qgemm.mjs
// (gen_qgemm.cc) and implemented in qgemm.cc.

#include <napi.h>

#include "qgemm.h"
#include "registry.h"

namespace wgcpu {
namespace {

Napi::Value CpuQgemmInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", QgemmIsa());
  const char* names[8];
  int n = QgemmSupportedIsas(names, 8);
  Napi::Array arr = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) arr.Set(uint32_t(i), names[i]);
  o.Set("supportedIsas", arr);
  return o;
}

Napi::Value CpuQgemmSelectIsa(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(),
                               "cpuQgemmSelectIsa: expected one string ('vnni', 'avx2', 'scalar' or 'auto')");
  return Napi::Boolean::New(info.Env(), QgemmSelectIsa(info[0].As<Napi::String>().Utf8Value().c_str()));
}

}  // namespace

WGCPU_ENTRY("cpuQgemmInfo", CpuQgemmInfo, nullptr);
WGCPU_ENTRY("cpuQgemmSelectIsa", CpuQgemmSelectIsa, nullptr);

}  // namespace wgcpu
