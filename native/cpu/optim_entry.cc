// The optimizer entry points' plain functions (declared by the generated gen_optim.h from
// native/manifest/cpu/optim.mjs; gen_optim.cc unpacks and checks the N-API arguments): every
// tensor of the group is cut into chunks of kChunk elements and the chunks run on the pool, each
// with optim.h's element kernels for the selected ISA. Each element's arithmetic is the js
// kernel's, so the result is bitwise the js reference's for any thread count.
// Check: npx vitest run test/native/cpu-optim.test.ts
#include <vector>

#include "gen_optim.h"
#include "optim.h"
#include "pool.h"

namespace wgcpu {
namespace {

using optim::AdamArgs;
using optim::SgdArgs;

constexpr int64_t kChunk = 16384;  // elements per task: ~64-128 KB per stream, well above the pool's wake cost

struct Task {
  int32_t t;
  int64_t start, n;
};

// numels[t] must fit in every list's array t (the generated code checked the lists against params)
template <class P>
const char* Chunks(const P& params, const int32_t* numels, std::vector<Task>* tasks) {
  for (int64_t t = 0; t < params.count; t++) {
    if (numels[t] < 0) return "numels must be non-negative";
    if (numels[t] > params.length[t]) return "numels[t] exceeds the length of params[t]";
    for (int64_t s = 0; s < numels[t]; s += kChunk)
      tasks->push_back({int32_t(t), s, numels[t] - s < kChunk ? numels[t] - s : kChunk});
  }
  return nullptr;
}

template <class E>
E* At(const ArrayList<E>& l, const Task& k) {
  return l.count ? l.data[k.t] + k.start : nullptr;
}

template <class T>
struct SgdJob {
  const std::vector<Task>* tasks;
  const ArrayList<T>* p;
  const ArrayList<const T>* g;
  const ArrayList<T>* b;
  SgdArgs a;
};

void Sgd(const optim::Ops& o, float* p, const float* g, float* b, int64_t n, const SgdArgs& a) {
  o.sgdF(p, g, b, n, a);
}
void Sgd(const optim::Ops& o, double* p, const double* g, double* b, int64_t n, const SgdArgs& a) {
  o.sgdD(p, g, b, n, a);
}
void Adam(const optim::Ops& o, float* p, const float* g, float* m, float* v, float* vm, int64_t n, const AdamArgs& a) {
  o.adamF(p, g, m, v, vm, n, a);
}
void Adam(const optim::Ops& o, double* p, const double* g, double* m, double* v, double* vm, int64_t n,
          const AdamArgs& a) {
  o.adamD(p, g, m, v, vm, n, a);
}

template <class T>
void SgdTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<SgdJob<T>*>(ctx);
  const Task& k = (*j->tasks)[i];
  Sgd(optim::Current(), At(*j->p, k), At(*j->g, k), j->a.hasBuf ? At(*j->b, k) : nullptr, k.n, j->a);
}

template <class T>
const char* SgdStep(const ArrayList<T>& params, const ArrayList<const T>& grads, const ArrayList<T>& bufs,
                    const int32_t* numels, double lr, double momentum, double dampening, bool nesterov, double wd,
                    bool maximize, bool firstStep) {
  std::vector<Task> tasks;
  if (const char* e = Chunks(params, numels, &tasks)) return e;
  SgdArgs a{lr, momentum, dampening, wd, nesterov, maximize, firstStep, momentum != 0};
  SgdJob<T> j{&tasks, &params, &grads, &bufs, a};
  ParallelFor(int64_t(tasks.size()), SgdTask<T>, &j);
  return nullptr;
}

template <class T>
struct AdamJob {
  const std::vector<Task>* tasks;
  const ArrayList<T>* p;
  const ArrayList<const T>* g;
  const ArrayList<T>*m, *v, *vm;
  AdamArgs a;
};

template <class T>
void AdamTask(void* ctx, int64_t i, int) {
  auto* j = static_cast<AdamJob<T>*>(ctx);
  const Task& k = (*j->tasks)[i];
  Adam(optim::Current(), At(*j->p, k), At(*j->g, k), At(*j->m, k), At(*j->v, k), j->a.amsgrad ? At(*j->vm, k) : nullptr,
       k.n, j->a);
}

template <class T>
const char* AdamStep(const ArrayList<T>& params, const ArrayList<const T>& grads, const ArrayList<T>& expAvg,
                     const ArrayList<T>& expAvgSq, const ArrayList<T>& maxExpAvgSq, const int32_t* numels, double lr,
                     double beta1, double beta2, double eps, double wd, bool decoupled, bool amsgrad, bool maximize,
                     double stepSize, double bc2Sqrt) {
  std::vector<Task> tasks;
  if (const char* e = Chunks(params, numels, &tasks)) return e;
  AdamArgs a{lr, beta1, beta2, eps, wd, stepSize, bc2Sqrt, decoupled, amsgrad, maximize};
  AdamJob<T> j{&tasks, &params, &grads, &expAvg, &expAvgSq, &maxExpAvgSq, a};
  ParallelFor(int64_t(tasks.size()), AdamTask<T>, &j);
  return nullptr;
}

}  // namespace

const char* CpuSgdStep(const ArrayList<float>& params, const ArrayList<const float>& grads,
                       const ArrayList<float>& bufs, const int32_t* numels, double lr, double momentum,
                       double dampening, bool nesterov, double weightDecay, bool maximize, bool firstStep) {
  return SgdStep(params, grads, bufs, numels, lr, momentum, dampening, nesterov, weightDecay, maximize, firstStep);
}
const char* CpuSgdStep(const ArrayList<double>& params, const ArrayList<const double>& grads,
                       const ArrayList<double>& bufs, const int32_t* numels, double lr, double momentum,
                       double dampening, bool nesterov, double weightDecay, bool maximize, bool firstStep) {
  return SgdStep(params, grads, bufs, numels, lr, momentum, dampening, nesterov, weightDecay, maximize, firstStep);
}
const char* CpuAdamStep(const ArrayList<float>& params, const ArrayList<const float>& grads,
                        const ArrayList<float>& expAvg, const ArrayList<float>& expAvgSq,
                        const ArrayList<float>& maxExpAvgSq, const int32_t* numels, double lr, double beta1,
                        double beta2, double eps, double weightDecay, bool decoupled, bool amsgrad, bool maximize,
                        double stepSize, double bc2Sqrt) {
  return AdamStep(params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, lr, beta1, beta2, eps, weightDecay, decoupled,
                  amsgrad, maximize, stepSize, bc2Sqrt);
}
const char* CpuAdamStep(const ArrayList<double>& params, const ArrayList<const double>& grads,
                        const ArrayList<double>& expAvg, const ArrayList<double>& expAvgSq,
                        const ArrayList<double>& maxExpAvgSq, const int32_t* numels, double lr, double beta1,
                        double beta2, double eps, double weightDecay, bool decoupled, bool amsgrad, bool maximize,
                        double stepSize, double bc2Sqrt) {
  return AdamStep(params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, lr, beta1, beta2, eps, weightDecay, decoupled,
                  amsgrad, maximize, stepSize, bc2Sqrt);
}

}  // namespace wgcpu
