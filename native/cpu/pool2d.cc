// 2-D pooling on the CPU, NCHW: max (with argmax), average, adaptive average, forward and
// backward. The same arithmetic as the js kernels (lib/backend/js/pool.ts), so the results are
// bit for bit the same: the same scan order and NaN rule for max, sums and scatter-adds in
// double, one rounding to T at the end. Planes (batch × channels) are independent: the pool
// threads take chunks of planes, which changes no result.

#include <atomic>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "conv2d.h"
#include "pool.h"

namespace wgcpu {
namespace {

inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }

// Planes per task: about 16 Ki output cells of work per task, at least one plane.
int64_t PlanesPerTask(int64_t cellsPerPlane) {
  int64_t p = (int64_t(1) << 14) / (cellsPerPlane > 0 ? cellsPerPlane : 1);
  return p < 1 ? 1 : p;
}

template <class Fn>
struct PlaneJob {
  const Fn* fn;
  int64_t planes, per;
};

template <class Fn>
void PlaneTask(void* ctx, int64_t t, int) {
  auto* j = static_cast<PlaneJob<Fn>*>(ctx);
  const int64_t p0 = t * j->per, p1 = Min(j->planes, p0 + j->per);
  for (int64_t pl = p0; pl < p1; pl++) (*j->fn)(pl);
}

// Runs fn(plane) for every plane over the pool.
template <class Fn>
void ForPlanes(int64_t planes, int64_t cellsPerPlane, const Fn& fn) {
  if (planes <= 0) return;
  PlaneJob<Fn> j{&fn, planes, PlanesPerTask(cellsPerPlane)};
  ParallelFor((planes + j.per - 1) / j.per, PlaneTask<Fn>, &j);
}

// A plane of double accumulators for the calling pool thread.
double* Acc(int64_t n) {
  thread_local std::vector<double> acc;
  if (int64_t(acc.size()) < n) acc.resize(size_t(n));
  return acc.data();
}

bool WindowsInside(const PoolGeom& p) {
  return p.padH == 0 && p.padW == 0 && p.kH > 0 && p.kW > 0 && p.outH > 0 && p.outW > 0 &&
         (p.outH - 1) * p.strideH + (p.kH - 1) * p.dilationH < p.inH &&
         (p.outW - 1) * p.strideW + (p.kW - 1) * p.dilationW < p.inW;
}

// torch's divisor rule, generalised to dilation: cells inside [-pad, in + pad) and inside [0, in).
inline void AvgDivisor(const PoolGeom& p, int64_t h0, int64_t w0, double* padded, double* valid) {
  int64_t ph = 0, vh = 0, pw = 0, vw = 0;
  for (int64_t r = 0; r < p.kH; r++) {
    const int64_t ih = h0 + r * p.dilationH;
    if (ih >= -p.padH && ih < p.inH + p.padH) ph++;
    if (ih >= 0 && ih < p.inH) vh++;
  }
  for (int64_t s = 0; s < p.kW; s++) {
    const int64_t iw = w0 + s * p.dilationW;
    if (iw >= -p.padW && iw < p.inW + p.padW) pw++;
    if (iw >= 0 && iw < p.inW) vw++;
  }
  *padded = double(ph * pw);
  *valid = double(vh * vw);
}

inline int64_t AdaptiveStart(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
inline int64_t AdaptiveEnd(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

// best, bi = v, q when v > best, or v is NaN and best is not (torch's rule: a NaN is the maximum,
// the first NaN wins). Branch-free on x86-64: on random data that branch is a coin toss, and
// compilers keep it a branch (the unordered compare sets the parity flag).
#if defined(__SSE2__)
inline void Take(float v, int64_t q, float& best, int64_t& bi) {
  const __m128 V = _mm_set_ss(v), B = _mm_set_ss(best);
  const __m128 m = _mm_or_ps(_mm_cmpgt_ss(V, B), _mm_and_ps(_mm_cmpunord_ss(V, V), _mm_cmpord_ss(B, B)));
  const int64_t take = -int64_t(_mm_movemask_ps(m) & 1);
  best = _mm_cvtss_f32(_mm_or_ps(_mm_and_ps(m, V), _mm_andnot_ps(m, B)));
  bi = (q & take) | (bi & ~take);
}
inline void Take(double v, int64_t q, double& best, int64_t& bi) {
  const __m128d V = _mm_set_sd(v), B = _mm_set_sd(best);
  const __m128d m = _mm_or_pd(_mm_cmpgt_sd(V, B), _mm_and_pd(_mm_cmpunord_sd(V, V), _mm_cmpord_sd(B, B)));
  const int64_t take = -int64_t(_mm_movemask_pd(m) & 1);
  best = _mm_cvtsd_f64(_mm_or_pd(_mm_and_pd(m, V), _mm_andnot_pd(m, B)));
  bi = (q & take) | (bi & ~take);
}
#else
template <class T>
inline void Take(T v, int64_t q, T& best, int64_t& bi) {
  if (v > best || (v != v && best == best)) {
    best = v;
    bi = q;
  }
}
#endif

// 2×2 windows, stride 2, inside the image (the common CNN pool), float32: four outputs per step
// with the scan order and rule of Take (row 0: columns 0, 1; row 1: columns 0, 1), bit for bit.
[[maybe_unused]] bool Pool2x2(const PoolGeom& p) {
  return WindowsInside(p) && p.kH == 2 && p.kW == 2 && p.strideH == 2 && p.strideW == 2 && p.dilationH == 1 &&
         p.dilationW == 1;
}

#if defined(__SSE2__)
inline __m128 TakeMask4(__m128 v, __m128 best) {
  return _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_and_ps(_mm_cmpunord_ps(v, v), _mm_cmpord_ps(best, best)));
}

void MaxPool2x2Plane(const PoolGeom& p, const float* X, float* Y, int32_t* A) {
  const int64_t inW = p.inW;
  for (int64_t oh = 0; oh < p.outH; oh++) {
    const int64_t base = 2 * oh * inW;
    const float* r0 = X + base;
    const float* r1 = r0 + inW;
    float* y = Y + oh * p.outW;
    int32_t* a = A ? A + oh * p.outW : nullptr;
    int64_t ow = 0;
    for (; ow + 4 <= p.outW; ow += 4) {
      const __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), a1 = _mm_loadu_ps(r0 + 2 * ow + 4);
      const __m128 b0 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
      const __m128 v00 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                   v01 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
      const __m128 v10 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                   v11 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
      const __m128i i00 = _mm_add_epi32(_mm_set1_epi32(int32_t(base + 2 * ow)), _mm_setr_epi32(0, 2, 4, 6));
      __m128 best = v00;
      __m128i bi = i00;
      const __m128 c[3] = {v01, v10, v11};
      const int32_t d[3] = {1, int32_t(inW), int32_t(inW + 1)};
      for (int k = 0; k < 3; k++) {
        const __m128 m = TakeMask4(c[k], best);
        const __m128i mi = _mm_castps_si128(m);
        best = _mm_or_ps(_mm_and_ps(m, c[k]), _mm_andnot_ps(m, best));
        bi = _mm_or_si128(_mm_and_si128(mi, _mm_add_epi32(i00, _mm_set1_epi32(d[k]))), _mm_andnot_si128(mi, bi));
      }
      _mm_storeu_ps(y + ow, best);
      if (A) _mm_storeu_si128(reinterpret_cast<__m128i*>(a + ow), bi);
    }
    for (; ow < p.outW; ow++) {
      const int64_t q0 = base + 2 * ow;
      float best = X[q0];
      int64_t bi = q0;
      Take(X[q0 + 1], q0 + 1, best, bi);
      Take(X[q0 + inW], q0 + inW, best, bi);
      Take(X[q0 + inW + 1], q0 + inW + 1, best, bi);
      y[ow] = best;
      if (A) a[ow] = int32_t(bi);
    }
  }
}
#endif

#if defined(__SSE2__)
// The backward of a 2×2/2 plane written densely (each dx cell once: dy + 0 where the window's
// argmax points, else 0), four windows per SSE2 step. False, with nothing assumed written, when an
// argmax is neither -1 nor one of its own window's cells (dx then partly written): the generic path
// redoes the plane.
bool MaxPool2x2BackwardPlane(const PoolGeom& p, const float* DY, const int32_t* A, float* DX) {
  const int64_t inW = p.inW;
  const __m128 zero = _mm_setzero_ps();
  for (int64_t oh = 0; oh < p.outH; oh++) {
    const int64_t base = 2 * oh * inW;
    float* r0 = DX + base;
    float* r1 = r0 + inW;
    const float* dy = DY + oh * p.outW;
    const int32_t* a = A + oh * p.outW;
    int64_t ow = 0;
    for (; ow + 4 <= p.outW; ow += 4) {
      const __m128i av = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + ow));
      const __m128i q = _mm_add_epi32(_mm_set1_epi32(int32_t(base + 2 * ow)), _mm_setr_epi32(0, 2, 4, 6));
      const __m128 m00 = _mm_castsi128_ps(_mm_cmpeq_epi32(av, q));
      const __m128 m01 = _mm_castsi128_ps(_mm_cmpeq_epi32(av, _mm_add_epi32(q, _mm_set1_epi32(1))));
      const __m128 m10 = _mm_castsi128_ps(_mm_cmpeq_epi32(av, _mm_add_epi32(q, _mm_set1_epi32(int32_t(inW)))));
      const __m128 m11 = _mm_castsi128_ps(_mm_cmpeq_epi32(av, _mm_add_epi32(q, _mm_set1_epi32(int32_t(inW + 1)))));
      const __m128 none = _mm_castsi128_ps(_mm_cmpeq_epi32(av, _mm_set1_epi32(-1)));
      const __m128 ok = _mm_or_ps(_mm_or_ps(_mm_or_ps(m00, m01), _mm_or_ps(m10, m11)), none);
      if (_mm_movemask_ps(ok) != 0xF) return false;
      const __m128 g = _mm_add_ps(_mm_loadu_ps(dy + ow), zero);  // -0 becomes +0, as 0 + dy
      const __m128 v00 = _mm_and_ps(m00, g), v01 = _mm_and_ps(m01, g);
      const __m128 v10 = _mm_and_ps(m10, g), v11 = _mm_and_ps(m11, g);
      _mm_storeu_ps(r0 + 2 * ow, _mm_unpacklo_ps(v00, v01));
      _mm_storeu_ps(r0 + 2 * ow + 4, _mm_unpackhi_ps(v00, v01));
      _mm_storeu_ps(r1 + 2 * ow, _mm_unpacklo_ps(v10, v11));
      _mm_storeu_ps(r1 + 2 * ow + 4, _mm_unpackhi_ps(v10, v11));
    }
    for (; ow < p.outW; ow++) {
      const int64_t q0 = base + 2 * ow, av = a[ow];
      if (av != -1 && av != q0 && av != q0 + 1 && av != q0 + inW && av != q0 + inW + 1) return false;
      const float g = dy[ow] + 0.0f;
      r0[2 * ow] = av == q0 ? g : 0.0f;
      r0[2 * ow + 1] = av == q0 + 1 ? g : 0.0f;
      r1[2 * ow] = av == q0 + inW ? g : 0.0f;
      r1[2 * ow + 1] = av == q0 + inW + 1 ? g : 0.0f;
    }
    // an odd last column is in no window
    if (inW > 2 * p.outW) r0[inW - 1] = r1[inW - 1] = 0.0f;
  }
  // odd last rows are in no window
  for (int64_t e = 2 * p.outH * inW; e < p.inH * inW; e++) DX[e] = 0.0f;
  return true;
}

