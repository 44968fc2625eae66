// A labelled set of 8-bit images in memory, as every reader (idx files, pictures) produces it and every
// consumer (training, evaluation, distortion) takes it. No file format lives here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lenet {

// Images stay uint8 (0 = background, 255 = ink), row-major, count*rows*cols.
struct Dataset {
  std::vector<std::uint8_t> images;
  std::vector<std::uint8_t> labels;  // 0..9, or kOutlierLabel (loss.h) for a training image of no digit
  int count = 0, rows = 0, cols = 0;
  const std::uint8_t* image(int i) const { return images.data() + std::size_t(i) * rows * cols; }
  // Keeps only the first n images and labels (all of them when n <= 0 or n >= count).
  void take_first(int n) {
    if (n <= 0 || n >= count) return;
    count = n;
    images.resize(std::size_t(n) * std::size_t(rows) * std::size_t(cols));
    labels.resize(std::size_t(n));
  }
};

// Outlier exposure's training set: `outliers`' images appended to `set`, each labelled `label`
// (kOutlierLabel). Throws std::invalid_argument when their image size differs from the set's.
inline void append_outliers(Dataset& set, const Dataset& outliers, std::uint8_t label) {
  if (outliers.rows != set.rows || outliers.cols != set.cols)
    throw std::invalid_argument("the outlier images are " + std::to_string(outliers.rows) + "x" +
                                std::to_string(outliers.cols) + ", the training images " +
                                std::to_string(set.rows) + "x" + std::to_string(set.cols));
  set.images.insert(set.images.end(), outliers.images.begin(), outliers.images.end());
  set.labels.resize(set.labels.size() + std::size_t(outliers.count), label);
  set.count += outliers.count;
}

}  // namespace lenet
