// Elementwise kernels: fill, cast, unary, unaryGrad, binary (broadcast by strides), where, addBiasAct.
//
// Shapes: unary/unaryGrad/fill/cast work on n contiguous elements. binary/where index an output
// space of up to 8 dims; each operand has its own strides (0 on broadcast dims). The launcher
// first merges dims that are contiguous for every operand, so most calls run with ndim 1 or 2.
// Launch: grid-stride, 256 threads. float32 with 16-byte-aligned contiguous operands uses float4
// loads/stores (4 elements per thread step) and a scalar tail.
// Math is in Acc<T> (float for float32/bfloat16/float16, double for float64); int32 follows the js
// backend exactly (integer wrap-around, ToInt32 on store; see "int32" below).
// Checked by test/backend/parity.test.ts against the js backend (every op, odd sizes, broadcasts).

#include "elementwise_ops.cuh"

namespace wg {
namespace k {
namespace {

// ---- kernels ---------------------------------------------------------------------------------------

template <typename T>
__global__ void FillKernel(T* out, int64_t n, T v) {
  WG_GRID_STRIDE(i, n) out[i] = v;
}

template <typename S, typename D>
__global__ void CastKernel(const S* x, D* out, int64_t n) {
  WG_GRID_STRIDE(i, n) out[i] = FromF<D>(static_cast<double>(ToF(x[i])));
}
// float -> float without a detour through double
template <typename S>
__global__ void CastToFloatKernel(const S* x, float* out, int64_t n) {
  WG_GRID_STRIDE(i, n) out[i] = static_cast<float>(ToF(x[i]));
}

template <typename T>
__global__ void UnaryKernel(int op, const T* x, T* out, int64_t n, Acc<T> a, Acc<T> b) {
  WG_GRID_STRIDE(i, n) out[i] = UnaryT<T>(op, x[i], a, b);
}

// float32, x and out 16-byte aligned: one float4 per step, n4 = n / 4 vectors, the tail by the scalar kernel.
__global__ void UnaryKernelF4(int op, const float4* x, float4* out, int64_t n4, float a, float b) {
  WG_GRID_STRIDE(i, n4) {
    float4 v = x[i];
    v.x = UnaryOp<float>(op, v.x, a, b);
    v.y = UnaryOp<float>(op, v.y, a, b);
    v.z = UnaryOp<float>(op, v.z, a, b);
    v.w = UnaryOp<float>(op, v.w, a, b);
    out[i] = v;
  }
}

template <typename T>
__global__ void UnaryGradKernel(int op, const T* x, const T* y, const T* dy, T* dx, int64_t n, Acc<T> a, Acc<T> b) {
  using A = Acc<T>;
  WG_GRID_STRIDE(i, n) {
    const A xv = x != nullptr ? ToF(x[i]) : A(0);
    const A yv = y != nullptr ? ToF(y[i]) : A(0);
    dx[i] = FromF<T>(UnaryGradOp<A>(op, xv, yv, ToF(dy[i]), a, b));
  }
}

template <typename T>
__global__ void BinaryKernel(int op, const T* a, const T* b, T* out, Strided d, int64_t n) {
  WG_GRID_STRIDE(i, n) {
    int64_t off[2];
    StridedOffsets<2>(d, i, off);
    out[i] = BinaryT<T>(op, a[off[0]], b[off[1]]);
  }
}

// float32, a, b, out contiguous and aligned (no broadcast).
__global__ void BinaryKernelF4(int op, const float4* a, const float4* b, float4* out, int64_t n4) {
  WG_GRID_STRIDE(i, n4) {
    const float4 x = a[i], y = b[i];
    out[i] = make_float4(BinaryOp<float>(op, x.x, y.x), BinaryOp<float>(op, x.y, y.y), BinaryOp<float>(op, x.z, y.z),
                         BinaryOp<float>(op, x.w, y.w));
  }
}

template <typename C, typename T>
__global__ void WhereKernel(const C* cond, const T* a, const T* b, T* out, Strided d, int64_t n) {
  WG_GRID_STRIDE(i, n) {
    int64_t off[3];
    StridedOffsets<3>(d, i, off);
    out[i] = ToF(cond[off[0]]) != 0 ? a[off[1]] : b[off[2]];
  }
}

// x, out (outer, c, inner); bias (c).
template <typename T>
__global__ void AddBiasActKernel(const T* x, const T* bias, T* out, int64_t n, int64_t c, int64_t inner, int act) {
  WG_GRID_STRIDE(i, n) {
    const int64_t ch = (i / inner) % c;
    out[i] = FromF<T>(ActOp<Acc<T>>(act, ToF(x[i]) + ToF(bias[ch])));
  }
}

template <typename C>
int WhereTyped(const C* cond, const void* a, const void* b, void* out, const Strided& d, int64_t n, int dtype,
               cudaStream_t s) {
  WG_DISPATCH_ALL(dtype, WhereKernel<C, T><<<GridFor(n), kThreads, 0, s>>>(
                             cond, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out), d, n))
}

template <typename S>
int CastFrom(const S* x, void* out, int64_t n, int to, cudaStream_t s) {
  if (to == kF32) {
    CastToFloatKernel<S><<<GridFor(n), kThreads, 0, s>>>(x, static_cast<float*>(out), n);
    return kOk;
  }
  WG_DISPATCH_ALL(to, CastKernel<S, T><<<GridFor(n), kThreads, 0, s>>>(x, static_cast<T*>(out), n))
}

}  // namespace

// ---- launchers ---------------------------------------------------------------------------------------

int LaunchFill(void* out, int64_t n, double value, int dtype, cudaStream_t s) {
  if (n <= 0) return kOk;
  switch (dtype) {
    case kF32:
      FillKernel<float><<<GridFor(n), kThreads, 0, s>>>(static_cast<float*>(out), n, static_cast<float>(value));
      return kOk;
    case kF64: FillKernel<double><<<GridFor(n), kThreads, 0, s>>>(static_cast<double*>(out), n, value); return kOk;
    case kI32: FillKernel<int><<<GridFor(n), kThreads, 0, s>>>(static_cast<int*>(out), n, JsToInt32(value)); return kOk;
    case kBF16:
      FillKernel<__nv_bfloat16><<<GridFor(n), kThreads, 0, s>>>(static_cast<__nv_bfloat16*>(out), n,
                                                                __float2bfloat16(static_cast<float>(value)));
      return kOk;
    case kF16:
      FillKernel<__half>
          <<<GridFor(n), kThreads, 0, s>>>(static_cast<__half*>(out), n, __float2half(static_cast<float>(value)));
      return kOk;
    default: return kUnsupported;
  }
}

int LaunchCast(const void* x, void* out, int64_t n, int from, int to, cudaStream_t s) {
  if (n <= 0) return kOk;
  switch (from) {
    case kF32: return CastFrom(static_cast<const float*>(x), out, n, to, s);
    case kF64: return CastFrom(static_cast<const double*>(x), out, n, to, s);
    case kI32: return CastFrom(static_cast<const int*>(x), out, n, to, s);
    case kBF16: return CastFrom(static_cast<const __nv_bfloat16*>(x), out, n, to, s);
    case kF16: return CastFrom(static_cast<const __half*>(x), out, n, to, s);
    default: return kUnsupported;
  }
}

int LaunchUnary(int op, const void* x, void* out, int64_t n, int dtype, double a, double b, cudaStream_t s) {
  if (n <= 0) return kOk;
  if (dtype == kF32 && Aligned16(x) && Aligned16(out)) {
    const int64_t n4 = n / 4, done = n4 * 4;
    const float af = static_cast<float>(a), bf = static_cast<float>(b);
    if (n4 > 0)
      UnaryKernelF4<<<GridFor(n4), kThreads, 0, s>>>(op, static_cast<const float4*>(x), static_cast<float4*>(out), n4,
                                                     af, bf);
    if (done < n)
      UnaryKernel<float><<<1, kThreads, 0, s>>>(op, static_cast<const float*>(x) + done,
                                                static_cast<float*>(out) + done, n - done, af, bf);
    return kOk;
  }
  if (dtype == kI32) {  // the ops the js backend allows on int32 (INT_UNARY), in double, ToInt32 on store
    switch (static_cast<Unary>(op)) {
      case Unary::neg:
      case Unary::abs:
      case Unary::sign:
      case Unary::square:
      case Unary::relu:
      case Unary::clamp:
      case Unary::add_scalar:
      case Unary::mul_scalar:
      case Unary::rsub_scalar:
      case Unary::gt_scalar:
      case Unary::lt_scalar:
      case Unary::ge_scalar:
      case Unary::le_scalar:
      case Unary::eq_scalar:
      case Unary::ne_scalar:
      case Unary::pow_scalar:
        UnaryKernel<int>
            <<<GridFor(n), kThreads, 0, s>>>(op, static_cast<const int*>(x), static_cast<int*>(out), n, a, b);
        return kOk;
      default: return kUnsupported;
    }
  }
  WG_DISPATCH_FLOAT(
      dtype, UnaryKernel<T><<<GridFor(n), kThreads, 0, s>>>(op, static_cast<const T*>(x), static_cast<T*>(out), n,
                                                            static_cast<Acc<T>>(a), static_cast<Acc<T>>(b)))
}

int LaunchUnaryGrad(int op, const void* x, const void* y, const void* dy, void* dx, int64_t n, int dtype, double a,
                    double b, cudaStream_t s) {
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(dtype, UnaryGradKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                               op, static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(dy),
                               static_cast<T*>(dx), n, static_cast<Acc<T>>(a), static_cast<Acc<T>>(b)))
}

