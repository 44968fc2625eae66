// train(): the paper's loop — shuffle, steps, evaluation, per epoch — over a TrainRun, with the run's
// state handed to the checkpoint callback between steps and at each epoch's end.
#include "lenet/trainer.h"

#include <chrono>

namespace lenet {

namespace {

using Clock = std::chrono::steady_clock;

// When to hand over a checkpoint and what the last one was, for the messages of a stop or a divergence.
class Checkpointer {
 public:
  Checkpointer(const TrainCallbacks& cb, const TrainRun& run, const TrainState* resume)
      : cb_(cb), run_(run), last_(Clock::now()) {
    if (resume && saving()) last_written_ = describe_position(*resume, run.train_images());
  }
  bool saving() const { return bool(cb_.on_checkpoint); }
  bool stop_requested() const { return cb_.stop && cb_.stop->load(std::memory_order_relaxed); }
  bool due() const {
    return saving() && cb_.checkpoint_every > 0 &&
           std::chrono::duration<double>(Clock::now() - last_).count() >= cb_.checkpoint_every;
  }
  void save(const Lenet5& model) {
    const TrainState state = run_.snapshot();
    cb_.on_checkpoint(model, state);
    last_ = Clock::now();
    last_written_ = describe_position(state, run_.train_images());
  }
  [[noreturn]] void interrupted() const {
    throw TrainingInterrupted(
        "training stopped at " + run_.where() +
        (saving() ? "; checkpoint saved to " + cb_.checkpoint_name : "; no checkpoint was asked for"));
  }
  // The divergence's message, with the checkpoint it leaves in place.
  [[noreturn]] void diverged(const TrainingError& e) const {
    if (last_written_.empty()) throw e;
    throw TrainingError(std::string(e.what()) + "; the last good checkpoint, " + cb_.checkpoint_name +
                        " at " + last_written_ + ", is kept");
  }

 private:
  const TrainCallbacks& cb_;
  const TrainRun& run_;
  Clock::time_point last_;
  std::string last_written_;  // where the checkpoint saved last stands; empty while there is none
};

}  // namespace

std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& config, const TrainCallbacks& cb, const TrainState* resume) {
  TrainRun run(model, train_set, test_set, config);
  if (resume) run.restore(*resume);
  Checkpointer checkpoints(cb, run, resume);
  try {
    while (!run.finished()) {
      run.begin_epoch();
      while (!run.epoch_done()) {
        const bool stepped = run.step();
        if (cb.on_batch) cb.on_batch(run.progress());
        if (!stepped || run.epoch_done()) continue;  // between steps; the epoch's end has its own checkpoint
        const bool stop = checkpoints.stop_requested();
        if (checkpoints.saving() && (stop || checkpoints.due())) {
          run.check_parameters();
          checkpoints.save(model);
        }
        if (stop) checkpoints.interrupted();
      }
      const EpochStats stats = run.end_epoch();
      if (checkpoints.saving()) checkpoints.save(model);
      if (cb.on_epoch) cb.on_epoch(stats);
      if (checkpoints.stop_requested() && !run.finished()) checkpoints.interrupted();
    }
  } catch (const TrainingError& e) {
    checkpoints.diverged(e);
  }
  return run.history();
}

}  // namespace lenet
