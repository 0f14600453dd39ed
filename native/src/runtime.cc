// The device runtime: discovery (cudaStatus, never throws), per-device state (one non-blocking
// stream, the caching allocator over the stream-ordered pool, the device error flag), error
// checking (Check / CheckLaunch, sticky errors), Scratch, and the memory exports
// (alloc, memoryStats, setMemoryLimit, emptyCache, synchronize, setDevice).
// Without CUDA only cudaStatus is defined and reports "built without CUDA".

#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime.h"
#include "runtime_internal.h"

#ifdef WG_HAVE_CUDA
#include "device.h"
#include "storage.h"

extern "C" cudaError_t wg_probe_kernel_image(void);  // probe.cu
#endif

#ifndef WG_CUDA_ARCHS
#define WG_CUDA_ARCHS ""
#endif

namespace wg {

Napi::Error MakeCoded(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void ThrowCoded(Napi::Env env, const std::string& message, const char* code) { throw MakeCoded(env, message, code); }

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    u++;
  }
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", bytes, units[u]);
  }
  return buf;
}

namespace {

// The archs this addon carries code for, as "75,80,86,89,90,90a+ptx90" style list from CMake.
// A device can run it when some real arch has the same major and a minor <= the device's,
// or when PTX for an arch <= the device's is present (the driver JIT-compiles it).
[[maybe_unused]] bool ArchCovers(int major, int minor, std::string* note) {
  std::string archs = WG_CUDA_ARCHS;
  int cc = major * 10 + minor;
  size_t pos = 0;
  while (pos < archs.size()) {
    size_t end = archs.find(',', pos);
    if (end == std::string::npos) end = archs.size();
    std::string a = archs.substr(pos, end - pos);
    pos = end + 1;
    bool ptx = a.rfind("ptx", 0) == 0;
    std::string digits = ptx ? a.substr(3) : a;
    bool arch_specific = !digits.empty() && digits.back() == 'a';
    if (arch_specific) digits.pop_back();
    if (digits.empty()) continue;
    int v = std::atoi(digits.c_str());
    if (ptx && v <= cc) return true;
    if (!ptx && !arch_specific && v / 10 == major && v % 10 <= minor) return true;
    if (!ptx && arch_specific && v == cc) return true;
  }
  *note = "no kernel image for compute capability " + std::to_string(major) + "." + std::to_string(minor) +
          " (this build carries " + archs + "; rebuild with npm run build:native -- --arch=" + std::to_string(cc) + ")";
  return false;
}

}  // namespace

#ifdef WG_HAVE_CUDA

namespace {

std::mutex g_mu;
std::vector<DeviceState*> g_devices;  // by index; never destroyed (finalizers may run at exit)

// The first sticky error and the op it was found in. Set once from any JS thread (workers share the
// addon): the op under g_sticky_mu, then the code published with release; readers load the code first.
std::atomic<int> g_sticky{cudaSuccess};
std::mutex g_sticky_mu;
std::string g_sticky_op;  // guarded by g_sticky_mu

cudaError_t Sticky() { return static_cast<cudaError_t>(g_sticky.load(std::memory_order_acquire)); }
std::string StickyOp() {
  std::lock_guard<std::mutex> lock(g_sticky_mu);
  return g_sticky_op;
}
void SetSticky(cudaError_t e, const std::string& op) {
  std::lock_guard<std::mutex> lock(g_sticky_mu);
  if (g_sticky.load(std::memory_order_relaxed) != cudaSuccess) return;
  g_sticky_op = op;
  g_sticky.store(e, std::memory_order_release);
}

// The ops launched since the last synchronisation (a ring of the last 8 names): a kernel that faults
// on the device is reported by whichever call comes next, so the message lists the candidates.
constexpr unsigned kRecent = 8;
std::atomic<const char*> g_recent[kRecent];
std::atomic<unsigned> g_recent_n{0};
void NoteLaunch(const char* op) {
  const unsigned i = g_recent_n.fetch_add(1, std::memory_order_relaxed);
  g_recent[i % kRecent].store(op, std::memory_order_relaxed);
}
void ClearRecent() { g_recent_n.store(0, std::memory_order_relaxed); }
std::string RecentOps() {
  const unsigned n = g_recent_n.load(std::memory_order_relaxed);
  if (n == 0) return "";
  std::string s;
  for (unsigned i = n > kRecent ? n - kRecent : 0; i < n; ++i) {
    const char* op = g_recent[i % kRecent].load(std::memory_order_relaxed);
    if (op != nullptr) s += (s.empty() ? "" : ", ") + std::string(op);
  }
  return "; ops launched since the last synchronisation" + std::string(n > kRecent ? " (last 8)" : "") + ": " + s;
}
std::string g_limit_env_error;     // a malformed WATTGRAD_CUDA_MEMORY_LIMIT, raised at first device use
bool g_default_limit_set = false;  // setMemoryLimit / WATTGRAD_CUDA_MEMORY_LIMIT for devices not yet initialised
bool g_default_has_limit = false;
size_t g_default_limit = 0;

bool IsSticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
    case cudaErrorIllegalInstruction:
    case cudaErrorHardwareStackError:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed: return true;
    default: return false;
  }
}

