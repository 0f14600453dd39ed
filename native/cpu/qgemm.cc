// int8 GEMM driver (see qgemm.h and lib/quantization/qgemm.ts): packs a and b into zero-padded,
// aligned buffers with their row sums, runs the dot kernel of the selected path over row blocks
// on the thread pool, and applies the zero-point corrections, the scales, the bias and ReLU
// exactly as the js reference does (in double, then rounded once to float32), so out matches the
// js kernel bit for bit, not only acc. Built with the baseline flags: the dispatch below checks
// cpuid before any AVX code runs.

#include <math.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <emmintrin.h>  // SSE2: the x86-64 baseline
#endif
#include <string.h>

#include <atomic>
#include <mutex>
#include <memory>

#include "cpu_kernels.h"
#include "gen_qgemm.h"
#include "pool.h"
#include "qgemm.h"

namespace wgcpu {

void QgemmDotScalar(const uint8_t* a, const int8_t* b, int32_t* dot, int64_t np, int64_t kp, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) {
    const uint8_t* ai = a + i * kp;
    for (int64_t j = 0; j < np; j++) {
      const int8_t* bj = b + j * kp;
      int32_t s = 0;
      for (int64_t p = 0; p < kp; p++) s += int32_t(ai[p]) * int32_t(bj[p]);
      dot[i * np + j] = s;
    }
  }
}

void QgemmEpilogueScalar(const QgemmRow& r) {
  for (int64_t j = 0; j < r.n; j++) {
    int64_t d = r.dot[j];
    if (r.dotHi) d += 128 * int64_t(r.dotHi[j]);
    const int64_t za = r.za, zb = r.bZero[j];
    // the js reference: (dot − za·Σb − zb·Σa + k·za·zb) | 0
    int32_t v = int32_t(uint32_t(uint64_t(d - za * r.bSum[j] - zb * r.aSum + int64_t(r.k) * za * zb)));
    if (r.acc) r.acc[j] = v;
    double y = double(r.scale[j]) * double(v) + (r.bias ? double(r.bias[j]) : 0.0);
    if (r.relu && y < 0) y = 0;
    r.out[j] = float(y);
  }
}

// (t + 1.5 · 2^52) − 1.5 · 2^52 rounds half to even in the default rounding mode for |t| < 2^51
// (t is clamped first); IEEE arithmetic: no -ffast-math on this file.
bool QuantizeU8Scalar(const float* x, uint8_t* out, int64_t n, double inv, int32_t zeroPoint, int32_t qmin,
                      int32_t qmax, int32_t shift) {
  const double magic = 6755399441055744.0;
  const double lo = double(qmin - zeroPoint) - 1, hi = double(qmax - zeroPoint) + 1;
  bool nan = false;
  for (int64_t i = 0; i < n; i++) {
    double t = double(x[i]) * inv;
    if (t != t) {
      nan = true;
      t = 0;
    }
    t = t < lo ? lo : t > hi ? hi : t;
    int64_t q = int64_t((t + magic) - magic) + zeroPoint;
    q = q < qmin ? qmin : q > qmax ? qmax : q;
    out[i] = uint8_t(q + shift);
  }
  return !nan;
}

