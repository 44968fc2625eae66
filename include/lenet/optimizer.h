// Optimisers over the flat parameter and gradient arenas: one loop over all parameters per step.
// SGD, momentum and Adam follow torch.optim's update rules exactly, so the PyTorch reference pins them.
#pragma once
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace lenet {

// Sdlm: the paper's stochastic diagonal Levenberg–Marquardt (Appendix C), w ← w − η/(μ + h_kk)·g,
// with h_kk a Gauss–Newton estimate of ∂²E/∂w_k² given by set_hessian() before every pass.
enum class OptimizerKind { Sgd, Momentum, Adam, Sdlm };
std::string_view optimizer_name(OptimizerKind kind);
std::optional<OptimizerKind> parse_optimizer(std::string_view name);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Momentum;
  float momentum = 0.9f;                            // momentum: v ← μ·v + g; w ← w − η·v
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam
  float weight_decay = 0.0f;  // L2, added to the gradient as in torch.optim (g ← g + λ·w)
  float sdlm_mu = 0.02f;      // SDLM: μ keeps the step bounded where the curvature is tiny
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::size_t parameters);
  void step(std::span<float> params, std::span<const float> grads, float lr);
  // The same update over params[lo, hi) only, as the `step`-th of the run (1 for the first; Adam's bias
  // corrections and momentum's first step depend on it), without counting it: callers that split one
  // step over threads give each a disjoint range, then set `steps`. step() is update(…, 0, size, steps + 1).
  void update(std::span<float> params, std::span<const float> grads, float lr, std::size_t lo, std::size_t hi,
              long long step);
  void reset();
  // SDLM: the averaged diagonal second derivatives, one per parameter; fixes the per-parameter step
  // sizes 1/(μ + h_kk) until the next call.
  void set_hessian(std::span<const float> hessian);

  OptimizerConfig config;
  std::vector<float> m, v;  // momentum buffer / Adam's first and second moments; SDLM: m = 1/(μ + h_kk)
  long long steps = 0;
};

// Step decay: lr_0 · γ^⌊epoch / step⌋ (epoch counted from 0); step ≤ 0 keeps lr constant.
float step_decay_lr(float lr0, float gamma, int step, int epoch);

}  // namespace lenet