std::string ErrorText(cudaError_t e) { return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")"; }

// Why cudaGetDeviceCount failed, in words a user can act on.
std::string NoDeviceReason(cudaError_t e) {
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
  switch (e) {
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInsufficientDriver:
      if (driver == 0) return "no NVIDIA driver found (libcuda.so.1 could not be loaded)";
      return "the NVIDIA driver (CUDA " + ver(driver) + ") is older than this build's runtime (CUDA " + ver(runtime) +
             "); update the driver";
    case cudaErrorStubLibrary:
      return "the CUDA driver stub library was loaded instead of the real driver (libcuda.so.1)";
    case cudaErrorSystemDriverMismatch: return "the NVIDIA kernel module and user-mode driver versions do not match";
    case cudaErrorDevicesUnavailable: return "all CUDA devices are busy or unavailable (exclusive-process mode?)";
    default: return "cudaGetDeviceCount failed: " + ErrorText(e);
  }
}

DeviceState* InitDevice(int index, std::string* err) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (index < int(g_devices.size()) && g_devices[index] != nullptr) return g_devices[index];
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *err = "cuda unavailable: " + NoDeviceReason(e);
    return nullptr;
  }
  if (index < 0 || index >= count) {
    *err = "cuda unavailable: no device cuda:" + std::to_string(index) + " (" + std::to_string(count) + " found)";
    return nullptr;
  }
  cudaDeviceProp prop;
  if ((e = cudaGetDeviceProperties(&prop, index)) != cudaSuccess) {
    *err = "cuda unavailable: cudaGetDeviceProperties: " + ErrorText(e);
    return nullptr;
  }
  std::string note;
  if (!ArchCovers(prop.major, prop.minor, &note)) {
    *err = "cuda unavailable: " + note;
    return nullptr;
  }
  auto fail = [&](const char* what, cudaError_t code) {
    cudaGetLastError();
    *err = std::string("cuda unavailable: ") + what + ": " + ErrorText(code);
    return nullptr;
  };
  if ((e = cudaSetDevice(index)) != cudaSuccess) return fail("cudaSetDevice", e);
  if ((e = wg_probe_kernel_image()) != cudaSuccess) {
    if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction ||
        e == cudaErrorUnsupportedPtxVersion) {
      cudaGetLastError();
      *err = "cuda unavailable: cannot run this build's kernels on " + std::string(prop.name) + ": " + ErrorText(e);
      return nullptr;
    }
    return fail("kernel probe", e);
  }
  auto* d = new DeviceState();
  d->index = index;
  if ((e = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking)) != cudaSuccess)
    return fail("cudaStreamCreate", e);
  CudaRaw raw;
  raw.device = index;
  raw.stream = d->stream;
  int pools = 0;
  cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, index);
  if (pools && std::getenv("WATTGRAD_CUDA_NO_POOL") == nullptr) {
    if ((e = cudaDeviceGetDefaultMemPool(&raw.mempool, index)) != cudaSuccess)
      return fail("cudaDeviceGetDefaultMemPool", e);
    uint64_t threshold = UINT64_MAX;  // keep freed memory in the pool; our bins and EmptyCache decide
    cudaMemPoolSetAttribute(raw.mempool, cudaMemPoolAttrReleaseThreshold, &threshold);
    raw.pool = true;
  }
  d->memory = new CachingAllocator<CudaRaw>(raw);
  d->pinned = new CachingAllocator<PinnedRaw>(PinnedRaw{});
  if ((e = cudaMalloc(reinterpret_cast<void**>(&d->error_flag), sizeof(int))) != cudaSuccess)
    return fail("cudaMalloc(error flag)", e);
  if ((e = cudaMemset(d->error_flag, 0, sizeof(int))) != cudaSuccess) return fail("cudaMemset(error flag)", e);
  if ((e = cudaHostAlloc(reinterpret_cast<void**>(&d->error_flag_host), 64, cudaHostAllocDefault)) != cudaSuccess)
    return fail("cudaHostAlloc(error flag)", e);
  *d->error_flag_host = 0;
  if (g_default_limit_set) d->memory->SetLimit(g_default_has_limit, g_default_limit);
  if (index >= int(g_devices.size())) g_devices.resize(index + 1, nullptr);
  g_devices[index] = d;
  return d;
}