namespace {

struct Path {
  const char* name;
  QgemmDotFn fn;
  bool (*supported)();
  QgemmEpilogueFn epilogue;
  QuantizeU8Fn quantize;
};

#if defined(__x86_64__)
bool TableIs(const char* n) { return strcmp(Kernels().name, n) == 0; }
// The CPU kernel table (WATTGRAD_CPU_ISA, cpuSelectIsa) caps the int8 path: avx512 allows VNNI,
// avx2 allows AVX2, sse2 leaves the scalar kernel.
bool HasVnni() {
  __builtin_cpu_init();
  return TableIs("avx512") && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
}
bool HasAvx2() {
  __builtin_cpu_init();
  return (TableIs("avx512") || TableIs("avx2")) && __builtin_cpu_supports("avx2");
}
#endif
bool Always() { return true; }

const Path kPaths[] = {
#if defined(__x86_64__)
    {"vnni", QgemmDotVnni, HasVnni, QgemmEpilogueAvx512, QuantizeU8Avx512},
    {"avx2", QgemmDotAvx2, HasAvx2, QgemmEpilogueAvx2, QuantizeU8Scalar},
#endif
    {"scalar", QgemmDotScalar, Always, QgemmEpilogueScalar, QuantizeU8Scalar},
};
constexpr int kPathCount = sizeof(kPaths) / sizeof(kPaths[0]);

const Path* g_forced = nullptr;

// Which kernel a path runs (the x86 units exist on x86 only).
bool OnVnni(const Path& p) {
#if defined(__x86_64__)
  return p.fn == QgemmDotVnni;
#else
  (void)p;
  return false;
#endif
}
bool OnAvx2(const Path& p) {
#if defined(__x86_64__)
  return p.fn == QgemmDotAvx2;
#else
  (void)p;
  return false;
#endif
}

const Path& Current() {
  if (g_forced && g_forced->supported()) return *g_forced;
  for (int i = 0; i < kPathCount; i++)
    if (kPaths[i].supported()) return kPaths[i];
  return kPaths[kPathCount - 1];
}

struct FreeDeleter {
  void operator()(void* p) const { free(p); }
};
template <class T>
using Buf = std::unique_ptr<T, FreeDeleter>;

// Grow-only buffers kept between calls (under g_mutex): large allocations are mmap'ed fresh by
// malloc each time, and their page faults cost more than a small GEMM.
struct Cached {
  void* p = nullptr;
  size_t bytes = 0;
  void* Get(size_t want) {
    want = (want + 63) / 64 * 64;
    if (want <= bytes) return p;
    free(p);
    p = aligned_alloc(64, want ? want : 64);
    bytes = p ? want : 0;
    return p;
  }
};
Cached g_cache[8];
std::mutex g_mutex;

template <class T>
T* AllocAligned(size_t count) {
  size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
  return static_cast<T*>(aligned_alloc(64, bytes ? bytes : 64));
}

constexpr int64_t kRowBlock = 16;  // rows per pool task (a multiple of 4)
constexpr int kScratchSlot = 6;    // pool.h Scratch slots 6 and 7: a convolution's output row

// Float activations quantized row by row into the packed buffer (cpuQlinearDynamicF32).
struct FloatA {
  const float* x;  // (m, k)
  QuantizeU8Fn quantize;
  double inv;
  int32_t zeroPoint, qmin, qmax;
};

// A convolution's geometry: row i of the GEMM is output pixel (i / (oh·ow), (i / ow) % oh, i % ow).
struct ConvGeom {
  const uint8_t* x;  // (n, c, h, w)
  int64_t c, h, w, r, s, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW;
};

struct Ctx {
  const QgemmArgs* x;
  QgemmDotFn fn;
  QgemmEpilogueFn epilogue;
  bool split;           // the AVX2 kernel: rows holding an activation above 127 are split (qgemm.h)
  uint8_t* a;           // packed (mp, kp), filled by the tasks
  uint8_t* aHi;         // (mp, kp) when split: the a >> 7 half
  const int8_t* b;      // packed (np, kp)
  int32_t* dot;         // (mp, np)
  int32_t* dotHi;       // (mp, np) when split
  int32_t* aSum;        // (mp)
  const int32_t* bSum;  // (n)
  const float* scale;   // (n): float32(aScale · bScale[j]), as the js reference's Float32Array
  int64_t mp, np, kp;
  const ConvGeom* conv;  // null: a is x.a (m, k) and out is (m, n); else im2col and out (N, n, oh, ow)
  std::atomic<bool>* failed;
  const FloatA* fa;  // not null: a is quantized from fa->x (m, k) float32 while packing (dynamic Linear)
};

// Packs row i of a (zero-padded to kp).
void PackRow(const Ctx& c, int64_t i) {
  const QgemmArgs& x = *c.x;
  uint8_t* dst = c.a + i * c.kp;
  int64_t k = x.k;
  if (i >= x.m) {
    memset(dst, 0, size_t(c.kp));
    return;
  }
  if (c.fa) {
    const FloatA& f = *c.fa;
    f.quantize(f.x + i * k, dst, k, f.inv, f.zeroPoint, f.qmin, f.qmax, 0);  // no NaN: checked before
  } else if (!c.conv) {
    memcpy(dst, x.a + i * k, size_t(k));
  } else {
    const ConvGeom& g = *c.conv;
    const int64_t P = g.oh * g.ow;
    const int64_t img = i / P, yo = (i / g.ow) % g.oh, xo = i % g.ow;
    const uint8_t pad = uint8_t(x.aZeroPoint);
    const int64_t iw0 = xo * g.strideW - g.padW, ih0 = yo * g.strideH - g.padH;
    const uint8_t* xEnd = g.x + (x.m / P) * g.c * g.h * g.w;              // one past the input (N images)
    const uint8_t* dstEnd = dst + c.kp;                                   // one past this row of the packed buffer
    const bool inside = iw0 >= 0 && iw0 + (g.s - 1) * g.dilationW < g.w;  // every column tap in the image
    uint8_t* o = dst;
    for (int64_t ch = 0; ch < g.c; ch++) {
      const uint8_t* plane = g.x + (img * g.c + ch) * g.h * g.w;
      for (int64_t r = 0; r < g.r; r++) {
        const int64_t ih = ih0 + r * g.dilationH;
        if (ih < 0 || ih >= g.h) {
          memset(o, pad, size_t(g.s));
        } else if (inside && g.dilationW == 1) {
          const uint8_t* src = plane + ih * g.w + iw0;
          if (g.s <= 8 && src + 8 <= xEnd && o + 8 <= dstEnd) {
            // 8 bytes at once; the bytes past s are overwritten by the next tap row or the padding
            uint64_t v;
            memcpy(&v, src, 8);
            memcpy(o, &v, 8);
          } else {
            for (int64_t s = 0; s < g.s; s++) o[s] = src[s];
          }
        } else {
          const uint8_t* row = plane + ih * g.w;
          for (int64_t s = 0; s < g.s; s++) {
            const int64_t iw = iw0 + s * g.dilationW;
            o[s] = iw < 0 || iw >= g.w ? pad : row[iw];
          }
        }
        o += g.s;
      }
    }
  }
  memset(dst + k, 0, size_t(c.kp - k));
}

// aSum[i] and the largest value of packed row i (read after the whole block is packed: no
// store-to-load forwarding stall on the bytes just written).
uint8_t RowStats(const Ctx& c, int64_t i) {
  const uint8_t* dst = c.a + i * c.kp;
  const int64_t k = c.x->k;
  (void)k;
  // sum and max over the zero-padded row (the padding changes neither)
#if defined(__x86_64__)
  __m128i vs = _mm_setzero_si128(), vm = _mm_setzero_si128();
  for (int64_t p = 0; p < c.kp; p += 16) {
    __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(dst + p));
    vs = _mm_add_epi64(vs, _mm_sad_epu8(v, _mm_setzero_si128()));
    vm = _mm_max_epu8(vm, v);
  }
  int32_t sum = int32_t(_mm_cvtsi128_si64(vs) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(vs, vs)));
  vm = _mm_max_epu8(vm, _mm_srli_si128(vm, 8));
  vm = _mm_max_epu8(vm, _mm_srli_si128(vm, 4));
  vm = _mm_max_epu8(vm, _mm_srli_si128(vm, 2));
  vm = _mm_max_epu8(vm, _mm_srli_si128(vm, 1));
  const uint8_t mx = uint8_t(_mm_cvtsi128_si32(vm) & 0xff);
