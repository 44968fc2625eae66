// Resampling of float images by exact area coverage: reduces large pictures and scales a digit to the
// MNIST box.
#pragma once

namespace lenet {

// Resampling by exact area coverage (a box filter): anti-aliased when reducing, blocky when enlarging.
void resample_area(float* out, int out_w, int out_h, const float* in, int in_w, int in_h);

}  // namespace lenet
