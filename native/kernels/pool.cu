// 2-D pooling, NCHW: x is (N, C, H, W), y is (N, C, outH, outW); window cell (i, j) of output (oh, ow)
// reads input (oh·strideH − padH + i·dilationH, ow·strideW − padW + j·dilationW).
//   maxPool2d: y = max over in-bounds cells (padding never wins; the first max wins), argmax (int32)
//              = flat index h·W + w in the (H, W) plane (−1 and −inf if a window has no cell).
//              argmax may be null: the values only (inference).
//   avgPool2d: y = Σ in-bounds / divisor; divisor = countIncludePad ? cells inside the padded
//              input [−pad, size+pad) : in-bounds cells (torch's count_include_pad).
//   adaptiveAvgPool2d: window rows [floor(i·H/outH), ceil((i+1)·H/outH)), likewise columns.
// Backward kernels run one thread per input element and gather from the windows that contain it
// (no atomics, no zero pass, deterministic). Launch: grid-stride, 256 threads.
// Checked by test/backend/parity.test.ts (padding, stride, dilation, overlapping windows).

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename T>
__global__ void MaxPoolKernel(const T* x, T* y, int* argmax, Pool2d p, int64_t n) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const int ow = static_cast<int>(i % p.outW), oh = static_cast<int>((i / p.outW) % p.outH);
    const int64_t plane = i / (static_cast<int64_t>(p.outW) * p.outH);
    const T* xp = x + plane * p.inH * p.inW;
    A best = A(-INFINITY);
    int bi = -1;
    for (int a = 0; a < p.kH; ++a) {
      const int h = oh * p.strideH - p.padH + a * p.dilationH;
      if (h < 0 || h >= p.inH) continue;
      for (int b = 0; b < p.kW; ++b) {
        const int w = ow * p.strideW - p.padW + b * p.dilationW;
        if (w < 0 || w >= p.inW) continue;
        const A v = ToF(xp[h * p.inW + w]);
        if (bi < 0 || v > best || (v != v && best == best)) {
          best = v;
          bi = h * p.inW + w;
        }
      }
    }
    y[i] = FromF<T>(best);
    if (argmax) argmax[i] = bi;  // null: values only (inference)
  }
}

// Output rows oh whose window row i hits input row h: oh·s − pad + i·d = h.
template <typename T>
__global__ void MaxPoolBackwardKernel(const T* dy, const int* argmax, T* dx, Pool2d p, int64_t n) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const int w = static_cast<int>(i % p.inW), h = static_cast<int>((i / p.inW) % p.inH);
    const int64_t plane = i / (static_cast<int64_t>(p.inW) * p.inH);
    const int64_t base = plane * p.outH * p.outW;
    const int self = h * p.inW + w;
    A acc = A(0);
    for (int a = 0; a < p.kH; ++a) {
      const int th = h + p.padH - a * p.dilationH;
      if (th < 0 || th % p.strideH != 0) continue;
      const int oh = th / p.strideH;
      if (oh >= p.outH) continue;
      for (int b = 0; b < p.kW; ++b) {
        const int tw = w + p.padW - b * p.dilationW;
        if (tw < 0 || tw % p.strideW != 0) continue;
        const int ow = tw / p.strideW;
        if (ow >= p.outW) continue;
        const int64_t o = base + oh * p.outW + ow;
        if (argmax[o] == self) acc += ToF(dy[o]);
      }
    }
    dx[i] = FromF<T>(acc);
  }
}

__device__ __forceinline__ int AvgDivisor(const Pool2d& p, int oh, int ow) {
  int ch = 0, cw = 0;
  for (int a = 0; a < p.kH; ++a) {
    const int h = oh * p.strideH - p.padH + a * p.dilationH;
    ch += p.countIncludePad ? (h >= -p.padH && h < p.inH + p.padH) : (h >= 0 && h < p.inH);
  }
  for (int b = 0; b < p.kW; ++b) {
    const int w = ow * p.strideW - p.padW + b * p.dilationW;
    cw += p.countIncludePad ? (w >= -p.padW && w < p.inW + p.padW) : (w >= 0 && w < p.inW);
  }
  return ch * cw;
}

template <typename T>
__global__ void AvgPoolKernel(const T* x, T* y, Pool2d p, int64_t n) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const int ow = static_cast<int>(i % p.outW), oh = static_cast<int>((i / p.outW) % p.outH);
    const int64_t plane = i / (static_cast<int64_t>(p.outW) * p.outH);
    const T* xp = x + plane * p.inH * p.inW;
    A sum = A(0);
    for (int a = 0; a < p.kH; ++a) {
      const int h = oh * p.strideH - p.padH + a * p.dilationH;
      if (h < 0 || h >= p.inH) continue;
      for (int b = 0; b < p.kW; ++b) {
        const int w = ow * p.strideW - p.padW + b * p.dilationW;
        if (w >= 0 && w < p.inW) sum += ToF(xp[h * p.inW + w]);
      }
    }
    const int div = AvgDivisor(p, oh, ow);
    y[i] = FromF<T>(sum / A(div));  // an empty window gives 0/0 = NaN, like the js backend
  }
}

