// Host emulation harness of wattgrad's CUDA kernels (see README.md here). Built and run by
// test/native/tc-emu.test.ts:
//   g++ -std=c++17 -O2 -pthread -DWG_TC_EMULATION -Ishim harness.cc -o harness
//   ./harness tc [filter]   tensor-core GEMM (native/kernels/matmul_tc.cuh) vs a float64 reference
//   ./harness int32         int32 elementwise results (native/kernels/elementwise_ops.cuh) as JSON
// tc prints one JSON line per case and exits 1 when any case fails.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tc_emu.h"
// The kernels, unchanged: the same sources the addon compiles.
#include "../../../native/kernels/matmul_tc.cuh"
#include "../../../native/kernels/gemm_simt.cuh"
#include "../../../native/kernels/elementwise_ops.cuh"

using namespace wg::k;

namespace {

// ---- element formats ---------------------------------------------------------------------------
template <typename T> struct Fmt;
template <> struct Fmt<float> {
  static constexpr const char* name = "tf32";
  static constexpr double outUnit = 1.0 / 16777216;  // fp32 output, 2^-24
  static constexpr double outAbs = 7.0064923216240862e-46;  // half the smallest subnormal, 2^-150
  static float From(double v) { return static_cast<float>(v); }
  static double To(float v) { return v; }
};
template <> struct Fmt<__nv_bfloat16> {
  static constexpr const char* name = "bf16";
  static constexpr double outUnit = 1.0 / 256;  // 8 significant bits
  static constexpr double outAbs = 4.591774807899561e-41;  // half the smallest bf16 subnormal, 2^-134
  static __nv_bfloat16 From(double v) { return __float2bfloat16(static_cast<float>(v)); }
  static double To(__nv_bfloat16 v) { return __bfloat162float(v); }
};
template <> struct Fmt<__half> {
  static constexpr const char* name = "f16";
  static constexpr double outUnit = 1.0 / 2048;  // 11 significant bits
  static constexpr double outAbs = 2.9802322387695312e-08;  // half the smallest f16 subnormal, 2^-25
  static __half From(double v) { return __float2half(static_cast<float>(v)); }
  static double To(__half v) { return __half2float(v); }
};

// The reference's own TF32 rounding (independent of the emulated cvt): round half away from zero
// to 11 significant bits, in double arithmetic.
double RefTf32(float x) {
  if (!std::isfinite(x) || x == 0) return x;
  int e;
  std::frexp(static_cast<double>(x), &e);  // x = f · 2^e, 0.5 <= |f| < 1
  const double ulp = std::ldexp(1.0, std::max(e - 11, -136));  // below 2^-126: tf32 subnormals, ulp 2^-136
  return std::round(static_cast<double>(x) / ulp) * ulp;  // std::round: ties away from zero
}

struct Case {
  std::string name;
  int batch, m, n, k;
  bool tA, tB;
  bool bcastA = false, bcastB = false;  // batch stride 0
  int offA = 0, offB = 0;               // element offset of the base (misaligned: scalar loads)
  unsigned capY = 0, capZ = 0;          // smaller grid: the kernel grid-strides over the rest
};

uint32_t g_failures = 0;

// The GEMM paths: the tensor-core kernel, and the SIMT kernel in its two tile shapes (matmul.cu's
// LaunchSimt picks 128×128×8 / 8×8 per thread for large outputs, 64×64×16 / 4×4 otherwise).
enum Path { kTc = 0, kSimt64 = 1, kSimt128 = 2 };
const char* const kPathName[3] = {"tc", "simt64", "simt128"};

template <typename T, bool AK, bool BK_> void LaunchEmu(Path path, const T* a, const T* b, T* c, const Case& cs, int64_t aB, int64_t bB) {
  auto cap = [&](dim3 g) {
    if (cs.capY) g.y = std::min(g.y, cs.capY);
    if (cs.capZ) g.z = std::min(g.z, cs.capZ);
    return g;
  };
  if (path == kTc) {
    TcPlan p = PlanTc<T, AK, BK_>(a, b, cs.batch, cs.m, cs.n, cs.k, aB, bB);
    wgemu::Launch(cap(p.grid), dim3(TC_THREADS), [&] {
      MatmulTcKernel<T, AK, BK_>(a, b, c, cs.batch, cs.m, cs.n, cs.k, p.lda, p.ldb, aB, bB, p.vecA, p.vecB);
    });
  } else if (path == kSimt64) {
    const auto p = PlanSimt<T, AK, BK_, 64, 64>(a, b, c, cs.batch, cs.m, cs.n, cs.k, aB, bB);
    wgemu::Launch(cap(p.grid), dim3(256), [&] {
      GemmSimtKernel<64, 64, 16, 4, 4>(p.la, p.lb, p.st, cs.m, cs.n, cs.k, cs.batch, 1, cs.k > 0 ? cs.k : 1);
    });
  } else {
    const auto p = PlanSimt<T, AK, BK_, 128, 128>(a, b, c, cs.batch, cs.m, cs.n, cs.k, aB, bB);
    wgemu::Launch(cap(p.grid), dim3(256), [&] {
      GemmSimtKernel<128, 128, 8, 8, 8>(p.la, p.lb, p.st, cs.m, cs.n, cs.k, cs.batch, 1, cs.k > 0 ? cs.k : 1);
    });
  }
}

template <typename T> void RunCase(const Case& cs, std::mt19937& rng, Path path = kTc) {
  using F = Fmt<T>;
  const int64_t aMat = int64_t(cs.m) * cs.k, bMat = int64_t(cs.k) * cs.n;
  const int64_t aB = cs.bcastA ? 0 : aMat, bB = cs.bcastB ? 0 : bMat;
  const int64_t aLen = (cs.bcastA ? 1 : cs.batch) * aMat, bLen = (cs.bcastB ? 1 : cs.batch) * bMat;
  const int64_t cLen = int64_t(cs.batch) * cs.m * cs.n;
  const int64_t kGuard = 128 * int64_t(cs.n) + 64;  // poisoned elements around C (a tile of rows): no write may land there
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  std::vector<T> A(aLen + cs.offA + 8), B(bLen + cs.offB + 8), C(cLen + 2 * kGuard);
  for (auto& v : A) v = F::From(U(rng));
  for (auto& v : B) v = F::From(U(rng));
  T poison;
  std::memset(&poison, 0xFF, sizeof(T));  // NaN in every format
  for (auto& v : C) v = poison;
  const T* a = A.data() + cs.offA;
  const T* b = B.data() + cs.offB;
  T* c = C.data() + kGuard;

  const auto t0 = std::chrono::steady_clock::now();
  if (!cs.tA && !cs.tB) LaunchEmu<T, true, false>(path, a, b, c, cs, aB, bB);
  else if (!cs.tA && cs.tB) LaunchEmu<T, true, true>(path, a, b, c, cs, aB, bB);
  else if (cs.tA && !cs.tB) LaunchEmu<T, false, false>(path, a, b, c, cs, aB, bB);
  else LaunchEmu<T, false, true>(path, a, b, c, cs, aB, bB);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Reference: float64 GEMM on the inputs as the kernel sees them (tf32-rounded for float on the
  // tensor cores; exact on the SIMT path, which multiplies in fp32 FMA).
  auto in = [path](T v) {
    if constexpr (std::is_same<T, float>::value) return path == kTc ? RefTf32(v) : static_cast<double>(v);
    else return F::To(v);
  };
  const char* fmtName = std::is_same<T, float>::value && path != kTc ? "f32" : F::name;
  double worst = 0, maxErr = 0;
  int64_t bad = 0, unwritten = 0, guardHit = 0;
  std::string firstBad;
  for (int z = 0; z < cs.batch; ++z)
    for (int i = 0; i < cs.m; ++i)
      for (int j = 0; j < cs.n; ++j) {
        double s = 0, mag = 0;
        for (int kk = 0; kk < cs.k; ++kk) {
          const double x = in(a[z * aB + (cs.tA ? int64_t(kk) * cs.m + i : int64_t(i) * cs.k + kk)]);
          const double y = in(b[z * bB + (cs.tB ? int64_t(j) * cs.k + kk : int64_t(kk) * cs.n + j)]);
          s += x * y;
          mag += std::fabs(x * y);
        }
        const double got = F::To(c[(int64_t(z) * cs.m + i) * cs.n + j]);
        if (std::isnan(got)) { ++unwritten; continue; }
        // E: fp32 accumulation of k products (|error| <= k·2^-24·Σ|xy|, doubled for the order the
        // hardware picks); then one rounding to the output format (unit roundoff u):
        // |out - s| <= u·|acc| + |acc - s| <= (1 + u)·E + u·|s|, plus half a subnormal ulp of the
        // output format for results in its subnormal range (float16 below 2^-14)
        const double E = 2.0 * (cs.k + 1) * (1.0 / 16777216) * mag;
        const double tol = (1 + F::outUnit) * E + F::outUnit * std::fabs(s) + F::outAbs;
        const double err = std::fabs(got - s);
        maxErr = std::max(maxErr, err);
        worst = std::max(worst, err / tol);
        if (err > tol) {
          if (bad++ == 0) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "z=%d i=%d j=%d got %.9g want %.9g tol %.3g", z, i, j, got, s, tol);
            firstBad = buf;
          }
        }
      }
  for (int64_t g = 0; g < kGuard; ++g) {
    if (std::memcmp(&C[g], &poison, sizeof(T)) != 0) ++guardHit;
    if (std::memcmp(&C[kGuard + cLen + g], &poison, sizeof(T)) != 0) ++guardHit;
  }
  const bool ok = bad == 0 && unwritten == 0 && guardHit == 0;
  if (!ok) ++g_failures;
  static const char* const policies[3] = {"round-robin", "lowest-first", "highest-first"};
  std::printf("{\"case\":\"%s %s %s [%s]\",\"ok\":%s,\"batch\":%d,\"m\":%d,\"n\":%d,\"k\":%d,\"bad\":%" PRId64 ",\"unwritten\":%" PRId64
              ",\"outOfBounds\":%" PRId64 ",\"maxErr\":%.3g,\"worstTolRatio\":%.3g,\"ms\":%.1f,\"first\":\"%s\"}\n",
              kPathName[path], fmtName, cs.name.c_str(), policies[wgemu::SchedPolicy()], ok ? "true" : "false", cs.batch, cs.m, cs.n, cs.k, bad, unwritten, guardHit,
              maxErr, worst, ms, firstBad.c_str());
  std::fflush(stdout);
}

