// The batch engine: forward/backward of LeNet-5 over a batch split across threads, with a reduction in a
// fixed order, so that the same seed and the same number of threads give a bit-identical model.
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lenet/dataset.h"
#include "lenet/lenet5.h"
#include "lenet/optimizer.h"

namespace lenet {

int default_threads();  // every core the process may use

class StepTeam;  // the engine's threads for gradient passes (engine.cpp)

// Runs the network over batches of dataset images, split across threads. Each thread owns its
// activations and its gradient arena; their sums are added into the model's gradients in thread order.
class Engine {
 public:
  Engine(const Lenet5& model, int threads, int max_batch);
  ~Engine();
  Engine(Engine&&) noexcept;

  struct Pass {
    double loss_sum = 0;
    int correct = 0;
    bool finite = true;  // the loss and every summed gradient are finite (neither NaN nor infinite)
  };
  // Forward, loss and backward for data[indices[0..n)]; ADDS grad_scale·∂loss/∂params into model.grads.
  Pass accumulate_gradients(Lenet5& model, const Dataset& data, const int* indices, int n, LossKind loss,
                            float map_j, float grad_scale);
  // One training step on data[indices[0..n)]: accumulate_gradients, then, if the pass is finite, the
  // optimiser's update and zeroed gradients, each thread over its share of the parameters while the
  // summed gradients are still in its cache (the same result as optimizer.step() and model.zero_grad()).
  // A pass that is not finite changes no parameter and leaves its summed gradients in model.grads.
  Pass train_step(Lenet5& model, const Dataset& data, const int* indices, int n, LossKind loss, float map_j,
                  float grad_scale, Optimizer& optimizer, float lr);
  // Σ over data[indices[0..n)] of the Gauss–Newton diagonal second derivatives, ADDED into hessian.
  void accumulate_hessian(float* hessian, const Lenet5& model, const Dataset& data, const int* indices,
                          int n);
  // Scores (n, 10) for data[first .. first+n).
  void forward_scores(const Lenet5& model, const Dataset& data, int first, int n, float* scores);
  int threads() const { return threads_; }

 private:
  // Splits n samples into slices over the threads; after each chunk's forward pass, `work(a, labels, m,
  // arena)` returns its loss and adds into the slice's arena: slice 0 adds straight into `target`, the
  // others into private arenas, which are then added into `target` in slice order (and zeroed again).
  // Then, if the pass is finite, `finish(lo, hi)` runs on each thread over a disjoint share of the
  // parameters. (Templates, not std::function: no allocation per step.)
  template <typename SliceWork, typename Finish>
  Pass accumulate(float* target, const Lenet5& model, const Dataset& data, const int* indices, int n,
                  const SliceWork& work, const Finish& finish);
  int slices_for(int n) const;
  int threads_;
  std::unique_ptr<StepTeam> team_;  // threads 1.. of gradient passes (none on one thread)
  std::vector<Activations> acts_;
  std::vector<AlignedFloats> grads_;  // slices 1.. ; all zero between calls
  std::vector<Pass> passes_;
  std::vector<int> bad_;  // per thread: a non-finite sum was seen in its share
};

// True when no value is NaN or infinite.
bool all_finite(std::span<const float> values);

// The model must read 28×28-or-smaller images; a dataset of another size (or an empty one) is refused
// with std::invalid_argument naming `what`.
void check_dataset_fits(const Dataset& data, const std::string& what);

}  // namespace lenet
