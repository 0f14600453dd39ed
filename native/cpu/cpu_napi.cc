// N-API utilities of the CPU kernels and the export of every registered entry point. The kernel
// entry points (cpuMatmul, ...) are generated from native/manifest/cpu/*.mjs into gen_<family>.cc
// (scripts/gen-boundary.mjs) and register themselves with WGCPU_ENTRY. They work in place on the
// js backend's storage: the Float32Array / Float64Array of a JsHandle is passed as is (zero copy;
// the call is synchronous, so JS cannot touch the arrays meanwhile).
//
//   cpuSetNumThreads(n) / cpuGetNumThreads()
//   cpuInfo() -> { isa, supportedIsas, threads, defaultThreads, kernels, sgemmTile }
//   cpuSelectIsa(name) -> boolean            (tests and benches; WATTGRAD_CPU_ISA at load)
//   cpuFmaPeak(iters, threads) -> GFLOP/s     (register-only FMA loop of the selected ISA)
// Check: npx vitest run test/native/cpu-matmul.test.ts

#include <napi.h>

#include <chrono>
#include <cmath>
#include <string>

#include "cpu_kernels.h"
#include "pool.h"
#include "registry.h"

namespace {

Napi::Value CpuSetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber())
    throw Napi::TypeError::New(env, "setNumThreads: expected a number of threads");
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != std::floor(d) || d > 255) {
    throw Napi::RangeError::New(env, "setNumThreads: n must be an integer from 1 to 255, got " + std::to_string(d));
  }
  wgcpu::SetNumThreads(static_cast<int>(d));
  return env.Undefined();
}

Napi::Value CpuGetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), wgcpu::NumThreads());
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const wgcpu::IsaKernels& k = wgcpu::Kernels();
  o.Set("isa", k.name);
  const char* names[8];
  int n = wgcpu::SupportedIsas(names, 8);
  Napi::Array sup = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) sup.Set(uint32_t(i), names[i]);
  o.Set("supportedIsas", sup);
  o.Set("threads", wgcpu::NumThreads());
  o.Set("defaultThreads", wgcpu::DefaultNumThreads());
  // "matmul" plus every kernel a WGCPU_ENTRY made native (registry.h), each once
  Napi::Array ks = Napi::Array::New(env);
  uint32_t nk = 0;
  ks.Set(nk++, "matmul");
  int count = 0;
  const wgcpu::Entry* e = wgcpu::Entries(&count);
  for (int i = 0; i < count; i++) {
    if (!e[i].kernel) continue;
    bool seen = std::string(e[i].kernel) == "matmul";
    for (int j = 0; j < i && !seen; j++) seen = e[j].kernel && std::string(e[j].kernel) == e[i].kernel;
    if (!seen) ks.Set(nk++, e[i].kernel);
  }
  o.Set("kernels", ks);
  o.Set("sgemmTile", std::to_string(k.sgemmMR) + "x" + std::to_string(k.sgemmNR));
  return o;
}

Napi::Value CpuSelectIsa(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "cpuSelectIsa: expected an ISA name");
  return Napi::Boolean::New(info.Env(), wgcpu::SelectIsa(info[0].As<Napi::String>().Utf8Value().c_str()));
}

struct PeakJob {
  int64_t iters;
  double flops[256];
};

void PeakTask(void* ctx, int64_t t, int thread) {
  PeakJob* j = static_cast<PeakJob*>(ctx);
  j->flops[t] = wgcpu::Kernels().fmaPeakFlops(j->iters);
}

Napi::Value CpuFmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "cpuFmaPeak: expected (iters, threads)");
  int64_t iters = info[0].As<Napi::Number>().Int64Value();
  int threads = info[1].As<Napi::Number>().Int32Value();
  if (iters < 1) iters = 1;
  if (threads < 1) threads = 1;
  if (threads > wgcpu::NumThreads()) threads = wgcpu::NumThreads();
  PeakJob j;
  j.iters = iters;
  auto t0 = std::chrono::steady_clock::now();
  wgcpu::ParallelFor(threads, PeakTask, &j);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (int i = 0; i < threads; i++) total += j.flops[i];
  return Napi::Number::New(env, total / s / 1e9);
}

}  // namespace

// Called from addon.cc's Init. Creates the pool now (size from WATTGRAD_NUM_THREADS or the
// physical cores) and picks the ISA (WATTGRAD_CPU_ISA or cpuid).
void RegisterCpu(Napi::Env env, Napi::Object exports) {
  wgcpu::Kernels();
  wgcpu::NumThreads();
  exports.Set("cpuSetNumThreads", Napi::Function::New(env, CpuSetNumThreads, "cpuSetNumThreads"));
  exports.Set("cpuGetNumThreads", Napi::Function::New(env, CpuGetNumThreads, "cpuGetNumThreads"));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo, "cpuInfo"));
  exports.Set("cpuSelectIsa", Napi::Function::New(env, CpuSelectIsa, "cpuSelectIsa"));
  exports.Set("cpuFmaPeak", Napi::Function::New(env, CpuFmaPeak, "cpuFmaPeak"));
  int count = 0;
  const wgcpu::Entry* e = wgcpu::Entries(&count);
  for (int i = 0; i < count; i++) exports.Set(e[i].jsName, Napi::Function::New(env, e[i].fn, e[i].jsName));
}