#endif

}  // namespace

template <class T>
void MaxPool2dPlane(const PoolGeom& p, const T* X, T* Y, int32_t* A) {
#if defined(__SSE2__)
  if constexpr (sizeof(T) == 4) {
    if (Pool2x2(p)) return MaxPool2x2Plane(p, reinterpret_cast<const float*>(X), reinterpret_cast<float*>(Y), A);
  }
#endif
  const bool inside = WindowsInside(p);
  int64_t o = 0;
  for (int64_t oh = 0; oh < p.outH; oh++) {
    for (int64_t ow = 0; ow < p.outW; ow++, o++) {
      T best;
      int64_t bi;
      if (inside) {
        const int64_t h0 = oh * p.strideH, w0 = ow * p.strideW;
        bi = h0 * p.inW + w0;
        best = X[bi];
        for (int64_t r = 0; r < p.kH; r++) {
          const int64_t row = (h0 + r * p.dilationH) * p.inW + w0;
          for (int64_t s = r == 0 ? 1 : 0; s < p.kW; s++) {
            const int64_t q = row + s * p.dilationW;
            Take(X[q], q, best, bi);
          }
        }
      } else {
        const int64_t h0 = oh * p.strideH - p.padH, w0 = ow * p.strideW - p.padW;
        best = -__builtin_inf();
        bi = -1;
        for (int64_t r = 0; r < p.kH; r++) {
          const int64_t ih = h0 + r * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (int64_t s = 0; s < p.kW; s++) {
            const int64_t iw = w0 + s * p.dilationW;
            if (iw < 0 || iw >= p.inW) continue;
            if (bi < 0) {  // the first cell inside the image starts the window
              best = X[ih * p.inW + iw];
              bi = ih * p.inW + iw;
            } else {
              Take(X[ih * p.inW + iw], ih * p.inW + iw, best, bi);
            }
          }
        }
      }
      Y[o] = best;
      if (A) A[o] = int32_t(bi);
    }
  }
}

