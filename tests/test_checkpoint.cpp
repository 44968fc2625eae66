// Checkpoints and exact resume in the library: a run stopped at any step (or resumed from any periodic
// checkpoint), once or many times, ends bit-identical to an uninterrupted one; divergence names the step and
// the tensors and keeps the last good checkpoint; malformed or mismatched checkpoints are refused.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "helpers/bars.h"
#include "helpers/paths.h"
#include "lenet/checkpoint.h"
#include "lenet/lenet5_io.h"
#include "lenet/trainer.h"

namespace lenet {
namespace {

namespace fs = std::filesystem;

using test::bar_digits;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Every field but the timing, compared exactly.
void expect_same_history(const std::vector<EpochStats>& a, const std::vector<EpochStats>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].lr, b[i].lr);
    EXPECT_EQ(a[i].train_loss, b[i].train_loss) << "epoch " << i + 1;
    EXPECT_EQ(a[i].train_accuracy, b[i].train_accuracy) << "epoch " << i + 1;
    EXPECT_EQ(a[i].test_accuracy, b[i].test_accuracy) << "epoch " << i + 1;
    EXPECT_EQ(a[i].test_loss, b[i].test_loss) << "epoch " << i + 1;
    EXPECT_EQ(a[i].train_eval_accuracy, b[i].train_eval_accuracy) << "epoch " << i + 1;
    EXPECT_EQ(a[i].images, b[i].images);
  }
}

struct Case {
  const char* name;
  Arch arch;
  TrainConfig cfg;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  TrainConfig momentum;  // distortions and two threads: the stream and reduction order must both survive
  momentum.epochs = 3;
  momentum.batch = 16;
  momentum.lr = 0.02f;
  momentum.lr_gamma = 0.5f;
  momentum.lr_step = 1;
  momentum.distort = true;
  momentum.threads = 2;
  momentum.seed = 11;
  out.push_back({"momentum+distort", Arch::Lenet5, momentum});

  TrainConfig adam = momentum;  // an odd batch, so the last step of each epoch is short
  adam.optimizer.kind = OptimizerKind::Adam;
  adam.lr = 0.001f;
  adam.batch = 23;
  adam.distort = false;
  adam.threads = 1;
  adam.eval_train = true;
  out.push_back({"adam", Arch::Lenet5, adam});

  TrainConfig sdlm;  // the paper's recipe: online SDLM, curvature re-estimated within the pass too
  sdlm.epochs = 2;
  sdlm.batch = 1;
  sdlm.optimizer.kind = OptimizerKind::Sdlm;
  sdlm.optimizer.sdlm_mu = 0.5f;
  sdlm.lr_by_epoch = paper_sdlm_schedule(2);
  sdlm.hessian_samples = 20;
  sdlm.hessian_interval = 37;
  sdlm.loss = LossKind::Map;
  sdlm.threads = 1;
  sdlm.seed = 5;
  out.push_back({"sdlm", Arch::Lenet5_1998, sdlm});
  return out;
}

int data_size() { return test::sanitizer_run() ? 60 : 150; }

struct RunResult {
  std::vector<float> params;
  std::vector<EpochStats> history;
};

RunResult uninterrupted(const Case& c, const Dataset& train_set, const Dataset& test_set) {
  Lenet5 model(c.arch);
  Rng rng(c.cfg.seed);
  model.init(rng);
  RunResult r;
  r.history = train(model, train_set, &test_set, c.cfg);
  r.params = model.params;
  return r;
}

