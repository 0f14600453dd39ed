// Max pooling for inference, and the conv → requantize → max-pool chain of static int8 models
// (lib/quantization/qpool.ts is the contract and the js reference; native/manifest/cpu/qpool.mjs
// the entry points).
//
//   CpuMaxPool2dValues: y (batch, channels, outH, outW) = max over each dilated window of x
//     (batch, channels, inH, inW), the argmax-free twin of pool2d.cc's MaxPool2d: the same scan
//     order and rule (best = v when v > best, or v is NaN and best is not: the first NaN wins, of
//     equal values the first; padding never wins, an empty window is -inf), so y is bit for bit the
//     same. Inference writes no int32 index per output (nothing will read it).
//   CpuQconv2dMaxPool: the int8 conv (qgemm.cc's CpuQconv2dU8S8S32), then per image, while its
//     float output is in cache, the max pool of it, cpuQuantizeU8 of the pooled values with the next
//     int8 layer's input parameters, and their grid values float32(scale · (q − zp)). The unfused
//     model computes quantize(maxpool(conv)) too (at the next layer's input), so the result is the
//     same bit for bit; it skips the float pool's full-size output and index writes, and the
//     separate quantize pass.
//
// Fast path: 2 × 2 windows, stride 2, no padding or dilation (every CNN's pool), SSE2 (the x86-64
// baseline), four outputs per step: best = maxps(v, best) in the scan order keeps best on ties and
// takes v when v > best, which is the rule above when no NaN is present; a group of four whose
// inputs hold a NaN is redone by the scalar loop. Tasks are fixed chunks of planes (or images), so
// results do not depend on the thread count.
//
// Check: WATTGRAD_NATIVE=$PWD/build/<out>/Release/wattgrad.node npx vitest run test/quantization/qpool.test.ts

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <atomic>

#include "gen_qgemm.h"
#include "gen_qpool.h"
#include "pool.h"
#include "qgemm.h"

