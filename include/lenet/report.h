// The pictures of `lenet eval --report` (confusion matrix, misclassified digits, training curves, per-class
// precision and recall) and of `lenet visualize` (the input, the C1 S2 C3 S4 feature maps, the C1 kernels).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "lenet/canvas.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/lenet5.h"

namespace lenet {

using Confusion = std::array<std::array<long long, kClasses>, kClasses>;  // [true][predicted]

struct ClassMetrics {
  std::array<double, kClasses> precision{}, recall{};
  std::array<long long, kClasses> support{};  // test images of each true class
};
ClassMetrics class_metrics(const Confusion& confusion);
// "class,precision,recall,support\n" and one line per class (fractions).
std::string class_metrics_csv(const ClassMetrics& m);

// Cells coloured by the fraction of their row (correct: blue, errors: red), each with its count.
Canvas confusion_picture(const Confusion& confusion);

// The misclassified images of `data` (predictions[i] != labels[i]), each labelled "true>predicted", in
// dataset order, at most max_items of them.
Canvas misclassified_picture(const Dataset& data, const std::vector<std::uint8_t>& predictions,
                             int max_items = 400);

// One epoch of a `lenet train --log` file (test values are negative when there was no test set).
struct LogEpoch {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, test_loss = -1, test_accuracy = -1;
};
// Reads a JSON-lines log; the file may hold several runs appended (epoch numbering restarts): the last
// run is returned. Throws DataError naming the file and line for a line that is not such a record.
std::vector<LogEpoch> read_training_log(const std::string& path);
// Loss (left) and accuracy (right) against epoch, train and test.
Canvas training_curves_picture(const std::vector<LogEpoch>& log);

// `count` maps of rows×cols floats, back to back, in a grid of `per_row`, each enlarged `scale` times and
// normalised on its own: from white (0 or its minimum) to dark blue (its maximum); with `signed_values`
// (the 1998 network's tanh units) a blue–white–red scale centred on 0.
Canvas feature_maps_picture(const float* maps, int count, int rows, int cols, int scale, int per_row,
                            bool signed_values);
// The model's C1 kernels (6 of 5×5), blue–white–red centred on 0, each scaled by its largest |weight|.
Canvas kernels_picture(const Lenet5& model, int scale);
// Everything at once, labelled: input, C1, S2, C3, S4, the C1 kernels and the class probabilities.
// `a` holds one forward pass (sample 0) of `input`.
Canvas network_picture(const Lenet5& model, const Activations& a, const MnistImage& input,
                       const std::array<float, kClasses>& probabilities);

}  // namespace lenet
