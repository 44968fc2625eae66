// The ink of a picture, whatever its polarity, paper tint or lighting, and its connected components: which
// pieces are writing and which are specks or the edge of the paper.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lenet/decode.h"

namespace lenet {

// The ink of a picture: 0 = paper, 1 = full ink, whatever the polarity, paper tint or lighting of the
// original. Pictures larger than kMaxWorkingSide are first reduced by area averaging.
struct InkMap {
  int width = 0, height = 0;
  std::vector<float> ink;  // row-major
  float threshold = 0.5f;  // Otsu's threshold between paper and ink, in ink units
  double scale = 1;        // working pixels per source pixel (≤ 1)
  bool dark_ink = true;    // the source had dark ink on light paper
  std::string source;
};
inline constexpr int kMaxWorkingSide = 1024;

// Decides polarity (which tail of grey levels the ink is in), subtracts a robust fit of the paper's
// lighting (a quadratic surface, refitted without outliers), removes the paper's noise floor and scales
// the typical stroke to 1. Throws ImageError naming the source when there is no ink to be found.
InkMap extract_ink(const GreyImage& image);

struct Box {
  int x = 0, y = 0, w = 0, h = 0;
  int right() const { return x + w; }
  int bottom() const { return y + h; }
};
Box unite(const Box& a, const Box& b);  // the smallest box holding both (an empty box, w = 0, is neutral)

// 8-connected ink (above the threshold), each piece grown a few pixels into its faint anti-aliased edge.
struct Component {
  Box box;       // of its pixels above the threshold
  Box ink_box;   // including its grown edge
  int area = 0;  // pixels above the threshold
  bool touches_border = false;
};
struct Components {
  std::vector<std::int32_t> labels;  // per pixel: 0 = paper, k + 1 = list[k]
  std::vector<Component> list;
};
Components find_components(const InkMap& ink);

// A picture that would cost more than a reading's work budget (segment.h's ReadBudget): an ImageError whose
// message names the picture, the bound and what the picture needs. Issue 12: pictures of dots, stripes or
// noise within the size limits cost seconds.
struct LENET_API WorkBudgetExceeded : ImageError {
  using ImageError::ImageError;
};

// More pieces of ink that could be writing than a picture of a digit or of a number has, by far (a row
// of 40 digits of broken strokes has a few hundred): noise, dots or a texture. read_number refuses such a
// picture with WorkBudgetExceeded, preprocess_digit looks at the largest pieces only, before the steps
// whose cost grows with the number of pieces.
inline constexpr int kMaxInkPieces = 600;

// The pieces that are writing, not specks of noise or the edge of the paper or table in a photo:
// indices into c.list, from left to right.
std::vector<int> significant_components(const Components& c, const InkMap& ink);

}  // namespace lenet
