// Every layer's backward pass checked numerically through the one gradient checker, the backward contract
// (parameter gradients accumulate, input gradients are assigned), and the paper's constants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "helpers/gradcheck.h"
#include "lenet/activation.h"
#include "lenet/conv2d.h"
#include "lenet/linear.h"
#include "lenet/maxpool.h"
#include "lenet/rbf.h"
#include "lenet/rng.h"
#include "lenet/subsample.h"

namespace lenet {
namespace {

using test::check_gradient;
using test::GradCheckOptions;
using test::gradient_ok;
using test::projection;
using test::random_vector;

constexpr double kTolerance = 1e-3;
// Convolution, subsampling and full connection are linear in each value checked (and the RBF is
// quadratic), so the central difference has no truncation error at any step: a wide step divides the
// float rounding noise of the forward pass, ~ε·|out|/h, by a hundred.
constexpr double kExactStep = 0.1;

GradCheckOptions with_step(double h) {
  GradCheckOptions o;
  o.h = h;
  return o;
}

std::size_t in_count(const Conv2dShape& s, int n) { return std::size_t(n) * s.in_c * s.in_h * s.in_w; }
std::size_t out_count(const Conv2dShape& s, int n) {
  return std::size_t(n) * s.out_c * s.out_h() * s.out_w();
}

// ---- the checker itself must catch a wrong gradient ----

TEST(GradCheck, FlagsAWrongGradientAndPointsAtIt) {
  const int in_f = 7, out_f = 5, n = 2;
  Rng rng(1);
  std::vector<float> in = random_vector(std::size_t(n) * in_f, rng);
  const std::vector<float> weight = random_vector(std::size_t(out_f) * in_f, rng);
  const std::vector<float> bias = random_vector(std::size_t(out_f), rng);
  const std::vector<float> r = random_vector(std::size_t(n) * out_f, rng);
  std::vector<float> out(r.size());
  auto loss = [&] {
    linear_forward(out.data(), in.data(), weight.data(), bias.data(), in_f, out_f, n);
    return projection(out, r);
  };
  std::vector<float> d_in(in.size()), d_weight(weight.size()), d_bias(bias.size());
  linear_backward(d_in.data(), d_weight.data(), d_bias.data(), r.data(), in.data(), weight.data(), in_f,
                  out_f, n);
  d_in[9] *= 1.01f;  // one derivative 1% off
  const test::GradCheckResult result = check_gradient(loss, in, d_in, with_step(kExactStep));
  EXPECT_FALSE(gradient_ok(result, kTolerance, "linear d_in with one entry 1% off (must fail)"));
  EXPECT_EQ(result.entries[result.worst].index, 9u);
  EXPECT_NEAR(result.max_rel, 0.01 / 1.01, 1e-3);
  EXPECT_EQ(result.entries.size(), in.size());
}

// ---- convolution ----

void check_conv2d(const Conv2dShape& s, int n, std::uint64_t seed, const std::string& what) {
  Rng rng(seed);
  std::vector<float> in = random_vector(in_count(s, n), rng);
  std::vector<float> weight = random_vector(s.weight_count(), rng, -0.5f, 0.5f);
  std::vector<float> bias = random_vector(std::size_t(s.out_c), rng);
  const std::vector<float> r = random_vector(out_count(s, n), rng);
  std::vector<float> out(r.size());
  Workspace workspace(std::max(conv2d_forward_scratch(s, n), conv2d_backward_scratch(s, n)));
  auto loss = [&] {
    conv2d_forward(out.data(), in.data(), weight.data(), bias.data(), s, n, workspace.scratch());
    return projection(out, r);
  };

  std::vector<float> d_in(in.size()), d_weight(weight.size(), 0.0f), d_bias(bias.size(), 0.0f);
  conv2d_backward(d_in.data(), d_weight.data(), d_bias.data(), r.data(), in.data(), weight.data(), s, n,
                  workspace.scratch());
  const GradCheckOptions opt = with_step(kExactStep);
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, opt), kTolerance, what + " d_in"));
  EXPECT_TRUE(gradient_ok(check_gradient(loss, weight, d_weight, opt), kTolerance, what + " d_weight"));
  EXPECT_TRUE(gradient_ok(check_gradient(loss, bias, d_bias, opt), kTolerance, what + " d_bias"));
}

