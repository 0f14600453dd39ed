// Direct int8 convolution for few taps per output (c · r · s ≤ 64, e.g. the first conv of an image
// model: 1 channel, 5 × 5), AVX-512 VNNI (this file's suffix gives the flags; called on the vnni
// path only, see qgemm.cc). The im2col + GEMM route pads k to 64 and spends its time packing one
// GEMM row per output pixel and scattering each row's 16 outputs to NCHW; here the lanes are 16
// output pixels of one output row instead: per row the taps are gathered once as 4-byte groups
// (group g of pixel ox = taps 4g..4g+3, padding reads the zero point as the GEMM does), and each
// output channel is ⌈c·r·s / 4⌉ vpdpbusd with broadcast weights, then the epilogue stores a
// contiguous NCHW row.
//
// Exactness (lib/quantization/qconv.ts qconv2d bit for bit): v = Σ x·w − za·Σw − zw·Σx + K·za·zw
// is the GEMM's int32 formula (wrapping like it; the exact value is < 2^31 in magnitude); the
// epilogue is QgemmEpilogueAvx512's arithmetic (double(scale) · v, + bias, ReLU, one rounding to
// float32), and double(scale) · v is exact (|v| < 64 · 255 · 255 < 2^22, 24 + 22 bits < 53), so
// the sum rounds once whether or not the compiler fuses it.
#if defined(__x86_64__)  // an x86 ISA unit: compiles to nothing elsewhere (qgemm.cc names it on x86 only)
// GCC 12 warns inside its own avx512fintrin.h (_mm512_cvtepu8_epi32 / _mm512_sll_epi32), as in qgemm_vnni.cc
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "qgemm.h"

namespace wgcpu {

bool QconvDirectVnni(const QconvDirectArgs& a, int64_t img) {
  const int64_t crs = a.c * a.r * a.s, G = (crs + 3) / 4;
  const int64_t ow = a.ow, OW16 = (ow + 15) / 16 * 16, tiles = OW16 / 16;
  uint8_t* T = static_cast<uint8_t*>(aligned_alloc(64, size_t(G * OW16 * 4 + 64)));
  int32_t* aSum = static_cast<int32_t*>(aligned_alloc(64, size_t(OW16 * 4 + 64)));
  if (!T || !aSum) {
    free(T);
    free(aSum);
    return false;
  }
  const uint8_t za = uint8_t(a.za);
  const __m512i ones = _mm512_set1_epi8(1);
  int32_t* Tw = reinterpret_cast<int32_t*>(T);
  for (int64_t oy = 0; oy < a.oh; oy++) {
    // gather: byte b of T32[g · OW16 + ox] = tap 4g + b of output pixel ox (the taps past c·r·s stay 0:
    // their weights are 0 too)
    memset(T, 0, size_t(G * OW16 * 4));
    int64_t t = 0;
    for (int64_t ch = 0; ch < a.c; ch++) {
      const uint8_t* plane = a.x + (img * a.c + ch) * a.h * a.w;
      for (int64_t rr = 0; rr < a.r; rr++) {
        const int64_t iy = oy * a.strideH - a.padH + rr * a.dilationH;
        for (int64_t ss = 0; ss < a.s; ss++, t++) {
          int32_t* dst32 = Tw + (t >> 2) * OW16;
          const int sh = int(8 * (t & 3));
          uint8_t* dst = T + (t >> 2) * OW16 * 4 + (t & 3);
          const int64_t ix0 = -a.padW + ss * a.dilationW;
          if (iy < 0 || iy >= a.h) {
            const __m512i v = _mm512_set1_epi32(int32_t(uint32_t(za) << sh));
            for (int64_t tl = 0; tl < tiles; tl++)
              _mm512_store_si512(dst32 + tl * 16, _mm512_or_si512(_mm512_load_si512(dst32 + tl * 16), v));
            continue;
          }
          const uint8_t* row = plane + iy * a.w;
          const int64_t sw = a.strideW;
          if (ix0 >= 0 && ix0 + (ow - 1) * sw < a.w) {
            const uint8_t* src = row + ix0;
            if (sw == 1) {
              // 16 source bytes widened to the lanes' byte b (masked loads: no read past the row's last tap)
              for (int64_t tl = 0; tl < tiles; tl++) {
                const int64_t left = ow - tl * 16;
                const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
                const __m512i v = _mm512_sll_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, src + tl * 16)),
                                                   _mm_cvtsi32_si128(sh));
                _mm512_store_si512(dst32 + tl * 16, _mm512_or_si512(_mm512_load_si512(dst32 + tl * 16), v));
              }
            } else {
              for (int64_t ox = 0; ox < ow; ox++) dst[ox * 4] = src[ox * sw];
            }
          } else {
            for (int64_t ox = 0; ox < ow; ox++) {
              const int64_t ix = ix0 + ox * sw;
              dst[ox * 4] = ix < 0 || ix >= a.w ? za : row[ix];
            }
          }
        }
      }
    }
    const int32_t* T32 = reinterpret_cast<const int32_t*>(T);
    // Σ taps of each pixel (padding counted as za, like the GEMM's packed row)
    for (int64_t tl = 0; tl < tiles; tl++) {
      __m512i s = _mm512_setzero_si512();
      for (int64_t g = 0; g < G; g++) s = _mm512_dpbusd_epi32(s, _mm512_load_si512(T32 + g * OW16 + tl * 16), ones);
      _mm512_store_si512(aSum + tl * 16, s);
    }
    for (int64_t kk = 0; kk < a.k; kk++) {
      const int32_t* wq = a.wq + kk * G;
      const int32_t zb = a.wZero[kk];
      const int32_t corr = int32_t(uint32_t(int64_t(crs) * a.za * zb) - uint32_t(int64_t(a.za) * a.wSum[kk]));
      const __m512i vcorr = _mm512_set1_epi32(corr), vzb = _mm512_set1_epi32(zb);
      const __m512d sc = _mm512_set1_pd(double(a.scale[kk]));
      const __m512d bias = _mm512_set1_pd(a.bias ? double(a.bias[kk]) : 0.0);
      const __m512d zero = _mm512_setzero_pd();
      float* orow = a.out + ((img * a.k + kk) * a.oh + oy) * ow;
      for (int64_t tl = 0; tl < tiles; tl++) {
        __m512i acc = _mm512_setzero_si512();
        for (int64_t g = 0; g < G; g++)
          acc = _mm512_dpbusd_epi32(acc, _mm512_load_si512(T32 + g * OW16 + tl * 16), _mm512_set1_epi32(wq[g]));
        // wrapping int32, as the GEMM epilogue: dot − za·Σw − zw·Σx + K·za·zw
        __m512i v = _mm512_add_epi32(acc, vcorr);
        v = _mm512_sub_epi32(v, _mm512_mullo_epi32(vzb, _mm512_load_si512(aSum + tl * 16)));
        const int64_t left = ow - tl * 16;
        const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
        for (int h = 0; h < 2; h++) {
          const __m256i vh = h ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v);
          __m512d y = _mm512_mul_pd(sc, _mm512_cvtepi32_pd(vh));
          if (a.bias) y = _mm512_add_pd(y, bias);
          if (a.relu) y = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(y, zero, _CMP_LT_OQ), y, zero);
          const __mmask8 mh = __mmask8(h ? (m >> 8) : (m & 0xff));
          if (mh) _mm256_mask_storeu_ps(orow + tl * 16 + h * 8, mh, _mm512_cvtpd_ps(y));
        }
      }
    }
  }
  free(T);
  free(aSum);
  return true;
}

}  // namespace wgcpu
#endif  // __x86_64__