template <class T>
void MaxPool2d(const PoolGeom& p, const T* x, T* y, int32_t* argmax) {
  const int64_t inPlane = p.inH * p.inW, outPlane = p.outH * p.outW;
  ForPlanes(p.batch * p.channels, outPlane * p.kH * p.kW, [&](int64_t pl) {
    MaxPool2dPlane(p, x + pl * inPlane, y + pl * outPlane, argmax ? argmax + pl * outPlane : nullptr);
  });
}

template <class T>
int64_t MaxPool2dBackward(const PoolGeom& p, const T* dy, const int32_t* argmax, T* dx) {
  const int64_t inPlane = p.inH * p.inW, outPlane = p.outH * p.outW;
  const bool disjoint = p.strideH >= (p.kH - 1) * p.dilationH + 1 && p.strideW >= (p.kW - 1) * p.dilationW + 1;
  std::atomic<int64_t> bad{-1};
  auto note = [&](int64_t pos) {
    int64_t cur = bad.load();
    while ((cur < 0 || pos < cur) && !bad.compare_exchange_weak(cur, pos)) {
    }
  };
  ForPlanes(p.batch * p.channels, outPlane + inPlane, [&](int64_t pl) {
    const T* DY = dy + pl * outPlane;
    const int32_t* A = argmax + pl * outPlane;
    T* DX = dx + pl * inPlane;
#if defined(__SSE2__)
    if constexpr (sizeof(T) == 4) {
      if (Pool2x2(p) && MaxPool2x2BackwardPlane(p, reinterpret_cast<const float*>(DY), A, reinterpret_cast<float*>(DX)))
        return;
    }
#endif
    if (disjoint) {
      // each dx cell receives at most one dy: 0 + dy, written directly (-0 becomes +0)
      for (int64_t i = 0; i < inPlane; i++) DX[i] = 0;
      for (int64_t j = 0; j < outPlane; j++) {
        const int64_t a = A[j];
        if (a >= 0 && a < inPlane) DX[a] = DY[j] + T(0);
        else if (a != -1) return note(pl * outPlane + j);
      }
      return;
    }
    double* acc = Acc(inPlane);
    for (int64_t i = 0; i < inPlane; i++) acc[i] = 0;
    for (int64_t j = 0; j < outPlane; j++) {
      const int64_t a = A[j];
      if (a >= 0 && a < inPlane) acc[a] += double(DY[j]);
      else if (a != -1) return note(pl * outPlane + j);
    }
    for (int64_t i = 0; i < inPlane; i++) DX[i] = T(acc[i]);
  });
  return bad.load();
}