namespace wgcpu {
namespace {

struct Win {
  int64_t inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW;
};

template <class T>
inline void Keep(T v, T& best) {
  if (v > best || (v != v && best == best)) best = v;
}

// One plane: X (inH, inW) → Y (outH, outW).
template <class T>
void PoolPlane(const Win& g, const T* X, T* Y) {
  const bool inside = g.padH == 0 && g.padW == 0 && (g.outH - 1) * g.strideH + (g.kH - 1) * g.dilationH < g.inH &&
                      (g.outW - 1) * g.strideW + (g.kW - 1) * g.dilationW < g.inW;
  for (int64_t oh = 0; oh < g.outH; oh++) {
    int64_t ow = 0;
#if defined(__SSE2__)
    if (sizeof(T) == 4 && inside && g.kH == 2 && g.kW == 2 && g.strideH == 2 && g.strideW == 2 && g.dilationH == 1 &&
        g.dilationW == 1) {
      const float* r0 = reinterpret_cast<const float*>(X) + (2 * oh) * g.inW;
      const float* r1 = r0 + g.inW;
      float* y = reinterpret_cast<float*>(Y) + oh * g.outW;
      for (; ow + 4 <= g.outW; ow += 4) {
        const __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), b0 = _mm_loadu_ps(r0 + 2 * ow + 4);
        const __m128 a1 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
        const __m128 nan = _mm_or_ps(_mm_or_ps(_mm_cmpunord_ps(a0, a0), _mm_cmpunord_ps(b0, b0)),
                                     _mm_or_ps(_mm_cmpunord_ps(a1, a1), _mm_cmpunord_ps(b1, b1)));
        if (_mm_movemask_ps(nan)) break;  // the scalar loop takes it from here (exact NaN rule)
        // scan order of a window: (0, 0), (0, 1), (1, 0), (1, 1)
        __m128 best = _mm_shuffle_ps(a0, b0, _MM_SHUFFLE(2, 0, 2, 0));
        best = _mm_max_ps(_mm_shuffle_ps(a0, b0, _MM_SHUFFLE(3, 1, 3, 1)), best);
        best = _mm_max_ps(_mm_shuffle_ps(a1, b1, _MM_SHUFFLE(2, 0, 2, 0)), best);
        best = _mm_max_ps(_mm_shuffle_ps(a1, b1, _MM_SHUFFLE(3, 1, 3, 1)), best);
        _mm_storeu_ps(y + ow, best);
      }
    }
#endif
    for (; ow < g.outW; ow++) {
      T best;
      if (inside) {
        const int64_t h0 = oh * g.strideH, w0 = ow * g.strideW;
        best = X[h0 * g.inW + w0];
        for (int64_t r = 0; r < g.kH; r++) {
          const T* row = X + (h0 + r * g.dilationH) * g.inW + w0;
          for (int64_t s = r == 0 ? 1 : 0; s < g.kW; s++) Keep(row[s * g.dilationW], best);
        }
      } else {
        const int64_t h0 = oh * g.strideH - g.padH, w0 = ow * g.strideW - g.padW;
        best = T(-INFINITY);
        bool first = true;
        for (int64_t r = 0; r < g.kH; r++) {
          const int64_t ih = h0 + r * g.dilationH;
          if (ih < 0 || ih >= g.inH) continue;
          for (int64_t s = 0; s < g.kW; s++) {
            const int64_t iw = w0 + s * g.dilationW;
            if (iw < 0 || iw >= g.inW) continue;
            const T v = X[ih * g.inW + iw];
            if (first) {
              best = v;  // the first cell inside the image starts the window
              first = false;
            } else {
              Keep(v, best);
            }
          }
        }
      }
      Y[oh * g.outW + ow] = best;
    }
  }
}

template <class T>
struct ValuesJob {
  const Win* g;
  const T* x;
  T* y;
  int64_t planes, per;
};

template <class T>
void ValuesTask(void* p, int64_t t, int) {
  const ValuesJob<T>& j = *static_cast<const ValuesJob<T>*>(p);
  const int64_t in = j.g->inH * j.g->inW, out = j.g->outH * j.g->outW;
  const int64_t p0 = t * j.per, p1 = p0 + j.per < j.planes ? p0 + j.per : j.planes;
  for (int64_t pl = p0; pl < p1; pl++) PoolPlane(*j.g, j.x + pl * in, j.y + pl * out);
}

template <class T>
const char* MaxPoolValues(const T* x, T* y, int64_t batch, int64_t channels, const Win& g) {
  const int64_t planes = batch * channels;
  if (planes == 0 || g.outH == 0 || g.outW == 0) return nullptr;
  // about 32 Ki window cells per task (a few µs), at least one plane
  const int64_t cells = g.outH * g.outW * g.kH * g.kW;
  int64_t per = (int64_t(1) << 15) / (cells > 0 ? cells : 1);
  per = per < 1 ? 1 : per;
  ValuesJob<T> j{&g, x, y, planes, per};
  ParallelFor((planes + per - 1) / per, ValuesTask<T>, &j);
  return nullptr;
}

// ---- conv → requantize → max-pool ------------------------------------------------------------

struct Chain {
  // the conv (CpuQconv2dU8S8S32's arguments for one image, x advanced per image)
  const uint8_t* x;
  const int8_t* wt;
  const float* wScale;
  const int32_t* wZeroPoint;
  const float* bias;
  int64_t c, h, w, k, r, s, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW;
  double xScale;
  int64_t xZeroPoint;
  bool relu;
  // the pool over (oh, ow) and the requantization
  Win pool;
  double outScale;
  int64_t outZeroPoint, quantMin, quantMax, shift;
  float* out;
  uint8_t* codes;              // or null
  const float* convAll;        // the whole batch's conv output when it ran before the tasks, else null
  const QconvImagePlan* plan;  // else the direct conv, run by each task on its image
  QconvPoolArgs pa;            // the pool and requantization, for the channel-lane kernel's fused path
  std::atomic<int>* error;     // 1: out of memory, 2: NaN
};

// Pools, requantizes and writes image img from its conv output `conv` (k, oh, ow).
bool PoolQuantize(const Chain& ch, int64_t img, const float* conv, int thread) {
  const int64_t in = ch.oh * ch.ow, out = ch.pool.outH * ch.pool.outW, n = ch.k * out;
  float* pooled = static_cast<float*>(Scratch(thread, 1, size_t(n) * 4));
  uint8_t* q = ch.codes ? ch.codes + img * n : static_cast<uint8_t*>(Scratch(thread, 2, size_t(n)));
  if (!pooled || !q) {
    ch.error->store(1);
    return false;
  }
  for (int64_t kk = 0; kk < ch.k; kk++) PoolPlane(ch.pool, conv + kk * in, pooled + kk * out);
  if (CpuQuantizeU8(pooled, q, n, ch.outScale, ch.outZeroPoint, ch.quantMin, ch.quantMax, ch.shift) != nullptr) {
    ch.error->store(2);
    return false;
  }
  // the grid values: scale (a float32) · an integer of at most 9 bits is exact in double, one rounding
  const double sc = ch.outScale;
  const int32_t zp = int32_t(ch.outZeroPoint + ch.shift);
  float* o = ch.out + img * n;
  for (int64_t i = 0; i < n; i++) o[i] = float(sc * double(int32_t(q[i]) - zp));
  return true;
}

void ChainTask(void* p, int64_t img, int thread) {
  const Chain& ch = *static_cast<const Chain*>(p);
  if (ch.error->load() != 0) return;
  const int64_t convN = ch.k * ch.oh * ch.ow;
  if (ch.convAll) {
    PoolQuantize(ch, img, ch.convAll + img * convN, thread);
    return;
  }
#if defined(__x86_64__)  // (plans exist on x86 only: the direct kernels are its ISA units)
  if (ch.plan->kind == 1) {
    // channels as lanes: conv, pool and quantize fused in the vnni unit (channel-last inside)
    QconvWideArgs a = ch.plan->wide;
    a.x = ch.x + img * ch.c * ch.h * ch.w;
    const int64_t n = ch.k * ch.pool.outH * ch.pool.outW;
    const int e = QconvWidePoolVnni(a, ch.pa, ch.out + img * n, ch.codes ? ch.codes + img * n : nullptr);
    if (e) ch.error->store(e);
    return;
  }
#endif
  float* conv = static_cast<float*>(Scratch(thread, 0, size_t(convN) * 4));
  if (!conv || !QconvPlanRun(*ch.plan, ch.x + img * ch.c * ch.h * ch.w, conv)) {
    ch.error->store(1);
    return;
  }
  PoolQuantize(ch, img, conv, thread);
}

}  // namespace

