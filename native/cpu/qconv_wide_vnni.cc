// Direct int8 convolution with output channels as the lanes, AVX-512 VNNI (this file's suffix
// gives the flags; qgemm.cc calls it on the vnni path only): for convolutions with many taps
// (c · r · s > 64, e.g. the second conv of an image model, 16 → 32 channels, 5 × 5), where the
// im2col + GEMM route spends most of its time packing one GEMM row per output pixel and
// scattering each row to NCHW.
//
// Each image is first copied into a zero-point-padded buffer (padding cells read the zero point,
// as the GEMM's packed rows do; 8 spare columns on the right). A kernel row's s ≤ 8 taps of output
// pixel ox are then the contiguous bytes x[c, iy, ox·strideW + 0 .. sp) (sp = 4 or 8): one or two
// 4-byte groups loaded straight from the buffer and broadcast, times the packed weights of 16
// output channels (zero past s and past k, so the spare bytes add nothing), with vpdpbusd. A tile
// is up to 8 pixels of one output row × 32 channels (16 accumulators); no im2col, no packing per
// pixel. Weights must have zero points 0 (symmetric, what the observers give); qgemm.cc checks it.
//
// Exactness (qconv2d bit for bit): with zw = 0 the GEMM's int32 value is v = Σ x·w − za·Σw
// (wrapping like it), and the epilogue is the GEMM's: double(scale[j]) · v (+ double(bias[j])),
// ReLU, one rounding to float32 (double(scale) · v is exact: |v| < 2^25, 24 + 25 bits < 53).
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

inline int32_t Load32(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

// acc[p][b] for pixels ox0 .. ox0 + PX of output row oy, channel blocks kb0 .. kb0 + NB; then the
// epilogue into out (NCHW).
// nhwc null: NCHW into a.out; else channel-last rows nhwc[(oy·ow + ox)·kp + j] (kp = 16 · blocks), no transposition.
template <int PX, int NB>
void Tile(const QconvWideArgs& a, const uint8_t* xp, int64_t Hp, int64_t Wp, int64_t img, int64_t oy, int64_t ox0,
          int64_t kb0, float* nhwc) {
  __m512i acc[PX][NB];
  for (int p = 0; p < PX; p++)
    for (int b = 0; b < NB; b++) acc[p][b] = _mm512_setzero_si512();
  const int64_t G = a.sp / 4, CR = a.c * a.r;
  const __m512i* W = reinterpret_cast<const __m512i*>(a.wp);
  for (int64_t ch = 0; ch < a.c; ch++)
    for (int64_t rr = 0; rr < a.r; rr++) {
      const uint8_t* row = xp + (ch * Hp + oy * a.strideH + rr * a.dilationH) * Wp + ox0 * a.strideW;
      for (int64_t g = 0; g < G; g++) {
        __m512i w[NB];
        for (int b = 0; b < NB; b++) w[b] = _mm512_load_si512(W + ((kb0 + b) * CR + ch * a.r + rr) * G + g);
        for (int p = 0; p < PX; p++) {
          const __m512i xb = _mm512_set1_epi32(Load32(row + p * a.strideW + 4 * g));
          for (int b = 0; b < NB; b++) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], xb, w[b]);
        }
      }
    }
  alignas(64) float tmp[NB * 16][PX];
  const __m512d zero = _mm512_setzero_pd();
  for (int b = 0; b < NB; b++) {
    const int64_t j0 = (kb0 + b) * 16;
    const __m512i corr = _mm512_load_si512(a.corr + j0);
    const __m512 scf = _mm512_load_ps(a.scale + j0);
    const __m512 bif = _mm512_load_ps(a.biasp + j0);
    const __m512d sc[2] = {_mm512_cvtps_pd(_mm512_castps512_ps256(scf)),
                           _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(scf), 1)))};
    const __m512d bi[2] = {_mm512_cvtps_pd(_mm512_castps512_ps256(bif)),
                           _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(bif), 1)))};
    for (int p = 0; p < PX; p++) {
      const __m512i v = _mm512_sub_epi32(acc[p][b], corr);  // dot − za·Σw, wrapping
      alignas(64) float lane[16];
      float* dst = nhwc ? nhwc + (oy * a.ow + ox0 + p) * ((a.k + 15) / 16 * 16) + j0 : lane;
      for (int h = 0; h < 2; h++) {
        const __m256i vh = h ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v);
        __m512d y = _mm512_mul_pd(sc[h], _mm512_cvtepi32_pd(vh));
        if (a.bias) y = _mm512_add_pd(y, bi[h]);
        if (a.relu) y = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(y, zero, _CMP_LT_OQ), y, zero);
        _mm256_store_ps(dst + 8 * h, _mm512_cvtpd_ps(y));
      }
      if (!nhwc)
        for (int l = 0; l < 16; l++) tmp[b * 16 + l][p] = lane[l];
    }
  }
  if (nhwc) return;
  const int64_t P = a.oh * a.ow;
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
         float* nhwc) {
  int64_t ox = 0;
  for (; ox + 8 <= a.ow; ox += 8) Tile<8, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
  switch (a.ow - ox) {
    case 7: return Tile<7, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    case 6: return Tile<6, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    case 5: return Tile<5, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    case 4: return Tile<4, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    case 3: return Tile<3, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    case 2: return Tile<2, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    case 1: return Tile<1, NB>(a, xp, Hp, Wp, img, oy, ox, kb0, nhwc);
    default: return;
  }
}

