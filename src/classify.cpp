// Batched classification of 28×28 digit images: image_to_input, lenet5_forward, probabilities.
#include "lenet/classify.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace lenet {

std::array<int, 3> DigitGuess::top3() const {
  std::array<int, kClasses> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return probabilities[a] > probabilities[b]; });
  return {order[0], order[1], order[2]};
}

DigitClassifier::DigitClassifier(const Lenet5& model, int batch) : model_(&model), acts_(model, batch) {}

DigitClassifier::DigitClassifier(const Lenet5& model, int batch, ScoreFunction scores)
    : model_(&model),
      acts_(model, batch),
      scores_(std::move(scores)),
      pixels_(std::size_t(batch) * kMnistSide * kMnistSide) {}

DigitGuess DigitClassifier::classify(const MnistImage& image) {
  return classify(std::vector<MnistImage>{image})[0];
}

template <class Fill, class FillPixels>
std::vector<DigitGuess> DigitClassifier::classify_batches(std::size_t count, const Fill& fill,
                                                          const FillPixels& fill_pixels) {
  constexpr std::size_t kPixels = std::size_t(kMnistSide) * kMnistSide;
  std::vector<DigitGuess> out(count);
  for (std::size_t first = 0; first < count; first += std::size_t(acts_.capacity)) {
    const int n = int(std::min(count - first, std::size_t(acts_.capacity)));
    if (scores_) {
      for (int i = 0; i < n; ++i)
        fill_pixels(pixels_.data() + std::size_t(i) * kPixels, first + std::size_t(i));
      scores_(acts_.scores.data(), pixels_.data(), n);
    } else {
      for (int i = 0; i < n; ++i)
        fill(acts_.input.data() + std::size_t(i) * kInputSize, first + std::size_t(i));
      lenet5_forward(*model_, acts_, n);
    }
    for (int i = 0; i < n; ++i) {
      DigitGuess& g = out[first + std::size_t(i)];
      model_->probabilities(g.probabilities.data(), acts_.scores.data() + std::size_t(i) * kClasses);
      g.digit =
          int(std::max_element(g.probabilities.begin(), g.probabilities.end()) - g.probabilities.begin());
      g.confidence = g.probabilities[std::size_t(g.digit)];
      g.score = acts_.scores[std::size_t(i) * kClasses + std::size_t(g.digit)];
    }
  }
  return out;
}

std::vector<DigitGuess> DigitClassifier::classify(const std::vector<MnistImage>& images) {
  return classify_batches(
      images.size(),
      [&](float* input, std::size_t i) { image_to_input(input, images[i].data(), kMnistSide, kMnistSide); },
      [&](std::uint8_t* pixels, std::size_t i) { std::copy(images[i].begin(), images[i].end(), pixels); });
}

std::vector<DigitGuess> DigitClassifier::classify_ink(std::span<const float> images) {
  constexpr std::size_t kPixels = std::size_t(kMnistSide) * kMnistSide;
  constexpr int kMargin = (kInputSide - kMnistSide) / 2;
  return classify_batches(
      images.size() / kPixels,
      [&](float* input, std::size_t i) {
        // The mapping of image_to_input with p/255 = ink: background −0.1 ... ink +1.175, centred in 32×32.
        std::fill(input, input + kInputSize, kInputBackground);
        const float* ink = images.data() + i * kPixels;
        for (int y = 0; y < kMnistSide; ++y)
          for (int x = 0; x < kMnistSide; ++x)
            input[(y + kMargin) * kInputSide + x + kMargin] =
                kInputBackground + (kInputInk - kInputBackground) * ink[y * kMnistSide + x];
      },
      [&](std::uint8_t* pixels, std::size_t i) {
        // The int8 network's input is u8 levels: ink·255 to the nearest level.
        const float* ink = images.data() + i * kPixels;
        for (std::size_t p = 0; p < kPixels; ++p)
          pixels[p] = std::uint8_t(std::lround(std::clamp(ink[p], 0.0f, 1.0f) * 255.0f));
      });
}

bool looks_like_digit(const Lenet5& model, const DigitGuess& guess, float min_confidence) {
  if (min_confidence > 0) return guess.confidence >= min_confidence;
  return model.arch() != Arch::Lenet5 || guess.score >= kMinDigitLogit;
}

}  // namespace lenet
