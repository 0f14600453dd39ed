// Memory-bandwidth probe for the benchmarks: STREAM's copy (c = a) and triad (a = b + s·c) over
// three arrays of `mib` MiB of doubles each (far above the caches), on the CPU pool's threads
// (each task a fixed 64K-element slice; pages first touched by the same split). Returns the best
// of `reps` runs in GB/s, counting STREAM's bytes (copy 16, triad 24 per element; the
// write-allocate read is not counted, as in STREAM and as the optimizer benches count theirs).
//
//   cpuMemBandwidth(mib, reps) -> { copy, triad, threads }
// Check: npm run bench -- --op adamw (the AdamW case reports % of this triad figure)
#include <napi.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "napi_util.h"
#include "pool.h"
#include "registry.h"

namespace {

constexpr int64_t kSlice = 1 << 16;

struct Job {
  double *a, *b, *c;
  int64_t n;
  int kind;  // 0 first touch, 1 copy, 2 triad
};

void Run(void* ctx, int64_t task, int) {
  auto* j = static_cast<Job*>(ctx);
  int64_t s = task * kSlice, e = s + kSlice < j->n ? s + kSlice : j->n;
  double *a = j->a, *b = j->b, *c = j->c;
  if (j->kind == 0) {
    for (int64_t i = s; i < e; i++) a[i] = 1.0, b[i] = 2.0, c[i] = 0.5;
  } else if (j->kind == 1) {
    for (int64_t i = s; i < e; i++) c[i] = a[i];
  } else {
    const double q = 3.0;
    for (int64_t i = s; i < e; i++) a[i] = b[i] + q * c[i];
  }
}

Napi::Value CpuMemBandwidth(const Napi::CallbackInfo& info) {
  const char* fn = "cpuMemBandwidth";
  wgcpu::napi::ArgCount(info, 2, fn, "mib, reps");
  int64_t mib = wgcpu::napi::Size(info, 0, fn, "mib"), reps = wgcpu::napi::Size(info, 1, fn, "reps");
  if (mib < 1 || mib > 4096 || reps < 1)
    throw Napi::RangeError::New(info.Env(), "cpuMemBandwidth: mib must be 1..4096 and reps at least 1");
  int64_t n = mib * 1024 * 1024 / 8;
  void *pa = nullptr, *pb = nullptr, *pc = nullptr;
  size_t bytes = size_t(n) * 8;
  if (posix_memalign(&pa, 64, bytes) || posix_memalign(&pb, 64, bytes) || posix_memalign(&pc, 64, bytes)) {
    free(pa), free(pb), free(pc);
    throw Napi::Error::New(info.Env(), "cpuMemBandwidth: out of memory for 3 x " + std::to_string(mib) + " MiB");
  }
  Job j{static_cast<double*>(pa), static_cast<double*>(pb), static_cast<double*>(pc), n, 0};
  int64_t tasks = (n + kSlice - 1) / kSlice;
  wgcpu::ParallelFor(tasks, Run, &j);
  double best[3] = {0, 0, 0};
  for (int64_t r = 0; r < reps; r++) {
    for (int kind = 1; kind <= 2; kind++) {
      j.kind = kind;
      auto t0 = std::chrono::steady_clock::now();
      wgcpu::ParallelFor(tasks, Run, &j);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double gbs = double(n) * (kind == 1 ? 16 : 24) / s / 1e9;
      if (gbs > best[kind]) best[kind] = gbs;
    }
  }
  volatile double sink = j.a[n / 2] + j.c[n / 3];
  (void)sink;
  free(pa), free(pb), free(pc);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("copy", best[1]);
  o.Set("triad", best[2]);
  o.Set("threads", wgcpu::NumThreads());
  return o;
}

}  // namespace

WGCPU_ENTRY("cpuMemBandwidth", CpuMemBandwidth, nullptr);
