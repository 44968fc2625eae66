// The LeNet-5 model in both forms: the 1998 paper's (scaled tanh, trainable subsampling, Table I C3,
// RBF outputs) and the modern one (ReLU, max pooling, full C3, 10 logits). Parameters and their
// gradients are two flat arenas with one layout; named tensors are views into them.
//
// Contract of every kernel used here (see each layer's header): forward assigns its output;
// backward assigns the gradient of its input and ADDS to its parameters' gradients, so gradients of
// several batches accumulate until zero_grad() clears them.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lenet/aligned.h"
#include "lenet/conv2d.h"
#include "lenet/export.h"
#include "lenet/loss.h"
#include "lenet/rng.h"
#include "lenet/subsample.h"
#include "lenet/workspace.h"

namespace lenet {

enum class Arch { Lenet5, Lenet5_1998 };
LENET_API std::string_view arch_name(Arch arch);  // "lenet5", "lenet5-1998"
std::optional<Arch> parse_arch(std::string_view name);
// What each architecture is trained to minimise by default: cross-entropy (modern), MAP (1998).
inline LossKind default_loss(Arch arch) {
  return arch == Arch::Lenet5 ? LossKind::CrossEntropy : LossKind::Map;
}

// How the 1998 network's weights and biases start, each uniform in ±bound(Fi), Fi = fan-in of the receiving
// unit. Paper: ±2.4/Fi (Appendix A). Sqrt: ±1/√Fi, the reading under which this implementation's first-pass
// SDLM rates match the range the paper reports, and the default: on the validation split (50,000 training
// images to train, the other 10,000 to score; five seeds) it ends at 1.11 ± 0.03% against the paper rule's
// 1.19 ± 0.10% (docs/reproduction.md). The test set played no part in the choice.
enum class InitRule { Paper, Sqrt };
inline constexpr InitRule kDefaultInitRule = InitRule::Sqrt;
std::string_view init_rule_name(InitRule rule);  // "paper", "sqrt"
std::optional<InitRule> parse_init_rule(std::string_view name);

inline constexpr int kInputSide = 32;  // 28×28 MNIST padded by 2 pixels of background
inline constexpr int kInputSize = kInputSide * kInputSide;
inline constexpr int kClasses = 10;
// Input levels of the paper (Section II-B): background −0.1, ink +1.175, so mean ≈ 0 and variance ≈ 1.
inline constexpr float kInputBackground = -0.1f;
inline constexpr float kInputInk = 1.175f;

struct TensorInfo {
  std::string name;  // e.g. "C3.weight"
  std::vector<std::int64_t> shape;
  std::size_t offset = 0, count = 0;  // in the parameter arena
};

struct LayerInfo {
  std::string name;             // C1 S2 C3 S4 C5 F6 OUTPUT
  std::string description;      // e.g. "conv 5x5, Table I, scaled tanh"
  std::array<int, 3> output{};  // maps, height, width
  std::size_t parameters = 0;   // trainable
  std::size_t connections = 0;  // multiply-adds per image
};

class LENET_API Lenet5 {
 public:
  explicit Lenet5(Arch arch);

  Arch arch() const { return arch_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  std::vector<LayerInfo> layers() const;
  std::size_t parameter_count() const { return params.size(); }
  LossKind default_loss() const { return lenet::default_loss(arch_); }
  // Modern: class = argmax of logits. 1998: class = argmin of RBF penalties.
  int predict_class(const float* scores) const;
  // Class probabilities from one sample's scores (softmax of logits, or of −penalties).
  void probabilities(float* out, const float* scores) const;

  // 1998: every weight and bias uniform in ±bound(Fi) by `rule` (S2/S4: Fi = 4). Modern: He-uniform
  // weights, zero biases (`rule` is not used).
  void init(Rng& rng, InitRule rule = kDefaultInitRule);
  void zero_grad();

  // Shapes of each layer, fixed by the architecture.
  Conv2dShape c1, c3, c5;
  PoolShape s2, s4;
  static constexpr int kF6 = 84;

  // Where each layer's parameters start in the arenas (S2/S4: coefficient, bias; 1998 only).
  struct Offsets {
    std::size_t c1_w = 0, c1_b = 0, s2_w = 0, s2_b = 0, c3_w = 0, c3_b = 0, s4_w = 0, s4_b = 0;
    std::size_t c5_w = 0, c5_b = 0, f6_w = 0, f6_b = 0, out_w = 0, out_b = 0;
  } at;

  std::vector<float> params;  // every trainable parameter, tensors back to back
  std::vector<float> grads;   // same layout; accumulated by backward, cleared by zero_grad()

 private:
  Arch arch_;
  std::vector<TensorInfo> tensors_;
};

// Activations of one forward pass for up to `capacity` samples, their gradients, and the kernels' scratch.
// Allocated once; forward and backward only write into these buffers. One per thread.
struct Activations {
  Activations(const Lenet5& model, int capacity);
  int capacity = 0;
  // Cache-line aligned (aligned.h), like the kernels' scratch.
  AlignedFloats input;                       // (n, 1, 32, 32)
  AlignedFloats c1, s2, c3, s4, c5;          // post-squashing outputs, NCHW
  AlignedFloats f6;                          // (n, 84)
  AlignedFloats scores;                      // (n, 10): logits or RBF penalties
  std::vector<std::int32_t> s2_arg, s4_arg;  // max-pool winners (modern)
  AlignedFloats d_c1, d_s2, d_c3, d_s4, d_c5, d_f6, d_scores;
  Workspace workspace;  // the kernels' scratch, sized for `capacity` samples at construction
};

// One image (rows×cols uint8, 0 = background, 255 = ink, at most 32×32) → the network's 32×32 input,
// centred, with the paper's levels: x = −0.1 + 1.275·p/255.
void image_to_input(float* out, const std::uint8_t* image, int rows, int cols);

// input (n, 1, 32, 32) in a.input -> a.scores (n, 10)
void lenet5_forward(const Lenet5& model, Activations& a, int n);
// Loss of a.scores against labels; sets a.d_scores = grad_scale · ∂loss/∂scores. Returns the summed loss.
double lenet5_loss(const Lenet5& model, Activations& a, const std::uint8_t* labels, int n, LossKind loss,
                   float map_j, float grad_scale);
// From a.d_scores, back through every layer; ADDS parameter gradients into `grads` (the model's layout).
void lenet5_backward(const Lenet5& model, Activations& a, float* grads, int n);

// Diagonal Gauss–Newton second derivatives of the loss in every parameter (Appendix C: back-propagate
// squared derivatives with squared weights), for the n samples whose forward pass is in `a`.
// ADDS the sum over samples into d2_params (the model's layout); uses a's d_* buffers as scratch.
// Seed: 1998 net, ∂²E/∂x_j² = 2 at each F6 output (the curvature of the correct class's RBF penalty;
// the MAP term's competing classes have negative curvature and are left out, keeping the estimate
// positive). Modern net: p_i(1 − p_i) at the logits, the diagonal of softmax cross-entropy's Hessian.
void lenet5_backward_hessian(const Lenet5& model, Activations& a, const std::uint8_t* labels,
                             float* d2_params, int n);

}  // namespace lenet
