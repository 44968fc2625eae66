// SGD, SGD with (heavy-ball) momentum, Adam and the paper's SDLM as flat loops over the parameter arena.
// Update rules and bias corrections match torch.optim (SGD with dampening 0, Adam without amsgrad).
#include "lenet/optimizer.h"

#include <cassert>
#include <cmath>

#include "enum_names.h"
#include "lenet/simd.h"

namespace lenet {

namespace {
constexpr NameOf<OptimizerKind> kOptimizerNames[] = {{OptimizerKind::Sgd, "sgd"},
                                                     {OptimizerKind::Momentum, "momentum"},
                                                     {OptimizerKind::Adam, "adam"},
                                                     {OptimizerKind::Sdlm, "sdlm"}};
}  // namespace

std::string_view optimizer_name(OptimizerKind kind) { return name_in(kOptimizerNames, kind); }

std::optional<OptimizerKind> parse_optimizer(std::string_view name) {
  return parse_in(kOptimizerNames, name);
}

Optimizer::Optimizer(const OptimizerConfig& c, std::size_t parameters) : config(c) {
  // SDLM starts as if every curvature were 0 (step η/μ) until set_hessian() is called.
  if (c.kind != OptimizerKind::Sgd)
    m.assign(parameters, c.kind == OptimizerKind::Sdlm ? 1.0f / c.sdlm_mu : 0.0f);
  if (c.kind == OptimizerKind::Adam) v.assign(parameters, 0.0f);
}

void Optimizer::set_hessian(std::span<const float> hessian) {
  assert(config.kind == OptimizerKind::Sdlm && hessian.size() == m.size());
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = 1.0f / (config.sdlm_mu + hessian[i]);
}

void Optimizer::reset() {
  std::fill(m.begin(), m.end(), config.kind == OptimizerKind::Sdlm ? 1.0f / config.sdlm_mu : 0.0f);
  std::fill(v.begin(), v.end(), 0.0f);
  steps = 0;
}

namespace {

LENET_KERNEL void sgd_step(float* w, const float* g, std::size_t n, float lr, float wd) {
  for (std::size_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
}

LENET_KERNEL void momentum_step(float* w, float* m, const float* g, std::size_t n, float lr, float mu,
                                float wd, bool first) {
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd * w[i];
    m[i] = first ? gi : mu * m[i] + gi;  // torch initialises the buffer with the first gradient
    w[i] -= lr * m[i];
  }
}

LENET_KERNEL void adam_step(float* w, float* m, float* v, const float* g, std::size_t n, float lr, float b1,
                            float b2, float eps, float wd, float bc1, float bc2_sqrt) {
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd * w[i];
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
    w[i] -= (lr / bc1) * m[i] / denom;
  }
}

// w ← w − η·g/(μ + h): the per-parameter factor 1/(μ + h) was computed by set_hessian.
LENET_KERNEL void sdlm_step(float* w, const float* inv_curvature, const float* g, std::size_t n, float lr) {
  for (std::size_t i = 0; i < n; ++i) w[i] -= lr * inv_curvature[i] * g[i];
}

}  // namespace

void Optimizer::step(std::span<float> params, std::span<const float> grads, float lr) {
  update(params, grads, lr, 0, params.size(), steps + 1);
  ++steps;
}

void Optimizer::update(std::span<float> params, std::span<const float> grads, float lr, std::size_t lo,
                       std::size_t hi, long long step) {
  assert(params.size() == grads.size() && lo <= hi && hi <= params.size());
  const std::size_t n = hi - lo;
  float* w = params.data() + lo;
  const float* g = grads.data() + lo;
  switch (config.kind) {
    case OptimizerKind::Sgd:
      sgd_step(w, g, n, lr, config.weight_decay);
      break;
    case OptimizerKind::Momentum:
      momentum_step(w, m.data() + lo, g, n, lr, config.momentum, config.weight_decay, step == 1);
      break;
    case OptimizerKind::Adam: {
      const float bc1 = 1.0f - float(std::pow(double(config.beta1), double(step)));
      const float bc2 = 1.0f - float(std::pow(double(config.beta2), double(step)));
      adam_step(w, m.data() + lo, v.data() + lo, g, n, lr, config.beta1, config.beta2, config.eps,
                config.weight_decay, bc1, std::sqrt(bc2));
      break;
    }
    case OptimizerKind::Sdlm:
      sdlm_step(w, m.data() + lo, g, n, lr);
      break;
  }
}

float step_decay_lr(float lr0, float gamma, int step, int epoch) {
  if (step <= 0) return lr0;
  return lr0 * float(std::pow(double(gamma), double(epoch / step)));
}

}  // namespace lenet