int LaunchBinary(int op, const void* a, const void* b, void* out, Strided dims, int dtype, cudaStream_t s) {
  const Strided d = Coalesce(dims, 2);
  const int64_t n = Numel(dims);
  if (n <= 0) return kOk;
  const bool contiguous = d.ndim == 1 && d.stride[0][0] == 1 && d.stride[1][0] == 1;
  if (dtype == kF32 && contiguous && Aligned16(a) && Aligned16(b) && Aligned16(out) && n >= 4) {
    const int64_t n4 = n / 4, done = n4 * 4;
    BinaryKernelF4<<<GridFor(n4), kThreads, 0, s>>>(op, static_cast<const float4*>(a), static_cast<const float4*>(b),
                                                    static_cast<float4*>(out), n4);
    if (done < n) {
      Strided t = d;
      t.shape[0] = n - done;
      BinaryKernel<float><<<1, kThreads, 0, s>>>(op, static_cast<const float*>(a) + done,
                                                 static_cast<const float*>(b) + done, static_cast<float*>(out) + done,
                                                 t, n - done);
    }
    return kOk;
  }
  WG_DISPATCH_ALL(dtype, BinaryKernel<T><<<GridFor(n), kThreads, 0, s>>>(
                             op, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out), d, n))
}

int LaunchWhere(const void* cond, const void* a, const void* b, void* out, Strided dims, int condDtype, int dtype,
                cudaStream_t s) {
  const Strided d = Coalesce(dims, 3);
  const int64_t n = Numel(dims);
  if (n <= 0) return kOk;
  switch (condDtype) {
    case kF32: return WhereTyped(static_cast<const float*>(cond), a, b, out, d, n, dtype, s);
    case kF64: return WhereTyped(static_cast<const double*>(cond), a, b, out, d, n, dtype, s);
    case kI32: return WhereTyped(static_cast<const int*>(cond), a, b, out, d, n, dtype, s);
    case kBF16: return WhereTyped(static_cast<const __nv_bfloat16*>(cond), a, b, out, d, n, dtype, s);
    case kF16: return WhereTyped(static_cast<const __half*>(cond), a, b, out, d, n, dtype, s);
    default: return kUnsupported;
  }
}

int LaunchAddBiasAct(const void* x, const void* bias, void* out, int64_t outer, int64_t c, int64_t inner, int act,
                     int dtype, cudaStream_t s) {
  const int64_t n = outer * c * inner;
  if (n <= 0) return kOk;
  WG_DISPATCH_FLOAT(
      dtype, AddBiasActKernel<T><<<GridFor(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(bias),
                                                                 static_cast<T*>(out), n, c, inner, act))
}

}  // namespace k
}  // namespace wg