#else
  int32_t sum = 0;
  uint8_t mx = 0;
  for (int64_t p = 0; p < k; p++) {
    sum += dst[p];
    mx = dst[p] > mx ? dst[p] : mx;
  }
#endif
  c.aSum[i] = sum;
  return mx;
}

void Task(void* p, int64_t task, int) {
  const Ctx& c = *static_cast<const Ctx*>(p);
  const QgemmArgs& x = *c.x;
  int64_t i0 = task * kRowBlock, i1 = i0 + kRowBlock < c.mp ? i0 + kRowBlock : c.mp;
  uint8_t amax = 0;
  for (int64_t i = i0; i < i1; i++) PackRow(c, i);
  for (int64_t i = i0; i < i1; i++) {
    uint8_t v = RowStats(c, i);
    amax = v > amax ? v : amax;
  }
  const bool split = c.split && amax > 127;
  if (split) {
    // vpmaddubsw would saturate: a = (a & 127) + 128 · (a >> 7), each half exact (qgemm.h)
    for (int64_t t = i0 * c.kp; t < i1 * c.kp; t++) {
      c.aHi[t] = c.a[t] >> 7;
      c.a[t] &= 127;
    }
    c.fn(c.aHi, c.b, c.dotHi, c.np, c.kp, i0, i1);
  }
  c.fn(c.a, c.b, c.dot, c.np, c.kp, i0, i1);
  const int64_t P = c.conv ? c.conv->oh * c.conv->ow : 0;
  // a convolution's output row before the scatter (one small buffer per task; on failure ok = false)
  Buf<float> rowOutBuf(P ? AllocAligned<float>(size_t(x.n)) : nullptr);
  Buf<int32_t> rowAccBuf(P && x.acc ? AllocAligned<int32_t>(size_t(x.n)) : nullptr);
  float* rowOut = rowOutBuf.get();
  int32_t* rowAcc = rowAccBuf.get();
  if ((P && !rowOut) || (P && x.acc && !rowAcc)) {
    c.failed->store(true);
    return;
  }
  QgemmRow r{nullptr, nullptr,      c.bSum, x.bZeroPoint, c.scale, x.bias, nullptr, nullptr,
             x.n,     x.aZeroPoint, 0,      int32_t(x.k), x.relu};
  for (int64_t i = i0; i < i1 && i < x.m; i++) {
    r.dot = c.dot + i * c.np;
    r.dotHi = split ? c.dotHi + i * c.np : nullptr;
    r.aSum = c.aSum[i];
    if (!P) {
      r.out = x.out + i * x.n;
      r.acc = x.acc ? x.acc + i * x.n : nullptr;
      c.epilogue(r);
      continue;
    }
    // a convolution: the row of pixel i, then scattered to NCHW (channel j at stride P)
    r.out = rowOut;
    r.acc = rowAcc;
    c.epilogue(r);
    const int64_t base = (i / P) * x.n * P + i % P;
    for (int64_t j = 0; j < x.n; j++) x.out[base + j * P] = rowOut[j];
    if (rowAcc)
      for (int64_t j = 0; j < x.n; j++) x.acc[base + j * P] = rowAcc[j];
  }
}

