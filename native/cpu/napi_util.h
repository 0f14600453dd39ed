// Argument unpacking for hand-written CPU entry points (napi_*.cc). Every function names the
// entry point and the argument in its error, and throws (NAPI_CPP_EXCEPTIONS) instead of
// returning a bad value:
//   auto x = wgcpu::napi::F32(info, 0, "cpuConv2d", "x", need);   // Float32Array with >= need elements
//   int64_t n = wgcpu::napi::Size(info, 3, "cpuConv2d", "batch");  // non-negative integer
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace wgcpu {
namespace napi {

struct TypedArr {
  void* data = nullptr;
  size_t length = 0;  // elements
  napi_typedarray_type type = napi_float32_array;
  bool present = true;  // false: a nullable argument passed as null/undefined (data nullptr, length 0)
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

// ---- used by the generated entry points (native/cpu/gen_*.cc; see /work/notes/boundary-howto.md) ----

// A number in an error message, as an integer (element counts computed as double included).
template <class N>
inline std::string S(N v) {
  return std::to_string(static_cast<long long>(v));
}

// The product of sizes in double: an element count that cannot overflow (a need above 2^53 is
// only ever compared with a real array's length, which it then exceeds).
template <class... N>
inline double Prod(N... v) {
  double p = 1;
  ((p *= static_cast<double>(v)), ...);
  return p;
}

// Elements a batch of `batch` blocks of `numel` elements, `stride` apart, spans (stride 0
// broadcasts one block); 0 when there is nothing to touch.
inline double Extent(double batch, double stride, double numel) {
  if (batch == 0 || numel == 0) return 0;
  return (batch - 1) * stride + numel;
}

inline size_t ElemBytes(napi_typedarray_type t) {
  switch (t) {
    case napi_float64_array: return 8;
    case napi_float32_array:
    case napi_int32_array:
    case napi_uint32_array: return 4;
    case napi_uint16_array:
    case napi_int16_array: return 2;
    default: return 1;
  }
}

// "Float32Array or Float64Array" for the allowed types of an argument.
inline std::string TypeList(const napi_typedarray_type* types, int n) {
  std::string s;
  for (int i = 0; i < n; i++) s += std::string(i == 0 ? "" : i == n - 1 ? " or " : ", ") + TypeName(types[i]);
  return s;
}

// A typed array of one of `types` (nullable: null/undefined gives present = false). No size check
// here: the generated code checks the needs once every size argument is read.
inline TypedArr OneOf(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                      const napi_typedarray_type* types, int n, bool nullable = false) {
  napi_value v = info[i];
  if (nullable && (info[i].IsNull() || info[i].IsUndefined())) {
    TypedArr a;
    a.type = types[0];
    a.present = false;
    return a;
  }
  bool is = false;
  napi_is_typedarray(info.Env(), v, &is);
  if (!is)
    throw Napi::TypeError::New(
        info.Env(), std::string(fn) + ": " + name + " must be a " + TypeList(types, n) + (nullable ? " or null" : ""));
  TypedArr a;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), v, &a.type, &a.length, &a.data, &ab, &off);
  for (int t = 0; t < n; t++)
    if (a.type == types[t]) return a;
  throw Napi::TypeError::New(
      info.Env(), std::string(fn) + ": " + name + " must be a " + TypeList(types, n) + ", got a " + TypeName(a.type));
}

// RangeError "<fn>: <name> holds L elements, needs N" when a present array is too short.
inline void Need(Napi::Env env, const char* fn, const char* name, const TypedArr& a, double need) {
  if (a.present && need > double(a.length))
    throw Napi::RangeError::New(
        env, std::string(fn) + ": " + name + " holds " + std::to_string(a.length) + " elements, needs " + S(need));
}

// The arguments of one type group (manifest `types`) share one typed-array type; absent ones
// (null, empty lists) do not count. `names` is "a, b and out".
inline void SameType(Napi::Env env, const char* fn, const char* names, std::initializer_list<const TypedArr*> arrs) {
  const TypedArr* first = nullptr;
  for (const TypedArr* a : arrs) {
    if (!a->present) continue;
    if (!first) first = a;
    else if (a->type != first->type)
      throw Napi::TypeError::New(env, std::string(fn) + ": " + names + " must have the same dtype");
  }
}

// A JS array of typed arrays (manifest kind 'list'); `witness` stands for the list in SameType
// (present when the list has an element; its type is the elements' type).
struct TypedList {
  std::vector<void*> data;
  std::vector<int64_t> length;
  bool present = true;
  TypedArr witness;
};

inline TypedList ListOf(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                        const napi_typedarray_type* types, int n, bool nullable = false) {
  TypedList l;
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) {
    l.present = false;
    l.witness.present = false;
    return l;
  }
  if (!v.IsArray())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be an array of " +
                                               TypeList(types, n) + (nullable ? " or null" : ""));
  Napi::Array arr = v.As<Napi::Array>();
  const uint32_t count = arr.Length();
  l.data.resize(count);
  l.length.resize(count);
  l.witness.present = count > 0;
  for (uint32_t e = 0; e < count; e++) {
    napi_value ev = arr.Get(e);
    bool is = false;
    napi_is_typedarray(info.Env(), ev, &is);
    const std::string en = std::string(name) + "[" + std::to_string(e) + "]";
    if (!is) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + en + " must be a " + TypeList(types, n));
    TypedArr a;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(info.Env(), ev, &a.type, &a.length, &a.data, &ab, &off);
    bool ok = false;
    for (int t = 0; t < n; t++) ok = ok || a.type == types[t];
    if (!ok || (e > 0 && a.type != l.witness.type))
      throw Napi::TypeError::New(
          info.Env(),
          std::string(fn) + ": " + en + " must be a " +
              (e > 0 ? std::string(TypeName(l.witness.type)) + " like " + name + "[0]" : TypeList(types, n)) +
              ", got a " + TypeName(a.type));
    if (e == 0) l.witness.type = a.type;
    l.data[e] = a.data;
    l.length[e] = static_cast<int64_t>(a.length);
  }
  return l;
}

