// Host <-> device transfers on the device's one stream, through pinned staging buffers.
//
//   upload(buf, typedArray, dtype)      copies into pinned staging (converting float32 -> bf16/f16
//                                       when the storage is reduced precision), queues the H2D copy
//                                       and returns; the caller may reuse its array at once.
//   readSync(buf, numel, dtype)         queues the D2H copy, waits on an event, returns a typed array.
//   read(buf, numel, dtype) -> Promise  queues the D2H copy and an event; a libuv worker waits on
//                                       the event (a blocking-sync event: the thread sleeps, the
//                                       event loop never blocks) and converts; the Promise settles
//                                       on the main thread.
// Both reads also copy the device error flag, so an index error found by an earlier kernel
// rejects the read ("<op>: index out of range").
#ifdef WG_HAVE_CUDA

#include <napi.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "convert.h"
#include "device.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "storage.h"

namespace wg {

namespace {

constexpr size_t kUploadChunk = size_t(8) << 20;     // staging per upload chunk
constexpr size_t kMaxPending = size_t(128) << 20;   // staging in flight before an upload waits

enum class Kind { kF32, kF64, kI32, kBF16, kF16 };

Kind KindOf(Napi::Env env, const Napi::Value& v, const char* op) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "float32") return Kind::kF32;
  if (s == "float64") return Kind::kF64;
  if (s == "int32") return Kind::kI32;
  if (s == "bfloat16") return Kind::kBF16;
  if (s == "float16") return Kind::kF16;
  throw Napi::TypeError::New(env, std::string(op) + ": unknown dtype '" + s + "'");
}

size_t SizeOf(Kind k) { return k == Kind::kF64 ? 8 : (k == Kind::kBF16 || k == Kind::kF16) ? 2 : 4; }
bool Reduced(Kind k) { return k == Kind::kBF16 || k == Kind::kF16; }

size_t NumelArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected numel");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != double(size_t(v))) throw Napi::RangeError::New(info.Env(), std::string(op) + ": invalid numel");
  return size_t(v);
}

// Converts n device elements (kind k) at src into the host array at dst (float32 for bf16/f16).
void ConvertOut(Kind k, const void* src, void* dst, size_t n) {
  if (k == Kind::kBF16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    float* d = static_cast<float*>(dst);
    for (size_t i = 0; i < n; i++) d[i] = Bf16ToFloat(s[i]);
  } else if (k == Kind::kF16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    float* d = static_cast<float*>(dst);
    for (size_t i = 0; i < n; i++) d[i] = HalfToFloat(s[i]);
  } else {
    std::memcpy(dst, src, n * SizeOf(k));
  }
}

Napi::TypedArray HostArray(Napi::Env env, Kind k, size_t n, void** data) {
  size_t elem = k == Kind::kF64 ? 8 : 4;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, n * elem);
  *data = ab.Data();
  if (k == Kind::kF64) return Napi::Float64Array::New(env, n, ab, 0);
  if (k == Kind::kI32) return Napi::Int32Array::New(env, n, ab, 0);
  return Napi::Float32Array::New(env, n, ab, 0);
}

void* Staging(Napi::Env env, DeviceState& d, size_t bytes, const char* op) {
  AllocResult r = d.pinned->Allocate(bytes);
  if (r.status != AllocStatus::kOk) {
    ReapStaging(d, true);
    d.pinned->Trim(0);
    r = d.pinned->Allocate(bytes);
  }
  if (r.status != AllocStatus::kOk) {
    ThrowCoded(env, std::string("wattgrad cuda ") + op + ": cannot allocate " + FormatBytes(double(bytes)) +
                        " of pinned host staging memory: " + cudaGetErrorString(d.pinned->raw().last_error),
               kCodeCuda);
  }
  return r.ptr;
}

size_t FlagOffset(size_t bytes) { return (bytes + 15) / 16 * 16; }

