// N-API entry points of the conv2d and pooling CPU kernels (conv2d.cc, pool2d.cc). Like
// cpuMatmul they work in place on the js backend's Float32Array / Float64Array storage (zero
// copy); every array of a call has the same dtype; the output must not share memory with an
// input (the caller, lib/backend/js/native-conv.ts, sends those cases to the js kernel).
//
//   cpuConv2d(x, w, y, ...G)            cpuConv2dGradInput(dy, w, dx, ...G)
//   cpuConv2dGradWeight(x, dy, dw, ...G)
//     G = batch, inC, inH, inW, outC, kH, kW, outH, outW, strideH, strideW, padH, padW,
//         dilationH, dilationW, groups
//   cpuMaxPool2d(x, y, argmax, ...Q)    cpuMaxPool2dBackward(dy, argmax, dx, ...Q)
//   cpuAvgPool2d(x, y, ...Q, countIncludePad)   cpuAvgPool2dBackward(dy, dx, ...Q, countIncludePad)
//     Q = batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW
//   cpuAdaptiveAvgPool2d(x, y, batch, channels, inH, inW, outH, outW)   (and ...Backward(dy, dx, ...))
// Check: npx vitest run test/native/cpu-conv.test.ts

#include <napi.h>

#include <initializer_list>
#include <string>

#include "conv2d.h"
#include "napi_util.h"
#include "registry.h"

namespace {

using wgcpu::ConvGeom;
using wgcpu::PoolGeom;
namespace nu = wgcpu::napi;

const char* kConvSig =
    "a, b, out, batch, inC, inH, inW, outC, kH, kW, outH, outW, strideH, strideW, padH, padW, dilationH, dilationW, "
    "groups";
const char* kPoolNames[] = {"batch", "channels", "inH",     "inW",  "outH", "outW",      "kH",
                            "kW",    "strideH",  "strideW", "padH", "padW", "dilationH", "dilationW"};

ConvGeom ConvGeomAt(const Napi::CallbackInfo& info, size_t i0, const char* fn) {
  static const char* names[] = {"batch", "inC",     "inH",     "inW",  "outC", "kH",        "kW",        "outH",
                                "outW",  "strideH", "strideW", "padH", "padW", "dilationH", "dilationW", "groups"};
  int64_t v[16];
  for (int k = 0; k < 16; k++) v[k] = nu::Size(info, i0 + k, fn, names[k]);
  ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]};
  if (g.strideH < 1 || g.strideW < 1 || g.dilationH < 1 || g.dilationW < 1)
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": strides and dilations must be >= 1");
  if (g.groups < 1 || g.inC % g.groups != 0 || g.outC % g.groups != 0)
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": channels (" + std::to_string(g.inC) + " in, " +
                                                std::to_string(g.outC) + " out) must be divisible by groups " +
                                                std::to_string(g.groups));
  return g;
}

PoolGeom PoolGeomAt(const Napi::CallbackInfo& info, size_t i0, const char* fn, bool windows) {
  int64_t v[14] = {0};
  int n = windows ? 14 : 6;
  for (int k = 0; k < n; k++) v[k] = nu::Size(info, i0 + k, fn, kPoolNames[k]);
  PoolGeom p{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], false};
  if (windows && (p.strideH < 1 || p.strideW < 1 || p.dilationH < 1 || p.dilationW < 1))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": strides and dilations must be >= 1");
  return p;
}

// Three float arrays of one dtype, each holding its `need` elements, out (the third one
// written) sharing no memory with the two inputs. Returns true for float32.
bool FloatArgs(const Napi::CallbackInfo& info, const char* fn, const char* const names[3], const double need[3],
               const size_t idx[3], void* ptr[3]) {
  nu::TypedArr a[3];
  for (int k = 0; k < 3; k++) a[k] = nu::Arr(info, idx[k], fn, names[k]);
  const napi_typedarray_type t = a[0].type;
  if (t != napi_float32_array && t != napi_float64_array)
    throw Napi::TypeError::New(info.Env(),
                               std::string(fn) + ": " + names[0] + " must be a Float32Array or Float64Array");
  size_t es = t == napi_float32_array ? 4 : 8;
  for (int k = 0; k < 3; k++) {
    nu::TypedArr c = nu::Typed(info, idx[k], fn, names[k], t, need[k]);
    ptr[k] = c.data;
  }
  for (int k = 0; k < 2; k++)
    if (nu::Overlap(ptr[2], size_t(need[2]) * es, ptr[k], size_t(need[k]) * es))
      throw Napi::RangeError::New(
          info.Env(), std::string(fn) + ": " + names[2] + " overlaps " + names[k] + "; pass a separate output array");
  return t == napi_float32_array;
}

double Prod(std::initializer_list<int64_t> xs) {
  double p = 1;
  for (int64_t x : xs) p *= double(x);
  return p;
}

