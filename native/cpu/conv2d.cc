// conv2d on the CPU, NCHW: im2col into a contiguous column buffer, then the packed GEMM of the
// ISA picked at load (wgcpu::Kernels().sgemm/dgemm), which does the SIMD and the threads.
// With Kg = outC/groups, Cg = inC/groups, P = Cg·kH·kW, L = outH·outW, per image n, group g:
//   forward      y[n, g] (Kg, L)  = w[g] (Kg, P) · col[n, g] (P, L)
//   grad-input   dcol (P, L)      = w[g]ᵀ · dy[n, g];  dx[n, g] = col2im(dcol)   (scatter-add)
//   grad-weight  dw[g] (Kg, P)    = Σ_chunks dy[chunk, g] (Kg, c·L) · col[chunk, g]ᵀ (c·L, P)
// Images are processed in chunks: the chunk's im2col / col2im is split over the pool (one task
// per image), and its GEMMs are batched calls (one matrix per image, or per group), made from the
// calling thread so the GEMM can use every thread for large matrices. The GEMM gives each output
// element a summation order fixed by the shapes (never by the thread count), im2col/col2im are
// exact copies / a fixed-order scatter, and grad-weight's chunks depend on the shapes only (their
// partial sums are added in chunk order): results are identical for any thread count.
// 1×1 kernels with stride 1 and no padding skip im2col (the image is the column matrix).
// float32 with stride 1 and one group on AVX-512 / AVX2 goes to the direct kernels of conv_direct.h
// instead (no column matrix; about 2x faster on the small CNN) when the rows fill half a vector.
// Buffers are per calling thread (JS main thread or a worker) and kept between calls.

#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "conv_direct.h"
#include "cpu_kernels.h"
#include "gemm_shared.h"
#include "pool.h"

