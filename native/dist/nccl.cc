// NCCL (libnccl.so.2) by dlopen, for CUDA tensors: the communicator is set up from a unique id
// that rank 0 makes (ncclGetUniqueId) and the JS side broadcasts over MPI; the collectives are
// enqueued on the addon's one CUDA stream, so they are ordered with the kernels before and after
// them and the host never waits (wait() on the JS handle is a no-op; readback synchronises).
//
//   distNcclLoad() -> { ok, library?, version?, error? }       every build (dlopen only)
//   distNcclUniqueId() -> Uint8Array(128)                        CUDA builds
//   distNcclInit(id, rank, size)                                 ncclCommInitRank on the current device
//   distNcclCollective(kind, send, recv, count, dtype, op, root) kind/op/dtype as distSubmit; buffers
//                                                                are storage handles (NativeBuffer)
//   distNcclDestroy()
//
// The declarations below are written from nccl.h (NCCL 2.x ABI: the enums and signatures have
// been stable since 2.4); no header or library is needed to build.
// UNVERIFIED: this file compiles in the CUDA build and its loading is tested (a clear error when
// libnccl is absent), but no collective has run on GPUs yet.
//
// Hand-written WGCPU_ENTRY registrations, not the generated boundary (native/manifest/): these
// entries return objects and ids, take a JS callback or storage handles, and take typed arrays of
// a dtype chosen at run time, which the manifest's argument kinds do not express. Their TS types
// are DistBinding in lib/distributed/native.ts.
#include <napi.h>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu/napi_util.h"
#include "../cpu/registry.h"

#ifdef WG_HAVE_CUDA
#include <cuda_runtime.h>

#include "runtime.h"
#include "storage.h"
#endif

namespace wgdist {
namespace {

// ---- nccl.h, the part we use -------------------------------------------------------------------
typedef struct ncclComm* ncclComm_t;
typedef struct {
  char internal[128];  // NCCL_UNIQUE_ID_BYTES
} ncclUniqueId;
typedef int ncclResult_t;  // ncclSuccess = 0
enum { ncclInt32 = 2, ncclUint8 = 1, ncclFloat32 = 7, ncclFloat64 = 8, ncclFloat16 = 6, ncclBfloat16 = 9 };
enum { ncclSum = 0, ncclMax = 2, ncclMin = 3, ncclAvg = 4 };
typedef void* Stream;  // cudaStream_t

struct Nccl {
  void* lib = nullptr;
  std::string library;
  ncclResult_t (*GetVersion)(int*) = nullptr;
  ncclResult_t (*GetUniqueId)(ncclUniqueId*) = nullptr;
  ncclResult_t (*CommInitRank)(ncclComm_t*, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*CommDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*CommAbort)(ncclComm_t) = nullptr;
  const char* (*GetErrorString)(ncclResult_t) = nullptr;
  ncclResult_t (*AllReduce)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*Broadcast)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*AllGather)(const void*, void*, size_t, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*ReduceScatter)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclComm_t comm = nullptr;
};

Nccl* g_nccl = nullptr;

Nccl* LoadNccl(std::string* error) {
  if (g_nccl) return g_nccl;
  std::vector<std::string> names;
  if (const char* env = std::getenv("WATTGRAD_NCCL_LIB"); env && *env) names.push_back(env);
  else names = {"libnccl.so.2", "libnccl.so"};
  std::string tried;
  for (const auto& n : names) {
    void* lib = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      tried += std::string(tried.empty() ? "" : "; ") + (e ? e : n);
      continue;
    }
    auto* x = new Nccl();
    std::string missing;
    auto sym = [&](auto& fp, const char* name) {
      void* p = dlsym(lib, name);
      if (!p) missing += std::string(missing.empty() ? "" : ", ") + name;
      fp = reinterpret_cast<std::remove_reference_t<decltype(fp)>>(p);
    };
    sym(x->GetVersion, "ncclGetVersion");
    sym(x->GetUniqueId, "ncclGetUniqueId");
    sym(x->CommInitRank, "ncclCommInitRank");
    sym(x->CommDestroy, "ncclCommDestroy");
    sym(x->CommAbort, "ncclCommAbort");
    sym(x->GetErrorString, "ncclGetErrorString");
    sym(x->AllReduce, "ncclAllReduce");
    sym(x->Broadcast, "ncclBroadcast");
    sym(x->AllGather, "ncclAllGather");
    sym(x->ReduceScatter, "ncclReduceScatter");
    if (!missing.empty()) {
      tried += std::string(tried.empty() ? "" : "; ") + n + " lacks " + missing;
      delete x;
      dlclose(lib);
      continue;
    }
    x->lib = lib;
    x->library = n;
    g_nccl = x;
    return x;
  }
  *error =
      "could not load NCCL (" + tried +
      "). Install NCCL 2 (Debian/Ubuntu with NVIDIA's CUDA repository: apt-get install libnccl2; RHEL: dnf install "
      "libnccl; or pip's nvidia-nccl-cu12, then WATTGRAD_NCCL_LIB=<site-packages>/nvidia/nccl/lib/libnccl.so.2)";
  return nullptr;
}

Napi::Value DistNcclLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  std::string err;
  Nccl* n = LoadNccl(&err);
  r.Set("ok", n != nullptr);
