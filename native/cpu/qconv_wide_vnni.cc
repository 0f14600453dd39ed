// Direct int8 convolution with output channels as the lanes, AVX-512 VNNI (this file's suffix
// gives the flags; qgemm.cc calls it on the vnni path only, for symmetric weights): instead of the
// im2col + GEMM route, which spends most of its time packing one GEMM row per output pixel and
// scattering each row to NCHW (MNIST conv2, 16 → 32 channels, 5 × 5), and of the pixel-lane direct
// kernel for few taps (qgemm_conv_vnni.cc; slower on MNIST conv1). QconvWidePoolVnni is the fused
// conv → max-pool → requantize of qpool.cc's chain (cpuQconv2dMaxPool).
//   check: WATTGRAD_NATIVE=$PWD/build/<out>/Release/wattgrad.node npx vitest run
//            test/quantization/native-qconv-wide.test.ts test/quantization/qpool.test.ts
//
// Each image is first copied into a zero-point-padded buffer (padding cells read the zero point,
// as the GEMM's packed rows do; 8 spare columns on the right). A kernel row's s ≤ 8 taps of output
// pixel ox are then the contiguous bytes x[c, iy, ox·strideW + 0 .. sp) (sp = 4 or 8): one or two
// 4-byte groups loaded straight from the buffer and broadcast, times the packed weights of 16
// output channels (zero past s and past k, so the spare bytes add nothing), with vpdpbusd. A tile
// is up to 8 pixels of one output row × 32 channels (16 accumulators); no im2col, no packing per
// pixel. Weights must have zero points 0 (symmetric, what the observers give); qgemm.cc checks it.
//
// When c is a multiple of 4 the groups are 4 input channels of one tap instead (the image copy is
// channel-last, (h, w, c)): c·r·s / 4 groups with no zero padding of s (MNIST conv2: 100 groups per
// pixel instead of 160), any s and dilationW.
//
// Exactness (qconv2d bit for bit): with zw = 0 the GEMM's int32 value is v = Σ x·w − za·Σw
// (wrapping like it), and the epilogue is the GEMM's: double(scale[j]) · v (+ double(bias[j])),
// ReLU, one rounding to float32. double(scale) · v is exact (|v| ≤ c·r·s · 255 · 128 < 2^29 for
// c·r·s ≤ 16384, which qgemm.cc requires here; 24 + 29 bits ≤ 53), so the sum rounds once whether
// or not the compiler fuses the multiply and the add (it does: -mfma, GCC's default fp-contract).
#if defined(__x86_64__)  // an x86 ISA unit: compiles to nothing elsewhere (qgemm.cc names it on x86 only)
// GCC 12 warns inside its own avx512fintrin.h, as in qgemm_vnni.cc
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "qgemm.h"

namespace wgcpu {
namespace {

// r[i] (16 bytes each) → column j of the 16 × 16 byte matrix in r[j] (unpack 8 → 16 → 32 → 64 bits).
inline void Transpose16x16(__m128i r[16]) {
  __m128i t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++)
    for (int h = 0; h < 2; h++) {
      r[4 * i + 2 * h] = _mm_unpacklo_epi16(t[4 * i + h], t[4 * i + 2 + h]);
      r[4 * i + 2 * h + 1] = _mm_unpackhi_epi16(t[4 * i + h], t[4 * i + 2 + h]);
    }
  for (int i = 0; i < 2; i++)
    for (int h = 0; h < 4; h++) {
      t[8 * i + 2 * h] = _mm_unpacklo_epi32(r[8 * i + h], r[8 * i + 4 + h]);
      t[8 * i + 2 * h + 1] = _mm_unpackhi_epi32(r[8 * i + h], r[8 * i + 4 + h]);
    }
  for (int h = 0; h < 8; h++) {
    r[2 * h] = _mm_unpacklo_epi64(t[h], t[8 + h]);
    r[2 * h + 1] = _mm_unpackhi_epi64(t[h], t[8 + h]);
  }
}

inline int32_t Load32(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

// The GEMM's epilogue for 16 channels j0 .. j0 + 15 of one pixel: v = dot − za·Σw (int32), y =
// double(scale) · v (+ double(bias)), ReLU, one rounding to float32.
inline __m512 Epilogue16(const QconvWideArgs& a, int64_t j0, __m512i v) {
  const __m512d zero = _mm512_setzero_pd();
  const __m512 scf = _mm512_load_ps(a.scale + j0);
  const __m512 bif = _mm512_load_ps(a.biasp + j0);
  __m256 f[2];
  for (int h = 0; h < 2; h++) {
    const __m256i vh = h ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v);
    const __m512d sc = _mm512_cvtps_pd(h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(scf), 1))
                                         : _mm512_castps512_ps256(scf));
    __m512d y = _mm512_mul_pd(sc, _mm512_cvtepi32_pd(vh));
    if (a.bias)
      y = _mm512_add_pd(y, _mm512_cvtps_pd(h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(bif), 1))
                                             : _mm512_castps512_ps256(bif)));
    if (a.relu) y = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(y, zero, _CMP_LT_OQ), y, zero);
    f[h] = _mm512_cvtpd_ps(y);
  }
  return _mm512_castpd_ps(
      _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f[0])), _mm256_castps_pd(f[1]), 1));
}

