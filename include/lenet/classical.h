// The non-convolutional classifiers of the paper's Fig. 9, on 28×28 pixels scaled to [0, 1]: linear,
// pairwise linear (one unit per pair of classes, voting), k-nearest neighbours (Euclidean), 40 principal
// components + quadratic, and 1000 radial basis functions + linear. Every trained part is a full connection
// trained by the library's kernels (linear_forward/backward) and optimiser.
#pragma once
#include <cstdint>
#include <vector>

#include "lenet/idx.h"

namespace lenet {

// Rows of features, row-major (count, dim).
struct Features {
  int count = 0, dim = 0;
  std::vector<float> values;
  const float* row(int i) const { return values.data() + std::size_t(i) * dim; }
};

Features pixel_features(const Dataset& data);  // p/255

// k-NN: the majority class among the k training rows nearest in Euclidean distance (ties: the nearest).
std::vector<std::uint8_t> knn_predict(const Features& train, const std::vector<std::uint8_t>& train_labels,
                                      const Features& test, int k);

// Principal components: the mean and the `components` leading eigenvectors of the covariance (by subspace
// iteration), rows of `basis` (components, dim).
struct Pca {
  int components = 0, dim = 0;
  std::vector<float> mean, basis;
};
Pca fit_pca(const Features& data, int components);
Features pca_project(const Pca& pca, const Features& data);
// Every component and every product of two (i ≤ j): c + c(c+1)/2 values per row.
Features quadratic_features(const Features& data);

// Radial basis functions: `per_class` centres per class by k-means on that class's rows, and
// φ_j(x) = exp(−‖x − c_j‖² / (2s²)), s² = the mean squared distance from a centre to its nearest other one.
struct RbfLayer {
  Features centres;
  float two_s2 = 1;
};
RbfLayer fit_rbf(const Features& train, const std::vector<std::uint8_t>& labels, int per_class,
                 int iterations, std::uint64_t seed);
Features rbf_features(const RbfLayer& rbf, const Features& data);

// A full connection from dim features to `outputs`, trained by momentum SGD (batch 64, lr halved every
// epochs/4) on features standardised by the training set's mean and deviation.
struct LinearClassifier {
  int dim = 0, outputs = 0;
  std::vector<float> mean, inv_sd, params;  // params: weight (outputs, dim), then bias (outputs)
};
// Softmax cross-entropy over 10 classes.
LinearClassifier train_softmax_classifier(const Features& train, const std::vector<std::uint8_t>& labels,
                                          int epochs, float lr, std::uint64_t seed);
std::vector<std::uint8_t> predict_softmax(const LinearClassifier& c, const Features& data);
// 45 units, one per pair of classes (a < b), each a logistic regression on the rows of its two classes; a
// row's class wins the most pairwise votes (ties: the larger summed margin).
LinearClassifier train_pairwise_classifier(const Features& train, const std::vector<std::uint8_t>& labels,
                                           int epochs, float lr, std::uint64_t seed);
std::vector<std::uint8_t> predict_pairwise(const LinearClassifier& c, const Features& data);

}  // namespace lenet
