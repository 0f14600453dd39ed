// The caching allocator's bookkeeping: size-class bins, the cap, stats and the trim-and-retry-once
// policy. Pure C++ (no CUDA), templated on the raw allocation backend, so the same code runs over
// device memory (CudaRaw in runtime.cc), pinned host staging (PinnedRaw) and plain malloc
// (MallocRaw, the host test mode exported as `HostAllocator` and tested from vitest).
//
// Sizes are rounded up to a size class: 4 classes per power of two (2^k, 1.25·2^k, 1.5·2^k,
// 1.75·2^k), at least kMinBlock bytes. Waste is < 25%, and a freed block goes to the bin of its
// class, so a training loop that allocates the same shapes every step is served from the bins
// after the first step with no raw allocation at all (cacheHits counts those).
//
// The cap (`limit`) bounds reserved bytes = allocated (live blocks) + cached (free blocks kept in
// the bins). A request that would pass the cap first evicts cached blocks; one that cannot fit
// even with an empty cache fails with kOverLimit. A raw allocation that fails (the device is full)
// empties the cache, lets the backend release what it holds (Raw::Release: sync + pool trim) and
// retries once; a second failure is kOutOfMemory. The process stays usable either way.
//
// The raw layer may itself pool what it is given back (CUDA's stream-ordered pool keeps freed
// memory, up to its release threshold). So that the cap bounds what the device really holds, the
// allocator tells it the cap (Raw::SetCap: the pool's release threshold) and, whenever it gives
// blocks back under a cap, how much it still holds (Raw::TrimTo: the pool trims to that).
//
// Thread-safe: finalizers of storage handles may run on any JS thread (workers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace wg {

constexpr size_t kMinBlock = 512;  // also keeps every block 256-byte aligned for vector loads

// The size class of a request: the smallest of {2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k} >= bytes.
inline size_t RoundSize(size_t bytes) {
  if (bytes <= kMinBlock) return kMinBlock;
  size_t p = size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(bytes - 1)));  // p < bytes <= 2p
  size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