int CurrentIndex() {
  int i = 0;
  cudaGetDevice(&i);
  return i;
}

[[noreturn]] void ThrowAllocFailure(Napi::Env env, DeviceState& d, size_t asked, const AllocResult& r, const char* op) {
  AllocStats s = d.memory->Stats();
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaGetLastError();
  std::string limit = s.has_limit ? FormatBytes(double(s.limit)) : "none";
  std::string msg = std::string("wattgrad cuda ") + op + ": out of memory: asked for " + FormatBytes(double(asked)) +
                    " (size class " + FormatBytes(double(r.size)) + ") on cuda:" + std::to_string(d.index) +
                    "; pool: " + FormatBytes(double(s.allocated)) + " allocated, " + FormatBytes(double(s.cached)) +
                    " cached, peak " + FormatBytes(double(s.peak)) + ", limit " + limit;
  if (r.status == AllocStatus::kOverLimit) {
    msg += " (the request passes the memory limit; raise it with setMemoryLimit or WATTGRAD_CUDA_MEMORY_LIMIT)";
  } else if (r.status == AllocStatus::kError) {
    msg = std::string("wattgrad cuda ") + op + ": allocating " + FormatBytes(double(asked)) +
          " failed: " + ErrorText(d.memory->raw().last_error);
    if (IsSticky(d.memory->raw().last_error)) SetSticky(d.memory->raw().last_error, op);
    ThrowCoded(env, msg, kCodeCuda);
  } else {
    msg += "; device: " + FormatBytes(double(free_b)) + " free of " + FormatBytes(double(total_b)) +
           " (the cache was emptied and the allocation retried once)";
  }
  Napi::Error e = MakeCoded(env, msg, kCodeOom);
  e.Set("requestedBytes", Napi::Number::New(env, double(asked)));
  e.Set("memory", StatsToJs(env, s));
  throw e;
}

}  // namespace

// ---- CudaRaw / PinnedRaw ----------------------------------------------------------------------

bool CudaRaw::Alloc(size_t bytes, void** out, bool* oom) {
  cudaError_t e = pool ? cudaMallocAsync(out, bytes, stream) : cudaMalloc(out, bytes);
  if (e == cudaSuccess) return true;
  cudaGetLastError();  // out-of-memory is not sticky; clear it
  last_error = e;
  *oom = e == cudaErrorMemoryAllocation;
  return false;
}

void CudaRaw::Free(void* p, size_t) {
  cudaError_t e = pool ? cudaFreeAsync(p, stream) : cudaFree(p);
  if (e != cudaSuccess) last_error = e;
}

