// Thread pool for the CPU kernels (see pool.h). Workers sleep on a condition variable between
// jobs (after a short spin, so back-to-back kernel calls do not pay a wake-up each); the caller
// and the workers claim tasks from a shared counter, then the caller waits for the last one.

#include "pool.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace wgcpu {
namespace {

constexpr int kMaxThreads = 256;
constexpr int kSlots = 16;  // owners: pool.h

struct ScratchBuf {
  void* p = nullptr;
  size_t bytes = 0;
};
// Scratch belongs to the OS thread that asks for it, not to a pool index: "thread 0" is whichever
// JS thread (main or a worker_thread) called ParallelFor, and a GEMM run inside a task on worker t
// takes its packed-B buffer as well as its A block there. With one table indexed by pool thread,
// two JS threads shared thread 0's buffers (the second overwrote the first's packed B between its
// two ParallelFor jobs) and a nested GEMM used thread 0's packed-B buffer from worker t. Freed when
// the thread exits (worker_threads come and go).
struct ThreadScratch {
  ScratchBuf s[kSlots];
  ~ThreadScratch() {
    for (ScratchBuf& b : s) free(b.p);
  }
};
thread_local ThreadScratch tl_scratch;

// The pool thread index of the calling thread while it runs tasks (-1 outside).
thread_local int tl_thread = -1;

class Pool {
 public:
  explicit Pool(int n) { Resize(n); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void Resize(int n) {
    if (n < 1) n = 1;
    if (n > kMaxThreads) n = kMaxThreads;
    std::lock_guard<std::mutex> busy(run_mu_);
    Stop();
    size_.store(n, std::memory_order_relaxed);
    stop_ = false;
    // The generation is read here, under run_mu_ (no job in flight), not by the new thread: a thread
    // that started late would read the generation of a job posted after this Resize, take it as
    // seen and sleep through it while Run waits for it (a deadlock the simulator stage hit).
    const uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int t = 1; t < n; t++) workers_.emplace_back([this, t, gen] { Worker(t, gen); });
  }

  void Run(int64_t ntasks, TaskFn fn, void* ctx) {
    if (ntasks <= 0) return;
    if (tl_thread >= 0) {  // called from inside a task: run inline on this thread (its own scratch)
      for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, tl_thread);
      return;
    }
    std::lock_guard<std::mutex> busy(run_mu_);  // a second JS thread waits for the job in flight
    if (size_.load(std::memory_order_relaxed) == 1 || ntasks == 1 || ntasks >= (int64_t(1) << 31)) {
      tl_thread = 0;
      for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
      tl_thread = -1;
      return;
    }
    uint32_t gen;
    {
      std::lock_guard<std::mutex> l(mu_);
      fn_ = fn;
      ctx_ = ctx;
      ntasks_ = ntasks;
      done_.store(0, std::memory_order_relaxed);
      gen = static_cast<uint32_t>(generation_.load(std::memory_order_relaxed) + 1);
      claim_.store(uint64_t(gen) << 32, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tl_thread = 0;
    Claim(gen, fn, ctx, ntasks, 0);
    tl_thread = -1;
    // wait for tasks other threads claimed: spin briefly, then sleep
    for (int i = 0; i < 20000 && done_.load(std::memory_order_acquire) != ntasks; i++) Pause();
    if (done_.load(std::memory_order_acquire) != ntasks) {
      std::unique_lock<std::mutex> l(mu_);
      done_cv_.wait(l, [&] { return done_.load(std::memory_order_acquire) == ntasks; });
    }
  }

 private:
  static void Pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  // Tasks are claimed one at a time from a counter tagged with the job's generation, so
  // whichever threads are actually running share the work (on a loaded machine a descheduled
  // worker costs nothing: the caller takes its tasks), and a worker waking late, holding an
  // old job's parameters, cannot claim a task of the next job. Which thread runs a task never
  // changes the task's arithmetic.
  void Claim(uint32_t gen, TaskFn fn, void* ctx, int64_t n, int thread) {
    for (;;) {
      uint64_t c = claim_.load(std::memory_order_acquire);
      if (uint32_t(c >> 32) != gen) return;
      int64_t next = int64_t(c & 0xffffffffu);
      if (next >= n) return;
      if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
      fn(ctx, next, thread);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        std::lock_guard<std::mutex> l(mu_);
        done_cv_.notify_one();
      }
    }
  }

