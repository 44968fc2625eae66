// The Gauss–Newton second-derivative kernels of the 1998 recipe (Appendix C) against finite differences,
// an SDLM step against hand-computed numbers, and the per-pass schedule.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "helpers/gradcheck.h"
#include "helpers/scratch.h"
#include "lenet/activation.h"
#include "lenet/conv2d.h"
#include "lenet/lenet5.h"
#include "lenet/linear.h"
#include "lenet/optimizer.h"
#include "lenet/rbf.h"
#include "lenet/subsample.h"
#include "lenet/trainer.h"

namespace lenet {
namespace {

using test::random_vector;

// For a layer linear in each of its inputs and parameters, the Gauss–Newton quantity
// Q = ½ Σ_o s_o · out_o², with s = d2_out ≥ 0, has the exact diagonal ∂²Q/∂θ² = Σ_o s_o (∂out_o/∂θ)²:
// what every backward_hessian kernel claims. Q is quadratic in each single θ, so the second difference
// (Q(θ+h) − 2Q(θ) + Q(θ−h))/h² is exact up to rounding.
double second_difference(const std::function<double()>& q, float& theta, double h) {
  const float saved = theta;
  theta = float(saved + h);
  const double plus = q();
  theta = float(saved - h);
  const double minus = q();
  theta = saved;
  const double mid = q();
  return (plus - 2 * mid + minus) / (h * h);
}

void expect_second_derivatives(const std::function<double()>& q, std::vector<float>& values,
                               const std::vector<float>& claimed, const char* what) {
  ASSERT_EQ(values.size(), claimed.size());
  double worst = 0, scale = 1e-6;
  for (float c : claimed) scale = std::max(scale, double(std::fabs(c)));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double numeric = second_difference(q, values[i], 0.05);
    worst = std::max(worst, std::fabs(numeric - claimed[i]) / scale);
  }
  std::printf("%s: %zu values, worst error %.2g of the largest\n", what, values.size(), worst);
  EXPECT_LT(worst, 2e-3) << what;
}

double gauss_newton_quantity(const std::vector<float>& out, const std::vector<float>& s) {
  double q = 0;
  for (std::size_t i = 0; i < out.size(); ++i) q += 0.5 * s[i] * double(out[i]) * out[i];
  return q;
}

TEST(Hessian, Conv2dWithTableIAndFullConnection) {
  const ConnectionTable table = lenet5_c3_table();
  for (const ConnectionTable* t : {&table, static_cast<const ConnectionTable*>(nullptr)}) {
    Rng rng(1);
    const Conv2dShape s{6, 6, 6, 16, 3, t};
    const int n = 2;
    auto in = random_vector(std::size_t(n) * 6 * 36, rng);
    auto w = random_vector(s.weight_count(), rng);
    auto b = random_vector(16, rng);
    const std::size_t out_count = std::size_t(n) * 16 * s.out_h() * s.out_w();
    auto d2_out = random_vector(out_count, rng, 0.1f, 1.0f);
    std::vector<float> out(out_count), d2_in(in.size(), -7.0f), d2_w(w.size(), 0.0f), d2_b(16, 0.0f);
    test::GuardedScratch scratch(conv2d_backward_hessian_scratch(s, n));
    conv2d_backward_hessian(d2_in.data(), d2_w.data(), d2_b.data(), d2_out.data(), in.data(), w.data(), s, n,
                            scratch.scratch());
    EXPECT_TRUE(scratch.guard_intact()) << "wrote past conv2d_backward_hessian_scratch()";
    auto q = [&] {
      naive::conv2d_forward(out.data(), in.data(), w.data(), b.data(), s, n);
      return gauss_newton_quantity(out, d2_out);
    };
    expect_second_derivatives(q, w, d2_w, t ? "conv2d Table I d2_weight" : "conv2d d2_weight");
    expect_second_derivatives(q, b, d2_b, "conv2d d2_bias");
    expect_second_derivatives(q, in, d2_in, "conv2d d2_in");
  }
}

TEST(Hessian, Linear) {
  Rng rng(2);
  const int n = 3, in_f = 7, out_f = 5;
  auto in = random_vector(std::size_t(n) * in_f, rng);
  auto w = random_vector(std::size_t(out_f) * in_f, rng);
  auto b = random_vector(out_f, rng);
  auto d2_out = random_vector(std::size_t(n) * out_f, rng, 0.1f, 1.0f);
  std::vector<float> out(d2_out.size()), d2_in(in.size()), d2_w(w.size(), 0.0f), d2_b(out_f, 0.0f);
  test::GuardedScratch scratch(linear_backward_hessian_scratch(in_f, out_f, n));
  linear_backward_hessian(d2_in.data(), d2_w.data(), d2_b.data(), d2_out.data(), in.data(), w.data(), in_f,
                          out_f, n, scratch.scratch());
  EXPECT_TRUE(scratch.guard_intact()) << "wrote past linear_backward_hessian_scratch()";
  auto q = [&] {
    naive::linear_forward(out.data(), in.data(), w.data(), b.data(), in_f, out_f, n);
    return gauss_newton_quantity(out, d2_out);
  };
  expect_second_derivatives(q, w, d2_w, "linear d2_weight");
  expect_second_derivatives(q, b, d2_b, "linear d2_bias");
  expect_second_derivatives(q, in, d2_in, "linear d2_in");
}

TEST(Hessian, Subsample) {
  Rng rng(3);
  const PoolShape s{3, 6, 6};
  const int n = 2;
  auto in = random_vector(std::size_t(n) * 3 * 36, rng);
  auto coef = random_vector(3, rng);
  auto bias = random_vector(3, rng);
  auto d2_out = random_vector(std::size_t(n) * 3 * 9, rng, 0.1f, 1.0f);
  std::vector<float> out(d2_out.size()), d2_in(in.size()), d2_c(3, 0.0f), d2_b(3, 0.0f);
  subsample_backward_hessian(d2_in.data(), d2_c.data(), d2_b.data(), d2_out.data(), in.data(), coef.data(), s,
                             n);
  auto q = [&] {
    subsample_forward(out.data(), in.data(), coef.data(), bias.data(), s, n);
    return gauss_newton_quantity(out, d2_out);
  };
  expect_second_derivatives(q, coef, d2_c, "subsample d2_coef");
  expect_second_derivatives(q, bias, d2_b, "subsample d2_bias");
  expect_second_derivatives(q, in, d2_in, "subsample d2_in");
}

// The squashing function's Gauss–Newton factor is f'(a)²: compare with the square of a central
// difference of f itself.
TEST(Hessian, ScaledTanhIsSquaredDerivative) {
  Rng rng(4);
  auto a = random_vector(50, rng, -3.0f, 3.0f);
  auto d2_out = random_vector(50, rng, 0.1f, 1.0f);
  std::vector<float> x(50), d2_in(50);
  scaled_tanh_forward(x.data(), a.data(), 50);
  scaled_tanh_backward_hessian(d2_in.data(), d2_out.data(), x.data(), 50);
  double worst = 0;
  for (int i = 0; i < 50; ++i) {
    const double h = 1e-3;
    const double fprime = (kTanhAmplitude * std::tanh(kTanhSlope * (a[i] + h)) -
                           kTanhAmplitude * std::tanh(kTanhSlope * (a[i] - h))) /
                          (2 * h);
    worst = std::max(worst, std::fabs(d2_in[i] - d2_out[i] * fprime * fprime));
  }
  EXPECT_LT(worst, 1e-4);
}

// The seed: every F6 output gets the curvature of the correct class's penalty, ∂²y_c/∂x_j² = 2.
TEST(Hessian, RbfSeedIsTheCurvatureOfTheCorrectPenalty) {
  Rng rng(5);
  auto x = random_vector(kRbfInputs, rng);
  std::vector<float> y(kRbfClasses), weights(kRbfClasses, 0.0f), d2(kRbfInputs);
  const int correct = 3;
  weights[correct] = 1.0f;
  rbf_backward_hessian(d2.data(), weights.data(), 1);
  for (int j = 0; j < kRbfInputs; ++j) {
    auto q = [&] {
      rbf_forward(y.data(), x.data(), rbf_digit_prototypes(), 1);
      return double(y[correct]);
    };
    EXPECT_NEAR(second_difference(q, x[j], 0.5), d2[j], 1e-3);  // quadratic: any step is exact
  }
}

// The whole network's top layer, by hand: F6's bias curvature is Σ_n 2·f'(a)² (seed 2 through the tanh).
TEST(Hessian, WholeNetworkTopLayerByHand) {
  Lenet5 model(Arch::Lenet5_1998);
  Rng rng(6);
  model.init(rng);
  Activations a(model, 3);
  const std::vector<float> input = random_vector(a.input.size(), rng, -0.1f, 1.175f);
  a.input.assign(input.begin(), input.end());
  const std::uint8_t labels[3] = {1, 7, 4};
  lenet5_forward(model, a, 3);
  std::vector<float> h(model.params.size(), 0.0f);
  lenet5_backward_hessian(model, a, labels, h.data(), 3);
  for (int o = 0; o < Lenet5::kF6; ++o) {
    double expected = 0;
    for (int b = 0; b < 3; ++b) {
      const double x = a.f6[std::size_t(b) * Lenet5::kF6 + o];
      const double fprime = (kTanhSlope / kTanhAmplitude) * (kTanhAmplitude * kTanhAmplitude - x * x);
      expected += 2 * fprime * fprime;
    }
    EXPECT_NEAR(h[model.at.f6_b + o], expected, 1e-4 * expected);
  }
  for (std::size_t i = 0; i < h.size(); ++i) ASSERT_GE(h[i], 0.0f) << "curvature estimates are non-negative";
}

TEST(Sdlm, StepIsEtaOverMuPlusCurvatureTimesGradient) {
  OptimizerConfig cfg;
  cfg.kind = OptimizerKind::Sdlm;
  cfg.sdlm_mu = 0.02f;
  Optimizer opt(cfg, 3);
  const std::vector<float> h = {0.0f, 0.98f, 1.98f};
  opt.set_hessian(h);
  std::vector<float> w = {1.0f, 1.0f, 1.0f};
  const std::vector<float> g = {1.0f, 2.0f, -4.0f};
  opt.step(w, g, 0.1f);
  // 0.1/0.02·1 = 5, 0.1/1.0·2 = 0.2, 0.1/2.0·(−4) = −0.2
  EXPECT_NEAR(w[0], 1.0f - 5.0f, 1e-5);
  EXPECT_NEAR(w[1], 1.0f - 0.2f, 1e-6);
  EXPECT_NEAR(w[2], 1.0f + 0.2f, 1e-6);
}

TEST(Sdlm, ThePapersScheduleByPass) {
  const auto lr = paper_sdlm_schedule(20);
  ASSERT_EQ(lr.size(), 20u);
  const float expected[20] = {5e-4f, 5e-4f, 2e-4f, 2e-4f, 2e-4f, 1e-4f, 1e-4f, 1e-4f, 5e-5f, 5e-5f,
                              5e-5f, 5e-5f, 1e-5f, 1e-5f, 1e-5f, 1e-5f, 1e-5f, 1e-5f, 1e-5f, 1e-5f};
  for (int i = 0; i < 20; ++i) EXPECT_FLOAT_EQ(lr[std::size_t(i)], expected[i]) << "pass " << i + 1;
}

}  // namespace
}  // namespace lenet
