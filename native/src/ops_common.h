// Helpers shared by the kernel entry points: argument unpacking and checks. The entry points are
// generated (native/src/ops_gen_<family>.cc, from native/manifest/cuda/<family>.mjs by
// scripts/gen-boundary.mjs) and call these. Every entry point: check the argument count, unwrap handles with wg::Ptr
// (naming the argument), read plain numbers, check every handle holds the bytes the kernel will touch (Holds, computed
// from the shape arguments), launch on wg::Stream(), wg::CheckLaunch right after. A dtype a kernel
// does not implement throws "cuda: <dtype> not supported for <kernel>"; a handle too small throws
// RangeError "<kernel>: <argument> holds N bytes, needs M" before anything is launched, so a
// shape/handle mismatch never becomes an illegal address (a sticky error that ends the context).
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/kernels.h"
#include "runtime.h"

namespace wg {
namespace ops {

inline const char* DTypeName(int d) {
  static const char* names[] = {
#define WG_NAME(n) #n,
      WG_DTYPES(WG_NAME)
#undef WG_NAME
  };
  return d >= 0 && d < 5 ? names[d] : "unknown dtype";
}

// Throws (C++ exception or pending JS exception, per the build's NAPI_CPP_EXCEPTIONS) and returns false.
inline bool Fail(Napi::Env env, const std::string& msg, bool type = false) {
#ifdef NAPI_CPP_EXCEPTIONS
  if (type) throw Napi::TypeError::New(env, msg);
  throw Napi::Error::New(env, msg);
#else
  if (type) Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  else Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return false;
#endif
}

inline bool ArgCount(const Napi::CallbackInfo& info, size_t n, const char* kernel) {
  if (info.Length() < n)
    return Fail(
        info.Env(),
        std::string(kernel) + ": expected " + std::to_string(n) + " arguments, got " + std::to_string(info.Length()),
        true);
  return true;
}

inline double Num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline int Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
inline int64_t I64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
inline bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// Non-negative sizes; false (and a RangeError-like Error) otherwise.
inline bool NonNeg(Napi::Env env, const char* kernel, std::initializer_list<int64_t> sizes) {
  for (int64_t s : sizes)
    if (s < 0) return Fail(env, std::string(kernel) + ": negative size " + std::to_string(s));
  return true;
}

// ---- bounds checks ------------------------------------------------------------------------------

// Bytes per element of a dtype code; 0 for an unknown code (the launcher then reports it unsupported).
inline uint64_t DTypeBytes(int d) {
  switch (d) {
    case k::kF64: return 8;
    case k::kF32:
    case k::kI32: return 4;
    case k::kBF16:
    case k::kF16: return 2;
    default: return 0;
  }
}

constexpr uint64_t kHuge = std::numeric_limits<uint64_t>::max();

// a * b, saturating at kHuge (no handle holds that much, so an overflowing shape fails the check).
inline uint64_t MulSat(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kHuge / b ? kHuge : a * b;
}

inline uint64_t AddSat(uint64_t a, uint64_t b) { return a > kHuge - b ? kHuge : a + b; }

// Elements a batch of `batch` matrices of `matElems` elements, `stride` apart, spans
// ((batch - 1) * stride + matElems; a stride of 0 broadcasts one matrix).
inline uint64_t BatchedExtent(int64_t batch, int64_t stride, uint64_t matElems) {
  if (batch <= 0 || matElems == 0) return 0;
  return AddSat(MulSat(static_cast<uint64_t>(batch - 1), static_cast<uint64_t>(stride)), matElems);
}

// The product of non-negative sizes (checked by NonNeg first), saturating.
inline uint64_t Elems(std::initializer_list<int64_t> dims) {
  uint64_t p = 1;
  for (int64_t d : dims) p = MulSat(p, d < 0 ? 0 : static_cast<uint64_t>(d));
  return p;
}

inline bool FailRange(Napi::Env env, const std::string& msg) {
#ifdef NAPI_CPP_EXCEPTIONS
  throw Napi::RangeError::New(env, msg);
#else
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
#endif
}

// Requires the handle `v` (named `what`, e.g. "matmul: a") to hold `elems` elements of dtype code
// `dtype`: RangeError "matmul: a holds N bytes, needs M" otherwise. A kernel that touches nothing
// (elems 0) needs nothing. null/undefined pass when `nullable` (the entry point decides whether the
// kernel reads it) and fail otherwise whenever the kernel would touch memory.
inline bool Holds(Napi::Env env, const Napi::Value& v, const char* what, uint64_t elems, int dtype,
                  bool nullable = false) {
  const uint64_t need = MulSat(elems, DTypeBytes(dtype));
  if (need == 0) return true;
  if (v.IsNull() || v.IsUndefined()) {
    if (nullable) return true;
    return Fail(env,
                std::string(what) + ": expected a cuda storage handle, got null (the kernel touches " +
                    std::to_string(need) + " bytes)",
                true);
  }
  const uint64_t have = Bytes(v, what);
  if (have >= need) return true;
  return FailRange(env, std::string(what) + " holds " + std::to_string(have) + " bytes, needs " +
                            (need == kHuge ? std::string("more than 2^64") : std::to_string(need)));
}

// The highest element offset + 1 that operand `op` of a strided index space addresses from
// `offset` (0 when the space is empty). Negative strides are allowed as long as the lowest offset
// stays >= 0; false (RangeError naming `what`) when it does not.
inline bool StridedExtent(Napi::Env env, const k::Strided& d, int op, int64_t offset, const char* what,
                          uint64_t* extent) {
  for (int i = 0; i < d.ndim; ++i) {
    if (d.shape[i] == 0) {
      *extent = 0;
      return true;
    }
  }
  // |stride| * (shape - 1) summed in long double: exact enough to tell "fits" from "does not"
  // for any real allocation, and immune to int64 overflow from absurd strides.
  long double lo = static_cast<long double>(offset), hi = lo;
  for (int i = 0; i < d.ndim; ++i) {
    const long double span = static_cast<long double>(d.stride[op][i]) * static_cast<long double>(d.shape[i] - 1);
    if (span > 0) hi += span;
    else lo += span;
  }
  if (lo < 0)
    return FailRange(env, std::string(what) + ": strides address element " +
                              std::to_string(static_cast<long long>(lo)) + " (before the start of the storage)");
  *extent = hi + 1 >= 1.8e19L ? kHuge : static_cast<uint64_t>(hi) + 1;
  return true;
}

// The element count of the index space of a Strided (its shape's product), saturating.
inline uint64_t ShapeElems(const k::Strided& d) {
  uint64_t n = 1;
  for (int i = 0; i < d.ndim; ++i) n = MulSat(n, static_cast<uint64_t>(d.shape[i]));
  return n;
}

// True when an exception is pending after unwrapping (runtime's Ptr may report instead of throwing).
inline bool Pending(Napi::Env env) { return env.IsExceptionPending(); }

inline void Done(Napi::Env env, int status, int dtype, const char* kernel) {
  if (status == k::kUnsupported) {
    Fail(env, std::string("cuda: ") + DTypeName(dtype) + " not supported for " + kernel);
    return;
  }
  CheckLaunch(env, kernel);
}

// A Float64Array of [shape(ndim), stride[0](ndim), ..., stride[nops-1](ndim)] into a Strided.
inline bool ReadStrided(const Napi::CallbackInfo& info, size_t ndimArg, size_t dimsArg, int nops, const char* kernel,
                        k::Strided* out) {
  const int ndim = Int(info, ndimArg);
  if (ndim < 0 || ndim > k::kMaxDims)
    return Fail(info.Env(), std::string(kernel) + ": rank " + std::to_string(ndim) + " exceeds 8 dims");
  if (!info[dimsArg].IsTypedArray() || info[dimsArg].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return Fail(info.Env(), std::string(kernel) + ": dims must be a Float64Array", true);
  Napi::Float64Array dims = info[dimsArg].As<Napi::Float64Array>();
  if (dims.ElementLength() < static_cast<size_t>(ndim * (nops + 1)))
    return Fail(info.Env(), std::string(kernel) + ": dims too short");
  const double* d = dims.Data();
  out->ndim = ndim;
  for (int i = 0; i < ndim; ++i) {
    out->shape[i] = static_cast<int64_t>(d[i]);
    if (out->shape[i] < 0) return Fail(info.Env(), std::string(kernel) + ": negative size in shape");
    for (int o = 0; o < nops; ++o) out->stride[o][i] = static_cast<int64_t>(d[(o + 1) * ndim + i]);
  }
  return true;
}

// A Float64Array of n numbers.
inline const double* ReadParams(const Napi::CallbackInfo& info, size_t arg, size_t n, const char* kernel) {
  if (!info[arg].IsTypedArray() || info[arg].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Fail(info.Env(), std::string(kernel) + ": params must be a Float64Array", true);
    return nullptr;
  }
  Napi::Float64Array a = info[arg].As<Napi::Float64Array>();
  if (a.ElementLength() < n) {
    Fail(info.Env(), std::string(kernel) + ": params too short");
    return nullptr;
  }
  return a.Data();
}

// seed / offset: non-negative integers below 2^53 (what a JS number holds exactly).
inline bool ReadU64(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* what, uint64_t* out) {
  const double v = Num(info, i);
  if (!(v >= 0) || v > 9007199254740991.0 || std::floor(v) != v)
    return Fail(info.Env(), std::string(kernel) + ": " + what + " must be an integer in [0, 2^53)");
  *out = static_cast<uint64_t>(v);
  return true;
}

// ---- structured arguments of the generated entry points (manifest kinds conv, pool, numels, bufList) ----

// params: Float64Array [batch, inC, inH, inW, outC, kH, kW, outH, outW, strideH, strideW, padH, padW,
// dilationH, dilationW, groups] (the order of Conv2dParams in lib/backend/kernels.ts)
inline bool ReadConv(const Napi::CallbackInfo& info, size_t arg, const char* kernel, k::Conv2d* p) {
  const double* v = ReadParams(info, arg, 16, kernel);
  if (v == nullptr) return false;
  int* f[16] = {&p->batch, &p->inC,     &p->inH,     &p->inW,  &p->outC, &p->kH,        &p->kW,        &p->outH,
                &p->outW,  &p->strideH, &p->strideW, &p->padH, &p->padW, &p->dilationH, &p->dilationW, &p->groups};
  for (int i = 0; i < 16; ++i) {
    if (!(v[i] >= 0) || v[i] > 2147483647.0) return Fail(info.Env(), std::string(kernel) + ": bad conv parameter");
    *f[i] = static_cast<int>(v[i]);
  }
  if (p->groups < 1 || p->strideH < 1 || p->strideW < 1 || p->dilationH < 1 || p->dilationW < 1 ||
      p->inC % p->groups != 0 || p->outC % p->groups != 0)
    return Fail(info.Env(), std::string(kernel) + ": groups must divide inC and outC; strides and dilations >= 1");
  const int64_t big = 0x7fffffff;
  if (int64_t(p->batch) * p->inC * p->inH * p->inW > big || int64_t(p->batch) * p->outC * p->outH * p->outW > big)
    return Fail(info.Env(), std::string(kernel) + ": tensors over 2^31 elements are not supported");
  return true;
}

// x is (batch, inC, inH, inW), w (outC, inC/groups, kH, kW), y (batch, outC, outH, outW).
inline uint64_t ConvX(const k::Conv2d& p) { return Elems({p.batch, p.inC, p.inH, p.inW}); }
inline uint64_t ConvW(const k::Conv2d& p) { return Elems({p.outC, p.inC / p.groups, p.kH, p.kW}); }
inline uint64_t ConvY(const k::Conv2d& p) { return Elems({p.batch, p.outC, p.outH, p.outW}); }

// params: Float64Array [batch, channels, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW,
// dilationH, dilationW, countIncludePad (0/1)] (the order of Pool2dParams in lib/backend/kernels.ts)
inline bool ReadPool(const Napi::CallbackInfo& info, size_t arg, const char* kernel, k::Pool2d* p) {
  const double* v = ReadParams(info, arg, 15, kernel);
  if (v == nullptr) return false;
  int* f[14] = {&p->batch, &p->channels, &p->inH,     &p->inW,  &p->outH, &p->outW,      &p->kH,
                &p->kW,    &p->strideH,  &p->strideW, &p->padH, &p->padW, &p->dilationH, &p->dilationW};
  for (int i = 0; i < 14; ++i) {
    if (!(v[i] >= 0) || v[i] > 2147483647.0) return Fail(info.Env(), std::string(kernel) + ": bad pool parameter");
    *f[i] = static_cast<int>(v[i]);
  }
  p->countIncludePad = v[14] != 0;
  if (p->strideH < 1 || p->strideW < 1 || p->dilationH < 1 || p->dilationW < 1)
    return Fail(info.Env(), std::string(kernel) + ": strides and dilations must be >= 1");
  return true;
}

// x, dx are (batch, channels, inH, inW); y, dy, argmax are (batch, channels, outH, outW).
inline uint64_t PoolIn(const k::Pool2d& p) { return Elems({p.batch, p.channels, p.inH, p.inW}); }
inline uint64_t PoolOut(const k::Pool2d& p) { return Elems({p.batch, p.channels, p.outH, p.outW}); }

// Saved statistics (mean/rstd, saveMean/saveInvStd) are float32 for float32/bfloat16/float16 inputs
// and float64 for float64 (PyTorch keeps them in the accumulation type, not the 16-bit dtype).
inline int StatsDType(int dtype) { return dtype == k::kF64 ? k::kF64 : k::kF32; }

// Unwraps a JS array of handles, one per numel, into ptrs (no list when the value is
// null/undefined: *present false); each must hold numels[i] elements of `dtype` ("adamStep: grads[3] holds N bytes,
// needs M").
inline bool ReadList(const Napi::CallbackInfo& info, size_t arg, const char* what, const std::vector<int64_t>& numels,
                     int dtype, std::vector<void*>* ptrs, bool* present) {
  const size_t count = numels.size();
  Napi::Value v = info[arg];
  *present = !(v.IsNull() || v.IsUndefined());
  if (!*present) return true;
  if (!v.IsArray()) return Fail(info.Env(), std::string(what) + " must be an array of tensors", true);
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != count) return Fail(info.Env(), std::string(what) + ": list length differs from params");
  ptrs->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    (*ptrs)[i] = Ptr(a.Get(i), what);
    if (info.Env().IsExceptionPending()) return false;
    if ((*ptrs)[i] == nullptr) return Fail(info.Env(), std::string(what) + ": null tensor in list", true);
    const std::string name = std::string(what) + "[" + std::to_string(i) + "]";
    if (!Holds(info.Env(), a.Get(i), name.c_str(), static_cast<uint64_t>(numels[i]), dtype)) return false;
  }
  return true;
}

inline bool ReadNumels(const Napi::CallbackInfo& info, size_t arg, const char* kernel, std::vector<int64_t>* numels) {
  if (!info[arg].IsArray()) return Fail(info.Env(), std::string(kernel) + ": numels must be an array", true);
  Napi::Array a = info[arg].As<Napi::Array>();
  numels->resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    (*numels)[i] = a.Get(i).As<Napi::Number>().Int64Value();
    if ((*numels)[i] < 0) return Fail(info.Env(), std::string(kernel) + ": negative numel");
  }
  return true;
}

}  // namespace ops
}  // namespace wg
