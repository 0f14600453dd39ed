// Bench-only experiment (not linked into the addon): the same GEMM driver (native/cpu/gemm_driver.h)
// instantiated over Google Highway vectors instead of our hand-written intrinsics traits, so the
// comparison isolates the SIMD layer: packing, blocking, threads and the micro-tile (14×32 fp32
// on AVX-512, 6×16 on AVX2) are identical. Highway is Debian's libhwy-dev (1.0.3), static
// dispatch: one binary per target, built with that target's -m flags (like our isa_*.cc).
// Times both on the same shapes, interleaved, and checks the Highway result against ours.
//
//   bash native/bench/build-hwy.sh && build/gemm-bench/hwy_gemm_avx512 [--threads 1] [--sizes 512,1024,2048]
#include <hwy/highway.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "../cpu/cpu_kernels.h"
#include "../cpu/pool.h"

namespace hn = hwy::HWY_NAMESPACE;

namespace wgcpu {
namespace hwygemm {

// Highway's full-width vector of the compile-time target (AVX3 = AVX-512: 16 floats; AVX2: 8)
struct VF {
  typedef hn::ScalableTag<float> D;
  typedef hn::Vec<D> R;
  static const int W = HWY_LANES(float);
  static R zero() { return hn::Zero(D()); }
  static R load(const float* p) { return hn::LoadU(D(), p); }
  static void store(float* p, R v) { hn::StoreU(v, D(), p); }
  static R set1(float x) { return hn::Set(D(), x); }
  static R fma(R a, R b, R c) { return hn::MulAdd(a, b, c); }
  static R add(R a, R b) { return hn::Add(a, b); }
  static float fmas(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
  static float hsum(R v) { return hn::GetLane(hn::SumOfLanes(D(), v)); }
};

namespace f32 {
typedef float T;
typedef VF V;
#if HWY_TARGET == HWY_AVX3
static const int MR = 14, NV = 2;
static const int64_t KC = 512, MC = 14 * 16, NC = 4096;  // = isa_avx512.cc
#else
static const int MR = 6, NV = 2;
static const int64_t KC = 512, MC = 6 * 40, NC = 4096;  // = isa_avx2.cc
#endif
#include "../cpu/gemm_driver.h"
}  // namespace f32

}  // namespace hwygemm
}  // namespace wgcpu

static double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static double CpuNow() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char** argv) {
  std::string sizes = "512,1024,2048";
  int threads = 1, rounds = 3;
  double budget = 1.0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--sizes")) sizes = argv[++i];
    else if (!strcmp(argv[i], "--budget")) budget = atof(argv[++i]);
    else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[++i]);
  }
  const char* isa = HWY_TARGET == HWY_AVX3 ? "avx512" : "avx2";
  if (!wgcpu::SelectIsa(isa)) {
    fprintf(stderr, "this CPU cannot run %s\n", isa);
    return 2;
  }
  wgcpu::SetNumThreads(threads);
  printf("Highway %s (%d lanes) vs intrinsics %s, micro-tile %ldx%ld, %d thread(s)\n", hwy::TargetName(HWY_TARGET),
         wgcpu::hwygemm::VF::W, wgcpu::Kernels().name, long(wgcpu::hwygemm::f32::MR), long(wgcpu::hwygemm::f32::NR),
         threads);
  for (size_t pos = 0; pos < sizes.size();) {
    size_t e = sizes.find(',', pos);
    if (e == std::string::npos) e = sizes.size();
    int64_t n = atoll(sizes.substr(pos, e - pos).c_str());
    pos = e + 1;
    std::vector<float> a(n * n), b(n * n), c1(n * n), c2(n * n, NAN);
    srand(3);
    for (auto& x : a) x = float(rand()) / RAND_MAX - 0.5f;
    for (auto& x : b) x = float(rand()) / RAND_MAX - 0.5f;
    wgcpu::GemmArgs<float> g1{a.data(), b.data(), c1.data(), 1, n, n, n, 0, 0, false, false};
    wgcpu::GemmArgs<float> g2{a.data(), b.data(), c2.data(), 1, n, n, n, 0, 0, false, false};
    wgcpu::Kernels().sgemm(g1);
    wgcpu::hwygemm::f32::Gemm(g2);
    // same driver, same FMA order: the results should be bitwise equal
    int64_t diff = 0;
    for (int64_t i = 0; i < n * n; i++) diff += memcmp(&c1[i], &c2[i], 4) != 0;
    double best[2] = {1e30, 1e30}, bestCpu[2] = {1e30, 1e30};
    for (int r = 0; r < rounds; r++) {
      for (int which = 0; which < 2; which++) {
        std::vector<double> ts, cs;
        double end = Now() + budget;
        while (ts.size() < 3 || (Now() < end && ts.size() < 100)) {
          double t0 = Now(), k0 = CpuNow();
          if (which == 0) wgcpu::Kernels().sgemm(g1);
          else wgcpu::hwygemm::f32::Gemm(g2);
          cs.push_back((CpuNow() - k0) / threads);
          ts.push_back(Now() - t0);
        }
        std::sort(ts.begin(), ts.end());
        std::sort(cs.begin(), cs.end());
        best[which] = std::min(best[which], ts[ts.size() / 2]);
        bestCpu[which] = std::min(bestCpu[which], cs[cs.size() / 2]);
      }
    }
    double f = 2.0 * n * n * n / 1e9;
    printf(
        "n %ld: intrinsics %.1f GFLOP/s (by CPU time %.1f), Highway %.1f (%.1f), Highway/intrinsics %.3f (CPU time "
        "%.3f); %ld elements differ\n",
        long(n), f / best[0], f / bestCpu[0], f / best[1], f / bestCpu[1], best[0] / best[1], bestCpu[0] / bestCpu[1],
        long(diff));
  }
  return 0;
}
