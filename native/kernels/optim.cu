// Fused optimizer steps over lists of float32 tensors, in place (torch's update formulas):
//   SGD:  g = ±grad (maximize flips) + wd·p; with momentum: buf = firstStep ? g : momentum·buf + (1−dampening)·g,
//         g = nesterov ? g + momentum·buf : buf;  p −= lr·g
//   Adam: g = ±grad; Adam: g += wd·p | AdamW (decoupled): p *= 1 − lr·wd;
//         m = lerp(m, g, 1−β1); v = β2·v + (1−β2)·g²; amsgrad: vmax = max(vmax, v), v̂ = vmax;
//         p −= (lr / (1−β1^t)) · m / (sqrt(v̂) / sqrt(1−β2^t) + eps)
//   RMSprop: g = ±grad + wd·p; v = α·v + (1−α)·g²; centered: ḡ = α·ḡ + (1−α)·g, avg = sqrt(v − ḡ²) + eps,
//         else sqrt(v) + eps; momentum > 0: buf = momentum·buf + g/avg, p −= lr·buf; else p −= lr·g/avg
//   Adagrad: g = ±grad + wd·p; sum += g²; p −= clr·g / (sqrt(sum) + eps)   (clr = lr decayed by the host)
// Multi-tensor apply (PyTorch MultiTensorApply / Apex): the launcher packs up to kMaxTensors
// (pointer, numel) entries and up to kMaxBlocks (tensor, chunk) block assignments into one by-value
// kernel argument (< 4 KiB of parameter space), launching again when either fills. Each block
// updates one kChunk-element chunk of one tensor, reading p, g, m, v (vmax) once; float4 when every
// pointer of that tensor is 16-byte aligned, scalar for the tail.
// Checked by test/backend/parity.test.ts (many tensors of odd sizes, each flag combination).

#include "common.cuh"

