// Export of a LeNet-5 (either architecture) to ONNX: the computation of lenet5_forward written as a graph
// of standard ONNX operators, with the weights as initializers and the input contract in the metadata.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/lenet5.h"

namespace lenet {

// Opset 13 / IR version 7: read by Debian 12's onnx 1.12 (up to opset 17) and OpenCV 4.6's DNN module, and
// every operator used here (Conv, MaxPool, Relu, Tanh, Mul, Neg, Flatten, Gemm, MatMul, Softmax) has kept
// its meaning since; Softmax's opset-13 semantics (one axis) is what both read the same way.
inline constexpr std::int64_t kOnnxOpset = 13;
inline constexpr std::int64_t kOnnxIrVersion = 7;

// The graph's interface:
//   input          "input"          float32 (N, 1, 32, 32): the network's input levels (see lenet5.h:
//                                   a 28×28 picture centred with 2 pixels of background, −0.1 + 1.275·p/255)
//   outputs        "scores"         float32 (N, 10): logits (lenet5) or RBF penalties (lenet5-1998)
//                  "probabilities"  float32 (N, 10): softmax of the logits, or of the negated penalties
//
// Modern: Conv, Relu, MaxPool ×2, Conv, Relu, Flatten, Gemm, Relu, Gemm, Softmax.
// 1998: each scaled tanh is Mul(2/3), Tanh, Mul(1.7159); S2/S4 (2×2 sum × coefficient + bias) are depthwise
// 2×2 stride-2 convolutions whose four taps all hold the map's coefficient; C3 is a full 6→16 convolution
// whose kernels outside Table I are zero; the RBF output y_i = Σ_j (x_j − w_ij)² is a Gemm that copies F6
// ten times and subtracts the prototypes, a Mul by itself and a MatMul summing each block of 84.
struct OnnxInterface {
  static constexpr const char* kInput = "input";
  static constexpr const char* kScores = "scores";
  static constexpr const char* kProbabilities = "probabilities";
};

class OnnxExportError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// The serialised ModelProto. config (the model file's training record) is kept as metadata "lenet.config".
std::vector<std::uint8_t> onnx_model_bytes(const Lenet5& model, const nlohmann::json& config);

// Writes onnx_model_bytes to path through a temp file renamed over it, so a failed write leaves any older
// file at path as it was. Throws OnnxExportError naming the path and the reason.
void save_onnx(const std::string& path, const Lenet5& model, const nlohmann::json& config);

}  // namespace lenet