TEST(Conv2dGradient, FullTable) {
  check_conv2d(Conv2dShape{6, 8, 8, 16, 5, nullptr}, 2, 11, "conv2d full 6@8x8->16@4x4");
}

TEST(Conv2dGradient, TableI) {
  const ConnectionTable table = lenet5_c3_table();
  check_conv2d(Conv2dShape{6, 8, 8, 16, 5, &table}, 2, 12, "conv2d Table I 6@8x8->16@4x4");
}

TEST(Conv2dGradient, OneByOneOutputLikeC5) {
  check_conv2d(Conv2dShape{4, 5, 5, 7, 5, nullptr}, 3, 13, "conv2d C5-like 4@5x5->7@1x1");
}

TEST(Conv2dGradient, TableIOneByOneOutput) {
  const ConnectionTable table = lenet5_c3_table();
  check_conv2d(Conv2dShape{6, 3, 3, 16, 3, &table}, 3, 14, "conv2d Table I 6@3x3->16@1x1");
}

TEST(Conv2dGradient, NonSquareEvenKernel) {
  check_conv2d(Conv2dShape{2, 6, 7, 3, 4, nullptr}, 2, 15, "conv2d 2@6x7->3@3x4 k4");
}

// ---- subsampling (S2, S4 of the paper) ----

void check_subsample(const PoolShape& s, int n, std::uint64_t seed, const std::string& what) {
  Rng rng(seed);
  std::vector<float> in = random_vector(std::size_t(n) * s.c * s.in_h * s.in_w, rng);
  std::vector<float> coef = random_vector(std::size_t(s.c), rng);
  std::vector<float> bias = random_vector(std::size_t(s.c), rng);
  const std::vector<float> r = random_vector(std::size_t(n) * s.c * s.out_h() * s.out_w(), rng);
  std::vector<float> out(r.size());
  auto loss = [&] {
    subsample_forward(out.data(), in.data(), coef.data(), bias.data(), s, n);
    return projection(out, r);
  };
  std::vector<float> d_in(in.size()), d_coef(coef.size(), 0.0f), d_bias(bias.size(), 0.0f);
  subsample_backward(d_in.data(), d_coef.data(), d_bias.data(), r.data(), in.data(), coef.data(), s, n);
  const GradCheckOptions opt = with_step(kExactStep);
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, opt), kTolerance, what + " d_in"));
  EXPECT_TRUE(gradient_ok(check_gradient(loss, coef, d_coef, opt), kTolerance, what + " d_coef"));
  EXPECT_TRUE(gradient_ok(check_gradient(loss, bias, d_bias, opt), kTolerance, what + " d_bias"));
}

TEST(SubsampleGradient, EvenPlanes) { check_subsample(PoolShape{3, 6, 6}, 2, 21, "subsample 3@6x6"); }
// An odd trailing row/column is not read, so its gradient must be exactly zero (the checker sees 0 too).
TEST(SubsampleGradient, OddPlanes) { check_subsample(PoolShape{2, 5, 7}, 3, 22, "subsample 2@5x7"); }

// ---- max pooling (modern S2, S4) ----

void check_maxpool(const PoolShape& s, int n, std::uint64_t seed, const std::string& what) {
  Rng rng(seed);
  const GradCheckOptions opt;  // default step: max pooling is piecewise linear, kept off its kinks
  std::vector<float> in = random_vector(std::size_t(n) * s.c * s.in_h * s.in_w, rng);
  test::separate_pool_blocks(in, s, n, float(2 * opt.h), rng);
  const std::vector<float> r = random_vector(std::size_t(n) * s.c * s.out_h() * s.out_w(), rng);
  std::vector<float> out(r.size());
  std::vector<std::int32_t> argmax(r.size());
  auto loss = [&] {
    maxpool_forward(out.data(), argmax.data(), in.data(), s, n);
    return projection(out, r);
  };
  loss();  // argmax of the unperturbed point
  std::vector<float> d_in(in.size());
  maxpool_backward(d_in.data(), r.data(), argmax.data(), s, n);
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, opt), kTolerance, what + " d_in"));
}

TEST(MaxpoolGradient, EvenPlanes) { check_maxpool(PoolShape{3, 6, 6}, 2, 31, "maxpool 3@6x6"); }
TEST(MaxpoolGradient, OddPlanes) { check_maxpool(PoolShape{2, 5, 7}, 3, 32, "maxpool 2@5x7"); }

