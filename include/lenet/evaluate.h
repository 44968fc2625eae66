// Evaluation of a model on a labelled set: accuracy, mean loss, the confusion matrix and every prediction,
// run on the batch engine's threads.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "lenet/dataset.h"
#include "lenet/lenet5.h"

namespace lenet {

struct EvalResult {
  int count = 0;
  double accuracy = 0;
  double loss = 0;  // mean, with the architecture's default loss
  std::array<std::array<long long, kClasses>, kClasses> confusion{};  // [true][predicted]
  std::vector<std::uint8_t> predictions;
};
EvalResult evaluate(const Lenet5& model, const Dataset& data, int threads = 0);

}  // namespace lenet
