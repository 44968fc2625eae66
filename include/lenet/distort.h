// Random distortions of training images: the planar affine ones of Section III-C of the paper (horizontal
// and vertical translation, scaling, squeezing, horizontal shear) and, optionally on top, the elastic
// displacement fields of Simard, Steinkraus & Platt (2003), resampled bilinearly in one pass.
#pragma once
#include <cstdint>
#include <vector>

#include "lenet/dataset.h"
#include "lenet/rng.h"

namespace lenet {

// Simard et al. 2003, Section 2: σ = 4 pixels, α = 34 on MNIST.
inline constexpr float kElasticSigma = 4.0f;
inline constexpr float kElasticAlpha = 34.0f;

// Each affine parameter is drawn uniformly from ±its range. The paper does not give its ranges; these are
// ours. elastic_alpha = 0 turns the elastic field off.
struct DistortRanges {
  float translate = 2.0f;               // pixels, horizontally and vertically (independently)
  float scale = 0.10f;                  // overall size factor 1 ± scale
  float squeeze = 0.10f;                // x·(1 + q), y / (1 + q)
  float shear = 0.20f;                  // x += shear · (y − centre)
  float elastic_alpha = 0.0f;           // pixels per unit of the smoothed field (Simard: 34)
  float elastic_sigma = kElasticSigma;  // the smoothing Gaussian's standard deviation, pixels
  float photo = 0.0f;                   // share of the images also degraded as degrade_like_photo does
};

// Writes into out (rows×cols) a distortion of in (rows×cols, uint8, 0 = background) drawn from rng.
void random_affine(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const DistortRanges& ranges,
                   Rng& rng);

// Simard's elastic field: dx, dy (rows×cols each) = α · (G_σ ∗ u), u uniform in [−1, 1] per pixel, G_σ the
// normalised Gaussian truncated at ±⌈3σ⌉. The noise is drawn on a grid padded by that radius, so the field
// is the same smoothed noise everywhere (no edge effects). `scratch` is resized as needed and reused.
void elastic_field(float* dx, float* dy, int rows, int cols, float alpha, float sigma, Rng& rng,
                   std::vector<float>& scratch);

// out(x, y) = in(x + dx(x, y), y + dy(x, y)), read bilinearly; outside the image is background (0).
void warp_bilinear(std::uint8_t* out, const std::uint8_t* in, int rows, int cols, const float* dx,
                   const float* dy);

// Buffers reused by random_distortion across calls (sized on first use), and the smoothing kernel, computed
// again only when α or σ changes.
struct DistortScratch {
  std::vector<float> dx, dy, smoothing, kernel, photo;
  float kernel_alpha = 0, kernel_sigma = 0;
};

// A random affine distortion (as random_affine) and, when ranges.elastic_alpha > 0, an elastic field added
// to its displacements, resampled once. With elastic_alpha = 0 it is random_affine, draw for draw.
void random_distortion(std::uint8_t* out, const std::uint8_t* in, int rows, int cols,
                       const DistortRanges& ranges, Rng& rng, DistortScratch& scratch);

// What lenet's picture pipeline (normalise.h) makes of real pictures, done to a 28×28 training image (0 =
// background) in place, one kind drawn at random: strokes one pixel thicker (a marker) or thinner (a
// ballpoint; skipped when too little ink would be left), a Gaussian blur of σ 0.6-1.2 px (focus, JPEG), the
// digit drawn at 6-11 px and scaled back up (a tiny scan), or a band 1-2 px high erased across the ink
// where the picture's ruled lines were removed. Blurred and low-resolution images are stretched back to
// full ink, as the pipeline scales the typical stroke to full ink. `work` is resized as needed.
void degrade_like_photo(std::uint8_t* image, int rows, int cols, Rng& rng, std::vector<float>& work);

// A copy of `in` with every image moved by (shift_x, shift_y) pixels, rotated by `degrees` (counter-clockwise
// on screen) and scaled by `scale` about its centre, read bilinearly (what leaves the frame is lost).
Dataset transform_dataset(const Dataset& in, float shift_x, float shift_y, float degrees, float scale);

// Rewrites every image of `out` (which must have the shape of `in`) as a fresh random_distortion of the
// same image of `in`, except a fraction `keep_original` of them (chosen at random), copied unchanged; then a
// share ranges.photo of all of them is degraded by degrade_like_photo.
// Affine only: one stream, `rng`, in image order. With the elastic field: on `threads` threads, image i
// drawing from its own stream seeded by one draw of `rng` and i, so the result does not depend on `threads`.
void distort_dataset(Dataset& out, const Dataset& in, const DistortRanges& ranges, float keep_original,
                     Rng& rng, int threads = 1);

}  // namespace lenet
