// The three losses through the gradient checker (cross-entropy also with outliers), against hand-computed
// values on tiny cases, and the MAP loss at extreme distances; softmax rows, its negate flag, in-place use.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "helpers/gradcheck.h"
#include "lenet/loss.h"
#include "lenet/rng.h"

namespace lenet {
namespace {

using test::check_gradient;
using test::gradient_ok;
using test::random_vector;

constexpr double kTolerance = 1e-5;  // the losses are computed in double: only the step's truncation remains

// A loss as the tests call it: (d_scores, scores, labels, classes, n, grad_scale) -> summed loss.
using Loss = std::function<double(float*, const float*, const std::uint8_t*, int, int, float)>;

// d_scores = grad_scale·∂(sum of losses)/∂scores, so grad_scale × the returned sum is what is differentiated.
void check_loss_gradient(const Loss& loss, std::vector<float> scores, const std::vector<std::uint8_t>& labels,
                         int classes, float grad_scale, const std::string& what) {
  const int n = int(labels.size());
  std::vector<float> d(scores.size());
  loss(d.data(), scores.data(), labels.data(), classes, n, grad_scale);
  auto value = [&] {
    return double(grad_scale) * loss(nullptr, scores.data(), labels.data(), classes, n, 1.0f);
  };
  EXPECT_TRUE(gradient_ok(check_gradient(value, scores, d), kTolerance, what));
}

TEST(LossGradient, SoftmaxCrossEntropy) {
  Rng rng(1);
  const std::vector<std::uint8_t> labels = {3, 0, 9};
  check_loss_gradient(softmax_cross_entropy, random_vector(30, rng, -4.0f, 4.0f), labels, 10, 1.0f / 3,
                      "softmax cross-entropy");
}

// Outlier exposure: outliers mixed with digits in one batch, the gradient of both kinds checked together.
TEST(LossGradient, SoftmaxCrossEntropyWithOutliers) {
  Rng rng(4);
  const std::vector<std::uint8_t> labels = {kOutlierLabel, 6, kOutlierLabel, 1};
  check_loss_gradient(softmax_cross_entropy, random_vector(40, rng, -6.0f, 6.0f), labels, 10, 0.25f,
                      "softmax cross-entropy with outliers");
}

TEST(LossGradient, RbfMle) {
  Rng rng(2);
  const std::vector<std::uint8_t> labels = {1, 7};
  check_loss_gradient(rbf_mle_loss, random_vector(20, rng, 0.0f, 20.0f), labels, 10, 0.5f, "rbf mle");
}

TEST(LossGradient, RbfMapForSeveralJ) {
  const std::vector<std::uint8_t> labels = {2, 5, 0};
  for (float j : {1.0f, 0.0f, 0.1f, 5.0f}) {
    Rng rng(3);
    // Penalties of the size the RBF gives near a trained state, so e^(−y) and e^(−j) both matter.
    const std::vector<float> penalties = random_vector(30, rng, 0.0f, 6.0f);
    auto map = [j](float* d, const float* y, const std::uint8_t* l, int classes, int n, float gs) {
      return rbf_map_loss(d, y, l, classes, n, j, gs);
    };
    check_loss_gradient(map, penalties, labels, 10, 1.0f / 3, "rbf map j=" + std::to_string(j));
  }
}

// ---- values by hand ----

TEST(LossValues, SoftmaxCrossEntropyByHand) {
  // Sample 0: logits (0, 0, ln 2) -> softmax (1/4, 1/4, 1/2); label 2 -> loss ln 2.
  // Sample 1: logits (1, 2, 3), label 0 -> loss log(e + e² + e³) − 1 = log(1 + e + e²) = 2.40760596444438.
  const float logits[6] = {0.0f, 0.0f, float(std::log(2.0)), 1.0f, 2.0f, 3.0f};
  const std::uint8_t labels[2] = {2, 0};
  float d[6];
  const double loss = softmax_cross_entropy(d, logits, labels, 3, 2, 0.5f);
  EXPECT_NEAR(loss, std::log(2.0) + 2.40760596444438, 1e-6);
  // grad_scale 0.5 · (softmax − one-hot)
  const double p1[3] = {0.0900305731703805, 0.2447284710547976, 0.6652409557748219};
  const double expected[6] = {0.125, 0.125, -0.25, 0.5 * (p1[0] - 1), 0.5 * p1[1], 0.5 * p1[2]};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(d[i], expected[i], 1e-6) << i;
  EXPECT_EQ(softmax_cross_entropy(nullptr, logits, labels, 3, 2, 0.5f), loss);  // no gradient wanted
}

TEST(LossValues, OutlierIsCrossEntropyToUniform) {
  // Logits (0, 0, ln 4) -> softmax (1/6, 1/6, 2/3). To the uniform target: log(6) − ln(4)/3, whose gradient
  // is softmax − 1/3 = (−1/6, −1/6, 1/3).
  const float logits[3] = {0.0f, 0.0f, float(std::log(4.0))};
  const std::uint8_t label = kOutlierLabel;
  float d[3];
  EXPECT_NEAR(softmax_cross_entropy(d, logits, &label, 3, 1, 1.0f), std::log(6.0) - std::log(4.0) / 3, 1e-6);
  const double expected[3] = {-1.0 / 6, -1.0 / 6, 1.0 / 3};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(d[i], expected[i], 1e-6) << i;
  // Equal logits are the minimum, log(classes) (the entropy of the uniform), with zero gradient;
  // a confident answer costs more.
  const float flat[3] = {2.0f, 2.0f, 2.0f}, sure[3] = {12.0f, 0.0f, 0.0f};
  EXPECT_NEAR(softmax_cross_entropy(d, flat, &label, 3, 1, 1.0f), std::log(3.0), 1e-6);
  for (float g : d) EXPECT_NEAR(g, 0.0f, 1e-7);
  EXPECT_GT(softmax_cross_entropy(nullptr, sure, &label, 3, 1, 1.0f), 3.0);
}

TEST(LossValues, RbfMleByHand) {
  // E = the correct class's penalty; its derivative is 1 there and 0 elsewhere.
  const float y[6] = {3.0f, 1.5f, 7.0f, 0.25f, 9.0f, 4.0f};
  const std::uint8_t labels[2] = {1, 2};
  float d[6];
  EXPECT_DOUBLE_EQ(rbf_mle_loss(d, y, labels, 3, 2, 0.25f), 1.5 + 4.0);
  const float expected[6] = {0, 0.25f, 0, 0, 0, 0.25f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(d[i], expected[i]) << i;
}

TEST(LossValues, RbfMapByHand) {
  // Two classes, y = (ln 2, ln 4), j = ln 4: e^(−y) = (1/2, 1/4), e^(−j) = 1/4, the sum is 1 and its log 0.
  // Label 0: E = ln 2, ∂E/∂y = (1 − 1/2, −1/4). Label 1: E = ln 4, ∂E/∂y = (−1/2, 1 − 1/4).
  const float ln2 = float(std::log(2.0)), ln4 = float(std::log(4.0));
  const float y[4] = {ln2, ln4, ln2, ln4};
  const std::uint8_t labels[2] = {0, 1};
  float d[4];
  EXPECT_NEAR(rbf_map_loss(d, y, labels, 2, 2, ln4, 1.0f), std::log(2.0) + std::log(4.0), 1e-6);
  const double expected[4] = {0.5, -0.25, -0.5, 0.75};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d[i], expected[i], 1e-6) << i;

  // The default j = 1 with y = (0, 0): E = 0 + log(e^(−1) + 2) = 0.8619948040582511.
  const float zeros[2] = {0.0f, 0.0f};
  EXPECT_NEAR(rbf_map_loss(nullptr, zeros, labels, 2, 1, 1.0f, 1.0f), 0.8619948040582511, 1e-6);
}

// ---- the MAP loss at extreme distances ----

// Loss and gradient must be finite, and the gradient must sum to grad_scale·(1 − Σq) ∈ [0, grad_scale],
// q_i = e^(−y_i) / (e^(−j) + Σ e^(−y_k)): the correct class pulls with grad_scale, the others push with q.
void check_map_extreme(const std::vector<float>& y, int label, float j, float grad_scale,
                       double expected_loss, const std::vector<double>& expected_d, const std::string& what) {
  SCOPED_TRACE(what);
  const int classes = int(y.size());
  const std::uint8_t l = std::uint8_t(label);
  std::vector<float> d(y.size());
  const double loss = rbf_map_loss(d.data(), y.data(), &l, classes, 1, j, grad_scale);
  ASSERT_TRUE(std::isfinite(loss)) << loss;
  double sum = 0;
  for (float v : d) {
    ASSERT_TRUE(std::isfinite(v)) << v;
    sum += v;
  }
  EXPECT_GE(sum, -1e-6 * grad_scale);
  EXPECT_LE(sum, grad_scale * (1 + 1e-6));
  EXPECT_NEAR(loss, expected_loss, 1e-9 * std::max(1.0, std::abs(expected_loss)));
  for (int i = 0; i < classes; ++i) EXPECT_NEAR(d[i], expected_d[i], 1e-6) << "class " << i;
}

TEST(LossStability, RbfMapAtExtremeDistances) {
  const float gs = 0.5f;
  const double e1 = std::exp(-1.0);
  // The correct class far away (1e4), the others at 0: E = 1e4 + log(e^(−1) + 9).
  {
    std::vector<float> y(10, 0.0f);
    y[4] = 1e4f;
    std::vector<double> d(10, -gs / (e1 + 9));
    d[4] = gs;
    check_map_extreme(y, 4, 1.0f, gs, 1e4 + std::log(e1 + 9), d, "correct at 1e4, others at 0");
  }
  // The correct class at 0, the others far: E = log(e^(−1) + 1), ∂E/∂y_c = 1 − 1/(e^(−1) + 1).
  {
    std::vector<float> y(10, 1e4f);
    y[7] = 0.0f;
    std::vector<double> d(10, 0.0);
    d[7] = gs * (1 - 1 / (e1 + 1));
    check_map_extreme(y, 7, 1.0f, gs, std::log(e1 + 1), d, "correct at 0, others at 1e4");
  }
  // Every penalty 1e30: only e^(−j) is left in the sum, E = 1e30 − j, the gradient is all on the correct
  // class.
  {
    std::vector<float> y(10, 1e30f);
    std::vector<double> d(10, 0.0);
    d[0] = gs;
    check_map_extreme(y, 0, 1.0f, gs, double(1e30f) - 1.0, d, "all at 1e30");
  }
  // Every penalty and j at 1e30: a naive log(e^(−j) + Σ e^(−y)) would be log(0). Eleven equal terms,
  // q_i = 1/11. (The value itself, 1e30 + log 11 − 1e30, cancels in double, so only finiteness is asked.)
  {
    std::vector<float> y(10, 1e30f);
    std::vector<double> d(10, -gs / 11.0);
    d[2] = gs * (1 - 1 / 11.0);
    const std::uint8_t l = 2;
    std::vector<float> g(10);
    const double loss = rbf_map_loss(g.data(), y.data(), &l, 10, 1, 1e30f, gs);
    EXPECT_TRUE(std::isfinite(loss)) << loss;
    double sum = 0;
    for (int i = 0; i < 10; ++i) {
      EXPECT_NEAR(g[i], d[i], 1e-6) << "class " << i;
      sum += g[i];
    }
    EXPECT_NEAR(sum, gs / 11.0, 1e-6);
  }
}

// ---- softmax ----

TEST(Softmax, RowsSumToOneAndNegateFlipsTheOrder) {
  Rng rng(5);
  const int classes = 10, n = 4;
  std::vector<float> z = random_vector(std::size_t(classes) * n, rng, -20.0f, 20.0f);
  z[3] = 80.0f;    // exp(80) overflows float: must not matter
  z[15] = -1e30f;  // nor a vanishing class
  std::vector<float> p(z.size()), q(z.size());
  softmax(p.data(), z.data(), classes, n, false);
  softmax(q.data(), z.data(), classes, n, true);
  for (int b = 0; b < n; ++b) {
    double sp = 0, sq = 0;
    for (int i = 0; i < classes; ++i) {
      const float pi = p[std::size_t(b) * classes + i], qi = q[std::size_t(b) * classes + i];
      ASSERT_TRUE(std::isfinite(pi) && std::isfinite(qi));
      EXPECT_GE(pi, 0.0f);
      EXPECT_GE(qi, 0.0f);
      sp += pi;
      sq += qi;
    }
    EXPECT_NEAR(sp, 1.0, 1e-6) << "row " << b;
    EXPECT_NEAR(sq, 1.0, 1e-6) << "row " << b;
  }
  EXPECT_NEAR(p[3], 1.0f, 1e-6);
  // negate = softmax of the negated scores: larger penalty, smaller probability.
  std::vector<float> minus_z(z.size()), r(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) minus_z[i] = -z[i];
  softmax(r.data(), minus_z.data(), classes, n, false);
  for (std::size_t i = 0; i < z.size(); ++i) EXPECT_NEAR(q[i], r[i], 1e-7) << i;
  EXPECT_NEAR(q[15], 1.0f, 1e-6);  // the −1e30 score is, negated, the only one that counts
}

TEST(Softmax, ByHandAndInPlace) {
  std::vector<float> z = {0.0f, 0.0f, float(std::log(2.0))};
  softmax(z.data(), z.data(), 3, 1, false);  // in place
  EXPECT_NEAR(z[0], 0.25f, 1e-7);
  EXPECT_NEAR(z[1], 0.25f, 1e-7);
  EXPECT_NEAR(z[2], 0.5f, 1e-7);
}

TEST(Loss, GradScaleOnlyScalesTheGradient) {
  Rng rng(6);
  const std::vector<float> z = random_vector(20, rng, -3.0f, 3.0f);
  const std::uint8_t labels[2] = {4, 8};
  std::vector<float> d1(20), d4(20);
  const double l1 = softmax_cross_entropy(d1.data(), z.data(), labels, 10, 2, 1.0f);
  const double l4 = softmax_cross_entropy(d4.data(), z.data(), labels, 10, 2, 0.25f);
  EXPECT_EQ(l1, l4);  // the returned loss is always the plain sum
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(d4[i], 0.25f * d1[i], 1e-7) << i;
}

}  // namespace
}  // namespace lenet
