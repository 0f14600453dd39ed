// The MPI process group: one communication thread that owns every MPI call (MPI_Init_thread,
// the collectives, MPI_Finalize), a FIFO of operations, and the N-API entry points that feed it.
//
//   distMpiLoad() -> { ok, library?, error? }                 dlopen only (no MPI_Init)
//   distInit(timeoutMs, onDone(id, error|null)) -> { rank, size, threadLevel, library,
//                                                    implementation, version }
//   distSubmit(kind, send, recv, count, dtype, op, root, notify) -> id
//       kind 0 allReduce, 1 broadcast, 2 allGather, 3 reduceScatter, 4 barrier
//       send/recv: typed arrays (the CPU tensors' storage, zero copy; send === recv: in place)
//       dtype 0 f32, 1 f64, 2 i32; op 0 sum, 1 max, 2 min, 3 avg (sum, then / world size)
//       notify: call onDone(id, error) on the JS thread when it completes (the async forms)
//   distWait(id)       blocks until op `id` completed; throws its error (the sync forms)
//   distAbort(code)    MPI_Abort: ends every rank of the job
//   distState() -> { initialized, broken, pending }
// Check: npx vitest run test/distributed/
//
// Hand-written WGCPU_ENTRY registrations, not the generated boundary (native/manifest/): these
// entries return objects and ids, take a JS callback or storage handles, and take typed arrays of
// a dtype chosen at run time, which the manifest's argument kinds do not express. Their TS types
// are DistBinding in lib/distributed/native.ts.
//
// Why a thread of our own (not the libuv pool): a collective may wait a long time for the other
// ranks; on the pool it would block fs/crypto work, and several collectives could run on
// different pool threads at once, in an order that differs between ranks (MPI needs the same
// order everywhere). One thread, FIFO, keeps the order in which JS issued them.
//
// Timeouts: each collective is started non-blocking (MPI_I*) and polled with MPI_Test until it
// completes or `timeoutMs` passes. A timed-out collective cannot be cancelled (MPI has no way),
// so the group is marked broken: every later collective fails at once with the first error, and
// MPI_Finalize is skipped at exit (it would wait for the dead peer forever).
#include <napi.h>

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "../cpu/napi_util.h"
#include "../cpu/registry.h"
#include "mpi.h"

namespace wgdist {
namespace {

enum Kind { kAllReduce = 0, kBroadcast = 1, kAllGather = 2, kReduceScatter = 3, kBarrier = 4 };
const char* const kKindNames[] = {"allReduce", "broadcast", "allGather", "reduceScatter", "barrier"};

struct Op {
  int64_t id = 0;
  Kind kind = kBarrier;
  void* send = nullptr;
  void* recv = nullptr;
  int count = 0;  // elements per rank (allGather: sent; reduceScatter: received)
  DType dt = DType::F32;
  RedOp op = RedOp::Sum;
  bool avg = false;
  int root = 0;
  bool notify = false;
  bool done = false;
  std::string error;
};

struct Done {
  int64_t id;
  std::string error;
};

class Group {
 public:
  std::unique_ptr<Mpi> mpi;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cvWork, cvDone;
  std::deque<std::shared_ptr<Op>> queue;
  std::unordered_map<int64_t, std::shared_ptr<Op>> ops;  // submitted, not yet collected by distWait
  Napi::ThreadSafeFunction tsfn;
  bool haveTsfn = false;
  int64_t nextId = 1;
  int pendingNotify = 0;  // JS thread only: async ops whose onDone has not run yet
  // set under mu
  bool started = false, initDone = false, stop = false;
  std::string initError;
  int rank = 0, size = 1, provided = 0;
  std::string version;
  double timeoutMs = 0;
  // how long a collective is polled with sched_yield only before short sleeps between polls
  // (WATTGRAD_DIST_SPIN_MS; default 0.05 ms: sleeping leaves the cores to the training threads)
  double spinMs = 0.05;
  bool broken = false;
  std::string brokenReason;
  bool finalized = false;

