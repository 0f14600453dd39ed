// The inline PTX of the tensor-core paths, each instruction behind one small device function, so
// nothing else in the kernels holds asm. test/native/tc-emu defines WG_TC_EMULATION and supplies
// host emulations of these same functions (from the PTX ISA fragment tables) before including the
// kernels; the real build compiles exactly what is below.
//   CvtRnaTf32      cvt.rna.tf32.f32: round to TF32 (10-bit mantissa), nearest, ties away from zero
//   MmaM16n8k8Tf32  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32   d = a·b + d (warp-wide)
//   MmaM16n8k16Bf16 mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
//   MmaM16n8k16F16  mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// Fragments (lane = 4·groupID + threadID_in_group): see the PTX ISA, "Matrix Fragments for mma.m16n8k8 /
// mma.m16n8k16"; matmul_tc.cuh documents which element each register holds.
#pragma once

#include <cstdint>

#ifndef WG_TC_EMULATION

namespace wg {
namespace k {

__device__ __forceinline__ uint32_t CvtRnaTf32(float f) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
  return r;
}

__device__ __forceinline__ void MmaM16n8k8Tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

__device__ __forceinline__ void MmaM16n8k16Bf16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

__device__ __forceinline__ void MmaM16n8k16F16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

}  // namespace k
}  // namespace wg

#endif  // WG_TC_EMULATION
