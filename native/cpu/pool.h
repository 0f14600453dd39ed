// The CPU kernels' thread pool: created when the addon loads, sized to the physical cores (or
// WATTGRAD_NUM_THREADS), resized by setNumThreads. The calling thread takes part as thread 0.
//
// This header is included by the per-ISA translation units (isa_*.cc, compiled with -mavx2 /
// -mavx512f ...), so it declares plain functions only: no inline templates or std:: types whose
// AVX-compiled copies the linker could pick for baseline code.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace wgcpu {

// Runs fn(ctx, task, thread) for task = 0 .. ntasks-1 and returns when all are done. The calling
// thread (thread 0) and the workers claim tasks dynamically, so the thread that runs a task is not
// fixed: kernels make each task's arithmetic depend on the task alone (use `thread` only to pick
// scratch); then results are identical for any thread count and run to run. A call from inside a task runs
// inline on that thread; a call from a second JS thread waits for the job in flight.
typedef void (*TaskFn)(void* ctx, int64_t task, int thread);
void ParallelFor(int64_t ntasks, TaskFn fn, void* ctx);

int NumThreads();
// n >= 1; joins or starts workers. Not to be called from inside a task.
void SetNumThreads(int n);
// The default size: physical cores available to this process (affinity mask, SMT siblings
// counted once), overridden by WATTGRAD_NUM_THREADS.
int DefaultNumThreads();
// Largest thread index a task can see plus one (scratch arrays are sized by it).
int MaxThreads();

// 64-byte aligned scratch owned by the calling OS thread and slot, grown on demand and kept: after
// the first calls of a given size the hot path allocates nothing. `thread` (the task's pool index)
// is only range-checked: buffers are per OS thread, so two JS threads (main and a worker_thread,
// each "thread 0" of its own ParallelFor calls) and a kernel nested in a task never share one.
// Freed when the thread exits. Returns null on allocation failure.
// Slots: 0-1 the GEMM's packing buffers (gemm_driver.h); 0-3 the int8 conv chain (qpool.cc,
// qconv_wide_vnni.cc); 4-7 conv2d.cc's column buffers, held while it calls the GEMM; 8-12 the
// direct conv kernels' (conv_direct.cc). 16 slots.
void* Scratch(int thread, int slot, size_t bytes);

}  // namespace wgcpu