// acc[p][b] for pixels ox0 .. ox0 + PX of output row oy, channel blocks kb0 .. kb0 + NB; then the
// epilogue into out (NCHW).
// nhwc null: NCHW into a.out; else channel-last rows nhwc[(oy·ow + ox)·kp + j] (kp = 16 · blocks), no transposition.
// vnhwc (not null): the int32 values v = dot − za·Σw channel-last instead, no epilogue (qpool's chain pools them).
template <int PX, int NB>
void Tile(const QconvWideArgs& a, const uint8_t* xp, int64_t Hp, int64_t Wp, int64_t img, int64_t oy, int64_t ox0,
          int64_t kb0, float* nhwc, int32_t* vnhwc) {
  __m512i acc[PX][NB];
#pragma GCC unroll 16
  for (int p = 0; p < PX; p++)
#pragma GCC unroll 16
    for (int b = 0; b < NB; b++) acc[p][b] = _mm512_setzero_si512();
  const __m512i* W = reinterpret_cast<const __m512i*>(a.wp);
  if (a.cg) {
    // channel groups: xp is (Hp, Wp, c); group g of tap (rr, ss) = input channels 4g .. 4g + 3
    const int64_t Cg = a.c / 4, RS = a.r * a.s, pstep = a.strideW * a.c;
    (void)Hp;
    for (int64_t rr = 0; rr < a.r; rr++)
      for (int64_t ss = 0; ss < a.s; ss++) {
        const uint8_t* px = xp + ((oy * a.strideH + rr * a.dilationH) * Wp + ox0 * a.strideW + ss * a.dilationW) * a.c;
        const __m512i* wt = W + (rr * a.s + ss) * Cg;
        for (int64_t g = 0; g < Cg; g++) {
          __m512i w[NB];
#pragma GCC unroll 16
          for (int b = 0; b < NB; b++) w[b] = _mm512_load_si512(wt + (kb0 + b) * RS * Cg + g);
#pragma GCC unroll 16
          for (int p = 0; p < PX; p++) {
            const __m512i xb = _mm512_set1_epi32(Load32(px + p * pstep + 4 * g));
#pragma GCC unroll 16
            for (int b = 0; b < NB; b++) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], xb, w[b]);
          }
        }
      }
  } else {
    const int64_t G = a.sp / 4, CR = a.c * a.r;
    for (int64_t ch = 0; ch < a.c; ch++)
      for (int64_t rr = 0; rr < a.r; rr++) {
        const uint8_t* row = xp + (ch * Hp + oy * a.strideH + rr * a.dilationH) * Wp + ox0 * a.strideW;
        for (int64_t g = 0; g < G; g++) {
          __m512i w[NB];
#pragma GCC unroll 16
          for (int b = 0; b < NB; b++) w[b] = _mm512_load_si512(W + ((kb0 + b) * CR + ch * a.r + rr) * G + g);
#pragma GCC unroll 16
          for (int p = 0; p < PX; p++) {
            const __m512i xb = _mm512_set1_epi32(Load32(row + p * a.strideW + 4 * g));
#pragma GCC unroll 16
            for (int b = 0; b < NB; b++) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], xb, w[b]);
          }
        }
      }
  }
  const int64_t kp = (a.k + 15) / 16 * 16;
  if (vnhwc) {
#pragma GCC unroll 16
    for (int b = 0; b < NB; b++) {
      const __m512i corr = _mm512_load_si512(a.corr + (kb0 + b) * 16);
#pragma GCC unroll 16
      for (int p = 0; p < PX; p++)
        _mm512_store_si512(vnhwc + (oy * a.ow + ox0 + p) * kp + (kb0 + b) * 16, _mm512_sub_epi32(acc[p][b], corr));
    }
    return;
  }
  const int64_t P = a.oh * a.ow;
  // NCHW: channel j of a pixel is P floats after channel j - 1, so each pixel's 16 channels are one
  // masked scatter (lanes past k left out) when 16 · P fits the int32 indices, else through tmp
  const bool scatter = !nhwc && 16 * P < (int64_t(1) << 31);
  const __m512i lanesP = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32(int32_t(scatter ? P : 0)));
  alignas(64) float tmp[NB * 16][PX];
