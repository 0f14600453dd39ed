// The execution model of the emulation harness: a launch runs every block of the grid, each CUDA
// thread of a block as a fiber (cooperative, one OS thread per block at a time, blocks spread over
// the cores), or with -DWG_EMU_THREADS as one std::thread per CUDA thread (blocks one at a time).
//
// Synchronisation is by generation-counted barriers: the last thread to arrive runs the
// collective's action (the warp's mma, a shuffle exchange) and opens the barrier; the others wait
// (fibers yield to the block's scheduler). Warp collectives double-buffer their operands by the
// barrier generation's parity, so no lane can overwrite data another lane has not read yet.
// A barrier some thread never reaches (divergent __syncthreads, a partial warp at mma.sync) is a
// deadlock: the scheduler finds no runnable thread and aborts with a message.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <cuda_runtime.h>

#if !defined(WG_EMU_THREADS) && !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace wgemu {

thread_local uint3 tls_threadIdx, tls_blockIdx;
thread_local dim3 tls_blockDim, tls_gridDim;

[[noreturn]] inline void Die(const char* what) {
  std::fprintf(stderr, "emu: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

// ---- per-warp state of the collectives ---------------------------------------------------------
enum MmaKind : int { kMmaNone = 0, kMmaTf32 = 1, kMmaBf16 = 2, kMmaF16 = 3 };

struct Barrier {
  unsigned count = 0;
  unsigned gen = 0;
#ifdef WG_EMU_THREADS
  std::mutex mu;
  std::condition_variable cv;
#endif
};

struct WarpState {
  Barrier bar;
  uint32_t a[2][32][4];
  uint32_t b[2][32][2];
  float c[2][32][4];
  float d[2][32][4];
  int kind[2][32];
  uint64_t v[2][32];  // shuffle sources
};

struct BlockState {
  Barrier bar;  // __syncthreads
  std::unique_ptr<WarpState[]> warps;  // (threads + 31) / 32
  int threads = 0;
};

thread_local BlockState* tls_block = nullptr;

// Which runnable fiber goes next: round-robin, or always the lowest (highest) numbered one, which
// lets one warp run as far ahead of the others as the barriers allow. A missing __syncthreads
// between two uses of shared memory shows under the priority orders even when round-robin hides it.
enum Policy : int { kRoundRobin = 0, kLowestFirst = 1, kHighestFirst = 2 };
inline int& SchedPolicy() {
  static int p = kRoundRobin;
  return p;
}  // (fibers only: in WG_EMU_THREADS mode the OS schedules)

inline int LinearTid() {
  return static_cast<int>(tls_threadIdx.x + tls_blockDim.x * (tls_threadIdx.y + tls_blockDim.y * tls_threadIdx.z));
}

#ifndef WG_EMU_THREADS
// ---- fibers --------------------------------------------------------------------------------------
#ifdef __x86_64__
// Saves callee-saved registers, MXCSR and the x87 control word on the current stack, stores the
// stack pointer in *save and resumes the stack `next` (made by this function, or by NewStack).
extern "C" void wgemu_switch(void** save, void* next);
asm(R"(
  .text
  .globl wgemu_switch
  .type wgemu_switch, @function
wgemu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size wgemu_switch, .-wgemu_switch
)");
#endif

struct Fiber {
#ifdef __x86_64__
  void* sp = nullptr;
#else
  ucontext_t ctx;
#endif
  char* stack = nullptr;
  uint3 tid;
  bool done = false;
  const Barrier* wait_bar = nullptr;  // blocked until wait_bar->gen != wait_gen
  unsigned wait_gen = 0;
  bool Runnable() const { return !done && (wait_bar == nullptr || wait_bar->gen != wait_gen); }
};


struct Sched {
  std::vector<Fiber> fibers;
  int cur = -1;
#ifdef __x86_64__
  void* sp = nullptr;
#else
  ucontext_t ctx;
#endif
  const std::function<void()>* body = nullptr;
  int alive = 0;
};
thread_local Sched* tls_sched = nullptr;

constexpr size_t kStack = 256 * 1024;

inline void ToScheduler() {
  Sched& s = *tls_sched;
#ifdef __x86_64__
  wgemu_switch(&s.fibers[s.cur].sp, s.sp);
#else
  swapcontext(&s.fibers[s.cur].ctx, &s.ctx);
#endif
}

inline void WaitFor(const Barrier& b, unsigned gen) {
  Fiber& f = tls_sched->fibers[tls_sched->cur];
  f.wait_bar = &b;
  f.wait_gen = gen;
  ToScheduler();
  f.wait_bar = nullptr;
}

[[noreturn]] inline void FiberMain() {
  Sched& s = *tls_sched;
  (*s.body)();
  s.fibers[s.cur].done = true;
  s.alive--;
  ToScheduler();
  Die("a finished fiber was resumed");
}

#ifdef __x86_64__
extern "C" [[noreturn]] inline void wgemu_entry() { FiberMain(); }

inline void* NewStack(char* stack) {
  // the frame wgemu_switch pops: [mxcsr|fcw][r15 r14 r13 r12 rbx rbp][return address = entry]
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + kStack) & ~uintptr_t(15);
  uint64_t* sp = reinterpret_cast<uint64_t*>(top - 16);  // 16-aligned slot for the return address
  sp[0] = reinterpret_cast<uint64_t>(&wgemu_entry);
  sp -= 6;
  for (int i = 0; i < 6; ++i) sp[i] = 0;
  sp -= 1;
  uint32_t mx;
  uint16_t fcw;
  asm volatile("stmxcsr %0" : "=m"(mx));
  asm volatile("fnstcw %0" : "=m"(fcw));
  reinterpret_cast<uint32_t*>(sp)[0] = mx;
  reinterpret_cast<uint32_t*>(sp)[1] = fcw;
  return sp;
}
#else
inline void UcEntry() { FiberMain(); }
#endif

// Runs one block: every thread a fiber, round-robin until all finish.
inline void RunBlockFibers(dim3 block, const std::function<void()>& body, std::vector<char*>& stacks) {
  Sched s;
  s.body = &body;
  const int n = static_cast<int>(block.x * block.y * block.z);
  s.fibers.resize(n);
  while (static_cast<int>(stacks.size()) < n) stacks.push_back(static_cast<char*>(std::malloc(kStack)));
  for (int i = 0; i < n; ++i) {
    Fiber& f = s.fibers[i];
    f.tid = uint3{static_cast<unsigned>(i % block.x), static_cast<unsigned>((i / block.x) % block.y),
                  static_cast<unsigned>(i / (block.x * block.y))};
    f.stack = stacks[i];
#ifdef __x86_64__
    f.sp = NewStack(f.stack);
#else
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = kStack;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, UcEntry, 0);
#endif
  }
  s.alive = n;
  tls_sched = &s;
  const int policy = SchedPolicy();
  int rr = 0;
  while (s.alive > 0) {
    int pick = -1;
    for (int j = 0; j < n; ++j) {
      const int i = policy == kRoundRobin ? (rr + j) % n : policy == kLowestFirst ? j : n - 1 - j;
      if (s.fibers[i].Runnable()) {
        pick = i;
        break;
      }
    }
    if (pick < 0) Die("deadlock: every live thread waits at a barrier another never reaches (divergent __syncthreads, or a partial warp at a warp collective)");
    rr = pick + 1;
    s.cur = pick;
    tls_threadIdx = s.fibers[pick].tid;
#ifdef __x86_64__
    wgemu_switch(&s.sp, s.fibers[pick].sp);
#else
    swapcontext(&s.ctx, &s.fibers[pick].ctx);
#endif
  }
  tls_sched = nullptr;
}

