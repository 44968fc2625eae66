// The vectorised kernels against their naive references at every SIMD level this CPU runs (AVX-512,
// AVX2, portable), so the paths another machine would take are tested here too: GEMM tails, every
// convolution path (per row, per channel, the 1×1 product, the fallback), pooling, activations, RBF.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "helpers/gradcheck.h"  // random_vector
#include "lenet/activation.h"
#include "lenet/conv2d.h"
#include "lenet/gemm.h"
#include "lenet/linear.h"
#include "lenet/maxpool.h"
#include "lenet/rbf.h"
#include "lenet/rng.h"
#include "lenet/simd.h"
#include "lenet/subsample.h"

namespace lenet {
namespace {

using test::random_vector;

// Fast kernels sum in float in another order (and with FMA), the naive ones in double: the difference
// is judged relative to the size of the result, max |reference|.
constexpr double kTolerance = 1e-5;

// Every level this CPU runs, best first; restores the best level when the test ends.
class AtEveryLevel : public ::testing::Test {
 protected:
  std::vector<simd::Level> levels() const {
    std::vector<simd::Level> out;
    for (simd::Level l : {simd::Level::Avx512, simd::Level::Avx2, simd::Level::Portable})
      if (int(l) <= int(simd::best_level())) out.push_back(l);
    return out;
  }
  void TearDown() override { simd::set_level(simd::best_level()); }
};

// max |fast − ref| / max |ref| over one buffer.
double relative_difference(const std::vector<float>& fast, const std::vector<float>& ref) {
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    scale = std::max(scale, double(std::abs(ref[i])));
    const double d = std::abs(double(fast[i]) - ref[i]);
    if (!(d <= diff)) diff = d;  // NaN propagates
  }
  return diff / std::max(scale, 1e-30);
}

struct Worst {
  double rel = 0;
  std::string where;
  void add(double rel_diff, const std::string& what) {
    EXPECT_LE(rel_diff, kTolerance) << what;
    if (!(rel_diff <= rel)) rel = rel_diff, where = what;
  }
  void print(const char* kernel) const {
    std::printf("[fast kernels] %s: worst relative difference %.3g (%s)\n", kernel, rel, where.c_str());
  }
};

std::string level_tag(simd::Level l) { return std::string(simd::level_name(l)) + " "; }

// ---- matrix products ----

TEST_F(AtEveryLevel, GemmMatchesNaiveAroundEveryTileEdge) {
  using Gemm = void (*)(float*, const float*, const float*, int, int, int);
  struct Case {
    const char* name;
    Gemm fast, ref;
  };
  const Case cases[] = {{"gemm_nn", gemm_nn, naive::gemm_nn},
                        {"gemm_nt", gemm_nt, naive::gemm_nt},
                        {"gemm_tn", gemm_tn, naive::gemm_tn}};
  // Sizes around the tiles (rows of 2, 4, 6; columns of 4..64; dot products of 4..16 lanes), and the
  // network's own shapes.
  std::vector<int> sizes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
  Worst worst;
  Rng rng(11);
  for (simd::Level level : levels()) {
    simd::set_level(level);
    for (const Case& c : cases)
      for (int t = 0; t < 60; ++t) {
        const int m = sizes[rng.below(std::uint32_t(sizes.size()))];
        const int n = sizes[rng.below(std::uint32_t(sizes.size()))];
        const int k = sizes[rng.below(std::uint32_t(sizes.size()))];
        const auto a = random_vector(std::size_t(m) * k, rng), b = random_vector(std::size_t(k) * n, rng);
        const auto c0 = random_vector(std::size_t(m) * n, rng);
        std::vector<float> fast = c0, ref = c0;
        c.fast(fast.data(), a.data(), b.data(), m, n, k);
        c.ref(ref.data(), a.data(), b.data(), m, n, k);
        worst.add(relative_difference(fast, ref), level_tag(level) + c.name + " m" + std::to_string(m) +
                                                      " n" + std::to_string(n) + " k" + std::to_string(k));
      }
  }
  worst.print("gemm");
}

}  // namespace
}  // namespace lenet
