// The batch engine (threads over the batch, deterministic reduction) and the training/evaluation loops.
// Nothing is allocated per step: activations and per-thread gradients are sized when the engine is built.
#include "lenet/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "lenet/distort.h"
#include "lenet/loss.h"

namespace lenet {

namespace {

constexpr int kMaxChunk = 128;  // samples per forward/backward call: bounds activation memory per thread
constexpr int kMinSlice = 8;    // fewer samples than this per thread is not worth a thread

void fill_inputs(Activations& a, const Dataset& data, const int* indices, int first, int n) {
  for (int i = 0; i < n; ++i) {
    const int idx = indices ? indices[first + i] : first + i;
    image_to_input(a.input.data() + std::size_t(i) * kInputSize, data.image(idx), data.rows, data.cols);
  }
}

}  // namespace

int default_threads() { return std::max(1, omp_get_num_procs()); }

Engine::Engine(const Lenet5& model, int threads, int max_batch)
    : threads_(threads > 0 ? threads : default_threads()) {
  const int per_thread = std::clamp((std::max(max_batch, 1) + threads_ - 1) / threads_, 1, kMaxChunk);
  for (int t = 0; t < threads_; ++t) acts_.emplace_back(model, per_thread);
  passes_.resize(std::size_t(threads_));
  if (threads_ > 1) grads_.assign(threads_, std::vector<float>(model.params.size()));
}

int Engine::slices_for(int n) const { return std::clamp(n / kMinSlice, 1, threads_); }

template <typename SliceWork>
Engine::Pass Engine::accumulate(float* target, const Lenet5& model, const Dataset& data, const int* indices,
                                int n, const SliceWork& work) {
  const int slices = slices_for(n);
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

  if (slices == 1) {
    run_slice(0, target);  // one slice adds straight into the target: no copy, no reduction
  } else {
    const std::size_t count = model.params.size();
#pragma omp parallel num_threads(slices)
    {
      // Slices are assigned by index, not by whichever thread arrives, so a short team still computes
      // exactly the same sums.
      for (int t = omp_get_thread_num(); t < slices; t += omp_get_num_threads()) {
        std::fill(grads_[std::size_t(t)].begin(), grads_[std::size_t(t)].end(), 0.0f);
        run_slice(t, grads_[std::size_t(t)].data());
      }
#pragma omp barrier
      // Reduce: each parameter sums its slices in slice order, whatever thread does it.
#pragma omp for schedule(static)
      for (std::size_t i = 0; i < count; ++i) {
        float s = target[i];
        for (int t = 0; t < slices; ++t) s += grads_[std::size_t(t)][i];
        target[i] = s;
      }
    }
  }
  Pass total;
  for (int t = 0; t < slices; ++t) {
    total.loss_sum += passes_[std::size_t(t)].loss_sum;
    total.correct += passes_[std::size_t(t)].correct;
  }
  return total;
}

Engine::Pass Engine::accumulate_gradients(Lenet5& model, const Dataset& data, const int* indices, int n,
                                          LossKind loss, float map_j, float grad_scale) {
  return accumulate(model.grads.data(), model, data, indices, n,
                    [&](Activations& a, const std::uint8_t* labels, int m, float* arena) {
                      const double l = lenet5_loss(model, a, labels, m, loss, map_j, grad_scale);
                      lenet5_backward(model, a, arena, m);
                      return l;
                    });
}

void Engine::accumulate_hessian(float* hessian, const Lenet5& model, const Dataset& data, const int* indices,
                                int n) {
  accumulate(hessian, model, data, indices, n,
             [&](Activations& a, const std::uint8_t* labels, int m, float* arena) {
               lenet5_backward_hessian(model, a, labels, arena, m);
               return 0.0;
             });
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

std::vector<EpochStats> train(Lenet5& model, const Dataset& train_set, const Dataset* test_set,
                              const TrainConfig& cfg, const TrainCallbacks& callbacks) {
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

  std::vector<EpochStats> history;
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const float lr = epoch < int(cfg.lr_by_epoch.size())
                         ? cfg.lr_by_epoch[std::size_t(epoch)]
                         : step_decay_lr(cfg.lr, cfg.lr_gamma, cfg.lr_step, epoch);
    shuffle(order.data(), order.size(), shuffle_rng);
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
    if (sdlm) estimate_hessian();
    double loss_sum = 0;
    long long correct = 0, done = 0, step = 0;
    model.zero_grad();
    for (int first = 0; first < n_train; first += step_chunk) {
      const int n = std::min(step_chunk, n_train - first);
      const Engine::Pass p = engine.accumulate_gradients(model, pass_set, order.data() + first, n, cfg.loss,
                                                         cfg.map_j, 1.0f / batch);
      if (!std::isfinite(p.loss_sum)) {
        std::ostringstream msg;
        msg << "training diverged: the loss became " << p.loss_sum << " at epoch " << epoch + 1 << ", step "
            << step + 1 << " (learning rate " << lr << "); try a smaller --lr";
        throw TrainingError(msg.str());
      }
      loss_sum += p.loss_sum;
      correct += p.correct;
      done += n;
      const bool step_now = !full_batch || done == n_train;
      if (step_now) {
        optimizer.step(model.params, model.grads, lr);
        model.zero_grad();
        ++step;
        if (sdlm && cfg.hessian_interval > 0 && done < n_train && done % cfg.hessian_interval < n)
          estimate_hessian();
      }
      if (callbacks.on_batch)
        callbacks.on_batch({epoch + 1, cfg.epochs, done, n_train, loss_sum / double(done),
                            std::chrono::duration<double>(Clock::now() - t0).count()});
    }
    EpochStats st;
    st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    st.epoch = epoch + 1;
    st.lr = lr;
    st.train_loss = loss_sum / n_train;
    st.train_accuracy = double(correct) / n_train;
    st.images = n_train;
    for (float w : model.params)
      if (!std::isfinite(w)) {
        std::ostringstream msg;
        msg << "training diverged: a parameter became non-finite in epoch " << epoch + 1
            << "; try a smaller --lr";
        throw TrainingError(msg.str());
      }
    if (cfg.eval_train) st.train_eval_accuracy = evaluate(model, train_set, engine.threads()).accuracy;
    if (test_set) {
      const EvalResult r = evaluate(model, *test_set, engine.threads());
      st.test_accuracy = r.accuracy;
      st.test_loss = r.loss;
    }
    history.push_back(st);
    if (callbacks.on_epoch) callbacks.on_epoch(st);
  }
  return history;
}

}  // namespace lenet
