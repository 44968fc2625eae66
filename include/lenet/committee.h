// A committee of trained networks: each member's class probabilities (softmax of logits, or of minus the
// RBF penalties) averaged with equal weights, the class of largest mean probability chosen.
#pragma once
#include <vector>

#include "lenet/idx.h"
#include "lenet/lenet5.h"
#include "lenet/trainer.h"

namespace lenet {

// Mean class probabilities (data.count, 10) of `members` on every image of `data`. Members may mix
// architectures. Throws std::invalid_argument if there is no member or the data does not fit.
std::vector<float> committee_probabilities(const std::vector<const Lenet5*>& members, const Dataset& data,
                                           int threads = 0);

// Accuracy, confusion and predictions of the committee; loss = mean −log of the averaged probability of
// the true class. With one member: that member's predictions (its argmax/argmin, as evaluate()).
EvalResult evaluate_committee(const std::vector<const Lenet5*>& members, const Dataset& data,
                              int threads = 0);

}  // namespace lenet
