// Argument unpacking for hand-written CPU entry points (napi_*.cc). Every function names the
// entry point and the argument in its error, and throws (NAPI_CPP_EXCEPTIONS) instead of
// returning a bad value:
//   auto x = wgcpu::napi::F32(info, 0, "cpuConv2d", "x", need);   // Float32Array with >= need elements
//   int64_t n = wgcpu::napi::Size(info, 3, "cpuConv2d", "batch");  // non-negative integer
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace wgcpu {
namespace napi {

struct TypedArr {
  void* data = nullptr;
  size_t length = 0;  // elements
  napi_typedarray_type type = napi_float32_array;
};

inline void ArgCount(const Napi::CallbackInfo& info, size_t n, const char* fn, const char* signature) {
  if (info.Length() != n)
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected " + std::to_string(n) + " arguments (" +
                                               signature + "), got " + std::to_string(info.Length()));
}

inline TypedArr Arr(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  napi_value v = info[i];
  bool is = false;
  napi_is_typedarray(info.Env(), v, &is);
  if (!is) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a typed array");
  TypedArr a;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), v, &a.type, &a.length, &a.data, &ab, &off);
  return a;
}

inline const char* TypeName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_int8_array: return "Int8Array";
    default: return "another typed array";
  }
}

// A typed array of `type` holding at least `need` elements.
inline TypedArr Typed(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                      napi_typedarray_type type, double need) {
  TypedArr a = Arr(info, i, fn, name);
  if (a.type != type)
    throw Napi::TypeError::New(
        info.Env(), std::string(fn) + ": " + name + " must be a " + TypeName(type) + ", got a " + TypeName(a.type));
  if (need > double(a.length))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + name + " holds " + std::to_string(a.length) +
                                                " elements, needs " + std::to_string(int64_t(need)));
  return a;
}

inline float* F32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double need) {
  return static_cast<float*>(Typed(info, i, fn, name, napi_float32_array, need).data);
}
inline double* F64(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double need) {
  return static_cast<double*>(Typed(info, i, fn, name, napi_float64_array, need).data);
}
inline int32_t* I32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double need) {
  return static_cast<int32_t*>(Typed(info, i, fn, name, napi_int32_array, need).data);
}

// A non-negative integer (a size, a count, a stride).
inline int64_t Size(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
    throw Napi::RangeError::New(
        info.Env(), std::string(fn) + ": " + name + " must be a non-negative integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

inline double Num(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// True when [p, p+pb) and [q, q+qb) share a byte.
inline bool Overlap(const void* p, size_t pb, const void* q, size_t qb) {
  auto a = static_cast<const char*>(p), b = static_cast<const char*>(q);
  return pb && qb && a < b + qb && b < a + pb;
}

}  // namespace napi
}  // namespace wgcpu
