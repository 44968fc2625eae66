// The batch engine: slices of the batch on threads, each with its own activations and gradient arena,
// summed in slice order. Nothing is allocated per step: every buffer is sized when the engine is built.
#include "lenet/engine.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace lenet {

// ---- the threads of a gradient pass ----

namespace {

// How long a waiting thread spins before it sleeps: about 40 µs (a pause is about 140 cycles on recent
// Intel cores), more than the two threads of a step usually differ on an idle machine, and a small part of
// a time slice on a busy one.
constexpr int kSpins = 1000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// kSpins, or none when OMP_WAIT_POLICY is passive: that asks libgomp's threads to sleep at once, and these
// do as they are told too (on a busy machine it is a little faster).
int spins_before_sleep() {
  static const int spins = [] {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    std::string p = policy ? policy : "";
    for (char& c : p) c = char(std::tolower(static_cast<unsigned char>(c)));
    return p == "passive" ? 0 : kSpins;
  }();
  return spins;
}

// Returns once `word` no longer holds `old`: spins for a while, then sleeps in std::atomic::wait.
void await_change(const std::atomic<unsigned>& word, unsigned old) {
  for (int i = 0, n = spins_before_sleep(); i < n; ++i) {
    if (word.load(std::memory_order_acquire) != old) return;
    cpu_relax();
  }
  while (word.load(std::memory_order_acquire) == old) word.wait(old, std::memory_order_acquire);
}

}  // namespace

// Threads 1..size-1 of the engine's gradient passes (thread 0 is the caller's), and their barrier. A waiting
// thread spins briefly, then sleeps until it is woken. libgomp's threads, with OMP_WAIT_POLICY unset, spin
// for far longer, and on a shared machine, where the host deschedules one of the two threads for a time
// slice, the other spun at every hand-off of a step while its partner waited for a core: with the load
// average at 15 on the 2 vCPUs, a two-thread training run took 4.0-5.5 s where it took 0.7-0.9 s with
// OMP_WAIT_POLICY=passive (docs/performance.md). Sleeping at once would cost a wake-up per hand-off on an
// idle machine. Every thread takes part in every run, so a run's job and size are never overwritten while a
// thread still reads them.
class StepTeam {
 public:
  explicit StepTeam(int size) : size_(size) {
    for (int t = 1; t < size; ++t) workers_.emplace_back([this, t] { serve(t); });
  }
  ~StepTeam() {
    stop_.store(true, std::memory_order_relaxed);  // published by start's release
    start();
    for (auto& w : workers_) w.join();
  }
  StepTeam(const StepTeam&) = delete;
  StepTeam& operator=(const StepTeam&) = delete;

  int size() const { return size_; }

  // Runs f(t) on every thread t = 0..size-1 (f(0) on the caller) and returns when all have returned.
  // No allocation: f is called through a plain function pointer.
  template <class F>
  void run(const F& f) {
    job_ = [](const void* fn, int t) { (*static_cast<const F*>(fn))(t); };
    job_fn_ = &f;
    done_.store(0, std::memory_order_relaxed);
    start();
    f(0);
    for (unsigned d; (d = done_.load(std::memory_order_acquire)) != unsigned(size_ - 1);)
      await_change(done_, d);
  }

  // Within run: returns when every thread has arrived; what each wrote before it is visible after it.
  void barrier() {
    const unsigned gen = barrier_gen_.load(std::memory_order_acquire);  // cannot move on before we arrive
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == unsigned(size_)) {
      arrived_.store(0, std::memory_order_relaxed);
      barrier_gen_.store(gen + 1, std::memory_order_release);
      barrier_gen_.notify_all();
    } else {
      await_change(barrier_gen_, gen);
    }
  }

 private:
  void start() {
    job_gen_.fetch_add(1, std::memory_order_release);
    job_gen_.notify_all();
  }
  void serve(int t) {
    unsigned seen = 0;
    for (;;) {
      await_change(job_gen_, seen);
      seen = job_gen_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_relaxed)) return;
      job_(job_fn_, t);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == unsigned(size_ - 1)) done_.notify_all();
    }
  }

  const int size_;
  std::vector<std::thread> workers_;
  void (*job_)(const void*, int) = nullptr;
  const void* job_fn_ = nullptr;
  std::atomic<unsigned> job_gen_{0}, done_{0}, barrier_gen_{0}, arrived_{0};
  std::atomic<bool> stop_{false};
};

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

Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;

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
  // The team is started by the first pass that needs it (an engine used only for inference never does).
  if (!team_) team_ = std::make_unique<StepTeam>(threads_);
  StepTeam& team = *team_;
  Pass p;
  team.run([&](int me) {
    // Slices are assigned by index, not by whichever thread arrives, so any team computes exactly the same
    // sums.
    const int size = team.size();
    for (int t = me; t < slices; t += size) run_slice(t, t == 0 ? target : grads_[std::size_t(t)].data());
    team.barrier();
    // Reduce: each parameter sums its slices in slice order, whichever thread does it; the arenas are
    // left zeroed for the next call.
    const std::size_t lo = count * std::size_t(me) / std::size_t(size);
    const std::size_t hi = count * std::size_t(me + 1) / std::size_t(size);
    for (int t = 1; t < slices; ++t) {
      float* g = grads_[std::size_t(t)].data();
      for (std::size_t i = lo; i < hi; ++i) target[i] += g[i];
      std::fill(g + lo, g + hi, 0.0f);
    }
    bad_[std::size_t(me)] = int(non_finite_bits(target + lo, hi - lo));
    team.barrier();
    // Every thread reaches the same verdict from the same shared values.
    Pass sum = total();
    for (int t = 0; t < size; ++t) sum.finite = sum.finite && bad_[std::size_t(t)] == 0;
    sum.finite = sum.finite && std::isfinite(sum.loss_sum);
    if (sum.finite) finish(lo, hi);
    if (me == 0) p = sum;
  });
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