#pragma GCC unroll 16
  for (int b = 0; b < NB; b++) {
    const int64_t j0 = (kb0 + b) * 16;
    const __m512i corr = _mm512_load_si512(a.corr + j0);
    const __mmask16 live = a.k - j0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (a.k - j0)) - 1);
#pragma GCC unroll 16
    for (int p = 0; p < PX; p++) {
      const __m512i v = _mm512_sub_epi32(acc[p][b], corr);  // dot − za·Σw, wrapping
      const __m512 y = Epilogue16(a, j0, v);
      if (nhwc) {
        _mm512_store_ps(nhwc + (oy * a.ow + ox0 + p) * kp + j0, y);
      } else if (scatter) {
        _mm512_mask_i32scatter_ps(a.out + (img * a.k + j0) * P + oy * a.ow + ox0 + p, live, lanesP, y, 4);
      } else {
        alignas(64) float lane[16];
        _mm512_store_ps(lane, y);
        for (int l = 0; l < 16; l++) tmp[b * 16 + l][p] = lane[l];
      }
    }
  }
  if (nhwc || scatter) return;
  for (int b = 0; b < NB; b++)
    for (int l = 0; l < 16; l++) {
      const int64_t j = (kb0 + b) * 16 + l;
      if (j >= a.k) break;
      float* o = a.out + (img * a.k + j) * P + oy * a.ow + ox0;
      for (int p = 0; p < PX; p++) o[p] = tmp[b * 16 + l][p];
    }
}

template <int NB>
void Row(const QconvWideArgs& a, const uint8_t* xp, int64_t Hp, int64_t Wp, int64_t img, int64_t oy, int64_t kb0,
         float* nhwc, int32_t* vnhwc) {
  int64_t ox = 0;
  for (; ox + 8 <= a.ow; ox += 8) Tile<8, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
  switch (a.ow - ox) {
    case 7: return Tile<7, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    case 6: return Tile<6, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    case 5: return Tile<5, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    case 4: return Tile<4, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    case 3: return Tile<3, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    case 2: return Tile<2, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    case 1: return Tile<1, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc, vnhwc);
    default: return;
  }
}

// The conv of image img: NCHW into a.out, or channel-last into nhwc (oh, ow, kp). False: out of memory.
bool Conv(const QconvWideArgs& a, int64_t img, float* nhwc, int32_t* vnhwc = nullptr) {
  // the zero-point-padded image: (c, h + 2·padH, w + 2·padW + 8), or channel-last (h + 2·padH, w + 2·padW, c)
  const int64_t Hp = a.h + 2 * a.padH, Wp = a.w + 2 * a.padW + (a.cg ? 0 : 8);
  // pool.h scratch of this OS thread, slot 2 (qpool.cc's chain holds slots 0 and 1 around this call)
  uint8_t* xp = static_cast<uint8_t*>(Scratch(0, 2, size_t(a.c * Hp * Wp)));
  if (!xp) return false;
  memset(xp, a.za, size_t(a.c * Hp * Wp));
  // locals: the byte stores below may alias anything, so fields of `a` would be reloaded per byte
  const int64_t C = a.c, H = a.h, W = a.w, pH = a.padH, pW = a.padW;
  const uint8_t* xi = a.x + img * C * H * W;
  if (a.cg && C % 16 == 0) {
    // 16 channels × 16 columns at a time: a byte transpose in registers (unpack 8 → 16 → 32 → 64
    // bits), each pixel's 16 channel bytes one store; masked at the row's end
    for (int64_t y = 0; y < H; y++)
      for (int64_t c0 = 0; c0 < C; c0 += 16)
        for (int64_t x0 = 0; x0 < W; x0 += 16) {
          const int64_t n = W - x0 < 16 ? W - x0 : 16;
          const __mmask16 m = n == 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
          __m128i r[16];
          for (int i = 0; i < 16; i++) r[i] = _mm_maskz_loadu_epi8(m, xi + ((c0 + i) * H + y) * W + x0);
          Transpose16x16(r);
          uint8_t* dst = xp + ((y + pH) * Wp + pW + x0) * C + c0;
          for (int64_t x = 0; x < n; x++) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + x * C), r[x]);
        }
  } else if (a.cg) {
    for (int64_t y = 0; y < H; y++)
      for (int64_t ch = 0; ch < C; ch++) {
        const uint8_t* src = xi + (ch * H + y) * W;
        uint8_t* dst = xp + ((y + pH) * Wp + pW) * C + ch;
        for (int64_t x = 0; x < W; x++) dst[x * C] = src[x];
      }
  } else {
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t y = 0; y < H; y++) memcpy(xp + (ch * Hp + y + pH) * Wp + pW, xi + (ch * H + y) * W, size_t(W));
  }
  const int64_t KB = (a.k + 15) / 16;
  for (int64_t oy = 0; oy < a.oh; oy++) {
    int64_t kb = 0;
    for (; kb + 2 <= KB; kb += 2) Row<2>(a, xp, Hp, Wp, img, oy, kb, nhwc, vnhwc);
    if (kb < KB) Row<1>(a, xp, Hp, Wp, img, oy, kb, nhwc, vnhwc);
  }
  return true;
}

}  // namespace

