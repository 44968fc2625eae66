// Saving and loading whole models: bit-exact round trips for both architectures, and refusal of files
// whose architecture or tensors do not match, each with a message naming the file.
#include <gtest/gtest.h>

#include <cstring>

#include "helpers/paths.h"
#include "lenet/classify.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/model_file.h"
#include "lenet/trainer.h"

namespace lenet {
namespace {

void expect_error_mentions(const std::string& path, const std::string& what) {
  try {
    load_lenet5(path);
    FAIL() << "loading " << path << " should fail (" << what << ")";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(Lenet5Io, RoundTripIsBitExactForBothArchitectures) {
  for (Arch arch : {Arch::Lenet5, Arch::Lenet5_1998}) {
    Lenet5 model(arch);
    Rng rng(11);
    model.init(rng);
    const std::string path = test::temp_path(std::string(arch_name(arch)) + ".bin");
    save_lenet5(path, model, {{"note", "round trip"}, {"seed", 11}});
    const LoadedModel loaded = load_lenet5(path);
    EXPECT_EQ(loaded.model.arch(), arch);
    ASSERT_EQ(loaded.model.params.size(), model.params.size());
    EXPECT_EQ(
        0, std::memcmp(loaded.model.params.data(), model.params.data(), model.params.size() * sizeof(float)));
    EXPECT_EQ(loaded.config["seed"], 11);
  }
}

// From memory (the fuzzer's way in): the same model, and the same refusals naming what it was given.
TEST(Lenet5Io, AParsedFileGivesTheSameModel) {
  Lenet5 model(Arch::Lenet5_1998);
  Rng rng(12);
  model.init(rng);
  const std::string path = test::temp_path("parsed.bin");
  save_lenet5(path, model, {{"seed", 12}});
  const LoadedModel loaded = lenet5_from_model_file(load_model_file(path), "parsed");
  EXPECT_EQ(loaded.model.arch(), Arch::Lenet5_1998);
  EXPECT_EQ(
      0, std::memcmp(loaded.model.params.data(), model.params.data(), model.params.size() * sizeof(float)));
  EXPECT_EQ(loaded.config["seed"], 12);
  ModelFile f = load_model_file(path);
  f.tensors[3].shape = {1, 6};
  try {
    lenet5_from_model_file(f, "in-memory");
    FAIL() << "a misshapen tensor should be refused";
  } catch (const ModelFileError& e) {
    EXPECT_NE(
        std::string(e.what()).find("in-memory: tensor S2.bias has shape (1, 6), lenet5-1998 expects (6)"),
        std::string::npos)
        << e.what();
  }
}

TEST(Lenet5Io, RefusesAnUnknownArchitecture) {
  ModelFile f;
  f.arch = "lenet7";
  f.tensors.push_back({"C1.weight", {1}, {0.5f}});
  const std::string path = test::temp_path("unknown-arch.bin");
  save_model_file(path, f);
  expect_error_mentions(path, "unknown architecture 'lenet7'");
}

TEST(Lenet5Io, RefusesMissingForeignOrMisshapenTensors) {
  Lenet5 model(Arch::Lenet5);
  ModelFile good;
  good.arch = "lenet5";
  for (const TensorInfo& t : model.tensors())
    good.tensors.push_back({t.name, t.shape, std::vector<float>(t.count)});

  ModelFile missing = good;
  missing.tensors.pop_back();
  save_model_file(test::temp_path("missing.bin"), missing);
  expect_error_mentions(test::temp_path("missing.bin"), "tensors");

  ModelFile foreign = good;
  foreign.tensors[0].name = "C7.weight";
  save_model_file(test::temp_path("foreign.bin"), foreign);
  expect_error_mentions(test::temp_path("foreign.bin"), "C7.weight");

  ModelFile misshapen = good;
  misshapen.tensors[0].shape = {6, 25};
  save_model_file(test::temp_path("misshapen.bin"), misshapen);
  expect_error_mentions(test::temp_path("misshapen.bin"), "expects (6, 1, 5, 5)");

  // A 1998 file's tensors under the modern architecture's name: S2.weight does not belong there.
  Lenet5 paper(Arch::Lenet5_1998);
  ModelFile swapped;
  swapped.arch = "lenet5";
  for (const TensorInfo& t : paper.tensors())
    swapped.tensors.push_back({t.name, t.shape, std::vector<float>(t.count)});
  save_model_file(test::temp_path("swapped.bin"), swapped);
  expect_error_mentions(test::temp_path("swapped.bin"), "lenet5");
}

TEST(Lenet5Io, TheShippedModelLoads) {
  const std::string path = test::source_path("models/lenet5.bin");
  const LoadedModel loaded = load_lenet5(path);
  EXPECT_EQ(loaded.model.arch(), Arch::Lenet5);
  EXPECT_GE(loaded.config["test_accuracy"].get<double>(), 0.99);
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const EvalResult r = evaluate(loaded.model, load_split(test::mnist_dir(), Split::Test));
  std::printf("shipped model: MNIST test accuracy %.4f\n", r.accuracy);
  EXPECT_GE(r.accuracy, 0.99);
  // Faster kernels may round differently from those that trained it: a few images may flip, no more.
  EXPECT_NEAR(r.accuracy, loaded.config["test_accuracy"].get<double>(), 0.0005);
}

TEST(Lenet5Io, TheNotADigitFloorIsReadFromTheConfig) {
  // A model trained with outliers records the floor on its top probability; a model without one says 0 (the
  // logit rule), and anything but a number strictly between 0 and 1 is refused naming the file.
  EXPECT_EQ(min_digit_confidence(nlohmann::json::object(), "m.bin"), 0.0f);
  EXPECT_EQ(min_digit_confidence(nlohmann::json(), "m.bin"), 0.0f);
  EXPECT_FLOAT_EQ(min_digit_confidence({{"not_a_digit", {{"min_confidence", 0.5}}}}, "m.bin"), 0.5f);
  for (const nlohmann::json& bad : {nlohmann::json{{"not_a_digit", {{"min_confidence", 1.5}}}},
                                    nlohmann::json{{"not_a_digit", {{"min_confidence", 0}}}},
                                    nlohmann::json{{"not_a_digit", {{"min_confidence", "high"}}}},
                                    nlohmann::json{{"not_a_digit", 0.5}}}) {
    try {
      min_digit_confidence(bad, "m.bin");
      FAIL() << bad.dump() << " should be refused";
    } catch (const ModelFileError& e) {
      EXPECT_NE(std::string(e.what()).find("m.bin: config.not_a_digit"), std::string::npos) << e.what();
    }
  }
  // The shipped model was trained without outliers: the logit rule (docs/reading-pictures.md).
  const LoadedModel shipped = load_lenet5(test::source_path("models/lenet5.bin"));
  EXPECT_EQ(min_digit_confidence(shipped.config, "models/lenet5.bin"), 0.0f);
}

TEST(Lenet5Io, LooksLikeADigitByTheModelsOwnRule) {
  // With a floor, the top probability decides; without one, the modern network's winning logit (the 1998
  // network's RBF penalty is not thresholded).
  const Lenet5 modern(Arch::Lenet5), paper(Arch::Lenet5_1998);
  DigitGuess g;
  g.digit = 3;
  g.confidence = 0.6f;
  g.score = kMinDigitLogit - 4;
  EXPECT_TRUE(looks_like_digit(modern, g, 0.5f));
  EXPECT_FALSE(looks_like_digit(modern, g, 0.7f));
  EXPECT_FALSE(looks_like_digit(modern, g));
  EXPECT_TRUE(looks_like_digit(paper, g));
  g.score = kMinDigitLogit + 1;
  EXPECT_TRUE(looks_like_digit(modern, g));
  EXPECT_FALSE(looks_like_digit(modern, g, 0.7f));
}

}  // namespace
}  // namespace lenet