const char* CpuMaxPool2dValues(const float* x, float* y, int64_t batch, int64_t channels, int64_t inH, int64_t inW,
                               int64_t outH, int64_t outW, int64_t kH, int64_t kW, int64_t strideH, int64_t strideW,
                               int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW) {
  const Win g{inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW};
  return MaxPoolValues(x, y, batch, channels, g);
}

const char* CpuMaxPool2dValues(const double* x, double* y, int64_t batch, int64_t channels, int64_t inH, int64_t inW,
                               int64_t outH, int64_t outW, int64_t kH, int64_t kW, int64_t strideH, int64_t strideW,
                               int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW) {
  const Win g{inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW};
  return MaxPoolValues(x, y, batch, channels, g);
}

const char* CpuQconv2dMaxPool(const uint8_t* x, const int8_t* wt, const float* wScale, const int32_t* wZeroPoint,
                              const float* bias, float* out, uint8_t* codes, int64_t n, int64_t c, int64_t h, int64_t w,
                              int64_t k, int64_t r, int64_t s, int64_t oh, int64_t ow, int64_t strideH, int64_t strideW,
                              int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW, double xScale,
                              int64_t xZeroPoint, bool relu, int64_t poolKH, int64_t poolKW, int64_t poolStrideH,
                              int64_t poolStrideW, int64_t poolPadH, int64_t poolPadW, int64_t poolDilationH,
                              int64_t poolDilationW, int64_t ph, int64_t pw, double outScale, int64_t outZeroPoint,
                              int64_t quantMin, int64_t quantMax, int64_t shift) {
  if (n == 0 || k == 0) return nullptr;
  std::atomic<int> error{0};
  Chain ch{
      x,
      wt,
      wScale,
      wZeroPoint,
      bias,
      c,
      h,
      w,
      k,
      r,
      s,
      oh,
      ow,
      strideH,
      strideW,
      padH,
      padW,
      dilationH,
      dilationW,
      xScale,
      xZeroPoint,
      relu,
      Win{oh, ow, ph, pw, poolKH, poolKW, poolStrideH, poolStrideW, poolPadH, poolPadW, poolDilationH, poolDilationW},
      outScale,
      outZeroPoint,
      quantMin,
      quantMax,
      shift,
      out,
      codes,
      nullptr,
      nullptr,
      QconvPoolArgs{poolKH, poolKW, poolStrideH, poolStrideW, poolPadH, poolPadW, poolDilationH, poolDilationW, ph, pw,
                    outScale, 1.0 / outScale, int32_t(outZeroPoint), int32_t(quantMin), int32_t(quantMax),
                    int32_t(shift)},
      &error};
  // Where qgemm.cc convolves directly (the vnni kernels: per image, no shared buffers) each task
  // convolves its image itself; the im2col GEMM (shared packing buffers, its own row-block tasks)
  // runs once over the batch first. Either way the conv output is the same bit for bit.
  QconvImagePlan plan;
  const int planned = QconvPlanImages(&plan, wt, wScale, wZeroPoint, bias, c, h, w, k, r, s, oh, ow, strideH, strideW,
                                      padH, padW, dilationH, dilationW, xScale, xZeroPoint, relu);
  if (planned < 0) return "out of memory for the packing buffers";
  if (planned > 0) {
    ch.plan = &plan;
  } else {
    float* all = static_cast<float*>(Scratch(0, 3, size_t(n * k * oh * ow) * 4));
    if (!all) return "out of memory for the conv output";
    const char* e = CpuQconv2dU8S8S32(x, wt, wScale, wZeroPoint, bias, all, n, c, h, w, k, r, s, oh, ow, strideH,
                                      strideW, padH, padW, dilationH, dilationW, xScale, xZeroPoint, relu);
    if (e) return e;
    ch.convAll = all;
  }
  ParallelFor(n, ChainTask, &ch);
  if (planned > 0) QconvPlanFree(&plan);
  if (error.load() == 1) return "out of memory for the conv / pool buffers";
  if (error.load() == 2) return "the conv output holds a NaN; it cannot be quantized for the next int8 layer";
  return nullptr;
}

}  // namespace wgcpu