// The GEMM of x (a from x.a, or im2col of conv->x when conv): see Ctx.
bool Run(const QgemmArgs& x, const ConvGeom* conv, const FloatA* fa = nullptr) {
  const int64_t m = x.m, n = x.n, k = x.k;
  if (m == 0 || n == 0) return true;
  const Path& path = Current();
  const int64_t kp = k > 0 ? (k + 63) / 64 * 64 : 64;
  const int64_t mp = (m + 3) / 4 * 4, np = (n + 3) / 4 * 4;
  const bool split = OnAvx2(path);
  std::lock_guard<std::mutex> lock(g_mutex);
  uint8_t* a = static_cast<uint8_t*>(g_cache[0].Get(size_t(mp * kp)));
  int8_t* b = static_cast<int8_t*>(g_cache[1].Get(size_t(np * kp)));
  int32_t* dot = static_cast<int32_t*>(g_cache[2].Get(size_t(mp * np) * 4));
  int32_t* aSum = static_cast<int32_t*>(g_cache[3].Get(size_t(mp) * 4));
  int32_t* bSum = static_cast<int32_t*>(g_cache[4].Get(size_t(n) * 4));
  float* scale = static_cast<float*>(g_cache[5].Get(size_t(n) * 4));
  uint8_t* hi = split ? static_cast<uint8_t*>(g_cache[6].Get(size_t(mp * kp))) : nullptr;
  int32_t* dotHi = split ? static_cast<int32_t*>(g_cache[7].Get(size_t(mp * np) * 4)) : nullptr;
  if (!a || !b || !dot || !aSum || !bSum || !scale || (split && (!hi || !dotHi))) return false;
  memset(b, 0, size_t(np * kp));
  for (int64_t j = 0; j < n; j++) {
    const int8_t* src = x.b + j * k;
    int8_t* row = b + j * kp;
    memcpy(row, src, size_t(k));
#if defined(__x86_64__)
    // Σ s8 = Σ (byte ^ 0x80, as u8) − 128 · kp over the zero-padded row (SSE2 psadbw)
    const __m128i flip = _mm_set1_epi8(char(0x80));
    __m128i vs = _mm_setzero_si128();
    for (int64_t p = 0; p < kp; p += 16)
      vs =
          _mm_add_epi64(vs, _mm_sad_epu8(_mm_xor_si128(_mm_load_si128(reinterpret_cast<const __m128i*>(row + p)), flip),
                                         _mm_setzero_si128()));
    bSum[j] = int32_t(_mm_cvtsi128_si64(vs) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(vs, vs)) - 128 * kp);
#else
    int32_t sum = 0;
    for (int64_t p = 0; p < k; p++) sum += src[p];
    bSum[j] = sum;
#endif
    scale[j] = float(x.aScale * double(x.bScale[j]));
  }
  std::atomic<bool> failed{false};
  Ctx c{&x, path.fn, path.epilogue, split, a, hi, b, dot, dotHi, aSum, bSum, scale, mp, np, kp, conv, &failed, fa};
  const int64_t tasks = (mp + kRowBlock - 1) / kRowBlock;
  // a small product (below ~2M byte products: 10-20 µs on one core, e.g. a classifier head) runs
  // its tasks on the calling thread: waking a worker costs about as much, and on a loaded machine a
  // descheduled worker holding a task costs far more (measured 64x10x512: 6.6 µs on 1 thread,
  // 12.5 µs on 2). The tasks are the same, so the results are too.
  if (mp * np * kp < (int64_t(1) << 21)) {
    for (int64_t t = 0; t < tasks; t++) Task(&c, t, 0);
  } else {
    ParallelFor(tasks, Task, &c);
  }
  return !failed.load();
}

}  // namespace

