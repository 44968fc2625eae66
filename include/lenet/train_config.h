// What a training run is asked to do (TrainConfig), the library's defaults for it per architecture and
// optimiser, what each epoch gave (EpochStats), and the one JSON form of each.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "lenet/dataset.h"
#include "lenet/distort.h"
#include "lenet/lenet5.h"
#include "lenet/loss.h"
#include "lenet/optimizer.h"

namespace lenet {

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
  // Weight averaging (Izmailov et al. 2018, "SWA"): the running mean of the parameters at the ends of the
  // last this many epochs becomes the model after the last one (0: the last epoch's parameters).
  int average_last = 0;
  bool distort = false;  // train each pass on fresh random affine distortions
  DistortRanges distort_ranges;
  float keep_original = 0.1f;  // with distort: fraction of images left undistorted in a pass
  bool eval_train = false;     // after each pass, also measure accuracy on the whole training set
  LossKind loss = LossKind::CrossEntropy;
  float map_j = kDefaultMapJ;
  std::uint64_t seed = 1;
  int threads = 0;  // 0 = default_threads()
};

// The paper's learning rates for SDLM by pass (Appendix C): 0.0005 for passes 1–2, 0.0002 for 3–5,
// 0.0001 for 6–8, 0.00005 for 9–12, 0.00001 after.
std::vector<float> paper_sdlm_schedule(int epochs);

// Cosine annealing by pass (Loshchilov and Hutter 2017, per epoch, no restarts): pass e (0-based) of
// `epochs` trains at lr · (1 + cos(π e / epochs)) / 2, from lr down to a few thousandths of it in the last.
std::vector<float> cosine_schedule(float lr, int epochs);

// The optimiser an architecture trains with by default: SDLM for the paper's net, momentum for the modern.
OptimizerKind default_optimizer(Arch arch);

// The library's recipe for an architecture and optimiser, which `lenet train` and `lenet bench` start from:
// epochs (20 for SDLM as in the paper, 12 otherwise; `epochs` > 0 overrides), batch (1 for SDLM, 64
// otherwise), the learning rate (SDLM: the paper's schedule by pass; momentum/SGD: 0.02 for lenet5 and
// 0.002 for lenet5-1998, found by one-epoch sweeps on MNIST's training set; Adam 0.001), step decay ×0.5
// every 4 epochs, momentum 0.9, SDLM's μ = 0.5 (docs/reproduction.md says why not the paper's 0.02),
// and the architecture's own loss.
TrainConfig default_train_config(Arch arch, OptimizerKind optimizer, int epochs = 0);

// Sets the first pass's learning rate to lr: a schedule by pass (lr_by_epoch) is rescaled as a whole.
void scale_learning_rate(TrainConfig& config, float lr);

// The recipe that fixes a run's result, in the one schema checkpoints and model files share: the config
// (all but `epochs`, which a resumed run may raise, and `threads`, given resolved), and the sizes and
// CRC-32 of the training and test images and labels.
nlohmann::json train_recipe(const TrainConfig& config, int threads, const Dataset& train_set,
                            const Dataset* test_set);

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

// {"epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "train_eval_accuracy", "test_loss",
//  "seconds", "images"}: the fields under their own names (checkpoints read it back, field by field).
nlohmann::json to_json(const EpochStats& stats);

}  // namespace lenet