std::vector<Case> Cases() {
  std::vector<Case> cs;
  const char* tn[4] = {"NN", "NT", "TN", "TT"};
  for (int t = 0; t < 4; ++t) {
    const bool tA = t >= 2, tB = t & 1;
    auto add = [&](std::string name, int batch, int m, int n, int k) {
      Case c{std::string(tn[t]) + " " + name, batch, m, n, k, tA, tB};
      cs.push_back(c);
      return &cs.back();
    };
    add("odd 37x53x29", 1, 37, 53, 29);
    add("tails 130x131x45", 1, 130, 131, 45);  // 2x2 tiles, partial; k over one 32-tile
    add("aligned 128x128x64 (vector loads)", 1, 128, 128, 64);
    add("1xN 1x200x24", 1, 1, 200, 24);
    add("Nx1 150x1x40", 1, 150, 1, 40);
    add("tall-skinny 300x3x17", 1, 300, 3, 17);
    add("K=1", 1, 20, 36, 1);
    add("K=0 writes zeros", 1, 20, 24, 0);
    add("batch 3x40x36x20", 3, 40, 36, 20);
    add("broadcast A 3x48x40x24", 3, 48, 40, 24)->bcastA = true;
    add("broadcast B 3x33x64x28", 3, 33, 64, 28)->bcastB = true;
    Case* m = add("misaligned base (scalar loads) 64x64x32", 1, 64, 64, 32);
    m->offA = 1;
    m->offB = 3;
    Case* g = add("grid-stride y/z 2x260x40x20", 2, 260, 40, 20);
    g->capY = 1;
    g->capZ = 1;
  }
  return cs;
}