namespace wgcpu {
namespace {

// The direct kernels of conv_direct.h for the ISA in use: 1 done, 0 not for this shape (or not
// this ISA, or float64), -1 out of memory.
enum class Pass { kForward, kGradInput, kGradWeight };
template <class T>
int Direct(Pass, const ConvGeom&, const T*, const T*, T*) {
  return 0;
}
template <>
int Direct<float>(Pass pass, const ConvGeom& g, const float* a, const float* b, float* out) {
#if defined(__x86_64__)
  const char* isa = Kernels().name;
  if (strcmp(isa, "avx512") == 0) {
    if (pass == Pass::kForward) return convdirect::avx512::Forward(g, a, b, out);
    if (pass == Pass::kGradInput) return convdirect::avx512::GradInput(g, a, b, out);
    return convdirect::avx512::GradWeight(g, a, b, out);
  }
  if (strcmp(isa, "avx2") == 0) {
    if (pass == Pass::kForward) return convdirect::avx2::Forward(g, a, b, out);
    if (pass == Pass::kGradInput) return convdirect::avx2::GradInput(g, a, b, out);
    return convdirect::avx2::GradWeight(g, a, b, out);
  }
#endif
  (void)pass, (void)g, (void)a, (void)b, (void)out;
  return 0;
}

inline bool RunGemm(const GemmArgs<float>& a) { return Kernels().sgemm(a); }
inline bool RunGemm(const GemmArgs<double>& a) { return Kernels().dgemm(a); }

// out[b] (m, n) = op(A[b]) · op(B[b]); see cpu_kernels.h.
template <class T>
bool Mm(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, int64_t aBS, bool ta, const T* b, int64_t bBS,
        bool tb, T* out) {
  GemmArgs<T> g{a, b, out, batch, m, n, k, aBS, bBS, ta, tb};
  return RunGemm(g);
}

inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t Max(int64_t a, int64_t b) { return a > b ? a : b; }
// ceil(a / b) for b > 0 and any sign of a
inline int64_t CeilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// The calling OS thread's buffers (pool.h's Scratch slots 4-7), grown on demand and kept; held
// while the GEMM runs, which packs in slots 0-1.
template <class T>
T* Buf(int slot, int64_t elems) {
  return static_cast<T*>(Scratch(0, 4 + slot, size_t(elems) * sizeof(T)));
}

// The output columns ow whose input column iw0 + ow·stride lies in [0, inW): [lo, hi).
inline void ValidCols(int64_t iw0, int64_t stride, int64_t inW, int64_t outW, int64_t* lo, int64_t* hi) {
  int64_t l = iw0 >= 0 ? 0 : Min(outW, CeilDiv(-iw0, stride));
  int64_t h = Max(l, Min(outW, CeilDiv(inW - iw0, stride)));
  *lo = l;
  *hi = h;
}

// col[((c·kH + r)·kW + s)·ld + oh·outW + ow] = x[c·inH·inW + ih·inW + iw], 0 outside the image
// (x: the group's first channel plane of one image).
template <class T>
void Im2col(const ConvGeom& g, const T* x, int64_t cg, T* col, int64_t ld) {
  const int64_t inH = g.inH, inW = g.inW, outH = g.outH, outW = g.outW;
  for (int64_t c = 0; c < cg; c++) {
    const T* plane = x + c * inH * inW;
    for (int64_t r = 0; r < g.kH; r++) {
      // the output rows whose input row lies inside the image: [oh0, oh1)
      const int64_t ih0 = r * g.dilationH - g.padH;
      int64_t oh0, oh1;
      ValidCols(ih0, g.strideH, inH, outH, &oh0, &oh1);
      for (int64_t s = 0; s < g.kW; s++) {
        T* __restrict dst = col + ((c * g.kH + r) * g.kW + s) * ld;
        const int64_t iw0 = s * g.dilationW - g.padW;
        int64_t lo, hi;
        ValidCols(iw0, g.strideW, inW, outW, &lo, &hi);
        for (int64_t e = 0; e < oh0 * outW; e++) dst[e] = 0;
        dst += oh0 * outW;
        const int64_t sw = g.strideW;
        for (int64_t oh = oh0; oh < oh1; oh++, dst += outW) {
          const T* __restrict row = plane + (ih0 + oh * g.strideH) * inW + iw0;
          for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
          if (sw == 1) {
            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = row[ow];
          } else {
            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = row[ow * sw];
          }
          for (int64_t ow = hi; ow < outW; ow++) dst[ow] = 0;
        }
        for (int64_t e = 0; e < (outH - oh1) * outW; e++) dst[e] = 0;
      }
    }
  }
}

// The adjoint of Im2col: dx[c, ih, iw] += dcol[...] over every window touching it (dx zeroed
// by the caller), in the fixed order c, r, s, oh, ow.
template <class T>
void Col2im(const ConvGeom& g, const T* dcol, int64_t ld, int64_t cg, T* dx) {
  const int64_t inH = g.inH, inW = g.inW, outH = g.outH, outW = g.outW;
  for (int64_t c = 0; c < cg; c++) {
    T* plane = dx + c * inH * inW;
    for (int64_t r = 0; r < g.kH; r++) {
      for (int64_t s = 0; s < g.kW; s++) {
        const T* src = dcol + ((c * g.kH + r) * g.kW + s) * ld;
        const int64_t iw0 = s * g.dilationW - g.padW;
        int64_t lo, hi;
        ValidCols(iw0, g.strideW, inW, outW, &lo, &hi);
        for (int64_t oh = 0; oh < outH; oh++, src += outW) {
          const int64_t ih = oh * g.strideH - g.padH + r * g.dilationH;
          if (ih < 0 || ih >= inH) continue;
          T* row = plane + ih * inW + iw0;
          if (g.strideW == 1) {
            for (int64_t ow = lo; ow < hi; ow++) row[ow] += src[ow];
          } else {
            const int64_t sw = g.strideW;
            for (int64_t ow = lo; ow < hi; ow++) row[ow * sw] += src[ow];
          }
        }
      }
    }
  }
}

// A 1×1 kernel, stride 1, no padding, same size out as in: the image is its own column matrix.
bool OneByOne(const ConvGeom& g) {
  return g.kH == 1 && g.kW == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0 && g.outH == g.inH &&
         g.outW == g.inW;
}

// Images per chunk for forward / grad-input (any chunking gives the same results there): about
// 1 MiB of columns per pool thread.
int64_t ChunkImages(const ConvGeom& g, int64_t perImageElems, size_t es) {
  double per = double(perImageElems) * double(es);
  int64_t c = per > 0 ? int64_t(double(NumThreads()) * double(1 << 20) / per) : g.batch;
  return Max(1, Min(g.batch, c));
}

template <class T>
struct Im2colJob {
  const ConvGeom* g;
  const T* x;
  T* col;
  int64_t n0, cg, P, L;
};

template <class T>
void Im2colTask(void* ctx, int64_t t, int) {
  auto* j = static_cast<Im2colJob<T>*>(ctx);
  const ConvGeom& g = *j->g;
  int64_t i = t / g.groups, gi = t % g.groups;
  Im2col(g, j->x + ((j->n0 + i) * g.inC + gi * j->cg) * g.inH * g.inW, j->cg, j->col + t * j->P * j->L, j->L);
}

template <class T>
struct Col2imJob {
  const ConvGeom* g;
  const T* dcol;
  T* dx;
  int64_t n0, cg, P, L;
};

template <class T>
void Col2imTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<Col2imJob<T>*>(ctx);
  const ConvGeom& g = *j->g;
  T* dxn = j->dx + (j->n0 + i) * g.inC * g.inH * g.inW;
  const int64_t plane = j->cg * g.inH * g.inW;
  for (int64_t e = 0; e < g.inC * g.inH * g.inW; e++) dxn[e] = 0;
  for (int64_t gi = 0; gi < g.groups; gi++)
    Col2im(g, j->dcol + (i * g.groups + gi) * j->P * j->L, j->L, j->cg, dxn + gi * plane);
}

template <class T>
struct GatherJob {
  const ConvGeom* g;
  const T* x;
  const T* dy;
  T* col;  // (P, c·L)
  T* dyg;  // (Kg, c·L)
  int64_t n0, gi, cg, kg, L, ld;
};

template <class T>
void GatherTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<GatherJob<T>*>(ctx);
  const ConvGeom& g = *j->g;
  const int64_t n = j->n0 + i;
  Im2col(g, j->x + (n * g.inC + j->gi * j->cg) * g.inH * g.inW, j->cg, j->col + i * j->L, j->ld);
  for (int64_t k = 0; k < j->kg; k++)
    memcpy(j->dyg + k * j->ld + i * j->L, j->dy + (n * g.outC + j->gi * j->kg + k) * j->L, size_t(j->L) * sizeof(T));
}

