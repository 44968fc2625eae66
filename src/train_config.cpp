// The library's training policy (defaults per architecture and optimiser, the paper's SDLM schedule) and
// the JSON forms of a run's recipe and of its epochs.
#include "lenet/train_config.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lenet {

namespace {

// Momentum SGD at batch 64, from one-epoch sweeps on MNIST's training set: the tanh/RBF net saturates and
// stops learning at 0.01, the ReLU net is best near 0.02.
constexpr float kDefaultLrModern = 0.02f;
constexpr float kDefaultLr1998 = 0.002f;
constexpr float kDefaultLrAdam = 0.001f;
// The paper's μ = 0.02 with its η = 0.0005 saturates the network within a few hundred patterns here; 0.5
// keeps the paper's schedule and trains stably (docs/reproduction.md tells what was tried).
constexpr float kDefaultSdlmMu = 0.5f;
constexpr int kDefaultEpochsSdlm = 20;  // the paper's passes
constexpr int kDefaultEpochs = 12;

nlohmann::json data_identity(const Dataset& d) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes 32-bit lengths; chunks of 1 GiB keep any size in range.
  for (const auto* v : {&d.images, &d.labels})
    for (std::size_t at = 0; at < v->size(); at += std::size_t(1) << 30) {
      const std::size_t n = std::min(v->size() - at, std::size_t(1) << 30);
      crc = crc32(crc, v->data() + at, uInt(n));
    }
  return {{"count", d.count}, {"rows", d.rows}, {"cols", d.cols}, {"crc32", std::uint32_t(crc)}};
}

}  // namespace

std::vector<float> paper_sdlm_schedule(int epochs) {
  std::vector<float> lr;
  for (int pass = 1; pass <= epochs; ++pass)
    lr.push_back(pass <= 2    ? 0.0005f
                 : pass <= 5  ? 0.0002f
                 : pass <= 8  ? 0.0001f
                 : pass <= 12 ? 0.00005f
                              : 0.00001f);
  return lr;
}

std::vector<float> cosine_schedule(float lr, int epochs) {
  std::vector<float> out;
  for (int e = 0; e < epochs; ++e)
    out.push_back(float(lr * 0.5 * (1 + std::cos(std::numbers::pi * e / epochs))));
  return out;
}

OptimizerKind default_optimizer(Arch arch) {
  return arch == Arch::Lenet5_1998 ? OptimizerKind::Sdlm : OptimizerKind::Momentum;
}

TrainConfig default_train_config(Arch arch, OptimizerKind optimizer, int epochs) {
  const bool sdlm = optimizer == OptimizerKind::Sdlm;
  TrainConfig c;
  c.epochs = epochs > 0 ? epochs : sdlm ? kDefaultEpochsSdlm : kDefaultEpochs;
  c.batch = sdlm ? 1 : 64;
  c.optimizer.kind = optimizer;
  c.optimizer.momentum = 0.9f;
  c.optimizer.weight_decay = 0.0f;
  c.optimizer.sdlm_mu = kDefaultSdlmMu;
  c.lr_gamma = 0.5f;
  c.lr_step = 4;
  if (sdlm) {
    c.lr_by_epoch = paper_sdlm_schedule(c.epochs);
    c.lr = c.lr_by_epoch[0];
  } else {
    c.lr = optimizer == OptimizerKind::Adam ? kDefaultLrAdam
           : arch == Arch::Lenet5           ? kDefaultLrModern
                                            : kDefaultLr1998;
  }
  c.hessian_samples = 500;
  c.hessian_interval = 0;
  c.loss = default_loss(arch);
  c.map_j = kDefaultMapJ;
  return c;
}

void scale_learning_rate(TrainConfig& c, float lr) {
  if (c.lr_by_epoch.empty()) {
    c.lr = lr;
    return;
  }
  const float factor = lr / c.lr_by_epoch[0];
  for (float& x : c.lr_by_epoch) x *= factor;
  c.lr = c.lr_by_epoch[0];
}

nlohmann::json train_recipe(const TrainConfig& cfg, int threads, const Dataset& train_set,
                            const Dataset* test_set) {
  const OptimizerConfig& o = cfg.optimizer;
  const DistortRanges& d = cfg.distort_ranges;
  nlohmann::json ranges = {
      {"translate", d.translate}, {"scale", d.scale}, {"squeeze", d.squeeze}, {"shear", d.shear}};
  if (d.elastic_alpha > 0) {  // only then, so that checkpoints written before elastic fields still resume
    ranges["elastic_alpha"] = d.elastic_alpha;
    ranges["elastic_sigma"] = d.elastic_sigma;
  }
  if (d.photo > 0) ranges["photo"] = d.photo;  // likewise
  nlohmann::json recipe = {{"batch", cfg.batch},
                           {"optimizer",
                            {{"kind", std::string(optimizer_name(o.kind))},
                             {"momentum", o.momentum},
                             {"beta1", o.beta1},
                             {"beta2", o.beta2},
                             {"eps", o.eps},
                             {"weight_decay", o.weight_decay},
                             {"sdlm_mu", o.sdlm_mu}}},
                           {"lr", cfg.lr},
                           {"lr_gamma", cfg.lr_gamma},
                           {"lr_step", cfg.lr_step},
                           {"lr_by_epoch", cfg.lr_by_epoch},
                           {"hessian_samples", cfg.hessian_samples},
                           {"hessian_interval", cfg.hessian_interval},
                           {"distort", cfg.distort},
                           {"distort_ranges", ranges},
                           {"keep_original", cfg.keep_original},
                           {"eval_train", cfg.eval_train},
                           {"loss", std::string(loss_name(cfg.loss))},
                           {"map_j", cfg.map_j},
                           {"seed", cfg.seed},
                           {"threads", threads},
                           {"train_set", data_identity(train_set)},
                           {"test_set", test_set ? data_identity(*test_set) : nlohmann::json()}};
  if (cfg.average_last > 0) recipe["average_last"] = cfg.average_last;  // only then, as elastic_alpha above
  return recipe;
}

nlohmann::json to_json(const EpochStats& s) {
  return {{"epoch", s.epoch},
          {"lr", s.lr},
          {"train_loss", s.train_loss},
          {"train_accuracy", s.train_accuracy},
          {"test_accuracy", s.test_accuracy},
          {"train_eval_accuracy", s.train_eval_accuracy},
          {"test_loss", s.test_loss},
          {"seconds", s.seconds},
          {"images", s.images}};
}

}  // namespace lenet
