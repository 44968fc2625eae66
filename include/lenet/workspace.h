// Scratch memory of the kernels' fast paths (packed weights, padded planes, partial sums). Each kernel that
// needs some says how much beside its declaration (conv2d_forward_scratch, ...); whoever owns the
// activations owns one Workspace sized for the largest call and passes it down as a Scratch.
#pragma once
#include <array>
#include <cassert>
#include <cstddef>

#include "lenet/aligned.h"

namespace lenet {

// A view of scratch that a kernel carves front to back, each piece starting on a cache line. Passed by
// value: a kernel's pieces are its own, and two steps that run one after the other, each given a copy of
// the same view, share the same floats.
class Scratch {
 public:
  static constexpr std::size_t kAlign = 16;  // floats: one cache line, one AVX-512 vector
  // Floats that a piece of `count` floats takes, with the padding to the next cache line.
  static constexpr std::size_t rounded(std::size_t count) { return (count + kAlign - 1) / kAlign * kAlign; }
  // Floats that a kernel's pieces take, in the order it takes them (what its *_scratch function lists).
  template <std::size_t N>
  static constexpr std::size_t floats(const std::array<std::size_t, N>& pieces) {
    std::size_t sum = 0;
    for (std::size_t p : pieces) sum += rounded(p);
    return sum;
  }

  Scratch(float* data, std::size_t floats) : data_(data), left_(floats) {}
  // The next `count` floats; the kernel's size function promised that they fit.
  float* take(std::size_t count) {
    assert(rounded(count) <= left_ && "scratch smaller than the kernel's *_scratch() said");
    float* piece = data_;
    data_ += rounded(count);
    left_ -= rounded(count);
    return piece;
  }
  std::size_t left() const { return left_; }

 private:
  float* data_;
  std::size_t left_;
};

// Owns the floats behind a Scratch. Sized once, before the loop that uses it (so a kernel never allocates).
class Workspace {
 public:
  Workspace() = default;
  explicit Workspace(std::size_t floats) : floats_(floats) {}
  // At least `floats`; call while no kernel runs on it.
  void reserve(std::size_t floats) {
    if (floats_.size() < floats) floats_.resize(floats);
  }
  std::size_t size() const { return floats_.size(); }
  Scratch scratch() { return Scratch(floats_.data(), floats_.size()); }

 private:
  AlignedFloats floats_;
};

}  // namespace lenet