// tmp[i] (rows, cols) -> dst + i*dstStride as (cols, rows): one task per matrix.
template <class T>
struct TransposeJob {
  const T* src;
  T* dst;
  int64_t rows, cols, dstStride;
};

template <class T>
void TransposeTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<TransposeJob<T>*>(ctx);
  const T* s = j->src + i * j->rows * j->cols;
  T* d = j->dst + i * j->dstStride;
  // blocks of 16 rows keep both sides in cache lines
  for (int64_t r0 = 0; r0 < j->rows; r0 += 16) {
    const int64_t r1 = Min(j->rows, r0 + 16);
    for (int64_t c = 0; c < j->cols; c++)
      for (int64_t r = r0; r < r1; r++) d[c * j->rows + r] = s[r * j->cols + c];
  }
}

// Output channels per group worth putting on the GEMM's column side (n): then the long side (output
// pixels, or the patch) fills the micro-tile's rows and the channels fill whole NR-wide panels.
inline bool ChannelsAsColumns(int64_t kg) { return kg >= 32; }

}  // namespace

template <class T>
bool Conv2dForward(const ConvGeom& g, const T* x, const T* w, T* y) {
  const int64_t cg = g.inC / g.groups, kg = g.outC / g.groups;
  const int64_t P = cg * g.kH * g.kW, L = g.outH * g.outW;
  if (g.batch == 0 || g.outC == 0 || L == 0) return true;
  if (OneByOne(g)) {
    if (g.groups == 1) return Mm<T>(g.batch, kg, L, P, w, 0, false, x, g.inC * L, false, y);
    for (int64_t n = 0; n < g.batch; n++)
      if (!Mm<T>(g.groups, kg, L, cg, w, kg * P, false, x + n * g.inC * L, cg * L, false, y + n * g.outC * L))
        return false;
    return true;
  }
  if (const int d = Direct<T>(Pass::kForward, g, x, w, y)) return d > 0;
  const int64_t perImage = g.groups * P * L;
  const int64_t cs = ChunkImages(g, perImage, sizeof(T));
  T* col = Buf<T>(0, cs * perImage);
  if (!col) return false;
  // measured on the small CNN (Zen 5, 1 thread): 8% faster at L = 196, 9% slower at L = 64
  const bool transposed = g.groups == 1 && ChannelsAsColumns(kg) && L >= 128;
  T* tmp = transposed ? Buf<T>(1, cs * L * kg) : nullptr;
  if (transposed && !tmp) return false;
  // transposed: wᵀ (P, Kg) is every image's B; packed once, not once per image
  SharedB<T> wt;
  if (transposed && !wt.Init(w, L, kg, P, true, true)) return false;
  for (int64_t n0 = 0; n0 < g.batch; n0 += cs) {
    const int64_t c = Min(cs, g.batch - n0);
    Im2colJob<T> j{&g, x, col, n0, cg, P, L};
    ParallelFor(c * g.groups, Im2colTask<T>, &j);
    if (transposed) {
      // yᵀ[n] (L, Kg) = col[n]ᵀ (L, P) · wᵀ (P, Kg), then transposed into y[n] (Kg, L)
      for (int64_t i = 0; i < c; i++)
        if (!wt.Mul(col + i * P * L, tmp + i * L * kg)) return false;
      TransposeJob<T> t{tmp, y + n0 * g.outC * L, L, kg, g.outC * L};
      ParallelFor(c, TransposeTask<T>, &t);
    } else if (g.groups == 1) {
      if (!Mm<T>(c, kg, L, P, w, 0, false, col, P * L, false, y + n0 * g.outC * L)) return false;
    } else {
      for (int64_t i = 0; i < c; i++)
        if (!Mm<T>(g.groups, kg, L, P, w, kg * P, false, col + i * perImage, P * L, false, y + (n0 + i) * g.outC * L))
          return false;
    }
  }
  return true;
}

