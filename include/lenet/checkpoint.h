// Checkpoints of a training run: the model's parameters and the run's state (TrainState) in one model
// file (model_file.h), so a checkpoint shares its format version, CRC-32, checks and atomic save; and
// train() with checkpoints written to a file.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "lenet/lenet5.h"
#include "lenet/model_file.h"
#include "lenet/trainer.h"

namespace lenet {

// A checkpoint is a ModelFile with
//   arch     the model's architecture ("lenet5", "lenet5-1998")
//   config   {"checkpoint": {"version": kCheckpointVersion, "recipe": {...}, "epoch", "position", "step",
//             "loss_sum", "correct", "seconds", "optimizer_steps",
//             "rng": {"shuffle": [4 × u64], "hessian": [...], "distort": [...]},
//             "history": [{"epoch", "lr", "train_loss", "train_accuracy", "test_accuracy",
//                          "train_eval_accuracy", "test_loss", "seconds", "images"}, ...]}}
//   tensors  the model's tensors (as save_lenet5 writes them), then
//            "train.order" [n] and, for SDLM, "train.hessian_order" [n]: permutations of 0..n−1, each index
//            stored as an exactly representable float (hence at most kMaxCheckpointImages images);
//            "optimizer.m" [P] and "optimizer.v" [P] when the optimiser has them (P = parameters).
// Doubles are written as JSON numbers, which round-trip exactly.
inline constexpr int kCheckpointVersion = 1;
inline constexpr long long kMaxCheckpointImages = 1ll << 24;

struct Checkpoint {
  Lenet5 model;
  TrainState state;
};

// Atomic (temporary file, fsync, rename); throws ModelFileError naming the path on failure, leaving the
// previous file whole.
void save_checkpoint(const std::string& path, const Lenet5& model, const TrainState& state);

// Throws ModelFileError naming the file for anything model files refuse, for a model file that is not a
// checkpoint, and for a checkpoint whose fields are missing, of the wrong type, out of range or
// inconsistent (e.g. an order that is not a permutation). Never returns a state train() could misuse.
Checkpoint load_checkpoint(const std::string& path);
Checkpoint parse_checkpoint(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors);
Checkpoint checkpoint_from_model_file(ModelFile file, const std::string& name_for_errors);

// Checkpoints and stopping, for train() below. A checkpoint is written atomically after every epoch and,
// with every_seconds > 0, between steps once that much time has passed since the last one; a crash at any
// instant leaves the previous checkpoint whole.
struct TrainCheckpointing {
  std::string path;          // empty: no checkpoints
  double every_seconds = 0;  // 0: after each epoch only
  // Raised (e.g. by a signal handler): train() finishes the current step, writes the checkpoint and throws
  // TrainingInterrupted.
  const std::atomic<bool>* stop = nullptr;
  // Go on from here (the model must hold the parameters saved with it): the recipe must match the run's,
  // else CheckpointMismatch names what differs.
  const TrainState* resume = nullptr;
};

// train() (trainer.h) with its checkpoints saved to checkpointing.path by save_checkpoint().
std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& config, const TrainCallbacks& callbacks,
                              const TrainCheckpointing& checkpointing);

}  // namespace lenet
