// The 'basic' family: fill, cast, where, argmax / argmin (entry points declared by gen_basic.h from
// native/manifest/cpu/basic.mjs, N-API unpacking in gen_basic.cc) over the row functions of the
// selected ISA (basic.h; baseline copy here, 16-byte vectors), on the thread pool. Tasks are fixed
// by the shape alone and every output element is computed by one task, so results are identical
// for any thread count; they are the js kernels' to the bit (basic_body.h).
// Check: npx vitest run test/native/cpu-basic.test.ts
#include "basic.h"

#include <string.h>

#include <vector>

#include "cpu_kernels.h"
#include "gen_basic.h"
#include "pool.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace wgcpu {
namespace basic {
namespace base {
#define WG_BVBYTES 16
#if defined(__x86_64__)
#define WG_BANY(m) (_mm_movemask_epi8((__m128i)(m)) != 0)
#else
template <class M>
static inline __attribute__((always_inline)) bool AnyLane(M m) {
  bool r = false;
  for (int k = 0; k < int(sizeof(M) / sizeof(m[0])); k++) r |= m[k] != 0;
  return r;
}
#define WG_BANY(m) AnyLane(m)
#endif
#include "basic_body.h"
#undef WG_BANY
#undef WG_BVBYTES
}  // namespace base

using namespace base;
#if defined(__x86_64__)
WG_BASIC_TABLE(kOpsBase, "sse2");
#else
WG_BASIC_TABLE(kOpsBase, "generic");
#endif

const Ops& Current() {
#if defined(__x86_64__)
  const IsaKernels* k = &Kernels();
  if (k == &kAvx512Kernels) return kOpsAvx512;
  if (k == &kAvx2Kernels) return kOpsAvx2;
#endif
  return kOpsBase;
}

namespace {

// Elements per task of the streaming kernels (fill, cast, where): below two of them the call runs
// on the calling thread alone.
const int64_t kChunk = 32768;

template <class T>
constexpr int ElemOf();
template <>
constexpr int ElemOf<float>() {
  return kF32;
}
template <>
constexpr int ElemOf<double>() {
  return kF64;
}
template <>
constexpr int ElemOf<int32_t>() {
  return kI32;
}

// Runs fn over ntasks tasks: on the pool, or inline when there is one.
void Run(int64_t ntasks, TaskFn fn, void* ctx) {
  if (ntasks == 1) fn(ctx, 0, 0);
  else if (ntasks > 1) ParallelFor(ntasks, fn, ctx);
}

// ---- fill -------------------------------------------------------------------------------------

template <class T>
struct FillJob {
  T* out;
  int64_t n;
  T v;
};

template <class T>
void FillTask(void* ctx, int64_t t, int) {
  const FillJob<T>& j = *static_cast<const FillJob<T>*>(ctx);
  const int64_t i0 = t * kChunk, i1 = i0 + kChunk < j.n ? i0 + kChunk : j.n;
  T* __restrict o = j.out;
  const T v = j.v;
  for (int64_t i = i0; i < i1; i++) o[i] = v;
}

template <class T>
const char* Fill(T* out, int64_t n, T v) {
  FillJob<T> j{out, n, v};
  Run((n + kChunk - 1) / kChunk, FillTask<T>, &j);
  return nullptr;
}

// ---- cast -------------------------------------------------------------------------------------

struct CastJob {
  const Ops* ops;
  const char* x;
  int from, to;
  char* out;
  int64_t n;
};

void CastTask(void* ctx, int64_t t, int) {
  const CastJob& j = *static_cast<const CastJob*>(ctx);
  const int64_t i0 = t * kChunk, len = j.n - i0 < kChunk ? j.n - i0 : kChunk;
  const size_t sf = j.from == kF64 ? 8 : 4, st = j.to == kF64 ? 8 : 4;
  j.ops->cast(j.x + size_t(i0) * sf, j.from, j.out + size_t(i0) * st, j.to, len);
}

template <class T>
const char* CastT(const T* x, float* oF, double* oD, int32_t* oI, int64_t n) {
  CastJob j{&Current(), reinterpret_cast<const char*>(x), ElemOf<T>(), 0, nullptr, n};
  if (oF) j.to = kF32, j.out = reinterpret_cast<char*>(oF);
  else if (oD) j.to = kF64, j.out = reinterpret_cast<char*>(oD);
  else j.to = kI32, j.out = reinterpret_cast<char*>(oI);
  Run((n + kChunk - 1) / kChunk, CastTask, &j);
  return nullptr;
}

// ---- where ------------------------------------------------------------------------------------

struct WhereJob {
  void (*row)(const void*, int64_t, const void*, int64_t, const void*, int64_t, void*, int64_t);
  const char* c;
  const char* a;
  const char* b;
  char* o;
  size_t cs, vs;  // element sizes of cond and of the values
  int nd;
  int64_t shape[16];
  int64_t st[3][16];  // cond, a, b strides (elements)
  int64_t total;
};

// Flat output indices [t·kChunk, +kChunk): row pieces along the last dimension.
void WhereTask(void* ctx, int64_t t, int) {
  const WhereJob& j = *static_cast<const WhereJob*>(ctx);
  const int nd = j.nd, last = nd - 1;
  int64_t e = t * kChunk;
  const int64_t e1 = e + kChunk < j.total ? e + kChunk : j.total;
  int64_t idx[16];
  int64_t q = e;
  for (int d = last; d >= 0; d--) {
    idx[d] = q % j.shape[d];
    q /= j.shape[d];
  }
  while (e < e1) {
    int64_t oc = 0, oa = 0, ob = 0;
    for (int d = 0; d < nd; d++) {
      oc += idx[d] * j.st[0][d];
      oa += idx[d] * j.st[1][d];
      ob += idx[d] * j.st[2][d];
    }
    int64_t len = j.shape[last] - idx[last];
    if (len > e1 - e) len = e1 - e;
    j.row(j.c + size_t(oc) * j.cs, j.st[0][last], j.a + size_t(oa) * j.vs, j.st[1][last], j.b + size_t(ob) * j.vs,
          j.st[2][last], j.o + size_t(e) * j.vs, len);
    e += len;
    idx[last] += len;
    for (int d = last; d > 0 && idx[d] == j.shape[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

template <class T>
const char* WhereT(const float* cF, const double* cD, const int32_t* cI, const T* a, const T* b, T* out, int64_t nd,
                   const int32_t* dims) {
  const Ops& ops = Current();
  WhereJob j{};
  const int ce = cF ? kF32 : cD ? kF64 : kI32;
  j.row = ops.whereRow[ce][ElemOf<T>()];
  j.c = cF   ? reinterpret_cast<const char*>(cF)
        : cD ? reinterpret_cast<const char*>(cD)
             : reinterpret_cast<const char*>(cI);
  j.cs = ce == kF64 ? 8 : 4;
  j.vs = sizeof(T);
  j.a = reinterpret_cast<const char*>(a);
  j.b = reinterpret_cast<const char*>(b);
  j.o = reinterpret_cast<char*>(out);
  // drop extent-1 dimensions and merge neighbours that are contiguous in every operand (out is)
  int m = 0;
  int64_t total = 1;
  for (int64_t d = 0; d < nd; d++) {
    const int64_t s = dims[d];
    total *= s;
    if (s == 1) continue;
    const int64_t sc = dims[nd + d], sa = dims[2 * nd + d], sb = dims[3 * nd + d];
    if (m > 0 && j.st[0][m - 1] == sc * s && j.st[1][m - 1] == sa * s && j.st[2][m - 1] == sb * s) {
      j.shape[m - 1] *= s;
      j.st[0][m - 1] = sc;
      j.st[1][m - 1] = sa;
      j.st[2][m - 1] = sb;
      continue;
    }
    j.shape[m] = s;
    j.st[0][m] = sc;
    j.st[1][m] = sa;
    j.st[2][m] = sb;
    m++;
  }
  if (total == 0) return nullptr;
  if (m == 0) {  // a scalar, or all extents 1
    j.shape[0] = 1;
    j.st[0][0] = j.st[1][0] = j.st[2][0] = 0;
    m = 1;
  }
  j.nd = m;
  j.total = total;
  Run((total + kChunk - 1) / kChunk, WhereTask, &j);
  return nullptr;
}

// ---- argmax / argmin --------------------------------------------------------------------------

// Tasks of about kArgWork elements; a row longer than kArgSplit (with few rows) is split into
// pieces of kArgPiece whose results are combined in order.
const int64_t kArgWork = 16384;
const int64_t kArgPiece = 32768;
const int64_t kArgSplit = 2 * kArgPiece;

struct ArgJob {
  const Ops* ops;
  int e;
  bool argmin;
  const char* x;
  size_t es;
  int32_t* out;
  int64_t outer, r, inner;
  int64_t rowsPerTask;                  // rows
  int64_t colsPerTask, blocksPerOuter;  // columns
  int64_t pieces;                       // split rows
  int64_t* pieceIdx;
};

void ArgRowsTask(void* ctx, int64_t t, int) {
  const ArgJob& j = *static_cast<const ArgJob*>(ctx);
  const int64_t o0 = t * j.rowsPerTask, o1 = o0 + j.rowsPerTask < j.outer ? o0 + j.rowsPerTask : j.outer;
  j.ops->argRows[j.e](j.x + size_t(o0 * j.r) * j.es, j.out + o0, o1 - o0, j.r, j.argmin);
}

void ArgPieceTask(void* ctx, int64_t t, int) {
  const ArgJob& j = *static_cast<const ArgJob*>(ctx);
  const int64_t o = t / j.pieces, p = t % j.pieces;
  const int64_t j0 = p * kArgPiece, len = j.r - j0 < kArgPiece ? j.r - j0 : kArgPiece;
  j.pieceIdx[t] = j0 + j.ops->argRow[j.e](j.x + size_t(o * j.r + j0) * j.es, len, j.argmin);
}

void ArgColsTask(void* ctx, int64_t t, int) {
  const ArgJob& j = *static_cast<const ArgJob*>(ctx);
  const int64_t o = t / j.blocksPerOuter, i0 = (t % j.blocksPerOuter) * j.colsPerTask;
  const int64_t i1 = i0 + j.colsPerTask < j.inner ? i0 + j.colsPerTask : j.inner;
  j.ops->argCols[j.e](j.x + size_t(o * j.r * j.inner) * j.es, j.out + o * j.inner + i0, j.r, j.inner, i0, i1, j.argmin);
}

template <class T>
const char* ArgT(bool argmin, const T* x, int32_t* out, int64_t outer, int64_t r, int64_t inner) {
  if (outer == 0 || inner == 0) return nullptr;
  if (r == 0) {  // the js kernel writes 0
    memset(out, 0, size_t(outer * inner) * sizeof(int32_t));
    return nullptr;
  }
  ArgJob j{};
  j.ops = &Current();
  j.e = ElemOf<T>();
  j.argmin = argmin;
  j.x = reinterpret_cast<const char*>(x);
  j.es = sizeof(T);
  j.out = out;
  j.outer = outer;
  j.r = r;
  j.inner = inner;
  if (inner == 1 && r >= kArgSplit && outer < 4) {
    j.pieces = (r + kArgPiece - 1) / kArgPiece;
    std::vector<int64_t> idx(size_t(outer * j.pieces));
    j.pieceIdx = idx.data();
    Run(outer * j.pieces, ArgPieceTask, &j);
    for (int64_t o = 0; o < outer; o++) {
      const T* row = x + o * r;
      int64_t bi = idx[size_t(o * j.pieces)];
      for (int64_t p = 1; p < j.pieces; p++) {
        const T best = row[bi];
        if (best != best) break;  // a NaN is final
        const int64_t k = idx[size_t(o * j.pieces + p)];
        const T v = row[k];
        if ((argmin ? v < best : v > best) || v != v) bi = k;
      }
      out[o] = int32_t(bi);
    }
  } else if (inner == 1) {
    j.rowsPerTask = r >= kArgWork ? 1 : kArgWork / r;
    Run((outer + j.rowsPerTask - 1) / j.rowsPerTask, ArgRowsTask, &j);
  } else {
    int64_t cols = kArgWork / r;
    cols = cols < 64 ? 64 : (cols + 15) / 16 * 16;
    j.colsPerTask = cols < inner ? cols : inner;
    j.blocksPerOuter = (inner + j.colsPerTask - 1) / j.colsPerTask;
    Run(outer * j.blocksPerOuter, ArgColsTask, &j);
  }
  return nullptr;
}

}  // namespace
}  // namespace basic

const char* CpuFill(float* out, int64_t n, double value) { return basic::Fill(out, n, float(value)); }
const char* CpuFill(double* out, int64_t n, double value) { return basic::Fill(out, n, value); }
const char* CpuFill(int32_t* out, int64_t n, double value) { return basic::Fill(out, n, basic::base::ToInt32(value)); }

const char* CpuCast(const float* x, float* outF32, double* outF64, int32_t* outI32, int64_t n) {
  return basic::CastT(x, outF32, outF64, outI32, n);
}
const char* CpuCast(const double* x, float* outF32, double* outF64, int32_t* outI32, int64_t n) {
  return basic::CastT(x, outF32, outF64, outI32, n);
}
const char* CpuCast(const int32_t* x, float* outF32, double* outF64, int32_t* outI32, int64_t n) {
  return basic::CastT(x, outF32, outF64, outI32, n);
}

const char* CpuWhere(const float* condF32, const double* condF64, const int32_t* condI32, const float* a,
                     const float* b, float* out, int64_t nd, const int32_t* dims) {
  return basic::WhereT(condF32, condF64, condI32, a, b, out, nd, dims);
}
const char* CpuWhere(const float* condF32, const double* condF64, const int32_t* condI32, const double* a,
                     const double* b, double* out, int64_t nd, const int32_t* dims) {
  return basic::WhereT(condF32, condF64, condI32, a, b, out, nd, dims);
}
const char* CpuWhere(const float* condF32, const double* condF64, const int32_t* condI32, const int32_t* a,
                     const int32_t* b, int32_t* out, int64_t nd, const int32_t* dims) {
  return basic::WhereT(condF32, condF64, condI32, a, b, out, nd, dims);
}

const char* CpuArgReduce(bool argmin, const float* x, int32_t* out, int64_t outer, int64_t r, int64_t inner) {
  return basic::ArgT(argmin, x, out, outer, r, inner);
}
const char* CpuArgReduce(bool argmin, const double* x, int32_t* out, int64_t outer, int64_t r, int64_t inner) {
  return basic::ArgT(argmin, x, out, outer, r, inner);
}
const char* CpuArgReduce(bool argmin, const int32_t* x, int32_t* out, int64_t outer, int64_t r, int64_t inner) {
  return basic::ArgT(argmin, x, out, outer, r, inner);
}

}  // namespace wgcpu
