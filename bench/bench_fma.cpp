// The machine's peak FLOP rate as the kernels can reach it: independent FMA chains on the widest vectors
// in use (fma_probe), on 1 thread and on every thread. `lenet bench --peak` measures the same way.
#include <benchmark/benchmark.h>
#include <omp.h>

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

}  // namespace

BENCHMARK_MAIN();
