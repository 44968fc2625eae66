// Preprocessing (decoding is tested in test_decode.cpp): ink extraction under either polarity, tint and
// lighting; the MNIST normalisation; and `predict`'s accuracy on photos made from MNIST test digits against
// the same digits read straight from the idx file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "helpers/paths.h"
#include "helpers/synthetic.h"
#include "lenet/classify.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/ink.h"
#include "lenet/lenet5_io.h"

namespace lenet {
namespace {

bool under_sanitizer() { return std::getenv("LENET_SANITIZER") != nullptr; }

// A simple test digit: a ring (a zero), dark ink on white, w×h, stroke t px.
GreyImage ring(int w, int h, double t) {
  GreyImage g{w, h, std::vector<std::uint8_t>(std::size_t(w) * h, 255), "ring"};
  const double cx = w / 2.0, cy = h / 2.0, rx = w * 0.3, ry = h * 0.38;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double d = std::hypot((x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry);
      if (std::abs(d - 1) * std::min(rx, ry) < t / 2) g.pixels[std::size_t(y) * w + x] = 20;
    }
  return g;
}

TEST(Ink, ABlankPictureHoldsNoInk) {
  GreyImage blank{50, 50, std::vector<std::uint8_t>(2500, 230), "blank.png"};
  EXPECT_THROW(preprocess_digit(blank), ImageError);
}

TEST(Ink, BlankPapersAndLightingAloneHoldNoInk) {
  Rng rng(5);
  test::InkCanvas nothing{120, 90, std::vector<float>(120 * 90, 0.0f)};
  for (bool dark : {true, false}) {
    test::PhotoStyle s = test::random_style(rng, dark);
    s.gradient = 0.3f, s.vignette = 0.2f, s.noise = 6;
    const auto rgb = test::photograph(nothing, s, rng);
    GreyImage g{120, 90, test::to_grey(rgb), "lighting only"};
    EXPECT_THROW(extract_ink(g), ImageError);
  }
}

TEST(Ink, PolarityTintAndLightingDoNotChangeWhatTheNetworkSees) {
  // One digit (a ring), photographed four ways: each must normalise to nearly the same 28×28 image.
  test::InkCanvas ink{100, 120, std::vector<float>(100 * 120, 0.0f)};
  const GreyImage r = ring(100, 120, 9);
  for (std::size_t i = 0; i < ink.ink.size(); ++i) ink.ink[i] = r.pixels[i] < 128 ? 1.0f : 0.0f;
  Rng rng(9);
  std::vector<MnistImage> seen;
  for (int k = 0; k < 4; ++k) {
    test::PhotoStyle s = test::random_style(rng, k % 2 == 0);
    s.gradient = 0.3f, s.vignette = 0.15f, s.noise = 5, s.blur = 1;
    const GreyImage g{ink.width, ink.height, test::to_grey(test::photograph(ink, s, rng)), "ring"};
    const InkMap m = extract_ink(g);
    EXPECT_EQ(m.dark_ink, k % 2 == 0);
    seen.push_back(preprocess_digit(g));
  }
  // Compared up to a shift of one pixel: the centre of mass of a symmetric ring is rounded either way.
  for (int k = 1; k < 4; ++k) {
    double best = 1e9;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        double diff = 0;
        for (int y = 0; y < kMnistSide; ++y)
          for (int x = 0; x < kMnistSide; ++x) {
            const int sx = x + dx, sy = y + dy;
            const int other = sx < 0 || sy < 0 || sx >= kMnistSide || sy >= kMnistSide
                                  ? 0
                                  : seen[std::size_t(k)][std::size_t(sy) * kMnistSide + sx];
            diff += std::abs(seen[0][std::size_t(y) * kMnistSide + x] - other);
          }
        best = std::min(best, diff / (kMnistSide * kMnistSide));
      }
    std::printf("style %d: mean difference from style 0: %.1f grey levels\n", k, best);
    EXPECT_LT(best, 8.0) << "style " << k;
  }
}

TEST(Normalise, FitsTwentyPixelsKeepsAspectAndCentresTheMass) {
  // A wide bar 200×50: longer side to 20 px, height 5 px, centre of mass at the centre of 28×28.
  std::vector<float> bar(200 * 50, 1.0f);
  const MnistImage m = normalise_digit(bar.data(), 200, 50);
  int x0 = 28, x1 = -1, y0 = 28, y1 = -1;
  double mass = 0, mx = 0, my = 0;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const int v = m[std::size_t(y) * 28 + x];
      if (!v) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      mass += v, mx += v * x, my += v * y;
    }
  EXPECT_EQ(x1 - x0 + 1, 20);
  EXPECT_EQ(y1 - y0 + 1, 5);
  EXPECT_NEAR(mx / mass, 14, 0.5);
  EXPECT_NEAR(my / mass, 14, 0.5);
  EXPECT_EQ(*std::max_element(m.begin(), m.end()), 255);
}