const char* QgemmIsa() { return Current().name; }

int QgemmSupportedIsas(const char** names, int cap) {
  int n = 0;
  for (int i = 0; i < kPathCount && n < cap; i++)
    if (kPaths[i].supported()) names[n++] = kPaths[i].name;
  return n;
}

bool QgemmSelectIsa(const char* name) {
  if (strcmp(name, "auto") == 0) {
    g_forced = nullptr;
    return true;
  }
  for (int i = 0; i < kPathCount; i++) {
    if (strcmp(name, kPaths[i].name) == 0 && kPaths[i].supported()) {
      g_forced = &kPaths[i];
      return true;
    }
  }
  return false;
}

bool Qgemm(const QgemmArgs& x) { return Run(x, nullptr); }

// The generated entry (gen_qgemm.cc) has checked the arrays' types and sizes, k, aScale and aZeroPoint.
const char* CpuQgemmU8S8S32(const uint8_t* a, const int8_t* b, const float* bScale, const int32_t* bZeroPoint,
                            const float* bias, float* out, int32_t* acc, int64_t m, int64_t n, int64_t k, double aScale,
                            double aZeroPoint, bool relu) {
  QgemmArgs x{a, b, bScale, bZeroPoint, bias, out, acc, m, n, k, aScale, int32_t(aZeroPoint), relu};
  return Qgemm(x) ? nullptr : "out of memory for the packing buffers";
}