// ---- the shim itself: warp shuffles and block barriers through common.cuh's reductions ------------
__global__ void BlockReduceKernel(const double* x, double* sum, double* mx) {
  __shared__ double sh[32];
  const double v = x[blockIdx.x * blockDim.x + threadIdx.x];
  const double s = BlockSum(v, sh);
  const double m = BlockMax(v, sh);
  if (threadIdx.x == 0) {
    sum[blockIdx.x] = s;
    mx[blockIdx.x] = m;
  }
}

bool CheckBlockReduce() {
  const int blocks = 3, threads = 256;
  std::vector<double> x(blocks * threads), sum(blocks), mx(blocks);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>((i * 7919) % 1000) - 500.0;
  wgemu::Launch(dim3(blocks), dim3(threads), [&] { BlockReduceKernel(x.data(), sum.data(), mx.data()); });
  bool ok = true;
  for (int b = 0; b < blocks; ++b) {
    double s = 0, m = -INFINITY;
    for (int t = 0; t < threads; ++t) { s += x[b * threads + t]; m = std::max(m, x[b * threads + t]); }
    ok = ok && sum[b] == s && mx[b] == m;
  }
  return ok;
}

// ---- int32 semantics ------------------------------------------------------------------------------
__global__ void Int32Kernel(const int* xs, int nx, const double* scalars, int ns, int* unaryOut, int* binaryOut,
                            const double* casts, int nc, int* castOut) {
  // one emulated thread does all of it: these are scalar device functions, no parallelism to test
  int q = 0;
  for (int op = 0; op < static_cast<int>(Unary::kCount); ++op)
    for (int i = 0; i < nx; ++i)
      for (int s = 0; s < ns; ++s) unaryOut[q++] = UnaryT<int>(op, xs[i], scalars[s], scalars[(s + 1) % ns]);
  q = 0;
  for (int op = 0; op < static_cast<int>(Binary::kCount); ++op)
    for (int i = 0; i < nx; ++i)
      for (int j = 0; j < nx; ++j) binaryOut[q++] = BinaryT<int>(op, xs[i], xs[j]);
  for (int i = 0; i < nc; ++i) castOut[i] = FromF<int>(casts[i]);
}

