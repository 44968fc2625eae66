// Training and evaluation: the batch engine that runs forward/backward over threads with a fixed
// reduction order (same seed + same --threads = bit-identical model), and the epoch loop around it.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/distort.h"
#include "lenet/idx.h"
#include "lenet/lenet5.h"
#include "lenet/optimizer.h"

namespace lenet {

// Training could not go on (e.g. the loss became NaN or infinite); the message says where and why.
struct TrainingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Training stopped because TrainCheckpointing::stop was raised; the message says where, and whether
// (and where) the checkpoint to resume from was written.
struct TrainingInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int default_threads();  // every core the process may use

// Runs the network over batches of dataset images, split across threads. Each thread owns its
// activations and its gradient arena; their sums are added into the model's gradients in thread order.
class Engine {
 public:
  Engine(const Lenet5& model, int threads, int max_batch);

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
  std::vector<Activations> acts_;
  std::vector<AlignedFloats> grads_;  // slices 1.. ; all zero between calls
  std::vector<Pass> passes_;
  std::vector<int> bad_;  // per thread: a non-finite sum was seen in its share
};

// The paper's learning rates for SDLM by pass (Appendix C): 0.0005 for passes 1–2, 0.0002 for 3–5,
// 0.0001 for 6–8, 0.00005 for 9–12, 0.00001 after.
std::vector<float> paper_sdlm_schedule(int epochs);

struct TrainConfig {
  int epochs = 10;
  int batch = 64;  // 1 = stochastic, N = mini-batch, 0 = full batch (one step per epoch)
  OptimizerConfig optimizer;
  float lr = 0.01f;
  float lr_gamma = 1.0f;  // step decay: lr · gamma^⌊epoch / lr_step⌋
  int lr_step = 0;
  std::vector<float> lr_by_epoch;  // if given, the learning rate of each pass (overrides lr and decay)
  int hessian_samples = 500;       // SDLM: patterns in each pass's curvature estimate
  int hessian_interval = 0;        // SDLM: also re-estimate every this many patterns within a pass (0: never)
  bool distort = false;            // train each pass on fresh random affine distortions
  DistortRanges distort_ranges;
  float keep_original = 0.1f;  // with distort: fraction of images left undistorted in a pass
  bool eval_train = false;     // after each pass, also measure accuracy on the whole training set
  LossKind loss = LossKind::CrossEntropy;
  float map_j = kDefaultMapJ;
  std::uint64_t seed = 1;
  int threads = 0;  // 0 = default_threads()
};

struct EpochStats {
  int epoch = 0;  // 1-based
  double lr = 0;
  double train_loss = 0;            // mean over the epoch's samples, as trained (weights moving)
  double train_accuracy = 0;        // fraction right during the epoch's forward passes
  double test_accuracy = -1;        // after the epoch; -1 without a test set
  double train_eval_accuracy = -1;  // on the undistorted training set after the epoch (eval_train)
  double test_loss = -1;
  double seconds = 0;  // the epoch's training time (evaluation excluded)
  long long images = 0;
};

struct BatchProgress {
  int epoch = 0, epochs = 0;
  long long done = 0, total = 0;  // images this epoch
  double running_loss = 0;
  double seconds = 0;  // since the epoch began
};

struct TrainCallbacks {
  std::function<void(const BatchProgress&)> on_batch;  // after each optimiser step
  std::function<void(const EpochStats&)> on_epoch;     // after the epoch's evaluation and checkpoint
};

// Everything train() needs, besides the model's parameters, to go on exactly as if it had never stopped.
// Taken between optimiser steps (parameter gradients are then zero) and stored in checkpoints.
struct TrainState {
  // What a resumed run must share with the one that wrote the state (train_recipe() below).
  nlohmann::json recipe;
  int epoch = 0;           // 0-based epoch in progress, or the next one when position == 0
  long long position = 0;  // images of this epoch already trained on; 0: the epoch has not begun
  long long step = 0;      // optimiser steps taken in this epoch
  double loss_sum = 0;     // over the epoch's images so far, as in EpochStats
  long long correct = 0;
  double seconds = 0;  // training time of this epoch so far
  // Random streams. shuffle and hessian: now. distort: as at the start of `epoch`, before its images
  // were distorted (a resumed run distorts them again, identically, instead of storing them).
  std::array<std::uint64_t, 4> shuffle_rng{}, hessian_rng{}, distort_rng{};
  std::vector<int> order;                       // the training order (this epoch's, once begun)
  std::vector<int> hessian_order;               // SDLM: the order the curvature samples are drawn from
  std::vector<float> optimizer_m, optimizer_v;  // Optimizer::m and v
  long long optimizer_steps = 0;
  std::vector<EpochStats> history;  // the epochs completed, as train() returns them
};

// The recipe that fixes a run's result: the config (all but `epochs`, which a resumed run may raise, and
// `threads`, given resolved), the sizes and CRC-32 of the training and test images and labels.
nlohmann::json train_recipe(const TrainConfig& config, int threads, const Dataset& train_set,
                            const Dataset* test_set);

// Checkpoints and stopping, for train(). A checkpoint (include/lenet/checkpoint.h) is written atomically
// after every epoch and, with every_seconds > 0, between steps once that much time has passed since the
// last one; a crash at any instant leaves the previous checkpoint whole.
struct TrainCheckpointing {
  std::string path;          // empty: no checkpoints
  double every_seconds = 0;  // 0: after each epoch only
  // Raised (e.g. by a signal handler): train() finishes the current step, writes the checkpoint and throws
  // TrainingInterrupted.
  const std::atomic<bool>* stop = nullptr;
  // Go on from here (the model must hold the parameters saved with it): the recipe must match the run's,
  // else std::invalid_argument names what differs.
  const TrainState* resume = nullptr;
};

// Initialises nothing: the model arrives initialised (or loaded). Returns one entry per epoch (with resume,
// the checkpoint's epochs first). A NaN or infinity in the loss or in a gradient throws TrainingError
// naming the epoch, the step and the tensors; no checkpoint is written after it, so the last one stays
// the last good state.
std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& config, const TrainCallbacks& callbacks = {},
                              const TrainCheckpointing& checkpointing = {});

struct EvalResult {
  int count = 0;
  double accuracy = 0;
  double loss = 0;  // mean, with the architecture's default loss
  std::array<std::array<long long, kClasses>, kClasses> confusion{};  // [true][predicted]
  std::vector<std::uint8_t> predictions;
};
EvalResult evaluate(const Lenet5& model, const Dataset& data, int threads = 0);

// The model must read 28×28-or-smaller images; a dataset of another size is refused with this message.
void check_dataset_fits(const Dataset& data, const std::string& what);

}  // namespace lenet