void CudaRaw::Release() {
  cudaStreamSynchronize(stream);
  if (pool) cudaMemPoolTrimTo(mempool, 0);
  cudaGetLastError();
}

void CudaRaw::SetCap(bool has, size_t cap) {
  if (!pool) return;
  uint64_t threshold = has ? uint64_t(cap) : UINT64_MAX;
  cudaMemPoolSetAttribute(mempool, cudaMemPoolAttrReleaseThreshold, &threshold);
  cudaGetLastError();
}

void CudaRaw::TrimTo(size_t keep) {
  // Frees queued with cudaFreeAsync return to the pool when the stream reaches them; what is
  // already back is released now, the rest at the next synchronisation (the release threshold).
  if (pool) cudaMemPoolTrimTo(mempool, keep);
  cudaGetLastError();
}

bool PinnedRaw::Alloc(size_t bytes, void** out, bool* oom) {
  cudaError_t e = cudaHostAlloc(out, bytes, cudaHostAllocDefault);
  if (e == cudaSuccess) return true;
  cudaGetLastError();
  last_error = e;
  *oom = e == cudaErrorMemoryAllocation;
  return false;
}

void PinnedRaw::Free(void* p, size_t) { cudaFreeHost(p); }

// ---- state access --------------------------------------------------------------------------------

void CheckSticky(Napi::Env env) {
  const cudaError_t sticky = Sticky();
  if (sticky != cudaSuccess) {
    ThrowCoded(env,
               "wattgrad cuda: the CUDA context is unusable after a sticky error in " + StickyOp() + ": " +
                   ErrorText(sticky) + "; restart the process",
               kCodeSticky);
  }
}

DeviceState& Current(Napi::Env env) {
  CheckSticky(env);
  if (!g_limit_env_error.empty()) throw Napi::Error::New(env, g_limit_env_error);
  int index = CurrentIndex();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (index < int(g_devices.size()) && g_devices[index] != nullptr) return *g_devices[index];
  }
  std::string err;
  DeviceState* d = InitDevice(index, &err);
  if (d == nullptr) ThrowCoded(env, err, kCodeUnavailable);
  return *d;
}

DeviceState* DeviceIfReady(int index) {
  std::lock_guard<std::mutex> lock(g_mu);
  return index >= 0 && index < int(g_devices.size()) ? g_devices[index] : nullptr;
}

cudaEvent_t TakeEvent(Napi::Env env, DeviceState& d) {
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (!d.free_events.empty()) {
      cudaEvent_t e = d.free_events.back();
      d.free_events.pop_back();
      return e;
    }
  }
  cudaEvent_t e;
  Check(env, cudaEventCreateWithFlags(&e, cudaEventDisableTiming | cudaEventBlockingSync), "cudaEventCreate");
  return e;
}

void GiveEvent(DeviceState& d, cudaEvent_t e) {
  std::lock_guard<std::mutex> lock(d.mu);
  d.free_events.push_back(e);
}

void ReapStaging(DeviceState& d, bool wait_all) {
  std::lock_guard<std::mutex> lock(d.mu);
  while (!d.pending.empty()) {
    DeviceState::Pending& p = d.pending.front();
    if (wait_all) {
      cudaEventSynchronize(p.event);
    } else if (cudaEventQuery(p.event) != cudaSuccess) {
      break;
    }
    d.pinned->Deallocate(p.block);
    d.pending_bytes -= p.bytes;
    d.free_events.push_back(p.event);
    d.pending.pop_front();
  }
  cudaGetLastError();  // cudaErrorNotReady from the query
  AllocStats s = d.pinned->Stats();
  if (s.cached > (size_t(256) << 20)) d.pinned->Trim(size_t(64) << 20);
}

void QueueFlagCopy(Napi::Env env, DeviceState& d, int* host_slot) {
  Check(env, cudaMemcpyAsync(host_slot, d.error_flag, sizeof(int), cudaMemcpyDeviceToHost, d.stream),
        "error flag copy");
}

