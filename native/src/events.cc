// CUDA events for timing (bench/lib/timing.ts): the GPU time between two points of the stream,
// free of the host's launch and synchronisation overheads.
//
//   createEvent()              cudaEventCreate with timing enabled, on the current device; the
//                              handle is a small object whose finalizer destroys the event
//   recordEvent(ev)            cudaEventRecord on the current device's one stream
//   eventElapsedMs(start, end) cudaEventSynchronize(end), then cudaEventElapsedTime(start, end), ms
//
// Errors throw JS errors: an event never recorded is refused here by name (CUDA would answer
// cudaErrorInvalidResourceHandle; GPGPU-Sim answers success with a made-up time, which is how the
// simulator stage found that we relied on it); an event of another device, and CUDA's own errors
// (start not yet complete: cudaErrorNotReady) through Check.
#ifdef WG_HAVE_CUDA

#include <napi.h>

#include <string>
#include <utility>

#include "device.h"
#include "runtime.h"
#include "runtime_internal.h"

namespace wg {
namespace {

// Tags our event objects so any other object is refused, not reinterpreted.
const napi_type_tag kEventTag = {0x7761747467726164ULL, 0x6375646165766e74ULL};  // "wattgrad", "cudaevnt"

struct TimingEvent {
  cudaEvent_t event = nullptr;
  int device = 0;
  bool recorded = false;  // recordEvent has been called at least once
};

TimingEvent* EventOf(const Napi::Value& v, const char* what) {
  bool tagged = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kEventTag, &tagged);
  void* data = nullptr;
  if (!tagged || napi_unwrap(v.Env(), v, &data) != napi_ok || data == nullptr) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an event from createEvent()");
  }
  return static_cast<TimingEvent*>(data);
}

void FinalizeEvent(napi_env, void* data, void*) {
  auto* p = static_cast<TimingEvent*>(data);
  if (p->event != nullptr) {
    cudaEventDestroy(p->event);
    cudaGetLastError();
  }
  delete p;
}

Napi::Value CreateEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceState& d = Current(env);
  auto* ev = new TimingEvent();
  ev->device = d.index;
  cudaError_t e = cudaEventCreateWithFlags(&ev->event, cudaEventDefault);  // timing enabled
  if (e != cudaSuccess) {
    delete ev;
    Check(env, e, "createEvent");
  }
  // The finalizer may run at exit after the runtime is torn down; cudaEventDestroy then fails
  // harmlessly (cudaErrorCudartUnloading) and the error is cleared.
  // A plain object wrapping the event (napi_wrap) and type-tagged, so only our events unwrap.
  Napi::Object obj = Napi::Object::New(env);
  napi_status st = napi_wrap(env, obj, ev, FinalizeEvent, nullptr, nullptr);
  if (st != napi_ok) {
    FinalizeEvent(env, ev, nullptr);
    throw Napi::Error::New(env, "createEvent: napi_wrap failed");
  }
  napi_type_tag_object(env, obj, &kEventTag);
  return obj;
}

Napi::Value RecordEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TimingEvent* ev = EventOf(info[0], "recordEvent");
  DeviceState& d = Current(env);
  if (ev->device != d.index) {
    throw Napi::Error::New(env, "recordEvent: the event was created on cuda:" + std::to_string(ev->device) +
                                    " but the current device is cuda:" + std::to_string(d.index));
  }
  Check(env, cudaEventRecord(ev->event, d.stream), "recordEvent");
  ev->recorded = true;
  return env.Undefined();
}

Napi::Value EventElapsedMs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TimingEvent* a = EventOf(info[0], "eventElapsedMs: start");
  TimingEvent* b = EventOf(info[1], "eventElapsedMs: end");
  CheckSticky(env);
  if (a->device != b->device) {
    throw Napi::Error::New(env, "eventElapsedMs: start is on cuda:" + std::to_string(a->device) +
                                    ", end on cuda:" + std::to_string(b->device));
  }
  for (const auto& [e, name] : {std::pair<TimingEvent*, const char*>{a, "start"}, {b, "end"}}) {
    if (!e->recorded) {
      throw Napi::Error::New(env, std::string("eventElapsedMs: the ") + name +
                                      " event was never recorded (call recordEvent(event) first)");
    }
  }
  Check(env, cudaEventSynchronize(b->event), "eventElapsedMs (cudaEventSynchronize)");
  float ms = 0;
  Check(env, cudaEventElapsedTime(&ms, a->event, b->event), "eventElapsedMs (cudaEventElapsedTime)");
  return Napi::Number::New(env, double(ms));
}

}  // namespace

void RegisterEvents(Napi::Env env, Napi::Object exports) {
  exports.Set("createEvent", Napi::Function::New(env, CreateEvent, "createEvent"));
  exports.Set("recordEvent", Napi::Function::New(env, RecordEvent, "recordEvent"));
  exports.Set("eventElapsedMs", Napi::Function::New(env, EventElapsedMs, "eventElapsedMs"));
}

}  // namespace wg
#endif
