// The batch engine (threads over the batch, deterministic reduction) and the training/evaluation loops.
// Nothing is allocated per step: activations and per-thread gradients are sized when the engine is built.
#include "lenet/trainer.h"

#include <omp.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "lenet/checkpoint.h"
#include "lenet/distort.h"
#include "lenet/loss.h"

namespace lenet {

namespace {

constexpr int kMaxChunk = 16;  // samples per forward/backward call: their activations stay in L2
constexpr int kMinSlice = 8;   // fewer samples than this per thread is not worth a thread

void fill_inputs(Activations& a, const Dataset& data, const int* indices, int first, int n) {
  for (int i = 0; i < n; ++i) {
    const int idx = indices ? indices[first + i] : first + i;
    image_to_input(a.input.data() + std::size_t(i) * kInputSize, data.image(idx), data.rows, data.cols);
  }
}

// The slice work of a gradient pass: the loss of a chunk whose forward pass is done, then its backward,
// adding into the slice's arena.
auto gradient_work(const Lenet5& model, LossKind loss, float map_j, float grad_scale) {
  return [&model, loss, map_j, grad_scale](Activations& a, const std::uint8_t* labels, int m, float* arena) {
    const double l = lenet5_loss(model, a, labels, m, loss, map_j, grad_scale);
    lenet5_backward(model, a, arena, m);
    return l;
  };
}

}  // namespace

int default_threads() { return std::max(1, omp_get_num_procs()); }

Engine::Engine(const Lenet5& model, int threads, int max_batch)
    : threads_(threads > 0 ? threads : default_threads()) {
  const int per_thread = std::clamp((std::max(max_batch, 1) + threads_ - 1) / threads_, 1, kMaxChunk);
  for (int t = 0; t < threads_; ++t) acts_.emplace_back(model, per_thread);
  passes_.resize(std::size_t(threads_));
  bad_.resize(std::size_t(threads_));
  if (threads_ > 1) grads_.assign(threads_, AlignedFloats(model.params.size()));
}

int Engine::slices_for(int n) const { return std::clamp(n / kMinSlice, 1, threads_); }

namespace {

// Non-zero when some value is NaN or infinite (all exponent bits set); an OR-reduction that vectorises.
std::uint32_t non_finite_bits(const float* p, std::size_t n) {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i)
    bad |= (std::bit_cast<std::uint32_t>(p[i]) & 0x7f800000u) == 0x7f800000u;
  return bad;
}

}  // namespace

