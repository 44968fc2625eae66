// Random planar affine distortions of training images, as in Section III-C of the paper: horizontal and
// vertical translation, scaling, squeezing (x compressed while y stretched, or the reverse) and
// horizontal shear, resampled bilinearly about the image centre.
#pragma once
#include <cstdint>

#include "lenet/dataset.h"
#include "lenet/rng.h"

namespace lenet {

// Each parameter is drawn uniformly from ±its range. The paper does not give its ranges; these are ours.
struct DistortRanges {
  float translate = 2.0f;  // pixels, horizontally and vertically (independently)
  float scale = 0.10f;     // overall size factor 1 ± scale
  float squeeze = 0.10f;   // x·(1 + q), y / (1 + q)
  float shear = 0.20f;     // x += shear · (y − centre)
};

// Writes into out (rows×cols) a distortion of in (rows×cols, uint8, 0 = background) drawn from rng.
void random_affine(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const DistortRanges& ranges,
                   Rng& rng);

// Rewrites every image of `out` (which must have the shape of `in`) as a fresh distortion of the same
// image of `in`, except a fraction `keep_original` of them (chosen by rng), copied unchanged.
void distort_dataset(Dataset& out, const Dataset& in, const DistortRanges& ranges, float keep_original,
                     Rng& rng);

}  // namespace lenet
