// Direct (implicit-GEMM) conv2d kernels for float32, stride 1, groups 1, NCHW, with no column
// matrix: the vector lanes run along an output row (W = 16 lanes on AVX-512, 8 on AVX2), the
// input is read from a zero-padded copy at an offset per tap (c, r, s), and a register tile of
// output channels × row segments is accumulated over every tap. conv2d.cc calls them when the ISA
// in use is avx512 / avx2 and the shape fits; everything else keeps the im2col + GEMM path.
//   forward      y[n, k, oh, ow0..] = Σ_p w[k, p] · xp[n, off(p) + oh·Wp + ow0..]       (k × segments tile)
//   grad-input   the forward over dy padded by d·(k-1) - pad, with w flipped and transposed
//   grad-weight  dw[k, p] = Σ_n,oh,ow dy[n, k, oh, ow] · xp[n, off(p) + oh·Wp + ow]   (k × taps tile,
//                lanes summed once at the end)
// Every output element is computed by one task in an order fixed by the shapes: results are the
// same for any thread count and run to run. Plain functions only (the ISA units include this).
#pragma once

#include <stdint.h>

#include "conv2d.h"

namespace wgcpu {
namespace convdirect {

// 64-byte aligned buffers of the calling OS thread, kept between calls (pool.h's Scratch, slots 8-12).
float* Buf(int slot, int64_t elems);
// Floats of padded input (and of packed dy) per chunk of images: dflt, or WATTGRAD_CONV_CHUNK_FLOATS
// when set (read once; tests use it to split small batches into several chunks).
int64_t ChunkFloats(int64_t dflt);

// Each returns 1 when it computed the result, 0 when the shape is not for it (nothing written),
// -1 when a buffer could not be allocated.
#define WG_CONVDIRECT_DECL                                                      \
  int Forward(const ConvGeom& g, const float* x, const float* w, float* y);     \
  int GradInput(const ConvGeom& g, const float* dy, const float* w, float* dx); \
  int GradWeight(const ConvGeom& g, const float* x, const float* dy, float* dw);

namespace avx512 {
WG_CONVDIRECT_DECL
}
namespace avx2 {
WG_CONVDIRECT_DECL
}
#undef WG_CONVDIRECT_DECL

}  // namespace convdirect
}  // namespace wgcpu