enum ConvKind { kFwd, kGradInput, kGradWeight };

template <ConvKind K>
Napi::Value ConvEntry(const Napi::CallbackInfo& info) {
  const char* fn = K == kFwd ? "cpuConv2d" : K == kGradInput ? "cpuConv2dGradInput" : "cpuConv2dGradWeight";
  nu::ArgCount(info, 19, fn, kConvSig);
  ConvGeom g = ConvGeomAt(info, 3, fn);
  const double xs = Prod({g.batch, g.inC, g.inH, g.inW}), ws = Prod({g.outC, g.inC / g.groups, g.kH, g.kW}),
               ys = Prod({g.batch, g.outC, g.outH, g.outW});
  static const char* fwdNames[] = {"x", "w", "y"};
  static const char* giNames[] = {"dy", "w", "dx"};
  static const char* gwNames[] = {"x", "dy", "dw"};
  const char* const* names = K == kFwd ? fwdNames : K == kGradInput ? giNames : gwNames;
  double need[3];
  if (K == kFwd) need[0] = xs, need[1] = ws, need[2] = ys;
  else if (K == kGradInput) need[0] = ys, need[1] = ws, need[2] = xs;
  else need[0] = xs, need[1] = ys, need[2] = ws;
  const size_t idx[3] = {0, 1, 2};
  void* p[3];
  bool f32 = FloatArgs(info, fn, names, need, idx, p);
  bool ok;
  if (K == kFwd)
    ok = f32 ? wgcpu::Conv2dForward<float>(g, (const float*)p[0], (const float*)p[1], (float*)p[2])
             : wgcpu::Conv2dForward<double>(g, (const double*)p[0], (const double*)p[1], (double*)p[2]);
  else if (K == kGradInput)
    ok = f32 ? wgcpu::Conv2dGradInput<float>(g, (const float*)p[0], (const float*)p[1], (float*)p[2])
             : wgcpu::Conv2dGradInput<double>(g, (const double*)p[0], (const double*)p[1], (double*)p[2]);
  else
    ok = f32 ? wgcpu::Conv2dGradWeight<float>(g, (const float*)p[0], (const float*)p[1], (float*)p[2])
             : wgcpu::Conv2dGradWeight<double>(g, (const double*)p[0], (const double*)p[1], (double*)p[2]);
  if (!ok) throw Napi::Error::New(info.Env(), std::string(fn) + ": out of memory for the column buffers");
  return info.Env().Undefined();
}

Napi::Value CpuMaxPool2d(const Napi::CallbackInfo& info) {
  const char* fn = "cpuMaxPool2d";
  nu::ArgCount(info, 17, fn,
               "x, y, argmax, batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilationH, "
               "dilationW");
  PoolGeom g = PoolGeomAt(info, 3, fn, true);
  const double xs = Prod({g.batch, g.channels, g.inH, g.inW}), ys = Prod({g.batch, g.channels, g.outH, g.outW});
  static const char* names[] = {"x", "argmax", "y"};
  const double need[3] = {xs, 0, ys};
  const size_t idx[3] = {0, 0, 1};  // x twice: the dtype and overlap checks of x and y
  void* p[3];
  bool f32 = FloatArgs(info, fn, names, need, idx, p);
  int32_t* am = nu::I32(info, 2, fn, "argmax", ys);
  size_t es = f32 ? 4 : 8;
  if (nu::Overlap(am, size_t(ys) * 4, p[0], size_t(xs) * es) || nu::Overlap(am, size_t(ys) * 4, p[2], size_t(ys) * es))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": argmax overlaps x or y; pass separate arrays");
  if (f32) wgcpu::MaxPool2d<float>(g, (const float*)p[0], (float*)p[2], am);
  else wgcpu::MaxPool2d<double>(g, (const double*)p[0], (double*)p[2], am);
  return info.Env().Undefined();
}

Napi::Value CpuMaxPool2dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "cpuMaxPool2dBackward";
  nu::ArgCount(info, 17, fn,
               "dy, argmax, dx, batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, "
               "dilationH, dilationW");
  PoolGeom g = PoolGeomAt(info, 3, fn, true);
  const double xs = Prod({g.batch, g.channels, g.inH, g.inW}), ys = Prod({g.batch, g.channels, g.outH, g.outW});
  static const char* names[] = {"dy", "argmax", "dx"};
  const double need[3] = {ys, 0, xs};
  const size_t idx[3] = {0, 0, 2};
  void* p[3];
  bool f32 = FloatArgs(info, fn, names, need, idx, p);
  const int32_t* am = nu::I32(info, 1, fn, "argmax", ys);
  if (nu::Overlap(am, size_t(ys) * 4, p[2], size_t(xs) * (f32 ? 4 : 8)))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": dx overlaps argmax; pass a separate output array");
  int64_t bad = f32 ? wgcpu::MaxPool2dBackward<float>(g, (const float*)p[0], am, (float*)p[2])
                    : wgcpu::MaxPool2dBackward<double>(g, (const double*)p[0], am, (double*)p[2]);
  if (bad >= 0)
    throw Napi::RangeError::New(info.Env(), "maxPool2dBackward: argmax " + std::to_string(am[bad]) +
                                                " out of range [0, " + std::to_string(g.inH * g.inW) + ")");
  return info.Env().Undefined();
}

