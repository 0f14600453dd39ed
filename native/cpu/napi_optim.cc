// N-API entry points of the fused optimizer steps (optim.h), in place on the js backend's typed
// arrays, over every tensor of a param group in one call:
//
//   cpuSgdStep(params[], grads[], bufs[] | null, numels[], lr, momentum, dampening, nesterov,
//              weightDecay, maximize, firstStep)
//   cpuAdamStep(params[], grads[], expAvg[], expAvgSq[], maxExpAvgSq[] | null, numels[], lr, beta1,
//               beta2, eps, weightDecay, decoupled, amsgrad, maximize, stepSize, bc2Sqrt)
//
// All arrays are Float32Array, or all Float64Array; tensor t uses the first numels[t] elements of
// each. Every tensor is cut into chunks of kChunk elements and the chunks run on the pool; each
// element's arithmetic is the js kernel's (optim.h), so the result is independent of the threads.
// Check: npx vitest run test/native/cpu-optim.test.ts
#include <napi.h>

#include <string>
#include <vector>

#include "napi_util.h"
#include "optim.h"
#include "pool.h"
#include "registry.h"

namespace {

using wgcpu::optim::AdamArgs;
using wgcpu::optim::SgdArgs;

constexpr int64_t kChunk = 16384;  // elements per task: ~64-128 KB per stream, well above the pool's wake cost

// One list argument: a JS array of typed arrays of one dtype (or null when `optional`).
std::vector<void*> List(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, size_t count,
                        napi_typedarray_type type, const std::vector<int64_t>& numels, bool optional) {
  std::vector<void*> out;
  if (optional && (info[i].IsNull() || info[i].IsUndefined())) return out;
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be an array");
  Napi::Array a = info[i].As<Napi::Array>();
  if (a.Length() != count)
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + name + " has " + std::to_string(a.Length()) +
                                                " tensors, params has " + std::to_string(count));
  out.resize(count);
  for (size_t t = 0; t < count; t++) {
    napi_value v = Napi::Value(a[uint32_t(t)]);
    bool is = false;
    napi_is_typedarray(info.Env(), v, &is);
    std::string what = std::string(name) + "[" + std::to_string(t) + "]";
    if (!is) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be a typed array");
    napi_typedarray_type ty;
    size_t len, off;
    void* data;
    napi_value ab;
    napi_get_typedarray_info(info.Env(), v, &ty, &len, &data, &ab, &off);
    if (ty != type)
      throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be a " +
                                                 wgcpu::napi::TypeName(type) + " like params[0], got a " +
                                                 wgcpu::napi::TypeName(ty));
    if (int64_t(len) < numels[t])
      throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + what + " holds " + std::to_string(len) +
                                                  " elements, numels[" + std::to_string(t) + "] is " +
                                                  std::to_string(numels[t]));
    out[t] = data;
  }
  return out;
}

// params[] decides the dtype; numels[] the sizes.
struct Group {
  size_t count = 0;
  napi_typedarray_type type = napi_float32_array;
  std::vector<int64_t> numels;
  std::vector<void*> params;
};

Group ReadGroup(const Napi::CallbackInfo& info, const char* fn, size_t numelsArg) {
  Group g;
  if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": params must be an array");
  Napi::Array p = info[0].As<Napi::Array>();
  g.count = p.Length();
  if (!info[numelsArg].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": numels must be an array");
  Napi::Array ns = info[numelsArg].As<Napi::Array>();
  if (ns.Length() != g.count)
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": numels has " + std::to_string(ns.Length()) +
                                                " entries, params has " + std::to_string(g.count));
  g.numels.resize(g.count);
  for (size_t t = 0; t < g.count; t++) {
    Napi::Value v = ns[uint32_t(t)];
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != double(int64_t(d)))
      throw Napi::RangeError::New(
          info.Env(), std::string(fn) + ": numels[" + std::to_string(t) + "] must be a non-negative integer");
    g.numels[t] = int64_t(d);
  }
  if (g.count > 0) {
    Napi::Value p0 = p[uint32_t(0)];
    wgcpu::napi::TypedArr a;
    bool is = false;
    napi_is_typedarray(info.Env(), p0, &is);
    if (is) {
      napi_value ab;
      size_t off;
      napi_get_typedarray_info(info.Env(), p0, &a.type, &a.length, &a.data, &ab, &off);
      g.type = a.type;
    }
    if (!is || (g.type != napi_float32_array && g.type != napi_float64_array))
      throw Napi::TypeError::New(info.Env(), std::string(fn) + ": params[0] must be a Float32Array or Float64Array");
  }
  g.params = List(info, 0, fn, "params", g.count, g.type, g.numels, false);
  return g;
}

// (tensor, first element, count) per task
struct Task {
  int32_t t;
  int64_t start, n;
};

std::vector<Task> Chunks(const std::vector<int64_t>& numels) {
  std::vector<Task> tasks;
  for (size_t t = 0; t < numels.size(); t++)
    for (int64_t s = 0; s < numels[t]; s += kChunk)
      tasks.push_back({int32_t(t), s, numels[t] - s < kChunk ? numels[t] - s : kChunk});
  return tasks;
}

template <class T>
T* At(const std::vector<void*>& v, const Task& k) {
  return v.empty() ? nullptr : static_cast<T*>(v[k.t]) + k.start;
}

struct SgdJob {
  const std::vector<Task>* tasks;
  const std::vector<void*>*p, *g, *b;
  SgdArgs a;
  bool f32;
  const wgcpu::optim::Ops* ops;
};

void SgdTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<SgdJob*>(ctx);
  const Task& k = (*j->tasks)[i];
  if (j->f32) j->ops->sgdF(At<float>(*j->p, k), At<float>(*j->g, k), At<float>(*j->b, k), k.n, j->a);
  else j->ops->sgdD(At<double>(*j->p, k), At<double>(*j->g, k), At<double>(*j->b, k), k.n, j->a);
}

Napi::Value CpuSgdStep(const Napi::CallbackInfo& info) {
  const char* fn = "cpuSgdStep";
  wgcpu::napi::ArgCount(info, 11, fn,
                        "params, grads, bufs, numels, lr, momentum, dampening, nesterov, weightDecay, maximize, "
                        "firstStep");
  Group G = ReadGroup(info, fn, 3);
  SgdArgs a;
  a.lr = wgcpu::napi::Num(info, 4, fn, "lr");
  a.momentum = wgcpu::napi::Num(info, 5, fn, "momentum");
  a.dampening = wgcpu::napi::Num(info, 6, fn, "dampening");
  a.nesterov = wgcpu::napi::Bool(info, 7);
  a.wd = wgcpu::napi::Num(info, 8, fn, "weightDecay");
  a.maximize = wgcpu::napi::Bool(info, 9);
  a.firstStep = wgcpu::napi::Bool(info, 10);
  a.hasBuf = a.momentum != 0;
  std::vector<void*> grads = List(info, 1, fn, "grads", G.count, G.type, G.numels, false);
  std::vector<void*> bufs = List(info, 2, fn, "bufs", G.count, G.type, G.numels, !a.hasBuf);
  if (!a.hasBuf) bufs.clear();
  if (a.hasBuf && bufs.empty() && G.count > 0)
    throw Napi::TypeError::New(info.Env(), "cpuSgdStep: momentum needs one buffer per parameter");
  std::vector<Task> tasks = Chunks(G.numels);
  SgdJob j{&tasks, &G.params, &grads, &bufs, a, G.type == napi_float32_array, &wgcpu::optim::Current()};
  wgcpu::ParallelFor(int64_t(tasks.size()), SgdTask, &j);
  return info.Env().Undefined();
}

struct AdamJob {
  const std::vector<Task>* tasks;
  const std::vector<void*>*p, *g, *m, *v, *vm;
  AdamArgs a;
  bool f32;
  const wgcpu::optim::Ops* ops;
};

void AdamTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<AdamJob*>(ctx);
  const Task& k = (*j->tasks)[i];
  if (j->f32)
    j->ops->adamF(At<float>(*j->p, k), At<float>(*j->g, k), At<float>(*j->m, k), At<float>(*j->v, k),
                  At<float>(*j->vm, k), k.n, j->a);
  else
    j->ops->adamD(At<double>(*j->p, k), At<double>(*j->g, k), At<double>(*j->m, k), At<double>(*j->v, k),
                  At<double>(*j->vm, k), k.n, j->a);
}

Napi::Value CpuAdamStep(const Napi::CallbackInfo& info) {
  const char* fn = "cpuAdamStep";
  wgcpu::napi::ArgCount(info, 16, fn,
                        "params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, lr, beta1, beta2, eps, weightDecay, "
                        "decoupled, amsgrad, maximize, stepSize, bc2Sqrt");
  Group G = ReadGroup(info, fn, 5);
  AdamArgs a;
  a.lr = wgcpu::napi::Num(info, 6, fn, "lr");
  a.beta1 = wgcpu::napi::Num(info, 7, fn, "beta1");
  a.beta2 = wgcpu::napi::Num(info, 8, fn, "beta2");
  a.eps = wgcpu::napi::Num(info, 9, fn, "eps");
  a.wd = wgcpu::napi::Num(info, 10, fn, "weightDecay");
  a.decoupled = wgcpu::napi::Bool(info, 11);
  a.amsgrad = wgcpu::napi::Bool(info, 12);
  a.maximize = wgcpu::napi::Bool(info, 13);
  a.stepSize = wgcpu::napi::Num(info, 14, fn, "stepSize");
  a.bc2Sqrt = wgcpu::napi::Num(info, 15, fn, "bc2Sqrt");
  std::vector<void*> grads = List(info, 1, fn, "grads", G.count, G.type, G.numels, false);
  std::vector<void*> m = List(info, 2, fn, "expAvg", G.count, G.type, G.numels, false);
  std::vector<void*> v = List(info, 3, fn, "expAvgSq", G.count, G.type, G.numels, false);
  std::vector<void*> vm = List(info, 4, fn, "maxExpAvgSq", G.count, G.type, G.numels, !a.amsgrad);
  if (!a.amsgrad) vm.clear();
  if (a.amsgrad && vm.empty() && G.count > 0)
    throw Napi::TypeError::New(info.Env(), "cpuAdamStep: amsgrad needs maxExpAvgSq for every parameter");
  std::vector<Task> tasks = Chunks(G.numels);
  AdamJob j{&tasks, &G.params, &grads, &m, &v, &vm, a, G.type == napi_float32_array, &wgcpu::optim::Current()};
  wgcpu::ParallelFor(int64_t(tasks.size()), AdamTask, &j);
  return info.Env().Undefined();
}

}  // namespace

WGCPU_ENTRY("cpuSgdStep", CpuSgdStep, "sgdStep");
WGCPU_ENTRY("cpuAdamStep", CpuAdamStep, "adamStep");