TEST(Normalise, AreaResamplingKeepsTheMeanAndTheIdentity) {
  Rng rng(1);
  std::vector<float> in(37 * 23);
  for (float& v : in) v = rng.uniform();
  double mean_in = 0;
  for (float v : in) mean_in += v;
  mean_in /= double(in.size());
  std::vector<float> out(9 * 6);
  resample_area(out.data(), 9, 6, in.data(), 37, 23);
  double mean_out = 0;
  for (float v : out) mean_out += v;
  EXPECT_NEAR(mean_out / double(out.size()), mean_in, 1e-5);
  std::vector<float> same(in.size());
  resample_area(same.data(), 37, 23, in.data(), 37, 23);
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_NEAR(same[i], in[i], 1e-6);
}

TEST(Normalise, MnistsOwnCentreOfMassConventionIsPixelFourteen) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  // normalise_digit puts the centre of mass at pixel index 14; MNIST's test digits agree on average.
  const Dataset d = load_split(test::mnist_dir(), Split::Test);
  double sx = 0, sy = 0;
  for (int i = 0; i < d.count; ++i) {
    double m = 0, mx = 0, my = 0;
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const int v = d.image(i)[y * 28 + x];
        m += v, mx += v * x, my += v * y;
      }
    sx += mx / m, sy += my / m;
  }
  std::printf("MNIST test mean centre of mass: x %.3f, y %.3f\n", sx / d.count, sy / d.count);
  EXPECT_NEAR(sx / d.count, 14.0, 0.1);
  EXPECT_NEAR(sy / d.count, 14.0, 0.1);
}

// The acceptance test of `predict`: the same MNIST test digits, read straight from the idx file and read
// from "photos" — enlarged 2–10×, off-centre on larger canvases, three in four dark ink on tinted paper
// (else light on dark), lighting gradient, vignetting, noise, some blur — saved as PNG, JPEG and PGM.
TEST(Predict, PhotosOfMnistDigitsAreReadWithinOnePointOfTheIdxDigits) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model, 1);
  const int n = under_sanitizer() ? 45 : 300;
  Rng rng(2026);
  int direct = 0, photo = 0, per_format[3] = {0, 0, 0}, count_format[3] = {0, 0, 0};
  const char* formats[3] = {".png", ".jpg", ".pgm"};
  for (int k = 0; k < n; ++k) {
    const int i = int(rng.below(std::uint32_t(test_set.count)));
    const int label = test_set.labels[std::size_t(i)];
    MnistImage raw;
    std::copy(test_set.image(i), test_set.image(i) + 784, raw.begin());
    direct += classifier.classify(raw).digit == label;

    const double factor = rng.uniform(2.0f, 10.0f);
    const test::InkCanvas big = test::enlarge(test::from_idx(raw.data(), 28, 28), factor);
    const int cw = big.width + 10 + int(rng.below(std::uint32_t(big.width / 2 + 1))),
              ch = big.height + 10 + int(rng.below(std::uint32_t(big.height / 2 + 1)));
    const test::InkCanvas page = test::place(big, cw, ch, int(rng.below(std::uint32_t(cw - big.width))),
                                             int(rng.below(std::uint32_t(ch - big.height))));
    const test::PhotoStyle style = test::random_style(rng, rng.below(4) != 0);
    const std::vector<std::uint8_t> rgb = test::photograph(page, style, rng);
    const int f = k % 3;
    const std::string path = test::temp_path(std::string("photo") + formats[f]);
    if (f == 2)
      save_image(path, test::to_grey(rgb).data(), cw, ch, 1);
    else
      save_image(path, rgb.data(), cw, ch, 3, 85);
    const bool right = classifier.classify(preprocess_digit(load_grey_image(path))).digit == label;
    photo += right;
    per_format[f] += right;
    ++count_format[f];
  }
  const double a_direct = double(direct) / n, a_photo = double(photo) / n;
  std::printf(
      "predict on %d MNIST test digits: idx %.2f%%, photos %.2f%% (PNG %d/%d, JPEG %d/%d, PGM %d/%d)\n", n,
      100 * a_direct, 100 * a_photo, per_format[0], count_format[0], per_format[1], count_format[1],
      per_format[2], count_format[2]);
  EXPECT_GE(a_photo, a_direct - 0.01);
}

