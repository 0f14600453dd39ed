// JS views of the caching allocator: stats objects, and the host test mode (`HostAllocator`,
// CachingAllocator<MallocRaw>) that lets vitest check bins, rounding, the cap, stats and the
// trim-and-retry-once path on machines with no GPU. Built in every configuration.

#include <napi.h>

#include <cmath>
#include <string>

#include "allocator.h"
#include "runtime_internal.h"

namespace wg {

Napi::Object StatsToJs(Napi::Env env, const AllocStats& s) {
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  num("allocated", double(s.allocated));
  num("requested", double(s.requested));
  num("peak", double(s.peak));
  num("cached", double(s.cached));
  o.Set("limit", s.has_limit ? Napi::Value(Napi::Number::New(env, double(s.limit))) : env.Null());
  num("allocCount", double(s.alloc_count));
  num("cacheHits", double(s.cache_hits));
  num("rawAllocs", double(s.raw_allocs));
  num("rawFrees", double(s.raw_frees));
  num("oomCount", double(s.oom_count));
  num("retries", double(s.retries));
  num("liveBlocks", double(s.live_blocks));
  num("cachedBlocks", double(s.cached_blocks));
  return o;
}

namespace {

size_t BytesArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected a byte count");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != std::floor(v) || v > 9.007199254740991e15) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": invalid byte count");
  }
  return size_t(v);
}

// new HostAllocator({ capacity?: number, pooled?: boolean }) — blocks are identified by their address as a number.
class HostAllocator : public Napi::ObjectWrap<HostAllocator> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "HostAllocator",
        {InstanceMethod<&HostAllocator::Alloc>("alloc"), InstanceMethod<&HostAllocator::Free>("free"),
         InstanceMethod<&HostAllocator::Stats>("stats"), InstanceMethod<&HostAllocator::SetLimit>("setLimit"),
         InstanceMethod<&HostAllocator::Trim>("trim"), InstanceMethod<&HostAllocator::EmptyCache>("emptyCache"),
         InstanceMethod<&HostAllocator::FailNext>("failNext"), InstanceMethod<&HostAllocator::RawState>("rawState")});
  }

  explicit HostAllocator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostAllocator>(info), a_(MallocRaw{}) {
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Value cap = info[0].As<Napi::Object>().Get("capacity");
      if (cap.IsNumber()) a_.raw().capacity = size_t(cap.As<Napi::Number>().DoubleValue());
      a_.raw().pooled = info[0].As<Napi::Object>().Get("pooled").ToBoolean().Value();
    }
  }

  ~HostAllocator() override {
    // Free live and cached blocks.
    a_.Trim(0);
  }

 private:
  // alloc(bytes) -> { id, size } or throws an Error with code WG_CUDA_OOM like the device path.
  Napi::Value Alloc(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t bytes = BytesArg(info, 0, "HostAllocator.alloc");
    AllocResult r = a_.Allocate(bytes);
    if (r.status != AllocStatus::kOk) {
      AllocStats s = a_.Stats();
      std::string msg =
          std::string("host allocator: out of memory: asked for ") + FormatBytes(double(bytes)) + " (size class " +
          FormatBytes(double(r.size)) + "); pool: " + FormatBytes(double(s.allocated)) + " allocated, " +
          FormatBytes(double(s.cached)) + " cached, limit " +
          (s.has_limit ? FormatBytes(double(s.limit)) : std::string("none")) +
          (r.status == AllocStatus::kOverLimit ? " (passes the memory limit)" : " (cache emptied and retried once)");
      Napi::Error e = Napi::Error::New(env, msg);
      e.Set("code", Napi::String::New(env, kCodeOom));
      e.Set("requestedBytes", Napi::Number::New(env, double(bytes)));
      e.Set("memory", StatsToJs(env, s));
      e.Set("overLimit", Napi::Boolean::New(env, r.status == AllocStatus::kOverLimit));
      throw e;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, double(reinterpret_cast<uintptr_t>(r.ptr))));
    o.Set("size", Napi::Number::New(env, double(r.size)));
    o.Set("retried", Napi::Boolean::New(env, r.retried));
    return o;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber())
      throw Napi::TypeError::New(info.Env(), "HostAllocator.free: expected a block id");
    void* p = reinterpret_cast<void*>(uintptr_t(info[0].As<Napi::Number>().DoubleValue()));
    return Napi::Boolean::New(info.Env(), a_.Deallocate(p));
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) { return StatsToJs(info.Env(), a_.Stats()); }

  Napi::Value SetLimit(const Napi::CallbackInfo& info) {
    bool has = !(info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined());
    a_.SetLimit(has, has ? BytesArg(info, 0, "HostAllocator.setLimit") : 0);
    return info.Env().Undefined();
  }

  Napi::Value Trim(const Napi::CallbackInfo& info) {
    size_t target = info.Length() > 0 && info[0].IsNumber() ? BytesArg(info, 0, "HostAllocator.trim") : 0;
    return Napi::Number::New(info.Env(), double(a_.Trim(target)));
  }

  Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(a_.EmptyCache()));
  }

  Napi::Value FailNext(const Napi::CallbackInfo& info) {
    a_.raw().fail_next = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
    return info.Env().Undefined();
  }

  // { inUse, capacity, releases, poolHeld, trims } of the simulated device.
  Napi::Value RawState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("inUse", Napi::Number::New(env, double(a_.raw().in_use)));
    o.Set("capacity", Napi::Number::New(env, a_.raw().capacity == SIZE_MAX ? -1.0 : double(a_.raw().capacity)));
    o.Set("releases", Napi::Number::New(env, double(a_.raw().releases)));
    o.Set("poolHeld", Napi::Number::New(env, double(a_.raw().pool_held)));
    o.Set("trims", Napi::Number::New(env, double(a_.raw().trims)));
    return o;
  }

  CachingAllocator<MallocRaw> a_;
};

}  // namespace

void RegisterAllocatorTestMode(Napi::Env env, Napi::Object exports) {
  exports.Set("HostAllocator", HostAllocator::Define(env));
  exports.Set("roundSize", Napi::Function::New(
                               env,
                               [](const Napi::CallbackInfo& info) {
                                 return Napi::Number::New(info.Env(),
                                                          double(RoundSize(BytesArg(info, 0, "roundSize"))));
                               },
                               "roundSize"));
  // parseByteSize("2GiB") -> bytes, or null when malformed.
  exports.Set("parseByteSize", Napi::Function::New(
                                   env,
                                   [](const Napi::CallbackInfo& info) -> Napi::Value {
                                     if (info.Length() < 1 || !info[0].IsString()) return info.Env().Null();
                                     double v = 0;
                                     if (!ParseByteSize(info[0].As<Napi::String>().Utf8Value(), &v))
                                       return info.Env().Null();
                                     return Napi::Number::New(info.Env(), std::floor(v));
                                   },
                                   "parseByteSize"));
}

}  // namespace wg