template <typename T>
__global__ void AvgPoolBackwardKernel(const T* dy, T* dx, Pool2d p, int64_t n) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const int w = static_cast<int>(i % p.inW), h = static_cast<int>((i / p.inW) % p.inH);
    const int64_t plane = i / (static_cast<int64_t>(p.inW) * p.inH);
    const int64_t base = plane * p.outH * p.outW;
    A acc = A(0);
    for (int a = 0; a < p.kH; ++a) {
      const int th = h + p.padH - a * p.dilationH;
      if (th < 0 || th % p.strideH != 0) continue;
      const int oh = th / p.strideH;
      if (oh >= p.outH) continue;
      for (int b = 0; b < p.kW; ++b) {
        const int tw = w + p.padW - b * p.dilationW;
        if (tw < 0 || tw % p.strideW != 0) continue;
        const int ow = tw / p.strideW;
        if (ow >= p.outW) continue;
        const int div = AvgDivisor(p, oh, ow);
        if (div > 0) acc += ToF(dy[base + oh * p.outW + ow]) / A(div);
      }
    }
    dx[i] = FromF<T>(acc);
  }
}

__device__ __forceinline__ int AdStart(int i, int in, int out) {
  return static_cast<int>((static_cast<int64_t>(i) * in) / out);
}
__device__ __forceinline__ int AdEnd(int i, int in, int out) {
  return static_cast<int>((static_cast<int64_t>(i + 1) * in + out - 1) / out);
}

template <typename T>
__global__ void AdaptiveAvgKernel(const T* x, T* y, int inH, int inW, int outH, int outW, int64_t n) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const int ow = static_cast<int>(i % outW), oh = static_cast<int>((i / outW) % outH);
    const int64_t plane = i / (static_cast<int64_t>(outW) * outH);
    const T* xp = x + plane * inH * inW;
    const int h0 = AdStart(oh, inH, outH), h1 = AdEnd(oh, inH, outH);
    const int w0 = AdStart(ow, inW, outW), w1 = AdEnd(ow, inW, outW);
    A sum = A(0);
    for (int h = h0; h < h1; ++h)
      for (int w = w0; w < w1; ++w) sum += ToF(xp[h * inW + w]);
    y[i] = FromF<T>(sum / A((h1 - h0) * (w1 - w0)));
  }
}

template <typename T>
__global__ void AdaptiveAvgBackwardKernel(const T* dy, T* dx, int inH, int inW, int outH, int outW, int64_t n) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const int w = static_cast<int>(i % inW), h = static_cast<int>((i / inW) % inH);
    const int64_t plane = i / (static_cast<int64_t>(inW) * inH);
    const T* dp = dy + plane * outH * outW;
    // windows containing h: oh from floor(h·outH/inH) while start(oh) <= h
    A acc = A(0);
    for (int oh = static_cast<int>((static_cast<int64_t>(h) * outH) / inH); oh < outH && AdStart(oh, inH, outH) <= h;
         ++oh) {
      const int h0 = AdStart(oh, inH, outH), h1 = AdEnd(oh, inH, outH);
      if (h < h0 || h >= h1) continue;
      for (int ow = static_cast<int>((static_cast<int64_t>(w) * outW) / inW); ow < outW && AdStart(ow, inW, outW) <= w;
           ++ow) {
        const int w0 = AdStart(ow, inW, outW), w1 = AdEnd(ow, inW, outW);
        if (w < w0 || w >= w1) continue;
        acc += ToF(dp[oh * outW + ow]) / A((h1 - h0) * (w1 - w0));
      }
    }
    dx[i] = FromF<T>(acc);
  }
}

}  // namespace

int LaunchMaxPool2d(const void* x, void* y, int* argmax, const Pool2d& p, int dtype, cudaStream_t s) {
  const int64_t n = static_cast<int64_t>(p.batch) * p.channels * p.outH * p.outW;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, MaxPoolKernel<T>
                    <<<GridFor(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), argmax, p, n))
}

int LaunchMaxPool2dBackward(const void* dy, const int* argmax, void* dx, const Pool2d& p, int dtype, cudaStream_t s) {
  const int64_t n = static_cast<int64_t>(p.batch) * p.channels * p.inH * p.inW;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, MaxPoolBackwardKernel<T>
                    <<<GridFor(n), kThreads, 0, s>>>(static_cast<const T*>(dy), argmax, static_cast<T*>(dx), p, n))
}

int LaunchAvgPool2d(const void* x, void* y, const Pool2d& p, int dtype, cudaStream_t s) {
  const int64_t n = static_cast<int64_t>(p.batch) * p.channels * p.outH * p.outW;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(
      dtype, AvgPoolKernel<T><<<GridFor(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), p, n))
}

int LaunchAvgPool2dBackward(const void* dy, void* dx, const Pool2d& p, int dtype, cudaStream_t s) {
  const int64_t n = static_cast<int64_t>(p.batch) * p.channels * p.inH * p.inW;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, AvgPoolBackwardKernel<T>
                    <<<GridFor(n), kThreads, 0, s>>>(static_cast<const T*>(dy), static_cast<T*>(dx), p, n))
}

int LaunchAdaptiveAvgPool2d(const void* x, void* y, int batch, int channels, int inH, int inW, int outH, int outW,
                            int dtype, cudaStream_t s) {
  const int64_t n = static_cast<int64_t>(batch) * channels * outH * outW;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, AdaptiveAvgKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               static_cast<const T*>(x), static_cast<T*>(y), inH, inW, outH, outW, n))
}

int LaunchAdaptiveAvgPool2dBackward(const void* dy, void* dx, int batch, int channels, int inH, int inW, int outH,
                                    int outW, int dtype, cudaStream_t s) {
  const int64_t n = static_cast<int64_t>(batch) * channels * inH * inW;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, AdaptiveAvgBackwardKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               static_cast<const T*>(dy), static_cast<T*>(dx), inH, inW, outH, outW, n))
}

}  // namespace k
}  // namespace wg
