// One or two optimiser steps on a 3-element vector against numbers worked out by hand from torch.optim's
// update rules (SGD, momentum, Adam, weight decay, reset), and the step-decay learning-rate schedule.
#include <gtest/gtest.h>

#include <vector>

#include "lenet/optimizer.h"

namespace lenet {
namespace {

constexpr double kTolerance = 1e-6;  // float arithmetic on values of size ~1

const std::vector<float> kW0 = {1.0f, -2.0f, 0.5f};
const std::vector<float> kG1 = {0.1f, -0.2f, 0.3f};
const std::vector<float> kG2 = {-0.3f, 0.0f, 0.2f};
constexpr float kLr = 0.1f;

void expect_params(const std::vector<float>& w, const std::vector<double>& expected, const char* what) {
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(w[i], expected[i], kTolerance) << what << " [" << i << "]";
}

OptimizerConfig config(OptimizerKind kind, float weight_decay = 0.0f) {
  OptimizerConfig c;
  c.kind = kind;
  c.weight_decay = weight_decay;
  return c;
}

TEST(Optimizer, SgdByHand) {
  std::vector<float> w = kW0;
  Optimizer opt(config(OptimizerKind::Sgd), w.size());
  opt.step(w, kG1, kLr);  // w − η·g
  expect_params(w, {0.99, -1.98, 0.47}, "step 1");
  opt.step(w, kG2, kLr);
  expect_params(w, {1.02, -1.98, 0.45}, "step 2");
  EXPECT_EQ(opt.steps, 2);
}

TEST(Optimizer, SgdWithWeightDecayByHand) {
  // g ← g + λ·w with λ = 0.01: (0.11, −0.22, 0.305), then w − η·g.
  std::vector<float> w = kW0;
  Optimizer opt(config(OptimizerKind::Sgd, 0.01f), w.size());
  opt.step(w, kG1, kLr);
  expect_params(w, {0.989, -1.978, 0.4695}, "step 1");
}

TEST(Optimizer, MomentumByHand) {
  // torch: the buffer starts as the first gradient, then v ← μ·v + g; w ← w − η·v (μ = 0.9).
  std::vector<float> w = kW0;
  Optimizer opt(config(OptimizerKind::Momentum), w.size());
  opt.step(w, kG1, kLr);  // v = g1
  expect_params(w, {0.99, -1.98, 0.47}, "step 1");
  opt.step(w, kG2, kLr);  // v = 0.9·g1 + g2 = (−0.21, −0.18, 0.47)
  expect_params(w, {1.011, -1.962, 0.423}, "step 2");
  expect_params(opt.m, {-0.21, -0.18, 0.47}, "buffer");

  // reset() forgets the buffer: the next step is again a plain first step from where we are.
  opt.reset();
  EXPECT_EQ(opt.steps, 0);
  opt.step(w, kG1, kLr);
  expect_params(w, {1.001, -1.942, 0.393}, "after reset");
}

TEST(Optimizer, AdamByHand) {
  // β1 = 0.9, β2 = 0.999, ε = 1e-8; w ← w − (η / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
  std::vector<float> w = kW0;
  Optimizer opt(config(OptimizerKind::Adam), w.size());
  // Step 1: m = 0.1·g1, v = 0.001·g1², both bias corrections give back g1 and g1²: each weight moves by
  // η·g/(|g| + ε) ≈ η·sign(g).
  opt.step(w, kG1, kLr);
  expect_params(w, {0.900000009999999, -1.9000000049999999, 0.4000000033333332}, "step 1");
  expect_params(opt.m, {0.01, -0.02, 0.03}, "m after step 1");
  expect_params(opt.v, {1e-5, 4e-5, 9e-5}, "v after step 1");
  // Step 2: m = (−0.021, −0.018, 0.047), v = (9.999e-5, 3.996e-5, 1.2991e-4), 1 − β1² = 0.19,
  // 1 − β2² = 0.001999; e.g. w[1] = −1.9 + (0.1/0.19)·0.018/(√3.996e-5/√0.001999) = −1.83299418.
  opt.step(w, kG2, kLr);
  expect_params(w, {0.9494189911200654, -1.8329941843255586, 0.30296479433010304}, "step 2");
}

TEST(Optimizer, NamesRoundTrip) {
  for (OptimizerKind k : {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam})
    EXPECT_EQ(parse_optimizer(optimizer_name(k)), k);
  EXPECT_EQ(parse_optimizer("rmsprop"), std::nullopt);
}

TEST(StepDecay, HalvesEveryThreeEpochs) {
  // lr_0 · γ^⌊epoch / step⌋, epochs counted from 0.
  EXPECT_FLOAT_EQ(step_decay_lr(0.1f, 0.5f, 3, 0), 0.1f);
  EXPECT_FLOAT_EQ(step_decay_lr(0.1f, 0.5f, 3, 2), 0.1f);
  EXPECT_FLOAT_EQ(step_decay_lr(0.1f, 0.5f, 3, 3), 0.05f);
  EXPECT_FLOAT_EQ(step_decay_lr(0.1f, 0.5f, 3, 5), 0.05f);
  EXPECT_FLOAT_EQ(step_decay_lr(0.1f, 0.5f, 3, 6), 0.025f);
  EXPECT_FLOAT_EQ(step_decay_lr(0.01f, 0.1f, 1, 4), 1e-6f);
  // step ≤ 0: constant.
  EXPECT_EQ(step_decay_lr(0.1f, 0.5f, 0, 100), 0.1f);
  EXPECT_EQ(step_decay_lr(0.1f, 0.5f, -1, 100), 0.1f);
}

}  // namespace
}  // namespace lenet
