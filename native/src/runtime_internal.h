// Internal declarations shared by the runtime's files (addon.cc, runtime.cc, storage.cc,
// allocator.cc, transfer.cc, events.cc). Not part of the contract in runtime.h.
#pragma once

#include <napi.h>

#include <string>

#include "allocator.h"

namespace wg {

// Error codes set on the `code` property of the JS errors the runtime throws; the TS layer
// (lib/backend/cuda/errors.ts) maps them to classes.
constexpr const char* kCodeUnavailable = "WG_CUDA_UNAVAILABLE";
constexpr const char* kCodeCuda = "WG_CUDA_ERROR";
constexpr const char* kCodeSticky = "WG_CUDA_STICKY";
constexpr const char* kCodeOom = "WG_CUDA_OOM";
constexpr const char* kCodeIndex = "WG_INDEX_OUT_OF_RANGE";

Napi::Error MakeCoded(Napi::Env env, const std::string& message, const char* code);
[[noreturn]] void ThrowCoded(Napi::Env env, const std::string& message, const char* code);

// "1.50 GiB"
std::string FormatBytes(double bytes);

// { allocated, requested, peak, cached, limit, allocCount, cacheHits, ... } as a JS object.
Napi::Object StatsToJs(Napi::Env env, const AllocStats& s);

// allocator.cc: the host test mode and the byte-size parser.
void RegisterAllocatorTestMode(Napi::Env env, Napi::Object exports);

// storage.cc: the DeviceBuffer class behind NativeBuffer handles.
void RegisterStorage(Napi::Env env, Napi::Object exports);

// runtime.cc: cudaStatus (all builds) and, with CUDA, the device runtime exports.
void RegisterDeviceRuntime(Napi::Env env, Napi::Object exports);

#ifdef WG_HAVE_CUDA
// transfer.cc: upload / read / readSync.
void RegisterTransfers(Napi::Env env, Napi::Object exports);
// events.cc: createEvent / recordEvent / eventElapsedMs (timing).
void RegisterEvents(Napi::Env env, Napi::Object exports);
#endif

}  // namespace wg
