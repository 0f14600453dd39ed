// Stand-alone sgemm bench and check for native/cpu (no Node): times wgcpu::Kernels().sgemm on
// square and given shapes at a thread count, against the register-only FMA peak of the same ISA,
// and checks the result against a double-precision reference first.
//
//   bash native/bench/build.sh && build/gemm-bench/gemm_bench [--isa avx512] [--threads 1] [--sizes 512,1024,2048]
//   (--sizes also takes MxNxK shapes with flags t / a for a transposed B / A: 32x256x784t,256x784x32a;
//   the MLP 784-256-10 step at batch 32: 32x256x784t,32x10x256t,32x256x10,10x256x32a,256x784x32a;
//   bench/peers/torch_gemm_shapes.py times PyTorch on the same specs)
//
// Not part of the addon (CMake globs native/cpu/ only).
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

using Clock = std::chrono::steady_clock;

static double Now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }
// CPU seconds of the whole process (all pool threads, spinning included): on a machine shared with
// other load, flops / (CPU seconds / threads) is the speed while running, unlike wall time
static double CpuNow() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

struct PeakJob {
  int64_t iters;
  double flops[256];
};
static void PeakTask(void* ctx, int64_t t, int) {
  PeakJob* j = static_cast<PeakJob*>(ctx);
  j->flops[t] = wgcpu::Kernels().fmaPeakFlops(j->iters);
}
static double Peak(int threads) {
  double best = 0;
  for (int r = 0; r < 15; r++) {
    PeakJob j;
    j.iters = 4000000;
    // by CPU time per thread (the machine may be shared: wall time counts other processes' turns)
    double t0 = CpuNow();
    wgcpu::ParallelFor(threads, PeakTask, &j);
    double s = (CpuNow() - t0) / threads, tot = 0;
    for (int i = 0; i < threads; i++) tot += j.flops[i];
    best = std::max(best, tot / s / 1e9);
  }
  return best;
}

static bool Sgemm(const wgcpu::GemmArgs<float>& g) { return wgcpu::Kernels().sgemm(g); }
static bool Sgemm(const wgcpu::GemmArgs<double>& g) { return wgcpu::Kernels().dgemm(g); }

// out (poisoned with NaN) against a double-precision reference; T = float or double
template <class T>
static bool Check(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  std::vector<T> a(m * k), b(k * n), c(m * n, T(NAN));
  srand(unsigned(m * 131 + n * 7 + k));
  for (auto& x : a) x = T(rand()) / RAND_MAX - T(0.5);
  for (auto& x : b) x = T(rand()) / RAND_MAX - T(0.5);
  wgcpu::GemmArgs<T> g{a.data(), b.data(), c.data(), 1, m, n, k, 0, 0, ta, tb};
  Sgemm(g);
  double maxerr = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t p = 0; p < k; p++)
        s += double(ta ? a[p * m + i] : a[i * k + p]) * double(tb ? b[j * k + p] : b[p * n + j]);
      double e = fabs(s - double(c[i * n + j]));
      if (!(e <= maxerr)) maxerr = e;  // NaN (an element never written) counts as a failure
    }
  double tol = (sizeof(T) == 4 ? 1e-4 : 1e-12) * sqrt(double(k)) + (sizeof(T) == 4 ? 1e-5 : 1e-13);
  bool ok = maxerr <= tol;
  if (sizeof(T) == 4) {
    // the pre-packed-B path (GemmPacked on B packed once) must equal sgemm bit for bit, whichever
    // path sgemm took for the shape (x·Wᵀ with few rows: GemmRowsB, W read in place)
    const auto& K = wgcpu::Kernels();
    int64_t sz = K.sgemmPackedSize(m, n, k, ta, tb);
    if (sz > 0) {
      std::vector<float> packed(sz), c2(m * n, NAN);
      K.sgemmPackB(reinterpret_cast<const float*>(b.data()), n, k, tb, packed.data());
      wgcpu::GemmArgs<float> g2{reinterpret_cast<const float*>(a.data()),
                                reinterpret_cast<const float*>(b.data()),
                                c2.data(),
                                1,
                                m,
                                n,
                                k,
                                0,
                                0,
                                ta,
                                tb};
      K.sgemmPrepacked(g2, packed.data());
      if (memcmp(c2.data(), c.data(), sizeof(float) * m * n) != 0) {
        printf("CHECK FAIL f32 m=%ld n=%ld k=%ld ta=%d tb=%d: sgemm != pre-packed path\n", long(m), long(n), long(k),
               ta, tb);
        ok = false;
      }
    }
  }
  if (!ok)
    printf("CHECK FAIL %s m=%ld n=%ld k=%ld ta=%d tb=%d maxerr=%g\n", sizeof(T) == 4 ? "f32" : "f64", long(m), long(n),
           long(k), ta, tb, maxerr);
  return ok;
}

