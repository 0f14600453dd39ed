// NVML (NVIDIA Management Library) through dlopen: GPU energy counters, power readings and a
// background power sampler, for lib/energy/nvml.ts.
//
// No header or link dependency on NVML: the library is opened at run time with
// dlopen("libnvidia-ml.so.1") and the eight functions we use are declared here by hand (their
// signatures are stable since the _v2 variants of CUDA 5/6). When the library or a GPU is absent the
// addon still loads and every entry point reports why instead of crashing. Builds with or without
// CUDA (nothing here touches the CUDA runtime).
//
// Exports (typed in binding.d.ts, section NvmlBinding):
//   nvmlStatus()                      -> { available, error, detail, library }
//   nvmlDevices()                     -> [{ index, name, powerLimitMw, energyCounter, energyError }]
//   nvmlEnergyMj(index)               -> total energy since driver load, mJ (Volta+); throws
//   nvmlPowerMw(index)                -> current board power, mW; throws
//   nvmlNowMs()                       -> the monotonic clock (ms) the sampler stamps samples with
//   nvmlStartSampling(index, periodMs)-> sampler id (a native thread polling nvmlDeviceGetPowerUsage)
//   nvmlReadSampling(id, from?)       -> { timesMs, watts, errors, lastError, next } samples [from, next)
//   nvmlStopSampling(id, from?)       -> the same, after joining the thread (the id is then dead)
// Errors thrown by nvmlEnergyMj/nvmlPowerMw carry `nvmlCode` (the nvmlReturn_t) so the caller can
// tell NVML_ERROR_NOT_SUPPORTED (3) from a real failure.

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef _WIN32
#include <dlfcn.h>
#endif

#include "runtime.h"

namespace {

// ---- the slice of nvml.h we use ------------------------------------------------------------------
typedef int nvmlReturn_t;  // an enum in nvml.h; 0 = NVML_SUCCESS
typedef struct nvmlDevice_st* nvmlDevice_t;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr unsigned kNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

typedef nvmlReturn_t (*InitFn)(void);
typedef nvmlReturn_t (*GetCountFn)(unsigned int*);
typedef nvmlReturn_t (*GetHandleByIndexFn)(unsigned int, nvmlDevice_t*);
typedef nvmlReturn_t (*GetNameFn)(nvmlDevice_t, char*, unsigned int);
typedef nvmlReturn_t (*GetTotalEnergyFn)(nvmlDevice_t, unsigned long long*);   // mJ
typedef nvmlReturn_t (*GetPowerUsageFn)(nvmlDevice_t, unsigned int*);          // mW
typedef nvmlReturn_t (*GetEnforcedPowerLimitFn)(nvmlDevice_t, unsigned int*);  // mW
typedef const char* (*ErrorStringFn)(nvmlReturn_t);

struct Nvml {
  bool tried = false;
  bool available = false;
  std::string error;    // short reason, e.g. "libnvidia-ml.so.1 not found"
  std::string detail;   // dlerror() / nvmlErrorString() text
  std::string library;  // the name dlopen succeeded with
  void* handle = nullptr;
  InitFn init = nullptr;
  GetCountFn getCount = nullptr;
  GetHandleByIndexFn getHandle = nullptr;
  GetNameFn getName = nullptr;
  GetTotalEnergyFn getEnergy = nullptr;
  GetPowerUsageFn getPower = nullptr;
  GetEnforcedPowerLimitFn getPowerLimit = nullptr;
  ErrorStringFn errorString = nullptr;
};

std::mutex g_loadMutex;
Nvml g_nvml;

const char* ErrorText(nvmlReturn_t r) {
  if (g_nvml.errorString != nullptr) {
    const char* s = g_nvml.errorString(r);
    if (s != nullptr) return s;
  }
  return "unknown NVML error";
}

// Opens the library and initialises NVML once per process. Never throws.
const Nvml& Load() {
  std::lock_guard<std::mutex> lock(g_loadMutex);
  if (g_nvml.tried) return g_nvml;
  g_nvml.tried = true;
#ifdef _WIN32
  g_nvml.error = "NVML loading is not implemented on Windows";
  return g_nvml;
#else
  // WATTGRAD_NVML_PATH lets a user point at a library outside the loader's search path.
  std::vector<std::string> names;
  if (const char* env = std::getenv("WATTGRAD_NVML_PATH")) {
    if (env[0] != '\0') names.push_back(env);
  }
  names.push_back("libnvidia-ml.so.1");
  names.push_back("libnvidia-ml.so");
  std::string firstDlError;
  for (const std::string& name : names) {
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h != nullptr) {
      g_nvml.handle = h;
      g_nvml.library = name;
      break;
    }
    const char* e = dlerror();
    if (firstDlError.empty() && e != nullptr) firstDlError = e;
  }
  if (g_nvml.handle == nullptr) {
    g_nvml.error = "libnvidia-ml.so.1 not found";
    g_nvml.detail = firstDlError;
    return g_nvml;
  }
  void* h = g_nvml.handle;
  g_nvml.init = reinterpret_cast<InitFn>(dlsym(h, "nvmlInit_v2"));
  g_nvml.getCount = reinterpret_cast<GetCountFn>(dlsym(h, "nvmlDeviceGetCount_v2"));
  g_nvml.getHandle = reinterpret_cast<GetHandleByIndexFn>(dlsym(h, "nvmlDeviceGetHandleByIndex_v2"));
  g_nvml.getName = reinterpret_cast<GetNameFn>(dlsym(h, "nvmlDeviceGetName"));
  g_nvml.getEnergy = reinterpret_cast<GetTotalEnergyFn>(dlsym(h, "nvmlDeviceGetTotalEnergyConsumption"));
  g_nvml.getPower = reinterpret_cast<GetPowerUsageFn>(dlsym(h, "nvmlDeviceGetPowerUsage"));
  g_nvml.getPowerLimit = reinterpret_cast<GetEnforcedPowerLimitFn>(dlsym(h, "nvmlDeviceGetEnforcedPowerLimit"));
  g_nvml.errorString = reinterpret_cast<ErrorStringFn>(dlsym(h, "nvmlErrorString"));
  // The energy counter is optional (pre-Volta drivers may lack the symbol); the rest is required.
  const char* missing = nullptr;
  if (g_nvml.init == nullptr) missing = "nvmlInit_v2";
  else if (g_nvml.getCount == nullptr) missing = "nvmlDeviceGetCount_v2";
  else if (g_nvml.getHandle == nullptr) missing = "nvmlDeviceGetHandleByIndex_v2";
  else if (g_nvml.getName == nullptr) missing = "nvmlDeviceGetName";
  else if (g_nvml.getPower == nullptr) missing = "nvmlDeviceGetPowerUsage";
  if (missing != nullptr) {
    g_nvml.error = std::string(g_nvml.library) + " lacks " + missing;
    return g_nvml;
  }
  nvmlReturn_t r = g_nvml.init();
  if (r != kNvmlSuccess) {
    g_nvml.error = "nvmlInit_v2 failed";
    g_nvml.detail = ErrorText(r);
    return g_nvml;
  }
  g_nvml.available = true;
  return g_nvml;
#endif
}

