// Training LeNet-5: train() runs the paper's loop over a TrainRun (train_run.h) and reports through
// callbacks — progress, epochs, and the states to checkpoint, which it hands over and never writes itself.
// Batch engine: engine.h. Evaluation: evaluate.h. What to train with: train_config.h.
#pragma once
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/dataset.h"
#include "lenet/engine.h"
#include "lenet/evaluate.h"
#include "lenet/lenet5.h"
#include "lenet/train_config.h"
#include "lenet/train_run.h"

namespace lenet {

// Training stopped because TrainCallbacks::stop was raised; the message says where, and whether (and
// where) the checkpoint to resume from was saved.
struct TrainingInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainCallbacks {
  std::function<void(const BatchProgress&)> on_batch;  // after each optimiser step
  std::function<void(const EpochStats&)> on_epoch;     // after the epoch's evaluation and checkpoint
  // Saves a checkpoint (checkpoint.h writes one atomically): called after every epoch and, with
  // checkpoint_every > 0, between steps once that many seconds have passed since the last one. Only
  // states whose parameters are all finite are handed over. checkpoint_name says where, in messages.
  std::function<void(const Lenet5&, const TrainState&)> on_checkpoint;
  std::string checkpoint_name;
  double checkpoint_every = 0;  // seconds; 0: after each epoch only
  // Raised (e.g. by a signal handler): train() finishes the current step, hands over the checkpoint and
  // throws TrainingInterrupted.
  const std::atomic<bool>* stop = nullptr;
};

// Initialises nothing: the model arrives initialised (or loaded, with `resume` the state saved with it,
// which must belong to this run: else CheckpointMismatch names what differs). Returns one entry per epoch
// (with resume, the saved epochs first). A NaN or infinity in the loss or in a gradient throws
// TrainingError naming the epoch, the step and the tensors; no checkpoint is handed over after it, so the
// last one stays the last good state.
std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& config, const TrainCallbacks& callbacks = {},
                              const TrainState* resume = nullptr);

}  // namespace lenet
