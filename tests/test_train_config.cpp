// The library's training policy and the pieces train() is built from: default_train_config and
// scale_learning_rate, Dataset::take_first, batch_loss, the recipe and stats JSON, and a restored state
// that is not the run's refused as CheckpointMismatch.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "helpers/bars.h"
#include "lenet/loss.h"
#include "lenet/train_config.h"
#include "lenet/train_run.h"

namespace lenet {
namespace {

TEST(TrainConfig, DefaultsPerArchitectureAndOptimizer) {
  const TrainConfig modern = default_train_config(Arch::Lenet5, default_optimizer(Arch::Lenet5));
  EXPECT_EQ(modern.optimizer.kind, OptimizerKind::Momentum);
  EXPECT_EQ(modern.epochs, 12);
  EXPECT_EQ(modern.batch, 64);
  EXPECT_EQ(modern.lr, 0.02f);
  EXPECT_EQ(modern.lr_gamma, 0.5f);
  EXPECT_EQ(modern.lr_step, 4);
  EXPECT_EQ(modern.loss, LossKind::CrossEntropy);
  EXPECT_TRUE(modern.lr_by_epoch.empty());

  const TrainConfig paper = default_train_config(Arch::Lenet5_1998, default_optimizer(Arch::Lenet5_1998));
  EXPECT_EQ(paper.optimizer.kind, OptimizerKind::Sdlm);
  EXPECT_EQ(paper.epochs, 20);
  EXPECT_EQ(paper.batch, 1);
  EXPECT_EQ(paper.lr_by_epoch, paper_sdlm_schedule(20));
  EXPECT_EQ(paper.lr, 0.0005f);
  EXPECT_EQ(paper.optimizer.sdlm_mu, 0.5f);
  EXPECT_EQ(paper.loss, LossKind::Map);
  EXPECT_EQ(paper.map_j, 6.0f);  // chosen on the validation split (docs/reproduction.md)
  EXPECT_EQ(paper.hessian_samples, 500);

  EXPECT_EQ(default_train_config(Arch::Lenet5_1998, OptimizerKind::Momentum).lr, 0.002f);
  EXPECT_EQ(default_train_config(Arch::Lenet5, OptimizerKind::Adam).lr, 0.001f);
  // Fewer epochs: a schedule of that length.
  EXPECT_EQ(default_train_config(Arch::Lenet5_1998, OptimizerKind::Sdlm, 3).lr_by_epoch,
            paper_sdlm_schedule(3));
}

TEST(TrainConfig, ScalingTheLearningRateKeepsTheSchedulesShape) {
  TrainConfig sdlm = default_train_config(Arch::Lenet5_1998, OptimizerKind::Sdlm, 12);
  scale_learning_rate(sdlm, 0.001f);
  ASSERT_EQ(sdlm.lr_by_epoch.size(), 12u);
  EXPECT_FLOAT_EQ(sdlm.lr_by_epoch[0], 0.001f);
  EXPECT_FLOAT_EQ(sdlm.lr_by_epoch[11], 0.0001f);  // the paper's 0.00005 for pass 12, doubled
  EXPECT_EQ(sdlm.lr, sdlm.lr_by_epoch[0]);
  TrainConfig momentum = default_train_config(Arch::Lenet5, OptimizerKind::Momentum);
  scale_learning_rate(momentum, 0.05f);
  EXPECT_EQ(momentum.lr, 0.05f);
}

TEST(TrainConfig, CosineScheduleFallsFromTheRateTowardsZero) {
  const std::vector<float> lr = cosine_schedule(0.02f, 4);
  ASSERT_EQ(lr.size(), 4u);
  EXPECT_FLOAT_EQ(lr[0], 0.02f);
  EXPECT_FLOAT_EQ(lr[1], 0.02f * 0.5f * (1 + 0.70710678f));  // cos(pi/4)
  EXPECT_FLOAT_EQ(lr[2], 0.01f);                             // half way: half the rate
  EXPECT_FLOAT_EQ(lr[3], 0.02f * 0.5f * (1 - 0.70710678f));
  const std::vector<float> long_run = cosine_schedule(0.02f, 60);
  EXPECT_TRUE(std::is_sorted(long_run.rbegin(), long_run.rend()));
  EXPECT_GT(long_run.back(), 0.0f);
  EXPECT_LT(long_run.back(), 0.0001f);  // the last pass at under 1/200 of the rate
  EXPECT_TRUE(cosine_schedule(0.02f, 0).empty());
}

TEST(Dataset, TakeFirstKeepsThePrefixOrEverything) {
  Dataset d = test::bar_digits(20, 1);
  const Dataset all = d;
  d.take_first(0);
  EXPECT_EQ(d.count, 20);
  d.take_first(25);
  EXPECT_EQ(d.count, 20);
  d.take_first(7);
  ASSERT_EQ(d.count, 7);
  ASSERT_EQ(d.labels.size(), 7u);
  ASSERT_EQ(d.images.size(), std::size_t(7) * d.rows * d.cols);
  EXPECT_TRUE(std::equal(d.images.begin(), d.images.end(), all.images.begin()));
  EXPECT_TRUE(std::equal(d.labels.begin(), d.labels.end(), all.labels.begin()));
}

TEST(Loss, BatchLossIsTheLossOfThatKind) {
  const std::vector<float> scores = {0.5f, 2.0f, 1.0f, 3.0f, 0.25f, 1.5f};
  const std::uint8_t labels[2] = {1, 2};
  std::vector<float> d1(6), d2(6);
  EXPECT_EQ(batch_loss(LossKind::CrossEntropy, d1.data(), scores.data(), labels, 3, 2, 1.0f, 0.5f),
            softmax_cross_entropy(d2.data(), scores.data(), labels, 3, 2, 0.5f));
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(batch_loss(LossKind::Mle, d1.data(), scores.data(), labels, 3, 2, 1.0f, 0.5f),
            rbf_mle_loss(d2.data(), scores.data(), labels, 3, 2, 0.5f));
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(batch_loss(LossKind::Map, d1.data(), scores.data(), labels, 3, 2, 2.0f, 0.5f),
            rbf_map_loss(d2.data(), scores.data(), labels, 3, 2, 2.0f, 0.5f));
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(batch_loss(LossKind::CrossEntropy, nullptr, scores.data(), labels, 3, 2, 1.0f, 1.0f),
            softmax_cross_entropy(nullptr, scores.data(), labels, 3, 2, 1.0f));
}

TEST(TrainConfig, TheRecipeLeavesOutEpochsAndNamesTheData) {
  const Dataset data = test::bar_digits(10, 2);
  TrainConfig a = default_train_config(Arch::Lenet5, OptimizerKind::Momentum);
  TrainConfig b = a;
  b.epochs = a.epochs + 5;
  b.threads = 7;  // the resolved count is what is recorded
  EXPECT_EQ(train_recipe(a, 2, data, nullptr), train_recipe(b, 2, data, nullptr));
  const nlohmann::json r = train_recipe(a, 2, data, &data);
  EXPECT_FALSE(r.contains("epochs"));
  EXPECT_EQ(r["threads"], 2);
  EXPECT_EQ(r["batch"], 64);
  EXPECT_EQ(r["train_set"]["count"], 10);
  EXPECT_EQ(r["train_set"], r["test_set"]);
  b = a;
  b.seed = 2;
  EXPECT_NE(train_recipe(a, 2, data, nullptr), train_recipe(b, 2, data, nullptr));
}

TEST(TrainConfig, EpochStatsJsonHasEveryField) {
  EpochStats s;
  s.epoch = 3;
  s.lr = 0.25;
  s.train_loss = 0.5;
  s.images = 60000;
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j.size(), 9u);
  EXPECT_EQ(j["epoch"], 3);
  EXPECT_EQ(j["lr"], 0.25);
  EXPECT_EQ(j["train_loss"], 0.5);
  EXPECT_EQ(j["test_accuracy"], -1.0);
  EXPECT_EQ(j["images"], 60000);
}

TEST(TrainRun, AStateFromAnotherRunIsACheckpointMismatch) {
  const Dataset data = test::bar_digits(30, 3);
  TrainConfig cfg = default_train_config(Arch::Lenet5, OptimizerKind::Momentum, 1);
  cfg.batch = 10;
  cfg.threads = 1;
  Lenet5 model(Arch::Lenet5);
  Rng rng(1);
  model.init(rng);
  const TrainState state = TrainRun(model, data, nullptr, cfg).snapshot();
  EXPECT_EQ(state.order.size(), 30u);
  EXPECT_EQ(state.epoch, 0);
  TrainConfig other = cfg;
  other.seed = 9;
  TrainRun run(model, data, nullptr, other);
  try {
    run.restore(state);
    FAIL() << "restored a state of another seed";
  } catch (const CheckpointMismatch& e) {
    EXPECT_NE(std::string(e.what()).find("seed: 1 in the checkpoint, 9 here"), std::string::npos) << e.what();
  }
  TrainRun same(model, data, nullptr, cfg);
  EXPECT_NO_THROW(same.restore(state));
}

}  // namespace
}  // namespace lenet
