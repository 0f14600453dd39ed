// The per-thread buffers of the direct conv2d kernels (conv_direct.h); baseline code, no ISA flags.
#include <stdlib.h>

#include "conv_direct.h"

namespace wgcpu {
namespace convdirect {
namespace {

constexpr int kSlots = 5;
struct TlBufs {
  void* p[kSlots] = {};
  size_t bytes[kSlots] = {};
  ~TlBufs() {
    for (void* q : p) free(q);
  }
};
thread_local TlBufs tl_bufs;

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
  size_t want = (size_t(elems) * sizeof(float) + 63) & ~size_t(63);
  if (want == 0) want = 64;
  if (tl_bufs.bytes[slot] < want) {
    free(tl_bufs.p[slot]);
    tl_bufs.p[slot] = aligned_alloc(64, want);
    tl_bufs.bytes[slot] = tl_bufs.p[slot] ? want : 0;
  }
  return static_cast<float*>(tl_bufs.p[slot]);
}

}  // namespace convdirect
}  // namespace wgcpu