namespace {
// Up to this many taps per output (c · r · s) the vnni path convolves directly (qgemm_conv_vnni.cc)
// instead of im2col + GEMM, whose k block is 64 bytes.
constexpr int64_t kDirectTaps = 64;

// (c·r·s ≤ 16384 keeps |v| < 2^29, so the epilogue's double product is exact: qconv_wide_vnni.cc)
bool WideApplies(const int32_t* wZeroPoint, int64_t c, int64_t r, int64_t k, int64_t s, int64_t dilationW) {
  if ((c % 4 != 0 && (s > 8 || dilationW != 1)) || c * r * s > 16384 || !OnVnni(Current())) return false;
  for (int64_t j = 0; j < k; j++)
    if (wZeroPoint[j] != 0) return false;
  return true;
}

// The pixel-lane direct conv's weights: (k, ⌈c·r·s / 4⌉) 4-byte groups, Σw, float32(xScale · wScale).
bool PrepareDirect(QconvImagePlan* pl, const int8_t* wt, const float* wScale, const int32_t* wZeroPoint,
                   const float* bias, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s, int64_t oh,
                   int64_t ow, int64_t strideH, int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH,
                   int64_t dilationW, double xScale, int64_t xZeroPoint, bool relu) {
  const int64_t crs = c * r * s, G = (crs + 3) / 4;
  int32_t* wq32 = AllocAligned<int32_t>(size_t(k * G));
  int32_t* sum = AllocAligned<int32_t>(size_t(k));
  float* sc = AllocAligned<float>(size_t(k));
  pl->mem[0] = wq32;
  pl->mem[1] = sum;
  pl->mem[2] = sc;
  if (!wq32 || !sum || !sc) return false;
  int8_t* wq = reinterpret_cast<int8_t*>(wq32);
  memset(wq, 0, size_t(k * G * 4));
  for (int64_t j = 0; j < k; j++) {
    int32_t t = 0;
    for (int64_t p = 0; p < crs; p++) {
      wq[j * G * 4 + p] = wt[j * crs + p];
      t += wt[j * crs + p];
    }
    sum[j] = t;
    sc[j] = float(xScale * double(wScale[j]));  // as the js reference's Float32Array of aScale · bScale[j]
  }
  pl->kind = 2;
  pl->direct = QconvDirectArgs{
      nullptr, wq32, sum, wZeroPoint, sc,      bias,    nullptr, c,    h,         w,         k,
      r,       s,    oh,  ow,         strideH, strideW, padH,    padW, dilationH, dilationW, int32_t(xZeroPoint),
      relu};
  return true;
}

// The channel-lane direct conv's weights (qgemm.h QconvWideArgs): packed blocks, za·Σw, scales, biases.
bool PrepareWide(QconvImagePlan* pl, const int8_t* wt, const float* wScale, const float* bias, int64_t c, int64_t h,
                 int64_t w, int64_t k, int64_t r, int64_t s, int64_t oh, int64_t ow, int64_t strideH, int64_t strideW,
                 int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW, double xScale, int64_t xZeroPoint,
                 bool relu) {
  const bool cg = c % 4 == 0;  // groups of 4 input channels (fewer groups than 4 taps of a row padded to sp)
  const int64_t sp = s <= 4 ? 4 : 8, G = sp / 4, KB = (k + 15) / 16, kp = KB * 16;
  const int64_t wpBytes = cg ? KB * r * s * (c / 4) * 64 : KB * c * r * G * 64;
  int8_t* wp = AllocAligned<int8_t>(size_t(wpBytes));
  int32_t* corr = AllocAligned<int32_t>(size_t(kp));
  float* sc = AllocAligned<float>(size_t(kp));
  float* bi = AllocAligned<float>(size_t(kp));
  pl->mem[0] = wp;
  pl->mem[1] = corr;
  pl->mem[2] = sc;
  pl->mem[3] = bi;
  if (!wp || !corr || !sc || !bi) return false;
  memset(wp, 0, size_t(wpBytes));
  for (int64_t j = 0; j < kp; j++) {
    int32_t sum = 0;
    if (j < k)
      for (int64_t ch = 0; ch < c; ch++)
        for (int64_t rr = 0; rr < r; rr++)
          for (int64_t ss = 0; ss < s; ss++) {
            const int8_t v = wt[((j * c + ch) * r + rr) * s + ss];
            // block j / 16, then (ch, rr) and group ss / 4 (16 channels × 4 taps), or with channel groups
            // (rr, ss) and group ch / 4 (16 channels × 4 input channels); channel j % 16 at bytes 4·(j % 16)
            const int64_t at = cg ? ((((j / 16) * r + rr) * s + ss) * (c / 4) + ch / 4) * 64 + (j % 16) * 4 + ch % 4
                                  : ((((j / 16) * c + ch) * r + rr) * G + ss / 4) * 64 + (j % 16) * 4 + ss % 4;
            wp[at] = v;
            sum += v;
          }
    corr[j] = int32_t(uint32_t(int64_t(xZeroPoint) * sum));  // za · Σw, wrapping as the GEMM's formula
    sc[j] = j < k ? float(xScale * double(wScale[j])) : 0.0f;
    bi[j] = j < k && bias ? bias[j] : 0.0f;
  }
  pl->kind = 1;
  pl->wide = QconvWideArgs{nullptr,
                           wp,
                           corr,
                           sc,
                           bi,
                           bias,
                           nullptr,
                           c,
                           h,
                           w,
                           k,
                           r,
                           s,
                           sp,
                           oh,
                           ow,
                           strideH,
                           strideW,
                           padH,
                           padW,
                           dilationH,
                           dilationW,
                           int32_t(xZeroPoint),
                           relu,
                           cg};
  return true;
}

struct PlanCtx {
  const QconvImagePlan* plan;
  const uint8_t* x;
  float* out;
  int64_t inImage, outImage;
  std::atomic<bool>* failed;
};
void PlanTask(void* p, int64_t img, int) {
  const PlanCtx& c = *static_cast<const PlanCtx*>(p);
  if (!QconvPlanRun(*c.plan, c.x + img * c.inImage, c.out + img * c.outImage)) c.failed->store(true);
}
}  // namespace