TEST(Maxpool, TiesGoToTheFirstInRowMajorOrder) {
  const PoolShape s{1, 2, 2};
  const float in[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  float out[1];
  std::int32_t argmax[1] = {-1};
  maxpool_forward(out, argmax, in, s, 1);
  EXPECT_EQ(argmax[0], 0);
  EXPECT_EQ(out[0], 0.5f);
}

// ---- squashing functions ----

TEST(ActivationGradient, ScaledTanh) {
  Rng rng(41);
  std::vector<float> in = random_vector(64, rng, -3.0f, 3.0f);
  const std::vector<float> r = random_vector(in.size(), rng);
  std::vector<float> out(in.size());
  auto loss = [&] {
    scaled_tanh_forward(out.data(), in.data(), in.size());
    return projection(out, r);
  };
  loss();
  std::vector<float> d_in(in.size());
  scaled_tanh_backward(d_in.data(), r.data(), out.data(), in.size());
  // Smooth: at h = 1e-2 the truncation error h²·f'''/6 (~2e-5) balances the rounding of f, ~ε·A/h.
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, with_step(1e-2)), kTolerance, "scaled tanh d_in"));

  // In place (d_in aliasing d_out), as the model calls it: the same up to the last bit or so (the
  // vectorised and scalar paths may round differently).
  std::vector<float> d = r;
  scaled_tanh_backward(d.data(), d.data(), out.data(), d.size());
  for (std::size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(d[i], d_in[i], 1e-6 * (1 + std::abs(d_in[i]))) << i;
}

TEST(ActivationGradient, Relu) {
  Rng rng(42);
  const GradCheckOptions opt;
  std::vector<float> in = random_vector(64, rng);
  test::keep_off_zero(in, float(2 * opt.h), rng);
  const std::vector<float> r = random_vector(in.size(), rng);
  std::vector<float> out(in.size());
  auto loss = [&] {
    relu_forward(out.data(), in.data(), in.size());
    return projection(out, r);
  };
  loss();
  std::vector<float> d_in(in.size());
  relu_backward(d_in.data(), r.data(), out.data(), in.size());
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, opt), kTolerance, "relu d_in"));
}

TEST(Activation, ScaledTanhMapsPlusMinusOneToPlusMinusOne) {
  // Appendix A: A and S are chosen so that f(1) = 1 and f(−1) = −1 (1.7159·tanh(2/3) = 1.00005).
  float in[2] = {1.0f, -1.0f}, out[2];
  scaled_tanh_forward(out, in, 2);
  EXPECT_NEAR(out[0], 1.0f, 1e-4);
  EXPECT_NEAR(out[1], -1.0f, 1e-4);
  // The asymptotes are ±A, and the function is odd.
  float big[2] = {40.0f, -40.0f};
  scaled_tanh_forward(out, big, 2);
  EXPECT_FLOAT_EQ(out[0], kTanhAmplitude);
  EXPECT_FLOAT_EQ(out[1], -kTanhAmplitude);
}

// ---- full connection ----

TEST(LinearGradient, SmallShapes) {
  const int in_f = 7, out_f = 5, n = 3;
  Rng rng(51);
  std::vector<float> in = random_vector(std::size_t(n) * in_f, rng);
  std::vector<float> weight = random_vector(std::size_t(out_f) * in_f, rng);
  std::vector<float> bias = random_vector(std::size_t(out_f), rng);
  const std::vector<float> r = random_vector(std::size_t(n) * out_f, rng);
  std::vector<float> out(r.size());
  auto loss = [&] {
    linear_forward(out.data(), in.data(), weight.data(), bias.data(), in_f, out_f, n);
    return projection(out, r);
  };
  std::vector<float> d_in(in.size()), d_weight(weight.size(), 0.0f), d_bias(bias.size(), 0.0f);
  linear_backward(d_in.data(), d_weight.data(), d_bias.data(), r.data(), in.data(), weight.data(), in_f,
                  out_f, n);
  const GradCheckOptions opt = with_step(kExactStep);
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, opt), kTolerance, "linear 7->5 d_in"));
  EXPECT_TRUE(gradient_ok(check_gradient(loss, weight, d_weight, opt), kTolerance, "linear 7->5 d_weight"));
  EXPECT_TRUE(gradient_ok(check_gradient(loss, bias, d_bias, opt), kTolerance, "linear 7->5 d_bias"));
}

