// `lenet quantize` and --precision int8 as a user meets them: the shipped model quantised on training
// images keeps its test accuracy within 0.05 points, and a model without scales is refused with advice.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "lenet/lenet5_io.h"

namespace lenet {
namespace {

test::ShellRun run_lenet(const std::string& args) {
  return test::run_shell(test::binary_path("lenet") + " " + args + " 2>&1");
}

double eval_accuracy(const std::string& model, const std::string& precision) {
  const test::ShellRun r =
      test::run_shell(test::binary_path("lenet") + " eval --json --model " + model + " --precision " +
                      precision + " --data " + test::mnist_dir() + " 2>/dev/null");
  EXPECT_EQ(r.status, 0) << r.out;
  return nlohmann::json::parse(r.out).at("accuracy").get<double>();
}

TEST(CliInt8, QuantizedShippedModelKeepsItsAccuracy) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string shipped = test::source_path("models/lenet5.bin");
  const std::string quantised = test::temp_path("lenet5-int8.bin");
  const test::ShellRun q = run_lenet("quantize --no-check --model " + shipped + " --out " + quantised +
                                     " --data " + test::mnist_dir());
  ASSERT_EQ(q.status, 0) << q.out;
  EXPECT_NE(q.out.find("from 2000 training images"), std::string::npos) << q.out;
  const double fp32 = eval_accuracy(quantised, "fp32"), int8 = eval_accuracy(quantised, "int8");
  EXPECT_GT(fp32, 0.98);
  EXPECT_NEAR(int8, fp32, 0.0005) << "int8 " << int8 << ", fp32 " << fp32;
  // predict answers a photo with the int8 network, and gives the fp32 network's digit
  auto digit = [&](const std::string& precision) {
    const test::ShellRun p = test::run_shell(
        test::binary_path("lenet") + " predict --json --precision " + precision + " --model " + quantised +
        " " + test::source_path("docs/examples/digit-photo.jpg") + " 2>/dev/null");
    EXPECT_EQ(p.status, 0) << p.out;
    return nlohmann::json::parse(p.out).at("digit").get<int>();
  };
  EXPECT_EQ(digit("int8"), digit("fp32"));
}

TEST(CliInt8, TheShippedModelCarriesItsScales) {
  const LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  ASSERT_TRUE(loaded.config.contains("int8")) << loaded.config.dump();
  EXPECT_EQ(loaded.config["int8"]["calibration_images"], 2000);
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const double fp32 = eval_accuracy(test::source_path("models/lenet5.bin"), "fp32");
  EXPECT_NEAR(eval_accuracy(test::source_path("models/lenet5.bin"), "int8"), fp32, 0.0005);
}

TEST(CliInt8, AModelWithoutScalesIsRefusedNamingLenetQuantize) {
  LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  loaded.config.erase("int8");
  const std::string unscaled = test::temp_path("lenet5-no-int8.bin");
  save_lenet5(unscaled, loaded.model, loaded.config);
  const test::ShellRun r =
      run_lenet("eval --precision int8 --model " + unscaled + " --data " + test::mnist_dir());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("lenet quantize"), std::string::npos) << r.out;
  const test::ShellRun bad =
      run_lenet("eval --precision int4 --model " + test::source_path("models/lenet5.bin"));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--precision"), std::string::npos) << bad.out;
}

TEST(CliInt8, QuantizeRecordsTheNotADigitFloorThatPredictApplies) {
  // `quantize --not-a-digit-below T` writes the floor into the model; predict then rejects by the top
  // probability (the "why" names the floor), and refuses a model whose floor is not in (0, 1).
  LoadedModel loaded = load_lenet5(test::source_path("models/lenet5.bin"));
  const std::string photo = test::source_path("docs/examples/digit-photo.jpg");
  auto predict = [&](const std::string& model) {
    return test::run_shell(test::binary_path("lenet") + " predict --json --model " + model + " " + photo +
                           " 2>&1");
  };
  loaded.config["not_a_digit"] = {{"min_confidence", 0.001}};
  const std::string low = test::temp_path("lenet5-floor-low.bin");
  save_lenet5(low, loaded.model, loaded.config);
  const test::ShellRun kept = predict(low);
  ASSERT_EQ(kept.status, 0) << kept.out;
  EXPECT_FALSE(nlohmann::json::parse(kept.out).at("not_digit").get<bool>()) << kept.out;
  loaded.config["not_a_digit"] = {{"min_confidence", 1.5}};
  const std::string bad = test::temp_path("lenet5-floor-bad.bin");
  save_lenet5(bad, loaded.model, loaded.config);
  const test::ShellRun refused = predict(bad);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.out.find("config.not_a_digit"), std::string::npos) << refused.out;
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string floored = test::temp_path("lenet5-floor.bin");
  const test::ShellRun q = run_lenet("quantize --no-check --not-a-digit-below 0.5 --model " +
                                     test::source_path("models/lenet5.bin") + " --out " + floored +
                                     " --data " + test::mnist_dir());
  ASSERT_EQ(q.status, 0) << q.out;
  EXPECT_FLOAT_EQ(min_digit_confidence(load_lenet5(floored).config, floored), 0.5f);
  EXPECT_NE(run_lenet("quantize --no-check --not-a-digit-below 1 --model " +
                      test::source_path("models/lenet5.bin") + " --out " + floored)
                .status,
            0);
}

}  // namespace
}  // namespace lenet