// Parses "2GiB", "512 MiB", "1.5GB", "4096", "1e9" into bytes (KiB/MiB/GiB/TiB are powers of 1024,
// kB/MB/GB/TB powers of 1000, K/M/G/T alone are 1024-based). Returns false on malformed input.
inline bool ParseByteSize(const std::string& text, double* out) {
  const char* s = text.c_str();
  while (*s == ' ') s++;
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || !(v >= 0)) return false;
  std::string unit;
  for (const char* p = end; *p; p++) {
    if (*p != ' ') unit += static_cast<char>((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
  }
  static const std::map<std::string, double> units = {{"", 1},
                                                      {"b", 1},
                                                      {"k", 1024.0},
                                                      {"kib", 1024.0},
                                                      {"kb", 1e3},
                                                      {"m", 1048576.0},
                                                      {"mib", 1048576.0},
                                                      {"mb", 1e6},
                                                      {"g", 1073741824.0},
                                                      {"gib", 1073741824.0},
                                                      {"gb", 1e9},
                                                      {"t", 1099511627776.0},
                                                      {"tib", 1099511627776.0},
                                                      {"tb", 1e12}};
  auto it = units.find(unit);
  if (it == units.end()) return false;
  *out = v * it->second;
  return true;
}

enum class AllocStatus { kOk, kOverLimit, kOutOfMemory, kError };

struct AllocResult {
  void* ptr = nullptr;
  size_t size = 0;  // the rounded size actually held
  AllocStatus status = AllocStatus::kOk;
  bool retried = false;  // the cache was emptied and the raw allocation retried
};

struct AllocStats {
  size_t allocated = 0;  // bytes of live blocks (rounded sizes)
  size_t requested = 0;  // bytes asked for by live blocks (before rounding)
  size_t peak = 0;       // high-water mark of allocated
  size_t cached = 0;     // bytes of free blocks kept in the bins
  size_t limit = 0;      // the cap, valid when has_limit
  bool has_limit = false;
  uint64_t alloc_count = 0;  // successful Allocate calls
  uint64_t cache_hits = 0;   // ... served from a bin
  uint64_t raw_allocs = 0;   // raw allocations made (cache misses that succeeded)
  uint64_t raw_frees = 0;    // raw frees (evictions, trims)
  uint64_t oom_count = 0;    // failed Allocate calls
  uint64_t retries = 0;      // times the cache was emptied to retry a failed raw allocation
  size_t live_blocks = 0;
  size_t cached_blocks = 0;
};

// Raw must provide:
//   bool Alloc(size_t bytes, void** out, bool* oom);  // false on failure; *oom tells out-of-memory from other errors
//   void Free(void* p, size_t bytes);
//   void Release();                                     // after a full trim: let freed memory really go back
//   void SetCap(bool has, size_t cap);                  // the cap changed: bound what the raw layer pools
//   void TrimTo(size_t keep);                           // raw frees under a cap: pool at most `keep` bytes
template <class Raw>
class CachingAllocator {
 public:
  explicit CachingAllocator(Raw raw) : raw_(std::move(raw)) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  Raw& raw() { return raw_; }

  AllocResult Allocate(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    AllocResult r;
    const size_t size = RoundSize(bytes);
    r.size = size;

    auto bin = bins_.find(size);
    if (bin != bins_.end() && !bin->second.empty()) {
      r.ptr = bin->second.back();
      bin->second.pop_back();
      stats_.cached -= size;
      stats_.cached_blocks--;
      stats_.cache_hits++;
      Track(r.ptr, size, bytes);
      return r;
    }

    if (stats_.has_limit) {
      if (stats_.allocated + size > stats_.limit) {
        stats_.oom_count++;
        r.status = AllocStatus::kOverLimit;
        return r;
      }
      if (stats_.allocated + stats_.cached + size > stats_.limit) {
        TrimLocked(stats_.limit - stats_.allocated - size);
        raw_.TrimTo(stats_.allocated + stats_.cached + size);  // keep room for this request
      }
    }

    bool oom = false;
    if (!raw_.Alloc(size, &r.ptr, &oom)) {
      if (!oom) {
        stats_.oom_count++;
        r.status = AllocStatus::kError;
        return r;
      }
      // The device is full: give back everything cached and retry once.
      TrimLocked(0);
      raw_.Release();
      stats_.retries++;
      r.retried = true;
      oom = false;
      if (!raw_.Alloc(size, &r.ptr, &oom)) {
        stats_.oom_count++;
        r.status = oom ? AllocStatus::kOutOfMemory : AllocStatus::kError;
        r.ptr = nullptr;
        return r;
      }
    }
    stats_.raw_allocs++;
    Track(r.ptr, size, bytes);
    return r;
  }

  // Returns a live block to its bin. False when p is not a live block (double free, foreign pointer).
  bool Deallocate(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return false;
    const Live l = it->second;
    live_.erase(it);
    stats_.allocated -= l.size;
    stats_.requested -= l.requested;
    stats_.live_blocks--;
    if (stats_.has_limit && stats_.allocated + stats_.cached + l.size > stats_.limit) {
      raw_.Free(p, l.size);  // keeping it would pass the cap (after a lowered limit)
      stats_.raw_frees++;
      raw_.TrimTo(stats_.allocated + stats_.cached);
      return true;
    }
    bins_[l.size].push_back(p);
    stats_.cached += l.size;
    stats_.cached_blocks++;
    return true;
  }

  // Frees cached blocks (largest first) until cached <= target. Returns the bytes freed.
  size_t Trim(size_t target = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t freed = TrimLocked(target);
    if (freed > 0 && stats_.has_limit) raw_.TrimTo(stats_.allocated + stats_.cached);
    return freed;
  }

  // Empties the cache and lets the backend release it (what `emptyCache()` does).
  size_t EmptyCache() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t freed = TrimLocked(0);
    raw_.Release();
    return freed;
  }

  // Sets (has=true) or removes the cap; trims the cache to fit under a new cap.
  void SetLimit(bool has, size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.has_limit = has;
    stats_.limit = has ? limit : 0;
    raw_.SetCap(has, limit);
    if (has && stats_.allocated + stats_.cached > limit) {
      TrimLocked(limit > stats_.allocated ? limit - stats_.allocated : 0);
    }
    if (has) raw_.TrimTo(stats_.allocated + stats_.cached);
  }

  AllocStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void ResetPeak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak = stats_.allocated;
  }

  bool IsLive(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    return live_.count(p) != 0;
  }

 private:
  struct Live {
    size_t size;
    size_t requested;
  };

  void Track(void* p, size_t size, size_t requested) {
    live_[p] = Live{size, requested};
    stats_.allocated += size;
    stats_.requested += requested;
    stats_.live_blocks++;
    stats_.alloc_count++;
    if (stats_.allocated > stats_.peak) stats_.peak = stats_.allocated;
  }

  size_t TrimLocked(size_t target) {
    size_t freed = 0;
    for (auto it = bins_.rbegin(); it != bins_.rend() && stats_.cached > target; ++it) {
      auto& blocks = it->second;
      while (!blocks.empty() && stats_.cached > target) {
        raw_.Free(blocks.back(), it->first);
        blocks.pop_back();
        stats_.cached -= it->first;
        stats_.cached_blocks--;
        stats_.raw_frees++;
        freed += it->first;
      }
    }
    return freed;
  }

  Raw raw_;
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> bins_;  // size class -> free blocks (ordered: trim largest first)
  std::unordered_map<void*, Live> live_;
  AllocStats stats_;
};

// Plain host memory with a simulated capacity: the test mode behind the `HostAllocator` export.
// `fail_next` makes the next N raw allocations fail as out-of-memory (to test the retry path).
// With `pooled`, freed bytes stay held (`pool_held`, like CUDA's stream-ordered pool) until the
// release threshold (`SetCap`) or TrimTo lets them go; without a cap nothing is released.
struct MallocRaw {
  size_t capacity = SIZE_MAX;  // raw bytes that may be held at once
  size_t in_use = 0;
  int fail_next = 0;
  uint64_t releases = 0;
  bool pooled = false;
  size_t pool_held = 0;                 // freed but still held by the simulated pool
  size_t release_threshold = SIZE_MAX;  // the pool keeps at most this much freed memory
  uint64_t trims = 0;

  void SetCap(bool has, size_t cap) { release_threshold = has ? cap : SIZE_MAX; }
  void TrimTo(size_t keep) {
    trims++;
    const size_t held = in_use + pool_held;
    if (held > keep) pool_held -= std::min(pool_held, held - keep);
  }

  bool Alloc(size_t bytes, void** out, bool* oom) {
    if (fail_next > 0) {
      fail_next--;
      *oom = true;
      return false;
    }
    const size_t reuse = std::min(pool_held, bytes);  // the pool serves from what it holds first
    if (in_use + pool_held + (bytes - reuse) > capacity) {
      *oom = true;
      return false;
    }
    void* p = std::malloc(bytes);
    if (p == nullptr) {
      *oom = true;
      return false;
    }
    pool_held -= reuse;
    in_use += bytes;
    *out = p;
    return true;
  }
  void Free(void* p, size_t bytes) {
    std::free(p);
    in_use -= bytes;
    if (pooled) {
      pool_held += bytes;
      if (pool_held > release_threshold) pool_held = release_threshold;
    }
  }
  void Release() {
    releases++;
    pool_held = 0;
  }
};

}  // namespace wg
