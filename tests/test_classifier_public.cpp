// The public API as an application sees it: this test links only lenet::lenet and lenet::vision (shared
// libraries in a BUILD_SHARED_LIBS build, where only LENET_API symbols are exported), never lenet_internal.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lenet/lenet.h"

namespace {

const std::string kSource = LENET_SOURCE_DIR;

const lenet::Classifier& shipped() {
  static const lenet::Classifier c(kSource + "/models/lenet5.bin");
  return c;
}

bool same(const lenet::DigitGuess& a, const lenet::DigitGuess& b) {
  return a.digit == b.digit && std::memcmp(a.probabilities.data(), b.probabilities.data(),
                                           sizeof(float) * a.probabilities.size()) == 0;
}

// Images that are not all alike: blobs of ink at random places and strengths (the answers do not matter,
// only that every thread gets the single-threaded ones).
std::vector<std::uint8_t> random_images(std::size_t n) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> pixels(n * lenet::kImagePixels, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (int stroke = 0; stroke < 40; ++stroke) {
      const std::size_t at = rng() % lenet::kImagePixels;
      pixels[i * lenet::kImagePixels + at] = std::uint8_t(128 + rng() % 128);
    }
  return pixels;
}

TEST(ClassifierPublic, VersionIsTheProjects) { EXPECT_STREQ(lenet::version(), LENET_EXPECTED_VERSION); }

TEST(ClassifierPublic, ClassifiesAPictureAndReadsANumber) {
  const lenet::DigitGuess guess = lenet::classify_picture(shipped(), kSource + "/examples/digit.pgm");
  EXPECT_EQ(guess.digit, 4);
  EXPECT_GT(guess.confidence, 0.5f);
  const lenet::Reading reading = lenet::read_number(shipped(), kSource + "/docs/examples/number-photo.jpg");
  EXPECT_EQ(reading.text, "2026");
}

TEST(ClassifierPublic, EightThreadsGiveTheSingleThreadedAnswers) {
  const std::size_t n = 2000;
  const std::vector<std::uint8_t> pixels = random_images(n);
  const std::vector<lenet::DigitGuess> expected = shipped().classify_many(pixels);
  ASSERT_EQ(expected.size(), n);
  std::vector<std::size_t> wrong(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < wrong.size(); ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < n; i += 3) {
        const std::span<const std::uint8_t> image(pixels.data() + i * lenet::kImagePixels,
                                                  lenet::kImagePixels);
        if (!same(shipped().classify(image), expected[i])) ++wrong[t];
      }
    });
  for (std::thread& th : threads) th.join();
  for (std::size_t t = 0; t < wrong.size(); ++t) EXPECT_EQ(wrong[t], 0u) << "thread " << t;
}

TEST(ClassifierPublic, ErrorsCrossTheLibraryBoundaryWithTheirTypes) {
  EXPECT_THROW(lenet::Classifier(kSource + "/examples/CMakeLists.txt"), lenet::ModelFileError);
  EXPECT_THROW(lenet::classify_picture(shipped(), kSource + "/examples/CMakeLists.txt"), lenet::ImageError);
  const std::vector<float> too_short(10, 0.f);
  EXPECT_THROW(shipped().classify(std::span<const float>(too_short)), std::invalid_argument);
}

}  // namespace
