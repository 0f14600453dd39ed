// N-API entry points of the CPU kernels. They work in place on the js backend's storage: the
// Float32Array / Float64Array of a JsHandle is passed as is and the kernel reads and writes its
// memory (zero copy; the call is synchronous, so JS cannot touch the arrays meanwhile).
//
//   cpuMatmul(a, b, out, batch, m, n, k, transA, transB, aBatchStride, bBatchStride)
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

using wgcpu::GemmArgs;

struct Arr {
  void* data;
  size_t length;
  napi_typedarray_type type;
};

Arr GetArr(const Napi::CallbackInfo& info, size_t i, const char* name) {
  napi_value v = info[i];
  bool is = false;
  napi_is_typedarray(info.Env(), v, &is);
  if (!is)
    throw Napi::TypeError::New(info.Env(),
                               std::string("cpuMatmul: ") + name + " must be a Float32Array or Float64Array");
  Arr a;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), v, &a.type, &a.length, &a.data, &ab, &off);
  if (a.type != napi_float32_array && a.type != napi_float64_array) {
    throw Napi::TypeError::New(info.Env(),
                               std::string("cpuMatmul: ") + name + " must be a Float32Array or Float64Array");
  }
  return a;
}

int64_t GetInt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string("cpuMatmul: ") + name + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0) {
    throw Napi::RangeError::New(
        info.Env(), std::string("cpuMatmul: ") + name + " must be a non-negative integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

// Elements a batch of (rows × cols) matrices `stride` apart reaches; saturates instead of overflowing.
double Extent(int64_t batch, int64_t stride, int64_t numel) {
  if (batch == 0 || numel == 0) return 0;
  return double(batch - 1) * double(stride) + double(numel);
}

bool Overlap(const Arr& x, size_t xb, const Arr& y, size_t yb) {
  auto p = static_cast<const char*>(x.data), q = static_cast<const char*>(y.data);
  return xb && yb && p < q + yb && q < p + xb;
}

Napi::Value CpuMatmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 11)
    throw Napi::TypeError::New(
        env,
        "cpuMatmul: expected 11 arguments (a, b, out, batch, m, n, k, transA, transB, aBatchStride, bBatchStride)");
  Arr a = GetArr(info, 0, "a"), b = GetArr(info, 1, "b"), out = GetArr(info, 2, "out");
  if (a.type != b.type || a.type != out.type)
    throw Napi::TypeError::New(env, "cpuMatmul: a, b and out must have the same dtype");
  int64_t batch = GetInt(info, 3, "batch"), m = GetInt(info, 4, "m"), n = GetInt(info, 5, "n"),
          k = GetInt(info, 6, "k");
  bool ta = info[7].ToBoolean(), tb = info[8].ToBoolean();
  int64_t asb = GetInt(info, 9, "aBatchStride"), bsb = GetInt(info, 10, "bBatchStride");
  double needA = Extent(batch, asb, m * k), needB = Extent(batch, bsb, k * n),
         needC = double(batch) * double(m) * double(n);
  if (needA > double(a.length) || needB > double(b.length) || needC > double(out.length)) {
    throw Napi::RangeError::New(env, "cpuMatmul: batch " + std::to_string(batch) + " of (" + std::to_string(m) + "x" +
                                         std::to_string(k) + ")·(" + std::to_string(k) + "x" + std::to_string(n) +
                                         ") needs a " + std::to_string(int64_t(needA)) + ", b " +
                                         std::to_string(int64_t(needB)) + ", out " + std::to_string(int64_t(needC)) +
                                         " elements; got " + std::to_string(a.length) + ", " +
                                         std::to_string(b.length) + ", " + std::to_string(out.length));
  }
  size_t es = a.type == napi_float32_array ? 4 : 8;
  size_t cb = size_t(needC) * es;
  if (Overlap(out, cb, a, size_t(needA) * es) || Overlap(out, cb, b, size_t(needB) * es)) {
    throw Napi::RangeError::New(env, "cpuMatmul: out overlaps an input; pass a separate output array");
  }
  bool ok;
  if (a.type == napi_float32_array) {
    GemmArgs<float> g{static_cast<const float*>(a.data),
                      static_cast<const float*>(b.data),
                      static_cast<float*>(out.data),
                      batch,
                      m,
                      n,
                      k,
                      asb,
                      bsb,
                      ta,
                      tb};
    ok = wgcpu::Kernels().sgemm(g);
  } else {
    GemmArgs<double> g{static_cast<const double*>(a.data),
                       static_cast<const double*>(b.data),
                       static_cast<double*>(out.data),
                       batch,
                       m,
                       n,
                       k,
                       asb,
                       bsb,
                       ta,
                       tb};
    ok = wgcpu::Kernels().dgemm(g);
  }
  if (!ok) throw Napi::Error::New(env, "cpuMatmul: out of memory for the packing buffers");
  return env.Undefined();
}

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
  exports.Set("cpuMatmul", Napi::Function::New(env, CpuMatmul, "cpuMatmul"));
  exports.Set("cpuSetNumThreads", Napi::Function::New(env, CpuSetNumThreads, "cpuSetNumThreads"));
  exports.Set("cpuGetNumThreads", Napi::Function::New(env, CpuGetNumThreads, "cpuGetNumThreads"));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo, "cpuInfo"));
  exports.Set("cpuSelectIsa", Napi::Function::New(env, CpuSelectIsa, "cpuSelectIsa"));
  exports.Set("cpuFmaPeak", Napi::Function::New(env, CpuFmaPeak, "cpuFmaPeak"));
  int count = 0;
  const wgcpu::Entry* e = wgcpu::Entries(&count);
  for (int i = 0; i < count; i++) exports.Set(e[i].jsName, Napi::Function::New(env, e[i].fn, e[i].jsName));
}
