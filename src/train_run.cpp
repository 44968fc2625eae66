// The training run: its state, the paper's loop taken one stage at a time, the snapshot a checkpoint
// stores and the checks that a state to resume from belongs to this run.
#include "lenet/train_run.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "lenet/distort.h"
#include "lenet/evaluate.h"

namespace lenet {

namespace {

// "C3.weight (12 values), F6.bias (84 values)": the tensors of the model's layout with a NaN or infinity.
std::string non_finite_tensors(const Lenet5& model, const std::vector<float>& values) {
  std::string names;
  for (const TensorInfo& t : model.tensors()) {
    std::size_t bad = 0;
    for (std::size_t i = t.offset; i < t.offset + t.count; ++i) bad += !std::isfinite(values[i]);
    if (bad == 0) continue;
    if (!names.empty()) names += ", ";
    names += t.name + " (" + std::to_string(bad) + (bad == 1 ? " value)" : " values)");
  }
  return names;
}

// Where a resumed run's recipe departs from the checkpoint's, as "key: A in the checkpoint, B here; ...".
// lr_by_epoch may differ in length (a resumed run may have more epochs) but must agree where both have it.
std::string recipe_differences(const nlohmann::json& saved, const nlohmann::json& now,
                               const std::string& at) {
  std::string out;
  const auto add = [&](const std::string& key, const nlohmann::json& a, const nlohmann::json& b) {
    out += (out.empty() ? "" : "; ") + key + ": " + a.dump() + " in the checkpoint, " + b.dump() + " here";
  };
  if (!saved.is_object() || !now.is_object()) {
    if (saved != now) add(at.empty() ? "recipe" : at, saved, now);
    return out;
  }
  std::vector<std::string> keys;
  for (const auto& [k, v] : saved.items()) keys.push_back(k);
  for (const auto& [k, v] : now.items())
    if (!saved.contains(k)) keys.push_back(k);
  for (const std::string& k : keys) {
    const std::string key = at.empty() ? k : at + "." + k;
    const nlohmann::json a = saved.contains(k) ? saved[k] : nlohmann::json(),
                         b = now.contains(k) ? now[k] : nlohmann::json();
    if (k == "lr_by_epoch" && a.is_array() && b.is_array()) {
      const std::size_t common = std::min(a.size(), b.size());
      for (std::size_t i = 0; i < common; ++i)
        if (a[i] != b[i]) add(key + "[" + std::to_string(i) + "]", a[i], b[i]);
    } else if (a.is_object() && b.is_object()) {
      const std::string inner = recipe_differences(a, b, key);
      if (!inner.empty()) out += (out.empty() ? "" : "; ") + inner;
    } else if (a != b) {
      add(key, a, b);
    }
  }
  return out;
}

int checked_train_count(const Dataset& train_set, const Dataset* test_set, LossKind loss) {
  check_dataset_fits(train_set, "training set");
  // Outliers (kOutlierLabel) have a target only under the cross-entropy (the uniform distribution).
  for (std::size_t i = 0; i < train_set.labels.size(); ++i)
    if (train_set.labels[i] >= kClasses &&
        (train_set.labels[i] != kOutlierLabel || loss != LossKind::CrossEntropy))
      throw std::invalid_argument(
          "training label " + std::to_string(i) + " is " + std::to_string(train_set.labels[i]) +
          "; expected 0.." + std::to_string(kClasses - 1) +
          (loss == LossKind::CrossEntropy ? " or an outlier" : " (outliers need xent)"));
  if (test_set) check_dataset_fits(*test_set, "test set");
  return train_set.count;
}

// Full batch: gradients of the whole set are summed chunk by chunk, then one step.
constexpr int kFullBatchChunk = 1024;

}  // namespace

std::string describe_position(const TrainState& s, int train_images) {
  return s.position == 0 ? "the end of epoch " + std::to_string(s.epoch)
                         : "epoch " + std::to_string(s.epoch + 1) + ", image " + std::to_string(s.position) +
                               " of " + std::to_string(train_images);
}

TrainRun::TrainRun(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                   const TrainConfig& config)
    : model_(model),
      train_set_(train_set),
      test_set_(test_set),
      config_(config),
      n_train_(checked_train_count(train_set, test_set, config.loss)),
      full_batch_(config.batch <= 0 || config.batch >= n_train_),
      batch_(full_batch_ ? n_train_ : config.batch),
      step_chunk_(full_batch_ ? std::min(kFullBatchChunk, n_train_) : batch_),
      sdlm_(config.optimizer.kind == OptimizerKind::Sdlm),
      engine_(model, config.threads, std::max(step_chunk_, sdlm_ ? config.hessian_samples : 0)),
      optimizer_(config.optimizer, model.params.size()),
      shuffle_rng_(config.seed ^ 0x5EED5EED5EEDull),
      hessian_rng_(config.seed ^ 0x4E55141Aull),
      distort_rng_(config.seed ^ 0xD1570127ull),
      order_(std::size_t(n_train_)),
      hessian_(sdlm_ ? model.params.size() : 0) {
  std::iota(order_.begin(), order_.end(), 0);
  hessian_order_ = order_;
  if (config.distort) distorted_ = train_set;
}

const nlohmann::json& TrainRun::recipe() const {
  if (recipe_.is_null()) recipe_ = train_recipe(config_, engine_.threads(), train_set_, test_set_);
  return recipe_;
}

TrainState TrainRun::snapshot() const {
  TrainState s;
  s.recipe = recipe();
  s.epoch = epoch_;
  s.position = position_;
  s.step = step_;
  s.loss_sum = loss_sum_;
  s.correct = correct_;
  const bool within = position_ > 0;
  s.seconds = within ? seconds_now() : 0;
  s.shuffle_rng = shuffle_rng_.state;
  s.hessian_rng = hessian_rng_.state;
  s.distort_rng = within ? distort_at_start_ : distort_rng_.state;
  s.order = order_;
  if (sdlm_) s.hessian_order = hessian_order_;
  s.optimizer_m = optimizer_.m;
  s.optimizer_v = optimizer_.v;
  s.optimizer_steps = optimizer_.steps;
  s.average = average_;
  s.average_count = average_count_;
  s.history = history_;
  return s;
}

void TrainRun::restore(const TrainState& s) {
  const std::string diff = recipe_differences(s.recipe, recipe(), "");
  if (!diff.empty())
    throw CheckpointMismatch("the checkpoint was written by a different run (" + diff +
                             "); resume with the arguments, data and --threads it was written with");
  if (s.epoch + (s.position > 0) > config_.epochs)
    throw CheckpointMismatch("the checkpoint is at " + describe_position(s, n_train_) + ", beyond the " +
                             std::to_string(config_.epochs) + " epochs asked for");
  if (s.order.size() != order_.size() || s.position >= n_train_ ||
      s.optimizer_m.size() != optimizer_.m.size() || s.optimizer_v.size() != optimizer_.v.size() ||
      (sdlm_ && s.hessian_order.size() != hessian_order_.size()) ||
      s.history.size() != std::size_t(s.epoch) ||
      (s.average_count > 0 && s.average.size() != model_.params.size()))
    throw CheckpointMismatch(
        "the checkpoint's state does not fit this run (sizes of the orders, optimiser state or history)");
  // Checkpoint files do not store the weight average (its format is unchanged): a state from inside the
  // averaging window without it would silently average fewer epochs, so it is refused.
  const int averaged = std::max(0, s.epoch - (config_.epochs - config_.average_last));
  if (config_.average_last > 0 && averaged > 0 && s.average_count < averaged)
    throw CheckpointMismatch("the checkpoint is at " + describe_position(s, n_train_) + ", inside the last " +
                             std::to_string(config_.average_last) +
                             " epochs whose weights --average-last averages, and checkpoint files do not "
                             "keep that average; run those epochs again from a checkpoint before them");
  epoch_ = s.epoch;
  position_ = s.position;
  step_ = s.step;
  loss_sum_ = s.loss_sum;
  correct_ = s.correct;
  seconds_before_ = s.seconds;
  history_ = s.history;
  order_ = s.order;
  if (sdlm_) hessian_order_ = s.hessian_order;
  shuffle_rng_.state = s.shuffle_rng;
  hessian_rng_.state = s.hessian_rng;
  distort_rng_.state = s.distort_rng;
  optimizer_.m = s.optimizer_m;
  optimizer_.v = s.optimizer_v;
  optimizer_.steps = s.optimizer_steps;
  average_ = s.average;
  average_count_ = s.average_count;
}

// SWA's running mean, one epoch's end at a time: the same additions in the same order on every run, so a
// resumed run averages bit for bit as an uninterrupted one.
void TrainRun::take_into_average() {
  if (average_count_ == 0) average_.assign(model_.params.size(), 0.0f);
  ++average_count_;
  const float w = 1.0f / float(average_count_);
  for (std::size_t i = 0; i < average_.size(); ++i) average_[i] += (model_.params[i] - average_[i]) * w;
}

// Appendix C: before every pass, average the Gauss–Newton second derivatives over a few hundred random
// patterns, then hold the per-parameter step sizes fixed (until the next estimate).
void TrainRun::estimate_hessian() {
  const int samples = std::min(config_.hessian_samples, n_train_);
  shuffle(hessian_order_.data(), hessian_order_.size(), hessian_rng_);
  std::fill(hessian_.begin(), hessian_.end(), 0.0f);
  const Dataset& pass_set = config_.distort ? distorted_ : train_set_;
  engine_.accumulate_hessian(hessian_.data(), model_, pass_set, hessian_order_.data(), samples);
  for (float& h : hessian_) h /= float(samples);
  optimizer_.set_hessian(hessian_);
}

void TrainRun::begin_epoch() {
  lr_ = epoch_ < int(config_.lr_by_epoch.size())
            ? config_.lr_by_epoch[std::size_t(epoch_)]
            : step_decay_lr(config_.lr, config_.lr_gamma, config_.lr_step, epoch_);
  // A run restored within this epoch has its order, curvature and counts back already; its distortions
  // are drawn again from the stream as it stood at the start of the epoch.
  const bool restored_within = position_ > 0;
  distort_at_start_ = distort_rng_.state;
  if (!restored_within) shuffle(order_.data(), order_.size(), shuffle_rng_);
  if (config_.distort)
    distort_dataset(distorted_, train_set_, config_.distort_ranges, config_.keep_original, distort_rng_,
                    engine_.threads());
  t0_ = Clock::now();
  if (sdlm_ && !restored_within) estimate_hessian();
  if (!restored_within) {
    loss_sum_ = seconds_before_ = 0;
    correct_ = step_ = 0;
  }
  model_.zero_grad();
}

bool TrainRun::step() {
  const long long first = position_;
  const int n = int(std::min<long long>(step_chunk_, n_train_ - first));
  const Dataset& pass_set = config_.distort ? distorted_ : train_set_;
  const int* indices = order_.data() + first;
  // A mini-batch is one step, taken by the engine's threads as they sum the gradients; full-batch chunks
  // only add up their gradients until the last one.
  const Engine::Pass p = full_batch_
                             ? engine_.accumulate_gradients(model_, pass_set, indices, n, config_.loss,
                                                            config_.map_j, 1.0f / batch_)
                             : engine_.train_step(model_, pass_set, indices, n, config_.loss, config_.map_j,
                                                  1.0f / batch_, optimizer_, lr_);
  if (!p.finite) {
    const std::string bad = non_finite_tensors(model_, model_.grads);
    std::ostringstream msg;
    msg << "at epoch " << epoch_ + 1 << ", step " << step_ + 1 << " (step " << optimizer_.steps + 1
        << " of the run, images " << first + 1 << "-" << first + n << " of " << n_train_
        << ") the loss became " << p.loss_sum;
    if (!bad.empty()) msg << " and the gradients of " << bad << " became NaN or infinite";
    const std::string bad_params = non_finite_tensors(model_, model_.params);
    if (!bad_params.empty()) msg << "; the parameters of " << bad_params << " were already NaN or infinite";
    diverged(msg.str());
  }
  loss_sum_ += p.loss_sum;
  correct_ += p.correct;
  position_ += n;
  if (full_batch_ && position_ < n_train_) return false;
  if (full_batch_) {
    optimizer_.step(model_.params, model_.grads, lr_);
    model_.zero_grad();
  }
  ++step_;
  if (sdlm_ && config_.hessian_interval > 0 && position_ < n_train_ &&
      position_ % config_.hessian_interval < n)
    estimate_hessian();
  return true;
}

EpochStats TrainRun::end_epoch() {
  EpochStats st;
  st.seconds = seconds_now();
  st.epoch = epoch_ + 1;
  st.lr = lr_;
  st.train_loss = loss_sum_ / n_train_;
  st.train_accuracy = double(correct_) / n_train_;
  st.images = n_train_;
  check_parameters();
  if (config_.average_last > 0 && epoch_ >= config_.epochs - config_.average_last) {
    take_into_average();
    if (epoch_ + 1 == config_.epochs) std::copy(average_.begin(), average_.end(), model_.params.begin());
  }
  if (config_.eval_train) st.train_eval_accuracy = evaluate(model_, train_set_, engine_.threads()).accuracy;
  if (test_set_) {
    const EvalResult r = evaluate(model_, *test_set_, engine_.threads());
    st.test_accuracy = r.accuracy;
    st.test_loss = r.loss;
  }
  history_.push_back(st);
  check_learning();
  ++epoch_;
  position_ = step_ = correct_ = 0;
  loss_sum_ = seconds_before_ = 0;
  return st;
}

// Two passes in a row at chance: the run has failed; say so now instead of running the remaining passes.
void TrainRun::check_learning() const {
  const long long steps = full_batch_ ? 1 : (n_train_ + batch_ - 1) / batch_;
  const double chance_error = 1.0 - 1.0 / kClasses;
  const auto stuck = [&](const EpochStats& e) {
    return 1 - e.train_accuracy >= kStuckErrorOfChance * chance_error;
  };
  if (steps < kStuckMinSteps || history_.size() < 2 || !stuck(history_.back()) ||
      !stuck(history_[history_.size() - 2]))
    return;
  std::ostringstream msg;
  msg.precision(3);
  msg << "training is stuck: the training error was "
      << 100 * (1 - history_[history_.size() - 2].train_accuracy) << "% in epoch " << epoch_ << " and "
      << 100 * (1 - history_.back().train_accuracy) << "% in epoch " << epoch_ + 1 << ", near chance ("
      << 100 * chance_error << "%), so the network is not learning; stopped instead of running the remaining "
      << config_.epochs - epoch_ - 1 << " epochs"
      << (sdlm_ ? " (with SDLM its units saturate when --sdlm-mu is too small: docs/reproduction.md)"
                : " (try a smaller --lr)");
  throw TrainingError(msg.str());
}

void TrainRun::check_parameters() const {
  if (all_finite(model_.params)) return;
  diverged("after epoch " + std::to_string(epoch_ + 1) + ", step " + std::to_string(step_) + " (step " +
           std::to_string(optimizer_.steps) + " of the run) the parameters of " +
           non_finite_tensors(model_, model_.params) + " are NaN or infinite");
}

std::string TrainRun::where() const {
  TrainState s;
  s.epoch = epoch_;
  s.position = position_;
  return describe_position(s, n_train_);
}

BatchProgress TrainRun::progress() const {
  return {epoch_ + 1, config_.epochs, position_, n_train_, loss_sum_ / double(position_), seconds_now()};
}

double TrainRun::seconds_now() const {
  return seconds_before_ + std::chrono::duration<double>(Clock::now() - t0_).count();
}

void TrainRun::diverged(const std::string& what) const {
  std::ostringstream msg;
  msg << "training diverged: " << what << " (learning rate " << lr_ << "); try a smaller --lr";
  throw TrainingError(msg.str());
}

}  // namespace lenet
