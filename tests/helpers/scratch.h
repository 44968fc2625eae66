// Scratch for one kernel call in a test, sized exactly as the kernel's *_scratch function says, with a
// guard of sentinels after it: a kernel that writes past what it declared changes the guard (and under
// ASan, a read past the declared floats of a plain Workspace is caught as well).
#pragma once
#include <algorithm>
#include <cstddef>

#include "lenet/aligned.h"
#include "lenet/workspace.h"

namespace lenet::test {

class GuardedScratch {
 public:
  static constexpr std::size_t kGuard = 64;
  static constexpr float kSentinel = -123456.0f;

  explicit GuardedScratch(std::size_t floats) : floats_(floats), buf_(floats + kGuard, kSentinel) {}
  Scratch scratch() { return Scratch(buf_.data(), floats_); }
  bool guard_intact() const {
    return std::all_of(buf_.begin() + std::ptrdiff_t(floats_), buf_.end(),
                       [](float v) { return v == kSentinel; });
  }

 private:
  std::size_t floats_;
  AlignedFloats buf_;
};

}  // namespace lenet::test