  void Loop() {
    int provided_ = 0;
    int rc = mpi->InitThread(kThreadMultiple, &provided_);
    {
      std::lock_guard<std::mutex> l(mu);
      if (rc != 0) {
        initError = "MPI_Init_thread failed: " + mpi->ErrorString(rc);
      } else if (provided_ < kThreadSerialized) {
        // every call comes from this thread, but MPI_Abort (and the NCCL set-up) may come from
        // the JS thread: SERIALIZED is the least we accept
        initError = std::string("MPI_Init_thread: the MPI library gives thread level ") +
                    (provided_ == kThreadSingle ? "MPI_THREAD_SINGLE" : "MPI_THREAD_FUNNELED") +
                    ", wattgrad needs MPI_THREAD_SERIALIZED or MPI_THREAD_MULTIPLE (a build of " + mpi->implementation +
                    " with thread support)";
      } else {
        provided = provided_;
        mpi->Rank(&rank);
        mpi->Size(&size);
        version = mpi->LibraryVersion();
      }
      initDone = true;
    }
    cvDone.notify_all();
    if (rc != 0) return;
    for (;;) {
      std::shared_ptr<Op> op;
      {
        std::unique_lock<std::mutex> l(mu);
        cvWork.wait(l, [&] { return stop || !queue.empty(); });
        if (queue.empty() && stop) break;
        op = queue.front();
        queue.pop_front();
      }
      std::string err;
      bool isBroken;
      {
        std::lock_guard<std::mutex> l(mu);
        isBroken = broken;
        if (broken) err = kKindNames[op->kind] + std::string(": the process group is broken (") + brokenReason + ")";
      }
      if (!isBroken) err = Run(*op);
      {
        std::lock_guard<std::mutex> l(mu);
        op->error = err;
        op->done = true;
      }
      cvDone.notify_all();
      if (op->notify && haveTsfn) tsfn.NonBlockingCall(new Done{op->id, err}, CallJs);
    }
    bool skip;
    {
      std::lock_guard<std::mutex> l(mu);
      skip = broken;
    }
    if (!skip) mpi->Finalize();
    std::lock_guard<std::mutex> l(mu);
    finalized = true;
  }

  static void CallJs(Napi::Env env, Napi::Function fn, Done* d);

