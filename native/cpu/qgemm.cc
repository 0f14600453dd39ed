// int8 GEMM driver (see qgemm.h and lib/quantization/qgemm.ts): packs a and b into zero-padded,
// aligned buffers with their row sums, runs the dot kernel of the selected path over row blocks
// on the thread pool, and applies the zero-point corrections, the scales, the bias and ReLU
// exactly as the js reference does (in double, then rounded once to float32), so out matches the
// js kernel bit for bit, not only acc. Built with the baseline flags: the dispatch below checks
// cpuid before any AVX code runs.

#include <stdlib.h>
#include <string.h>

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

namespace {

struct Path {
  const char* name;
  QgemmDotFn fn;
  bool (*supported)();
};

bool TableIs(const char* n) { return strcmp(Kernels().name, n) == 0; }
#if defined(__x86_64__)
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
    {"vnni", QgemmDotVnni, HasVnni},
    {"avx2", QgemmDotAvx2, HasAvx2},
#endif
    {"scalar", QgemmDotScalar, Always},
};
constexpr int kPathCount = sizeof(kPaths) / sizeof(kPaths[0]);

const Path* g_forced = nullptr;

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

template <class T>
T* AllocAligned(size_t count) {
  size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
  return static_cast<T*>(aligned_alloc(64, bytes ? bytes : 64));
}

constexpr int64_t kRowBlock = 16;  // rows per pool task (a multiple of 4)

struct Ctx {
  const QgemmArgs* x;
  QgemmDotFn fn;
  const uint8_t* a;     // packed (mp, kp)
  const uint8_t* aHi;   // null, or the a >> 7 half of a split (avx2 with activations above 127)
  const int8_t* b;      // packed (np, kp)
  int32_t* dot;         // (mp, np)
  int32_t* dotHi;       // (mp, np) when aHi
  const int32_t* aSum;  // (m)
  const int32_t* bSum;  // (n)
  const float* scale;   // (n): float32(aScale · bScale[j]), as the js reference's Float32Array
  int64_t mp, np, kp;
};

void Task(void* p, int64_t task, int) {
  const Ctx& c = *static_cast<const Ctx*>(p);
  const QgemmArgs& x = *c.x;
  int64_t i0 = task * kRowBlock, i1 = i0 + kRowBlock < c.mp ? i0 + kRowBlock : c.mp;
  c.fn(c.a, c.b, c.dot, c.np, c.kp, i0, i1);
  if (c.aHi) c.fn(c.aHi, c.b, c.dotHi, c.np, c.kp, i0, i1);
  const int64_t za = x.aZeroPoint, k = x.k;
  for (int64_t i = i0; i < i1 && i < x.m; i++) {
    for (int64_t j = 0; j < x.n; j++) {
      int64_t d = c.dot[i * c.np + j];
      if (c.aHi) d += 128 * int64_t(c.dotHi[i * c.np + j]);
      const int64_t zb = x.bZeroPoint[j];
      // the js reference: (dot − za·Σb − zb·Σa + k·za·zb) | 0
      int32_t v = int32_t(uint32_t(uint64_t(d - za * c.bSum[j] - zb * c.aSum[i] + k * za * zb)));
      if (x.acc) x.acc[i * x.n + j] = v;
      double y = double(c.scale[j]) * double(v) + (x.bias ? double(x.bias[j]) : 0.0);
      if (x.relu && y < 0) y = 0;
      x.out[i * x.n + j] = float(y);
    }
  }
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

bool Qgemm(const QgemmArgs& x) {
  const int64_t m = x.m, n = x.n, k = x.k;
  if (m == 0 || n == 0) return true;
  const Path& path = Current();
  const int64_t kp = (k + 63) / 64 * 64 > 0 ? (k + 63) / 64 * 64 : 64;
  const int64_t mp = (m + 3) / 4 * 4, np = (n + 3) / 4 * 4;
  Buf<uint8_t> a(AllocAligned<uint8_t>(size_t(mp * kp)));
  Buf<int8_t> b(AllocAligned<int8_t>(size_t(np * kp)));
  Buf<int32_t> dot(AllocAligned<int32_t>(size_t(mp * np)));
  Buf<int32_t> aSum(AllocAligned<int32_t>(size_t(m))), bSum(AllocAligned<int32_t>(size_t(n)));
  Buf<float> scale(AllocAligned<float>(size_t(n)));
  if (!a || !b || !dot || !aSum || !bSum || !scale) return false;
  memset(a.get(), 0, size_t(mp * kp));
  memset(b.get(), 0, size_t(np * kp));
  uint8_t amax = 0;
  for (int64_t i = 0; i < m; i++) {
    const uint8_t* src = x.a + i * k;
    uint8_t* dst = a.get() + i * kp;
    int32_t s = 0;
    for (int64_t p = 0; p < k; p++) {
      dst[p] = src[p];
      s += src[p];
      amax = src[p] > amax ? src[p] : amax;
    }
    aSum.get()[i] = s;
  }
  for (int64_t j = 0; j < n; j++) {
    const int8_t* src = x.b + j * k;
    int8_t* dst = b.get() + j * kp;
    int32_t s = 0;
    for (int64_t p = 0; p < k; p++) {
      dst[p] = src[p];
      s += src[p];
    }
    bSum.get()[j] = s;
    scale.get()[j] = float(x.aScale * double(x.bScale[j]));
  }
  Ctx c{&x, path.fn, a.get(), nullptr, b.get(), dot.get(), nullptr, aSum.get(), bSum.get(), scale.get(), mp, np, kp};
  Buf<uint8_t> hi;
  Buf<int32_t> dotHi;
  if (path.fn == QgemmDotAvx2 && amax > 127) {
    // vpmaddubsw would saturate: a = (a & 127) + 128 · (a >> 7), each half exact (qgemm.h)
    hi.reset(AllocAligned<uint8_t>(size_t(mp * kp)));
    dotHi.reset(AllocAligned<int32_t>(size_t(mp * np)));
    if (!hi || !dotHi) return false;
    uint8_t* lo = a.get();
    for (int64_t t = 0; t < mp * kp; t++) {
      hi.get()[t] = lo[t] >> 7;
      lo[t] &= 127;
    }
    c.aHi = hi.get();
    c.dotHi = dotHi.get();
  }
  ParallelFor((mp + kRowBlock - 1) / kRowBlock, Task, &c);
  return true;
}

// The generated entry (gen_qgemm.cc) has checked the arrays' types and sizes, k, aScale and aZeroPoint.
const char* CpuQgemmU8S8S32(const uint8_t* a, const int8_t* b, const float* bScale, const int32_t* bZeroPoint,
                            const float* bias, float* out, int32_t* acc, int64_t m, int64_t n, int64_t k, double aScale,
                            double aZeroPoint, bool relu) {
  QgemmArgs x{a, b, bScale, bZeroPoint, bias, out, acc, m, n, k, aScale, int32_t(aZeroPoint), relu};
  return Qgemm(x) ? nullptr : "out of memory for the packing buffers";
}

}  // namespace wgcpu