#ifdef WG_HAVE_CUDA
  r.Set("cuda", true);
#else
  r.Set("cuda", false);
#endif
  if (n) {
    int v = 0;
    n->GetVersion(&v);
    r.Set("library", n->library);
    r.Set("version", v);
  } else {
    r.Set("error", err);
  }
  return r;
}
WGCPU_ENTRY("distNcclLoad", DistNcclLoad, nullptr);

#ifdef WG_HAVE_CUDA
Nccl& NeedNccl(Napi::Env env, const char* fn) {
  std::string err;
  Nccl* n = LoadNccl(&err);
  if (!n) throw Napi::Error::New(env, std::string(fn) + ": " + err);
  return *n;
}

void CheckNccl(Napi::Env env, Nccl& n, ncclResult_t rc, const char* what) {
  if (rc != 0)
    throw Napi::Error::New(env, std::string(what) + ": NCCL error " + std::to_string(rc) + ": " + n.GetErrorString(rc));
}

Napi::Value DistNcclUniqueId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Nccl& n = NeedNccl(env, "ncclGetUniqueId");
  ncclUniqueId id;
  CheckNccl(env, n, n.GetUniqueId(&id), "ncclGetUniqueId");
  auto out = Napi::Uint8Array::New(env, sizeof(id));
  std::memcpy(out.Data(), id.internal, sizeof(id));
  return out;
}

Napi::Value DistNcclInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  wgcpu::napi::ArgCount(info, 3, "distNcclInit", "id, rank, size");
  Nccl& n = NeedNccl(env, "ncclCommInitRank");
  auto a = wgcpu::napi::Typed(info, 0, "distNcclInit", "id", napi_uint8_array, sizeof(ncclUniqueId));
  int rank = int(wgcpu::napi::Size(info, 1, "distNcclInit", "rank"));
  int size = int(wgcpu::napi::Size(info, 2, "distNcclInit", "size"));
  if (rank >= size) throw Napi::RangeError::New(env, "distNcclInit: rank must be < size");
  ncclUniqueId id;
  std::memcpy(id.internal, a.data, sizeof(id));
  if (n.comm) {
    n.CommDestroy(n.comm);
    n.comm = nullptr;
  }
  CheckNccl(env, n, n.CommInitRank(&n.comm, size, id, rank), "ncclCommInitRank");
  return env.Undefined();
}

Napi::Value DistNcclCollective(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  wgcpu::napi::ArgCount(info, 7, "distNcclCollective", "kind, send, recv, count, dtype, op, root");
  Nccl& n = NeedNccl(env, "nccl");
  if (!n.comm) throw Napi::Error::New(env, "nccl: no communicator (initProcessGroup({ backend: 'nccl' }) first)");
  int kind = int(wgcpu::napi::Size(info, 0, "distNcclCollective", "kind"));
  size_t count = size_t(wgcpu::napi::Size(info, 3, "distNcclCollective", "count"));
  int dt = int(wgcpu::napi::Size(info, 4, "distNcclCollective", "dtype"));
  int op = int(wgcpu::napi::Size(info, 5, "distNcclCollective", "op"));
  int root = int(wgcpu::napi::Size(info, 6, "distNcclCollective", "root"));
  // our dtype codes (distSubmit's) to NCCL's: 0 f32, 1 f64, 2 i32, 4 f16, 5 bf16
  static const int kTypes[] = {ncclFloat32, ncclFloat64, ncclInt32, ncclUint8, ncclFloat16, ncclBfloat16};
  static const int kOps[] = {ncclSum, ncclMax, ncclMin, ncclAvg};
  if (dt > 5 || op > 3 || kind > 3) throw Napi::RangeError::New(env, "distNcclCollective: bad kind, dtype or op");
  void* recv = wg::BufferOf(info[2], "recv").ptr;
  const void* send = info[1].IsNull() || info[1].IsUndefined() ? recv : wg::BufferOf(info[1], "send").ptr;
  Stream s = static_cast<Stream>(wg::Stream());
  ncclResult_t rc = 0;
  switch (kind) {
    case 0: rc = n.AllReduce(send, recv, count, kTypes[dt], kOps[op], n.comm, s); break;
    case 1: rc = n.Broadcast(recv, recv, count, kTypes[dt], root, n.comm, s); break;
    case 2: rc = n.AllGather(send, recv, count, kTypes[dt], n.comm, s); break;
    case 3: rc = n.ReduceScatter(send, recv, count, kTypes[dt], kOps[op], n.comm, s); break;
  }
  CheckNccl(env, n, rc, "nccl collective");
  return env.Undefined();
}

Napi::Value DistNcclDestroy(const Napi::CallbackInfo& info) {
  if (g_nccl && g_nccl->comm) {
    g_nccl->CommDestroy(g_nccl->comm);
    g_nccl->comm = nullptr;
  }
  return info.Env().Undefined();
}

WGCPU_ENTRY("distNcclUniqueId", DistNcclUniqueId, nullptr);
WGCPU_ENTRY("distNcclInit", DistNcclInit, nullptr);
WGCPU_ENTRY("distNcclCollective", DistNcclCollective, nullptr);
WGCPU_ENTRY("distNcclDestroy", DistNcclDestroy, nullptr);
#endif

}  // namespace
}  // namespace wgdist