  std::string Run(Op& op) {
    const char* name = kKindNames[op.kind];
    int rc = 0;
    switch (op.kind) {
      case kAllReduce: rc = mpi->Iallreduce(op.send, op.recv, op.count, op.dt, op.op, 0); break;
      case kBroadcast: rc = mpi->Ibcast(op.recv, op.count, op.dt, op.root, 0); break;
      case kAllGather: rc = mpi->Iallgather(op.send, op.count, op.dt, op.recv, 0); break;
      case kReduceScatter: rc = mpi->IreduceScatterBlock(op.send, op.recv, op.count, op.dt, op.op, 0); break;
      case kBarrier: rc = mpi->Ibarrier(0); break;
    }
    if (rc != 0) return std::string(name) + ": MPI error: " + mpi->ErrorString(rc);
    // Poll: MPI progresses a non-blocking collective only inside MPI calls, so test often.
    auto t0 = std::chrono::steady_clock::now();
    int done = 0;
    for (long i = 0;; i++) {
      rc = mpi->Test(0, &done);
      if (rc != 0) return std::string(name) + ": MPI error: " + mpi->ErrorString(rc);
      if (done) break;
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (timeoutMs > 0 && ms > timeoutMs) {
        std::string e = std::string(name) + ": timed out after " + std::to_string(int64_t(timeoutMs)) +
                        " ms waiting for the other ranks (this is rank " + std::to_string(rank) + " of " +
                        std::to_string(size) +
                        "): a rank died, hangs, or called a different collective (every rank must call the same "
                        "collectives in the same order). The process group is unusable now; end the job";
        std::lock_guard<std::mutex> l(mu);
        broken = true;
        brokenReason = e;
        return e;
      }
      {
        std::lock_guard<std::mutex> l(mu);
        if (stop) {
          broken = true;
          brokenReason = "destroyed while a collective was in flight";
          return std::string(name) + ": the process is exiting while the collective was in flight";
        }
      }
      // a short spin catches the common fast completion; then sleep, so that on an oversubscribed
      // machine the other ranks (and this rank's training threads) get the cores
      if (ms < spinMs) sched_yield();
      else if (ms < 20) std::this_thread::sleep_for(std::chrono::microseconds(20));
      else std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (op.avg) {
      size_t n = size_t(op.count);  // allReduce: the tensor; reduceScatter: this rank's block
      if (op.dt == DType::F32) {
        float* p = static_cast<float*>(op.recv);
        const float w = float(size);
        for (size_t j = 0; j < n; j++) p[j] /= w;
      } else if (op.dt == DType::F64) {
        double* p = static_cast<double*>(op.recv);
        const double w = double(size);
        for (size_t j = 0; j < n; j++) p[j] /= w;
      }
    }
    return "";
  }

  void Shutdown() {
    {
      std::lock_guard<std::mutex> l(mu);
      if (!started) return;
      stop = true;
    }
    cvWork.notify_all();
    if (thread.joinable()) thread.join();
  }
};

Group* g_group = nullptr;  // one per process: MPI is initialised once

// When a rank dies, mpirun ends the others with SIGTERM (then SIGKILL). A process blocked in a
// collective cannot run JS, so this handler says why it ends (write(2) is async-signal-safe),
// then ends the process with the default action.
char g_termMsg[256];
size_t g_termLen = 0;
void OnTerm(int sig) {
  static volatile sig_atomic_t once = 0;
  if (!once && g_termLen) {
    once = 1;
    ssize_t w = write(2, g_termMsg, g_termLen);
    (void)w;
  }
  // the default action (end the process), whatever was installed before
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
  raise(sig);
}
void InstallTermHandler(int rank, int size) {
  int n = snprintf(g_termMsg, sizeof g_termMsg,
                   "wattgrad.distributed: rank %d of %d was terminated by the launcher (SIGTERM): another rank "
                   "exited or failed (the launcher's message names it)\n",
                   rank, size);
  g_termLen = n > 0 ? size_t(n) : 0;
  struct sigaction sa {};
  sa.sa_handler = OnTerm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
}

void Group::CallJs(Napi::Env env, Napi::Function fn, Done* d) {
  std::unique_ptr<Done> owned(d);
  if (g_group && --g_group->pendingNotify == 0) g_group->tsfn.Unref(env);
  if (env == nullptr || fn.IsEmpty()) return;
  fn.Call({Napi::Number::New(env, double(d->id)),
           d->error.empty() ? env.Null() : Napi::String::New(env, d->error).As<Napi::Value>()});
}

void AtExit() {
  // finalize MPI when the script ends without destroyProcessGroup (Open MPI reports a process
  // that exits after MPI_Init without MPI_Finalize as an error of the whole job)
  if (g_group) g_group->Shutdown();
}

Napi::Value DistMpiLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  if (g_group) {
    r.Set("ok", true);
    r.Set("library", g_group->mpi->library);
    r.Set("implementation", g_group->mpi->implementation);
    return r;
  }
  std::string err;
  auto m = LoadMpi(&err);
  r.Set("ok", bool(m));
  if (m) {
    r.Set("library", m->library);
    r.Set("implementation", m->implementation);
  } else {
    r.Set("error", err);
  }
  return r;  // the library stays loaded (dlclose is never called on success); distInit reuses it
}

Napi::Value DistInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  wgcpu::napi::ArgCount(info, 2, "distInit", "timeoutMs, onDone");
  double timeoutMs = wgcpu::napi::Num(info, 0, "distInit", "timeoutMs");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "distInit: onDone must be a function");
  if (!g_group) {
    std::string err;
    auto m = LoadMpi(&err);
    if (!m) throw Napi::Error::New(env, err);
    g_group = new Group();
    g_group->mpi = std::move(m);
  }
  Group& g = *g_group;
  g.timeoutMs = timeoutMs;
  if (const char* sp = std::getenv("WATTGRAD_DIST_SPIN_MS"); sp && *sp) g.spinMs = std::atof(sp);
  if (g.haveTsfn) {
    g.tsfn.Release();
    g.haveTsfn = false;
  }
  g.tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "wattgrad.distributed", 0, 1);
  g.tsfn.Unref(env);
  g.haveTsfn = true;
  g.pendingNotify = 0;
  {
    std::unique_lock<std::mutex> l(g.mu);
    if (!g.started) {
      g.started = true;
      g.thread = std::thread([&g] { g.Loop(); });
      std::atexit(AtExit);
    }
    g.cvDone.wait(l, [&] { return g.initDone; });
    if (!g.initError.empty()) throw Napi::Error::New(env, g.initError);
    if (g.stop) throw Napi::Error::New(env, "distInit: MPI was finalized in this process; it cannot start again");
  }
  static bool termInstalled = false;
  if (!termInstalled) {
    termInstalled = true;
    InstallTermHandler(g.rank, g.size);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("rank", g.rank);
  r.Set("size", g.size);
  r.Set("threadLevel", g.provided == kThreadMultiple ? "multiple" : "serialized");
  r.Set("library", g.mpi->library);
  r.Set("implementation", g.mpi->implementation);
  r.Set("version", g.version);
  return r;
}