// ---- Euclidean RBF output ----

TEST(RbfGradient, Input) {
  const int n = 2;
  Rng rng(61);
  std::vector<float> in = random_vector(std::size_t(n) * kRbfInputs, rng, -1.5f, 1.5f);
  const std::vector<float> r = random_vector(std::size_t(n) * kRbfClasses, rng);
  std::vector<float> out(r.size());
  auto loss = [&] {
    rbf_forward(out.data(), in.data(), rbf_digit_prototypes(), n);
    return projection(out, r);
  };
  std::vector<float> d_in(in.size());
  rbf_backward(d_in.data(), r.data(), in.data(), rbf_digit_prototypes(), n);
  EXPECT_TRUE(gradient_ok(check_gradient(loss, in, d_in, with_step(kExactStep)), kTolerance, "rbf d_in"));
}

TEST(Rbf, ForwardIsTheSquaredDistanceToEachPrototype) {
  const float* w = rbf_digit_prototypes();
  std::vector<float> in(w + 3 * kRbfInputs, w + 4 * kRbfInputs);  // exactly prototype 3
  in[0] += 0.5f;
  float out[kRbfClasses];
  rbf_forward(out, in.data(), w, 1);
  EXPECT_FLOAT_EQ(out[3], 0.25f);
  for (int i = 0; i < kRbfClasses; ++i) {
    double d = 0;
    for (int j = 0; j < kRbfInputs; ++j)
      d += (double(in[j]) - w[i * kRbfInputs + j]) * (in[j] - w[i * kRbfInputs + j]);
    EXPECT_NEAR(out[i], d, 1e-4) << "class " << i;
  }
}

TEST(Rbf, PrototypesArePlusMinusOneAndPairwiseDistinct) {
  const float* w = rbf_digit_prototypes();
  for (int d = 0; d < kRbfClasses; ++d)
    for (int r = 0; r < kRbfHeight; ++r) {
      ASSERT_EQ(kRbfBitmaps[d][r].size(), std::size_t(kRbfWidth)) << "digit " << d << " row " << r;
      for (int c = 0; c < kRbfWidth; ++c) {
        const char ch = kRbfBitmaps[d][r][c];
        EXPECT_TRUE(ch == '#' || ch == '.') << "digit " << d << " row " << r << " col " << c;
        EXPECT_EQ(w[d * kRbfInputs + r * kRbfWidth + c], ch == '#' ? 1.0f : -1.0f);
      }
    }
  int closest = kRbfInputs;
  for (int a = 0; a < kRbfClasses; ++a)
    for (int b = a + 1; b < kRbfClasses; ++b) {
      int differ = 0;
      for (int j = 0; j < kRbfInputs; ++j) differ += w[a * kRbfInputs + j] != w[b * kRbfInputs + j];
      EXPECT_GT(differ, 0) << "prototypes " << a << " and " << b << " are identical";
      closest = std::min(closest, differ);
    }
  std::printf("[rbf] closest pair of prototypes differs in %d of %d pixels\n", closest, kRbfInputs);
}

// ---- the contract: parameter gradients accumulate (+=), input gradients are assigned ----

constexpr float kGarbage = 12345.0f;

// After a second backward into the same buffers, each parameter gradient is twice the first. Not bit-exact:
// a kernel that adds per sample rounds (a + b) + a + b differently from 2·(a + b).
void expect_doubled(const std::vector<float>& twice, const std::vector<float>& once, const char* what) {
  ASSERT_EQ(twice.size(), once.size());
  for (std::size_t i = 0; i < once.size(); ++i)
    ASSERT_NEAR(twice[i], 2 * once[i], 1e-5 * (1 + std::abs(2 * once[i]))) << what << " " << i;
}