template <class T>
void AvgPool2d(const PoolGeom& p, const T* x, T* y) {
  const int64_t inPlane = p.inH * p.inW, outPlane = p.outH * p.outW;
  ForPlanes(p.batch * p.channels, outPlane * p.kH * p.kW, [&](int64_t pl) {
    const T* X = x + pl * inPlane;
    T* Y = y + pl * outPlane;
    int64_t o = 0;
    for (int64_t oh = 0; oh < p.outH; oh++) {
      const int64_t h0 = oh * p.strideH - p.padH;
      for (int64_t ow = 0; ow < p.outW; ow++, o++) {
        const int64_t w0 = ow * p.strideW - p.padW;
        double sum = 0;
        for (int64_t r = 0; r < p.kH; r++) {
          const int64_t ih = h0 + r * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (int64_t s = 0; s < p.kW; s++) {
            const int64_t iw = w0 + s * p.dilationW;
            if (iw >= 0 && iw < p.inW) sum += double(X[ih * p.inW + iw]);
          }
        }
        double padded, valid;
        AvgDivisor(p, h0, w0, &padded, &valid);
        Y[o] = T(sum / (p.countIncludePad ? padded : valid));
      }
    }
  });
}

template <class T>
void AvgPool2dBackward(const PoolGeom& p, const T* dy, T* dx) {
  const int64_t inPlane = p.inH * p.inW, outPlane = p.outH * p.outW;
  ForPlanes(p.batch * p.channels, outPlane * p.kH * p.kW + inPlane, [&](int64_t pl) {
    const T* DY = dy + pl * outPlane;
    T* DX = dx + pl * inPlane;
    double* acc = Acc(inPlane);
    for (int64_t i = 0; i < inPlane; i++) acc[i] = 0;
    int64_t o = 0;
    for (int64_t oh = 0; oh < p.outH; oh++) {
      const int64_t h0 = oh * p.strideH - p.padH;
      for (int64_t ow = 0; ow < p.outW; ow++, o++) {
        const int64_t w0 = ow * p.strideW - p.padW;
        double padded, valid;
        AvgDivisor(p, h0, w0, &padded, &valid);
        const double gr = double(DY[o]) / (p.countIncludePad ? padded : valid);
        for (int64_t r = 0; r < p.kH; r++) {
          const int64_t ih = h0 + r * p.dilationH;
          if (ih < 0 || ih >= p.inH) continue;
          for (int64_t s = 0; s < p.kW; s++) {
            const int64_t iw = w0 + s * p.dilationW;
            if (iw >= 0 && iw < p.inW) acc[ih * p.inW + iw] += gr;
          }
        }
      }
    }
    for (int64_t i = 0; i < inPlane; i++) DX[i] = T(acc[i]);
  });
}