// Stops the run after each of `stops` (counted in optimiser steps since the start of the whole run, or
// -k for the end of epoch k) and resumes it from the checkpoint every time.
RunResult interrupted(const Case& c, const Dataset& train_set, const Dataset& test_set,
                      const std::vector<long long>& stops, const std::string& path) {
  fs::remove(path);
  Lenet5 model(c.arch);
  Rng rng(c.cfg.seed);
  model.init(rng);
  TrainState state;
  bool resuming = false;
  for (std::size_t leg = 0; leg <= stops.size(); ++leg) {
    std::atomic<bool> stop{false};
    TrainCallbacks cb;
    const long long at = leg < stops.size() ? stops[leg] : std::numeric_limits<long long>::max();
    long long steps = resuming ? state.optimizer_steps : 0;
    cb.on_batch = [&](const BatchProgress&) {
      if (++steps == at) stop = true;
    };
    cb.on_epoch = [&](const EpochStats& s) {
      if (-s.epoch == at) stop = true;
    };
    TrainCheckpointing ck;
    ck.path = path;
    ck.stop = &stop;
    ck.resume = resuming ? &state : nullptr;
    try {
      RunResult r;
      r.history = train(model, train_set, &test_set, c.cfg, cb, ck);
      r.params = model.params;
      EXPECT_EQ(leg, stops.size()) << c.name << ": finished before stop " << leg;
      return r;
    } catch (const TrainingInterrupted& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    Checkpoint ck_in = load_checkpoint(path);
    model = std::move(ck_in.model);
    state = std::move(ck_in.state);
    resuming = true;
  }
  ADD_FAILURE() << c.name << ": never finished";
  return {};
}

TEST(Checkpoint, StoppingAndResumingAnywhereGivesTheUninterruptedModel) {
  const Dataset train_set = bar_digits(data_size(), 1), test_set = bar_digits(40, 2);
  for (const Case& c : cases()) {
    const RunResult ref = uninterrupted(c, train_set, test_set);
    const long long steps_per_epoch =
        c.cfg.batch == 1 ? data_size() : (data_size() + c.cfg.batch - 1) / c.cfg.batch;
    // Once in the first step, mid-epoch several times in a row, at an epoch's end, in its last step.
    const std::vector<std::vector<long long>> plans = {{1},
                                                       {2, 3, steps_per_epoch + 1, steps_per_epoch + 2},
                                                       {-1, steps_per_epoch + steps_per_epoch / 2},
                                                       {steps_per_epoch, steps_per_epoch * 2 - 1}};
    for (const auto& plan : plans) {
      const RunResult r =
          interrupted(c, train_set, test_set, plan, test::temp_path(std::string(c.name) + ".ckpt"));
      EXPECT_TRUE(same_bits(ref.params, r.params))
          << c.name << ", stops at " << ::testing::PrintToString(plan);
      expect_same_history(ref.history, r.history);
    }
  }
}

// Periodic checkpoints (here after every step): any one of them, picked at random, resumes exactly.
TEST(Checkpoint, EveryPeriodicCheckpointResumesExactly) {
  const Dataset train_set = bar_digits(data_size(), 3), test_set = bar_digits(30, 4);
  const Case c = cases()[0];
  const RunResult ref = uninterrupted(c, train_set, test_set);
  const std::string path = test::temp_path("periodic.ckpt");
  fs::remove(path);
  Rng pick(99);
  std::vector<std::string> copies;
  {
    Lenet5 model(c.arch);
    Rng rng(c.cfg.seed);
    model.init(rng);
    TrainCallbacks cb;
    cb.on_batch = [&](const BatchProgress&) {  // the file now holds the checkpoint of the step before
      // Random picks, but at least the first three, so short (sanitizer-sized) runs still test three.
      if (fs::exists(path) && (pick.below(4) == 0 || copies.size() < 3)) {
        copies.push_back(test::temp_path("periodic-" + std::to_string(copies.size()) + ".ckpt"));
        fs::copy_file(path, copies.back(), fs::copy_options::overwrite_existing);
      }
    };
    TrainCheckpointing ck;
    ck.path = path;
    ck.every_seconds = 1e-9;
    const auto history = train(model, train_set, &test_set, c.cfg, cb, ck);
    EXPECT_TRUE(same_bits(ref.params, model.params));
    expect_same_history(ref.history, history);
  }
  ASSERT_GE(copies.size(), 3u);
  for (const std::string& copy : copies) {
    Checkpoint in = load_checkpoint(copy);
    TrainCheckpointing ck;
    ck.resume = &in.state;
    const auto history = train(in.model, train_set, &test_set, c.cfg, {}, ck);
    EXPECT_TRUE(same_bits(ref.params, in.model.params)) << copy;
    expect_same_history(ref.history, history);
  }
}

TEST(Checkpoint, ResumingWithMoreEpochsContinuesTheRun) {
  const Dataset train_set = bar_digits(data_size(), 5), test_set = bar_digits(30, 6);
  Case c = cases()[2];  // SDLM: its learning rates by epoch are a longer list for more epochs
  c.cfg.epochs = 3;
  c.cfg.lr_by_epoch = paper_sdlm_schedule(3);
  const RunResult ref = uninterrupted(c, train_set, test_set);
  Case shorter = c;
  shorter.cfg.epochs = 2;
  shorter.cfg.lr_by_epoch = paper_sdlm_schedule(2);
  const std::string path = test::temp_path("more-epochs.ckpt");
  fs::remove(path);
  Lenet5 model(c.arch);
  Rng rng(c.cfg.seed);
  model.init(rng);
  TrainCheckpointing ck;
  ck.path = path;
  train(model, train_set, &test_set, shorter.cfg, {}, ck);
  Checkpoint in = load_checkpoint(path);
  EXPECT_EQ(in.state.epoch, 2);
  ck.resume = &in.state;
  const auto history = train(in.model, train_set, &test_set, c.cfg, {}, ck);
  EXPECT_TRUE(same_bits(ref.params, in.model.params));
  expect_same_history(ref.history, history);
}

TEST(Checkpoint, ARunWithADifferentRecipeOrDataIsRefused) {
  const Dataset train_set = bar_digits(60, 7), test_set = bar_digits(20, 8);
  TrainConfig cfg = cases()[0].cfg;
  cfg.epochs = 1;
  const std::string path = test::temp_path("recipe.ckpt");
  fs::remove(path);
  Lenet5 model(Arch::Lenet5);
  Rng rng(1);
  model.init(rng);
  TrainCheckpointing ck;
  ck.path = path;
  train(model, train_set, &test_set, cfg, {}, ck);
  Checkpoint in = load_checkpoint(path);
  ck.resume = &in.state;
  const auto refused = [&](TrainConfig other, const Dataset& data, const std::string& what) {
    other.epochs = 2;
    try {
      train(in.model, data, &test_set, other, {}, ck);
      ADD_FAILURE() << "resumed despite a different " << what;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  TrainConfig other = cfg;
  other.batch = 8;
  refused(other, train_set, "batch: 16 in the checkpoint, 8 here");
  other = cfg;
  other.threads = 1;
  refused(other, train_set, "threads");
  other = cfg;
  other.optimizer.kind = OptimizerKind::Adam;
  refused(other, train_set, "optimizer.kind");
  refused(cfg, bar_digits(60, 70), "train_set.crc32");
  other = cfg;
  other.epochs = 0;  // fewer epochs than the checkpoint has done
  try {
    train(in.model, train_set, &test_set, other, {}, ck);
    ADD_FAILURE() << "resumed with fewer epochs than done";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(
        std::string(e.what()).find("the checkpoint is at the end of epoch 1, beyond the 0 epochs asked for"),
        std::string::npos)
        << e.what();
  }
}

// A learning rate that explodes in the second epoch: the error names the epoch, the step and tensors,
// and the checkpoint of the first epoch is left exactly as it was.
TEST(Checkpoint, DivergenceNamesStepAndTensorsAndKeepsTheLastGoodCheckpoint) {
  const Dataset train_set = bar_digits(80, 9);
  TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch = 10;
  cfg.lr_by_epoch = {0.01f, 1e30f};
  cfg.threads = 1;
  const std::string path = test::temp_path("diverge.ckpt");
  fs::remove(path);
  Lenet5 model(Arch::Lenet5);
  Rng rng(1);
  model.init(rng);
  std::string after_epoch_1;
  TrainCallbacks cb;
  cb.on_epoch = [&](const EpochStats&) { after_epoch_1 = read_bytes(path); };
  TrainCheckpointing ck;
  ck.path = path;
  ck.every_seconds = 1e-9;  // would write after every step, if a step with a NaN were ever saved
  try {
    train(model, train_set, nullptr, cfg, cb, ck);
    FAIL() << "a learning rate of 1e30 should diverge";
  } catch (const TrainingError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("training diverged: "), std::string::npos) << msg;
    EXPECT_NE(msg.find("epoch 2, step "), std::string::npos) << msg;
    bool names_a_tensor = false;
    for (const TensorInfo& t : model.tensors())
      names_a_tensor |= msg.find(t.name + " (") != std::string::npos;
    EXPECT_TRUE(names_a_tensor) << msg;
    EXPECT_NE(msg.find("try a smaller --lr"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the last good checkpoint, " + path), std::string::npos) << msg;
  }
  ASSERT_FALSE(after_epoch_1.empty());
  const Checkpoint kept = load_checkpoint(path);
  for (float w : kept.model.params) ASSERT_TRUE(std::isfinite(w));
  // Periodic checkpoints of epoch 2 may have followed the epoch-1 one, but only of finite states.
  EXPECT_GE(kept.state.epoch, 1);
}

// A NaN already in a tensor's parameters: where it reaches the loss, the first step stops, naming it; where
// it does not (a ReLU unit that outputs 0), the check before the epoch's checkpoint does.
TEST(Checkpoint, ANaNInTheModelIsCaughtAndNamed) {
  const Dataset train_set = bar_digits(40, 10);
  TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch = 8;
  cfg.threads = 1;
  const auto message = [&](const std::string& tensor) {
    Lenet5 model(Arch::Lenet5);
    Rng rng(1);
    model.init(rng);
    model.params[model.find_tensor(tensor)->offset + 3] = std::numeric_limits<float>::quiet_NaN();
    try {
      train(model, train_set, nullptr, cfg);
    } catch (const TrainingError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string at_loss = message("OUTPUT.bias");
  EXPECT_NE(at_loss.find("at epoch 1, step 1 (step 1 of the run, images 1-8 of 40) the loss became "),
            std::string::npos)
      << at_loss;
  EXPECT_NE(at_loss.find("and the gradients of C1.weight (150 values)"), std::string::npos) << at_loss;
  EXPECT_NE(at_loss.find("the parameters of OUTPUT.bias (1 value) were already NaN or infinite"),
            std::string::npos)
      << at_loss;
  const std::string silent = message("F6.bias");
  EXPECT_NE(
      silent.find("after epoch 1, step 5 (step 5 of the run) the parameters of F6.bias (1 value) are NaN"),
      std::string::npos)
      << silent;
}

// ---- The file itself ----

// A real checkpoint to break: SDLM, so that every optional tensor is there.
std::string make_checkpoint(const std::string& name) {
  const Dataset train_set = bar_digits(30, 11);
  Case c = cases()[2];
  c.cfg.epochs = 1;
  c.cfg.lr_by_epoch.resize(1);
  const std::string path = test::temp_path(name);
  fs::remove(path);
  Lenet5 model(c.arch);
  Rng rng(1);
  model.init(rng);
  std::atomic<bool> stop{false};
  TrainCallbacks cb;
  cb.on_batch = [&](const BatchProgress& p) { stop = p.done == 7; };
  TrainCheckpointing ck;
  ck.path = path;
  ck.stop = &stop;
  EXPECT_THROW(train(model, train_set, nullptr, c.cfg, cb, ck), TrainingInterrupted);
  return path;
}

TEST(CheckpointFile, RoundTripsEveryFieldExactly) {
  Lenet5 model(Arch::Lenet5);
  Rng rng(3);
  model.init(rng);
  TrainState s;
  s.recipe = {{"seed", 3}, {"note", "x"}};
  s.epoch = 2;
  s.position = 5;
  s.step = 3;
  s.loss_sum = 0.1 + 0.2;  // not a short decimal
  s.correct = 4;
  s.seconds = std::nextafter(1.0, 2.0);
  s.shuffle_rng = {1, ~0ull, 3, 4};
  s.hessian_rng = {5, 6, 7, 0x8000000000000000ull};
  s.distort_rng = {9, 10, 11, 12};
  s.order = {3, 1, 4, 0, 2, 6, 5};
  s.optimizer_m.resize(model.params.size());
  s.optimizer_v.resize(model.params.size());
  for (std::size_t i = 0; i < s.optimizer_m.size(); ++i) {
    s.optimizer_m[i] = rng.uniform(-1, 1) * 1e-20f;
    s.optimizer_v[i] = rng.uniform() * 1e30f;
  }
  s.optimizer_steps = 1234567890123ll;
  for (int e = 1; e <= 2; ++e) {
    EpochStats st;
    st.epoch = e;
    st.lr = 0.02 / 3;
    st.train_loss = std::sqrt(double(e));
    st.train_accuracy = 1.0 / 3;
    st.test_accuracy = -1;
    st.test_loss = 1e-300;
    st.seconds = 12.5;
    st.images = 7;
    s.history.push_back(st);
  }
  const std::string path = test::temp_path("roundtrip.ckpt");
  save_checkpoint(path, model, s);
  const Checkpoint in = load_checkpoint(path);
  EXPECT_EQ(in.model.arch(), Arch::Lenet5);
  EXPECT_TRUE(same_bits(in.model.params, model.params));
  const TrainState& t = in.state;
  EXPECT_EQ(t.recipe, s.recipe);
  EXPECT_EQ(t.epoch, s.epoch);
  EXPECT_EQ(t.position, s.position);
  EXPECT_EQ(t.step, s.step);
  EXPECT_EQ(t.loss_sum, s.loss_sum);
  EXPECT_EQ(t.correct, s.correct);
  EXPECT_EQ(t.seconds, s.seconds);
  EXPECT_EQ(t.shuffle_rng, s.shuffle_rng);
  EXPECT_EQ(t.hessian_rng, s.hessian_rng);
  EXPECT_EQ(t.distort_rng, s.distort_rng);
  EXPECT_EQ(t.order, s.order);
  EXPECT_TRUE(t.hessian_order.empty());
  EXPECT_TRUE(same_bits(t.optimizer_m, s.optimizer_m));
  EXPECT_TRUE(same_bits(t.optimizer_v, s.optimizer_v));
  EXPECT_EQ(t.optimizer_steps, s.optimizer_steps);
  expect_same_history(t.history, s.history);
  for (std::size_t i = 0; i < t.history.size(); ++i) EXPECT_EQ(t.history[i].seconds, s.history[i].seconds);
}

// Each broken field is refused with a message naming it (the model file's own checks, CRC, truncation,
// versions, are tested in test_model_file.cpp; here the file is always well formed).
TEST(CheckpointFile, RefusesMalformedStateBehindAValidChecksum) {
  const std::string good = make_checkpoint("good.ckpt");
  ASSERT_NO_THROW(load_checkpoint(good));
  const ModelFile original = load_model_file(good);
  const auto tensor = [](ModelFile& f, const std::string& name) -> TensorRecord& {
    for (TensorRecord& t : f.tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  };
  struct Breakage {
    const char* expected;  // in the message
    std::function<void(ModelFile&)> apply;
  };
  const std::vector<Breakage> breakages = {
      {"not a checkpoint but a model file",
       [](ModelFile& f) {
         f.config = {{"recipe", 1}};
       }},
      {"written by a newer lenet: checkpoint version 2",
       [](ModelFile& f) { f.config["checkpoint"]["version"] = 2; }},
      {"field checkpoint.position is missing",
       [](ModelFile& f) { f.config["checkpoint"].erase("position"); }},
      {"field checkpoint.position: expected 0..29, found 30",
       [](ModelFile& f) { f.config["checkpoint"]["position"] = 30; }},
      {"field checkpoint.position: expected an integer, found 7.5",
       [](ModelFile& f) { f.config["checkpoint"]["position"] = 7.5; }},
      {"field checkpoint.epoch: expected 0..1048576, found 18446744073709551615",
       [](ModelFile& f) { f.config["checkpoint"]["epoch"] = ~0ull; }},
      {"field checkpoint.step: expected 0..7", [](ModelFile& f) { f.config["checkpoint"]["step"] = 8; }},
      {"field checkpoint.loss_sum: expected a finite number",
       [](ModelFile& f) { f.config["checkpoint"]["loss_sum"] = "1"; }},
      {"field checkpoint.rng.shuffle: expected an array of 4",
       [](ModelFile& f) {
         f.config["checkpoint"]["rng"]["shuffle"] = {1, 2};
       }},
      {"an all-zero generator state",
       [](ModelFile& f) {
         f.config["checkpoint"]["rng"]["distort"] = {0, 0, 0, 0};
       }},
      {"field checkpoint.rng.hessian: expected unsigned integers, found -1",
       [](ModelFile& f) { f.config["checkpoint"]["rng"]["hessian"][2] = -1; }},
      {"field checkpoint.history: expected an array of the 1 epochs completed, found 0 entries",
       [](ModelFile& f) { f.config["checkpoint"]["epoch"] = 1; }},
      {"field checkpoint.recipe: expected a JSON object",
       [](ModelFile& f) { f.config["checkpoint"]["recipe"] = 3; }},
      {"tensor train.order is missing",
       [](ModelFile& f) {
         std::erase_if(f.tensors, [](const TensorRecord& t) { return t.name == "train.order"; });
       }},
      {"tensor train.order: expected a permutation of 0..29, found 3.000000 at index",
       [&](ModelFile& f) { tensor(f, "train.order").data.assign(30, 3.0f); }},
      {"tensor train.order: expected a permutation of 0..29, found 30.000000",
       [&](ModelFile& f) { tensor(f, "train.order").data[4] = 30; }},
      {"tensor train.order: expected a permutation of 0..29, found 0.500000",
       [&](ModelFile& f) { tensor(f, "train.order").data[4] = 0.5f; }},
      {"tensor train.order: expected a permutation of 0..29, found -1.000000",
       [&](ModelFile& f) { tensor(f, "train.order").data[0] = -1; }},
      {"tensor train.hessian_order: expected 30 values like train.order, found 29",
       [&](ModelFile& f) {
         TensorRecord& t = tensor(f, "train.hessian_order");
         t.shape = {29};
         t.data.resize(29);
         for (int i = 0; i < 29; ++i) t.data[std::size_t(i)] = float(i);
       }},
      {"tensor optimizer.m: expected shape [60000]",
       [&](ModelFile& f) {
         TensorRecord& t = tensor(f, "optimizer.m");
         t.shape = {2};
         t.data.resize(2);
       }},
      {"architecture lenet5-1998 has 12 tensors, the file has 13",
       [](ModelFile& f) {
         f.tensors.push_back({"train.extra", {1}, {0.0f}});
       }},
      {"unknown architecture 'lenet7'", [](ModelFile& f) { f.arch = "lenet7"; }},
  };
  for (const Breakage& b : breakages) {
    ModelFile f = original;
    b.apply(f);
    const std::string path = test::temp_path("broken.ckpt");
    save_model_file(path, f);
    try {
      load_checkpoint(path);
      ADD_FAILURE() << "accepted: " << b.expected;
    } catch (const ModelFileError& e) {
      EXPECT_NE(std::string(e.what()).find(b.expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(CheckpointFile, EveryTruncationIsRefused) {
  const std::string bytes = read_bytes(make_checkpoint("trunc.ckpt"));
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  for (std::size_t n = 0; n < bytes.size(); n += 1 + n / 64)
    EXPECT_THROW(parse_checkpoint(p, n, "trunc.ckpt"), ModelFileError) << n << " bytes";
  EXPECT_NO_THROW(parse_checkpoint(p, bytes.size(), "trunc.ckpt"));
}

TEST(CheckpointFile, APlainModelIsNotACheckpointNorACheckpointAModel) {
  Lenet5 model(Arch::Lenet5);
  const std::string model_path = test::temp_path("plain.bin");
  save_lenet5(model_path, model, {{"seed", 1}});
  EXPECT_THROW(load_checkpoint(model_path), ModelFileError);
  const std::string checkpoint = make_checkpoint("not-a-model.ckpt");
  try {
    load_lenet5(checkpoint);
    ADD_FAILURE() << "a checkpoint was loaded as a model";
  } catch (const ModelFileError& e) {
    EXPECT_EQ(std::string(e.what()), checkpoint +
                                         ": a training checkpoint (lenet train --checkpoint), not a model: "
                                         "resume the run with --resume and --out to get the model");
  }
}

}  // namespace
}  // namespace lenet
