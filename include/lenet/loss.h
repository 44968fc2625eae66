// Losses over a batch of class scores. Each returns the sum of the per-sample losses and, when d_scores
// is not nullptr, assigns d_scores = grad_scale · ∂loss_b/∂scores (grad_scale = 1/batch gives the mean).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace lenet {

// What the network is trained to minimise. Modern: CrossEntropy. 1998: Map (default) or Mle.
enum class LossKind { CrossEntropy, Mle, Map };
std::string_view loss_name(LossKind loss);  // "xent", "mle", "map"
std::optional<LossKind> parse_loss(std::string_view name);

// The constant j of the MAP loss (Eq. 9), which the paper leaves open. It sets how far the correct class's
// penalty is pulled towards its prototype: ∂E/∂y_c falls from 1 to 0 as y_c drops below about j, after
// which only classes that come close are pushed away. 6, chosen on the validation split among 1, 3 and 6
// (docs/reproduction.md; 1 before issue 17's last change). Models record it (recipe.map_j).
inline constexpr float kDefaultMapJ = 6.0f;

// The loss of that kind (one of the three below); map_j is used by Map only.
double batch_loss(LossKind loss, float* d_scores, const float* scores, const std::uint8_t* labels,
                  int classes, int n, float map_j, float grad_scale);

// The label of an outlier, a training image that is no digit (outlier exposure: Hendrycks, Mazeika &
// Dietterich, ICLR 2019). Softmax cross-entropy takes it as the uniform distribution over the classes, so
// the network learns to spread its belief on what is not a digit and its top probability becomes a
// rejection score. Only the cross-entropy knows it: the RBF losses take labels 0..classes-1.
inline constexpr std::uint8_t kOutlierLabel = 255;

// Softmax cross-entropy on logits (n, classes). A label kOutlierLabel is the cross-entropy to the uniform
// distribution: log Σ e^(z_i) − mean(z), whose gradient is softmax(z)_i − 1/classes.
double softmax_cross_entropy(float* d_logits, const float* logits, const std::uint8_t* labels, int classes,
                             int n, float grad_scale);

// Maximum likelihood for RBF outputs (the paper's Eq. 8): E = y_correct, the squared distance between F6's
// output and the correct class's prototype — a mean squared error against that target.
double rbf_mle_loss(float* d_penalties, const float* penalties, const std::uint8_t* labels, int classes,
                    int n, float grad_scale);

// The discriminative MAP criterion (Eq. 9): E = y_c + log(e^(−j) + Σ_i e^(−y_i)).
// ∂E/∂y_i = δ(i = c) − e^(−y_i) / (e^(−j) + Σ_k e^(−y_k)); the log-sum-exp is computed stably.
double rbf_map_loss(float* d_penalties, const float* penalties, const std::uint8_t* labels, int classes,
                    int n, float j, float grad_scale);

// Probabilities from scores: softmax of logits, or softmax of −penalties for RBF outputs. out may equal in.
void softmax(float* out, const float* in, int classes, int n, bool negate);

}  // namespace lenet