template <bool Backward>
Napi::Value AvgEntry(const Napi::CallbackInfo& info) {
  const char* fn = Backward ? "cpuAvgPool2dBackward" : "cpuAvgPool2d";
  nu::ArgCount(info, 17, fn,
               Backward ? "dy, dx, batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, "
                          "dilationH, dilationW, countIncludePad"
                        : "x, y, batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, "
                          "dilationH, dilationW, countIncludePad");
  PoolGeom g = PoolGeomAt(info, 2, fn, true);
  g.countIncludePad = nu::Bool(info, 16);
  const double xs = Prod({g.batch, g.channels, g.inH, g.inW}), ys = Prod({g.batch, g.channels, g.outH, g.outW});
  static const char* fwdNames[] = {"x", "x", "y"};
  static const char* bwdNames[] = {"dy", "dy", "dx"};
  const double need[3] = {Backward ? ys : xs, Backward ? ys : xs, Backward ? xs : ys};
  const size_t idx[3] = {0, 0, 1};
  void* p[3];
  bool f32 = FloatArgs(info, fn, Backward ? bwdNames : fwdNames, need, idx, p);
  if (Backward) {
    if (f32) wgcpu::AvgPool2dBackward<float>(g, (const float*)p[0], (float*)p[2]);
    else wgcpu::AvgPool2dBackward<double>(g, (const double*)p[0], (double*)p[2]);
  } else {
    if (f32) wgcpu::AvgPool2d<float>(g, (const float*)p[0], (float*)p[2]);
    else wgcpu::AvgPool2d<double>(g, (const double*)p[0], (double*)p[2]);
  }
  return info.Env().Undefined();
}

template <bool Backward>
Napi::Value AdaptiveEntry(const Napi::CallbackInfo& info) {
  const char* fn = Backward ? "cpuAdaptiveAvgPool2dBackward" : "cpuAdaptiveAvgPool2d";
  nu::ArgCount(
      info, 8, fn,
      Backward ? "dy, dx, batch, channels, inH, inW, outH, outW" : "x, y, batch, channels, inH, inW, outH, outW");
  PoolGeom g = PoolGeomAt(info, 2, fn, false);
  const double xs = Prod({g.batch, g.channels, g.inH, g.inW}), ys = Prod({g.batch, g.channels, g.outH, g.outW});
  static const char* fwdNames[] = {"x", "x", "y"};
  static const char* bwdNames[] = {"dy", "dy", "dx"};
  const double need[3] = {Backward ? ys : xs, Backward ? ys : xs, Backward ? xs : ys};
  const size_t idx[3] = {0, 0, 1};
  void* p[3];
  bool f32 = FloatArgs(info, fn, Backward ? bwdNames : fwdNames, need, idx, p);
  if (Backward) {
    if (f32) wgcpu::AdaptiveAvgPool2dBackward<float>(g, (const float*)p[0], (float*)p[2]);
    else wgcpu::AdaptiveAvgPool2dBackward<double>(g, (const double*)p[0], (double*)p[2]);
  } else {
    if (f32) wgcpu::AdaptiveAvgPool2d<float>(g, (const float*)p[0], (float*)p[2]);
    else wgcpu::AdaptiveAvgPool2d<double>(g, (const double*)p[0], (double*)p[2]);
  }
  return info.Env().Undefined();
}

WGCPU_ENTRY("cpuConv2d", ConvEntry<kFwd>, "conv2d");
WGCPU_ENTRY("cpuConv2dGradInput", ConvEntry<kGradInput>, "conv2dGradInput");
WGCPU_ENTRY("cpuConv2dGradWeight", ConvEntry<kGradWeight>, "conv2dGradWeight");
WGCPU_ENTRY("cpuMaxPool2d", CpuMaxPool2d, "maxPool2d");
WGCPU_ENTRY("cpuMaxPool2dBackward", CpuMaxPool2dBackward, "maxPool2dBackward");
WGCPU_ENTRY("cpuAvgPool2d", AvgEntry<false>, "avgPool2d");
WGCPU_ENTRY("cpuAvgPool2dBackward", AvgEntry<true>, "avgPool2dBackward");
WGCPU_ENTRY("cpuAdaptiveAvgPool2d", AdaptiveEntry<false>, "adaptiveAvgPool2d");
WGCPU_ENTRY("cpuAdaptiveAvgPool2dBackward", AdaptiveEntry<true>, "adaptiveAvgPool2dBackward");

}  // namespace
