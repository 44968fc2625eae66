// Evaluation: scores from the engine in chunks, then the architecture's own loss and the argmax of each.
#include "lenet/evaluate.h"

#include <algorithm>

#include "lenet/engine.h"
#include "lenet/loss.h"

namespace lenet {

EvalResult evaluate(const Lenet5& model, const Dataset& data, int threads) {
  check_dataset_fits(data, "evaluation set");
  constexpr int kEvalChunk = 1000;
  Engine engine(model, threads, kEvalChunk);
  EvalResult r;
  r.count = data.count;
  r.predictions.resize(std::size_t(data.count));
  std::vector<float> scores(std::size_t(kEvalChunk) * kClasses);
  double loss_sum = 0;
  long long correct = 0;
  for (int first = 0; first < data.count; first += kEvalChunk) {
    const int n = std::min(kEvalChunk, data.count - first);
    engine.forward_scores(model, data, first, n, scores.data());
    const std::uint8_t* labels = data.labels.data() + first;
    loss_sum +=
        batch_loss(model.default_loss(), nullptr, scores.data(), labels, kClasses, n, kDefaultMapJ, 1.0f);
    for (int i = 0; i < n; ++i) {
      const int pred = model.predict_class(scores.data() + std::size_t(i) * kClasses);
      r.predictions[std::size_t(first + i)] = std::uint8_t(pred);
      r.confusion[labels[i]][std::size_t(pred)] += 1;
      correct += pred == labels[i];
    }
  }
  r.accuracy = double(correct) / data.count;
  r.loss = loss_sum / data.count;
  return r;
}

}  // namespace lenet
