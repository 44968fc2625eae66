// Classifying 28×28 digit images with a loaded LeNet-5: class probabilities, the best guess and its
// confidence, in batches, through the model's own input mapping (32×32 padding, paper's levels).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "lenet/export.h"
#include "lenet/image.h"
#include "lenet/lenet5.h"

namespace lenet {

struct DigitGuess {
  int digit = -1;
  float confidence = 0;  // the probability of `digit`
  std::array<float, kClasses> probabilities{};
  float score = 0;  // the network's raw output for `digit`: its logit (modern) or RBF penalty (1998)
  LENET_API std::array<int, 3> top3() const;  // the three most probable classes, best first
};

// The network's rejection score: whether its winning raw output is that of a digit. The modern network's
// winning logit on real digits is large (the median on MNIST's training digits is about 20); on noise,
// lines, letters and fragments it is usually much smaller. The 1998 network's RBF penalty is not
// thresholded here. The threshold, kMinDigitLogit, was chosen on the dev set of tools/eval_pictures.py.
inline constexpr float kMinDigitLogit = 7;

// The arithmetic the network runs in: fp32 as trained, or int8, its post-training quantised form
// (docs/int8.md; the model file must hold the activation scales that `lenet quantize` stores).
enum class Precision { Fp32, Int8 };
// A model trained with outliers (`lenet train --outliers`, outlier exposure) answers a non-digit with a flat
// softmax, so there the top probability is the rejection score: min_confidence > 0 accepts a guess whose
// confidence reaches it (the floor chosen on the dev set, recorded in the model file: min_digit_confidence in
// lenet5_io.h). min_confidence = 0: the winning logit's floor, kMinDigitLogit.
LENET_API bool looks_like_digit(const Lenet5& model, const DigitGuess& guess, float min_confidence = 0);

// Owns the activations for one batch; not thread-safe (one classifier per thread, or lenet::Classifier,
// which lends them to many threads), the model is shared.
class LENET_API DigitClassifier {
 public:
  explicit DigitClassifier(const Lenet5& model, int batch = 32);
  // Scores (n, 10) of n 28×28 images (0 = background ... 255 = ink), computed another way than the fp32
  // forward pass (the int8 network: quantize.h). activations() then holds only the scores.
  using ScoreFunction = std::function<void(float* scores, const std::uint8_t* images, int n)>;
  DigitClassifier(const Lenet5& model, int batch, ScoreFunction scores);
  DigitGuess classify(const MnistImage& image);
  std::vector<DigitGuess> classify(const std::vector<MnistImage>& images);
  // n 28×28 images back to back (n·784 values), 0 = background ... 1 = ink; values are not checked.
  std::vector<DigitGuess> classify_ink(std::span<const float> images);
  const Lenet5& model() const { return *model_; }
  // Activations of the most recent batch; sample 0 is the last single image classified.
  const Activations& activations() const { return acts_; }

 private:
  // Classifies `count` images in batches; fill(input, index) writes image `index`'s fp32 network input,
  // fill_pixels(pixels, index) its 28×28 u8 pixels for the score function.
  template <class Fill, class FillPixels>
  std::vector<DigitGuess> classify_batches(std::size_t count, const Fill& fill,
                                           const FillPixels& fill_pixels);
  const Lenet5* model_;
  Activations acts_;
  ScoreFunction scores_;              // empty: the fp32 forward pass
  std::vector<std::uint8_t> pixels_;  // one batch of u8 images for scores_
};

}  // namespace lenet
