// A GEMM operand shared by many products of one shape (out = op(a_i)·op(B) or op(A)·op(b_i)) (an RNN's W_hh over
// its T steps, a convolution's weights over the images of a batch), packed once into the panels
// each product would otherwise pack again (IsaKernels sgemmPackB / sgemmPrepacked, sgemmPackA / sgemmPrepackedA).
// Mul(a, out) equals Kernels().sgemm on {a, b, out, batch 1, m, n, k, ta, tb} bit for bit; shapes the GEMM would not
// pack (small products) run it unpacked. Included by baseline translation units only (rnn.cc, conv2d.cc), never by the
// ISA ones.
#pragma once

#include <stdlib.h>

#include <memory>
#include <type_traits>

#include "cpu_kernels.h"

namespace wgcpu {

// kA: the shared operand is op(A) (a_i below is then B's data), else op(B).
template <class T, bool kA>
class SharedOperand {
 public:
  static constexpr bool kF = std::is_same<T, float>::value;
  bool Init(const T* shared, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    k_ = &Kernels();
    s_ = shared, m_ = m, n_ = n, kk_ = k, ta_ = ta, tb_ = tb;
    int64_t elems = kA ? (kF ? k_->sgemmPackedASize(m, n, k, ta, tb) : k_->dgemmPackedASize(m, n, k, ta, tb))
                       : (kF ? k_->sgemmPackedSize(m, n, k, ta, tb) : k_->dgemmPackedSize(m, n, k, ta, tb));
    if (elems <= 0) return true;
    size_t bytes = (size_t(elems) * sizeof(T) + 63) & ~size_t(63);
    packed_.reset(static_cast<T*>(aligned_alloc(64, bytes)));
    if (!packed_) return false;
    if constexpr (kF) {
      if (kA) k_->sgemmPackA(shared, m, k, ta, packed_.get());
      else k_->sgemmPackB(shared, n, k, tb, packed_.get());
    } else {
      if (kA) k_->dgemmPackA(shared, m, k, ta, packed_.get());
      else k_->dgemmPackB(shared, n, k, tb, packed_.get());
    }
    return true;
  }
  // out = op(A)·op(B) with the shared operand and `other` (B's data when kA, else A's)
  bool Mul(const T* other, T* out) const {
    const T* a = kA ? s_ : other;
    const T* b = kA ? other : s_;
    GemmArgs<T> g{a, b, out, 1, m_, n_, kk_, m_ * kk_, kk_ * n_, ta_, tb_};
    if constexpr (kF) {
      if (!packed_) return k_->sgemm(g);
      return kA ? k_->sgemmPrepackedA(g, packed_.get()) : k_->sgemmPrepacked(g, packed_.get());
    } else {
      if (!packed_) return k_->dgemm(g);
      return kA ? k_->dgemmPrepackedA(g, packed_.get()) : k_->dgemmPrepacked(g, packed_.get());
    }
  }

 private:
  struct FreeDel {
    void operator()(T* p) const { free(p); }
  };
  const IsaKernels* k_ = nullptr;  // the layout is this table's: pack and multiply with the same one
  const T* s_ = nullptr;
  int64_t m_ = 0, n_ = 0, kk_ = 0;
  bool ta_ = false, tb_ = false;
  std::unique_ptr<T, FreeDel> packed_;
};

template <class T>
using SharedB = SharedOperand<T, false>;
template <class T>
using SharedA = SharedOperand<T, true>;

}  // namespace wgcpu