// ---- helpers -------------------------------------------------------------------------------------

double NowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

Napi::Value ThrowNvml(Napi::Env env, const std::string& what, nvmlReturn_t code) {
  Napi::Error err = Napi::Error::New(env, "wattgrad nvml " + what + ": " + ErrorText(code));
  err.Set("nvmlCode", Napi::Number::New(env, code));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

// Loads NVML (if not yet) and throws a JS Error when it is unavailable. Returns false after throwing.
bool RequireNvml(Napi::Env env, const char* fn) {
  const Nvml& n = Load();
  if (n.available) return true;
  std::string msg = std::string("wattgrad ") + fn + ": NVML unavailable: " + n.error;
  if (!n.detail.empty()) msg += " (" + n.detail + ")";
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// Reads argument i as a device index and resolves the handle. Returns false after throwing.
bool DeviceArg(const Napi::CallbackInfo& info, size_t i, const char* fn, unsigned* index, nvmlDevice_t* dev) {
  Napi::Env env = info.Env();
  if (!RequireNvml(env, fn)) return false;
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(env, std::string(fn) + ": device index must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != static_cast<double>(static_cast<unsigned>(d))) {
    Napi::RangeError::New(env, std::string(fn) + ": device index must be a non-negative integer")
        .ThrowAsJavaScriptException();
    return false;
  }
  *index = static_cast<unsigned>(d);
  nvmlReturn_t r = g_nvml.getHandle(*index, dev);
  if (r != kNvmlSuccess) {
    ThrowNvml(env, std::string(fn) + ": nvmlDeviceGetHandleByIndex_v2(" + std::to_string(*index) + ")", r);
    return false;
  }
  return true;
}

// ---- power sampler -------------------------------------------------------------------------------
// One thread per sampler polls nvmlDeviceGetPowerUsage every periodMs and appends (time, watts).
// JS reads the series incrementally (from an index), so long runs cost O(new samples) per read.

struct Sampler {
  napi_env owner = nullptr;
  nvmlDevice_t device = nullptr;
  double periodMs = 100;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::vector<double> timesMs;
  std::vector<double> watts;
  uint64_t errors = 0;
  std::string lastError;
  std::thread thread;

  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      lock.unlock();
      unsigned mw = 0;
      nvmlReturn_t r = g_nvml.getPower(device, &mw);
      double t = NowMs();
      lock.lock();
      if (r == kNvmlSuccess) {
        timesMs.push_back(t);
        watts.push_back(mw / 1000.0);
      } else {
        errors += 1;
        lastError = ErrorText(r);
      }
      cv.wait_for(lock, std::chrono::duration<double, std::milli>(periodMs), [this] { return stop; });
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }
};

std::mutex g_samplersMutex;
// Leaked on purpose: destroying joinable threads during static destruction would terminate the
// process; the env cleanup hook stops every sampler an environment started.
auto* g_samplers = new std::map<uint32_t, std::shared_ptr<Sampler>>();
uint32_t g_nextSamplerId = 1;

std::shared_ptr<Sampler> FindSampler(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_samplersMutex);
  auto it = g_samplers->find(id);
  return it == g_samplers->end() ? nullptr : it->second;
}

