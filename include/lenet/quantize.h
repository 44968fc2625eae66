// Post-training int8 quantisation of the modern LeNet-5: per-map weight scales from the weights,
// activation scales calibrated on training images, and the int8 forward pass (int8_kernels.h).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lenet/aligned.h"
#include "lenet/classify.h"
#include "lenet/idx.h"
#include "lenet/int8_kernels.h"
#include "lenet/lenet5.h"
#include "lenet/lenet5_io.h"
#include "lenet/trainer.h"

namespace lenet {

std::string_view precision_name(Precision p);  // "fp32", "int8"
std::optional<Precision> parse_precision(std::string_view name);

// The real value that activation level 255 stands for, after each ReLU layer (S2 and S4 keep the scale
// of C1 and C3: max pooling does not change values).
struct Int8Scales {
  float c1 = 0, c3 = 0, c5 = 0, f6 = 0;
  int calibration_images = 0;  // how many training images they were measured on
};

// Fraction of each layer's activations (zeros included) kept below the clipping value.
inline constexpr double kInt8CalibrationQuantile = 0.9999;
inline constexpr int kInt8CalibrationImages = 2000;

// Runs the fp32 network over the first `images` images of `train` (a training set: never calibrate on
// the test set) and takes each layer's kInt8CalibrationQuantile quantile as its scale. Modern net only.
Int8Scales calibrate_int8(const Lenet5& model, const Dataset& train, int images = kInt8CalibrationImages);

// The scales as stored in a model file's config under "int8", and back. from_config returns nullopt when
// the config has none; throws std::runtime_error naming the field when they are malformed.
nlohmann::json int8_scales_json(const Int8Scales& s);
std::optional<Int8Scales> int8_scales_from_config(const nlohmann::json& config);

// Buffers of one chunk of images for the int8 forward pass; one per thread.
struct Int8Workspace {
  explicit Int8Workspace(int capacity);
  int capacity;
  std::vector<std::uint8_t, CacheAligned<std::uint8_t>> image, s2, s4, c5, f6;
};

// The quantised network, built from an fp32 modern LeNet-5 and its activation scales. Immutable; share
// it between threads (each with its own workspace).
class Int8Lenet5 {
 public:
  Int8Lenet5(const Lenet5& model, const Int8Scales& scales);
  // images (n, rows, cols) u8 (rows, cols ≤ 32, centred in 32×32 like image_to_input) -> scores (n, 10)
  // logits. Runs on the calling thread, in chunks of ws.capacity images.
  void forward(float* scores, const std::uint8_t* images, int rows, int cols, int n, Int8Workspace& ws) const;
  // The same with every kernel's naive reference (for tests).
  void forward_naive(float* scores, const std::uint8_t* images, int rows, int cols, int n,
                     Int8Workspace& ws) const;
  const Int8Scales& scales() const { return scales_; }

  Int8Layer c1, c3, c5, f6, out;

 private:
  template <bool Naive>
  void run(float* scores, const std::uint8_t* images, int rows, int cols, int n, Int8Workspace& ws) const;
  Int8Scales scales_;
};

// The int8 network of a loaded model file from the scales stored in its config. Throws ModelFileError
// naming `path` when the model is not the modern lenet5, or holds no int8 scales (the message names
// `lenet quantize`, which adds them), or malformed ones.
Int8Lenet5 int8_network(const LoadedModel& loaded, const std::string& path);

// A DigitClassifier of `batch` images whose scores come from `net` (which must outlive it), with its own
// workspace.
DigitClassifier int8_classifier(const Lenet5& model, int batch, const Int8Lenet5& net);

// Scores (data.count, 10) of the int8 network over a whole dataset on `threads` threads (0: all cores).
void int8_scores(float* scores, const Int8Lenet5& net, const Dataset& data, int threads);
// evaluate() (trainer.h) with the int8 network: accuracy, loss, confusion, predictions.
EvalResult evaluate_int8(const Int8Lenet5& net, const Dataset& data, int threads = 0);

}  // namespace lenet
