// Resampling of float images by exact area coverage: reduces large pictures and scales a digit to the
// MNIST box.
#pragma once
#include <cstdint>

namespace lenet {

// Resampling by exact area coverage (a box filter): anti-aliased when reducing, blocky when enlarging.
void resample_area(float* out, int out_w, int out_h, const float* in, int in_w, int in_h);
// The same from 8-bit grey levels, without a float copy of the input (the same results as from one).
void resample_area(float* out, int out_w, int out_h, const std::uint8_t* in, int in_w, int in_h);

}  // namespace lenet