void StopSamplersOf(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::vector<std::shared_ptr<Sampler>> victims;
  {
    std::lock_guard<std::mutex> lock(g_samplersMutex);
    for (auto it = g_samplers->begin(); it != g_samplers->end();) {
      if (it->second->owner == env) {
        victims.push_back(it->second);
        it = g_samplers->erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : victims) s->Stop();
}

Napi::Value SeriesFrom(Napi::Env env, Sampler& s, size_t from) {
  std::lock_guard<std::mutex> lock(s.mu);
  size_t n = s.timesMs.size();
  if (from > n) from = n;
  size_t count = n - from;
  Napi::Float64Array times = Napi::Float64Array::New(env, count);
  Napi::Float64Array watts = Napi::Float64Array::New(env, count);
  if (count > 0) {
    std::memcpy(times.Data(), s.timesMs.data() + from, count * sizeof(double));
    std::memcpy(watts.Data(), s.watts.data() + from, count * sizeof(double));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("timesMs", times);
  out.Set("watts", watts);
  out.Set("errors", Napi::Number::New(env, static_cast<double>(s.errors)));
  out.Set("lastError", s.lastError.empty() ? env.Null() : Napi::String::New(env, s.lastError));
  out.Set("next", Napi::Number::New(env, static_cast<double>(n)));
  return out;
}

bool SamplerArgs(const Napi::CallbackInfo& info, const char* fn, uint32_t* id, size_t* from) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, std::string(fn) + ": sampler id must be a number").ThrowAsJavaScriptException();
    return false;
  }
  *id = info[0].As<Napi::Number>().Uint32Value();
  *from = 0;
  if (info.Length() > 1 && info[1].IsNumber()) {
    double f = info[1].As<Napi::Number>().DoubleValue();
    *from = f > 0 ? static_cast<size_t>(f) : 0;
  }
  return true;
}

// ---- entry points --------------------------------------------------------------------------------

Napi::Value NvmlStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Nvml& n = Load();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", Napi::Boolean::New(env, n.available));
  out.Set("error", n.available ? env.Null() : Napi::String::New(env, n.error));
  out.Set("detail", n.detail.empty() ? env.Null() : Napi::String::New(env, n.detail));
  out.Set("library", n.library.empty() ? env.Null() : Napi::String::New(env, n.library));
  return out;
}

Napi::Value NvmlDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireNvml(env, "nvmlDevices")) return env.Undefined();
  unsigned count = 0;
  nvmlReturn_t r = g_nvml.getCount(&count);
  if (r != kNvmlSuccess) return ThrowNvml(env, "nvmlDeviceGetCount_v2", r);
  Napi::Array out = Napi::Array::New(env, count);
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    r = g_nvml.getHandle(i, &dev);
    if (r != kNvmlSuccess) return ThrowNvml(env, "nvmlDeviceGetHandleByIndex_v2(" + std::to_string(i) + ")", r);
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", Napi::Number::New(env, i));
    char name[kNameBufferSize] = {0};
    r = g_nvml.getName(dev, name, kNameBufferSize);
    d.Set("name", Napi::String::New(env, r == kNvmlSuccess ? name : "NVIDIA GPU"));
    unsigned limit = 0;
    bool haveLimit = g_nvml.getPowerLimit != nullptr && g_nvml.getPowerLimit(dev, &limit) == kNvmlSuccess;
    d.Set("powerLimitMw", haveLimit ? Napi::Number::New(env, limit) : env.Null());
    // Probe the energy counter once: unsupported before Volta and on some virtualised GPUs.
    unsigned long long mj = 0;
    nvmlReturn_t er = g_nvml.getEnergy != nullptr ? g_nvml.getEnergy(dev, &mj) : 3 /* NOT_SUPPORTED */;
    d.Set("energyCounter", Napi::Boolean::New(env, er == kNvmlSuccess));
    d.Set("energyError",
          er == kNvmlSuccess
              ? env.Null()
              : Napi::String::New(env, g_nvml.getEnergy != nullptr
                                           ? ErrorText(er)
                                           : "nvmlDeviceGetTotalEnergyConsumption missing in this driver"));
    out.Set(i, d);
  }
  return out;
}

