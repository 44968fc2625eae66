// The batch engine: slices of the batch on threads, each with its own activations and gradient arena,
// summed in slice order. Nothing is allocated per step: every buffer is sized when the engine is built.
#include "lenet/engine.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>

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

// Asks for a slice's pictures and labels ahead of their use: shuffled indices send every read to another
// place in the dataset (47 MB for MNIST's training set), where the hardware prefetcher cannot guess it, and
// image_to_input then waits for each picture's cache lines one after another. Prefetched together, the
// misses overlap.
void prefetch_inputs(const Dataset& data, const int* indices, int first, int n) {
  const std::size_t bytes = std::size_t(data.rows) * data.cols;
  for (int i = 0; i < n; ++i) {
    const int idx = indices ? indices[first + i] : first + i;
    const std::uint8_t* image = data.image(idx);
    for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(image + at);
    __builtin_prefetch(image + bytes - 1);  // the last line, when the picture does not start on one
    __builtin_prefetch(data.labels.data() + idx);
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
    if (indices) prefetch_inputs(data, indices, lo, hi - lo);
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

bool all_finite(std::span<const float> values) { return non_finite_bits(values.data(), values.size()) == 0; }

}  // namespace lenet