namespace wg {
namespace k {
namespace {

constexpr int kMaxTensors = 36;
constexpr int kMaxBlocks = 320;
constexpr int64_t kChunk = 65536;
constexpr int kOptThreads = 512;

struct TensorList {
  float* p[kMaxTensors];
  const float* g[kMaxTensors];
  float* m[kMaxTensors];  // SGD: momentum buffer
  float* v[kMaxTensors];
  float* vmax[kMaxTensors];
  int64_t numel[kMaxTensors];
  unsigned char blockTensor[kMaxBlocks];
  int blockChunk[kMaxBlocks];
};
static_assert(sizeof(TensorList) < 4000, "kernel parameter space");

struct AdamScalars {
  // 1−β1, 1−β2, 1−lr·wd and the bias corrections are computed in double on the host and rounded once
  // (as torch passes Python floats), not as float differences (1.f − 0.999f is 1.3e-5 off 1e-3).
  float lr, beta1, beta2, eps, wd, stepSize, bc2Sqrt, omb1, omb2, decay;
  bool decoupled, amsgrad, maximize;
};
struct SgdScalars {
  float lr, momentum, dampening, wd, omd;  // omd = 1 − dampening (double, rounded once)
  bool nesterov, maximize, firstStep, hasMomentum;
};

__device__ __forceinline__ void AdamElem(float& p, float g, float& m, float& v, float* vmax, const AdamScalars& h) {
  if (h.maximize) g = -g;
  if (h.wd != 0.f) {
    if (h.decoupled) p *= h.decay;
    else g += h.wd * p;
  }
  // torch / js: m = lerp(m, g, 1−β1)
  m = h.omb1 < 0.5f ? m + h.omb1 * (g - m) : g - (g - m) * (1.f - h.omb1);
  v = h.beta2 * v + h.omb2 * g * g;
  float vh = v;
  if (h.amsgrad) {
    vh = fmaxf(*vmax, v);
    *vmax = vh;
  }
  const float denom = sqrtf(vh) / h.bc2Sqrt + h.eps;
  p -= h.stepSize * (m / denom);
}

__device__ __forceinline__ void SgdElem(float& p, float g, float* buf, const SgdScalars& h) {
  if (h.maximize) g = -g;
  if (h.wd != 0.f) g += h.wd * p;
  if (h.hasMomentum) {
    const float b = h.firstStep ? g : h.momentum * *buf + h.omd * g;
    *buf = b;
    g = h.nesterov ? g + h.momentum * b : b;
  }
  p -= h.lr * g;
}

struct RmspropScalars {
  float lr, alpha, eps, wd, momentum, oma;  // oma = 1 − α (double, rounded once)
  bool centered, maximize, hasMomentum;
};
struct AdagradScalars {
  float clr, eps, wd;
  bool maximize;
};

// tl slots: m = square_avg, v = momentum_buffer, vmax = grad_avg (unused slots are nullptr).
__device__ __forceinline__ void RmspropElem(float& p, float g, float& sq, float* buf, float* gavg,
                                            const RmspropScalars& h) {
  if (h.maximize) g = -g;
  if (h.wd != 0.f) g += h.wd * p;
  sq = sq * h.alpha + h.oma * g * g;
  float avg;
  if (h.centered) {
    const float a = *gavg * h.alpha + h.oma * g;
    *gavg = a;
    avg = sqrtf(sq - a * a) + h.eps;
  } else {
    avg = sqrtf(sq) + h.eps;
  }
  if (h.hasMomentum) {
    const float b = *buf * h.momentum + g / avg;
    *buf = b;
    p -= h.lr * b;
  } else {
    p -= h.lr * (g / avg);
  }
}

__device__ __forceinline__ void AdagradElem(float& p, float g, float& s, const AdagradScalars& h) {
  if (h.maximize) g = -g;
  if (h.wd != 0.f) g += h.wd * p;
  s += g * g;
  p -= h.clr * (g / (sqrtf(s) + h.eps));
}

__device__ __forceinline__ bool Al16(const void* q) { return (reinterpret_cast<uintptr_t>(q) & 15) == 0; }

__global__ void __launch_bounds__(kOptThreads) AdamKernel(TensorList tl, AdamScalars h) {
  const int t = tl.blockTensor[blockIdx.x];
  const int64_t start = static_cast<int64_t>(tl.blockChunk[blockIdx.x]) * kChunk;
  const int64_t len = min(kChunk, tl.numel[t] - start);
  float* p = tl.p[t] + start;
  const float* g = tl.g[t] + start;
  float* m = tl.m[t] + start;
  float* v = tl.v[t] + start;
  float* vm = h.amsgrad ? tl.vmax[t] + start : nullptr;
  int64_t done = 0;
  if (Al16(p) && Al16(g) && Al16(m) && Al16(v) && (!h.amsgrad || Al16(vm))) {
    const int64_t n4 = len / 4;
    for (int64_t i = threadIdx.x; i < n4; i += blockDim.x) {
      float4 P = reinterpret_cast<float4*>(p)[i];
      const float4 G = reinterpret_cast<const float4*>(g)[i];
      float4 M = reinterpret_cast<float4*>(m)[i], V = reinterpret_cast<float4*>(v)[i];
      float4 X = h.amsgrad ? reinterpret_cast<float4*>(vm)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
      AdamElem(P.x, G.x, M.x, V.x, &X.x, h);
      AdamElem(P.y, G.y, M.y, V.y, &X.y, h);
      AdamElem(P.z, G.z, M.z, V.z, &X.z, h);
      AdamElem(P.w, G.w, M.w, V.w, &X.w, h);
      reinterpret_cast<float4*>(p)[i] = P;
      reinterpret_cast<float4*>(m)[i] = M;
      reinterpret_cast<float4*>(v)[i] = V;
      if (h.amsgrad) reinterpret_cast<float4*>(vm)[i] = X;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + threadIdx.x; i < len; i += blockDim.x) {
    float P = p[i], M = m[i], V = v[i];
    AdamElem(P, g[i], M, V, h.amsgrad ? vm + i : nullptr, h);
    p[i] = P;
    m[i] = M;
    v[i] = V;
  }
}

__global__ void __launch_bounds__(kOptThreads) SgdKernel(TensorList tl, SgdScalars h) {
  const int t = tl.blockTensor[blockIdx.x];
  const int64_t start = static_cast<int64_t>(tl.blockChunk[blockIdx.x]) * kChunk;
  const int64_t len = min(kChunk, tl.numel[t] - start);
  float* p = tl.p[t] + start;
  const float* g = tl.g[t] + start;
  float* b = h.hasMomentum ? tl.m[t] + start : nullptr;
  int64_t done = 0;
  if (Al16(p) && Al16(g) && (!h.hasMomentum || Al16(b))) {
    const int64_t n4 = len / 4;
    for (int64_t i = threadIdx.x; i < n4; i += blockDim.x) {
      float4 P = reinterpret_cast<float4*>(p)[i];
      const float4 G = reinterpret_cast<const float4*>(g)[i];
      float4 B = h.hasMomentum ? reinterpret_cast<float4*>(b)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
      SgdElem(P.x, G.x, &B.x, h);
      SgdElem(P.y, G.y, &B.y, h);
      SgdElem(P.z, G.z, &B.z, h);
      SgdElem(P.w, G.w, &B.w, h);
      reinterpret_cast<float4*>(p)[i] = P;
      if (h.hasMomentum) reinterpret_cast<float4*>(b)[i] = B;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + threadIdx.x; i < len; i += blockDim.x) {
    float P = p[i];
    SgdElem(P, g[i], h.hasMomentum ? b + i : nullptr, h);
    p[i] = P;
  }
}

// Scalar loops only: these optimizers are rarer than Adam, the float4 paths can come when measured.
__global__ void __launch_bounds__(kOptThreads) RmspropKernel(TensorList tl, RmspropScalars h) {
  const int t = tl.blockTensor[blockIdx.x];
  const int64_t start = static_cast<int64_t>(tl.blockChunk[blockIdx.x]) * kChunk;
  const int64_t len = min(kChunk, tl.numel[t] - start);
  float* p = tl.p[t] + start;
  const float* g = tl.g[t] + start;
  float* sq = tl.m[t] + start;
  float* buf = h.hasMomentum ? tl.v[t] + start : nullptr;
  float* gavg = h.centered ? tl.vmax[t] + start : nullptr;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    float P = p[i], S = sq[i];
    RmspropElem(P, g[i], S, buf != nullptr ? buf + i : nullptr, gavg != nullptr ? gavg + i : nullptr, h);
    p[i] = P;
    sq[i] = S;
  }
}

__global__ void __launch_bounds__(kOptThreads) AdagradKernel(TensorList tl, AdagradScalars h) {
  const int t = tl.blockTensor[blockIdx.x];
  const int64_t start = static_cast<int64_t>(tl.blockChunk[blockIdx.x]) * kChunk;
  const int64_t len = min(kChunk, tl.numel[t] - start);
  float* p = tl.p[t] + start;
  const float* g = tl.g[t] + start;
  float* sum = tl.m[t] + start;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    float P = p[i], S = sum[i];
    AdagradElem(P, g[i], S, h);
    p[i] = P;
    sum[i] = S;
  }
}

// Packs tensors and chunks into TensorLists and launches `launch(list, blocks)` whenever one fills.
template <class F>
void MultiTensorApply(void* const* params, void* const* grads, void* const* ms, void* const* vs, void* const* vmaxs,
                      const int64_t* numels, int count, F launch) {
  TensorList tl;
  int nt = 0, nb = 0;
  for (int t = 0; t < count; ++t) {
    if (numels[t] <= 0) continue;
    tl.p[nt] = static_cast<float*>(params[t]);
    tl.g[nt] = static_cast<const float*>(grads[t]);
    tl.m[nt] = ms != nullptr ? static_cast<float*>(ms[t]) : nullptr;
    tl.v[nt] = vs != nullptr ? static_cast<float*>(vs[t]) : nullptr;
    tl.vmax[nt] = vmaxs != nullptr ? static_cast<float*>(vmaxs[t]) : nullptr;
    tl.numel[nt] = numels[t];
    const int64_t chunks = (numels[t] + kChunk - 1) / kChunk;
    for (int64_t c = 0; c < chunks; ++c) {
      tl.blockTensor[nb] = static_cast<unsigned char>(nt);
      tl.blockChunk[nb] = static_cast<int>(c);
      ++nb;
      const bool lastChunk = c == chunks - 1;
      if (nb == kMaxBlocks || (lastChunk && nt + 1 == kMaxTensors)) {
        launch(tl, nb);
        nb = 0;
        if (lastChunk) {
          nt = -1;  // the list restarts empty after this tensor
        } else {    // the tensor continues in the next launch as entry 0
          tl.p[0] = tl.p[nt];
          tl.g[0] = tl.g[nt];
          tl.m[0] = tl.m[nt];
          tl.v[0] = tl.v[nt];
          tl.vmax[0] = tl.vmax[nt];
          tl.numel[0] = tl.numel[nt];
          nt = 0;
        }
      }
    }
    ++nt;
  }
  if (nb > 0) launch(tl, nb);
}

}  // namespace

int LaunchAdamStep(void* const* params, void* const* grads, void* const* expAvg, void* const* expAvgSq,
                   void* const* maxExpAvgSq, const int64_t* numels, int count, const AdamHyper& hp, int dtype,
                   cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  AdamScalars h;
  h.lr = static_cast<float>(hp.lr);
  h.beta1 = static_cast<float>(hp.beta1);
  h.beta2 = static_cast<float>(hp.beta2);
  h.eps = static_cast<float>(hp.eps);
  h.wd = static_cast<float>(hp.weightDecay);
  h.omb1 = static_cast<float>(1.0 - hp.beta1);
  h.omb2 = static_cast<float>(1.0 - hp.beta2);
  h.decay = static_cast<float>(1.0 - hp.lr * hp.weightDecay);
  const double bc1 = 1.0 - pow(hp.beta1, hp.step);
  const double bc2 = 1.0 - pow(hp.beta2, hp.step);
  h.stepSize = static_cast<float>(hp.lr / bc1);
  h.bc2Sqrt = static_cast<float>(sqrt(bc2));
  h.decoupled = hp.decoupled;
  h.amsgrad = hp.amsgrad && maxExpAvgSq != nullptr;
  h.maximize = hp.maximize;
  MultiTensorApply(params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, count,
                   [&](const TensorList& tl, int blocks) { AdamKernel<<<blocks, kOptThreads, 0, s>>>(tl, h); });
  return kOk;
}

int LaunchSgdStep(void* const* params, void* const* grads, void* const* momentumBufs, const int64_t* numels, int count,
                  const SgdHyper& hp, int dtype, cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  SgdScalars h;
  h.lr = static_cast<float>(hp.lr);
  h.momentum = static_cast<float>(hp.momentum);
  h.dampening = static_cast<float>(hp.dampening);
  h.wd = static_cast<float>(hp.weightDecay);
  h.omd = static_cast<float>(1.0 - hp.dampening);
  h.nesterov = hp.nesterov;
  h.maximize = hp.maximize;
  h.firstStep = hp.firstStep;
  h.hasMomentum = hp.momentum != 0 && momentumBufs != nullptr;
  MultiTensorApply(params, grads, momentumBufs, nullptr, nullptr, numels, count,
                   [&](const TensorList& tl, int blocks) { SgdKernel<<<blocks, kOptThreads, 0, s>>>(tl, h); });
  return kOk;
}

int LaunchRmspropStep(void* const* params, void* const* grads, void* const* squareAvg, void* const* momentumBufs,
                      void* const* gradAvg, const int64_t* numels, int count, const RmspropHyper& hp, int dtype,
                      cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  RmspropScalars h;
  h.lr = static_cast<float>(hp.lr);
  h.alpha = static_cast<float>(hp.alpha);
  h.eps = static_cast<float>(hp.eps);
  h.wd = static_cast<float>(hp.weightDecay);
  h.momentum = static_cast<float>(hp.momentum);
  h.oma = static_cast<float>(1.0 - hp.alpha);
  h.centered = hp.centered && gradAvg != nullptr;
  h.maximize = hp.maximize;
  h.hasMomentum = hp.momentum > 0 && momentumBufs != nullptr;
  MultiTensorApply(params, grads, squareAvg, momentumBufs, gradAvg, numels, count,
                   [&](const TensorList& tl, int blocks) { RmspropKernel<<<blocks, kOptThreads, 0, s>>>(tl, h); });
  return kOk;
}

int LaunchAdagradStep(void* const* params, void* const* grads, void* const* stateSum, const int64_t* numels, int count,
                      const AdagradHyper& hp, int dtype, cudaStream_t s) {
  if (dtype != kF32) return kUnsupported;
  AdagradScalars h;
  h.clr = static_cast<float>(hp.clr);
  h.eps = static_cast<float>(hp.eps);
  h.wd = static_cast<float>(hp.weightDecay);
  h.maximize = hp.maximize;
  MultiTensorApply(params, grads, stateSum, nullptr, nullptr, numels, count,
                   [&](const TensorList& tl, int blocks) { AdagradKernel<<<blocks, kOptThreads, 0, s>>>(tl, h); });
  return kOk;
}

}  // namespace k
}  // namespace wg