// ---- upload --------------------------------------------------------------------------------------

Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState& d = Current(env);
  BufferInfo dst = BufferOf(info[0], "upload: dst");
  if (info.Length() < 2 || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "upload: expected a typed array");
  Napi::TypedArray src = info[1].As<Napi::TypedArray>();
  Kind k = KindOf(env, info[2], "upload");
  napi_typedarray_type t = src.TypedArrayType();
  size_t n = src.ElementLength();
  bool convert = false;  // float32 -> bf16/f16
  size_t src_elem = src.ElementSize();
  if (t == napi_uint8_array) {
    // raw bytes for any dtype
    n = src.ByteLength() / SizeOf(k);
    src_elem = SizeOf(k);
    if (src.ByteLength() % SizeOf(k) != 0) throw Napi::RangeError::New(env, "upload: byte length is not a multiple of the dtype size");
  } else if ((t == napi_float32_array && k == Kind::kF32) || (t == napi_float64_array && k == Kind::kF64) ||
             (t == napi_int32_array && k == Kind::kI32) || (t == napi_uint16_array && Reduced(k))) {
  } else if (t == napi_float32_array && Reduced(k)) {
    convert = true;
  } else {
    throw Napi::TypeError::New(env, "upload: a typed array of this kind cannot fill " + info[2].ToString().Utf8Value() + " storage");
  }
  size_t dst_elem = SizeOf(k);
  if (n * dst_elem > dst.bytes) {
    throw Napi::RangeError::New(env, "upload: " + std::to_string(n * dst_elem) + " bytes do not fit in storage of " +
                                         std::to_string(dst.bytes) + " bytes");
  }
  const char* host = static_cast<const char*>(src.ArrayBuffer().Data()) + src.ByteOffset();
  char* dev = static_cast<char*>(dst.ptr);
  size_t chunk = std::max<size_t>(1, kUploadChunk / dst_elem);
  for (size_t off = 0; off < n; off += chunk) {
    size_t m = std::min(chunk, n - off);
    ReapStaging(d, d.pending_bytes > kMaxPending);
    void* stage = Staging(env, d, m * dst_elem, "upload");
    if (convert) {
      const float* s = reinterpret_cast<const float*>(host) + off;
      uint16_t* o = static_cast<uint16_t*>(stage);
      if (k == Kind::kBF16) {
        for (size_t i = 0; i < m; i++) o[i] = FloatToBf16(s[i]);
      } else {
        for (size_t i = 0; i < m; i++) o[i] = FloatToHalf(s[i]);
      }
    } else {
      std::memcpy(stage, host + off * src_elem, m * dst_elem);
    }
    cudaError_t e = cudaMemcpyAsync(dev + off * dst_elem, stage, m * dst_elem, cudaMemcpyHostToDevice, d.stream);
    if (e != cudaSuccess) {
      d.pinned->Deallocate(stage);
      Check(env, e, "upload");
    }
    cudaEvent_t ev = TakeEvent(env, d);
    Check(env, cudaEventRecord(ev, d.stream), "upload");
    std::lock_guard<std::mutex> lock(d.mu);
    d.pending.push_back({stage, m * dst_elem, ev});
    d.pending_bytes += m * dst_elem;
  }
  return env.Undefined();
}

// ---- reads ---------------------------------------------------------------------------------------

struct QueuedRead {
  char* stage;
  size_t bytes;
  cudaEvent_t event;
};

QueuedRead QueueRead(Napi::Env env, DeviceState& d, const BufferInfo& src, size_t bytes, const char* op) {
  ReapStaging(d, false);
  QueuedRead q;
  q.bytes = bytes;
  q.stage = static_cast<char*>(Staging(env, d, FlagOffset(bytes) + 16, op));
  int* flag = reinterpret_cast<int*>(q.stage + FlagOffset(bytes));
  *flag = 0;
  cudaError_t e = bytes > 0 ? cudaMemcpyAsync(q.stage, src.ptr, bytes, cudaMemcpyDeviceToHost, d.stream) : cudaSuccess;
  if (e == cudaSuccess) e = cudaMemcpyAsync(flag, d.error_flag, sizeof(int), cudaMemcpyDeviceToHost, d.stream);
  if (e != cudaSuccess) {
    d.pinned->Deallocate(q.stage);
    Check(env, e, op);
  }
  q.event = TakeEvent(env, d);
  e = cudaEventRecord(q.event, d.stream);
  if (e != cudaSuccess) {
    d.pinned->Deallocate(q.stage);
    GiveEvent(d, q.event);
    Check(env, e, op);
  }
  return q;
}

