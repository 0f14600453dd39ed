// Storage handles: a small N-API object (class NativeBuffer) owning (device, pointer, bytes).
// Its finalizer returns the block to the caching allocator's bins (no CUDA call, never a
// blocking cudaFree), and the bytes are reported to V8 with napi_adjust_external_memory so GC
// pressure reflects device memory held by unreachable tensors.
#pragma once
#ifdef WG_HAVE_CUDA

#include <napi.h>

#include <cstddef>

namespace wg {

struct BufferInfo {
  void* ptr;
  size_t bytes;  // the rounded size held (>= what was asked)
  int device;
};

// A new NativeBuffer owning `ptr` (already allocated from device `device`'s allocator).
Napi::Object NewBuffer(Napi::Env env, void* ptr, size_t bytes, int device);
// The live buffer behind `v`; throws TypeError naming `what` when `v` is not a live NativeBuffer.
BufferInfo BufferOf(const Napi::Value& v, const char* what);
// Frees the buffer now (the JS `free`); a second free throws.
void FreeBuffer(const Napi::Value& v);

}  // namespace wg
#endif
