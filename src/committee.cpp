// Committee evaluation: every member runs over the whole set in chunks (the trainer's Engine), its scores
// turned into probabilities and added into one (count, 10) array, which is then divided by the members.
#include "lenet/committee.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lenet {

std::vector<float> committee_probabilities(const std::vector<const Lenet5*>& members, const Dataset& data,
                                           int threads) {
  if (members.empty()) throw std::invalid_argument("a committee needs at least one model");
  check_dataset_fits(data, "evaluation set");
  constexpr int kChunk = 1000;
  const std::size_t count = std::size_t(data.count);
  std::vector<float> mean(count * kClasses, 0.0f), scores(std::size_t(kChunk) * kClasses);
  float p[kClasses];
  for (const Lenet5* m : members) {
    Engine engine(*m, threads, kChunk);
    for (int first = 0; first < data.count; first += kChunk) {
      const int n = std::min(kChunk, data.count - first);
      engine.forward_scores(*m, data, first, n, scores.data());
      for (int i = 0; i < n; ++i) {
        m->probabilities(p, scores.data() + std::size_t(i) * kClasses);
        float* dst = mean.data() + std::size_t(first + i) * kClasses;
        for (int c = 0; c < kClasses; ++c) dst[c] += p[c];
      }
    }
  }
  const float inv = 1.0f / float(members.size());
  for (float& v : mean) v *= inv;
  return mean;
}

EvalResult evaluate_committee(const std::vector<const Lenet5*>& members, const Dataset& data, int threads) {
  if (members.size() == 1) return evaluate(*members[0], data, threads);
  const std::vector<float> prob = committee_probabilities(members, data, threads);
  EvalResult r;
  r.count = data.count;
  r.predictions.resize(std::size_t(data.count));
  long long correct = 0;
  double loss_sum = 0;
  for (int i = 0; i < data.count; ++i) {
    const float* pi = prob.data() + std::size_t(i) * kClasses;
    const int pred = int(std::max_element(pi, pi + kClasses) - pi);
    const int label = data.labels[std::size_t(i)];
    r.predictions[std::size_t(i)] = std::uint8_t(pred);
    r.confusion[std::size_t(label)][std::size_t(pred)] += 1;
    correct += pred == label;
    loss_sum -= std::log(std::max(double(pi[label]), 1e-30));
  }
  r.accuracy = double(correct) / data.count;
  r.loss = loss_sum / data.count;
  return r;
}

}  // namespace lenet