int main(int argc, char** argv) {
  std::string isa, sizes = "512,1024,2048";
  int threads = 1;
  double budget = 1.5;
  bool check = true, checkOnly = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--isa")) isa = argv[++i];
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--sizes")) sizes = argv[++i];
    else if (!strcmp(argv[i], "--budget")) budget = atof(argv[++i]);
    else if (!strcmp(argv[i], "--no-check")) check = false;
    else if (!strcmp(argv[i], "--check-only")) checkOnly = true;
  }
  if (!isa.empty() && !wgcpu::SelectIsa(isa.c_str())) {
    fprintf(stderr, "isa %s not supported\n", isa.c_str());
    return 2;
  }
  wgcpu::SetNumThreads(threads);
  printf("isa %s tile %dx%d threads %d\n", wgcpu::Kernels().name, wgcpu::Kernels().sgemmMR, wgcpu::Kernels().sgemmNR,
         threads);
  if (check) {
    bool ok = true;
    // below/above the no-packing threshold, vector tails, KC=256/512 and MC block edges
    const int64_t shapes[][3] = {
        {1, 1, 1},
        {3, 5, 7},
        {17, 33, 65},
        {100, 37, 300},
        {129, 257, 131},
        {255, 300, 513},
        {64, 1000, 70},
        {230, 140, 1030},
        // few rows (x·Wᵀ reads W in place up to four NR panels of rows; B read in place up to 8 strips)
        {32, 256, 784},
        {31, 250, 1030},
        {33, 45, 77},
        {64, 29, 300},
        {65, 100, 40},
        {8, 600, 33},
        {4, 17, 520},
        {96, 70, 129},
        // narrow heads (n <= NR/2) at many rows: GemmRowsB in row chunks
        {300, 10, 600},
        {129, 7, 1030},
        {1000, 3, 40}};
    for (auto& s : shapes)
      for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
          ok = Check<float>(s[0], s[1], s[2], ta, tb) && ok;
          ok = Check<double>(s[0], s[1], s[2], ta, tb) && ok;
        }
    printf("check %s (%s, f32 and f64)\n", ok ? "ok" : "FAILED", wgcpu::Kernels().name);
    if (!ok) return 1;
  }
  if (checkOnly) return 0;
  double pk = Peak(threads);
  printf("peak %.1f GFLOP/s\n", pk);
  for (size_t pos = 0; pos < sizes.size();) {
    size_t e = sizes.find(',', pos);
    if (e == std::string::npos) e = sizes.size();
    // "n" (n³) or "MxNxK" followed by flags: t (B transposed: x·Wᵀ of a linear layer), a (A
    // transposed: dW = dYᵀ·X), e.g. 32x256x784t, 256x784x32a
    std::string spec = sizes.substr(pos, e - pos);
    pos = e + 1;
    long m = 0, n = 0, k = 0;
    int used = 0;
    if (sscanf(spec.c_str(), "%ldx%ldx%ld%n", &m, &n, &k, &used) < 3) m = n = k = atol(spec.c_str()), used = 0;
    bool ta = false, tb = false;
    for (size_t q = used; q < spec.size(); q++) {
      if (spec[q] == 't') tb = true;
      else if (spec[q] == 'a') ta = true;
    }
    std::vector<float> a(m * k), b(k * n), c(m * n);
    for (auto& x : a) x = float(rand()) / RAND_MAX - 0.5f;
    for (auto& x : b) x = float(rand()) / RAND_MAX - 0.5f;
    wgcpu::GemmArgs<float> g{a.data(), b.data(), c.data(), 1, m, n, k, 0, 0, ta, tb};
    double fl = 2.0 * m * n * k;
    // calls per sample: at least ~200 us of work each (small shapes take a few us a call)
    int64_t reps = std::max<int64_t>(1, int64_t(2e-4 * pk * 1e9 / fl));
    for (int w = 0; w < 2; w++)
      for (int64_t r = 0; r < reps; r++) wgcpu::Kernels().sgemm(g);
    std::vector<double> ts, cs;
    double end = Now() + budget;
    while (ts.size() < 5 || (Now() < end && ts.size() < 2000)) {
      double t0 = Now(), c0 = CpuNow();
      for (int64_t r = 0; r < reps; r++) wgcpu::Kernels().sgemm(g);
      cs.push_back((CpuNow() - c0) / threads / reps);
      ts.push_back((Now() - t0) / reps);
    }
    std::sort(ts.begin(), ts.end());
    std::sort(cs.begin(), cs.end());
    double med = ts[ts.size() / 2], best = ts[0], cmed = cs[cs.size() / 2];
    double gf = fl / med / 1e9, gfb = fl / best / 1e9, gfc = fl / cmed / 1e9;
    printf("%s (%.3f ms): median %.1f GFLOP/s (%.0f%% of peak), best %.1f (%.0f%%), by CPU time %.1f (%.0f%%)\n",
           spec.c_str(), med * 1e3, gf, 100 * gf / pk, gfb, 100 * gfb / pk, gfc, 100 * gfc / pk);
  }
  return 0;
}
