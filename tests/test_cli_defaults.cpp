// The lenet program's conventions that need a run: -q/--quiet, escape codes only on a live terminal,
// --json on train and visualize, train's default --out, Ctrl-C -> 130, one default rule for --model and
// --data, one meaning for --out, bad values -> 2 (docs/cli.md), and the 1998 network's MAP j reported and
// recorded.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "lenet/lenet5_io.h"
#include "lenet/loss.h"

namespace lenet {
namespace {

namespace fs = std::filesystem;
using test::ShellRun;

std::string lenet() { return test::binary_path("lenet"); }
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A fresh, empty directory for one test.
std::string fresh_dir(const std::string& name) {
  const std::string dir = test::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A quick training run's arguments (a few hundred images, one epoch).
std::string quick_train() { return " train --epochs 1 --limit 300 --threads 1 --data " + test::mnist_dir(); }

TEST(CliDefaults, QuietLeavesStderrEmptyAndTrainJsonSummarisesTheRun) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const std::string out = test::temp_path("quiet.bin");
  fs::remove(out);
  // -q after the command's name too; stdout dropped, stderr kept.
  ShellRun r = test::run_shell(lenet() + quick_train() + " --out " + out + " -q --json 2>&1 >/dev/null");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "") << "-q printed on stderr";
  fs::remove(out);
  r = test::run_shell(lenet() + " --quiet" + quick_train() + " --out " + out + " --json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);  // stdout is one JSON object
  EXPECT_EQ(j["model"], out);
  EXPECT_EQ(j["arch"], "lenet5");
  EXPECT_EQ(j["epochs"], 1);
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.15);  // 300 images, one epoch: better than chance
  EXPECT_NEAR(j["test_error"].get<double>(), 1 - j["test_accuracy"].get<double>(), 1e-9);
  EXPECT_TRUE(fs::exists(out));
  // Without -q, the progress lines are there.
  fs::remove(out);
  r = test::run_shell(lenet() + quick_train() + " --out " + out + " 2>&1 >/dev/null");
  EXPECT_TRUE(contains(r.out, "epoch  1/1")) << r.out;
  EXPECT_TRUE(contains(r.out, "saved " + out)) << r.out;
}

// The 1998 network's MAP constant j: the default (kDefaultMapJ, chosen on the validation split) or --map-j,
// said at the start, in the --json summary (the last --log line) and in the model's recorded recipe.
TEST(CliDefaults, The1998NetworksMapJIsSaidLoggedAndRecordedInTheModel) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const std::string out = test::temp_path("map-j.bin");
  for (const float j : {kDefaultMapJ, 2.5f}) {
    fs::remove(out);
    const std::string option = j == kDefaultMapJ ? "" : " --map-j 2.5";
    const ShellRun r =
        test::run_shell(lenet() + " train --arch lenet5-1998 --epochs 1 --limit 100 --threads 1 --data " +
                        test::mnist_dir() + option + " --out " + out + " --json 2>" + out + ".err");
    ASSERT_EQ(r.status, 0) << r.out;
    const nlohmann::json summary = nlohmann::json::parse(r.out);
    EXPECT_EQ(summary["map_j"].get<float>(), j);
    EXPECT_EQ(load_lenet5(out).config["recipe"]["map_j"].get<float>(), j);
    const ShellRun err = test::run_shell("cat " + out + ".err");
    EXPECT_TRUE(contains(err.out, j == kDefaultMapJ ? "loss map (j 6)" : "loss map (j 2.5)")) << err.out;
  }
  EXPECT_EQ(kDefaultMapJ, 6.0f);  // docs/reproduction.md, "j and μ"
  fs::remove(out);
  fs::remove(out + ".err");
}

