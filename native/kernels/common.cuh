// Shared device helpers for native/kernels/*.cu: element conversions, dtype dispatch, warp/block
// reductions, launch-size helpers, and Philox4x32-10.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace wg {
namespace k {

// ---- element conversions ------------------------------------------------------------------------
// Acc<T>: the type arithmetic is done in. float for float32 and the 16-bit floats (torch's opmath),
// double for float64 and int32 (so int32 arithmetic is exact up to 2^53).
template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};
template <>
struct AccOf<int> {
  using type = double;
};
template <typename T>
using Acc = typename AccOf<T>::type;

__device__ __forceinline__ float ToF(float v) { return v; }
__device__ __forceinline__ double ToF(double v) { return v; }
__device__ __forceinline__ double ToF(int v) { return static_cast<double>(v); }
__device__ __forceinline__ float ToF(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float ToF(__half v) { return __half2float(v); }

// JavaScript's ToInt32 (what storing a number into an Int32Array does, the js backend's int32
// semantics): NaN and ±inf give 0, anything else is truncated toward zero and wrapped modulo 2^32
// (3e9 → -1294967296, 2^31 → -2^31). A plain float→int convert (cvt.rzi) saturates instead.
// Beyond int32 by shifts of the float64 bits only (no fmod, a library call in device code, and no
// 64-bit float→int convert, which GPGPU-Sim gets wrong).
__host__ __device__ __forceinline__ int JsToInt32(double v) {
  if (!(v - v == 0.0)) return 0;                                          // NaN or ±inf (inf − inf is NaN)
  if (v > -2147483649.0 && v < 2147483648.0) return static_cast<int>(v);  // truncates toward zero
  // |v| >= 2^31: v = ±m·2^e, m the 53-bit significand, e >= -21; the low 32 bits of trunc(|v|)
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  const int e = static_cast<int>((b >> 52) & 0x7ff) - 1075;
  const uint64_t m = (b & 0xFFFFFFFFFFFFFull) | (1ull << 52);
  const uint32_t r = e >= 32 ? 0u : static_cast<uint32_t>(e >= 0 ? m << e : m >> -e);
  return static_cast<int>((b >> 63) ? 0u - r : r);
}

// From a float or double to T (round to nearest for floats; JsToInt32 for int32).
template <typename T>
__device__ __forceinline__ T FromF(double v);
template <>
__device__ __forceinline__ float FromF<float>(double v) {
  return static_cast<float>(v);
}
template <>
__device__ __forceinline__ double FromF<double>(double v) {
  return v;
}
template <>
__device__ __forceinline__ int FromF<int>(double v) {
  return JsToInt32(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromF<__nv_bfloat16>(double v) {
  return __float2bfloat16(static_cast<float>(v));
}
template <>
__device__ __forceinline__ __half FromF<__half>(double v) {
  return __float2half(static_cast<float>(v));
}
// Float overloads so float math never goes through double.
template <typename T>
__device__ __forceinline__ T FromF(float v) {
  return FromF<T>(static_cast<double>(v));
}
template <>
__device__ __forceinline__ float FromF<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromF<__nv_bfloat16>(float v) {
  return __float2bfloat16(v);
}
template <>
__device__ __forceinline__ __half FromF<__half>(float v) {
  return __float2half(v);
}

// ---- dtype dispatch (host) ------------------------------------------------------------------------
// WG_DISPATCH_FLOAT(dtype, T, body): body with T = float / double / __nv_bfloat16 / __half;
// returns kUnsupported for anything else. Variants restrict the set.
#define WG_CASE(code, type, ...) \
  case code: {                   \
    using T = type;              \
    __VA_ARGS__;                 \
    return kOk;                  \
  }
#define WG_DISPATCH_ALL(dtype, ...)            \
  switch (dtype) {                             \
    WG_CASE(kF32, float, __VA_ARGS__)          \
    WG_CASE(kF64, double, __VA_ARGS__)         \
    WG_CASE(kI32, int, __VA_ARGS__)            \
    WG_CASE(kBF16, __nv_bfloat16, __VA_ARGS__) \
    WG_CASE(kF16, __half, __VA_ARGS__)         \
    default: return kUnsupported;              \
  }
#define WG_DISPATCH_FLOAT(dtype, ...)          \
  switch (dtype) {                             \
    WG_CASE(kF32, float, __VA_ARGS__)          \
    WG_CASE(kF64, double, __VA_ARGS__)         \
    WG_CASE(kBF16, __nv_bfloat16, __VA_ARGS__) \
    WG_CASE(kF16, __half, __VA_ARGS__)         \
    default: return kUnsupported;              \
  }
// float32 and float64 only (kernels with atomics, or where 16-bit storage makes no sense).
#define WG_DISPATCH_F32_F64(dtype, ...) \
  switch (dtype) {                      \
    WG_CASE(kF32, float, __VA_ARGS__)   \
    WG_CASE(kF64, double, __VA_ARGS__)  \
    default: return kUnsupported;       \
  }

// ---- launch helpers --------------------------------------------------------------------------------
constexpr int kThreads = 256;

// ceil(a / b) for a >= 0, b > 0, in 64 bits: tile counts of sizes near INT_MAX do not overflow.
__host__ __device__ constexpr int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never more than needed.
inline unsigned GridFor(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = 65535LL * 8;  // grid-stride loops cover the rest
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks);
}

#define WG_GRID_STRIDE(i, n)                                                             \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

inline bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// ---- strided index spaces (binary, where, stridedCopy) ----------------------------------------
// Offsets of the flat output index i for `nops` operands.
template <int NOPS>
__device__ __forceinline__ void StridedOffsets(const Strided& d, int64_t i, int64_t* off) {
#pragma unroll
  for (int o = 0; o < NOPS; ++o) off[o] = 0;
  for (int dim = d.ndim - 1; dim >= 0; --dim) {
    const int64_t sz = d.shape[dim];
    const int64_t q = i / sz, r = i - q * sz;
#pragma unroll
    for (int o = 0; o < NOPS; ++o) off[o] += r * d.stride[o][dim];
    i = q;
  }
}

// Merges adjacent dims that are contiguous for every operand and drops size-1 dims.
inline Strided Coalesce(const Strided& in, int nops) {
  Strided d{};
  d.ndim = 0;
  for (int i = 0; i < in.ndim; ++i) {
    if (in.shape[i] == 1) continue;
    if (d.ndim > 0) {
      const int j = d.ndim - 1;
      bool merge = true;
      for (int o = 0; o < nops; ++o) merge = merge && d.stride[o][j] == in.stride[o][i] * in.shape[i];
      if (merge) {
        d.shape[j] *= in.shape[i];
        for (int o = 0; o < nops; ++o) d.stride[o][j] = in.stride[o][i];
        continue;
      }
    }
    d.shape[d.ndim] = in.shape[i];
    for (int o = 0; o < nops; ++o) d.stride[o][d.ndim] = in.stride[o][i];
    ++d.ndim;
  }
  if (d.ndim == 0) {  // a scalar
    d.ndim = 1;
    d.shape[0] = 1;
    for (int o = 0; o < nops; ++o) d.stride[o][0] = 0;
  }
  return d;
}

inline int64_t Numel(const Strided& d) {
  int64_t n = 1;
  for (int i = 0; i < d.ndim; ++i) n *= d.shape[i];
  return n;
}

// ---- reductions ----------------------------------------------------------------------------------
template <typename A>
__device__ __forceinline__ A WarpSum(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename A>
__device__ __forceinline__ A WarpMax(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block; every thread gets the result. `sh` holds >= 32 A. blockDim.x % 32 == 0.
template <typename A>
__device__ A BlockSum(A v, A* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = WarpSum(v);
  __syncthreads();  // sh may be reused from a previous call
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  v = lane < nw ? sh[lane] : A(0);
  return WarpSum(v);
}
template <typename A>
__device__ A BlockMax(A v, A* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = WarpMax(v);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  v = lane < nw ? sh[lane] : A(-INFINITY);
  return WarpMax(v);
}

__device__ __forceinline__ float Sigmoid(float x) { return 1.f / (1.f + expf(-x)); }
__device__ __forceinline__ double Sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

// Atomic add for the types scatter kernels support.
__device__ __forceinline__ void AtomicAddT(float* p, float v) { atomicAdd(p, v); }
#ifndef WG_SIM_BUILD
__device__ __forceinline__ void AtomicAddT(double* p, double v) { atomicAdd(p, v); }
#else
// Simulator build only: GPGPU-Sim 4.2 does not implement atom.global.add.f64 (it aborts the process,
// instructions.cc atom_callback), so float64 scatter-adds use the compare-and-swap loop CUDA used
// before sm_60. Same result up to the order of the additions, which atomics never fix anyway.
__device__ __forceinline__ void AtomicAddT(double* p, double v) {
  auto* a = reinterpret_cast<unsigned long long*>(p);
  unsigned long long old = *a, assumed;
  do {
    assumed = old;
    old = atomicCAS(a, assumed, __double_as_longlong(__longlong_as_double(assumed) + v));
  } while (assumed != old);
}
#endif

// Reports a bad input (index out of range) through the runtime's device error flag.
__device__ __forceinline__ void RaiseError(int* flag) {
  if (flag != nullptr) atomicExch(flag, 1);
}

// ---- Philox4x32-10 (Salmon et al., Random123 constants) ------------------------------------------
// ctr = [c0, c1, c2, c3], key = [k0, k1]; each round:
//   (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2
//   ctr = [hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0];  key += (W0, W1)  (bumped between rounds)
struct Philox4 {
  uint32_t v[4];
};
__device__ __forceinline__ Philox4 Philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                                 uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += W0;
      k1 += W1;
    }
    const uint32_t hi0 = __umulhi(M0, c0), lo0 = M0 * c0;
    const uint32_t hi1 = __umulhi(M1, c2), lo1 = M1 * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Counter block `ctr` (64-bit) with key `seed`: words [ctr lo, ctr hi, 0, 0].
__device__ __forceinline__ Philox4 PhiloxBlock(uint64_t ctr, uint64_t seed) {
  return Philox4x32_10(static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), 0u, 0u,
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// u = (word >>> 8) * 2^-24, in [0, 1), exact in float and double.
__device__ __forceinline__ double PhiloxUnit(uint32_t w) { return static_cast<double>(w >> 8) * (1.0 / 16777216.0); }

}  // namespace k
}  // namespace wg