bool TakeFlagError(DeviceState& d, int value, std::string* message) {
  std::lock_guard<std::mutex> lock(d.mu);
  if (value == 0) return false;
  cudaMemsetAsync(d.error_flag, 0, sizeof(int), d.stream);
  std::string ops;
  for (const char* op : d.error_ops) ops += (ops.empty() ? "" : "/") + std::string(op);
  d.error_ops.clear();
  *message = (ops.empty() ? std::string("cuda kernel") : ops) + ": index out of range (error code " +
             std::to_string(value) + ", found on the device since the last synchronisation)";
  return true;
}

// Synchronises the stream, then raises the device error flag if a kernel set it.
void SyncChecked(Napi::Env env, DeviceState& d, const char* op) {
  QueueFlagCopy(env, d, d.error_flag_host);
  Check(env, cudaStreamSynchronize(d.stream), op);
  ClearRecent();
  ReapStaging(d, false);
  int v = *d.error_flag_host;
  *d.error_flag_host = 0;
  std::string msg;
  if (TakeFlagError(d, v, &msg)) ThrowCoded(env, msg, kCodeIndex);
  std::lock_guard<std::mutex> lock(d.mu);
  d.error_ops.clear();
}

// ---- runtime.h ---------------------------------------------------------------------------------

cudaStream_t Stream() {
  // Every entry point calls Stream() right before its launch: drop a stale non-sticky error left by
  // an earlier call whose result was already handled (a cudaFreeAsync, a query), so that the
  // CheckLaunch after this launch reports only this op's own launch errors.
  const cudaError_t stale = cudaPeekAtLastError();
  if (stale != cudaSuccess && !IsSticky(stale)) cudaGetLastError();
  int index = CurrentIndex();
  DeviceState* d = DeviceIfReady(index);
  if (d == nullptr) {
    std::string err;
    d = InitDevice(index, &err);
  }
  return d != nullptr ? d->stream : nullptr;
}

void Check(Napi::Env env, cudaError_t err, const char* op) {
  if (err == cudaSuccess) return;
  if (IsSticky(err)) {
    // A device-side fault surfaces at the next launch or synchronisation: name the candidates.
    const std::string recent = RecentOps();
    SetSticky(err, std::string(op) + recent);
    ThrowCoded(env,
               std::string("wattgrad cuda ") + op + ": " + ErrorText(err) +
                   " [sticky error: the CUDA context is unusable for the rest of this process; restart it" + recent +
                   "; run with CUDA_LAUNCH_BLOCKING=1 to find the kernel]",
               kCodeSticky);
  }
  cudaGetLastError();
  Napi::Error e = MakeCoded(env, std::string("wattgrad cuda ") + op + ": " + ErrorText(err), kCodeCuda);
  e.Set("cudaError", Napi::Number::New(env, int(err)));
  throw e;
}

void CheckLaunch(Napi::Env env, const char* op) {
  Check(env, cudaGetLastError(), op);
  NoteLaunch(op);
}

int* DeviceErrorFlag() {
  DeviceState* d = DeviceIfReady(CurrentIndex());
  return d != nullptr ? d->error_flag : nullptr;
}

void SetErrorOp(const char* op) {
  DeviceState* d = DeviceIfReady(CurrentIndex());
  if (d == nullptr) return;
  std::lock_guard<std::mutex> lock(d->mu);
  for (const char* o : d->error_ops) {
    if (o == op || std::strcmp(o, op) == 0) return;
  }
  if (d->error_ops.size() < 16) d->error_ops.push_back(op);
}

Scratch::Scratch(Napi::Env env, size_t bytes, const char* op) : bytes_(bytes) {
  DeviceState& d = Current(env);
  AllocResult r = d.memory->Allocate(bytes);
  if (r.status != AllocStatus::kOk) ThrowAllocFailure(env, d, bytes, r, op);
  ptr_ = r.ptr;
}

Scratch::~Scratch() {
  if (ptr_ == nullptr) return;
  DeviceState* d = DeviceIfReady(CurrentIndex());
  if (d != nullptr) d->memory->Deallocate(ptr_);
}

// ---- exports -------------------------------------------------------------------------------------

