// Distortions: the elastic field's statistics against the theory of smoothed white noise, the bilinear
// warp against exact shifts, the affine path unchanged when the elastic field is off, and determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "lenet/distort.h"
#include "lenet/rng.h"

namespace lenet {
namespace {

constexpr int kSide = 28;
constexpr int kSize = kSide * kSide;

// A bar-and-blob picture with grey edges, like a digit: ink in the middle, background at the border.
std::vector<std::uint8_t> test_digit() {
  std::vector<std::uint8_t> img(kSize, 0);
  for (int y = 6; y < 22; ++y)
    for (int x = 11; x < 16; ++x) img[y * kSide + x] = 255;
  for (int y = 6; y < 10; ++y)
    for (int x = 8; x < 20; ++x) img[y * kSide + x] = 200;
  for (int y = 5; y < 23; ++y) img[y * kSide + 10] = 96;
  return img;
}

TEST(Distort, ElasticFieldStandardDeviationMatchesSmoothedNoise) {
  // u uniform in [−1, 1] has variance 1/3; after the separable normalised Gaussian g (per axis, Σg = 1) each
  // field value has variance α²·(1/3)·(Σ g²)², the same at every pixel because the noise is padded.
  const float alpha = 34, sigma = 4;
  const int radius = int(std::ceil(3 * sigma));
  double sum = 0, sum_sq = 0;
  for (int i = -radius; i <= radius; ++i) {
    const double g = std::exp(-0.5 * (i / double(sigma)) * (i / double(sigma)));
    sum += g;
    sum_sq += g * g;
  }
  const double expected = alpha * std::sqrt(1.0 / 3.0) * (sum_sq / (sum * sum));
  Rng rng(3);
  std::vector<float> dx(kSize), dy(kSize), scratch;
  double corner = 0, centre = 0, neighbour = 0, dx_dy = 0;
  constexpr int kFields = 2000;
  for (int f = 0; f < kFields; ++f) {
    elastic_field(dx.data(), dy.data(), kSide, kSide, alpha, sigma, rng, scratch);
    corner += double(dx[0]) * dx[0];
    centre += double(dy[14 * kSide + 14]) * dy[14 * kSide + 14];
    neighbour += double(dx[14 * kSide + 14]) * dx[14 * kSide + 15];
    dx_dy += double(dx[14 * kSide + 14]) * dy[14 * kSide + 14];
  }
  const double sd_corner = std::sqrt(corner / kFields), sd_centre = std::sqrt(centre / kFields);
  std::printf("field sd: expected %.4f px, corner %.4f, centre %.4f\n", expected, sd_corner, sd_centre);
  EXPECT_NEAR(sd_corner, expected, 0.06 * expected);  // 2000 samples: the estimate's sd is ~1.6%
  EXPECT_NEAR(sd_centre, expected, 0.06 * expected);
  EXPECT_GT(expected, 1.0);  // Simard's α = 34, σ = 4 moves pixels by about 1.4 px (sd): a real warp
  // Smooth: neighbours' correlation exp(−1/(4σ²)) ≈ 0.98 for σ = 4; the two directions are independent.
  EXPECT_GT(neighbour / kFields / (expected * expected), 0.93);
  EXPECT_LT(std::abs(dx_dy / kFields) / (expected * expected), 0.1);
}

TEST(Distort, WarpByWholePixelsShifts) {
  const auto img = test_digit();
  std::vector<float> dx(kSize, 2.0f), dy(kSize, -1.0f);
  std::vector<std::uint8_t> out(kSize);
  warp_bilinear(out.data(), img.data(), kSide, kSide, dx.data(), dy.data());
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x) {
      const int sx = x + 2, sy = y - 1;
      const int expected = (sx < kSide && sy >= 0) ? img[sy * kSide + sx] : 0;
      ASSERT_EQ(out[y * kSide + x], expected) << x << "," << y;
    }
  // Half a pixel: the mean of the two neighbours, rounded.
  std::fill(dx.begin(), dx.end(), 0.5f);
  std::fill(dy.begin(), dy.end(), 0.0f);
  warp_bilinear(out.data(), img.data(), kSide, kSide, dx.data(), dy.data());
  EXPECT_EQ(out[7 * kSide + 10], std::lround((96 + 200) / 2.0));
}

TEST(Distort, WithoutElasticIsTheAffineDistortion) {
  const auto img = test_digit();
  DistortRanges ranges;  // elastic_alpha = 0
  Rng a(9), b(9);
  DistortScratch scratch;
  std::vector<std::uint8_t> affine(kSize), combined(kSize);
  for (int i = 0; i < 20; ++i) {
    random_affine(affine.data(), img.data(), kSide, kSide, ranges, a);
    random_distortion(combined.data(), img.data(), kSide, kSide, ranges, b, scratch);
    ASSERT_EQ(affine, combined) << i;
  }
  EXPECT_EQ(a.state, b.state);
}

TEST(Distort, ElasticWarpsKeepTheInkAndDifferPerDraw) {
  const auto img = test_digit();
  DistortRanges ranges{0, 0, 0, 0, kElasticAlpha, kElasticSigma};  // elastic only
  Rng rng(21), again(21);
  DistortScratch scratch;
  std::vector<std::uint8_t> first(kSize), out(kSize), repeat(kSize);
  const double ink = std::accumulate(img.begin(), img.end(), 0.0);
  random_distortion(first.data(), img.data(), kSide, kSide, ranges, rng, scratch);
  random_distortion(repeat.data(), img.data(), kSide, kSide, ranges, again, scratch);
  EXPECT_EQ(first, repeat);  // the same stream gives the same warp
  double ratio_sum = 0;
  int changed = 0;
  constexpr int kDraws = 200;
  for (int i = 0; i < kDraws; ++i) {
    random_distortion(out.data(), img.data(), kSide, kSide, ranges, rng, scratch);
    ratio_sum += std::accumulate(out.begin(), out.end(), 0.0) / ink;
    int moved = 0;
    for (int p = 0; p < kSize; ++p) moved += out[p] != img[p];
    changed += moved > 20;
  }
  // A smooth field stretches some parts and squeezes others: the total ink stays within a few percent on
  // average, and every draw moves the picture.
  EXPECT_NEAR(ratio_sum / kDraws, 1.0, 0.05);
  EXPECT_EQ(changed, kDraws);
}

TEST(Distort, DatasetKeepsTheRequestedShareOfOriginals) {
  Dataset in;
  in.rows = in.cols = kSide;
  in.count = 1000;
  const auto img = test_digit();
  for (int i = 0; i < in.count; ++i) in.images.insert(in.images.end(), img.begin(), img.end());
  in.labels.assign(std::size_t(in.count), 1);
  Dataset out = in;
  DistortRanges ranges;
  ranges.elastic_alpha = kElasticAlpha;
  Rng rng(4);
  distort_dataset(out, in, ranges, 0.1f, rng);
  int unchanged = 0;
  for (int i = 0; i < in.count; ++i)
    unchanged += std::equal(img.begin(), img.end(), out.images.begin() + std::ptrdiff_t(i) * kSize);
  EXPECT_NEAR(unchanged, 100, 30);  // binomial(1000, 0.1): sd 9.5
}

// A dataset of n copies of the test digit.
Dataset digits(int n) {
  Dataset d;
  d.rows = d.cols = kSide;
  d.count = n;
  const auto img = test_digit();
  for (int i = 0; i < n; ++i) d.images.insert(d.images.end(), img.begin(), img.end());
  d.labels.assign(std::size_t(n), 1);
  return d;
}

TEST(Distort, ElasticDatasetIsTheSameOnAnyNumberOfThreads) {
  // Each image draws from its own stream, so how the images are shared among threads cannot matter; the
  // images still differ from each other, and the next call (the next epoch) draws new ones.
  const Dataset in = digits(301);
  DistortRanges ranges;
  ranges.elastic_alpha = kElasticAlpha;
  Dataset one = in, two = in, three = in, next = in;
  Rng r1(8), r2(8), r3(8);
  distort_dataset(one, in, ranges, 0.1f, r1, 1);
  distort_dataset(two, in, ranges, 0.1f, r2, 2);
  distort_dataset(three, in, ranges, 0.1f, r3, 3);
  EXPECT_EQ(one.images, two.images);
  EXPECT_EQ(one.images, three.images);
  EXPECT_EQ(r1.state, r2.state);
  EXPECT_EQ(r1.state, r3.state);
  int distinct = 0;
  for (int i = 1; i < in.count; ++i)
    distinct += !std::equal(one.image(i), one.image(i) + kSize, one.image(i - 1));
  EXPECT_GT(distinct, 250);  // only a pair of kept originals (10% each) in a row may be equal
  distort_dataset(next, in, ranges, 0.1f, r1, 2);
  EXPECT_NE(next.images, one.images);
}

TEST(Distort, AffineDatasetIsOneStreamInImageOrder) {
  // Without the elastic field the dataset is drawn as it always was (the published --distort runs and the
  // shipped model depend on it): per image one draw for keep-or-distort, then random_distortion's draws.
  const Dataset in = digits(50);
  const DistortRanges ranges;  // affine only
  Dataset out = in;
  Rng rng(6), again(6);
  distort_dataset(out, in, ranges, 0.1f, rng, 2);
  DistortScratch scratch;
  std::vector<std::uint8_t> want(kSize);
  for (int i = 0; i < in.count; ++i) {
    if (again.uniform() < 0.1f)
      std::copy_n(in.image(i), kSize, want.begin());
    else
      random_distortion(want.data(), in.image(i), kSide, kSide, ranges, again, scratch);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), out.image(i))) << i;
  }
  EXPECT_EQ(rng.state, again.state);
}

