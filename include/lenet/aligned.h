// Buffers the kernels stream through start on a cache line (64 bytes, one AVX-512 vector): a vector load
// from a row that starts at a multiple of 16 floats then never straddles two lines, which costs about
// twice a plain load (and the vectorised convolutions depend on it; see conv2d.cpp).
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace lenet {

template <class T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::size_t kBytes = 64;
  CacheAligned() = default;
  template <class U>
  constexpr CacheAligned(const CacheAligned<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kBytes}));
  }
  void deallocate(T* p, std::size_t) noexcept {
    // the unsized form: clang enables sized deallocation only on request
    ::operator delete (p, std::align_val_t{kBytes});
  }
  template <class U>
  bool operator==(const CacheAligned<U>&) const noexcept {
    return true;
  }
};

using AlignedFloats = std::vector<float, CacheAligned<float>>;

}  // namespace lenet