TEST(CliDefaults, EscapeCodesOnlyOnATerminalWhoseTermIsNotDumb) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "script(1) (util-linux) is needed for a terminal";
  const std::string out = test::temp_path("tty.bin");
  // script(1) gives the program a terminal; its transcript goes to stdout.
  const auto on_terminal = [&](const std::string& term, const std::string& extra) {
    fs::remove(out);
    return test::run_shell("TERM=" + term + " script -qec '" + lenet() + quick_train() + " --out " + out +
                           extra + "' /dev/null");
  };
  ShellRun r = on_terminal("xterm", "");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "\033[K")) << "no progress bar on a terminal";
  r = on_terminal("dumb", "");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(contains(r.out, "\033[")) << "escape codes with TERM=dumb";
  EXPECT_TRUE(contains(r.out, "epoch  1/1")) << r.out;
  r = on_terminal("xterm", " -q");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(contains(r.out, "\033[")) << "escape codes with -q";
  // Not a terminal (a pipe): no escape codes whatever TERM says.
  fs::remove(out);
  r = test::run_shell("TERM=xterm " + lenet() + quick_train() + " --out " + out + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(contains(r.out, "\033[")) << "escape codes into a pipe";
}

TEST(CliDefaults, TrainWithoutOutSavesToAFreeDefaultPathAndSaysWhere) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const std::string dir = fresh_dir("default-out");
  ShellRun r = test::run_shell("cd " + dir + " && " + lenet() + quick_train() + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "no --out given: the model will be saved to lenet5-trained.bin")) << r.out;
  EXPECT_TRUE(contains(r.out, "saved lenet5-trained.bin")) << r.out;
  ASSERT_TRUE(fs::exists(dir + "/lenet5-trained.bin"));
  const auto first = fs::file_size(dir + "/lenet5-trained.bin");
  const auto first_time = fs::last_write_time(dir + "/lenet5-trained.bin");
  // A second run does not replace the first model.
  r = test::run_shell("cd " + dir + " && " + lenet() + quick_train() + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "saved lenet5-trained-2.bin")) << r.out;
  EXPECT_TRUE(fs::exists(dir + "/lenet5-trained-2.bin"));
  EXPECT_EQ(fs::file_size(dir + "/lenet5-trained.bin"), first);
  EXPECT_EQ(fs::last_write_time(dir + "/lenet5-trained.bin"), first_time);
}

TEST(CliDefaults, CtrlCOnTrainExits130AndSavesNoModel) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const std::string dir = fresh_dir("sigint"), log = dir + "/stderr";
  // Long enough to be interrupted; SIGINT once the start line is out (the handlers are in place by then).
  const std::string cmd = lenet() + " train --epochs 50 --threads 1 --data " + test::mnist_dir() + " --out " +
                          dir + "/m.bin 2>" + log +
                          " & pid=$!; for i in $(seq 400); do grep -q '^training' " + log +
                          " && break; sleep 0.05; done; kill -INT $pid; wait $pid; echo $?";
  const ShellRun r = test::run_shell(cmd);
  EXPECT_EQ(r.out, "130\n") << test::run_shell("cat " + log).out;
  const std::string err = test::run_shell("cat " + log).out;
  EXPECT_TRUE(contains(err, "lenet: error: interrupted (SIGINT): training stopped at ")) << err;
  EXPECT_TRUE(contains(err, "nothing was saved to " + dir + "/m.bin")) << err;
  EXPECT_FALSE(fs::exists(dir + "/m.bin"));
}