Napi::Value NvmlEnergyMj(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned index = 0;
  nvmlDevice_t dev = nullptr;
  if (!DeviceArg(info, 0, "nvmlEnergyMj", &index, &dev)) return env.Undefined();
  if (g_nvml.getEnergy == nullptr) return ThrowNvml(env, "nvmlDeviceGetTotalEnergyConsumption", 3);
  unsigned long long mj = 0;
  nvmlReturn_t r = g_nvml.getEnergy(dev, &mj);
  if (r != kNvmlSuccess) return ThrowNvml(env, "nvmlDeviceGetTotalEnergyConsumption(" + std::to_string(index) + ")", r);
  return Napi::Number::New(env, static_cast<double>(mj));  // exact below 2^53 mJ (~285 years at 1 kW)
}

Napi::Value NvmlPowerMw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned index = 0;
  nvmlDevice_t dev = nullptr;
  if (!DeviceArg(info, 0, "nvmlPowerMw", &index, &dev)) return env.Undefined();
  unsigned mw = 0;
  nvmlReturn_t r = g_nvml.getPower(dev, &mw);
  if (r != kNvmlSuccess) return ThrowNvml(env, "nvmlDeviceGetPowerUsage(" + std::to_string(index) + ")", r);
  return Napi::Number::New(env, mw);
}

Napi::Value NvmlNowMs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), NowMs()); }

Napi::Value NvmlStartSampling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned index = 0;
  nvmlDevice_t dev = nullptr;
  if (!DeviceArg(info, 0, "nvmlStartSampling", &index, &dev)) return env.Undefined();
  double period = 100;
  if (info.Length() > 1 && info[1].IsNumber()) period = info[1].As<Napi::Number>().DoubleValue();
  if (!(period >= 1)) {
    Napi::RangeError::New(env, "nvmlStartSampling: periodMs must be >= 1").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto s = std::make_shared<Sampler>();
  s->owner = env;
  s->device = dev;
  s->periodMs = period;
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(g_samplersMutex);
    id = g_nextSamplerId++;
    (*g_samplers)[id] = s;
  }
  Sampler* raw = s.get();
  s->thread = std::thread([raw] { raw->Run(); });
  return Napi::Number::New(env, id);
}

Napi::Value NvmlReadSampling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  size_t from = 0;
  if (!SamplerArgs(info, "nvmlReadSampling", &id, &from)) return env.Undefined();
  std::shared_ptr<Sampler> s = FindSampler(id);
  if (!s) {
    Napi::Error::New(env, "nvmlReadSampling: no running sampler " + std::to_string(id)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return SeriesFrom(env, *s, from);
}

Napi::Value NvmlStopSampling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  size_t from = 0;
  if (!SamplerArgs(info, "nvmlStopSampling", &id, &from)) return env.Undefined();
  std::shared_ptr<Sampler> s;
  {
    std::lock_guard<std::mutex> lock(g_samplersMutex);
    auto it = g_samplers->find(id);
    if (it != g_samplers->end()) {
      s = it->second;
      g_samplers->erase(it);
    }
  }
  if (!s) {
    Napi::Error::New(env, "nvmlStopSampling: no running sampler " + std::to_string(id)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  s->Stop();
  return SeriesFrom(env, *s, from);
}

}  // namespace

void RegisterNvml(Napi::Env env, Napi::Object exports) {
  exports.Set("nvmlStatus", Napi::Function::New(env, NvmlStatus, "nvmlStatus"));
  exports.Set("nvmlDevices", Napi::Function::New(env, NvmlDevices, "nvmlDevices"));
  exports.Set("nvmlEnergyMj", Napi::Function::New(env, NvmlEnergyMj, "nvmlEnergyMj"));
  exports.Set("nvmlPowerMw", Napi::Function::New(env, NvmlPowerMw, "nvmlPowerMw"));
  exports.Set("nvmlNowMs", Napi::Function::New(env, NvmlNowMs, "nvmlNowMs"));
  exports.Set("nvmlStartSampling", Napi::Function::New(env, NvmlStartSampling, "nvmlStartSampling"));
  exports.Set("nvmlReadSampling", Napi::Function::New(env, NvmlReadSampling, "nvmlReadSampling"));
  exports.Set("nvmlStopSampling", Napi::Function::New(env, NvmlStopSampling, "nvmlStopSampling"));
  // Join this environment's sampler threads when it goes away (process exit, worker termination).
  napi_add_env_cleanup_hook(env, StopSamplersOf, static_cast<napi_env>(env));
}
