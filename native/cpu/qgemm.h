// int8 GEMM (quint8 activations × qint8 weights, int32 accumulation) of the quantized layers
// (lib/quantization/qgemm.ts is the contract and the js reference). Plain C types only: this
// header is shared by translation units built with different -m flags (qgemm_avx2.cc,
// qgemm_vnni.cc).
//
// Every dot kernel computes, for rows i in [i0, i1) of a and every row j < np of b,
//   dot[i * np + j] = Σ_{p < kp} a[i * kp + p] · b[j * kp + p]        (exact int32)
// over buffers packed by qgemm.cc: k padded with zeros to kp (a multiple of 64), the rows of a
// padded to a multiple of 4 and of b to a multiple of 4, 64-byte aligned. i0 and i1 are
// multiples of 4.
//   - QgemmDotVnni: AVX-512 VNNI vpdpbusd (u8 × s8, four products summed into int32 with no
//     intermediate saturation): any a in [0, 255], b in [-128, 127].
//   - QgemmDotAvx2: AVX2 vpmaddubsw + vpmaddwd. vpmaddubsw sums two u8 × s8 products into an
//     int16 WITH saturation (255 · 127 · 2 = 64,770 > 32,767), so this kernel requires
//     a <= 127 (then |a0·b0 + a1·b1| <= 2 · 127 · 128 = 32,512: exact). qgemm.cc guarantees it:
//     when some activation exceeds 127 it splits a = (a & 127) + 128 · (a >> 7) and runs the
//     kernel twice (each half saturation-free), so the result is exact for every input.
//   - QgemmDotScalar: the portable reference in C.
#pragma once

#include <stdint.h>

