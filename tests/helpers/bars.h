// A small synthetic training set the tests can learn quickly and that needs no files: each class is a
// bar at its own position and angle (shifted by a pixel at random), plus noise.
#pragma once
#include <cstdint>

#include "lenet/idx.h"

namespace lenet::test {

Dataset bar_digits(int count, std::uint64_t seed);

}  // namespace lenet::test
