// Batched classification of 28×28 digit images: image_to_input, lenet5_forward, probabilities.
#include "lenet/classify.h"

#include <algorithm>
#include <numeric>

namespace lenet {

std::array<int, 3> DigitGuess::top3() const {
  std::array<int, kClasses> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return probabilities[a] > probabilities[b]; });
  return {order[0], order[1], order[2]};
}

DigitClassifier::DigitClassifier(const Lenet5& model, int batch) : model_(&model), acts_(model, batch) {}

DigitGuess DigitClassifier::classify(const MnistImage& image) {
  return classify(std::vector<MnistImage>{image})[0];
}

std::vector<DigitGuess> DigitClassifier::classify(const std::vector<MnistImage>& images) {
  std::vector<DigitGuess> out(images.size());
  for (std::size_t first = 0; first < images.size(); first += std::size_t(acts_.capacity)) {
    const int n = int(std::min(images.size() - first, std::size_t(acts_.capacity)));
    for (int i = 0; i < n; ++i)
      image_to_input(acts_.input.data() + std::size_t(i) * kInputSize, images[first + i].data(), kMnistSide,
                     kMnistSide);
    lenet5_forward(*model_, acts_, n);
    for (int i = 0; i < n; ++i) {
      DigitGuess& g = out[first + i];
      model_->probabilities(g.probabilities.data(), acts_.scores.data() + std::size_t(i) * kClasses);
      g.digit =
          int(std::max_element(g.probabilities.begin(), g.probabilities.end()) - g.probabilities.begin());
      g.confidence = g.probabilities[std::size_t(g.digit)];
      g.score = acts_.scores[std::size_t(i) * kClasses + std::size_t(g.digit)];
    }
  }
  return out;
}

bool looks_like_digit(const Lenet5& model, const DigitGuess& guess) {
  return model.arch() != Arch::Lenet5 || guess.score >= kMinDigitLogit;
}

}  // namespace lenet