namespace {

size_t ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected a byte count");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != std::floor(v) || v > 9.007199254740991e15) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": invalid byte count " + info[i].ToString().Utf8Value());
  }
  return size_t(v);
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t bytes = ArgBytes(info, 0, "alloc");
  DeviceState& d = Current(env);
  AllocResult r = d.memory->Allocate(bytes);
  if (r.status != AllocStatus::kOk) ThrowAllocFailure(env, d, bytes, r, "alloc");
  return NewBuffer(env, r.ptr, r.size, d.index);
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  SyncChecked(info.Env(), Current(info.Env()), "synchronize");
  return info.Env().Undefined();
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState* d = DeviceIfReady(CurrentIndex());
  AllocStats s;
  if (d != nullptr) {
    s = d->memory->Stats();
  } else if (g_default_limit_set) {
    s.has_limit = g_default_has_limit;
    s.limit = g_default_limit;
  }
  Napi::Object o = StatsToJs(env, s);
  if (d != nullptr) {
    AllocStats p = d->pinned->Stats();
    o.Set("pinnedCached", Napi::Number::New(env, double(p.cached)));
    o.Set("pinnedAllocated", Napi::Number::New(env, double(p.allocated)));
    o.Set("streamOrderedPool", Napi::Boolean::New(env, d->memory->raw().pool));
  }
  return o;
}

Napi::Value SetMemoryLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool has = !(info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined());
  size_t limit = has ? ArgBytes(info, 0, "setMemoryLimit") : 0;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_default_limit_set = true;
    g_default_has_limit = has;
    g_default_limit = limit;
  }
  DeviceState* d = DeviceIfReady(CurrentIndex());
  if (d != nullptr) d->memory->SetLimit(has, limit);
  return env.Undefined();
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  DeviceState* d = DeviceIfReady(CurrentIndex());
  double freed = 0;
  if (d != nullptr) {
    CheckSticky(info.Env());
    ReapStaging(*d, true);
    freed = double(d->memory->EmptyCache());
    d->pinned->Trim(0);
  }
  return Napi::Number::New(info.Env(), freed);
}

Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
  DeviceState* d = DeviceIfReady(CurrentIndex());
  if (d != nullptr) d->memory->ResetPeak();
  return info.Env().Undefined();
}

Napi::Value SetDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setDevice: expected a device index");
  int index = info[0].As<Napi::Number>().Int32Value();
  CheckSticky(env);
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    ThrowCoded(env, "cuda unavailable: " + NoDeviceReason(e), kCodeUnavailable);
  }
  if (index < 0 || index >= count) {
    throw Napi::RangeError::New(
        env, "setDevice: no device cuda:" + std::to_string(index) + " (" + std::to_string(count) + " found)");
  }
  Check(env, cudaSetDevice(index), "setDevice");
  Current(env);
  return env.Undefined();
}

Napi::Value GetDevice(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), CurrentIndex()); }

}  // namespace

#endif  // WG_HAVE_CUDA

// ---- cudaStatus (all builds; never throws) -------------------------------------------------------

