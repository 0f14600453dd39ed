// Host <-> device transfers on the device's one stream, through pinned staging buffers.
//
//   upload(buf, typedArray, dtype)      copies into pinned staging (converting float32 -> bf16/f16
//                                       when the storage is reduced precision), queues the H2D copy
//                                       and returns; the caller may reuse its array at once.
//   readSync(buf, numel, dtype)         queues the D2H copy, waits on an event, returns a typed array.
//   read(buf, numel, dtype) -> Promise  queues the D2H copy and an event; one waiter thread of the
//                                       addon (not a libuv pool thread: pending reads never starve
//                                       fs/zlib/dns) waits on the events in order (blocking-sync
//                                       events: it sleeps), converts, and hands the result to the
//                                       reading JS thread through a thread-safe function, where the
//                                       Promise settles.
// Every transfer checks that the storage lives on the current device.
// Both reads also copy the device error flag, so an index error found by an earlier kernel
// rejects the read ("<op>: index out of range").
#ifdef WG_HAVE_CUDA

#include <napi.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "convert.h"
#include "device.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "storage.h"

namespace wg {

namespace {

constexpr size_t kUploadChunk = size_t(8) << 20;   // staging per upload chunk
constexpr size_t kMaxPending = size_t(128) << 20;  // staging in flight before an upload waits

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
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected numel");
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
    ThrowCoded(env,
               std::string("wattgrad cuda ") + op + ": cannot allocate " + FormatBytes(double(bytes)) +
                   " of pinned host staging memory: " + cudaGetErrorString(d.pinned->raw().last_error),
               kCodeCuda);
  }
  return r.ptr;
}

size_t FlagOffset(size_t bytes) { return (bytes + 15) / 16 * 16; }

// Storage from another device would be read or written through the wrong context.
void CheckDevice(Napi::Env env, const BufferInfo& b, const DeviceState& d, const char* what) {
  if (b.device != d.index) {
    throw Napi::TypeError::New(env, std::string(what) + ": storage lives on cuda:" + std::to_string(b.device) +
                                        " but the current device is cuda:" + std::to_string(d.index) +
                                        " (setDevice first, or move the tensor)");
  }
}

