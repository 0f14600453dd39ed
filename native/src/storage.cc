// NativeBuffer: the storage handle behind every cuda tensor. See storage.h.
#ifdef WG_HAVE_CUDA

#include "storage.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "device.h"
#include "runtime.h"
#include "runtime_internal.h"

namespace wg {
namespace {

// Tags NativeBuffer objects so Ptr() can tell them from any other wrapped object cheaply.
const napi_type_tag kBufferTag = {0x7761747467726164ULL, 0x6e61746976656275ULL};  // "wattgrad", "nativebu"

struct Pending {
  void* ptr;
  size_t bytes;
  int device;
};

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeBuffer",
        {InstanceAccessor<&DeviceBuffer::ByteLength>("byteLength"), InstanceAccessor<&DeviceBuffer::Device>("device"),
         InstanceAccessor<&DeviceBuffer::Freed>("freed")});
  }

  explicit DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(), "NativeBuffer: use alloc(bytes) to make device storage");
    }
    Pending* p = info[0].As<Napi::External<Pending>>().Data();
    ptr_ = p->ptr;
    bytes_ = p->bytes;
    device_ = p->device;
    napi_type_tag_object(info.Env(), info.This(), &kBufferTag);
    int64_t adjusted;
    napi_adjust_external_memory(info.Env(), static_cast<int64_t>(bytes_), &adjusted);
  }

  ~DeviceBuffer() override { Release(Env(), /*from_finalizer=*/true); }

  void Release(napi_env env, bool from_finalizer) {
    if (ptr_ == nullptr) return;
    DeviceState* d = DeviceIfReady(device_);
    if (d != nullptr) d->memory->Deallocate(ptr_);  // to the bins; no CUDA call
    ptr_ = nullptr;
    int64_t adjusted;
    if (env != nullptr) napi_adjust_external_memory(env, -static_cast<int64_t>(bytes_), &adjusted);
    (void)from_finalizer;
  }

  void* ptr() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }

 private:
  Napi::Value ByteLength(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(bytes_)); }
  Napi::Value Device(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }
  Napi::Value Freed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ptr_ == nullptr); }

  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int device_ = 0;
};

// One constructor per JS environment (main thread and each worker).
std::mutex g_ctor_mu;
std::unordered_map<napi_env, Napi::FunctionReference*> g_ctors;

Napi::Function Ctor(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_ctor_mu);
  return g_ctors.at(env)->Value();
}

DeviceBuffer* Unwrap(const Napi::Value& v, const char* what) {
  bool tagged = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kBufferTag, &tagged);
  if (!tagged) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a cuda storage handle (NativeBuffer)");
  }
  return DeviceBuffer::Unwrap(v.As<Napi::Object>());
}

}  // namespace

Napi::Object NewBuffer(Napi::Env env, void* ptr, size_t bytes, int device) {
  Pending p{ptr, bytes, device};
  return Ctor(env).New({Napi::External<Pending>::New(env, &p)});
}

BufferInfo BufferOf(const Napi::Value& v, const char* what) {
  DeviceBuffer* b = Unwrap(v, what);
  if (b->ptr() == nullptr) {
    throw Napi::Error::New(v.Env(), std::string(what) + ": storage used after free");
  }
  return BufferInfo{b->ptr(), b->bytes(), b->device()};
}

void FreeBuffer(const Napi::Value& v) {
  DeviceBuffer* b = Unwrap(v, "free");
  if (b->ptr() == nullptr) throw Napi::Error::New(v.Env(), "free: storage freed twice");
  b->Release(v.Env(), false);
}

void* Ptr(const Napi::Value& v, const char* what) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  BufferInfo b = BufferOf(v, what);
  int current = 0;
  cudaGetDevice(&current);
  if (b.device != current) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": storage lives on cuda:" + std::to_string(b.device) +
                                            " but the current device is cuda:" + std::to_string(current));
  }
  return b.ptr;
}

size_t Bytes(const Napi::Value& v, const char* what) {
  DeviceBuffer* b = Unwrap(v, what);
  if (b->ptr() == nullptr) {
    throw Napi::Error::New(v.Env(), std::string(what) + ": storage used after free");
  }
  return b->bytes();
}

void RegisterStorage(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DeviceBuffer::Define(env);
  auto* ref = new Napi::FunctionReference(Napi::Persistent(ctor));
  {
    std::lock_guard<std::mutex> lock(g_ctor_mu);
    g_ctors[env] = ref;
  }
  napi_env raw = env;
  env.AddCleanupHook([raw]() {
    std::lock_guard<std::mutex> lock(g_ctor_mu);
    auto it = g_ctors.find(raw);
    if (it != g_ctors.end()) {
      delete it->second;
      g_ctors.erase(it);
    }
  });
  exports.Set("NativeBuffer", ctor);
  exports.Set("free", Napi::Function::New(
                          env, [](const Napi::CallbackInfo& info) { FreeBuffer(info[0]); }, "free"));
}

}  // namespace wg
#endif
