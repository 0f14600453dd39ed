// N-API entry points of the int8 GEMM (qgemm.cc): the hook lib/quantization/qgemm.ts looks for,
//   cpuQgemmU8S8S32(a: Uint8Array, b: Int8Array, bScale: Float32Array, bZeroPoint: Int32Array,
//                   bias: Float32Array | null, out: Float32Array, acc: Int32Array | null,
//                   m, n, k, aScale, aZeroPoint, relu): void
// and, for tests and benches, cpuQgemmInfo(): { isa, supportedIsas } and cpuQgemmSelectIsa(name)
// ('vnni' | 'avx2' | 'scalar' | 'auto') → boolean.

#include <napi.h>

#include <cmath>
#include <string>

#include "napi_util.h"
#include "qgemm.h"
#include "registry.h"

namespace wgcpu {
namespace {

constexpr const char* kFn = "cpuQgemmU8S8S32";

Napi::Value CpuQgemm(const Napi::CallbackInfo& info) {
  using namespace napi;
  ArgCount(info, 13, kFn, "a, b, bScale, bZeroPoint, bias, out, acc, m, n, k, aScale, aZeroPoint, relu");
  const int64_t m = Size(info, 7, kFn, "m"), n = Size(info, 8, kFn, "n"), k = Size(info, 9, kFn, "k");
  if (double(k) * 255 * 255 >= 2147483648.0)
    throw Napi::RangeError::New(info.Env(), std::string(kFn) + ": k = " + std::to_string(k) +
                                                " is too large for exact int32 accumulation (k < 33025)");
  QgemmArgs x{};
  x.m = m;
  x.n = n;
  x.k = k;
  x.a = static_cast<const uint8_t*>(Typed(info, 0, kFn, "a", napi_uint8_array, double(m) * double(k)).data);
  x.b = static_cast<const int8_t*>(Typed(info, 1, kFn, "b", napi_int8_array, double(n) * double(k)).data);
  x.bScale = F32(info, 2, kFn, "bScale", double(n));
  x.bZeroPoint = I32(info, 3, kFn, "bZeroPoint", double(n));
  x.bias = info[4].IsNull() || info[4].IsUndefined() ? nullptr : F32(info, 4, kFn, "bias", double(n));
  x.out = F32(info, 5, kFn, "out", double(m) * double(n));
  x.acc = info[6].IsNull() || info[6].IsUndefined() ? nullptr : I32(info, 6, kFn, "acc", double(m) * double(n));
  x.aScale = Num(info, 10, kFn, "aScale");
  if (!(x.aScale > 0) || !std::isfinite(x.aScale))
    throw Napi::RangeError::New(info.Env(), std::string(kFn) + ": aScale must be a positive finite number");
  const double za = Num(info, 11, kFn, "aZeroPoint");
  if (!(za >= 0 && za <= 255) || za != std::floor(za))
    throw Napi::RangeError::New(info.Env(), std::string(kFn) + ": aZeroPoint must be an integer in [0, 255]");
  x.aZeroPoint = int32_t(za);
  x.relu = Bool(info, 12);
  if (Overlap(x.out, size_t(m * n) * 4, x.a, size_t(m * k)) || Overlap(x.out, size_t(m * n) * 4, x.b, size_t(n * k)) ||
      (x.acc && Overlap(x.acc, size_t(m * n) * 4, x.out, size_t(m * n) * 4)))
    throw Napi::RangeError::New(info.Env(), std::string(kFn) + ": out/acc must not overlap the inputs or each other");
  if (!Qgemm(x)) throw Napi::Error::New(info.Env(), std::string(kFn) + ": out of memory for the packing buffers");
  return info.Env().Undefined();
}

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

WGCPU_ENTRY("cpuQgemmU8S8S32", CpuQgemm, "qgemm_u8s8s32");
WGCPU_ENTRY("cpuQgemmInfo", CpuQgemmInfo, nullptr);
WGCPU_ENTRY("cpuQgemmSelectIsa", CpuQgemmSelectIsa, nullptr);

}  // namespace wgcpu