// ---- upload --------------------------------------------------------------------------------------

Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState& d = Current(env);
  BufferInfo dst = BufferOf(info[0], "upload: dst");
  CheckDevice(env, dst, d, "upload: dst");
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
    if (src.ByteLength() % SizeOf(k) != 0)
      throw Napi::RangeError::New(env, "upload: byte length is not a multiple of the dtype size");
  } else if ((t == napi_float32_array && k == Kind::kF32) || (t == napi_float64_array && k == Kind::kF64) ||
             (t == napi_int32_array && k == Kind::kI32) || (t == napi_uint16_array && Reduced(k))) {
  } else if (t == napi_float32_array && Reduced(k)) {
    convert = true;
  } else {
    throw Napi::TypeError::New(
        env, "upload: a typed array of this kind cannot fill " + info[2].ToString().Utf8Value() + " storage");
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
  CheckDevice(env, a.src, d, "readSync");
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

// One async read in flight: owned by the waiter thread until it is handed to the JS thread.
struct ReadJob {
  DeviceState* d;
  ReadArgs a;
  QueuedRead q;
  void* data;              // the output array's storage (kept alive by `out`)
  napi_ref out = nullptr;  // the output typed array
  napi_deferred deferred = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  cudaError_t err = cudaSuccess;
  int flag = 0;
};

// The waiter: a FIFO of reads (copies on one stream complete in order, so waiting on the oldest
// first never waits longer than needed). Started on the first read, never joined.
std::mutex g_wait_mu;
std::condition_variable g_wait_cv;
std::deque<ReadJob*> g_wait_queue;
bool g_waiter_started = false;

void WaiterLoop() {
  for (;;) {
    ReadJob* job;
    {
      std::unique_lock<std::mutex> lock(g_wait_mu);
      g_wait_cv.wait(lock, [] { return !g_wait_queue.empty(); });
      job = g_wait_queue.front();
      g_wait_queue.pop_front();
    }
    job->err = cudaEventSynchronize(job->q.event);
    if (job->err == cudaSuccess) {
      job->flag = *reinterpret_cast<int*>(job->q.stage + FlagOffset(job->a.bytes));
      ConvertOut(job->a.kind, job->q.stage, job->data, job->a.numel);
    }
    job->d->pinned->Deallocate(job->q.stage);  // thread-safe (the allocator locks)
    GiveEvent(*job->d, job->q.event);
    napi_threadsafe_function tsfn = job->tsfn;
    if (napi_call_threadsafe_function(tsfn, job, napi_tsfn_blocking) != napi_ok) {
      delete job;  // the JS environment is gone (a terminated worker): nothing to settle
    }
    napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
}

// On the reading JS thread: settle the Promise. Never throws.
void SettleRead(napi_env raw, napi_value /*js_cb*/, void* /*context*/, void* data) {
  ReadJob* job = static_cast<ReadJob*>(data);
  if (raw == nullptr) {  // environment tearing down
    delete job;
    return;
  }
  Napi::Env env(raw);
  Napi::HandleScope scope(env);
  napi_value out = nullptr;
  napi_get_reference_value(raw, job->out, &out);
  napi_delete_reference(raw, job->out);
  try {
    if (job->err != cudaSuccess) {
      try {
        Check(env, job->err, "read");
      } catch (const Napi::Error& e) {
        napi_reject_deferred(raw, job->deferred, e.Value());
      }
    } else {
      std::string msg;
      if (TakeFlagError(*job->d, job->flag, &msg))
        napi_reject_deferred(raw, job->deferred, MakeCoded(env, msg, kCodeIndex).Value());
      else napi_resolve_deferred(raw, job->deferred, out);
    }
  } catch (const Napi::Error& e) {  // making the error object failed: still settle
    napi_reject_deferred(raw, job->deferred, e.Value());
  }
  delete job;
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState& d = Current(env);
  ReadArgs a = ParseRead(info, "read");
  CheckDevice(env, a.src, d, "read");
  auto* job = new ReadJob{&d, a, QueuedRead{}, nullptr};
  Napi::TypedArray out = HostArray(env, a.kind, a.numel, &job->data);
  napi_value promise = nullptr;
  napi_status st = napi_create_promise(env, &job->deferred, &promise);
  if (st == napi_ok) st = napi_create_reference(env, out, 1, &job->out);
  if (st == napi_ok)
    st = napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "wattgrad.read"), 0, 1, nullptr,
                                         nullptr, nullptr, SettleRead, &job->tsfn);
  if (st != napi_ok) {
    if (job->out != nullptr) napi_delete_reference(env, job->out);
    delete job;
    throw Napi::Error::New(env, "read: cannot create the completion callback");
  }
  try {
    job->q = QueueRead(env, d, a.src, a.bytes, "read");
  } catch (...) {
    napi_delete_reference(env, job->out);
    napi_release_threadsafe_function(job->tsfn, napi_tsfn_abort);
    delete job;  // the promise is dropped unsettled; the caller gets the exception
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(g_wait_mu);
    if (!g_waiter_started) {
      std::thread(WaiterLoop).detach();
      g_waiter_started = true;
    }
    g_wait_queue.push_back(job);
  }
  g_wait_cv.notify_one();
  return Napi::Value(env, promise);
}

}  // namespace

void RegisterTransfers(Napi::Env env, Napi::Object exports) {
  exports.Set("upload", Napi::Function::New(env, Upload, "upload"));
  exports.Set("readSync", Napi::Function::New(env, ReadSync, "readSync"));
  exports.Set("read", Napi::Function::New(env, Read, "read"));
}

}  // namespace wg
#endif
