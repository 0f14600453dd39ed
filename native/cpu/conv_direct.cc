// The direct conv2d kernels' per-thread buffers (pool.h's Scratch) and chunk knob (conv_direct.h);
// baseline code, no ISA flags.
#include <stdlib.h>

#include "conv_direct.h"
#include "pool.h"

namespace wgcpu {
namespace convdirect {
namespace {

constexpr int kSlots = 5;  // pool.h's Scratch slots 8-12

}  // namespace

int64_t ChunkFloats(int64_t dflt) {
  static const int64_t v = [] {
    const char* e = getenv("WATTGRAD_CONV_CHUNK_FLOATS");
    const long long n = e ? atoll(e) : 0;
    return n > 0 ? int64_t(n) : int64_t(0);
  }();
  return v > 0 ? v : dflt;
}

float* Buf(int slot, int64_t elems) {
  if (slot < 0 || slot >= kSlots || elems < 0) return nullptr;
  return static_cast<float*>(Scratch(0, 8 + slot, size_t(elems) * sizeof(float)));
}

}  // namespace convdirect
}  // namespace wgcpu
