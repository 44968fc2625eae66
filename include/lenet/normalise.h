// The MNIST normalisation of a digit's ink (20 px box, 28x28, centre of mass), and the whole way from a
// picture of one digit to the 28x28 image the network reads.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lenet/decode.h"
#include "lenet/export.h"
#include "lenet/ink.h"

namespace lenet {

// The MNIST procedure (LeCun et al.; see docs): the ink in `box` of the ink map, only from the
// components listed (others in the box are masked out) and only columns [col_begin, col_end), scaled so
// that its longer side is 20 px with anti-aliasing (area averaging), aspect ratio kept, placed in 28×28
// with its centre of mass at the centre. 0 = background, 255 = ink, as in the idx files.
inline constexpr int kMnistSide = 28;
inline constexpr int kMnistBox = 20;
using MnistImage = std::array<std::uint8_t, kMnistSide * kMnistSide>;
// `crop`, if given, receives the box (in ink-map pixels) of the ink that was used; w = 0 if there was none.
MnistImage normalise_ink(const InkMap& ink, const Components& c, const std::vector<int>& members,
                         int col_begin, int col_end, Box* crop = nullptr);

// A w×h ink image (0..1) → the MNIST normalisation above. Strokes much thinner than MNIST's (a fine pen
// in a large picture) are first thickened so that they survive the reduction to 20 px.
MnistImage normalise_digit(const float* ink, int width, int height);

// The whole way from a picture of one digit to the 28×28 image the network reads. `not_a_digit`, if
// given, receives why the ink cannot be a digit, whatever the network makes of it ("" when it can be):
// many separate pieces (noise, a pattern), or a shape far wider than tall (a line).
// Throws ImageError naming the picture when it holds no ink. Of more than kMaxInkPieces pieces only the
// largest are looked at (the work budget; such ink is reported as not a digit).
LENET_API MnistImage preprocess_digit(const GreyImage& image, std::string* not_a_digit = nullptr);

}  // namespace lenet