struct ReadArgs {
  BufferInfo src;
  Kind kind;
  size_t numel;
  size_t bytes;
};

ReadArgs ParseRead(const Napi::CallbackInfo& info, const char* op) {
  ReadArgs a{BufferOf(info[0], op), KindOf(info.Env(), info[2], op), NumelArg(info, 1, op), 0};
  a.bytes = a.numel * SizeOf(a.kind);
  if (a.bytes > a.src.bytes) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + std::to_string(a.numel) + " elements (" +
                                                std::to_string(a.bytes) + " bytes) exceed storage of " +
                                                std::to_string(a.src.bytes) + " bytes");
  }
  return a;
}

Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState& d = Current(env);
  ReadArgs a = ParseRead(info, "readSync");
  QueuedRead q = QueueRead(env, d, a.src, a.bytes, "readSync");
  cudaError_t e = cudaEventSynchronize(q.event);
  GiveEvent(d, q.event);
  if (e != cudaSuccess) {
    d.pinned->Deallocate(q.stage);
    Check(env, e, "readSync");
  }
  int flag = *reinterpret_cast<int*>(q.stage + FlagOffset(a.bytes));
  void* data = nullptr;
  Napi::TypedArray out = HostArray(env, a.kind, a.numel, &data);
  ConvertOut(a.kind, q.stage, data, a.numel);
  d.pinned->Deallocate(q.stage);
  std::string msg;
  if (TakeFlagError(d, flag, &msg)) ThrowCoded(env, msg, kCodeIndex);
  return out;
}

class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, DeviceState& d, const ReadArgs& a, const QueuedRead& q)
      : Napi::AsyncWorker(env, "wattgrad.read"), deferred_(Napi::Promise::Deferred::New(env)), d_(d), a_(a), q_(q) {
    void* data = nullptr;
    Napi::TypedArray out = HostArray(env, a.kind, a.numel, &data);
    data_ = data;
    out_ = Napi::Persistent(out.As<Napi::Object>());
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // On a libuv worker: sleep until the copy is done, then convert into the (not yet exposed) array.
  void Execute() override {
    err_ = cudaEventSynchronize(q_.event);
    if (err_ == cudaSuccess) {
      flag_ = *reinterpret_cast<int*>(q_.stage + FlagOffset(a_.bytes));
      ConvertOut(a_.kind, q_.stage, data_, a_.numel);
    }
  }

  // Main thread. Never throws (an exception here would be uncaught): settles the Promise.
  void OnOK() override {
    Napi::Env env = Env();
    d_.pinned->Deallocate(q_.stage);
    GiveEvent(d_, q_.event);
    if (err_ != cudaSuccess) {
      try {
        Check(env, err_, "read");
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
      return;
    }
    std::string msg;
    if (TakeFlagError(d_, flag_, &msg)) {
      deferred_.Reject(MakeCoded(env, msg, kCodeIndex).Value());
      return;
    }
    deferred_.Resolve(out_.Value());
  }

  void OnError(const Napi::Error& e) override {
    d_.pinned->Deallocate(q_.stage);
    GiveEvent(d_, q_.event);
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  DeviceState& d_;
  ReadArgs a_;
  QueuedRead q_;
  void* data_ = nullptr;
  Napi::ObjectReference out_;
  cudaError_t err_ = cudaSuccess;
  int flag_ = 0;
};

Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState& d = Current(env);
  ReadArgs a = ParseRead(info, "read");
  QueuedRead q = QueueRead(env, d, a.src, a.bytes, "read");
  auto* w = new ReadWorker(env, d, a, q);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void RegisterTransfers(Napi::Env env, Napi::Object exports) {
  exports.Set("upload", Napi::Function::New(env, Upload, "upload"));
  exports.Set("readSync", Napi::Function::New(env, ReadSync, "readSync"));
  exports.Set("read", Napi::Function::New(env, Read, "read"));
}

}  // namespace wg
#endif
