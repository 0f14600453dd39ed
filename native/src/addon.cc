// The addon's entry point: registers the runtime, the kernels (CUDA builds) and NVML, and
// `buildInfo` (an object) telling which parts this binary carries.
//
// RegisterKernels and RegisterNvml have weak fallbacks here so the addon still links while
// ops_*.cc or nvml.cc are missing from the tree; buildInfo() then reports the part as absent.

#include <napi.h>

#include "runtime.h"

#ifndef WG_CUDA_ARCHS
#define WG_CUDA_ARCHS ""
#endif
#ifndef WG_VERSION
#define WG_VERSION "0.0.0"
#endif

namespace {
[[maybe_unused]] bool g_kernels_stub = false;
bool g_nvml_stub = false;
}  // namespace

#ifdef WG_HAVE_CUDA
__attribute__((weak)) void RegisterKernels(Napi::Env, Napi::Object) { g_kernels_stub = true; }
#endif
__attribute__((weak)) void RegisterNvml(Napi::Env, Napi::Object) { g_nvml_stub = true; }
// native/cpu/cpu_napi.cc: the CPU kernels (thread pool, ISA dispatch), in every build
void RegisterCpu(Napi::Env, Napi::Object);

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterRuntime(env, exports);
  bool cuda = false, kernels = false;
#ifdef WG_HAVE_CUDA
  cuda = true;
  RegisterKernels(env, exports);
  kernels = !g_kernels_stub;
#endif
  RegisterNvml(env, exports);
  RegisterCpu(env, exports);
  bool nvml = !g_nvml_stub;

  Napi::Object info = Napi::Object::New(env);
  info.Set("version", Napi::String::New(env, WG_VERSION));
  info.Set("cuda", Napi::Boolean::New(env, cuda));
  info.Set("kernels", Napi::Boolean::New(env, kernels));
  info.Set("nvml", Napi::Boolean::New(env, nvml));
  info.Set("cpuKernels", Napi::Boolean::New(env, true));  // native/cpu: cpuInfo() says which and the ISA
  info.Set("cudaArchs", Napi::String::New(env, WG_CUDA_ARCHS));
#ifdef WG_SIM_BUILD
  info.Set("simulator", Napi::Boolean::New(env, true));  // GPGPU-Sim's libcudart.so, PTX compute_75
#else
  info.Set("simulator", Napi::Boolean::New(env, false));
#endif
#if defined(WG_HAVE_CUDA) && !defined(WG_NO_TENSOR_CORES)
  info.Set("tensorCores", Napi::Boolean::New(env, true));  // mma.sync paths compiled in (used on sm_80+)
#else
  info.Set("tensorCores", Napi::Boolean::New(env, false));
#endif
#ifdef CUDART_VERSION
  info.Set("cudaRuntime", Napi::Number::New(env, CUDART_VERSION));
#else
  info.Set("cudaRuntime", env.Null());
#endif
  info.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
#ifdef NDEBUG
  info.Set("buildType", Napi::String::New(env, "Release"));
#else
  info.Set("buildType", Napi::String::New(env, "Debug"));
#endif
  info.Set("compiler", Napi::String::New(env, __VERSION__));
  exports.Set("buildInfo", info);
  return exports;
}

}  // namespace

NODE_API_MODULE(wattgrad, Init)
