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

}  // namespace
}  // namespace lenet