namespace {

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array devices = Napi::Array::New(env);
  o.Set("devices", devices);
  o.Set("compiledArchs", Napi::String::New(env, WG_CUDA_ARCHS));
#ifdef WG_SIM_BUILD
  // the GPGPU-Sim build (CMake WATTGRAD_SIM_CUDART): the device is simulated, mma paths compiled out
  o.Set("note", Napi::String::New(env, "simulator build, no tensor cores"));
#endif
#ifndef WG_HAVE_CUDA
  o.Set("available", Napi::Boolean::New(env, false));
  o.Set("reason", Napi::String::New(env, "built without CUDA"));
  o.Set("driverVersion", env.Null());
  o.Set("runtimeVersion", env.Null());
  return o;
#else
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  o.Set("driverVersion", driver > 0 ? Napi::Value(Napi::Number::New(env, driver)) : env.Null());
  o.Set("runtimeVersion", Napi::Number::New(env, runtime));
  if (Sticky() != cudaSuccess) {
    o.Set("available", Napi::Boolean::New(env, false));
    o.Set("reason", Napi::String::New(env, "sticky error in " + StickyOp() + ": " + ErrorText(Sticky())));
    return o;
  }
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    o.Set("available", Napi::Boolean::New(env, false));
    o.Set("reason", Napi::String::New(env, NoDeviceReason(e)));
    o.Set("cudaError", Napi::Number::New(env, int(e)));
    return o;
  }
  std::string first_problem;
  int usable = 0;
  for (int i = 0; i < count; i++) {
    cudaDeviceProp p;
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", Napi::Number::New(env, i));
    if ((e = cudaGetDeviceProperties(&p, i)) != cudaSuccess) {
      cudaGetLastError();
      d.Set("usable", Napi::Boolean::New(env, false));
      d.Set("problem", Napi::String::New(env, ErrorText(e)));
      if (first_problem.empty()) first_problem = "cuda:" + std::to_string(i) + ": " + ErrorText(e);
      devices.Set(uint32_t(i), d);
      continue;
    }
    std::string note;
    bool covered = ArchCovers(p.major, p.minor, &note);
    d.Set("name", Napi::String::New(env, p.name));
    d.Set("totalMemory", Napi::Number::New(env, double(p.totalGlobalMem)));
    d.Set("computeCapability", Napi::String::New(env, std::to_string(p.major) + "." + std::to_string(p.minor)));
    d.Set("multiProcessorCount", Napi::Number::New(env, p.multiProcessorCount));
    d.Set("usable", Napi::Boolean::New(env, covered));
    if (!covered) {
      d.Set("problem", Napi::String::New(env, note));
      if (first_problem.empty()) first_problem = "cuda:" + std::to_string(i) + ": " + note;
    } else {
      usable++;
    }
    devices.Set(uint32_t(i), d);
  }
  o.Set("available", Napi::Boolean::New(env, usable > 0));
  o.Set("reason", usable > 0 ? env.Null()
                             : Napi::Value(Napi::String::New(
                                   env, count == 0 ? "no CUDA-capable device is detected" : first_problem)));
  o.Set("currentDevice", Napi::Number::New(env, usable > 0 ? CurrentIndex() : 0));
  return o;
#endif
}

}  // namespace

void RegisterDeviceRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus, "cudaStatus"));
#ifdef WG_HAVE_CUDA
  exports.Set("alloc", Napi::Function::New(env, Alloc, "alloc"));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize, "synchronize"));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats, "memoryStats"));
  exports.Set("setMemoryLimit", Napi::Function::New(env, SetMemoryLimit, "setMemoryLimit"));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache, "emptyCache"));
  exports.Set("resetPeakMemory", Napi::Function::New(env, ResetPeak, "resetPeakMemory"));
  exports.Set("setDevice", Napi::Function::New(env, SetDevice, "setDevice"));
  exports.Set("getDevice", Napi::Function::New(env, GetDevice, "getDevice"));

  // WATTGRAD_CUDA_MEMORY_LIMIT ("2GiB", bytes) is the default cap for every device.
  const char* lim = std::getenv("WATTGRAD_CUDA_MEMORY_LIMIT");
  if (lim != nullptr && *lim != '\0') {
    double v = 0;
    std::lock_guard<std::mutex> lock(g_mu);
    if (!ParseByteSize(lim, &v)) {
      g_limit_env_error = std::string("WATTGRAD_CUDA_MEMORY_LIMIT: cannot parse '") + lim +
                          "' (use a byte count or e.g. 2GiB, 512MiB, 1.5GB)";
    }
    g_default_limit_set = true;
    g_default_has_limit = true;
    g_default_limit = size_t(v);
  }
#endif
}

}  // namespace wg

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  wg::RegisterDeviceRuntime(env, exports);
  wg::RegisterAllocatorTestMode(env, exports);
#ifdef WG_HAVE_CUDA
  wg::RegisterStorage(env, exports);
  wg::RegisterTransfers(env, exports);
  wg::RegisterEvents(env, exports);
#endif
}