TEST(Distort, PhotoDegradationsAreEachOfTheirKind) {
  // Every draw is one of the five kinds, told apart by what it did to the test digit: thicker (covers the
  // original, more ink), thinner (inside the original, less ink), a band across the ink erased (inside the
  // original, whole rows of it gone), or blurred / reduced (ink spread beyond the original, stretched back to
  // full ink). Each kind comes up about a fifth of the time, and a blank image stays blank.
  const auto img = test_digit();
  const double ink = std::accumulate(img.begin(), img.end(), 0.0);
  Rng rng(12);
  std::vector<float> work;
  int thicker = 0, thinner = 0, band = 0, soft = 0;
  constexpr int kDraws = 500;
  for (int i = 0; i < kDraws; ++i) {
    std::vector<std::uint8_t> out = img;
    degrade_like_photo(out.data(), kSide, kSide, rng, work);
    bool covers = true, inside = true;
    for (int p = 0; p < kSize; ++p) covers &= out[p] >= img[p], inside &= out[p] <= img[p];
    const double sum = std::accumulate(out.begin(), out.end(), 0.0);
    int rows_changed = 0, rows_erased = 0;  // rows where out differs from img; of those, rows now blank
    for (int y = 0; y < kSide; ++y) {
      const auto row = out.begin() + y * kSide;
      if (std::equal(row, row + kSide, img.begin() + y * kSide)) continue;
      ++rows_changed;
      rows_erased += std::all_of(row, row + kSide, [](auto v) { return v == 0; });
    }
    if (covers && sum > ink) {
      ++thicker;
    } else if (rows_changed >= 1 && rows_changed <= 2 && rows_erased == rows_changed) {
      ++band;
    } else if (inside && sum < ink) {
      ++thinner;
    } else {
      EXPECT_EQ(*std::max_element(out.begin(), out.end()), 255) << i;
      ++soft;
    }
  }
  EXPECT_NEAR(thicker, kDraws / 5, 30);
  EXPECT_NEAR(thinner, kDraws / 5, 30);
  EXPECT_NEAR(band, kDraws / 5, 30);
  EXPECT_NEAR(soft, 2 * kDraws / 5, 40);
  std::vector<std::uint8_t> blank(kSize, 0);
  for (int i = 0; i < 20; ++i) degrade_like_photo(blank.data(), kSide, kSide, rng, work);
  EXPECT_TRUE(std::all_of(blank.begin(), blank.end(), [](auto v) { return v == 0; }));
}

