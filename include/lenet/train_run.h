// One training run in progress (TrainRun): the model it trains, the engine, the optimiser, the random
// streams, the training order and the history, with the whole state between two steps as a TrainState
// that snapshot() gives and restore() takes back. No file I/O: checkpoint.h stores TrainStates.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/dataset.h"
#include "lenet/engine.h"
#include "lenet/lenet5.h"
#include "lenet/optimizer.h"
#include "lenet/rng.h"
#include "lenet/train_config.h"

namespace lenet {

// Training could not go on (e.g. the loss became NaN or infinite); the message says where and why.
struct TrainingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A state to resume from that does not belong to this run: another recipe, other data or --threads,
// more epochs done than asked for, or orders and optimiser state of other sizes. The message names what
// differs.
struct CheckpointMismatch : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Everything a run needs, besides the model's parameters, to go on exactly as if it had never stopped.
// Taken between optimiser steps (parameter gradients are then zero) and stored in checkpoints.
struct TrainState {
  // What a resumed run must share with the one that wrote the state (train_recipe()).
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
  // Weight averaging: the mean of the parameters at the ends of average_count epochs (empty before any).
  // Not stored in checkpoint files: restore() refuses a state from inside the averaging window without it.
  std::vector<float> average;
  int average_count = 0;
  std::vector<EpochStats> history;  // the epochs completed, as train() returns them
};

// A pass "stuck near chance": its training error is at least this fraction of chance's (1 - 1/kClasses),
// over at least this many optimiser steps (so that full-batch or tiny runs, a few steps a pass, are exempt).
inline constexpr double kStuckErrorOfChance = 0.9;
inline constexpr long long kStuckMinSteps = 100;

// "the end of epoch 2" or "epoch 3, image 640 of 60000": where a state stands, for messages.
std::string describe_position(const TrainState& state, int train_images);

struct BatchProgress {
  int epoch = 0, epochs = 0;
  long long done = 0, total = 0;  // images this epoch
  double running_loss = 0;
  double seconds = 0;  // since the epoch began
};

// The paper's loop, one call per stage: begin_epoch() (shuffle, distort, SDLM's curvature estimate),
// step() until epoch_done(), end_epoch() (check, evaluate, record). The model arrives initialised or
// loaded; the datasets and the model must outlive the run.
class TrainRun {
 public:
  // Throws std::invalid_argument for a dataset the model cannot read.
  TrainRun(Lenet5& model, const Dataset& train_set, const Dataset* test_set, const TrainConfig& config);

  // The state between steps (or at an epoch's end), for a checkpoint.
  TrainState snapshot() const;
  // Goes on from `state` (the model must hold the parameters saved with it). Throws CheckpointMismatch
  // naming what differs when the state was not written by this run's recipe, data and threads.
  void restore(const TrainState& state);

  bool finished() const { return epoch_ >= config_.epochs; }
  bool epoch_done() const { return position_ == n_train_; }
  void begin_epoch();
  // Trains on the next chunk of the epoch: one optimiser step, or with a full batch one chunk of its
  // gradient sum (the step comes with the last). Returns whether a step was taken. Throws TrainingError
  // naming the epoch, the step and the tensors when the loss or a gradient is NaN or infinite.
  bool step();
  // Checks the parameters, takes them into the weight average (average_last), evaluates (test set;
  // training set with eval_train) and records the epoch. After the last epoch with average_last > 0 the
  // model holds the average, and that is what is evaluated. Throws TrainingError when the training error
  // has stayed near chance for two passes of at least kStuckMinSteps steps each (the 1998 network saturated
  // by a small SDLM mu does that from the first pass on, and never recovers).
  EpochStats end_epoch();
  // Throws TrainingError naming the tensors if a parameter is NaN or infinite (a state never saved).
  void check_parameters() const;

  BatchProgress progress() const;
  const std::vector<EpochStats>& history() const { return history_; }
  int train_images() const { return n_train_; }
  std::string where() const;  // describe_position() of the run as it stands
  int threads() const { return engine_.threads(); }

 private:
  using Clock = std::chrono::steady_clock;
  void estimate_hessian();
  void take_into_average();
  void check_learning() const;
  double seconds_now() const;
  [[noreturn]] void diverged(const std::string& what) const;
  const nlohmann::json& recipe() const;

  Lenet5& model_;
  const Dataset& train_set_;
  const Dataset* test_set_;
  TrainConfig config_;
  int n_train_;
  bool full_batch_;
  int batch_;       // images per step
  int step_chunk_;  // images per engine call: the batch, or with a full batch a chunk of it
  bool sdlm_;
  Engine engine_;
  Optimizer optimizer_;
  // Independent streams, so that e.g. turning distortions on does not change the shuffling.
  Rng shuffle_rng_, hessian_rng_, distort_rng_;
  std::vector<int> order_, hessian_order_;
  std::vector<float> hessian_;
  std::vector<float> average_;  // weight averaging's running mean
  int average_count_ = 0;
  Dataset distorted_;              // with distortions: this pass's fresh distorted copy of the training set
  mutable nlohmann::json recipe_;  // computed when first asked for (a CRC-32 over the data)

  // Where the run is.
  int epoch_ = 0;
  long long position_ = 0, step_ = 0, correct_ = 0;
  double loss_sum_ = 0, seconds_before_ = 0;
  float lr_ = 0;
  Clock::time_point t0_;
  std::array<std::uint64_t, 4> distort_at_start_{};
  std::vector<EpochStats> history_;
};

}  // namespace lenet
