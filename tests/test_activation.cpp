// The vectorisable scaled tanh against the double-precision definition over its whole range,
// including tiny, huge and signed-zero inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lenet/activation.h"

namespace lenet {
namespace {

TEST(ScaledTanh, MatchesDoublePrecisionEverywhere) {
  std::vector<float> a;
  for (float x = -20.0f; x <= 20.0f; x += 0.000731f) a.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, 0.0624999f, 0.0625f, 0.0625001f, 13.5f, 1e6f, -1e6f,
                  3.4e38f, -3.4e38f})
    a.push_back(x);
  std::vector<float> out(a.size());
  scaled_tanh_forward(out.data(), a.data(), a.size());
  double worst_abs = 0, worst_rel = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double exact = double(kTanhAmplitude) * std::tanh(double(kTanhSlope) * double(a[i]));
    const double err = std::fabs(out[i] - exact);
    worst_abs = std::max(worst_abs, err);
    if (std::fabs(exact) > 1e-30) worst_rel = std::max(worst_rel, err / std::fabs(exact));
    ASSERT_TRUE(std::isfinite(out[i])) << a[i];
    ASSERT_LE(std::fabs(out[i]), kTanhAmplitude) << a[i];
    ASSERT_EQ(std::signbit(out[i]), std::signbit(a[i])) << a[i];
  }
  std::printf("scaled tanh: %zu points, worst abs error %.3g, worst rel error %.3g\n", a.size(), worst_abs,
              worst_rel);
  EXPECT_LT(worst_abs, 4e-7);  // ~3 float ulps at the amplitude 1.7159
  EXPECT_LT(worst_rel, 1e-6);
  const float one = 1.0f;
  float f1;
  scaled_tanh_forward(&f1, &one, 1);
  EXPECT_NEAR(f1, 1.0f, 1e-4);  // the paper's choice: f(1) = 1
}

}  // namespace
}  // namespace lenet
