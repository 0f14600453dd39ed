// Counter-based RNG: Philox4x32-10 exactly as lib/backend/kernels.ts defines it, so a seed gives the
// same numbers on js and cuda. key = (seed low 32, seed high 32); counter block c = [c lo, c hi, 0, 0].
//   randUniform: element i: block offset + floor(i/4), word i%4; u = (w >>> 8)·2^-24; out = low + (high−low)·u
//   randNormal:  element i: block offset + floor(i/2), words w0, w1; u1 = ((w0>>>8)+1)·2^-24,
//                u2 = (w1>>>8)·2^-24, r = sqrt(−2 ln u1); even i: mean + std·r·cos(2πu2), odd: ·sin
//   dropoutMask: mask[i] = u_i >= p ? 1/(1−p) : 0 (u_i from the uniform stream)
// Arithmetic in double, rounded once to the output dtype, as the js backend does with Math.*.
// Launch: one thread per counter block (4 or 2 outputs), grid-stride, 256 threads.

#include "common.cuh"

namespace wg {
namespace k {
namespace {

template <typename T>
__global__ void UniformKernel(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double span, double p,
                              double keep, bool dropout) {
  WG_GRID_STRIDE(q, (n + 3) / 4) {
    const Philox4 r = PhiloxBlock(offset + static_cast<uint64_t>(q), seed);
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      const int64_t i = q * 4 + w;
      if (i >= n) break;
      const double u = PhiloxUnit(r.v[w]);
      out[i] = FromF<T>(dropout ? (u >= p ? keep : 0.0) : low + span * u);
    }
  }
}

template <typename T>
__global__ void NormalKernel(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  constexpr double kTwoPi = 6.283185307179586;
  WG_GRID_STRIDE(q, (n + 1) / 2) {
    const Philox4 r = PhiloxBlock(offset + static_cast<uint64_t>(q), seed);
    const double u1 = (static_cast<double>(r.v[0] >> 8) + 1.0) * (1.0 / 16777216.0);
    const double u2 = PhiloxUnit(r.v[1]);
    const double rad = sqrt(-2.0 * log(u1));
    const int64_t i = q * 2;
    out[i] = FromF<T>(mean + std * rad * cos(kTwoPi * u2));  // js: mean + std * r * cos(t)
    if (i + 1 < n) out[i + 1] = FromF<T>(mean + std * rad * sin(kTwoPi * u2));
  }
}

}  // namespace

int LaunchRandUniform(void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high, int dtype,
                      cudaStream_t s) {
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, UniformKernel<T><<<GridFor((n + 3) / 4), kThreads, 0, s>>>(
                               static_cast<T*>(out), n, seed, offset, low, high - low, 0.0, 0.0, false))
}

int LaunchRandNormal(void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, int dtype,
                     cudaStream_t s) {
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, NormalKernel<T>
                    <<<GridFor((n + 1) / 2), kThreads, 0, s>>>(static_cast<T*>(out), n, seed, offset, mean, std))
}

int LaunchDropoutMask(void* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int dtype, cudaStream_t s) {
  if (n <= 0) return kOk;
  const double keep = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
  WG_DISPATCH_FLOAT(dtype, UniformKernel<T><<<GridFor((n + 3) / 4), kThreads, 0, s>>>(static_cast<T*>(mask), n, seed,
                                                                                      offset, 0.0, 0.0, p, keep, true))
}

}  // namespace k
}  // namespace wg
