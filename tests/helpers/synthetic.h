// Realistic-looking pictures made from MNIST digits, for the image tests and the README examples: digits
// enlarged, written into numbers (some touching), and "photographed" on tinted paper with a lighting
// gradient, vignetting, blur and noise. Depends only on the library (tools/make_examples.sh builds it too).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lenet/rng.h"

namespace lenet::test {

// Ink coverage 0..1, row-major.
struct InkCanvas {
  int width = 0, height = 0;
  std::vector<float> ink;
  float& at(int x, int y) { return ink[std::size_t(y) * width + x]; }
  float at(int x, int y) const { return ink[std::size_t(y) * width + x]; }
};

// An idx image (0 = background, 255 = ink) as coverage.
InkCanvas from_idx(const std::uint8_t* image, int rows, int cols);

// Bilinear enlargement by `factor`; with `pen` > 0 the result is re-thresholded into crisp strokes with a
// soft edge of about `pen` output pixels (a pen rather than a blurred MNIST digit).
InkCanvas enlarge(const InkCanvas& in, double factor, double pen = 0);

// `in` placed at (x, y) on a blank canvas of the given size (ink beyond the canvas is cut off).
InkCanvas place(const InkCanvas& in, int width, int height, int x, int y);

// A row of digits written left to right, like a number. `touching[i]` makes digit i+1 touch digit i
// (slid left until their strokes connect); other gaps are 3–8 px of the 28-px scale. Small vertical jitter.
// Margins of `margin` px on every side.
InkCanvas compose_number(const std::vector<const std::uint8_t*>& digits, int rows, int cols,
                         const std::vector<bool>& touching, Rng& rng, int margin = 6);

struct Rgb {
  float r = 0, g = 0, b = 0;
};

// How the picture is "photographed".
struct PhotoStyle {
  Rgb paper{235, 230, 215};
  Rgb ink{30, 40, 110};
  float gradient = 0.15f;    // brightness change across the picture, as a fraction
  float gradient_angle = 0;  // radians
  float vignette = 0.1f;     // darkening at the corners, as a fraction
  float noise = 4;           // Gaussian, grey levels per channel
  int blur = 0;              // box blur radius in pixels (defocus)
};

// A random style: dark ink on tinted paper or light ink on a dark board, random lighting and noise.
PhotoStyle random_style(Rng& rng, bool dark_on_light);

// RGB pixels, 3 bytes each.
std::vector<std::uint8_t> photograph(const InkCanvas& ink, const PhotoStyle& style, Rng& rng);

// RGB to grey (ITU-R 601 luma), for PGM files.
std::vector<std::uint8_t> to_grey(const std::vector<std::uint8_t>& rgb);

}  // namespace lenet::test