// A list has as many arrays as `ref` (the entry's first list) and, with `sameLengths`, each holds
// at least as many elements as ref's array at the same index.
inline void ListMatches(Napi::Env env, const char* fn, const char* name, const TypedList& l, const char* refName,
                        const TypedList& ref, bool sameLengths) {
  if (!l.present) return;
  if (l.data.size() != ref.data.size())
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " has " + std::to_string(l.data.size()) +
                                         " arrays, " + refName + " has " + std::to_string(ref.data.size()));
  if (!sameLengths) return;
  for (size_t e = 0; e < l.data.size(); e++)
    if (l.length[e] < ref.length[e])
      throw Napi::RangeError::New(env, std::string(fn) + ": " + name + "[" + std::to_string(e) + "] holds " +
                                           std::to_string(l.length[e]) + " elements, needs " +
                                           std::to_string(ref.length[e]) + " (" + refName + "[" + std::to_string(e) +
                                           "])");
}

// The element type of a type group: the first present member's, else `fallback`.
inline napi_typedarray_type GroupType(std::initializer_list<const TypedArr*> arrs, napi_typedarray_type fallback) {
  for (const TypedArr* a : arrs)
    if (a->present) return a->type;
  return fallback;
}

// The element pointers of a list, typed.
template <class T>
inline std::vector<T*> Ptrs(const TypedList& l) {
  std::vector<T*> p(l.data.size());
  for (size_t e = 0; e < p.size(); e++) p[e] = static_cast<T*>(l.data[e]);
  return p;
}

// An integer (negative allowed), e.g. an ignore index.
inline int64_t Integer(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || !(std::fabs(d) <= 9007199254740991.0))
    throw Napi::RangeError::New(info.Env(),
                                std::string(fn) + ": " + name + " must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

// True when [p, p+pb) and [q, q+qb) share a byte.
inline bool Overlap(const void* p, size_t pb, const void* q, size_t qb) {
  auto a = static_cast<const char*>(p), b = static_cast<const char*>(q);
  return pb && qb && a < b + qb && b < a + pb;
}

}  // namespace napi
}  // namespace wgcpu