template <typename SliceWork, typename Finish>
Engine::Pass Engine::accumulate(float* target, const Lenet5& model, const Dataset& data, const int* indices,
                                int n, const SliceWork& work, const Finish& finish) {
  const int slices = slices_for(n);
  const std::size_t count = model.params.size();
  auto run_slice = [&](int t, float* arena) {
    Activations& a = acts_[std::size_t(t)];
    const int lo = int(std::int64_t(n) * t / slices), hi = int(std::int64_t(n) * (t + 1) / slices);
    Pass p;
    std::uint8_t labels[kMaxChunk];
    for (int first = lo; first < hi; first += a.capacity) {
      const int m = std::min(a.capacity, hi - first);
      fill_inputs(a, data, indices, first, m);
      for (int i = 0; i < m; ++i)
        labels[i] = data.labels[std::size_t(indices ? indices[first + i] : first + i)];
      lenet5_forward(model, a, m);
      for (int i = 0; i < m; ++i)
        p.correct += model.predict_class(a.scores.data() + std::size_t(i) * kClasses) == labels[i];
      p.loss_sum += work(a, labels, m, arena);
    }
    passes_[std::size_t(t)] = p;
  };
  auto total = [&] {
    Pass sum;
    for (int t = 0; t < slices; ++t) {
      sum.loss_sum += passes_[std::size_t(t)].loss_sum;
      sum.correct += passes_[std::size_t(t)].correct;
    }
    return sum;
  };

  if (slices == 1) {
    run_slice(0, target);  // one slice adds straight into the target: no copy, no reduction
    Pass p = total();
    p.finite = std::isfinite(p.loss_sum) && non_finite_bits(target, count) == 0;
    if (p.finite) finish(std::size_t(0), count);
    return p;
  }
  Pass p;
#pragma omp parallel num_threads(slices)
  {
    // Slices are assigned by index, not by whichever thread arrives, so a short team still computes
    // exactly the same sums.
    for (int t = omp_get_thread_num(); t < slices; t += omp_get_num_threads())
      run_slice(t, t == 0 ? target : grads_[std::size_t(t)].data());
#pragma omp barrier
    // Reduce: each parameter sums its slices in slice order, whichever thread does it; the arenas are
    // left zeroed for the next call.
    const int me = omp_get_thread_num(), team = omp_get_num_threads();
    const std::size_t lo = count * std::size_t(me) / std::size_t(team);
    const std::size_t hi = count * std::size_t(me + 1) / std::size_t(team);
    for (int t = 1; t < slices; ++t) {
      float* g = grads_[std::size_t(t)].data();
      for (std::size_t i = lo; i < hi; ++i) target[i] += g[i];
      std::fill(g + lo, g + hi, 0.0f);
    }
    bad_[std::size_t(me)] = int(non_finite_bits(target + lo, hi - lo));
#pragma omp barrier
    // Every thread reaches the same verdict from the same shared values.
    Pass sum = total();
    for (int t = 0; t < team; ++t) sum.finite = sum.finite && bad_[std::size_t(t)] == 0;
    sum.finite = sum.finite && std::isfinite(sum.loss_sum);
    if (sum.finite) finish(lo, hi);
    if (me == 0) p = sum;
  }
  return p;
}

Engine::Pass Engine::accumulate_gradients(Lenet5& model, const Dataset& data, const int* indices, int n,
                                          LossKind loss, float map_j, float grad_scale) {
  return accumulate(model.grads.data(), model, data, indices, n,
                    gradient_work(model, loss, map_j, grad_scale), [](std::size_t, std::size_t) {});
}

Engine::Pass Engine::train_step(Lenet5& model, const Dataset& data, const int* indices, int n, LossKind loss,
                                float map_j, float grad_scale, Optimizer& optimizer, float lr) {
  const long long step = optimizer.steps + 1;
  const Pass p = accumulate(
      model.grads.data(), model, data, indices, n, gradient_work(model, loss, map_j, grad_scale),
      [&](std::size_t lo, std::size_t hi) {
        optimizer.update(model.params, model.grads, lr, lo, hi, step);
        std::fill(model.grads.begin() + std::ptrdiff_t(lo), model.grads.begin() + std::ptrdiff_t(hi), 0.0f);
      });
  if (p.finite) optimizer.steps = step;
  return p;
}

void Engine::accumulate_hessian(float* hessian, const Lenet5& model, const Dataset& data, const int* indices,
                                int n) {
  accumulate(
      hessian, model, data, indices, n,
      [&](Activations& a, const std::uint8_t* labels, int m, float* arena) {
        lenet5_backward_hessian(model, a, labels, arena, m);
        return 0.0;
      },
      [](std::size_t, std::size_t) {});
}

void Engine::forward_scores(const Lenet5& model, const Dataset& data, int first, int n, float* scores) {
  const int slices = slices_for(n);
#pragma omp parallel for num_threads(slices) schedule(static, 1)
  for (int t = 0; t < slices; ++t) {
    Activations& a = acts_[std::size_t(t)];
    const int lo = int(std::int64_t(n) * t / slices), hi = int(std::int64_t(n) * (t + 1) / slices);
    for (int start = lo; start < hi; start += a.capacity) {
      const int m = std::min(a.capacity, hi - start);
      fill_inputs(a, data, nullptr, first + start, m);
      lenet5_forward(model, a, m);
      std::copy(a.scores.begin(), a.scores.begin() + std::ptrdiff_t(m) * kClasses,
                scores + std::size_t(start) * kClasses);
    }
  }
}

