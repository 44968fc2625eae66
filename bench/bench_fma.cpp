// The machine's peak FLOP rate as the kernels can reach it: independent FMA chains on the widest vectors
// in use (fma_probe), on 1 thread and on every thread. `lenet bench --peak` measures the same way.
#include <benchmark/benchmark.h>
#include <omp.h>

#include "lenet/aligned.h"
#include "lenet/gemm.h"
#include "lenet/simd.h"

namespace {

void BM_fma_peak(benchmark::State& state) {
  const int threads = state.range(0) > 0 ? int(state.range(0)) : omp_get_num_procs();
  constexpr long kIterations = 2'000'000;
  double flops = 0;
  for (auto _ : state) {
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : flops, sink)
    {
      float s = 0;
      flops += lenet::fma_probe(kIterations, &s);
      sink += s;
    }
    benchmark::DoNotOptimize(sink);
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(lenet::simd::level_name(lenet::simd::level())) + ", " + std::to_string(threads) +
                 " threads");
}
// 1 thread, then every core (0); wall time, since the work is spread over threads.
BENCHMARK(BM_fma_peak)->Arg(1)->Arg(0)->ArgName("threads")->UseRealTime();

// The pattern of the row kernels' weight gradient: per step 3 vector loads on cache-line boundaries and
// 5 more, then 15 independent FMAs. With crossing = 1 the 5 are at shifts of 1..4 floats, as a kernel tap
// reads a row, so most straddle two cache lines; with 0 they sit on line boundaries too. The FLOP rate of
// the two, against the peak above, is what a line-crossing load costs (see conv2d.cpp, simd::window).
template <int W>
LENET_INLINE inline float fma_with_loads(const float* base, long iterations, bool crossing) {
  using V = lenet::simd::Vec<W>;
  V acc[15] = {};
  for (long it = 0; it < iterations; ++it) {
    const float* q = base + (it & 63) * 2 * W;
    const V g0 = lenet::simd::load<W>(q), g1 = lenet::simd::load<W>(q + 256),
            g2 = lenet::simd::load<W>(q + 512);
    for (int kx = 0; kx < 5; ++kx) {
      const V iv = lenet::simd::load<W>(q + 1024 + (crossing ? kx : kx * W));
      acc[kx] += g0 * iv;
      acc[5 + kx] += g1 * iv;
      acc[10 + kx] += g2 * iv;
    }
  }
  V total = {};
  for (const V& a : acc) total += a;
  return lenet::simd::hsum<W>(total);
}

void BM_fma_with_loads(benchmark::State& state) {
  const bool crossing = state.range(0) != 0;
  constexpr long kIterations = 1'000'000;
  lenet::AlignedFloats buffer(4096, 1e-3f);
  double flops = 0;
  for (auto _ : state)
    lenet::simd::dispatch([&]<int W>() LENET_INLINE {
      benchmark::DoNotOptimize(fma_with_loads<W>(buffer.data(), kIterations, crossing));
      flops += double(kIterations) * 15 * W * 2;
    });
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(lenet::simd::level_name(lenet::simd::level())) + ", 1 thread");
}
BENCHMARK(BM_fma_with_loads)->Arg(0)->Arg(1)->ArgName("crossing");

}  // namespace

BENCHMARK_MAIN();
