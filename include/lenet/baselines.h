// The paper's Fig. 9 comparison: every classifier it sets against LeNet-5, trained here on the same data,
// with its size (parameters, multiply-adds per image), training time and test error beside the paper's.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lenet/idx.h"
#include "lenet/lenet5.h"
#include "lenet/sequential.h"

namespace lenet {

struct BaselineSpec {
  std::string name;         // e.g. "knn", "fc-300-100", "lenet4"
  std::string description;  // what it is, as the paper names it
  double paper_error;       // Fig. 9, test error in percent
};
// In Fig. 9's order: linear, pairwise, knn, pca-quadratic, rbf, fc-300, fc-1000, fc-300-100, fc-500-150,
// lenet1, lenet4.
const std::vector<BaselineSpec>& baseline_specs();

struct BaselineOptions {
  int epochs = 0;  // 0: each classifier's own default (linear parts 10, networks 20)
  std::uint64_t seed = 1;
};

struct BaselineResult {
  BaselineSpec spec;
  std::size_t parameters = 0;     // trained values (k-NN: the stored training pixels)
  std::size_t multiply_adds = 0;  // per test image
  double train_seconds = 0;       // wall time of fitting (k-NN: 0, it only stores)
  double test_seconds = 0;        // wall time of classifying the test set
  double test_error = 0;          // fraction
  std::vector<std::uint8_t> predictions;
};

// Trains (fits) the named classifier on train_set and classifies test_set. Throws std::invalid_argument
// for an unknown name.
BaselineResult run_baseline(const std::string& name, const Dataset& train_set, const Dataset& test_set,
                            const BaselineOptions& options);

// The tutorial's claim that a fully connected net lacks the convnet's built-in invariance, measured: the
// test error of both on the test set shifted horizontally and vertically by 0–6 pixels, rotated by
// −30°…30° and scaled by 0.7…1.3.
struct InvariancePoint {
  std::string transform;  // "shift-x", "shift-y", "rotate", "scale"
  float amount = 0;       // pixels, degrees or factor
  double error_fc = 0, error_lenet = 0;
};
std::vector<InvariancePoint> invariance_study(const Sequential& fc, const Lenet5& lenet,
                                              const Dataset& test_set, int threads = 0);

}  // namespace lenet
