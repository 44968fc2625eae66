// How well models read realistic input, beyond the MNIST test set: photos of MNIST test digits rotated,
// slanted and squeezed (as people write and photograph), and numbers of 3–8 digits written apart or
// touching. Built and run by tools/probe_models.sh; deterministic for a given N.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "helpers/synthetic.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/segment.h"

using namespace lenet;

namespace {

// `in` turned by `angle`, slanted (x += shear·y) and squeezed (x·(1+q), y/(1+q)) about its centre, on a
// canvas 1.5 times as large; bilinear.
test::InkCanvas warp(const test::InkCanvas& in, double angle, double shear, double squeeze) {
  const int w = in.width * 3 / 2, h = in.height * 3 / 2;
  test::InkCanvas out{w, h, std::vector<float>(std::size_t(w) * h, 0.0f)};
  const double c = std::cos(angle), s = std::sin(angle), q = 1 + squeeze;
  // Forward map A = rotation · shear · squeeze, inverted for resampling.
  const double a11 = c * q, a12 = c * shear - s / q, a21 = s * q, a22 = s * shear + c / q;
  const double det = a11 * a22 - a12 * a21;
  const double i11 = a22 / det, i12 = -a12 / det, i21 = -a21 / det, i22 = a11 / det;
  auto at = [&](int x, int y) {
    return x < 0 || y < 0 || x >= in.width || y >= in.height ? 0.0f : in.at(x, y);
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = x - w / 2.0, dy = y - h / 2.0;
      const double sx = i11 * dx + i12 * dy + in.width / 2.0, sy = i21 * dx + i22 * dy + in.height / 2.0;
      const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
      const double fx = sx - x0, fy = sy - y0;
      out.at(x, y) = float((1 - fx) * (1 - fy) * at(x0, y0) + fx * (1 - fy) * at(x0 + 1, y0) +
                           (1 - fx) * fy * at(x0, y0 + 1) + fx * fy * at(x0 + 1, y0 + 1));
    }
  return out;
}

struct Level {
  const char* name;
  double degrees, shear, squeeze;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: probe_models MNIST_DIR N MODEL...\n");
    return 2;
  }
  const Dataset d = load_split(argv[1], Split::Test);
  const int n = std::atoi(argv[2]);
  for (int m = 3; m < argc; ++m) {
    const LoadedModel loaded = load_lenet5(argv[m]);
    DigitClassifier classifier(loaded.model, 32);
    std::printf("%s\n", argv[m]);
    // Digits: the same n test digits at each level of distortion (same seed for every model).
    const Level levels[] = {{"photos", 0, 0, 0},
                            {"photos, turned +-15 deg, slant +-0.3, squeeze +-15%", 15, 0.3, 0.15},
                            {"photos, turned +-25 deg, slant +-0.5, squeeze +-25%", 25, 0.5, 0.25}};
    for (const Level& level : levels) {
      Rng rng(77);
      int right = 0, idx_right = 0;
      for (int k = 0; k < n; ++k) {
        const int i = int(rng.below(std::uint32_t(d.count)));
        MnistImage raw;
        std::copy(d.image(i), d.image(i) + 784, raw.begin());
        const test::InkCanvas big =
            test::enlarge(test::from_idx(raw.data(), 28, 28), rng.uniform(4, 8), rng.below(2) ? 0.0 : 2.5);
        const double rad = level.degrees * 3.14159265358979 / 180;
        const test::InkCanvas w = warp(big, rng.uniform(float(-rad), float(rad)),
                                       rng.uniform(float(-level.shear), float(level.shear)),
                                       rng.uniform(float(-level.squeeze), float(level.squeeze)));
        const std::vector<std::uint8_t> rgb =
            test::photograph(w, test::random_style(rng, rng.below(4) != 0), rng);
        const GreyImage g{w.width, w.height, test::to_grey(rgb), "probe"};
        right += classifier.classify(preprocess_digit(g)).digit == d.labels[std::size_t(i)];
        idx_right += classifier.classify(raw).digit == d.labels[std::size_t(i)];
      }
      std::printf("  %-48s %6.2f%%   (the same %d digits from the idx file: %.2f%%)\n", level.name,
                  100.0 * right / n, n, 100.0 * idx_right / n);
    }
    // Numbers: n of 3–8 digits, apart, then with each neighbouring pair touching with probability 0.3.
    for (const double p_touch : {0.0, 0.3}) {
      Rng rng(11);
      int exact = 0;
      for (int k = 0; k < n; ++k) {
        const int length = 3 + int(rng.below(6));
        std::vector<const std::uint8_t*> digits;
        std::string truth;
        for (int j = 0; j < length; ++j) {
          const int i = int(rng.below(std::uint32_t(d.count)));
          digits.push_back(d.image(i));
          truth += char('0' + d.labels[std::size_t(i)]);
        }
        std::vector<bool> touching;
        for (int j = 0; j + 1 < length; ++j) touching.push_back(rng.uniform() < p_touch);
        const test::InkCanvas number = test::compose_number(digits, 28, 28, touching, rng);
        const test::InkCanvas big = test::enlarge(number, rng.uniform(2, 4), rng.below(2) ? 0.0 : 2.0);
        const std::vector<std::uint8_t> rgb =
            test::photograph(big, test::random_style(rng, rng.below(4) != 0), rng);
        exact +=
            read_number(classifier, GreyImage{big.width, big.height, test::to_grey(rgb), "probe"}).text ==
            truth;
      }
      std::printf("  %-48s %6.2f%%   exact strings\n",
                  p_touch > 0 ? "numbers, 30% of neighbours touching" : "numbers, digits apart",
                  100.0 * exact / n);
    }
  }
  return 0;
}