void check_dataset_fits(const Dataset& data, const std::string& what) {
  if (data.count <= 0) throw std::invalid_argument(what + " is empty");
  if (data.rows > kInputSide || data.cols > kInputSide) {
    std::ostringstream msg;
    msg << what << " has " << data.rows << "x" << data.cols << " images; LeNet-5 reads at most " << kInputSide
        << "x" << kInputSide;
    throw std::invalid_argument(msg.str());
  }
}

EvalResult evaluate(const Lenet5& model, const Dataset& data, int threads) {
  check_dataset_fits(data, "evaluation set");
  constexpr int kEvalChunk = 1000;
  Engine engine(model, threads, kEvalChunk);
  EvalResult r;
  r.count = data.count;
  r.predictions.resize(std::size_t(data.count));
  std::vector<float> scores(std::size_t(kEvalChunk) * kClasses);
  std::vector<float> d_unused(scores.size());
  double loss_sum = 0;
  long long correct = 0;
  for (int first = 0; first < data.count; first += kEvalChunk) {
    const int n = std::min(kEvalChunk, data.count - first);
    engine.forward_scores(model, data, first, n, scores.data());
    const std::uint8_t* labels = data.labels.data() + first;
    switch (model.default_loss()) {
      case LossKind::CrossEntropy:
        loss_sum += softmax_cross_entropy(nullptr, scores.data(), labels, kClasses, n, 1.0f);
        break;
      default:
        loss_sum += rbf_map_loss(nullptr, scores.data(), labels, kClasses, n, kDefaultMapJ, 1.0f);
        break;
    }
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

std::vector<float> paper_sdlm_schedule(int epochs) {
  std::vector<float> lr;
  for (int pass = 1; pass <= epochs; ++pass)
    lr.push_back(pass <= 2    ? 0.0005f
                 : pass <= 5  ? 0.0002f
                 : pass <= 8  ? 0.0001f
                 : pass <= 12 ? 0.00005f
                              : 0.00001f);
  return lr;
}

namespace {

// True when no value is NaN or infinite.
bool all_finite(const float* p, std::size_t n) { return non_finite_bits(p, n) == 0; }

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

nlohmann::json data_identity(const Dataset& d) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes 32-bit lengths; chunks of 1 GiB keep any size in range.
  for (const auto* v : {&d.images, &d.labels})
    for (std::size_t at = 0; at < v->size(); at += std::size_t(1) << 30) {
      const std::size_t n = std::min(v->size() - at, std::size_t(1) << 30);
      crc = crc32(crc, v->data() + at, uInt(n));
    }
  return {{"count", d.count}, {"rows", d.rows}, {"cols", d.cols}, {"crc32", std::uint32_t(crc)}};
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

std::string epoch_position(const TrainState& s, int n_train) {
  return s.position == 0 ? "the end of epoch " + std::to_string(s.epoch)
                         : "epoch " + std::to_string(s.epoch + 1) + ", image " + std::to_string(s.position) +
                               " of " + std::to_string(n_train);
}

}  // namespace

nlohmann::json train_recipe(const TrainConfig& cfg, int threads, const Dataset& train_set,
                            const Dataset* test_set) {
  const OptimizerConfig& o = cfg.optimizer;
  const DistortRanges& d = cfg.distort_ranges;
  return {{"batch", cfg.batch},
          {"optimizer",
           {{"kind", std::string(optimizer_name(o.kind))},
            {"momentum", o.momentum},
            {"beta1", o.beta1},
            {"beta2", o.beta2},
            {"eps", o.eps},
            {"weight_decay", o.weight_decay},
            {"sdlm_mu", o.sdlm_mu}}},
          {"lr", cfg.lr},
          {"lr_gamma", cfg.lr_gamma},
          {"lr_step", cfg.lr_step},
          {"lr_by_epoch", cfg.lr_by_epoch},
          {"hessian_samples", cfg.hessian_samples},
          {"hessian_interval", cfg.hessian_interval},
          {"distort", cfg.distort},
          {"distort_ranges",
           {{"translate", d.translate}, {"scale", d.scale}, {"squeeze", d.squeeze}, {"shear", d.shear}}},
          {"keep_original", cfg.keep_original},
          {"eval_train", cfg.eval_train},
          {"loss", std::string(loss_name(cfg.loss))},
          {"map_j", cfg.map_j},
          {"seed", cfg.seed},
          {"threads", threads},
          {"train_set", data_identity(train_set)},
          {"test_set", test_set ? data_identity(*test_set) : nlohmann::json()}};
}

std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& cfg, const TrainCallbacks& callbacks,
                              const TrainCheckpointing& checkpointing) {
  using Clock = std::chrono::steady_clock;
  check_dataset_fits(train_set, "training set");
  if (test_set) check_dataset_fits(*test_set, "test set");
  const int n_train = train_set.count;
  const bool full_batch = cfg.batch <= 0 || cfg.batch >= n_train;
  const int batch = full_batch ? n_train : cfg.batch;
  // Full batch: gradients of the whole set are summed chunk by chunk, then one step.
  constexpr int kFullBatchChunk = 1024;
  const int step_chunk = full_batch ? std::min(kFullBatchChunk, n_train) : batch;
  const bool sdlm = cfg.optimizer.kind == OptimizerKind::Sdlm;
  Engine engine(model, cfg.threads, std::max(step_chunk, sdlm ? cfg.hessian_samples : 0));
  Optimizer optimizer(cfg.optimizer, model.params.size());
  // Independent streams, so that e.g. turning distortions on does not change the shuffling.
  Rng shuffle_rng(cfg.seed ^ 0x5EED5EED5EEDull);
  Rng hessian_rng(cfg.seed ^ 0x4E55141Aull);
  Rng distort_rng(cfg.seed ^ 0xD1570127ull);
  std::vector<int> order(static_cast<std::size_t>(n_train));
  std::iota(order.begin(), order.end(), 0);
  std::vector<int> hessian_order = order;
  std::vector<float> hessian(sdlm ? model.params.size() : 0);
  // With distortions each pass reads a fresh distorted copy of the training set.
  Dataset distorted;
  if (cfg.distort) distorted = train_set;
  const Dataset& pass_set = cfg.distort ? distorted : train_set;

  const bool checkpoints = !checkpointing.path.empty();
  const TrainState* resume = checkpointing.resume;
  TrainState state;  // what a checkpoint holds; filled in just before each one is written
  if (checkpoints || resume) state.recipe = train_recipe(cfg, engine.threads(), train_set, test_set);
  std::vector<EpochStats> history;
  int first_epoch = 0;
  if (resume) {
    const std::string diff = recipe_differences(resume->recipe, state.recipe, "");
    if (!diff.empty())
      throw std::invalid_argument("the checkpoint was written by a different run (" + diff +
                                  "); resume with the arguments, data and --threads it was written with");
    if (resume->epoch + (resume->position > 0) > cfg.epochs)
      throw std::invalid_argument("the checkpoint is at " + epoch_position(*resume, n_train) +
                                  ", beyond the " + std::to_string(cfg.epochs) + " epochs asked for");
    if (resume->order.size() != order.size() || resume->position >= n_train ||
        resume->optimizer_m.size() != optimizer.m.size() ||
        resume->optimizer_v.size() != optimizer.v.size() ||
        (sdlm && resume->hessian_order.size() != hessian_order.size()) ||
        resume->history.size() != std::size_t(resume->epoch))
      throw std::invalid_argument(
          "the checkpoint's state does not fit this run (sizes of the orders, "
          "optimiser state or history)");
    first_epoch = resume->epoch;
    history = resume->history;
    order = resume->order;
    if (sdlm) hessian_order = resume->hessian_order;
    shuffle_rng.state = resume->shuffle_rng;
    hessian_rng.state = resume->hessian_rng;
    distort_rng.state = resume->distort_rng;
    optimizer.m = resume->optimizer_m;
    optimizer.v = resume->optimizer_v;
    optimizer.steps = resume->optimizer_steps;
  }

  const auto stop_requested = [&] {
    return checkpointing.stop && checkpointing.stop->load(std::memory_order_relaxed);
  };
  auto last_checkpoint = Clock::now();
  // Where the checkpoint on disk stands, for messages; empty while there is none.
  std::string last_written = resume && checkpoints ? epoch_position(*resume, n_train) : "";
  const auto diverged = [&](const std::string& what, float lr) {
    std::ostringstream msg;
    msg << "training diverged: " << what << " (learning rate " << lr << "); try a smaller --lr";
    if (!last_written.empty())
      msg << "; the last good checkpoint, " << checkpointing.path << " at " << last_written << ", is kept";
    throw TrainingError(msg.str());
  };
  // Parameters are checked before anything is saved: no checkpoint ever holds a NaN.
  const auto check_parameters = [&](int epoch, long long step, float lr) {
    if (all_finite(model.params.data(), model.params.size())) return;
    diverged("after epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step) + " (step " +
                 std::to_string(optimizer.steps) + " of the run) the parameters of " +
                 non_finite_tensors(model, model.params) + " are NaN or infinite",
             lr);
  };
  const auto write_checkpoint = [&] {
    state.order = order;
    state.hessian_order = sdlm ? hessian_order : std::vector<int>();
    state.shuffle_rng = shuffle_rng.state;
    state.hessian_rng = hessian_rng.state;
    state.optimizer_m = optimizer.m;
    state.optimizer_v = optimizer.v;
    state.optimizer_steps = optimizer.steps;
    state.history = history;
    save_checkpoint(checkpointing.path, model, state);
    last_checkpoint = Clock::now();
    last_written = epoch_position(state, n_train);
  };
  const auto interrupted = [&](const std::string& where) {
    std::string msg = "training stopped at " + where;
    msg += checkpoints ? "; checkpoint saved to " + checkpointing.path : "; no checkpoint was asked for";
    throw TrainingInterrupted(msg);
  };

  for (int epoch = first_epoch; epoch < cfg.epochs; ++epoch) {
    const float lr = epoch < int(cfg.lr_by_epoch.size())
                         ? cfg.lr_by_epoch[std::size_t(epoch)]
                         : step_decay_lr(cfg.lr, cfg.lr_gamma, cfg.lr_step, epoch);
    // A run resumed within this epoch has its order and curvature back already; its distortions are
    // drawn again from the stream as it stood at the start of the epoch.
    const bool resumed_within = resume && epoch == resume->epoch && resume->position > 0;
    const std::array<std::uint64_t, 4> distort_at_start = distort_rng.state;
    if (!resumed_within) shuffle(order.data(), order.size(), shuffle_rng);
    if (cfg.distort)
      distort_dataset(distorted, train_set, cfg.distort_ranges, cfg.keep_original, distort_rng);
    const auto t0 = Clock::now();
    // Appendix C: before every pass, average the Gauss–Newton second derivatives over a few hundred
    // random patterns, then hold the per-parameter step sizes fixed (until the next estimate).
    auto estimate_hessian = [&] {
      const int samples = std::min(cfg.hessian_samples, n_train);
      shuffle(hessian_order.data(), hessian_order.size(), hessian_rng);
      std::fill(hessian.begin(), hessian.end(), 0.0f);
      engine.accumulate_hessian(hessian.data(), model, pass_set, hessian_order.data(), samples);
      for (float& h : hessian) h /= float(samples);
      optimizer.set_hessian(hessian);
    };
    if (sdlm && !resumed_within) estimate_hessian();
    double loss_sum = 0, seconds_before = 0;
    long long correct = 0, done = 0, step = 0;
    if (resumed_within) {
      loss_sum = resume->loss_sum;
      correct = resume->correct;
      done = resume->position;
      step = resume->step;
      seconds_before = resume->seconds;
    }
    const auto seconds_now = [&] {
      return seconds_before + std::chrono::duration<double>(Clock::now() - t0).count();
    };
    model.zero_grad();
    for (long long first = done; first < n_train; first += step_chunk) {
      const int n = int(std::min<long long>(step_chunk, n_train - first));
      // A mini-batch is one step, taken by the engine's threads as they sum the gradients; full-batch
      // chunks only add up their gradients until the last one.
      const Engine::Pass p = full_batch ? engine.accumulate_gradients(model, pass_set, order.data() + first,
                                                                      n, cfg.loss, cfg.map_j, 1.0f / batch)
                                        : engine.train_step(model, pass_set, order.data() + first, n,
                                                            cfg.loss, cfg.map_j, 1.0f / batch, optimizer, lr);
      if (!p.finite) {
        const std::string bad = non_finite_tensors(model, model.grads);
        std::ostringstream msg;
        msg << "at epoch " << epoch + 1 << ", step " << step + 1 << " (step " << optimizer.steps + 1
            << " of the run, images " << first + 1 << "-" << first + n << " of " << n_train
            << ") the loss became " << p.loss_sum;
        if (!bad.empty()) msg << " and the gradients of " << bad << " became NaN or infinite";
        const std::string bad_params = non_finite_tensors(model, model.params);
        if (!bad_params.empty())
          msg << "; the parameters of " << bad_params << " were already NaN or infinite";
        diverged(msg.str(), lr);
      }
      loss_sum += p.loss_sum;
      correct += p.correct;
      done += n;
      const bool step_now = !full_batch || done == n_train;
      if (step_now) {
        if (full_batch) {
          optimizer.step(model.params, model.grads, lr);
          model.zero_grad();
        }
        ++step;
        if (sdlm && cfg.hessian_interval > 0 && done < n_train && done % cfg.hessian_interval < n)
          estimate_hessian();
      }
      if (callbacks.on_batch)
        callbacks.on_batch({epoch + 1, cfg.epochs, done, n_train, loss_sum / double(done), seconds_now()});
      // Between steps, within the epoch (its end has a checkpoint of its own).
      if (!step_now || done == n_train) continue;
      const bool stop = stop_requested();
      const bool due = checkpointing.every_seconds > 0 &&
                       std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >=
                           checkpointing.every_seconds;
      if (!stop && !(checkpoints && due)) continue;
      state.epoch = epoch;
      state.position = done;
      state.step = step;
      state.loss_sum = loss_sum;
      state.correct = correct;
      state.seconds = seconds_now();
      state.distort_rng = distort_at_start;
      if (checkpoints) {
        check_parameters(epoch, step, lr);
        write_checkpoint();
      }
      if (stop) interrupted(epoch_position(state, n_train));
    }
    EpochStats st;
    st.seconds = seconds_now();
    st.epoch = epoch + 1;
    st.lr = lr;
    st.train_loss = loss_sum / n_train;
    st.train_accuracy = double(correct) / n_train;
    st.images = n_train;
    check_parameters(epoch, step, lr);
    if (cfg.eval_train) st.train_eval_accuracy = evaluate(model, train_set, engine.threads()).accuracy;
    if (test_set) {
      const EvalResult r = evaluate(model, *test_set, engine.threads());
      st.test_accuracy = r.accuracy;
      st.test_loss = r.loss;
    }
    history.push_back(st);
    state.epoch = epoch + 1;
    state.position = state.step = state.correct = 0;
    state.loss_sum = state.seconds = 0;
    state.distort_rng = distort_rng.state;
    if (checkpoints) write_checkpoint();
    if (callbacks.on_epoch) callbacks.on_epoch(st);
    if (stop_requested() && epoch + 1 < cfg.epochs) interrupted(epoch_position(state, n_train));
  }
  return history;
}

}  // namespace lenet
