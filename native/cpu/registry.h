// Self-registering N-API entry points of the CPU kernels, so each kernel family lives in its own
// files (native/cpu/<family>.cc and its napi_<family>.cc) and never edits a shared table:
//
//   WGCPU_ENTRY("cpuConv2d", CpuConv2d, "conv2d");  // at namespace scope in a .cc
//
// registers the JS export `cpuConv2d` and adds "conv2d" to cpuInfo().kernels (the list that
// backends() and `wattgrad info` show as native). RegisterCpu (cpu_napi.cc) exports every entry
// at addon load. Entries are collected by static constructors before Init runs.
#pragma once

#include <napi.h>

namespace wgcpu {

using EntryFn = Napi::Value (*)(const Napi::CallbackInfo&);

struct Entry {
  const char* jsName;  // the export, e.g. "cpuConv2d"
  EntryFn fn;
  const char* kernel;  // the kernel it makes native, e.g. "conv2d"; nullptr for utilities
};

// Adds an entry (static-constructor time); returns its index.
int AddEntry(const char* jsName, EntryFn fn, const char* kernel);
// Every registered entry, in registration order.
const Entry* Entries(int* count);

}  // namespace wgcpu

#define WGCPU_CAT2(a, b) a##b
#define WGCPU_CAT(a, b) WGCPU_CAT2(a, b)
#define WGCPU_ENTRY(jsName, fn, kernel) \
  static const int WGCPU_CAT(wgcpu_entry_, __LINE__) = ::wgcpu::AddEntry(jsName, fn, kernel)