// The conv of image img: NCHW into a.out, or channel-last into nhwc (oh, ow, kp). False: out of memory.
bool Conv(const QconvWideArgs& a, int64_t img, float* nhwc) {
  // the zero-point-padded image: (c, h + 2·padH, w + 2·padW + 8)
  const int64_t Hp = a.h + 2 * a.padH, Wp = a.w + 2 * a.padW + 8;
  // pool.h scratch of this OS thread, slot 2 (qpool.cc's chain holds slots 0 and 1 around this call)
  uint8_t* xp = static_cast<uint8_t*>(Scratch(0, 2, size_t(a.c * Hp * Wp)));
  if (!xp) return false;
  memset(xp, a.za, size_t(a.c * Hp * Wp));
  for (int64_t ch = 0; ch < a.c; ch++)
    for (int64_t y = 0; y < a.h; y++)
      memcpy(xp + (ch * Hp + y + a.padH) * Wp + a.padW, a.x + ((img * a.c + ch) * a.h + y) * a.w, size_t(a.w));
  const int64_t KB = (a.k + 15) / 16;
  for (int64_t oy = 0; oy < a.oh; oy++) {
    int64_t kb = 0;
    for (; kb + 2 <= KB; kb += 2) Row<2>(a, xp, Hp, Wp, img, oy, kb, nhwc);
    if (kb < KB) Row<1>(a, xp, Hp, Wp, img, oy, kb, nhwc);
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
  const int64_t kp = (a.k + 15) / 16 * 16, KB = kp / 16, PP = p.ph * p.pw;
  // grow-only scratch of this OS thread (pool.h), slots 0 and 1; Conv takes slot 2
  float* C = static_cast<float*>(Scratch(0, 0, size_t(a.oh * a.ow * kp) * 4));
  uint8_t* Q = static_cast<uint8_t*>(Scratch(0, 1, size_t(PP * kp)));
  if (!C || !Q || !Conv(a, 0, C)) return 1;
  const __m512d vinv = _mm512_set1_pd(p.inv);
  const __m512d lo = _mm512_set1_pd(double(p.qmin - p.zeroPoint) - 1),
                hi = _mm512_set1_pd(double(p.qmax - p.zeroPoint) + 1);
  const __m512i zp = _mm512_set1_epi32(p.zeroPoint), qlo = _mm512_set1_epi32(p.qmin), qhi = _mm512_set1_epi32(p.qmax);
  const __m512i sh = _mm512_set1_epi32(p.shift);
  __mmask16 nan = 0;
  for (int64_t py = 0; py < p.ph; py++)
    for (int64_t px = 0; px < p.pw; px++) {
      const int64_t h0 = py * p.strideH - p.padH, w0 = px * p.strideW - p.padW;
      for (int64_t kb = 0; kb < KB; kb++) {
        __m512 best = _mm512_set1_ps(-__builtin_inff());
        bool first = true;
        for (int64_t r = 0; r < p.kH; r++) {
          const int64_t ih = h0 + r * p.dilationH;
          if (ih < 0 || ih >= a.oh) continue;
          for (int64_t s = 0; s < p.kW; s++) {
            const int64_t iw = w0 + s * p.dilationW;
            if (iw < 0 || iw >= a.ow) continue;
            const __m512 v = _mm512_load_ps(C + (ih * a.ow + iw) * kp + kb * 16);
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            best = first ? v : _mm512_max_ps(v, best);
            first = false;
          }
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
        _mm_store_si128(reinterpret_cast<__m128i*>(Q + (py * p.pw + px) * kp + kb * 16), _mm512_cvtepi32_epi8(q));
      }
    }
  if (nan) return 2;
  float lut[256];
  const int32_t zq = p.zeroPoint + p.shift;
  for (int v = 0; v < 256; v++) lut[v] = float(p.scale * double(v - zq));
  for (int64_t j = 0; j < a.k; j++) {
    float* o = outImage + j * PP;
    uint8_t* oc = codesImage ? codesImage + j * PP : nullptr;
    for (int64_t i = 0; i < PP; i++) {
      const uint8_t v = Q[i * kp + j];
      o[i] = lut[v];
      if (oc) oc[i] = v;
    }
  }
  return 0;
}

}  // namespace wgcpu
