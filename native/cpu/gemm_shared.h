// A GEMM's B operand shared by many products out = op(a_i)·op(B) of one shape (an RNN's W_hh over
// its T steps, a convolution's weights over the images of a batch), packed once into the panels
// each product would otherwise pack again (IsaKernels sgemmPackB / sgemmPrepacked). Mul(a, out)
// equals Kernels().sgemm on {a, b, out, batch 1, m, n, k, ta, tb} bit for bit; shapes the GEMM would
// not pack (small products) run it unpacked. Included by baseline translation units only (rnn.cc,
// conv2d.cc), never by the ISA ones.
#pragma once

#include <stdlib.h>

#include <memory>
#include <type_traits>

#include "cpu_kernels.h"

namespace wgcpu {

template <class T>
class SharedB {
 public:
  bool Init(const T* b, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    k_ = &Kernels();
    b_ = b, m_ = m, n_ = n, kk_ = k, ta_ = ta, tb_ = tb;
    int64_t elems =
        std::is_same<T, float>::value ? k_->sgemmPackedSize(m, n, k, ta, tb) : k_->dgemmPackedSize(m, n, k, ta, tb);
    if (elems <= 0) return true;
    size_t bytes = (size_t(elems) * sizeof(T) + 63) & ~size_t(63);
    packed_.reset(static_cast<T*>(aligned_alloc(64, bytes)));
    if (!packed_) return false;
    if constexpr (std::is_same<T, float>::value) k_->sgemmPackB(b, n, k, tb, packed_.get());
    else k_->dgemmPackB(b, n, k, tb, packed_.get());
    return true;
  }
  bool Mul(const T* a, T* out) const {
    GemmArgs<T> g{a, b_, out, 1, m_, n_, kk_, m_ * kk_, kk_ * n_, ta_, tb_};
    if constexpr (std::is_same<T, float>::value) return packed_ ? k_->sgemmPrepacked(g, packed_.get()) : k_->sgemm(g);
    else return packed_ ? k_->dgemmPrepacked(g, packed_.get()) : k_->dgemm(g);
  }

 private:
  struct FreeDel {
    void operator()(T* p) const { free(p); }
  };
  const IsaKernels* k_ = nullptr;  // the layout is this table's: pack and multiply with the same one
  const T* b_ = nullptr;
  int64_t m_ = 0, n_ = 0, kk_ = 0;
  bool ta_ = false, tb_ = false;
  std::unique_ptr<T, FreeDel> packed_;
};

}  // namespace wgcpu
