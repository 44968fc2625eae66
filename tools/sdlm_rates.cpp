// The first pass's SDLM step sizes of the 1998 network under each initialisation (docs/reproduction.md,
// "The μ question"): the Gauss–Newton curvature h_kk averaged over 500 training patterns at the initial
// point, per tensor, and the rates η/(μ + h_kk) it gives with the paper's η = 0.0005 and μ = 0.02 or 0.5.
// Built and run by tools/sdlm_rates.sh.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "lenet/engine.h"
#include "lenet/idx.h"
#include "lenet/lenet5.h"
#include "lenet/rng.h"

int main(int argc, char** argv) {
  using namespace lenet;
  const std::string data_dir = argc > 1 ? argv[1] : "data/mnist";
  const int seed = argc > 2 ? std::stoi(argv[2]) : 1;
  const Dataset train = load_split(data_dir, Split::Train);
  constexpr int kSamples = 500;
  constexpr float kEta = 0.0005f;
  std::vector<int> order(std::size_t(train.count));
  std::iota(order.begin(), order.end(), 0);
  Rng pick(std::uint64_t(seed) ^ 0x4E55141Aull);
  shuffle(order.data(), order.size(), pick);
  for (InitRule rule : {InitRule::Paper, InitRule::Sqrt}) {
    Lenet5 model(Arch::Lenet5_1998);
    Rng rng{std::uint64_t(seed)};
    model.init(rng, rule);
    Engine engine(model, 1, kSamples);
    std::vector<float> h(model.params.size(), 0.0f);
    engine.accumulate_hessian(h.data(), model, train, order.data(), kSamples);
    for (float& v : h) v /= float(kSamples);
    std::printf("\ninit %s (seed %d): mean curvature h_kk per tensor over %d patterns\n",
                std::string(init_rule_name(rule)).c_str(), seed, kSamples);
    for (const TensorInfo& t : model.tensors()) {
      const auto first = h.begin() + std::ptrdiff_t(t.offset), last = first + std::ptrdiff_t(t.count);
      const double mean = std::accumulate(first, last, 0.0) / double(t.count);
      std::printf("  %-10s %8zu  mean %.3g  max %.3g\n", t.name.c_str(), t.count, mean,
                  double(*std::max_element(first, last)));
    }
    for (float mu : {0.02f, 0.5f}) {
      std::vector<float> rate(h.size());
      for (std::size_t i = 0; i < h.size(); ++i) rate[i] = kEta / (mu + h[i]);
      std::vector<float> sorted = rate;
      std::sort(sorted.begin(), sorted.end());
      const double top = kEta / mu;
      const auto near_top = std::count_if(rate.begin(), rate.end(), [&](float r) { return r >= 0.9 * top; });
      std::printf(
          "  mu %.2f: rates %.3g .. %.3g (eta/mu = %.3g); 90%% of parameters <= %.3g; %.0f%% within 10%% "
          "of eta/mu\n",
          double(mu), double(sorted.front()), double(sorted.back()), top,
          double(sorted[sorted.size() * 9 / 10]), 100.0 * double(near_top) / double(rate.size()));
    }
  }
  return 0;
}
