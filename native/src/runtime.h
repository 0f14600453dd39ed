// The runtime contract between the addon's parts.
//
//   runtime.cc / allocator.cc / storage.cc / transfer.cc / events.cc
//                                           (device discovery, memory, stream, transfers,
//                                            timing events)                                  -> RegisterRuntime
//   ops_*.cc + ../kernels/*.cu              (one N-API entry point per backend kernel)     -> RegisterKernels
//   nvml.cc                                 (NVML via dlopen, energy counters)              -> RegisterNvml
//
// addon.cc calls the three Register functions. Without CUDA (WG_HAVE_CUDA undefined) the addon
// still builds: RegisterKernels is absent and the runtime reports "cuda unavailable: built without CUDA".
#pragma once

#include <napi.h>
#include <cstddef>
#include <cstdint>

#ifdef WG_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace wg {

#ifdef WG_HAVE_CUDA
// The device pointer behind a storage handle made by `alloc` (a JS object wrapping a DeviceBuffer).
// JS null/undefined gives nullptr. Anything else that is not a live handle throws Napi::TypeError
// naming `what` (e.g. "matmul: a").
void* Ptr(const Napi::Value& v, const char* what);

// The byte length of the live storage handle `v` (the size class it holds, >= what alloc was
// asked for). Throws Napi::TypeError naming `what` when `v` is not a storage handle (null
// included) and Napi::Error when it was freed. Kernel entry points use it (through
// ops::Holds in ops_common.h) to check a handle holds every byte the kernel will touch.
size_t Bytes(const Napi::Value& v, const char* what);

// The one stream of the current device; every kernel launches on it.
cudaStream_t Stream();

// Call right after a launch (or any CUDA call): on error throws a JS Error
// "wattgrad cuda <op>: <cudaGetErrorString>" — sticky errors (illegal address, launch failure)
// are named as such and mark the context unusable for the rest of the process.
void Check(Napi::Env env, cudaError_t err, const char* op);
void CheckLaunch(Napi::Env env, const char* op);  // Check(env, cudaGetLastError(), op)

// A device int that kernels set (atomicExch) to a nonzero code when they find a bad input they
// cannot report otherwise (index out of range). The runtime checks and clears it at every
// synchronisation (readSync, read, synchronize) and throws "<op>: index out of range".
// SetErrorOp records which op to name; call it before launching a kernel that may set the flag.
int* DeviceErrorFlag();
void SetErrorOp(const char* op);

// Stream-ordered temporary device memory from the caching allocator (for partial sums, pointer
// tables of multi-tensor kernels, ...). Freed when the Scratch goes out of scope (stream-ordered,
// so the memory is reused only after the kernels queued before the free).
class Scratch {
 public:
  Scratch(Napi::Env env, size_t bytes, const char* op);
  ~Scratch();
  void* get() const { return ptr_; }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};
#endif

}  // namespace wg

void RegisterRuntime(Napi::Env env, Napi::Object exports);
#ifdef WG_HAVE_CUDA
void RegisterKernels(Napi::Env env, Napi::Object exports);
#endif
void RegisterNvml(Napi::Env env, Napi::Object exports);