void check_conv2d_contract(const Conv2dShape& s, int n, bool fast) {
  Rng rng(71);
  const std::vector<float> in = random_vector(in_count(s, n), rng);
  const std::vector<float> weight = random_vector(s.weight_count(), rng);
  const std::vector<float> d_out = random_vector(out_count(s, n), rng);
  Workspace workspace(conv2d_backward_scratch(s, n));
  auto backward = [&](float* di, float* dw, float* db) {
    if (fast)
      conv2d_backward(di, dw, db, d_out.data(), in.data(), weight.data(), s, n, workspace.scratch());
    else
      naive::conv2d_backward(di, dw, db, d_out.data(), in.data(), weight.data(), s, n);
  };
  std::vector<float> d_weight(weight.size(), 0.0f), d_bias(std::size_t(s.out_c), 0.0f);
  std::vector<float> d_in1(in.size(), std::numeric_limits<float>::quiet_NaN()), d_in2(in.size(), kGarbage);
  backward(d_in1.data(), d_weight.data(), d_bias.data());
  const std::vector<float> d_weight1 = d_weight, d_bias1 = d_bias;
  backward(d_in2.data(), d_weight.data(), d_bias.data());
  for (float v : d_in1) ASSERT_TRUE(std::isfinite(v)) << "d_in was added to, not assigned";
  EXPECT_EQ(d_in1, d_in2);
  expect_doubled(d_weight, d_weight1, "d_weight");
  expect_doubled(d_bias, d_bias1, "d_bias");
}

TEST(BackwardContract, Conv2dAccumulatesParametersAndAssignsInput) {
  const ConnectionTable table = lenet5_c3_table();
  for (bool fast : {true, false}) {
    SCOPED_TRACE(fast ? "fast" : "naive");
    check_conv2d_contract(Conv2dShape{6, 8, 8, 16, 5, nullptr}, 2, fast);
    check_conv2d_contract(Conv2dShape{6, 8, 8, 16, 5, &table}, 2, fast);
    check_conv2d_contract(Conv2dShape{4, 5, 5, 7, 5, nullptr}, 3, fast);
    check_conv2d_contract(Conv2dShape{6, 5, 5, 16, 5, &table}, 3, fast);
  }
}

TEST(BackwardContract, SubsampleAccumulatesParametersAndAssignsInput) {
  const PoolShape s{3, 5, 7};  // odd: the unread trailing row/column must be assigned zero too
  const int n = 2;
  Rng rng(72);
  const std::vector<float> in = random_vector(std::size_t(n) * s.c * s.in_h * s.in_w, rng);
  const std::vector<float> coef = random_vector(std::size_t(s.c), rng);
  const std::vector<float> d_out = random_vector(std::size_t(n) * s.c * s.out_h() * s.out_w(), rng);
  std::vector<float> d_coef(coef.size(), 0.0f), d_bias(coef.size(), 0.0f);
  std::vector<float> d_in1(in.size(), std::numeric_limits<float>::quiet_NaN()), d_in2(in.size(), kGarbage);
  subsample_backward(d_in1.data(), d_coef.data(), d_bias.data(), d_out.data(), in.data(), coef.data(), s, n);
  const std::vector<float> d_coef1 = d_coef, d_bias1 = d_bias;
  subsample_backward(d_in2.data(), d_coef.data(), d_bias.data(), d_out.data(), in.data(), coef.data(), s, n);
  for (float v : d_in1) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(d_in1, d_in2);
  expect_doubled(d_coef, d_coef1, "d_coef");
  expect_doubled(d_bias, d_bias1, "d_bias");
}

TEST(BackwardContract, LinearAccumulatesParametersAndAssignsInput) {
  const int in_f = 9, out_f = 6, n = 3;
  for (bool fast : {true, false}) {
    SCOPED_TRACE(fast ? "fast" : "naive");
    auto backward = fast ? &linear_backward : &naive::linear_backward;
    Rng rng(73);
    const std::vector<float> in = random_vector(std::size_t(n) * in_f, rng);
    const std::vector<float> weight = random_vector(std::size_t(out_f) * in_f, rng);
    const std::vector<float> d_out = random_vector(std::size_t(n) * out_f, rng);
    std::vector<float> d_weight(weight.size(), 0.0f), d_bias(std::size_t(out_f), 0.0f);
    std::vector<float> d_in1(in.size(), std::numeric_limits<float>::quiet_NaN()), d_in2(in.size(), kGarbage);
    backward(d_in1.data(), d_weight.data(), d_bias.data(), d_out.data(), in.data(), weight.data(), in_f,
             out_f, n);
    const std::vector<float> d_weight1 = d_weight, d_bias1 = d_bias;
    backward(d_in2.data(), d_weight.data(), d_bias.data(), d_out.data(), in.data(), weight.data(), in_f,
             out_f, n);
    for (float v : d_in1) ASSERT_TRUE(std::isfinite(v));
    EXPECT_EQ(d_in1, d_in2);
    expect_doubled(d_weight, d_weight1, "d_weight");
    expect_doubled(d_bias, d_bias1, "d_bias");
  }
}