Group& Need(Napi::Env env, const char* fn) {
  if (!g_group || !g_group->initDone || !g_group->initError.empty())
    throw Napi::Error::New(env, std::string(fn) + ": MPI is not initialised (call distInit first)");
  return *g_group;
}

DType DTypeOf(napi_typedarray_type t, Napi::Env env, const char* what) {
  switch (t) {
    case napi_float32_array: return DType::F32;
    case napi_float64_array: return DType::F64;
    case napi_int32_array: return DType::I32;
    case napi_uint8_array: return DType::U8;
    default:
      throw Napi::TypeError::New(
          env, std::string("distSubmit: ") + what + " must be a Float32Array, Float64Array, Int32Array or Uint8Array");
  }
}

Napi::Value DistSubmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  wgcpu::napi::ArgCount(info, 8, "distSubmit", "kind, send, recv, count, dtype, op, root, notify");
  Group& g = Need(env, "distSubmit");
  auto op = std::make_shared<Op>();
  int64_t kind = wgcpu::napi::Size(info, 0, "distSubmit", "kind");
  if (kind > kBarrier) throw Napi::RangeError::New(env, "distSubmit: kind must be 0..4");
  op->kind = Kind(kind);
  int64_t count = wgcpu::napi::Size(info, 3, "distSubmit", "count");
  if (count > INT_MAX)
    throw Napi::RangeError::New(env, std::string(kKindNames[kind]) + ": " + std::to_string(count) +
                                         " elements is more than MPI's int count (2^31-1); split the tensor");
  op->count = int(count);
  int64_t dt = wgcpu::napi::Size(info, 4, "distSubmit", "dtype");
  int64_t ro = wgcpu::napi::Size(info, 5, "distSubmit", "op");
  if (dt > 3 || ro > 3) throw Napi::RangeError::New(env, "distSubmit: dtype must be 0..3 and op 0..3");
  op->dt = DType(dt);
  op->op = ro == 3 ? RedOp::Sum : RedOp(ro);
  op->avg = ro == 3;
  op->root = int(wgcpu::napi::Size(info, 6, "distSubmit", "root"));
  op->notify = wgcpu::napi::Bool(info, 7);
  // the element counts each buffer must hold, per kind
  size_t sendNeed = 0, recvNeed = 0;
  switch (op->kind) {
    case kAllReduce: sendNeed = recvNeed = size_t(count); break;
    case kBroadcast: recvNeed = size_t(count); break;
    case kAllGather: sendNeed = size_t(count), recvNeed = size_t(count) * g.size; break;
    case kReduceScatter: sendNeed = size_t(count) * g.size, recvNeed = size_t(count); break;
    case kBarrier: break;
  }
  if (op->kind == kBroadcast && op->root >= g.size)
    throw Napi::RangeError::New(env, "broadcast: src " + std::to_string(op->root) + " is not a rank (world size " +
                                         std::to_string(g.size) + ")");
  if (op->kind != kBarrier) {
    auto recv = wgcpu::napi::Arr(info, 2, kKindNames[kind], "recv");
    if (DTypeOf(recv.type, env, "recv") != op->dt)
      throw Napi::TypeError::New(env, std::string(kKindNames[kind]) + ": recv's dtype differs from dtype");
    if (recv.length < recvNeed)
      throw Napi::RangeError::New(env, std::string(kKindNames[kind]) + ": the output holds " +
                                           std::to_string(recv.length) + " elements, needs " +
                                           std::to_string(recvNeed));
    op->recv = recv.data;
    if (sendNeed) {
      auto send = wgcpu::napi::Arr(info, 1, kKindNames[kind], "send");
      if (DTypeOf(send.type, env, "send") != op->dt)
        throw Napi::TypeError::New(env,
                                   std::string(kKindNames[kind]) + ": the input's dtype differs from the output's");
      if (send.length < sendNeed)
        throw Napi::RangeError::New(env, std::string(kKindNames[kind]) + ": the input holds " +
                                             std::to_string(send.length) + " elements, needs " +
                                             std::to_string(sendNeed));
      op->send = send.data;
    }
  }
  {
    std::lock_guard<std::mutex> l(g.mu);
    if (g.stop) throw Napi::Error::New(env, std::string(kKindNames[kind]) + ": the process group was shut down");
    op->id = g.nextId++;
    g.ops[op->id] = op;
    g.queue.push_back(op);
  }
  if (op->notify && g.haveTsfn && g.pendingNotify++ == 0) g.tsfn.Ref(env);
  g.cvWork.notify_one();
  return Napi::Number::New(env, double(op->id));
}

