// The plain functions of gen_conv.h (generated from native/manifest/cpu/conv.mjs; the generated
// gen_conv.cc has unpacked and checked the arguments): conv2d over conv2d.cc, pooling over
// pool2d.cc. Check: npx vitest run test/native/cpu-conv.test.ts

#include <string>

#include "conv2d.h"
#include "gen_conv.h"

namespace wgcpu {
namespace {

const char* kOom = "out of memory for the column buffers";

// the argmax message of maxPool2dBackward, kept until the entry point has copied it
thread_local std::string tl_msg;

}  // namespace

#define WG_CONV_PARAMS                                                                                      \
  int64_t batch, int64_t inC, int64_t inH, int64_t inW, int64_t outC, int64_t kH, int64_t kW, int64_t outH, \
      int64_t outW, int64_t strideH, int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH,        \
      int64_t dilationW, int64_t groups
#define WG_CONV_GEOM                                                                                           \
  ConvGeom {                                                                                                   \
    batch, inC, inH, inW, outC, kH, kW, outH, outW, strideH, strideW, padH, padW, dilationH, dilationW, groups \
  }

#define WG_CONV_ENTRY(T)                                                            \
  const char* CpuConv2d(const T* x, const T* w, T* y, WG_CONV_PARAMS) {             \
    return Conv2dForward<T>(WG_CONV_GEOM, x, w, y) ? nullptr : kOom;                \
  }                                                                                 \
  const char* CpuConv2dGradInput(const T* dy, const T* w, T* dx, WG_CONV_PARAMS) {  \
    return Conv2dGradInput<T>(WG_CONV_GEOM, dy, w, dx) ? nullptr : kOom;            \
  }                                                                                 \
  const char* CpuConv2dGradWeight(const T* x, const T* dy, T* dw, WG_CONV_PARAMS) { \
    return Conv2dGradWeight<T>(WG_CONV_GEOM, x, dy, dw) ? nullptr : kOom;           \
  }
WG_CONV_ENTRY(float)
WG_CONV_ENTRY(double)

#define WG_POOL_PARAMS                                                                                           \
  int64_t batch, int64_t channels, int64_t inH, int64_t inW, int64_t outH, int64_t outW, int64_t kH, int64_t kW, \
      int64_t strideH, int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW
#define WG_POOL_GEOM(inc) \
  PoolGeom { batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, inc }
#define WG_ADAPTIVE_GEOM \
  PoolGeom { batch, channels, inH, inW, outH, outW, 0, 0, 1, 1, 0, 0, 1, 1, false }

#define WG_POOL_ENTRY(T)                                                                                        \
  const char* CpuMaxPool2d(const T* x, T* y, int32_t* argmax, WG_POOL_PARAMS) {                                 \
    MaxPool2d<T>(WG_POOL_GEOM(false), x, y, argmax);                                                            \
    return nullptr;                                                                                             \
  }                                                                                                             \
  const char* CpuMaxPool2dBackward(const T* dy, const int32_t* argmax, T* dx, WG_POOL_PARAMS) {                 \
    int64_t bad = MaxPool2dBackward<T>(WG_POOL_GEOM(false), dy, argmax, dx);                                    \
    if (bad < 0) return nullptr;                                                                                \
    tl_msg = "argmax " + std::to_string(argmax[bad]) + " out of range [0, " + std::to_string(inH * inW) + ")";  \
    return tl_msg.c_str();                                                                                      \
  }                                                                                                             \
  const char* CpuAvgPool2d(const T* x, T* y, WG_POOL_PARAMS, bool countIncludePad) {                            \
    AvgPool2d<T>(WG_POOL_GEOM(countIncludePad), x, y);                                                          \
    return nullptr;                                                                                             \
  }                                                                                                             \
  const char* CpuAvgPool2dBackward(const T* dy, T* dx, WG_POOL_PARAMS, bool countIncludePad) {                  \
    AvgPool2dBackward<T>(WG_POOL_GEOM(countIncludePad), dy, dx);                                                \
    return nullptr;                                                                                             \
  }                                                                                                             \
  const char* CpuAdaptiveAvgPool2d(const T* x, T* y, int64_t batch, int64_t channels, int64_t inH, int64_t inW, \
                                   int64_t outH, int64_t outW) {                                                \
    AdaptiveAvgPool2d<T>(WG_ADAPTIVE_GEOM, x, y);                                                               \
    return nullptr;                                                                                             \
  }                                                                                                             \
  const char* CpuAdaptiveAvgPool2dBackward(const T* dy, T* dx, int64_t batch, int64_t channels, int64_t inH,    \
                                           int64_t inW, int64_t outH, int64_t outW) {                           \
    AdaptiveAvgPool2dBackward<T>(WG_ADAPTIVE_GEOM, dy, dx);                                                     \
    return nullptr;                                                                                             \
  }
WG_POOL_ENTRY(float)
WG_POOL_ENTRY(double)

}  // namespace wgcpu
