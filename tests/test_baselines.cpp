// Fig. 9's classifiers: the Sequential nets' gradients by the one checker, their sizes against the layer
// arithmetic, and each classical method on small cases whose answer is known.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "helpers/bars.h"
#include "helpers/gradcheck.h"
#include "lenet/baselines.h"
#include "lenet/classical.h"
#include "lenet/loss.h"
#include "lenet/sequential.h"

namespace lenet {
namespace {

using test::check_gradient;
using test::gradient_ok;

// Softmax cross-entropy of a net on two bar digits: the analytic parameter gradient against central
// differences, for every architecture of the comparison (a sample of each big arena).
TEST(Sequential, ParameterGradientsMatchCentralDifferences) {
  const Dataset data = test::bar_digits(2, 3);
  for (const std::string& name : sequential_names()) {
    SCOPED_TRACE(name);
    Sequential net = make_sequential(name);
    Rng rng(7);
    net.init(rng);
    SeqActivations a(net, 2);
    sequential_fill_inputs(net, a, data, nullptr, 0, 2);
    auto loss = [&]() {
      sequential_forward(net, a, 2);
      return softmax_cross_entropy(nullptr, a.x.back().data(), data.labels.data(), kClasses, 2, 1.0f);
    };
    loss();
    softmax_cross_entropy(a.d.back().data(), a.x.back().data(), data.labels.data(), kClasses, 2, 1.0f);
    std::fill(net.grads.begin(), net.grads.end(), 0.0f);
    sequential_backward(net, a, 2);
    test::GradCheckOptions opt;
    for (std::size_t i = 0; i < net.params.size(); i += 1 + net.params.size() / 400) opt.indices.push_back(i);
    for (const SeqLayer& l : net.layers()) opt.indices.push_back(l.b);  // every layer's first bias
    const std::vector<float> analytic = net.grads;
    EXPECT_TRUE(gradient_ok(check_gradient(loss, net.params, analytic, opt), 2e-2, name));
  }
}

TEST(Sequential, SizesFollowTheLayers) {
  EXPECT_EQ(make_sequential("fc-300").parameter_count(), 784u * 300 + 300 + 300 * 10 + 10);
  EXPECT_EQ(make_sequential("fc-500-150").parameter_count(), 784u * 500 + 500 + 500 * 150 + 150 + 1510);
  EXPECT_EQ(make_sequential("fc-300-100").connections(), 784u * 300 + 300 * 100 + 100 * 10);
  // LeNet-1: C1 4·26, S2 8, C3 12·(4·25 + 1), S4 24, output 192·10 + 10.
  EXPECT_EQ(make_sequential("lenet1").parameter_count(), 104u + 8 + 1212 + 24 + 1930);
  EXPECT_THROW(make_sequential("fc-7"), std::invalid_argument);
}

TEST(Sequential, LearnsBarDigits) {
  const Dataset train = test::bar_digits(600, 1), test_set = test::bar_digits(200, 2);
  for (const char* name : {"fc-300", "lenet1"}) {
    Sequential net = make_sequential(name);
    Rng rng(1);
    net.init(rng);
    SeqTrainConfig cfg;
    cfg.epochs = 5;
    const auto errors = sequential_train(net, train, cfg);
    const auto pred = sequential_predict(net, test_set);
    int wrong = 0;
    for (int i = 0; i < test_set.count; ++i) wrong += pred[std::size_t(i)] != test_set.labels[std::size_t(i)];
    EXPECT_LT(errors.back(), errors.front()) << name;
    EXPECT_LT(wrong, 10) << name;
  }
}

Features rows(std::vector<std::vector<float>> v) {
  Features f{int(v.size()), int(v[0].size()), {}};
  for (auto& r : v) f.values.insert(f.values.end(), r.begin(), r.end());
  return f;
}

TEST(Classical, KnnOnPointsWithKnownNeighbours) {
  const Features train = rows({{0, 0}, {0, 1}, {1, 0}, {10, 10}, {10, 11}, {11, 10}, {5, 5.2f}});
  const std::vector<std::uint8_t> labels = {1, 1, 1, 2, 2, 2, 3};
  const Features test = rows({{0.2f, 0.1f}, {9, 9}, {5, 5}, {4.9f, 5.1f}});
  EXPECT_EQ(knn_predict(train, labels, test, 1), (std::vector<std::uint8_t>{1, 2, 3, 3}));
  // k = 3: the lone 3 near (5, 5) is outvoted by the two 1s at (0, 1) and (1, 0), next nearest.
  EXPECT_EQ(knn_predict(train, labels, test, 3), (std::vector<std::uint8_t>{1, 2, 1, 1}));
  const Features far = rows({{0.4f, 0.4f}});
  EXPECT_EQ(knn_predict(train, labels, far, 3)[0], 1);
}

TEST(Classical, PcaFindsTheLeadingDirections) {
  // Points spread 3:1:0.1 along three orthogonal directions of R^5, off-centre.
  Rng rng(2);
  const float u[3][5] = {{0.6f, 0.8f, 0, 0, 0}, {0, 0, 1, 0, 0}, {0.8f, -0.6f, 0, 0, 0}};
  const float scale[3] = {3, 1, 0.1f};
  Features f{2000, 5, {}};
  for (int i = 0; i < f.count; ++i) {
    float x[5] = {1, 2, 3, 4, 5};
    for (int d = 0; d < 3; ++d) {
      const float c = rng.uniform(-1, 1) * scale[d];
      for (int k = 0; k < 5; ++k) x[k] += c * u[d][k];
    }
    f.values.insert(f.values.end(), x, x + 5);
  }
  const Pca p = fit_pca(f, 2);
  for (int c = 0; c < 2; ++c) {
    double dot = 0;
    for (int k = 0; k < 5; ++k) dot += double(p.basis[std::size_t(c * 5 + k)]) * u[c][k];
    EXPECT_GT(std::abs(dot), 0.999) << c;
  }
  EXPECT_NEAR(p.mean[3], 4.0f, 0.05f);
  const Features proj = pca_project(p, f);
  const Features q = quadratic_features(proj);
  ASSERT_EQ(q.dim, 2 + 3);
  EXPECT_FLOAT_EQ(q.row(5)[3], proj.row(5)[0] * proj.row(5)[1]);
}

TEST(Classical, LinearPairwiseAndRbfSeparateSeparableClasses) {
  // Ten well-separated clusters in 4-D: every classifier must get them all right.
  Rng rng(5);
  Features train{1000, 4, {}}, test{200, 4, {}};
  std::vector<std::uint8_t> train_labels, test_labels;
  auto make = [&](Features& f, std::vector<std::uint8_t>& labels) {
    for (int i = 0; i < f.count; ++i) {
      const int c = i % 10;
      const float centre[4] = {float(c % 3) * 4, float(c / 3) * 4, float(c % 2) * 4, 0};
      for (float v : centre) f.values.push_back(v + rng.uniform(-1, 1));
      labels.push_back(std::uint8_t(c));
    }
  };
  make(train, train_labels);
  make(test, test_labels);
  auto errors = [&](const std::vector<std::uint8_t>& pred) {
    int wrong = 0;
    for (std::size_t i = 0; i < pred.size(); ++i) wrong += pred[i] != test_labels[i];
    return wrong;
  };
  EXPECT_EQ(errors(predict_softmax(train_softmax_classifier(train, train_labels, 20, 0.05f, 1), test)), 0);
  EXPECT_EQ(errors(predict_pairwise(train_pairwise_classifier(train, train_labels, 20, 0.05f, 1), test)), 0);
  const RbfLayer rbf = fit_rbf(train, train_labels, 3, 5, 1);
  EXPECT_EQ(rbf.centres.count, 30);
  EXPECT_EQ(
      errors(predict_softmax(train_softmax_classifier(rbf_features(rbf, train), train_labels, 20, 0.05f, 1),
                             rbf_features(rbf, test))),
      0);
}

TEST(Baselines, EveryClassifierRunsOnBarDigits) {
  // 28×28 bars: each classifier of the table fits and scores well above chance (the real figures are
  // MNIST's, in docs/comparison.md).
  const Dataset train = test::bar_digits(500, 11), test_set = test::bar_digits(100, 12);
  BaselineOptions o;
  o.epochs = 3;
  for (const BaselineSpec& s : baseline_specs()) {
    if (s.name == "fc-1000" || s.name == "lenet4") continue;  // the same code as fc-300 / lenet1, slower
    const BaselineResult r = run_baseline(s.name, train, test_set, o);
    EXPECT_LT(r.test_error, 0.5) << s.name;
    EXPECT_GT(r.parameters, 0u) << s.name;
    EXPECT_GT(r.multiply_adds, 0u) << s.name;
  }
  EXPECT_THROW(run_baseline("svm", train, test_set, o), std::invalid_argument);
}

}  // namespace
}  // namespace lenet