Napi::Value DistWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Group& g = Need(env, "distWait");
  int64_t id = wgcpu::napi::Size(info, 0, "distWait", "id");
  std::shared_ptr<Op> op;
  {
    std::unique_lock<std::mutex> l(g.mu);
    auto it = g.ops.find(id);
    if (it == g.ops.end()) return env.Undefined();  // collected already (its result went to onDone)
    op = it->second;
    g.cvDone.wait(l, [&] { return op->done; });
    g.ops.erase(id);
  }
  if (!op->error.empty()) throw Napi::Error::New(env, op->error);
  return env.Undefined();
}

Napi::Value DistForget(const Napi::CallbackInfo& info) {
  // the async path: onDone delivered the result, drop the record
  Group& g = Need(info.Env(), "distForget");
  int64_t id = wgcpu::napi::Size(info, 0, "distForget", "id");
  std::lock_guard<std::mutex> l(g.mu);
  auto it = g.ops.find(id);
  if (it != g.ops.end() && it->second->done) g.ops.erase(it);
  return info.Env().Undefined();
}

Napi::Value DistAbort(const Napi::CallbackInfo& info) {
  Group& g = Need(info.Env(), "distAbort");
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  g.mpi->Abort(code);
  return info.Env().Undefined();
}

Napi::Value DistState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  if (!g_group) {
    r.Set("initialized", false);
    r.Set("broken", false);
    r.Set("pending", 0);
    return r;
  }
  std::lock_guard<std::mutex> l(g_group->mu);
  r.Set("initialized", g_group->initDone && g_group->initError.empty() && !g_group->stop);
  r.Set("broken", g_group->broken);
  r.Set("brokenReason", g_group->brokenReason);
  r.Set("pending", double(g_group->queue.size()));
  return r;
}

WGCPU_ENTRY("distMpiLoad", DistMpiLoad, nullptr);
WGCPU_ENTRY("distInit", DistInit, nullptr);
WGCPU_ENTRY("distSubmit", DistSubmit, nullptr);
WGCPU_ENTRY("distWait", DistWait, nullptr);
WGCPU_ENTRY("distForget", DistForget, nullptr);
WGCPU_ENTRY("distAbort", DistAbort, nullptr);
WGCPU_ENTRY("distState", DistState, nullptr);

}  // namespace
}  // namespace wgdist
