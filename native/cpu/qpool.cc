// Max pooling for inference, and the conv → requantize → max-pool chain of static int8 models
// (lib/quantization/qpool.ts is the contract and the js reference; native/manifest/cpu/qpool.mjs
// the entry points).
//
//   CpuMaxPool2dValues: y (batch, channels, outH, outW) = max over each dilated window of x
//     (batch, channels, inH, inW): pool2d.cc's MaxPool2d with no argmax (the same scan order, NaN
//     rule and 2×2 fast path, so y is bit for bit the indices path's). Inference writes no int32
//     index per output (nothing will read it).
//   CpuQconv2dMaxPool: the int8 conv (qgemm.cc's CpuQconv2dU8S8S32), then per image, while its
//     float output is in cache, the max pool of it, cpuQuantizeU8 of the pooled values with the next
//     int8 layer's input parameters, and their grid values float32(scale · (q − zp)). The unfused
//     model computes quantize(maxpool(conv)) too (at the next layer's input), so the result is the
//     same bit for bit; it skips the float pool's full-size output and index writes, and the
//     separate quantize pass.
//
// The pools are pool2d.cc's (MaxPool2d / MaxPool2dPlane). Tasks are fixed chunks of images, so
// results do not depend on the thread count.
//
// Check: WATTGRAD_NATIVE=$PWD/build/<out>/Release/wattgrad.node npx vitest run test/quantization/qpool.test.ts

#include <atomic>

#include "conv2d.h"
#include "gen_qgemm.h"
#include "gen_qpool.h"
#include "pool.h"
#include "qgemm.h"

namespace wgcpu {
namespace {

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
  PoolGeom pool;  // one plane of the conv output (batch, channels unused)
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
  for (int64_t kk = 0; kk < ch.k; kk++)
    MaxPool2dPlane(ch.pool, conv + kk * in, pooled + kk * out, static_cast<int32_t*>(nullptr));
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
  MaxPool2d(PoolGeom{batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW,
                     false},
            x, y, static_cast<int32_t*>(nullptr));
  return nullptr;
}

const char* CpuMaxPool2dValues(const double* x, double* y, int64_t batch, int64_t channels, int64_t inH, int64_t inW,
                               int64_t outH, int64_t outW, int64_t kH, int64_t kW, int64_t strideH, int64_t strideW,
                               int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW) {
  MaxPool2d(PoolGeom{batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW,
                     false},
            x, y, static_cast<int32_t*>(nullptr));
  return nullptr;
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
  Chain ch{x,
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
           PoolGeom{1, 1, oh, ow, ph, pw, poolKH, poolKW, poolStrideH, poolStrideW, poolPadH, poolPadW, poolDilationH,
                    poolDilationW, false},
           outScale,
           outZeroPoint,
           quantMin,
           quantMax,
           shift,
           out,
           codes,
           nullptr,
           nullptr,
           QconvPoolArgs{poolKH, poolKW, poolStrideH, poolStrideW, poolPadH, poolPadW, poolDilationH, poolDilationW, ph,
                         pw, outScale, 1.0 / outScale, int32_t(outZeroPoint), int32_t(quantMin), int32_t(quantMax),
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