template <class T>
bool Conv2dGradInput(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t cg = g.inC / g.groups, kg = g.outC / g.groups;
  const int64_t P = cg * g.kH * g.kW, L = g.outH * g.outW;
  const int64_t xImage = g.inC * g.inH * g.inW;
  if (g.batch == 0 || xImage == 0) return true;
  if (L == 0) {
    for (int64_t e = 0; e < g.batch * xImage; e++) dx[e] = 0;
    return true;
  }
  if (OneByOne(g)) {
    if (g.groups == 1) return Mm<T>(g.batch, P, L, kg, w, 0, true, dy, g.outC * L, false, dx);
    for (int64_t n = 0; n < g.batch; n++)
      if (!Mm<T>(g.groups, cg, L, kg, w, kg * P, true, dy + n * g.outC * L, kg * L, false, dx + n * xImage))
        return false;
    return true;
  }
  if (const int d = Direct<T>(Pass::kGradInput, g, dy, w, dx)) return d > 0;
  const int64_t perImage = g.groups * P * L;
  const int64_t cs = ChunkImages(g, perImage, sizeof(T));
  T* dcol = Buf<T>(0, cs * perImage);
  if (!dcol) return false;
  // wᵀ (P, Kg) is every image's A: packed once, not once per image, where the batched GEMM would run
  // the images one after another anyway (else it splits them over the threads: kept)
  const bool sharedW = g.groups == 1 && (NumThreads() == 1 || double(P) * double(L) * double(kg) >= 64.0 * 64 * 64 * 8);
  SharedA<T> wt;
  if (sharedW && !wt.Init(w, P, L, kg, true, false)) return false;
  for (int64_t n0 = 0; n0 < g.batch; n0 += cs) {
    const int64_t c = Min(cs, g.batch - n0);
    if (g.groups == 1 && sharedW) {
      for (int64_t i = 0; i < c; i++)
        if (!wt.Mul(dy + (n0 + i) * g.outC * L, dcol + i * P * L)) return false;
    } else if (g.groups == 1) {
      if (!Mm<T>(c, P, L, kg, w, 0, true, dy + n0 * g.outC * L, g.outC * L, false, dcol)) return false;
    } else {
      for (int64_t i = 0; i < c; i++)
        if (!Mm<T>(g.groups, P, L, kg, w, kg * P, true, dy + (n0 + i) * g.outC * L, kg * L, false, dcol + i * perImage))
          return false;
    }
    Col2imJob<T> j{&g, dcol, dx, n0, cg, P, L};
    ParallelFor(c, Col2imTask<T>, &j);
  }
  return true;
}

