// Helpers shared by the kernel entry points (ops_*.cc): argument unpacking and checks.
// Every entry point: check the argument count, unwrap handles with wg::Ptr (naming the argument),
// read plain numbers, launch on wg::Stream(), wg::CheckLaunch right after. A dtype a kernel does
// not implement throws "cuda: <dtype> not supported for <kernel>".
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

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
    return Fail(info.Env(), std::string(kernel) + ": expected " + std::to_string(n) + " arguments, got " +
                                std::to_string(info.Length()), true);
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

}  // namespace ops
}  // namespace wg