void PrintArray(const char* name, const int* v, size_t n, bool last = false) {
  std::printf("\"%s\":[", name);
  for (size_t i = 0; i < n; ++i) std::printf("%s%d", i ? "," : "", v[i]);
  std::printf("]%s", last ? "" : ",");
}
void PrintDoubles(const char* name, const double* v, size_t n) {
  std::printf("\"%s\":[", name);
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(v[i])) std::printf("%s\"NaN\"", i ? "," : "");
    else if (std::isinf(v[i])) std::printf("%s\"%sInfinity\"", i ? "," : "", v[i] < 0 ? "-" : "");
    else std::printf("%s%.17g", i ? "," : "", v[i]);
  }
  std::printf("],");
}

int RunInt32() {
  const std::vector<int> xs = {0, 1, -1, 2, -2, 3, -7, 31, 46340, 46341, 65535, 65536, -65536, 1 << 30, 123456789,
                               -987654321, 2147483647, -2147483647 - 1, 2147483646, -2147483647};
  const std::vector<double> scalars = {0, 1, -1, 2, 3, 0.5, -2.5, 31, 32, 84, 1e10, 3e9, -3e9, 2147483648.0,
                                       NAN, INFINITY, -INFINITY};
  const std::vector<double> casts = {0, -0.0, 0.9, -0.9, 2.5, -2.5, 2147483647, 2147483648.0, -2147483648.0,
                                     -2147483649.0, 3e9, -3e9, 4294967296.0 + 5, 1e15 + 3, -1e15 - 7, 9.007199254740993e15,
                                     1e300, -1e300, NAN, INFINITY, -INFINITY, 4294967295.5, -4294967295.5,
                                     9.3e18, -1.2e19, 5e20, -7.77e21, 3.777893186295716e22, 1.9342813113834067e25};
  const size_t nu = size_t(Unary::kCount) * xs.size() * scalars.size();
  const size_t nb = size_t(Binary::kCount) * xs.size() * xs.size();
  std::vector<int> u(nu), bo(nb), co(casts.size());
  wgemu::Launch(dim3(1), dim3(1), [&] {
    Int32Kernel(xs.data(), int(xs.size()), scalars.data(), int(scalars.size()), u.data(), bo.data(), casts.data(),
                int(casts.size()), co.data());
  });
  std::printf("{");
  PrintArray("xs", xs.data(), xs.size());
  PrintDoubles("scalars", scalars.data(), scalars.size());
  PrintDoubles("casts", casts.data(), casts.size());
  std::printf("\"unaryOps\":[");
#define WG_NAME(n) "\"" #n "\","
  std::printf("%s", (std::string(WG_UNARY_OPS(WG_NAME)).substr(0, std::string(WG_UNARY_OPS(WG_NAME)).size() - 1)).c_str());
  std::printf("],\"binaryOps\":[");
  std::printf("%s", (std::string(WG_BINARY_OPS(WG_NAME)).substr(0, std::string(WG_BINARY_OPS(WG_NAME)).size() - 1)).c_str());
#undef WG_NAME
  std::printf("],");
  PrintArray("unary", u.data(), u.size());
  PrintArray("binary", bo.data(), bo.size());
  PrintArray("cast", co.data(), co.size(), true);
  std::printf("}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "tc";
  if (mode == "int32") return RunInt32();
  if (mode != "tc") {
    std::fprintf(stderr, "usage: harness tc [filter] | harness int32\n");
    return 2;
  }
  const std::string filter = argc > 2 ? argv[2] : "";
  std::mt19937 rng(20261201);
  // every case under three schedules of the block's threads (see emu.h, Policy)
  for (int policy = 0; policy < 3; ++policy) {
    wgemu::SchedPolicy() = policy;
    for (const Case& c : Cases()) {
      auto want = [&](const char* fmt) { return filter.empty() || (std::string(fmt) + " " + c.name).find(filter) != std::string::npos; };
      if (want("tc tf32")) RunCase<float>(c, rng);
      if (want("tc bf16")) RunCase<__nv_bfloat16>(c, rng);
      if (want("tc f16")) RunCase<__half>(c, rng);
    }
    // the SIMT kernel (gemm_simt.cuh), both tile shapes, on the cases it shares (K = 0 included)
    for (const Case& c : Cases()) {
      for (Path path : {kSimt64, kSimt128}) {
        const std::string pn = kPathName[path];
        auto want = [&](const char* fmt) { return filter.empty() || (pn + " " + fmt + " " + c.name).find(filter) != std::string::npos; };
        if (want("f32")) RunCase<float>(c, rng, path);
        if (want("bf16")) RunCase<__nv_bfloat16>(c, rng, path);
        if (want("f16")) RunCase<__half>(c, rng, path);
      }
    }
  }
  // the shim's shuffles and barriers (common.cuh BlockSum/BlockMax) under every schedule
  for (int policy = 0; policy < 3; ++policy) {
    wgemu::SchedPolicy() = policy;
    const bool ok = CheckBlockReduce();
    std::printf("{\"case\":\"shim: BlockSum/BlockMax (__shfl_xor_sync, __syncthreads) [policy %d]\",\"ok\":%s}\n", policy,
                ok ? "true" : "false");
    if (!ok) ++g_failures;
  }
  // the launch plan near INT_MAX: tile counts in 64 bits (they used to wrap in int)
  {
    const int big = 2147483647 - 256;  // the largest size the matmul entry point accepts
    const TcPlan p = PlanTc<float, true, false>(nullptr, nullptr, 70000, big, big, 8, 0, 0);
    const bool ok = p.grid.x == (unsigned(big) + 127u) / 128u && p.grid.y == 65535u && p.grid.z == 65535u &&
                    CeilDiv(big, 128) * 128 >= big && CeilDiv(2147483647, 128) == 16777216;
    std::printf("{\"case\":\"launch plan near INT_MAX\",\"ok\":%s,\"gridX\":%u,\"gridY\":%u,\"gridZ\":%u}\n",
                ok ? "true" : "false", p.grid.x, p.grid.y, p.grid.z);
    if (!ok) ++g_failures;
  }
  // cvt.rna.tf32 against the reference rounding, ties and overflow included
  {
    const float probes[] = {1.0f, 1.00048828125f /* 1 + 2^-11: tie, away */, -1.00048828125f, 1.000244140625f,
                            3.4028235e38f /* rounds to inf */, 1e-40f, -2.5f, 0.1f, 1234.5678f};
    int bad = 0;
    for (float p : probes) {
      const double r = RefTf32(p);
      const double want = std::fabs(r) > 3.4028234663852886e38 ? std::copysign(INFINITY, r) : r;  // past FLT_MAX: inf
      const double got = wgemu::F32(wgemu::CvtRnaTf32(p));
      if (got != want) {
        ++bad;
        std::fprintf(stderr, "cvt.rna.tf32(%.9g) = %.9g, want %.9g\n", p, got, want);
      }
    }
    std::printf("{\"case\":\"cvt.rna.tf32 probes\",\"ok\":%s,\"bad\":%d}\n", bad ? "false" : "true", bad);
    if (bad) ++g_failures;
  }
  return g_failures == 0 ? 0 : 1;
}