// The direct kernels first (no im2col): channels as lanes where the weights are symmetric and a
// kernel row is at most 8 contiguous columns (faster than the pixel-lane kernel on the MNIST conv1
// too: 0.30 -> 0.24 ms fused with its pool, batch 64, shared 2-core EPYC), else pixels as lanes
// for few taps.
int QconvPlanImages(QconvImagePlan* pl, const int8_t* wt, const float* wScale, const int32_t* wZeroPoint,
                    const float* bias, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s, int64_t oh,
                    int64_t ow, int64_t strideH, int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH,
                    int64_t dilationW, double xScale, int64_t xZeroPoint, bool relu) {
  *pl = QconvImagePlan{};
  if (k == 0) return 0;
  bool ok;
  if (WideApplies(wZeroPoint, c, r, k, s, dilationW))
    ok = PrepareWide(pl, wt, wScale, bias, c, h, w, k, r, s, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW,
                     xScale, xZeroPoint, relu);
  else if (c * r * s <= kDirectTaps && ow >= 8 && OnVnni(Current()))
    ok = PrepareDirect(pl, wt, wScale, wZeroPoint, bias, c, h, w, k, r, s, oh, ow, strideH, strideW, padH, padW,
                       dilationH, dilationW, xScale, xZeroPoint, relu);
  else return 0;
  if (!ok) {
    QconvPlanFree(pl);
    return -1;
  }
  return 1;
}

bool QconvPlanRun(const QconvImagePlan& pl, const uint8_t* xImage, float* outImage) {
#if !defined(__x86_64__)
  (void)pl, (void)xImage, (void)outImage;
  return false;  // never planned here: the direct kernels are x86 (QconvPlanImages returns 0)
#else
  if (pl.kind == 1) {
    QconvWideArgs a = pl.wide;
    a.x = xImage;
    a.out = outImage;
    return QconvWideVnni(a, 0);
  }
  QconvDirectArgs a = pl.direct;
  a.x = xImage;
  a.out = outImage;
  return QconvDirectVnni(a, 0);
#endif
}

void QconvPlanFree(QconvImagePlan* pl) {
  for (void*& m : pl->mem) {
    free(m);
    m = nullptr;
  }
  pl->kind = 0;
}

const char* CpuQconv2dU8S8S32(const uint8_t* x, const int8_t* wt, const float* wScale, const int32_t* wZeroPoint,
                              const float* bias, float* out, int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                              int64_t r, int64_t s, int64_t oh, int64_t ow, int64_t strideH, int64_t strideW,
                              int64_t padH, int64_t padW, int64_t dilationH, int64_t dilationW, double xScale,
                              int64_t xZeroPoint, bool relu) {
  if (n == 0 || k == 0) return nullptr;
  QconvImagePlan plan;
  const int planned = QconvPlanImages(&plan, wt, wScale, wZeroPoint, bias, c, h, w, k, r, s, oh, ow, strideH, strideW,
                                      padH, padW, dilationH, dilationW, xScale, xZeroPoint, relu);
  if (planned < 0) return "out of memory for the packing buffers";
  if (planned > 0) {
    std::atomic<bool> failed{false};
    PlanCtx ctx{&plan, x, out, c * h * w, k * oh * ow, &failed};
    ParallelFor(n, PlanTask, &ctx);
    QconvPlanFree(&plan);
    return failed.load() ? "out of memory for the direct convolution's buffers" : nullptr;
  }
  ConvGeom g{x, c, h, w, r, s, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW};
  QgemmArgs q{nullptr, wt,        wScale, wZeroPoint,          bias, out, nullptr, n * oh * ow,
              k,       c * r * s, xScale, int32_t(xZeroPoint), relu};
  return Run(q, &g) ? nullptr : "out of memory for the packing buffers";
}