// A light digit with holes photographed on a dark board, 200 px a side or more: with its holes filled it is
// a bright region that the sheet finder can take for a sheet of paper on a darker table, whose writing is
// dark. It is not shaped like a sheet (it fills far less of its bounding rectangle), so its ink stays
// light. Without that test, 6 of these 24 photos were read as dark writing.
TEST(Predict, ALightDigitWithHolesOnADarkBoardIsNotTakenForASheet) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  Rng rng(8);
  int checked = 0;
  for (int i = 0; i < test_set.count && checked < 24; ++i) {
    const int label = test_set.labels[std::size_t(i)];
    if (label != 0 && label != 6 && label != 8 && label != 9) continue;
    const test::InkCanvas big = test::enlarge(test::from_idx(test_set.image(i), 28, 28), 8.0 + checked % 3);
    const int cw = big.width + 20, ch = big.height + 20;
    const std::vector<std::uint8_t> rgb =
        test::photograph(test::place(big, cw, ch, 10, 10), test::random_style(rng, false), rng);
    GreyImage g;
    g.width = cw;
    g.height = ch;
    g.pixels = test::to_grey(rgb);
    g.source = "a light " + std::to_string(label) + " (test image " + std::to_string(i) + ")";
    ++checked;
    try {
      EXPECT_FALSE(extract_ink(g).dark_ink) << g.source;
    } catch (const ImageError& e) {
      ADD_FAILURE() << e.what();  // read as dark writing, the board's texture is all the ink there is
    }
  }
  EXPECT_EQ(checked, 24);
}

// Fine-pen strokes in a large picture are thickened before the reduction to 20 px, so they do not fade.
TEST(Predict, ThinPenStrokesAreStillRead) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  DigitClassifier classifier(loaded.model, 1);
  const int n = under_sanitizer() ? 20 : 100;
  int right = 0;
  for (int i = 0; i < n; ++i) {
    MnistImage raw;
    std::copy(test_set.image(i), test_set.image(i) + 784, raw.begin());
    // Enlarged 12× and keeping only the stroke's core (bilinear level above 0.85): strokes less than half
    // as thick as MNIST's. Without the thickening, 93 of these first 100 are right; with it, 99 (the idx
    // digits: 100; the earlier model, trained without distortions: 95, 99 and 99).
    test::InkCanvas big = test::enlarge(test::from_idx(raw.data(), 28, 28), 12);
    for (float& v : big.ink) v = v > 0.85f ? 1.0f : 0.0f;
    GreyImage g{big.width, big.height, std::vector<std::uint8_t>(big.ink.size()), "thin"};
    for (std::size_t k = 0; k < big.ink.size(); ++k) g.pixels[k] = std::uint8_t(250 - 230 * big.ink[k]);
    right += classifier.classify(preprocess_digit(g)).digit == test_set.labels[std::size_t(i)];
  }
  std::printf("thin pen strokes: %d/%d right\n", right, n);
  EXPECT_GE(right, n * 97 / 100);
}

}  // namespace
}  // namespace lenet