bool QconvWideVnni(const QconvWideArgs& a, int64_t img) { return Conv(a, img, nullptr); }

// conv → max-pool → requantize of one image with channels as lanes throughout (qgemm.h): the conv
// output stays channel-last (no transposition), each pool window is the lane-wise max of its
// cells' 16-channel vectors in the scan order (maxps(v, best) keeps best on ties and takes v when
// v > best: the scalar rule without NaN; a NaN in a window is refused, as quantizing the NaN the
// rule would pick is), the pooled vectors are quantized with QuantizeU8Avx512's operations, and
// the codes and their grid values (a 256-entry table of float32(scale · (q − zp))) are written NCHW.
int QconvWidePoolVnni(const QconvWideArgs& a, const QconvPoolArgs& p, float* outImage, uint8_t* codesImage) {
  // locals: the stores below (bytes, floats) may alias the argument structs' fields
  const int64_t K = a.k, kp = (K + 15) / 16 * 16, KB = kp / 16, OH = a.oh, OW = a.ow, PH = p.ph, PW = p.pw,
                PP = PH * PW;
  const int64_t kH = p.kH, kW = p.kW, sH = p.strideH, sW = p.strideW, pH = p.padH, pW = p.padW, dH = p.dilationH,
                dW = p.dilationW;
  // With every scale > 0 the epilogue y(v) (scale · v + bias, ReLU, rounding) is non-decreasing in
  // the int32 value v, so the max of a window's outputs is y(max v): pool the int32 values, then run
  // the epilogue on the pooled ones only (a quarter of them for 2 × 2). Else pool the float outputs.
  bool increasing = true;
  for (int64_t j = 0; j < K; j++) increasing = increasing && a.scale[j] > 0;
  // grow-only scratch of this OS thread (pool.h), slots 0 and 1; Conv takes slot 2
  void* C = Scratch(0, 0, size_t(OH * OW * kp) * 4);
  uint8_t* Q = static_cast<uint8_t*>(Scratch(0, 1, size_t(PP * kp)));
  float* Cf = increasing ? nullptr : static_cast<float*>(C);
  int32_t* Ci = increasing ? static_cast<int32_t*>(C) : nullptr;
  if (!C || !Q || !Conv(a, 0, Cf, Ci)) return 1;
  const __m512d vinv = _mm512_set1_pd(p.inv);
  const __m512d lo = _mm512_set1_pd(double(p.qmin - p.zeroPoint) - 1),
                hi = _mm512_set1_pd(double(p.qmax - p.zeroPoint) + 1);
  const __m512i zp = _mm512_set1_epi32(p.zeroPoint), qlo = _mm512_set1_epi32(p.qmin), qhi = _mm512_set1_epi32(p.qmax);
  const __m512i sh = _mm512_set1_epi32(p.shift);
  // 2 × 2 windows at stride 2 inside the conv output (every CNN's pool): four cells, no bounds checks
  const bool quad = kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0 && dH == 1 && dW == 1 &&
                    2 * PH <= OH && 2 * PW <= OW;
  __mmask16 nan = 0;
  for (int64_t py = 0; py < PH; py++)
    for (int64_t px = 0; px < PW; px++) {
      const int64_t h0 = py * sH - pH, w0 = px * sW - pW;
      for (int64_t kb = 0; kb < KB; kb++) {
        __m512 best = _mm512_set1_ps(-__builtin_inff());  // an empty window (no cell inside) stays -inf
        __m512i vbest = _mm512_setzero_si512();
        bool any = false;
        if (quad) {
          // scan order (0, 0), (0, 1), (1, 0), (1, 1): best = max(v, best) keeps the first of equals
          const int64_t at = (h0 * OW + w0) * kp + kb * 16, down = OW * kp;
          any = true;
          if (increasing) {
            vbest = _mm512_load_si512(Ci + at);
            vbest = _mm512_max_epi32(_mm512_load_si512(Ci + at + kp), vbest);
            vbest = _mm512_max_epi32(_mm512_load_si512(Ci + at + down), vbest);
            vbest = _mm512_max_epi32(_mm512_load_si512(Ci + at + down + kp), vbest);
          } else {
            const __m512 v0 = _mm512_load_ps(Cf + at), v1 = _mm512_load_ps(Cf + at + kp);
            const __m512 v2 = _mm512_load_ps(Cf + at + down), v3 = _mm512_load_ps(Cf + at + down + kp);
            nan |= _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q) |
                   _mm512_cmp_ps_mask(v2, v2, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v3, v3, _CMP_UNORD_Q);
            best = _mm512_max_ps(v3, _mm512_max_ps(v2, _mm512_max_ps(v1, v0)));
          }
        } else {
          for (int64_t r = 0; r < kH; r++) {
            const int64_t ih = h0 + r * dH;
            if (ih < 0 || ih >= OH) continue;
            for (int64_t s = 0; s < kW; s++) {
              const int64_t iw = w0 + s * dW;
              if (iw < 0 || iw >= OW) continue;
              const int64_t at = (ih * OW + iw) * kp + kb * 16;
              if (increasing) {
                const __m512i v = _mm512_load_si512(Ci + at);
                vbest = any ? _mm512_max_epi32(v, vbest) : v;
              } else {
                const __m512 v = _mm512_load_ps(Cf + at);
                nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                best = any ? _mm512_max_ps(v, best) : v;
              }
              any = true;
            }
          }
        }
        if (increasing && any) {
          best = Epilogue16(a, kb * 16, vbest);
          nan |= _mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q);  // a NaN bias
        }
        // quantize 16 values: double product, clamp, round half to even, + zp, clamp, + shift
        __m512d t0 = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(best)), vinv);
        __m512d t1 =
            _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(best), 1))), vinv);
        t0 = _mm512_min_pd(_mm512_max_pd(t0, lo), hi);
        t1 = _mm512_min_pd(_mm512_max_pd(t1, lo), hi);
        t0 = _mm512_roundscale_pd(t0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        t1 = _mm512_roundscale_pd(t1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtpd_epi32(t0)), _mm512_cvtpd_epi32(t1), 1);
        q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zp), qlo), qhi), sh);
        _mm_store_si128(reinterpret_cast<__m128i*>(Q + (py * PW + px) * kp + kb * 16), _mm512_cvtepi32_epi8(q));
      }
    }
  if (nan) return 2;
  // codes (pp, kp) channel-last → NCHW: 16 positions × 16 channels at a time, transposed in registers,
  // then each channel's 16 grid values float32(scale · (q − zp)) in double (exact product, one
  // rounding) and, when asked, its 16 codes
  const __m512d vsc = _mm512_set1_pd(p.scale);
  const __m512i vzq = _mm512_set1_epi32(p.zeroPoint + p.shift);
  for (int64_t i0 = 0; i0 < PP; i0 += 16) {
    const int64_t n = PP - i0 < 16 ? PP - i0 : 16;
    const __mmask16 m = n == 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
    for (int64_t kb = 0; kb < KB; kb++) {
      __m128i r[16];
      for (int64_t t = 0; t < 16; t++)
        r[t] =
            t < n ? _mm_load_si128(reinterpret_cast<const __m128i*>(Q + (i0 + t) * kp + kb * 16)) : _mm_setzero_si128();
      Transpose16x16(r);
      for (int l = 0; l < 16; l++) {
        const int64_t j = kb * 16 + l;
        if (j >= K) break;
        const __m512i d = _mm512_sub_epi32(_mm512_cvtepu8_epi32(r[l]), vzq);
        const __m256 f0 = _mm512_cvtpd_ps(_mm512_mul_pd(vsc, _mm512_cvtepi32_pd(_mm512_castsi512_si256(d))));
        const __m256 f1 = _mm512_cvtpd_ps(_mm512_mul_pd(vsc, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(d, 1))));
        const __m512 f =
            _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f0)), _mm256_castps_pd(f1), 1));
        _mm512_mask_storeu_ps(outImage + j * PP + i0, m, f);
        if (codesImage) _mm_mask_storeu_epi8(codesImage + j * PP + i0, m, r[l]);
      }
    }
  }
  return 0;
}

}  // namespace wgcpu
#endif  // __x86_64__
