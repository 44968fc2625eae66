// Fig. 9's classifiers, each fitted with the library's own parts (classical.h, sequential.h), timed and
// scored on the test set.
#include "lenet/baselines.h"

#include <chrono>
#include <stdexcept>

#include "lenet/classical.h"
#include "lenet/distort.h"
#include "lenet/sequential.h"
#include "lenet/trainer.h"

namespace lenet {

const std::vector<BaselineSpec>& baseline_specs() {
  static const std::vector<BaselineSpec> specs = {
      {"linear", "linear classifier, 28x28 pixels -> 10", 12.0},
      {"pairwise", "pairwise linear classifier (45 units, one per pair of classes)", 7.6},
      {"knn", "k-nearest neighbours (k = 3), Euclidean", 5.0},
      {"pca-quadratic", "40 principal components + quadratic (polynomial) classifier", 3.3},
      {"rbf", "1000 radial basis functions (100 per class, k-means) + linear", 3.6},
      {"fc-300", "fully connected 28x28-300-10", 4.7},
      {"fc-1000", "fully connected 28x28-1000-10", 4.5},
      {"fc-300-100", "fully connected 28x28-300-100-10", 3.05},
      {"fc-500-150", "fully connected 28x28-500-150-10", 2.95},
      {"lenet1", "LeNet-1 (28x28, 4@24x24, 12@8x8, full C3)", 1.7},
      {"lenet4", "LeNet-4 (32x32, 4@28x28, 16@10x10, 120, full C3)", 1.1},
  };
  return specs;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double error_of(const std::vector<std::uint8_t>& predictions, const Dataset& data) {
  long long wrong = 0;
  for (int i = 0; i < data.count; ++i) wrong += predictions[std::size_t(i)] != data.labels[std::size_t(i)];
  return double(wrong) / data.count;
}

}  // namespace

BaselineResult run_baseline(const std::string& name, const Dataset& train_set, const Dataset& test_set,
                            const BaselineOptions& o) {
  BaselineResult r;
  bool found = false;
  for (const BaselineSpec& s : baseline_specs())
    if (s.name == name) {
      r.spec = s;
      found = true;
    }
  if (!found) throw std::invalid_argument("unknown classifier '" + name + "'");
  const int linear_epochs = o.epochs > 0 ? o.epochs : 10;
  constexpr float kLinearRate = 0.01f;
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t1;
  // Every branch fits its classifier, says what it holds and costs, and then classifies the test set.
  auto fitted = [&](std::size_t parameters, std::size_t multiply_adds) {
    r.parameters = parameters;
    r.multiply_adds = multiply_adds;
    t1 = std::chrono::steady_clock::now();
  };
  if (name.rfind("fc-", 0) == 0 || name == "lenet1" || name == "lenet4") {
    Sequential net = make_sequential(name);
    Rng rng(o.seed);
    net.init(rng);
    sequential_train(net, train_set, sequential_train_config(o.epochs, o.seed));
    fitted(net.parameter_count(), net.connections());
    r.predictions = sequential_predict(net, test_set);
  } else {
    const Features train = pixel_features(train_set), test = pixel_features(test_set);
    const std::size_t pixels = std::size_t(train.dim);
    auto softmax_on = [&](const Features& features) {
      return train_softmax_classifier(features, train_set.labels, linear_epochs, kLinearRate, o.seed);
    };
    if (name == "linear") {
      const LinearClassifier c = softmax_on(train);
      fitted(c.params.size(), pixels * kClasses);
      r.predictions = predict_softmax(c, test);
    } else if (name == "pairwise") {  // one unit per pair of classes
      const LinearClassifier c =
          train_pairwise_classifier(train, train_set.labels, linear_epochs, kLinearRate, o.seed);
      fitted(c.params.size(), pixels * (kClasses * (kClasses - 1) / 2));
      r.predictions = predict_pairwise(c, test);
    } else if (name == "knn") {
      fitted(std::size_t(train.count) * pixels,
             std::size_t(train.count) * pixels);  // the stored training set
      r.predictions = knn_predict(train, train_set.labels, test, 3);
    } else if (name == "pca-quadratic") {
      constexpr int kComponents = 40;
      const Pca pca = fit_pca(train, kComponents);
      const Features q_train = quadratic_features(pca_project(pca, train));
      const LinearClassifier c = softmax_on(q_train);
      // the projection, then the quadratic terms' dot products with the 10 classes' weights and the bias
      fitted(pca.basis.size() + pca.mean.size() + c.params.size(),
             pixels * kComponents + std::size_t(q_train.dim) * (kClasses + 1));
      r.predictions = predict_softmax(c, quadratic_features(pca_project(pca, test)));
    } else {  // rbf
      const RbfLayer rbf = fit_rbf(train, train_set.labels, 100, 10, o.seed);
      const LinearClassifier c = softmax_on(rbf_features(rbf, train));
      fitted(rbf.centres.values.size() + c.params.size(),
             std::size_t(rbf.centres.count) * pixels + std::size_t(rbf.centres.count) * kClasses);
      r.predictions = predict_softmax(c, rbf_features(rbf, test));
    }
  }
  r.train_seconds = name == "knn" ? 0.0 : std::chrono::duration<double>(t1 - t0).count();
  r.test_seconds = seconds_since(t1);
  r.test_error = error_of(r.predictions, test_set);
  return r;
}

std::vector<InvariancePoint> invariance_study(const Sequential& fc, const Lenet5& lenet, const Dataset& test,
                                              int threads) {
  struct Step {
    const char* transform;
    float amount, dx, dy, degrees, scale;
  };
  std::vector<Step> steps;
  for (int px = 0; px <= 6; ++px) steps.push_back({"shift-x", float(px), float(px), 0, 0, 1});
  for (int px = 0; px <= 6; ++px) steps.push_back({"shift-y", float(px), 0, float(px), 0, 1});
  for (int deg = -30; deg <= 30; deg += 5) steps.push_back({"rotate", float(deg), 0, 0, float(deg), 1});
  for (int pc = 70; pc <= 130; pc += 5) steps.push_back({"scale", pc / 100.0f, 0, 0, 0, pc / 100.0f});
  std::vector<InvariancePoint> out;
  for (const Step& s : steps) {
    const Dataset moved = transform_dataset(test, s.dx, s.dy, s.degrees, s.scale);
    InvariancePoint p;
    p.transform = s.transform;
    p.amount = s.amount;
    p.error_fc = error_of(sequential_predict(fc, moved), moved);
    p.error_lenet = 1 - evaluate(lenet, moved, threads).accuracy;
    out.push_back(p);
  }
  return out;
}

}  // namespace lenet
