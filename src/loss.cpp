// Softmax cross-entropy, the RBF maximum-likelihood loss and the paper's MAP loss, with gradients.
// Every exponential is taken relative to the largest term, so no score can overflow.
#include "lenet/loss.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "enum_names.h"

namespace lenet {

double softmax_cross_entropy(float* d_logits, const float* logits, const std::uint8_t* labels, int classes,
                             int n, float grad_scale) {
  double total = 0;
  for (int b = 0; b < n; ++b) {
    const float* z = logits + std::size_t(b) * classes;
    const float zmax = *std::max_element(z, z + classes);
    double sum = 0;
    for (int i = 0; i < classes; ++i) sum += std::exp(double(z[i]) - zmax);
    const double log_sum = std::log(sum) + zmax;
    // The target distribution: one-hot on the label, or uniform for an outlier.
    const bool outlier = labels[b] == kOutlierLabel;
    if (outlier) {
      double z_sum = 0;
      for (int i = 0; i < classes; ++i) z_sum += z[i];
      total += log_sum - z_sum / classes;
    } else {
      total += log_sum - z[labels[b]];
    }
    if (d_logits) {
      float* d = d_logits + std::size_t(b) * classes;
      for (int i = 0; i < classes; ++i) {
        const double target = outlier ? 1.0 / classes : (i == labels[b] ? 1.0 : 0.0);
        d[i] = grad_scale * float(std::exp(double(z[i]) - log_sum) - target);
      }
    }
  }
  return total;
}

double rbf_mle_loss(float* d_penalties, const float* penalties, const std::uint8_t* labels, int classes,
                    int n, float grad_scale) {
  double total = 0;
  for (int b = 0; b < n; ++b) {
    total += penalties[std::size_t(b) * classes + labels[b]];
    if (d_penalties) {
      float* d = d_penalties + std::size_t(b) * classes;
      for (int i = 0; i < classes; ++i) d[i] = i == labels[b] ? grad_scale : 0.0f;
    }
  }
  return total;
}

double rbf_map_loss(float* d_penalties, const float* penalties, const std::uint8_t* labels, int classes,
                    int n, float j, float grad_scale) {
  double total = 0;
  for (int b = 0; b < n; ++b) {
    const float* y = penalties + std::size_t(b) * classes;
    // log(e^(−j) + Σ e^(−y_i)) = −m + log(e^(m−j) + Σ e^(m−y_i)) with m the smallest of j and the y_i.
    const double m = std::min<double>(j, *std::min_element(y, y + classes));
    double sum = std::exp(m - j);
    for (int i = 0; i < classes; ++i) sum += std::exp(m - y[i]);
    const double log_term = std::log(sum) - m;
    total += y[labels[b]] + log_term;
    if (d_penalties) {
      float* d = d_penalties + std::size_t(b) * classes;
      for (int i = 0; i < classes; ++i) {
        const double q = std::exp(m - y[i]) / sum;
        d[i] = grad_scale * float((i == labels[b] ? 1.0 : 0.0) - q);
      }
    }
  }
  return total;
}

void softmax(float* out, const float* in, int classes, int n, bool negate) {
  const float sign = negate ? -1.0f : 1.0f;
  for (int b = 0; b < n; ++b) {
    const float* z = in + std::size_t(b) * classes;
    float* p = out + std::size_t(b) * classes;
    float zmax = sign * z[0];
    for (int i = 1; i < classes; ++i) zmax = std::max(zmax, sign * z[i]);
    double sum = 0;
    for (int i = 0; i < classes; ++i) {
      p[i] = std::exp(sign * z[i] - zmax);
      sum += p[i];
    }
    for (int i = 0; i < classes; ++i) p[i] = float(p[i] / sum);
  }
}

namespace {
constexpr NameOf<LossKind> kLossNames[] = {
    {LossKind::CrossEntropy, "xent"}, {LossKind::Mle, "mle"}, {LossKind::Map, "map"}};
}  // namespace

std::string_view loss_name(LossKind loss) { return name_in(kLossNames, loss); }

std::optional<LossKind> parse_loss(std::string_view name) { return parse_in(kLossNames, name); }

double batch_loss(LossKind loss, float* d_scores, const float* scores, const std::uint8_t* labels,
                  int classes, int n, float map_j, float grad_scale) {
  switch (loss) {
    case LossKind::CrossEntropy:
      return softmax_cross_entropy(d_scores, scores, labels, classes, n, grad_scale);
    case LossKind::Mle:
      return rbf_mle_loss(d_scores, scores, labels, classes, n, grad_scale);
    case LossKind::Map:
      return rbf_map_loss(d_scores, scores, labels, classes, n, map_j, grad_scale);
  }
  return 0;
}

}  // namespace lenet