// Arrive at `b` (expected arrivals); the last arrival runs on_last, then all proceed.
template <class F> inline void Collective(Barrier& b, unsigned expected, F&& on_last) {
  const unsigned gen = b.gen;
  if (++b.count == expected) {
    on_last();
    b.count = 0;
    b.gen++;
    return;
  }
  WaitFor(b, gen);
}
#else
// ---- one std::thread per CUDA thread ------------------------------------------------------------
template <class F> inline void Collective(Barrier& b, unsigned expected, F&& on_last) {
  std::unique_lock<std::mutex> lock(b.mu);
  const unsigned gen = b.gen;
  if (++b.count == expected) {
    on_last();
    b.count = 0;
    b.gen++;
    b.cv.notify_all();
    return;
  }
  b.cv.wait(lock, [&] { return b.gen != gen; });
}
#endif

inline void SyncThreads() { Collective(tls_block->bar, static_cast<unsigned>(tls_block->threads), [] {}); }

inline WarpState& MyWarp(int* lane) {
  const int t = LinearTid();
  *lane = t & 31;
  if (tls_block->threads % 32 != 0) Die("warp collective in a block whose size is not a multiple of 32");
  return tls_block->warps[t >> 5];
}

// The value of lane `src(lane)` for every lane: each lane deposits, the barrier opens, each reads.
template <class Src> inline uint64_t Exchange(uint64_t v, Src src) {
  int lane;
  WarpState& w = MyWarp(&lane);
  const int p = w.bar.gen & 1;
  w.v[p][lane] = v;
  Collective(w.bar, 32, [] {});
  const int from = src(lane);
  return from >= 0 && from < 32 ? w.v[p][from] : v;
}
inline uint64_t ShflXor64(uint64_t v, int m) { return Exchange(v, [m](int l) { return l ^ m; }); }
inline uint64_t ShflIdx64(uint64_t v, int s) { return Exchange(v, [s](int) { return s & 31; }); }
inline uint64_t ShflDown64(uint64_t v, int d) {
  return Exchange(v, [d](int l) { return l + d < 32 ? l + d : l; });
}