template <class T>
bool Conv2dGradWeight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const int64_t cg = g.inC / g.groups, kg = g.outC / g.groups;
  const int64_t P = cg * g.kH * g.kW, L = g.outH * g.outW;
  if (g.outC == 0 || P == 0) return true;
  if (g.batch == 0 || L == 0) {
    for (int64_t e = 0; e < g.outC * P; e++) dw[e] = 0;
    return true;
  }
  if (const int d = Direct<T>(Pass::kGradWeight, g, x, dy, dw)) return d > 0;
  // images per chunk from the shapes alone (the chunks fix the summation order): ~512 Ki column elements
  const int64_t cs = Max(1, Min(g.batch, (int64_t(1) << 19) / (P * L)));
  T* col = Buf<T>(0, P * cs * L);
  T* dyg = Buf<T>(1, kg * cs * L);
  T* part = Buf<T>(2, kg * P);
  const bool transposed = ChannelsAsColumns(kg);
  T* acc = transposed ? Buf<T>(3, kg * P) : nullptr;
  if (!col || !dyg || !part || (transposed && !acc)) return false;
  for (int64_t gi = 0; gi < g.groups; gi++) {
    T* dwg = dw + gi * kg * P;
    // transposed: dwᵀ[g] (P, Kg) = col (P, c·L) · dy[chunk, g]ᵀ (c·L, Kg), summed in acc
    T* sum = transposed ? acc : dwg;
    for (int64_t n0 = 0; n0 < g.batch; n0 += cs) {
      const int64_t c = Min(cs, g.batch - n0), ld = c * L;
      GatherJob<T> j{&g, x, dy, col, dyg, n0, gi, cg, kg, L, ld};
      ParallelFor(c, GatherTask<T>, &j);
      const bool first = n0 == 0;
      T* out = first ? sum : part;
      const bool ok = transposed ? Mm<T>(1, P, kg, ld, col, 0, false, dyg, 0, true, out)
                                 : Mm<T>(1, kg, P, ld, dyg, 0, false, col, 0, true, out);
      if (!ok) return false;
      if (!first)
        for (int64_t e = 0; e < kg * P; e++) sum[e] += part[e];
    }
    if (transposed) {
      TransposeJob<T> t{acc, dwg, P, kg, 0};
      TransposeTask<T>(&t, 0, 0);
    }
  }
  return true;
}

template bool Conv2dForward<float>(const ConvGeom&, const float*, const float*, float*);
template bool Conv2dForward<double>(const ConvGeom&, const double*, const double*, double*);
template bool Conv2dGradInput<float>(const ConvGeom&, const float*, const float*, float*);
template bool Conv2dGradInput<double>(const ConvGeom&, const double*, const double*, double*);
template bool Conv2dGradWeight<float>(const ConvGeom&, const float*, const float*, float*);
template bool Conv2dGradWeight<double>(const ConvGeom&, const double*, const double*, double*);

}  // namespace wgcpu
