#include "helpers/bars.h"

#include "lenet/rng.h"

namespace lenet::test {

Dataset bar_digits(int count, std::uint64_t seed) {
  Dataset d;
  d.count = count;
  d.rows = d.cols = 28;
  d.images.assign(std::size_t(count) * 28 * 28, 0);
  d.labels.resize(std::size_t(count));
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int label = int(rng.below(10));
    d.labels[std::size_t(i)] = std::uint8_t(label);
    std::uint8_t* img = d.images.data() + std::size_t(i) * 784;
    const int shift = int(rng.below(3)) - 1;
    for (int t = 0; t < 16; ++t) {
      const int y = 6 + t, x = 4 + 2 * label + ((label % 3) - 1) * (t - 8) / 4 + shift;
      if (x >= 0 && x < 28) img[y * 28 + x] = 255;
      if (x + 1 >= 0 && x + 1 < 28) img[y * 28 + x + 1] = 200;
    }
    for (int p = 0; p < 784; ++p)
      if (rng.below(20) == 0) img[p] = std::uint8_t(rng.below(128));
  }
  return d;
}

}  // namespace lenet::test