template <class T>
void AdaptiveAvgPool2d(const PoolGeom& p, const T* x, T* y) {
  const int64_t inPlane = p.inH * p.inW, outPlane = p.outH * p.outW;
  ForPlanes(p.batch * p.channels, outPlane + inPlane, [&](int64_t pl) {
    const T* X = x + pl * inPlane;
    T* Y = y + pl * outPlane;
    int64_t o = 0;
    for (int64_t oh = 0; oh < p.outH; oh++) {
      const int64_t hs = AdaptiveStart(oh, p.inH, p.outH), he = AdaptiveEnd(oh, p.inH, p.outH);
      for (int64_t ow = 0; ow < p.outW; ow++, o++) {
        const int64_t ws = AdaptiveStart(ow, p.inW, p.outW), we = AdaptiveEnd(ow, p.inW, p.outW);
        double sum = 0;
        for (int64_t ih = hs; ih < he; ih++)
          for (int64_t iw = ws; iw < we; iw++) sum += double(X[ih * p.inW + iw]);
        Y[o] = T(sum / double((he - hs) * (we - ws)));
      }
    }
  });
}

template <class T>
void AdaptiveAvgPool2dBackward(const PoolGeom& p, const T* dy, T* dx) {
  const int64_t inPlane = p.inH * p.inW, outPlane = p.outH * p.outW;
  ForPlanes(p.batch * p.channels, outPlane + inPlane, [&](int64_t pl) {
    const T* DY = dy + pl * outPlane;
    T* DX = dx + pl * inPlane;
    double* acc = Acc(inPlane);
    for (int64_t i = 0; i < inPlane; i++) acc[i] = 0;
    int64_t o = 0;
    for (int64_t oh = 0; oh < p.outH; oh++) {
      const int64_t hs = AdaptiveStart(oh, p.inH, p.outH), he = AdaptiveEnd(oh, p.inH, p.outH);
      for (int64_t ow = 0; ow < p.outW; ow++, o++) {
        const int64_t ws = AdaptiveStart(ow, p.inW, p.outW), we = AdaptiveEnd(ow, p.inW, p.outW);
        const double gr = double(DY[o]) / double((he - hs) * (we - ws));
        for (int64_t ih = hs; ih < he; ih++)
          for (int64_t iw = ws; iw < we; iw++) acc[ih * p.inW + iw] += gr;
      }
    }
    for (int64_t i = 0; i < inPlane; i++) DX[i] = T(acc[i]);
  });
}

#define WG_POOL_INST(T)                                                                 \
  template void MaxPool2dPlane<T>(const PoolGeom&, const T*, T*, int32_t*);             \
  template void MaxPool2d<T>(const PoolGeom&, const T*, T*, int32_t*);                  \
  template int64_t MaxPool2dBackward<T>(const PoolGeom&, const T*, const int32_t*, T*); \
  template void AvgPool2d<T>(const PoolGeom&, const T*, T*);                            \
  template void AvgPool2dBackward<T>(const PoolGeom&, const T*, T*);                    \
  template void AdaptiveAvgPool2d<T>(const PoolGeom&, const T*, T*);                    \
  template void AdaptiveAvgPool2dBackward<T>(const PoolGeom&, const T*, T*);
WG_POOL_INST(float)
WG_POOL_INST(double)

}  // namespace wgcpu