TEST(Distort, DatasetDegradesTheRequestedShareLikePhotos) {
  // With every image kept undistorted, exactly the degraded ones differ from the original; the same seed
  // gives the same dataset; photo = 0 draws nothing more (AffineDatasetIsOneStreamInImageOrder).
  const Dataset in = digits(1000);
  DistortRanges ranges;
  ranges.photo = 0.3f;
  Dataset out = in, again = in;
  Rng rng(5), rng2(5);
  distort_dataset(out, in, ranges, 1.0f, rng);
  distort_dataset(again, in, ranges, 1.0f, rng2);
  EXPECT_EQ(out.images, again.images);
  int changed = 0;
  for (int i = 0; i < in.count; ++i) changed += !std::equal(in.image(i), in.image(i) + kSize, out.image(i));
  EXPECT_NEAR(changed, 300, 45);  // binomial(1000, 0.3): sd 14.5
}

TEST(Distort, TransformDatasetShiftsRotatesAndScales) {
  Dataset in;
  in.rows = in.cols = kSide;
  in.count = 1;
  in.images = test_digit();
  in.labels = {3};
  // A whole-pixel shift moves every pixel; the identity copies.
  const Dataset shifted = transform_dataset(in, 3, -2, 0, 1);
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x) {
      const int sx = x - 3, sy = y + 2;
      const int expected = (sx >= 0 && sy < kSide) ? in.images[std::size_t(sy * kSide + sx)] : 0;
      ASSERT_EQ(shifted.images[std::size_t(y * kSide + x)], expected) << x << "," << y;
    }
  EXPECT_EQ(transform_dataset(in, 0, 0, 0, 1).images, in.images);
  EXPECT_EQ(shifted.labels, in.labels);
  // 90°: the vertical bar becomes horizontal, so most of its ink moves off the columns it filled.
  const Dataset turned = transform_dataset(in, 0, 0, 90, 1);
  const Dataset twice = transform_dataset(turned, 0, 0, -90, 1);
  int same = 0, back = 0;
  for (int p = 0; p < kSize; ++p) {
    same += turned.images[std::size_t(p)] == in.images[std::size_t(p)];
    back += std::abs(int(twice.images[std::size_t(p)]) - int(in.images[std::size_t(p)])) <= 2;
  }
  EXPECT_LT(same, kSize - 60);
  EXPECT_GT(back, kSize - 10);  // turning back restores it (pixel centres land on pixel centres)
  // Scale 0.5 about the centre: the ink shrinks to about a quarter.
  const Dataset half = transform_dataset(in, 0, 0, 0, 0.5f);
  const double ink = std::accumulate(in.images.begin(), in.images.end(), 0.0);
  EXPECT_NEAR(std::accumulate(half.images.begin(), half.images.end(), 0.0) / ink, 0.25, 0.06);
}

}  // namespace
}  // namespace lenet