  void Worker(int t, uint64_t seen) {
    tl_thread = t;
    for (;;) {
      for (int i = 0; i < 20000; i++) {
        if (generation_.load(std::memory_order_acquire) != seen || stop_flag_.load(std::memory_order_acquire)) break;
        Pause();
      }
      TaskFn fn;
      void* ctx;
      int64_t n;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_; });
        if (stop_) return;
        seen = generation_.load(std::memory_order_acquire);
        fn = fn_;
        ctx = ctx_;
        n = ntasks_;
      }
      Claim(static_cast<uint32_t>(seen), fn, ctx, n, t);
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      stop_flag_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    stop_flag_.store(false, std::memory_order_release);
  }

  std::mutex run_mu_;  // one job at a time
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> claim_{0};  // (generation << 32) | next unclaimed task
  std::atomic<int64_t> done_{0};    // tasks of the current job finished
  std::atomic<bool> stop_flag_{false};
  bool stop_ = false;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t ntasks_ = 0;
  std::atomic<int> size_{1};  // read by NumThreads() on any thread while another resizes
};

// Never destroyed: worker threads parked in a condition variable at process exit are fine, a
// static destructor joining them after Node tore down is not.
Pool* g_pool = nullptr;
std::mutex g_pool_mu;

Pool& GetPool() {
  std::lock_guard<std::mutex> l(g_pool_mu);
  if (!g_pool) g_pool = new Pool(DefaultNumThreads());
  return *g_pool;
}

int PhysicalCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
  }
  std::set<std::pair<std::string, std::string>> cores;
  int logical = 0;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &set)) continue;
    logical++;
    std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/";
    std::ifstream pk(base + "physical_package_id"), co(base + "core_id");
    std::string p, k;
    if (!(pk >> p) || !(co >> k)) return logical > 0 ? CPU_COUNT(&set) : 1;  // no topology: count logical CPUs
    cores.insert({p, k});
  }
  return cores.empty() ? 1 : static_cast<int>(cores.size());
}

}  // namespace

int DefaultNumThreads() {
  if (const char* e = getenv("WATTGRAD_NUM_THREADS")) {
    char* end = nullptr;
    long v = strtol(e, &end, 10);
    if (end != e && *end == '\0' && v >= 1) return v > kMaxThreads - 1 ? kMaxThreads - 1 : static_cast<int>(v);
    fprintf(stderr, "wattgrad: WATTGRAD_NUM_THREADS=%s is not a positive integer; using the physical core count\n", e);
  }
  int n = PhysicalCores();
  return n > kMaxThreads - 1 ? kMaxThreads - 1 : n;
}

void ParallelFor(int64_t ntasks, TaskFn fn, void* ctx) { GetPool().Run(ntasks, fn, ctx); }
int NumThreads() { return GetPool().size(); }
void SetNumThreads(int n) { GetPool().Resize(n > kMaxThreads - 1 ? kMaxThreads - 1 : n); }
int MaxThreads() { return kMaxThreads; }

void* Scratch(int thread, int slot, size_t bytes) {
  if (thread < 0 || thread >= kMaxThreads || slot < 0 || slot >= kSlots) return nullptr;
  ScratchBuf& s = tl_scratch.s[slot];
  if (s.bytes >= bytes && s.p) return s.p;
  free(s.p);
  size_t want = (bytes + 63) & ~size_t(63);
  s.p = aligned_alloc(64, want ? want : 64);
  s.bytes = s.p ? want : 0;
  return s.p;
}

}  // namespace wgcpu
