// Every LeNet-5 layer's fast kernel, forward and backward, at batch 1 and 64, on one thread; counters give
// images/s and the FLOP rate. `./build/bench/bench_layers --benchmark_filter=layer:3/` runs C3 alone.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lenet/activation.h"
#include "lenet/aligned.h"
#include "lenet/conv2d.h"
#include "lenet/linear.h"
#include "lenet/maxpool.h"
#include "lenet/rbf.h"
#include "lenet/rng.h"
#include "lenet/subsample.h"

namespace lenet {
namespace {

AlignedFloats random_buffer(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  AlignedFloats v(count);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// Reports images/s and, when the pass has multiply-adds, FLOP/s (2 per multiply-add).
void set_counters(benchmark::State& state, int n, double macs_per_image) {
  state.counters["images/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
  if (macs_per_image > 0)
    state.counters["FLOP/s"] =
        benchmark::Counter(2.0 * macs_per_image * n, benchmark::Counter::kIsIterationInvariantRate);
}

const ConnectionTable kTableI = lenet5_c3_table();

// C1: 1@32x32 -> 6@28x28; C3: 6@14x14 -> 16@10x10 (full, or Table I); C5: 16@5x5 -> 120@1x1.
Conv2dShape conv_shape(int layer) {
  switch (layer) {
    case 1:
      return {1, 32, 32, 6, 5, nullptr};
    case 3:
      return {6, 14, 14, 16, 5, nullptr};
    case 30:
      return {6, 14, 14, 16, 5, &kTableI};
    default:
      return {16, 5, 5, 120, 5, nullptr};
  }
}

std::size_t in_size(const Conv2dShape& s) { return std::size_t(s.in_c) * s.in_h * s.in_w; }
std::size_t out_size(const Conv2dShape& s) { return std::size_t(s.out_c) * s.out_h() * s.out_w(); }

void BM_conv_forward(benchmark::State& state) {
  const Conv2dShape s = conv_shape(int(state.range(0)));
  const int n = int(state.range(1));
  const auto in = random_buffer(in_size(s) * n, 1), w = random_buffer(s.weight_count(), 2),
             b = random_buffer(std::size_t(s.out_c), 3);
  AlignedFloats out(out_size(s) * n);
  Workspace workspace(conv2d_forward_scratch(s, n));
  for (auto _ : state) {
    conv2d_forward(out.data(), in.data(), w.data(), b.data(), s, n, workspace.scratch());
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n, double(s.connections()));
}

// Backward with the input gradient (d_in:1), or only the parameter gradients (d_in:0; C1 never needs d_in).
void BM_conv_backward(benchmark::State& state) {
  const int layer = int(state.range(0));
  const Conv2dShape s = conv_shape(layer);
  const int n = int(state.range(1));
  const bool with_d_in = state.range(2) != 0;
  const auto in = random_buffer(in_size(s) * n, 1), w = random_buffer(s.weight_count(), 2),
             d_out = random_buffer(out_size(s) * n, 4);
  AlignedFloats d_in(in_size(s) * n), dw(s.weight_count()), db(std::size_t(s.out_c));
  Workspace workspace(conv2d_backward_scratch(s, n));
  for (auto _ : state) {
    conv2d_backward(with_d_in ? d_in.data() : nullptr, dw.data(), db.data(), d_out.data(), in.data(),
                    w.data(), s, n, workspace.scratch());
    benchmark::DoNotOptimize(dw.data());
  }
  set_counters(state, n, double(s.connections()) * (with_d_in ? 2 : 1));
}

void conv_args(benchmark::internal::Benchmark* b) {
  for (int layer : {1, 3, 30, 5})
    for (int n : {1, 64}) b->Args({layer, n});
  b->ArgNames({"layer", "batch"});
}
BENCHMARK(BM_conv_forward)->Apply(conv_args);
void conv_backward_args(benchmark::internal::Benchmark* b) {
  for (int layer : {1, 3, 30, 5})
    for (int n : {1, 64})
      for (int d_in : {0, 1})
        if (layer != 1 || d_in == 0) b->Args({layer, n, d_in});
  b->ArgNames({"layer", "batch", "d_in"});
}
BENCHMARK(BM_conv_backward)->Apply(conv_backward_args);

// F6: 120 -> 84; OUTPUT (modern): 84 -> 10.
void BM_linear_forward(benchmark::State& state) {
  const int in_f = int(state.range(0)), out_f = int(state.range(1)), n = int(state.range(2));
  const auto in = random_buffer(std::size_t(in_f) * n, 1), w = random_buffer(std::size_t(in_f) * out_f, 2),
             b = random_buffer(std::size_t(out_f), 3);
  AlignedFloats out(std::size_t(out_f) * n);
  for (auto _ : state) {
    linear_forward(out.data(), in.data(), w.data(), b.data(), in_f, out_f, n);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n, double(in_f) * out_f);
}

void BM_linear_backward(benchmark::State& state) {
  const int in_f = int(state.range(0)), out_f = int(state.range(1)), n = int(state.range(2));
  const auto in = random_buffer(std::size_t(in_f) * n, 1), w = random_buffer(std::size_t(in_f) * out_f, 2),
             d_out = random_buffer(std::size_t(out_f) * n, 4);
  AlignedFloats d_in(std::size_t(in_f) * n), dw(std::size_t(in_f) * out_f),
      db(static_cast<std::size_t>(out_f));
  for (auto _ : state) {
    linear_backward(d_in.data(), dw.data(), db.data(), d_out.data(), in.data(), w.data(), in_f, out_f, n);
    benchmark::DoNotOptimize(dw.data());
  }
  set_counters(state, n, 2.0 * in_f * out_f);
}

void linear_args(benchmark::internal::Benchmark* b) {
  for (auto [i, o] : {std::pair{120, 84}, std::pair{84, 10}})
    for (int n : {1, 64}) b->Args({i, o, n});
  b->ArgNames({"in", "out", "batch"});
}
BENCHMARK(BM_linear_forward)->Apply(linear_args);
BENCHMARK(BM_linear_backward)->Apply(linear_args);

// S2: 6@28x28 -> 6@14x14; S4: 16@10x10 -> 16@5x5 (max pooling, or the paper's trainable subsampling).
PoolShape pool_shape(int layer) { return layer == 2 ? PoolShape{6, 28, 28} : PoolShape{16, 10, 10}; }

// The buffers of a pooling layer (range(0): 2 or 4) for a batch (range(1)), with random inputs, output
// gradients, coefficients and biases, and the max-pool winners of the inputs.
struct PoolBuffers {
  explicit PoolBuffers(const benchmark::State& state)
      : s(pool_shape(int(state.range(0)))),
        n(int(state.range(1))),
        in(random_buffer(s.in_size() * n, 1)),
        d_out(random_buffer(s.out_size() * n, 4)),
        coef(random_buffer(std::size_t(s.c), 2)),
        bias(random_buffer(std::size_t(s.c), 3)),
        out(s.out_size() * n),
        d_in(s.in_size() * n),
        d_coef(std::size_t(s.c)),
        d_bias(std::size_t(s.c)),
        winners(out.size()) {
    maxpool_forward(out.data(), winners.data(), in.data(), s, n);
  }
  PoolShape s;
  int n;
  AlignedFloats in, d_out, coef, bias, out, d_in, d_coef, d_bias;
  std::vector<std::int32_t> winners;
};

// Times `pass(buffers)`, which returns the buffer it wrote; macs_per_input: multiply-adds per input value.
template <class Pass>
void time_pool(benchmark::State& state, double macs_per_input, const Pass& pass) {
  PoolBuffers b(state);
  for (auto _ : state) benchmark::DoNotOptimize(pass(b));
  set_counters(state, b.n, macs_per_input * double(b.s.in_size()));
}

void BM_maxpool_forward(benchmark::State& state) {
  time_pool(state, 0, [](PoolBuffers& b) {
    maxpool_forward(b.out.data(), b.winners.data(), b.in.data(), b.s, b.n);
    return b.out.data();
  });
}

void BM_maxpool_backward(benchmark::State& state) {
  time_pool(state, 0, [](PoolBuffers& b) {
    maxpool_backward(b.d_in.data(), b.d_out.data(), b.winners.data(), b.s, b.n);
    return b.d_in.data();
  });
}

void BM_subsample_forward(benchmark::State& state) {
  time_pool(state, 1, [](PoolBuffers& b) {
    subsample_forward(b.out.data(), b.in.data(), b.coef.data(), b.bias.data(), b.s, b.n);
    return b.out.data();
  });
}

void BM_subsample_backward(benchmark::State& state) {
  time_pool(state, 1, [](PoolBuffers& b) {
    subsample_backward(b.d_in.data(), b.d_coef.data(), b.d_bias.data(), b.d_out.data(), b.in.data(),
                       b.coef.data(), b.s, b.n);
    return b.d_in.data();
  });
}

void pool_args(benchmark::internal::Benchmark* b) {
  for (int layer : {2, 4})
    for (int n : {1, 64}) b->Args({layer, n});
  b->ArgNames({"layer", "batch"});
}
BENCHMARK(BM_maxpool_forward)->Apply(pool_args);
BENCHMARK(BM_maxpool_backward)->Apply(pool_args);
BENCHMARK(BM_subsample_forward)->Apply(pool_args);
BENCHMARK(BM_subsample_backward)->Apply(pool_args);

// OUTPUT (1998): 84 -> 10 Euclidean RBF units.
void BM_rbf_forward(benchmark::State& state) {
  const int n = int(state.range(0));
  const auto in = random_buffer(std::size_t(kRbfInputs) * n, 1);
  AlignedFloats out(std::size_t(kRbfClasses) * n);
  for (auto _ : state) {
    rbf_forward(out.data(), in.data(), rbf_digit_prototypes(), n);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n, double(kRbfInputs) * kRbfClasses);
}

void BM_rbf_backward(benchmark::State& state) {
  const int n = int(state.range(0));
  const auto in = random_buffer(std::size_t(kRbfInputs) * n, 1),
             d_out = random_buffer(std::size_t(kRbfClasses) * n, 4);
  AlignedFloats d_in(std::size_t(kRbfInputs) * n);
  for (auto _ : state) {
    rbf_backward(d_in.data(), d_out.data(), in.data(), rbf_digit_prototypes(), n);
    benchmark::DoNotOptimize(d_in.data());
  }
  set_counters(state, n, double(kRbfInputs) * kRbfClasses);
}
BENCHMARK(BM_rbf_forward)->Arg(1)->Arg(64)->ArgName("batch");
BENCHMARK(BM_rbf_backward)->Arg(1)->Arg(64)->ArgName("batch");

// Squashing over C1's output (6@28x28 per image), the largest activation.
constexpr std::size_t kC1Outputs = 6 * 28 * 28;

void BM_activation(benchmark::State& state) {
  const int kind = int(state.range(0)), n = int(state.range(1));
  const auto in = random_buffer(kC1Outputs * n, 1), d_out = random_buffer(kC1Outputs * n, 4);
  AlignedFloats out(in.size()), d_in(in.size());
  for (auto _ : state) {
    switch (kind) {
      case 0:
        relu_forward(out.data(), in.data(), out.size());
        break;
      case 1:
        relu_backward(d_in.data(), d_out.data(), in.data(), d_in.size());
        break;
      case 2:
        scaled_tanh_forward(out.data(), in.data(), out.size());
        break;
      default:
        scaled_tanh_backward(d_in.data(), d_out.data(), in.data(), d_in.size());
        break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(d_in.data());
  }
  set_counters(state, n, 0);
}
// kind: 0 relu forward, 1 relu backward, 2 scaled tanh forward, 3 scaled tanh backward.
BENCHMARK(BM_activation)->ArgsProduct({{0, 1, 2, 3}, {1, 64}})->ArgNames({"kind", "batch"});

}  // namespace
}  // namespace lenet

BENCHMARK_MAIN();