// A warp-wide matrix op: every lane deposits its fragments; the last computes all 32 lanes' d.
template <class Compute>
inline void WarpMma(int kind, float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], Compute compute) {
  int lane;
  WarpState& w = MyWarp(&lane);
  const int p = w.bar.gen & 1;
  for (int i = 0; i < 4; ++i) w.a[p][lane][i] = a[i];
  for (int i = 0; i < 2; ++i) w.b[p][lane][i] = b[i];
  for (int i = 0; i < 4; ++i) w.c[p][lane][i] = c[i];
  w.kind[p][lane] = kind;
  Collective(w.bar, 32, [&] {
    for (int l = 0; l < 32; ++l)
      if (w.kind[p][l] != kind) Die("mma.sync: the lanes of a warp executed different mma instructions");
    compute(w.a[p], w.b[p], w.c[p], w.d[p]);
  });
  for (int i = 0; i < 4; ++i) c[i] = w.d[p][lane][i];
}

// ---- launch --------------------------------------------------------------------------------------
// Runs body() as every thread of every block of grid × block. Blocks are split over `workers` OS
// threads (fibers) or run one after another (threads mode: __shared__ is a plain static there).
inline void Launch(dim3 grid, dim3 block, const std::function<void()>& body, int workers = 0) {
  const int64_t nblocks = int64_t(grid.x) * grid.y * grid.z;
  const int threads = static_cast<int>(block.x * block.y * block.z);
  auto setup = [&](BlockState& bs, int64_t bi) {
    bs.threads = threads;
    bs.warps.reset(new WarpState[(threads + 31) / 32]());
    tls_blockIdx = uint3{static_cast<unsigned>(bi % grid.x), static_cast<unsigned>((bi / grid.x) % grid.y),
                         static_cast<unsigned>(bi / (int64_t(grid.x) * grid.y))};
  };
#ifndef WG_EMU_THREADS
  if (workers <= 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    std::vector<char*> stacks;
    BlockState bs;
    tls_block = &bs;
    tls_blockDim = block;
    tls_gridDim = grid;
    for (int64_t bi; (bi = next.fetch_add(1)) < nblocks;) {
      bs.bar.count = 0;
      setup(bs, bi);
      RunBlockFibers(block, body, stacks);
    }
    tls_block = nullptr;
    for (char* s : stacks) std::free(s);
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < workers && i < nblocks; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
#else
  (void)workers;
  for (int64_t bi = 0; bi < nblocks; ++bi) {
    BlockState bs;
    setup(bs, bi);
    const uint3 bidx = tls_blockIdx;
    std::vector<std::thread> ts;
    ts.reserve(threads);
    for (int i = 0; i < threads; ++i) {
      ts.emplace_back([&, i] {
        tls_block = &bs;
        tls_blockIdx = bidx;
        tls_blockDim = block;
        tls_gridDim = grid;
        tls_threadIdx = uint3{static_cast<unsigned>(i % block.x), static_cast<unsigned>((i / block.x) % block.y),
                              static_cast<unsigned>(i / (block.x * block.y))};
        body();
      });
    }
    for (auto& t : ts) t.join();
  }
#endif
}

}  // namespace wgemu