namespace wgcpu {

typedef void (*QgemmDotFn)(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0,
                           int64_t i1);

void QgemmDotScalar(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0, int64_t i1);
void QgemmDotAvx2(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0, int64_t i1);
void QgemmDotVnni(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0, int64_t i1);

// One output row's epilogue (see qgemm.ts): for j < n,
//   v = int32(dot[j] (+ 128 · dotHi[j]) − za · bSum[j] − bZero[j] · aSum + k · za · bZero[j])   (mod 2^32)
//   acc[j] = v (when acc); y = double(scale[j]) · v + double(bias[j]) (0 without bias);
//   out[j] = float(relu && y < 0 ? 0 : y)
// exactly as the js reference computes it (the vector versions do the same operations in double).
struct QgemmRow {
  const int32_t* dot;
  const int32_t* dotHi;  // or null
  const int32_t* bSum;
  const int32_t* bZero;
  const float* scale;
  const float* bias;  // or null
  float* out;
  int32_t* acc;  // or null
  int64_t n;
  int32_t za, aSum, k;
  bool relu;
};
typedef void (*QgemmEpilogueFn)(const QgemmRow& r);
void QgemmEpilogueScalar(const QgemmRow& r);
void QgemmEpilogueAvx2(const QgemmRow& r);
void QgemmEpilogueAvx512(const QgemmRow& r);

// out[i] = clamp(round_half_even(x[i] · inv) + zeroPoint, qmin, qmax) + shift (product in double);
// returns false when x holds a NaN (out is then unspecified).
typedef bool (*QuantizeU8Fn)(const float* x, uint8_t* out, int64_t n, double inv, int32_t zeroPoint, int32_t qmin,
                             int32_t qmax, int32_t shift);
bool QuantizeU8Scalar(const float* x, uint8_t* out, int64_t n, double inv, int32_t zeroPoint, int32_t qmin,
                      int32_t qmax, int32_t shift);
bool QuantizeU8Avx512(const float* x, uint8_t* out, int64_t n, double inv, int32_t zeroPoint, int32_t qmin,
                      int32_t qmax, int32_t shift);

// The direct int8 convolution of one image for few taps (qgemm_conv_vnni.cc): x (n, c, h, w)
// quint8; wq (k, ⌈c·r·s / 4⌉) the weights as 4-byte groups (zero-padded); wSum[k] = Σ w[k];
// scale[k] = float32(xScale · wScale[k]); out (n, k, oh, ow) float32. False when out of memory.
struct QconvDirectArgs {
  const uint8_t* x;
  const int32_t* wq;
  const int32_t* wSum;
  const int32_t* wZero;
  const float* scale;
  const float* bias;  // or null
  float* out;
  int64_t c, h, w, k, r, s, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW;
  int32_t za;
  bool relu;
};
bool QconvDirectVnni(const QconvDirectArgs& a, int64_t img);

// The direct int8 convolution of one image with output channels as lanes (qconv_wide_vnni.cc), for
// weight zero points 0 and either c % 4 == 0 (cg) or dilationW 1 and s <= 8: x (n, c, h, w) quint8; wp the weights
// packed as [k / 16 blocks][c][r][sp / 4 groups] of 64 bytes (16 channels × 4 taps, zero past s and k), 64-byte
// aligned; corr[j] = za · Σ w[j] (wrapped), scale[j] = float32(xScale · wScale[j]) and biasp[j] (0 without bias), each
// padded to a multiple of 16; out (n, k, oh, ow) float32.
struct QconvWideArgs {
  const uint8_t* x;
  const int8_t* wp;
  const int32_t* corr;
  const float* scale;
  const float* biasp;
  const float* bias;  // null: no bias (biasp is 0)
  float* out;
  int64_t c, h, w, k, r, s, sp, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW;
  int32_t za;
  bool relu;
  bool cg;  // c % 4 == 0: groups of 4 input channels, wp packed [k / 16][r][s][c / 4] (any s, dilationW)
};
bool QconvWideVnni(const QconvWideArgs& a, int64_t img);

// The max pool over a conv output (oh, ow) and the requantization of qpool.cc's chain: window,
// pooled size (ph, pw), inv = 1 / scale (double), zero point, clamp range and shift (0, or 128 for
// qint8 stored as u8), as cpuQuantizeU8 takes them.
struct QconvPoolArgs {
  int64_t kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, ph, pw;
  double scale, inv;
  int32_t zeroPoint, qmin, qmax, shift;
};
// One image (a.x is its (c, h, w) input): conv, pool, quantize; outImage (k, ph, pw) the grid values,
// codesImage (or null) the codes. 0 ok, 1 out of memory, 2 a NaN in a pool window.
int QconvWidePoolVnni(const QconvWideArgs& a, const QconvPoolArgs& p, float* outImage, uint8_t* codesImage);

// A direct convolution prepared once (weights packed) and run image by image, e.g. inside a
// caller's pool tasks (qpool.cc): QconvPlanImages returns 1 (planned), 0 (the shape takes the
// im2col GEMM: use CpuQconv2dU8S8S32) or -1 (out of memory); QconvPlanRun writes one image's
// (k, oh, ow) output from its (c, h, w) input, false when out of memory; QconvPlanFree releases it.
struct QconvImagePlan {
  int kind;  // 1: channel lanes (wide), 2: pixel lanes (direct)
  QconvWideArgs wide;
  QconvDirectArgs direct;
  void* mem[4];
};
int QconvPlanImages(QconvImagePlan* plan, const int8_t* wt, const float* wScale, const int32_t* wZeroPoint,
                    const float* bias, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s, int64_t oh,
                    int64_t ow, int64_t strideH, int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH,
                    int64_t dilationW, double xScale, int64_t xZeroPoint, bool relu);
bool QconvPlanRun(const QconvImagePlan& plan, const uint8_t* xImage, float* outImage);
void QconvPlanFree(QconvImagePlan* plan);

// min / max of x (n >= 1, AVX-512: the vnni path); false when x holds a NaN.
bool MinMaxF32Avx512(const float* x, int64_t n, float* lo, float* hi);

// The full contract of cpuQgemmU8S8S32 (see qgemm.ts): acc (optional) and out (m, n).
struct QgemmArgs {
  const uint8_t* a;  // (m, k)
  const int8_t* b;   // (n, k)
  const float* bScale;
  const int32_t* bZeroPoint;
  const float* bias;  // or null
  float* out;
  int32_t* acc;  // or null
  int64_t m, n, k;
  double aScale;
  int32_t aZeroPoint;
  bool relu;
};

// Runs the int8 GEMM on the selected path; false when out of memory for the packing buffers.
bool Qgemm(const QgemmArgs& x);

// The path Qgemm runs: "vnni", "avx2" or "scalar". By default the best this CPU supports and the
// CPU kernel table allows (WATTGRAD_CPU_ISA=avx2 rules out vnni, =sse2 leaves scalar).
const char* QgemmIsa();
// Paths this CPU can run, best first; returns the count.
int QgemmSupportedIsas(const char** names, int cap);
// Forces a path ("vnni", "avx2", "scalar"), or "auto" for the default; false when not supported.
bool QgemmSelectIsa(const char* name);

}  // namespace wgcpu
