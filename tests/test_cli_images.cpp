// The picture commands as a user meets them: predict and read (text and JSON, errors per file and the exit
// status, --reject-below, --show-input, --annotate), visualize, eval --report, and the default model found
// beside the program whatever the working directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "helpers/synthetic.h"
#include "lenet/idx.h"
#include "lenet/image.h"

namespace lenet {
namespace {

using CliRun = test::ShellRun;

// Runs `prefix lenet args` through the shell; stderr is dropped unless `with_stderr`.
CliRun run(const std::string& args, bool with_stderr = false, const std::string& prefix = "") {
  return test::run_shell(prefix + test::binary_path("lenet") + " " + args +
                         (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string model() { return " --model " + test::source_path("models/lenet5.bin") + " "; }

// A photo-like picture of a digit drawn as a thick "7" (no MNIST needed), dark on light.
std::string seven(const std::string& name) {
  test::InkCanvas ink{90, 120, std::vector<float>(90 * 120, 0.0f)};
  for (int y = 20; y < 32; ++y)
    for (int x = 15; x < 75; ++x) ink.at(x, y) = 1;  // the bar
  for (int y = 32; y < 105; ++y)
    for (int x = 0; x < 12; ++x) ink.at(66 - (y - 32) * 30 / 73 + x - 6, y) = 1;  // the stem
  Rng rng(7);
  test::PhotoStyle s;
  const std::vector<std::uint8_t> rgb = test::photograph(ink, s, rng);
  const std::string path = test::temp_path(name);
  save_image(path, rgb.data(), ink.width, ink.height, 3);
  return path;
}

TEST(CliPictures, PredictAnswersEveryFileAndFailsForTheBadOnes) {
  const std::string good = seven("seven.png"), jpeg = seven("seven.jpg");
  const std::string broken = test::temp_path("broken.png");
  std::ofstream(broken) << "not a picture";
  const CliRun r = run("predict --json" + model() + good + " " + broken + " " + jpeg + " /nonexistent/x.png");
  EXPECT_NE(r.status, 0);
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  for (int i : {0, 2}) {
    EXPECT_EQ(lines[i]["digit"], 7) << lines[i];
    EXPECT_GT(lines[i]["confidence"].get<double>(), 0.5);
    ASSERT_EQ(lines[i]["probabilities"].size(), 10u);
    double sum = 0;
    for (const auto& p : lines[i]["probabilities"]) sum += p.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-4);
    EXPECT_FALSE(lines[i].contains("unsure"));
  }
  EXPECT_EQ(lines[0]["file"], good);
  EXPECT_EQ(lines[1]["file"], broken);
  EXPECT_NE(lines[1]["error"].get<std::string>().find(broken), std::string::npos);
  EXPECT_TRUE(lines[3].contains("error"));
  EXPECT_FALSE(lines[3].contains("digit"));

  const CliRun text = run("predict" + model() + good, true);
  EXPECT_EQ(text.status, 0) << text.out;
  EXPECT_NE(text.out.find(": 7"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("top 3"), std::string::npos) << text.out;
}

TEST(CliPictures, RejectBelowAndShowInput) {
  const std::string good = seven("seven-r.png");
  // A threshold of 1: anything short of certainty is "unsure", with no digit.
  const auto lines = json_lines(run("predict --json --reject-below 1" + model() + good).out);
  ASSERT_EQ(lines.size(), 1u);
  const bool unsure = lines[0]["confidence"].get<double>() < 1.0;
  EXPECT_EQ(lines[0]["unsure"], unsure);
  EXPECT_EQ(lines[0]["digit"].is_null(), unsure);
  const auto sure = json_lines(run("predict --json --reject-below 0.01" + model() + good).out);
  EXPECT_EQ(sure[0]["unsure"], false);
  EXPECT_EQ(sure[0]["digit"], 7);

  const std::string shown = test::temp_path("seen.png");
  ASSERT_EQ(run("predict --show-input " + shown + model() + good).status, 0);
  const GreyImage g = load_grey_image(shown);
  EXPECT_EQ(g.width, 28);
  EXPECT_EQ(g.height, 28);
  EXPECT_EQ(g.pixels[0], 0);  // MNIST's convention: background 0, ink 255
  EXPECT_EQ(*std::max_element(g.pixels.begin(), g.pixels.end()), 255);
}

TEST(CliPictures, TheShippedModelIsFoundFromAnyWorkingDirectory) {
  // The program finds ../models/lenet5.bin beside its own directory: true of a build directory inside the
  // source tree (build/, build-asan/ ...), not of one elsewhere.
  const std::filesystem::path beside =
      std::filesystem::path(test::binary_path("")).parent_path().parent_path();
  if (!std::filesystem::exists(beside / "models" / "lenet5.bin"))
    GTEST_SKIP() << "the build directory is not beside models/ (" << beside << ")";
  const std::string good = seven("seven-d.png");
  const CliRun r = run("predict --json " + good, false, "cd / && ");
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(json_lines(r.out).size(), 1u);
  EXPECT_EQ(json_lines(r.out)[0]["digit"], 7);
  const CliRun missing = run("predict " + good, true, "LENET_MODEL=/nonexistent/m.bin ");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("/nonexistent/m.bin"), std::string::npos) << missing.out;
}

TEST(CliPictures, ReadPrintsTheNumberAndEachDigitsBox) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const Dataset d = load_split(test::mnist_dir(), Split::Test);
  // Test digits 0..3 are 7, 2, 1, 0.
  Rng rng(1);
  const test::InkCanvas number =
      test::enlarge(test::compose_number({d.image(0), d.image(1), d.image(2), d.image(3)}, 28, 28,
                                         {false, false, false}, rng),
                    3);
  const std::vector<std::uint8_t> rgb = test::photograph(number, test::PhotoStyle{}, rng);
  const std::string path = test::temp_path("7210.jpg");
  save_image(path, rgb.data(), number.width, number.height, 3);
  const std::string annotated = test::temp_path("7210-annotated.png");
  const CliRun r = run("read --json --annotate " + annotated + model() + path + " /nonexistent.png");
  EXPECT_NE(r.status, 0);
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["file"], path);
  EXPECT_EQ(lines[0]["text"], "7210");
  ASSERT_EQ(lines[0]["digits"].size(), 4u);
  int previous_x = -1;
  for (const auto& digit : lines[0]["digits"]) {
    // The box as over HTTP (lenet serve): {"x", "y", "w", "h"}.
    ASSERT_EQ(digit["box"].size(), 4u);
    for (const char* key : {"x", "y", "w", "h"}) ASSERT_TRUE(digit["box"].contains(key)) << digit;
    EXPECT_GT(digit["box"]["x"].get<int>(), previous_x);
    previous_x = digit["box"]["x"].get<int>();
    EXPECT_GT(digit["confidence"].get<double>(), 0.5);
  }
  EXPECT_TRUE(lines[1].contains("error"));
  // Several pictures: the annotated copies are numbered in argument order.
  EXPECT_TRUE(std::filesystem::exists(test::temp_path("7210-annotated-1.png")));
  const CliRun text = run("read" + model() + path);
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find(": 7210"), std::string::npos) << text.out;
}

TEST(CliPictures, VisualizeWritesTheInputMapsAndKernels) {
  const std::string good = seven("seven-v.png"), dir = test::temp_path("visualize");
  const CliRun r = run("visualize" + model() + good + " --out-dir " + dir);
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* f :
       {"input.png", "c1.png", "s2.png", "c3.png", "s4.png", "c1_kernels.png", "network.png"}) {
    const std::string path = dir + "/" + f;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_GT(load_grey_image(path).width, 20) << path;
  }
}

TEST(CliPictures, EvalReportWritesItsPicturesAndTable) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir();
  const std::string dir = test::temp_path("report"), log = test::temp_path("report-log.jsonl");
  {
    std::ofstream f(log);
    for (int e = 1; e <= 3; ++e)
      f << nlohmann::json({{"epoch", e},
                           {"train_loss", 1.0 / e},
                           {"train_accuracy", 0.9 + 0.02 * e},
                           {"test_loss", 0.8 / e},
                           {"test_accuracy", 0.92 + 0.02 * e}})
               .dump()
        << "\n";
  }
  const CliRun r =
      run("eval --json --report " + dir + " --log " + log + model() + "--data " + test::mnist_dir());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(nlohmann::json::accept(r.out)) << r.out;  // the report's messages do not disturb --json
  for (const char* f : {"confusion.png", "misclassified.png", "training_curves.png"})
    EXPECT_GT(load_grey_image(dir + "/" + f).width, 300) << f;
  std::ifstream csv(dir + "/per_class.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "class,precision,recall,support");
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  EXPECT_EQ(rows, 10);
}

}  // namespace
}  // namespace lenet
