// The public entry point (lenet/lenet.h): one Classifier shared by 8 threads gives exactly the answers of
// one thread on the MNIST test set; uint8 and float input agree; bad input is refused with a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "helpers/paths.h"
#include "lenet/idx.h"
#include "lenet/lenet.h"

namespace lenet {
namespace {

const Classifier& shipped() {
  static const Classifier c(test::source_path("models/lenet5.bin"));
  return c;
}

bool same(const DigitGuess& a, const DigitGuess& b) {
  return a.digit == b.digit && std::memcmp(a.probabilities.data(), b.probabilities.data(),
                                           sizeof(float) * a.probabilities.size()) == 0;
}

TEST(Classifier, EightThreadsGiveTheSingleThreadedAnswers) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  const std::size_t n = test::sanitizer_run() ? 1000 : std::size_t(test_set.count);
  const std::span<const std::uint8_t> pixels(test_set.images.data(), n * kImagePixels);
  const std::vector<DigitGuess> single = shipped().classify_many(pixels);
  ASSERT_EQ(single.size(), n);

  // Each thread classifies every 8th image, one call per image, so the threads contend for workspaces
  // all the time; a workspace shared between two calls would mix their activations.
  constexpr int kThreads = 8;
  std::vector<DigitGuess> threaded(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = std::size_t(t); i < n; i += kThreads)
        threaded[i] = shipped().classify(pixels.subspan(i * kImagePixels, kImagePixels));
    });
  for (std::thread& t : threads) t.join();

  std::size_t differ = 0, correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    differ += !same(single[i], threaded[i]);
    correct += single[i].digit == test_set.labels[i];
  }
  EXPECT_EQ(differ, 0u) << "of " << n << " images";
  EXPECT_GT(double(correct) / double(n), 0.98);  // the shipped model, so the answers are meaningful
}

TEST(Classifier, FloatInputAgreesWithBytes) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset test_set = load_split(test::mnist_dir(), Split::Test);
  constexpr std::size_t n = 200;
  std::vector<float> ink(n * kImagePixels);
  for (std::size_t i = 0; i < ink.size(); ++i) ink[i] = float(test_set.images[i]) / 255.0f;
  const std::vector<DigitGuess> bytes =
      shipped().classify_many(std::span<const std::uint8_t>(test_set.images.data(), n * kImagePixels));
  const std::vector<DigitGuess> floats = shipped().classify_many(std::span<const float>(ink));
  ASSERT_EQ(floats.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(bytes[i].digit, floats[i].digit) << "image " << i;
    for (int c = 0; c < kClasses; ++c)
      EXPECT_NEAR(bytes[i].probabilities[c], floats[i].probabilities[c], 1e-5);
  }
}

TEST(Classifier, RefusesWrongSizesAndValues) {
  const std::vector<std::uint8_t> short_image(783);
  EXPECT_THROW(
      {
        try {
          shipped().classify(std::span<const std::uint8_t>(short_image));
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("783 pixel values; expected one 28x28 image"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_THROW(shipped().classify_many(std::span<const std::uint8_t>()), std::invalid_argument);
  std::vector<float> ink(2 * kImagePixels, 0.0f);
  ink[kImagePixels + 5] = 1.5f;
  try {
    shipped().classify_many(std::span<const float>(ink));
    ADD_FAILURE() << "1.5 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("image 1, pixel 5 is 1.5"), std::string::npos) << e.what();
  }
  ink[kImagePixels + 5] = std::nanf("");
  EXPECT_THROW(shipped().classify_many(std::span<const float>(ink)), std::invalid_argument);
}

TEST(Classifier, ModelErrorsNameTheFile) {
  try {
    Classifier c("/nonexistent/model.bin");
    ADD_FAILURE() << "loaded a missing file";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.bin"), std::string::npos) << e.what();
  }
}

TEST(Classifier, PictureAndNumberFromFiles) {
  const DigitGuess g = classify_picture(shipped(), test::source_path("docs/examples/digit-photo.jpg"));
  EXPECT_EQ(g.digit, 4);  // a handwritten 4 (README)
  EXPECT_GT(g.confidence, 0.5f);
  const Reading r = read_number(shipped(), test::source_path("docs/examples/number-photo.jpg"));
  EXPECT_EQ(r.text, "2026");
  EXPECT_EQ(r.text.size(), r.digits.size());
  EXPECT_THROW(classify_picture(shipped(), "/nonexistent.png"), ImageError);
}

TEST(Classifier, VersionMatchesTheHeaders) {
  EXPECT_STREQ(version(), LENET_VERSION_STRING);
  EXPECT_EQ(std::string(LENET_VERSION_STRING), std::to_string(LENET_VERSION_MAJOR) + "." +
                                                   std::to_string(LENET_VERSION_MINOR) + "." +
                                                   std::to_string(LENET_VERSION_PATCH));
}

}  // namespace
}  // namespace lenet
