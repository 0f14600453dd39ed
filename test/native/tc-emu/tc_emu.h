// Host emulation of the PTX instructions behind native/kernels/ptx_tc.cuh (WG_TC_EMULATION), from
// the PTX ISA (9.7.14.5 "Matrix Fragments for mma.m16n8k8 / mma.m16n8k16"; 9.7.9.21 cvt). With
// groupID g = laneid >> 2 and threadID_in_group t = laneid % 4:
//   m16n8k8 .tf32   A (16×8):  a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)
//                   B (8×8):   b0 (k=t, n=g)  b1 (k=t+4, n=g)
//   m16n8k16 .bf16/.f16, two elements per .b32 register, the lower index in the low half:
//                   A (16×16): a0,a1 (g, 2t..2t+1)  a2,a3 (g+8, 2t..)  a4,a5 (g, 2t+8..)  a6,a7 (g+8, 2t+8..)
//                   B (16×8):  b0,b1 (k=2t..2t+1, n=g)  b2,b3 (k=2t+8..2t+9, n=g)
//   C/D (16×8 .f32), both shapes: c0 (g, 2t)  c1 (g, 2t+1)  c2 (g+8, 2t)  c3 (g+8, 2t+1)
// The hardware reads only the 19 tf32 bits of a .tf32 operand (the low 13 mantissa bits are
// ignored), so the emulation masks them: a kernel that forgets cvt.rna gets truncated inputs and
// fails the harness's tolerance. Products are exact; the k-sum is formed in double and rounded to
// fp32 once (real tensor cores accumulate in fp32 with their own order: the harness's tolerance is
// the fp32 accumulation bound, which covers both).
#pragma once

#include <cstdint>
#include <cstring>

#include "emu.h"
#include "../../../native/src/convert.h"

namespace wgemu {

inline float F32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t U32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// cvt.rna.tf32.f32: keep 10 mantissa bits, round to nearest with ties away from zero (adding half
// an ulp to the magnitude bits and truncating); inf stays inf, NaN becomes the canonical NaN.
inline uint32_t CvtRnaTf32(float f) {
  const uint32_t u = U32(f);
  if ((u & 0x7F800000u) == 0x7F800000u) return (u & 0x007FFFFFu) != 0 ? 0x7FFFFFFFu : u;
  return (u + 0x1000u) & 0xFFFFE000u;
}

// d[lane] (16×8 f32) = A·B + C from the lanes' fragments, given each lane's A/B element values.
template <int K, class AElem, class BElem>
inline void MmaFromFragments(uint32_t (&a)[32][4], uint32_t (&b)[32][2], float (&c)[32][4], float (&d)[32][4], AElem aval,
                             BElem bval) {
  double A[16][16] = {}, B[16][8] = {}, C[16][8] = {};
  bool seenA[16][16] = {}, seenB[16][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < (K == 8 ? 4 : 8); ++i) {  // A elements a_i of this lane
      int row, col;
      if (K == 8) { row = g + ((i & 1) ? 8 : 0); col = t + ((i & 2) ? 4 : 0); }
      else { row = g + (((i >> 1) & 1) ? 8 : 0); col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0); }
      if (seenA[row][col]) Die("mma emulation: an A element held twice (layout table bug)");
      seenA[row][col] = true;
      A[row][col] = aval(a[lane], i);
    }
    for (int i = 0; i < (K == 8 ? 2 : 4); ++i) {  // B elements b_i
      const int krow = K == 8 ? t + (i ? 4 : 0) : 2 * t + (i & 1) + (i >= 2 ? 8 : 0);
      if (seenB[krow][g]) Die("mma emulation: a B element held twice (layout table bug)");
      seenB[krow][g] = true;
      B[krow][g] = bval(b[lane], i);
    }
    for (int i = 0; i < 4; ++i) C[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)] = c[lane][i];
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) {
      const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
      double s = 0;
      for (int k = 0; k < K; ++k) s += A[row][k] * B[k][col];
      d[lane][i] = static_cast<float>(C[row][col] + s);
    }
  }
}

inline double Tf32Value(uint32_t r) { return static_cast<double>(F32(r & 0xFFFFE000u)); }
inline double Bf16Half(uint32_t r, int hi) { return static_cast<double>(wg::Bf16ToFloat(static_cast<uint16_t>(hi ? r >> 16 : r))); }
inline double F16Half(uint32_t r, int hi) { return static_cast<double>(wg::HalfToFloat(static_cast<uint16_t>(hi ? r >> 16 : r))); }

}  // namespace wgemu

namespace wg {
namespace k {

inline uint32_t CvtRnaTf32(float f) { return wgemu::CvtRnaTf32(f); }

inline void MmaM16n8k8Tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  wgemu::WarpMma(wgemu::kMmaTf32, c, a, b, [](auto& A, auto& B, auto& C, auto& D) {
    wgemu::MmaFromFragments<8>(A, B, C, D, [](uint32_t(&r)[4], int i) { return wgemu::Tf32Value(r[i]); },
                               [](uint32_t(&r)[2], int i) { return wgemu::Tf32Value(r[i]); });
  });
}

inline void MmaM16n8k16Bf16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  wgemu::WarpMma(wgemu::kMmaBf16, c, a, b, [](auto& A, auto& B, auto& C, auto& D) {
    wgemu::MmaFromFragments<16>(A, B, C, D, [](uint32_t(&r)[4], int i) { return wgemu::Bf16Half(r[i >> 1], i & 1); },
                                [](uint32_t(&r)[2], int i) { return wgemu::Bf16Half(r[i >> 1], i & 1); });
  });
}

inline void MmaM16n8k16F16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  wgemu::WarpMma(wgemu::kMmaF16, c, a, b, [](auto& A, auto& B, auto& C, auto& D) {
    wgemu::MmaFromFragments<16>(A, B, C, D, [](uint32_t(&r)[4], int i) { return wgemu::F16Half(r[i >> 1], i & 1); },
                                [](uint32_t(&r)[2], int i) { return wgemu::F16Half(r[i >> 1], i & 1); });
  });
}

}  // namespace k
}  // namespace wg