// Layers without parameters: only the assignment of d_in to check.
TEST(BackwardContract, ParameterFreeLayersAssignInput) {
  Rng rng(74);
  const PoolShape s{2, 4, 6};
  const int n = 2;
  const std::vector<float> in = random_vector(std::size_t(n) * s.c * s.in_h * s.in_w, rng);
  const std::vector<float> d_out = random_vector(std::size_t(n) * s.c * s.out_h() * s.out_w(), rng);
  std::vector<float> pooled(d_out.size());
  std::vector<std::int32_t> argmax(d_out.size());
  maxpool_forward(pooled.data(), argmax.data(), in.data(), s, n);
  std::vector<float> clean(in.size(), 0.0f), dirty(in.size(), kGarbage);
  maxpool_backward(clean.data(), d_out.data(), argmax.data(), s, n);
  maxpool_backward(dirty.data(), d_out.data(), argmax.data(), s, n);
  EXPECT_EQ(clean, dirty) << "maxpool";

  const std::vector<float> x = random_vector(std::size_t(n) * kRbfInputs, rng);
  const std::vector<float> g = random_vector(std::size_t(n) * kRbfClasses, rng);
  std::vector<float> rbf_clean(x.size(), 0.0f), rbf_dirty(x.size(), kGarbage);
  rbf_backward(rbf_clean.data(), g.data(), x.data(), rbf_digit_prototypes(), n);
  rbf_backward(rbf_dirty.data(), g.data(), x.data(), rbf_digit_prototypes(), n);
  EXPECT_EQ(rbf_clean, rbf_dirty) << "rbf";

  std::vector<float> act(in.size());
  for (bool is_tanh : {true, false}) {
    (is_tanh ? scaled_tanh_forward : relu_forward)(act.data(), in.data(), in.size());
    std::vector<float> d_clean(in.size(), 0.0f), d_dirty(in.size(), kGarbage);
    const std::vector<float> d = random_vector(in.size(), rng);
    auto backward = is_tanh ? scaled_tanh_backward : relu_backward;
    backward(d_clean.data(), d.data(), act.data(), in.size());
    backward(d_dirty.data(), d.data(), act.data(), in.size());
    EXPECT_EQ(d_clean, d_dirty) << (is_tanh ? "scaled tanh" : "relu");
  }
}

// ---- Table I ----

TEST(TableI, MatchesThePaper) {
  // LeCun et al. 1998, Table I: row = S2 map, column = C3 map, X = connected.
  const char* kPaper[6] = {"X...XXX..XXXX.XX", "XX...XXX..XXXX.X", "XXX...XXX..X.XXX",
                           ".XXX..XXXX..X.XX", "..XXX..XXXX.XX.X", "...XXX..XXXX.XXX"};
  const ConnectionTable t = lenet5_c3_table();
  ASSERT_EQ(t.inputs.size(), 16u);
  std::size_t connections = 0;
  for (int o = 0; o < 16; ++o) {
    const std::set<int> got(t.inputs[o].begin(), t.inputs[o].end());
    EXPECT_EQ(got.size(), t.inputs[o].size()) << "C3 map " << o << " reads a map twice";
    std::set<int> want;
    for (int i = 0; i < 6; ++i)
      if (kPaper[i][o] == 'X') want.insert(i);
    EXPECT_EQ(got, want) << "C3 map " << o;
    connections += t.inputs[o].size();
  }
  EXPECT_EQ(connections, 60u);

  const Conv2dShape c3{6, 14, 14, 16, 5, &t};
  EXPECT_EQ(c3.weight_count() + 16, 1516u);         // the paper's 1,516 trainable parameters
  EXPECT_EQ(c3.connections() + 16 * 100, 151600u);  // and 151,600 connections (biases included)
}

}  // namespace
}  // namespace lenet
