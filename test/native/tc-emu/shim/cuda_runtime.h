// Host shim of the CUDA language and runtime for the emulation harness (test/native/tc-emu): the
// kernels of native/kernels are compiled unchanged as host C++ with this directory first on the
// include path, so <cuda_runtime.h>, <cuda_bf16.h> and <cuda_fp16.h> resolve here.
//   __global__/__device__/__host__ vanish; __shared__ is per block (thread_local: all fibers of a
//   block run on one OS thread; `static` in the one-thread-per-CUDA-thread mode, WG_EMU_THREADS);
//   threadIdx/blockIdx/blockDim/gridDim are set per CUDA thread by emu.h; __syncthreads, warp
//   shuffles and atomics are emu.h's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#ifdef WG_EMU_THREADS
#define __shared__ static
#else
#define __shared__ static thread_local
#endif

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct __attribute__((aligned(16))) float4 {
  float x, y, z, w;
};
struct __attribute__((aligned(8))) uint2 {
  unsigned x, y;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

typedef struct wgemu_stream* cudaStream_t;
enum cudaError_t { cudaSuccess = 0, cudaErrorUnknown = 999 };

namespace wgemu {
extern thread_local uint3 tls_threadIdx, tls_blockIdx;
extern thread_local dim3 tls_blockDim, tls_gridDim;
void SyncThreads();
uint64_t ShflXor64(uint64_t v, int laneMask);
uint64_t ShflIdx64(uint64_t v, int src);
uint64_t ShflDown64(uint64_t v, int delta);
}  // namespace wgemu

#define threadIdx (::wgemu::tls_threadIdx)
#define blockIdx (::wgemu::tls_blockIdx)
#define blockDim (::wgemu::tls_blockDim)
#define gridDim (::wgemu::tls_gridDim)

inline void __syncthreads() { ::wgemu::SyncThreads(); }

template <typename T> inline T wgemu_from64(uint64_t u) {
  static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}
template <typename T> inline uint64_t wgemu_to64(T v) {
  uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  return u;
}
// Full-warp shuffles (the kernels only use mask 0xffffffff; a partial mask is not modelled).
template <typename T> inline T __shfl_xor_sync(unsigned, T v, int laneMask, int = 32) {
  return wgemu_from64<T>(::wgemu::ShflXor64(wgemu_to64(v), laneMask));
}
template <typename T> inline T __shfl_sync(unsigned, T v, int src, int = 32) {
  return wgemu_from64<T>(::wgemu::ShflIdx64(wgemu_to64(v), src));
}
template <typename T> inline T __shfl_down_sync(unsigned, T v, unsigned delta, int = 32) {
  return wgemu_from64<T>(::wgemu::ShflDown64(wgemu_to64(v), static_cast<int>(delta)));
}

// Atomics: real ones (blocks of one launch run on several OS threads).
inline float atomicAdd(float* p, float v) {
  uint32_t expected = __atomic_load_n(reinterpret_cast<uint32_t*>(p), __ATOMIC_RELAXED);
  for (;;) {
    float cur;
    std::memcpy(&cur, &expected, 4);
    const float next = cur + v;
    uint32_t desired;
    std::memcpy(&desired, &next, 4);
    if (__atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(p), &expected, desired, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      return cur;
  }
}
inline double atomicAdd(double* p, double v) {
  uint64_t expected = __atomic_load_n(reinterpret_cast<uint64_t*>(p), __ATOMIC_RELAXED);
  for (;;) {
    double cur;
    std::memcpy(&cur, &expected, 8);
    const double next = cur + v;
    uint64_t desired;
    std::memcpy(&desired, &next, 8);
    if (__atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(p), &expected, desired, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      return cur;
  }
}
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }

// Integer intrinsics.
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((uint64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }

using std::max;
using std::min;
