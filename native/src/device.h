// Per-device runtime state (CUDA builds only): the stream, the caching allocator over the
// stream-ordered pool, pinned staging for transfers and the device error flag.
#pragma once
#ifdef WG_HAVE_CUDA

#include <cuda_runtime.h>
#include <napi.h>

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "allocator.h"

namespace wg {

// Device memory: cudaMallocAsync/cudaFreeAsync on the device's default pool (release threshold
// raised so the pool keeps what it has, or the cap under setMemoryLimit), or plain cudaMalloc/cudaFree
// where pools are unsupported.
// Frees are stream-ordered: a block freed after a kernel is reused only by work queued later on
// the same (only) stream, so no free ever waits for the GPU.
struct CudaRaw {
  int device = 0;
  cudaStream_t stream = nullptr;
  bool pool = false;
  cudaMemPool_t mempool = nullptr;
  cudaError_t last_error = cudaSuccess;

  bool Alloc(size_t bytes, void** out, bool* oom);
  void Free(void* p, size_t bytes);
  void Release();
  // Under a cap the pool's release threshold is the cap, and the pool is trimmed to what the
  // allocator holds whenever it gives blocks back, so the cap bounds device memory, not only our bins.
  void SetCap(bool has, size_t cap);
  void TrimTo(size_t keep);
};

// Pinned host memory for staging transfers (cudaHostAlloc / cudaFreeHost).
struct PinnedRaw {
  cudaError_t last_error = cudaSuccess;
  bool Alloc(size_t bytes, void** out, bool* oom);
  void Free(void* p, size_t bytes);
  void Release() {}
  void SetCap(bool, size_t) {}
  void TrimTo(size_t) {}
};

struct DeviceState {
  int index = 0;
  cudaStream_t stream = nullptr;
  CachingAllocator<CudaRaw>* memory = nullptr;
  int* error_flag = nullptr;       // device int set by kernels on bad input
  int* error_flag_host = nullptr;  // pinned copy read at synchronisation

  // Pinned staging and the copies still in flight from it.
  CachingAllocator<PinnedRaw>* pinned = nullptr;
  struct Pending {
    void* block;
    size_t bytes;
    cudaEvent_t event;
  };
  std::deque<Pending> pending;  // guarded by mu
  size_t pending_bytes = 0;
  std::vector<cudaEvent_t> free_events;  // guarded by mu
  std::mutex mu;

  // Ops that may have set the error flag since the last synchronisation (SetErrorOp).
  std::vector<const char*> error_ops;  // guarded by mu
};

// The current device's state, initialising it on first use. Throws WG_CUDA_UNAVAILABLE /
// WG_CUDA_STICKY / WG_CUDA_ERROR.
DeviceState& Current(Napi::Env env);
// The state of device `index` if initialised, else nullptr (never throws; used by finalizers).
DeviceState* DeviceIfReady(int index);
// Throws if an earlier sticky error made the context unusable.
void CheckSticky(Napi::Env env);

// Events for transfers (blocking-sync, no timing: waiting yields the CPU instead of spinning).
cudaEvent_t TakeEvent(Napi::Env env, DeviceState& d);
void GiveEvent(DeviceState& d, cudaEvent_t e);  // caller holds no lock
// Returns staging blocks whose copies completed to the pinned cache.
void ReapStaging(DeviceState& d, bool wait_all);
// Queues a copy of the error flag into `host_slot` (pinned) on the stream.
void QueueFlagCopy(Napi::Env env, DeviceState& d, int* host_slot);
// After the flag copy completed: if it is set, clears it on the device and throws (or returns
// the message when `out_message` is given).
bool TakeFlagError(DeviceState& d, int value, std::string* message);

}  // namespace wg
#endif
