// conv2d (NCHW) and 2-D pooling on the CPU: the kernels behind conv_entry.cc (entry points generated from
// native/manifest/cpu/conv.mjs). Plain functions over raw pointers; the GEMM is wgcpu::Kernels().sgemm/dgemm (the ISA
// picked at load).
#pragma once

#include <stdint.h>

namespace wgcpu {

// x (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW).
// Callers check: strides and dilations >= 1, groups divides inC and outC, pads >= 0.
struct ConvGeom {
  int64_t batch, inC, inH, inW, outC, kH, kW, outH, outW;
  int64_t strideH, strideW, padH, padW, dilationH, dilationW, groups;
};

// Each returns false when a buffer could not be allocated (nothing sensible was written).
// Every element of the output is written (y, dx, dw are never read). Results are identical for
// any thread count and run to run: each output element is summed in an order fixed by the shapes.
template <class T>
bool Conv2dForward(const ConvGeom& g, const T* x, const T* w, T* y);
template <class T>
bool Conv2dGradInput(const ConvGeom& g, const T* dy, const T* w, T* dx);
template <class T>
bool Conv2dGradWeight(const ConvGeom& g, const T* x, const T* dy, T* dw);

// x (batch, channels, inH, inW) -> y (batch, channels, outH, outW); same rules as the js kernels
// (lib/backend/js/pool.ts), bit for bit: sums in double, NaN wins a max, padding never does.
struct PoolGeom {
  int64_t batch, channels, inH, inW, outH, outW, kH, kW;
  int64_t strideH, strideW, padH, padW, dilationH, dilationW;
  bool countIncludePad;
};

// argmax may be null (inference: the values only, the same ones). One plane (batch and channels
// unused): x (inH, inW) -> y (outH, outW), argmax as y or null, on the calling thread.
template <class T>
void MaxPool2d(const PoolGeom& g, const T* x, T* y, int32_t* argmax);
template <class T>
void MaxPool2dPlane(const PoolGeom& g, const T* x, T* y, int32_t* argmax);
// Returns -1, or the position in argmax of an index outside [-1, inH*inW) (dx is then partly written).
template <class T>
int64_t MaxPool2dBackward(const PoolGeom& g, const T* dy, const int32_t* argmax, T* dx);
template <class T>
void AvgPool2d(const PoolGeom& g, const T* x, T* y);
template <class T>
void AvgPool2dBackward(const PoolGeom& g, const T* dy, T* dx);
// torch's adaptive windows: start = floor(i*in/out), end = ceil((i+1)*in/out). Only batch,
// channels, inH, inW, outH, outW of g are used.
template <class T>
void AdaptiveAvgPool2d(const PoolGeom& g, const T* x, T* y);
template <class T>
void AdaptiveAvgPool2dBackward(const PoolGeom& g, const T* dy, T* dx);

}  // namespace wgcpu