TEST(CliDefaults, ModelAndDataFollowOneRule) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  // In the working directory: models/lenet5.bin and data/mnist are taken before anything beside the program.
  const std::string dir = fresh_dir("defaults");
  fs::create_directories(dir + "/models");
  fs::create_directories(dir + "/data");
  fs::copy_file(test::source_path("models/lenet5.bin"), dir + "/models/lenet5.bin");
  fs::create_directory_symlink(fs::absolute(test::mnist_dir()), dir + "/data/mnist");
  ShellRun r =
      test::run_shell("cd " + dir + " && env -u LENET_MODEL -u LENET_DATA " + lenet() + " eval --json");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"], "models/lenet5.bin");
  EXPECT_EQ(j["data"], "data/mnist");
  EXPECT_GT(j["accuracy"].get<double>(), 0.98);
  // The environment comes before the working directory, for the model and the data alike.
  r = test::run_shell("cd " + dir + " && LENET_MODEL=" + test::source_path("models/lenet5.bin") +
                      " LENET_DATA=/nonexistent/mnist " + lenet() + " eval --json 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out, "/nonexistent/mnist")) << r.out;
  r = test::run_shell("cd " + dir + " && env -u LENET_MODEL " + lenet() + " info --json");
  ASSERT_EQ(r.status, 0) << r.out;  // info, too, describes the default model
  EXPECT_EQ(nlohmann::json::parse(r.out)["parameters"], 61706);
  r = test::run_shell("cd " + dir + " && LENET_MODEL=/nonexistent/m.bin " + lenet() + " predict " +
                      test::source_path("examples/digit.pgm") + " 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out, "/nonexistent/m.bin")) << r.out;
  // The option comes first.
  r = test::run_shell("cd " + dir + " && LENET_DATA=/nonexistent " + lenet() + " eval --json --data " +
                      test::mnist_dir() + " --model models/lenet5.bin");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["data"], test::mnist_dir());
  // Nothing anywhere: the error names the places tried and how to say it.
  const std::string lonely = fresh_dir("lonely");
  fs::copy_file(lenet(), lonely + "/lenet");
  r = test::run_shell("cd " + lonely + " && env -u LENET_MODEL -u LENET_DATA ./lenet eval 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out, "lenet: error: no --model FILE given")) << r.out;
  EXPECT_TRUE(contains(r.out, "models/lenet5.bin")) << r.out;
  EXPECT_TRUE(contains(r.out, "set LENET_MODEL")) << r.out;
}

TEST(CliDefaults, OutIsAFileAndVisualizeWritesToOutDirWithJson) {
  const std::string dir = fresh_dir("visualize");
  const std::string picture = test::source_path("examples/digit.pgm");
  ShellRun r = test::run_shell(lenet() + " visualize " + picture + " --out " + dir + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  r = test::run_shell(lenet() + " visualize " + picture + " --out-dir " + dir + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"], picture);
  EXPECT_EQ(j["digit"], 4);
  ASSERT_EQ(j["probabilities"].size(), 10u);
  ASSERT_EQ(j["wrote"].size(), 7u);
  for (const auto& path : j["wrote"]) EXPECT_TRUE(fs::exists(path.get<std::string>())) << path;
}

TEST(CliDefaults, QuantizeJsonIsOneObject) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const std::string out = test::temp_path("quantized.bin");
  const ShellRun r = test::run_shell(lenet() + " quantize --images 200 --no-check --json --data " +
                                     test::mnist_dir() + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["out"], out);
  EXPECT_TRUE(j["scales"].is_object()) << j;
  EXPECT_FALSE(j.contains("int8_accuracy")) << "--no-check measured the accuracy";
}

TEST(CliDefaults, BadValuesAreUsageErrors) {
  for (const char* args :
       {"train --arch lenet6", "train --optimizer fast", "train --batch zero", "train --resume",
        "eval --split validation", "bench --model m.bin --arch lenet5"}) {
    const ShellRun r =
        test::run_shell(lenet() + " " + args + " --data " + test::mnist_dir() + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 2) << "lenet " << args << ": " << r.out;
    EXPECT_EQ(r.out.rfind("lenet: error: ", 0), 0u) << r.out;
    EXPECT_TRUE(contains(r.out, "Run 'lenet ")) << r.out;
  }
}

TEST(CliDefaults, InfoBadValuesAreUsageErrorsToo) {
  for (const char* args : {"info --arch lenet6", "info --arch lenet5 --model m.bin"}) {
    const ShellRun r = test::run_shell(lenet() + " " + args + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 2) << "lenet " << args << ": " << r.out;
    EXPECT_TRUE(contains(r.out, "--arch")) << r.out;
    EXPECT_TRUE(contains(r.out, "Run 'lenet info --help'")) << r.out;
  }
}

TEST(CliDefaults, HelpDocumentsTheStatusesAndTheDefaultRule) {
  const ShellRun r = test::run_shell(lenet() + " --help");
  EXPECT_EQ(r.status, 0);
  for (const char* part : {"130 interrupted by Ctrl-C", "143 by SIGTERM", "$LENET_MODEL", "$LENET_DATA",
                           "--out is always a file", "-q,--quiet"})
    EXPECT_TRUE(contains(r.out, part)) << part << " missing from:\n" << r.out;
}

}  // namespace
}  // namespace lenet
