// The `lenet` program as a user meets it: help texts, info on both architectures, eval's JSON, the
// per-epoch log, and clear non-zero exits on broken data and model files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "helpers/paths.h"
#include "helpers/shell.h"

namespace lenet {
namespace {

using CliRun = test::ShellRun;

// stdout and stderr together.
CliRun run_lenet(const std::string& args) {
  return test::run_shell(test::binary_path("lenet") + " " + args + " 2>&1");
}

// stdout only, for JSON output.
CliRun run_lenet_stdout(const std::string& args) {
  return test::run_shell(test::binary_path("lenet") + " " + args + " 2>/dev/null");
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

TEST(Cli, EveryCommandHasHelpListingItsOptionsAndDefaults) {
  const CliRun top = run_lenet("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* cmd : {"train", "eval", "info"}) EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
  const CliRun train = run_lenet("train --help");
  EXPECT_EQ(train.status, 0);
  for (const char* opt : {"--arch", "--data", "--epochs", "--batch", "--optimizer", "--lr", "--lr-gamma",
                          "--lr-step", "--momentum", "--seed", "--threads", "--out", "--log", "--loss"})
    EXPECT_NE(train.out.find(opt), std::string::npos) << opt;
  EXPECT_NE(train.out.find("momentum"), std::string::npos);  // a default value is shown
  EXPECT_EQ(run_lenet("eval --help").status, 0);
  EXPECT_EQ(run_lenet("info --help").status, 0);
}

TEST(Cli, InfoOfThe1998NetworkMatchesThePapersParameterCounts) {
  const CliRun r = run_lenet_stdout("info --arch lenet5-1998 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  const std::vector<std::pair<std::string, int>> expected = {
      {"C1", 156}, {"S2", 12}, {"C3", 1516}, {"S4", 32}, {"C5", 48120}, {"F6", 10164}, {"OUTPUT", 0}};
  ASSERT_EQ(j["layers"].size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(j["layers"][i]["name"], expected[i].first);
    EXPECT_EQ(j["layers"][i]["parameters"], expected[i].second) << expected[i].first;
  }
  EXPECT_EQ(j["parameters"], 60000);
  const CliRun modern = run_lenet_stdout("info --arch lenet5 --json");
  EXPECT_EQ(nlohmann::json::parse(modern.out)["parameters"], 61706);
  const CliRun table = run_lenet("info --arch lenet5-1998");
  EXPECT_NE(table.out.find("Table I"), std::string::npos);
}

TEST(Cli, BadArgumentsExitNonZeroWithAMessage) {
  CliRun r = run_lenet("info --arch lenet6");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("lenet6"), std::string::npos) << r.out;
  r = run_lenet("train --batch zero --data /nonexistent");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--batch"), std::string::npos) << r.out;
  r = run_lenet("eval --model");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--model"), std::string::npos) << r.out;
}

TEST(Cli, ABrokenModelFileIsRefusedNamingTheFile) {
  const std::string path = test::temp_path("broken-model.bin");
  write_file(path, "LENETMDL\x01\x00\x00\x00garbage");
  CliRun r = run_lenet("eval --model " + path + " --data " + test::mnist_dir());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(path), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error"), std::string::npos) << r.out;
  r = run_lenet("info --model " + test::temp_path("missing.bin"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("missing.bin"), std::string::npos) << r.out;
}

TEST(Cli, ATruncatedDataFileIsRefusedNamingTheFile) {
  const std::string dir = test::temp_path("truncated-data");
  ASSERT_EQ(0, std::system(("mkdir -p " + dir).c_str()));
  // A labels file that promises 10 labels but holds 3, and a matching images header.
  write_file(dir + "/train-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x0a\x01\x02\x03", 11));
  write_file(dir + "/train-images-idx3-ubyte", std::string("\0\0\x08\x03\0\0\0\x0a\0\0\0\x1c\0\0\0\x1c", 16));
  const CliRun r = run_lenet("train --epochs 1 --data " + dir);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(dir), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
}

// Trains a small model through the program and reads it back with eval --json and info --model.
TEST(Cli, TrainLogsEpochsAndEvalReportsJson) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string model = test::temp_path("cli-model.bin"), log = test::temp_path("cli-log.jsonl");
  const CliRun t =
      run_lenet("train --epochs 2 --limit " + std::string(test::sanitizer_run() ? "600" : "3000") +
                " --data " + test::mnist_dir() + " --out " + model + " --log " + log + " --seed 3");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("epoch  2/2"), std::string::npos) << t.out;

  std::ifstream lf(log);
  std::string line;
  int lines = 0;
  while (std::getline(lf, line)) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds"})
      EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["epoch"], ++lines);
    EXPECT_GT(j["test_accuracy"].get<double>(), test::sanitizer_run() ? 0.2 : 0.5);  // 600 images there
    EXPECT_LE(j["test_accuracy"].get<double>(), 1.0);
  }
  EXPECT_EQ(lines, 2);

  const CliRun e = run_lenet_stdout("eval --json --model " + model + " --data " + test::mnist_dir());
  ASSERT_EQ(e.status, 0) << e.out;
  const auto j = nlohmann::json::parse(e.out);
  const double acc = j["accuracy"];
  EXPECT_GT(acc, test::sanitizer_run() ? 0.5 : 0.8);
  EXPECT_LE(acc, 1.0);
  long long total = 0, diagonal = 0;
  ASSERT_EQ(j["confusion"].size(), 10u);
  for (int t2 = 0; t2 < 10; ++t2) {
    ASSERT_EQ(j["confusion"][t2].size(), 10u);
    for (int p = 0; p < 10; ++p) total += j["confusion"][t2][p].get<long long>();
    diagonal += j["confusion"][t2][t2].get<long long>();
  }
  EXPECT_EQ(total, 10000);
  EXPECT_NEAR(double(diagonal) / total, acc, 1e-12);

  const CliRun text = run_lenet("eval --model " + model + " --data " + test::mnist_dir());
  EXPECT_NE(text.out.find("precision"), std::string::npos);
  EXPECT_NE(text.out.find("confusion"), std::string::npos);
  const CliRun info = run_lenet_stdout("info --json --model " + model);
  EXPECT_EQ(nlohmann::json::parse(info.out)["config"]["recipe"]["seed"], 3);
}

TEST(Cli, FashionMnistTrainsWithTheSameCommand) {
  const std::string fashion = "/usr/share/datasets/fashion-mnist";
  if (!std::ifstream(fashion + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const CliRun t =
      run_lenet("train --epochs 1 --limit " + std::string(test::sanitizer_run() ? "300" : "2000") +
                " --data " + fashion + " --out " + test::temp_path("fashion.bin"));
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("final test accuracy"), std::string::npos) << t.out;
}

}  // namespace
}  // namespace lenet