const char* CpuQuantizeU8(const float* x, uint8_t* out, int64_t n, double scale, int64_t zeroPoint, int64_t quantMin,
                          int64_t quantMax, int64_t shift) {
  bool ok = Current().quantize(x, out, n, 1.0 / scale, int32_t(zeroPoint), int32_t(quantMin), int32_t(quantMax),
                               int32_t(shift));
  return ok ? nullptr : "the input holds a NaN; NaN cannot be quantized";
}

// min and max of x[0, n) (0, 0 when n is 0); false when x holds a NaN. SSE2 minps/maxps (x86-64
// baseline); exact, as every float compare is.
static bool MinMaxF32(const float* x, int64_t n, float* lo, float* hi) {
  float mn = n ? x[0] : 0.0f, mx = mn;
  bool nan = false;
  int64_t i = 0;
#if defined(__x86_64__)
  if (n >= 16) {
    __m128 vmn0 = _mm_loadu_ps(x), vmx0 = vmn0, vmn1 = vmn0, vmx1 = vmn0, vnan = _mm_setzero_ps();
    for (; i + 8 <= n; i += 8) {
      const __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
      vnan = _mm_or_ps(vnan, _mm_or_ps(_mm_cmpunord_ps(a, a), _mm_cmpunord_ps(b, b)));
      vmn0 = _mm_min_ps(vmn0, a);
      vmx0 = _mm_max_ps(vmx0, a);
      vmn1 = _mm_min_ps(vmn1, b);
      vmx1 = _mm_max_ps(vmx1, b);
    }
    if (_mm_movemask_ps(vnan)) nan = true;
    alignas(16) float t0[4], t1[4];
    _mm_store_ps(t0, _mm_min_ps(vmn0, vmn1));
    _mm_store_ps(t1, _mm_max_ps(vmx0, vmx1));
    mn = t0[0];
    mx = t1[0];
    for (int q = 1; q < 4; q++) {
      mn = t0[q] < mn ? t0[q] : mn;
      mx = t1[q] > mx ? t1[q] : mx;
    }
  }
#endif
  for (; i < n; i++) {
    const float v = x[i];
    if (v != v) nan = true;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  *lo = mn;
  *hi = mx;
  return !nan;
}

const char* CpuQlinearDynamicF32(const float* x, const int8_t* b, const float* bScale, const int32_t* bZeroPoint,
                                 const float* bias, float* out, double* qparams, int64_t m, int64_t n, int64_t k,
                                 bool reduceRange, bool relu) {
  float lo, hi;
  const bool finite =
#if defined(__x86_64__)
      m * k > 0 && OnVnni(Current()) ? MinMaxF32Avx512(x, m * k, &lo, &hi) :
#endif
                                     MinMaxF32(x, m * k, &lo, &hi);
  if (!finite) return "the input holds a NaN; NaN cannot be quantized";
  if (!(lo - lo == 0) || !(hi - hi == 0)) return "the input holds an infinity; it cannot be quantized";
  // lib/quantization/qtensor.ts activationParams, in the same double arithmetic
  const int32_t qmin = 0, qmax = reduceRange ? 127 : 255;
  const double mn = double(lo) < 0 ? double(lo) : 0.0, mx = double(hi) > 0 ? double(hi) : 0.0;
  float scale = float((mx - mn) / double(qmax - qmin));
  const double eps = 2.220446049250313e-16;  // Number.EPSILON
  if (!(double(scale) > eps)) scale = float(eps);
  const double zr = double(qmin) - nearbyint(mn / double(scale));  // default rounding mode: half to even
  const int32_t zp = int32_t(zr < qmin ? qmin : zr > qmax ? qmax : zr);
  if (qparams) {
    qparams[0] = double(scale);
    qparams[1] = double(zp);
  }
  FloatA fa{x, Current().quantize, 1.0 / double(scale), zp, qmin, qmax};
  QgemmArgs q{nullptr, b, bScale, bZeroPoint, bias, out, nullptr, m, n, k, double(scale), zp, relu};
  return Run(q, nullptr, &fa) ? nullptr : "out of memory for the packing buffers";
}

}  // namespace wgcpu
