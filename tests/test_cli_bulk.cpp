// `lenet predict` and `lenet read` over many pictures on several threads: the answers are those of one
// thread, in input order, a broken file in the middle is reported in its place and the others answered.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "lenet/decode.h"
#include "lenet/idx.h"

namespace lenet {
namespace {

// `count` training digits (never test ones) as 28x28 PNGs, dark on white, and a broken file at `broken`;
// returns the list file naming them in order.
std::string write_pictures(int count, int broken) {
  const Dataset train = load_split(test::mnist_dir(), Split::Train);
  const std::string list = test::temp_path("bulk-list.txt");
  std::ofstream names(list);
  for (int i = 0; i < count; ++i) {
    const std::string path = test::temp_path("bulk-" + std::to_string(i) + ".png");
    if (i == broken) {
      std::ofstream(path) << "not a picture";
    } else {
      std::vector<std::uint8_t> paper(std::size_t(train.rows) * std::size_t(train.cols));
      const std::uint8_t* digit = train.image(1000 + i);
      for (std::size_t p = 0; p < paper.size(); ++p) paper[p] = std::uint8_t(255 - digit[p]);
      save_image(path, paper.data(), train.cols, train.rows, 1);
    }
    names << path << "\n";
  }
  return list;
}

std::vector<nlohmann::json> lines_of(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(CliBulk, PredictOnManyThreadsAnswersAsOneThreadInInputOrder) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const int count = test::sanitizer_run() ? 40 : 150, broken = 37;
  const std::string list = write_pictures(count, broken);
  auto predict = [&](const std::string& args) {
    return test::run_shell(test::binary_path("lenet") + " predict --json --files-from " + list + " " + args +
                           " 2>/dev/null");
  };
  const test::ShellRun one = predict("--threads 1"), three = predict("--threads 3");
  EXPECT_EQ(one.status, 1) << "a broken file makes the exit status 1";
  EXPECT_EQ(three.status, 1);
  EXPECT_EQ(one.out, three.out) << "the answers depend on the number of threads";
  const std::vector<nlohmann::json> lines = lines_of(three.out);
  ASSERT_EQ(int(lines.size()), count);
  const Dataset train = load_split(test::mnist_dir(), Split::Train);
  int right = 0;
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(lines[std::size_t(i)].at("file"), test::temp_path("bulk-" + std::to_string(i) + ".png"));
    if (i == broken) {
      EXPECT_TRUE(lines[std::size_t(i)].contains("error")) << lines[std::size_t(i)];
      continue;
    }
    const nlohmann::json& digit = lines[std::size_t(i)].at("digit");
    right += digit.is_number() && digit.get<int>() == train.labels[std::size_t(1000 + i)];
  }
  EXPECT_GE(right, (count - 1) * 95 / 100) << "training digits read back";
  // The same pictures as arguments, on all cores, in the same order.
  std::string args;
  for (int i = 0; i < 5; ++i) {
    args += ' ';
    args += test::temp_path("bulk-" + std::to_string(i) + ".png");
  }
  const test::ShellRun few = test::run_shell(test::binary_path("lenet") + " predict --json" + args);
  ASSERT_EQ(few.status, 0) << few.out;
  const std::vector<nlohmann::json> few_lines = lines_of(few.out);
  ASSERT_EQ(few_lines.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(few_lines[i], lines[i]);
}

TEST(CliBulk, ReadOnManyThreadsAnswersAsOneThread) {
  if (!test::mnist_available()) GTEST_SKIP() << "MNIST not in " << test::mnist_dir() << " (make data)";
  const std::string list = write_pictures(test::sanitizer_run() ? 20 : 60, 5);
  auto read = [&](const std::string& args) {
    return test::run_shell(test::binary_path("lenet") + " read --json --files-from " + list + " " + args +
                           " 2>/dev/null");
  };
  const test::ShellRun one = read("--threads 1"), two = read("--threads 2");
  EXPECT_EQ(one.status, 1);
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(lines_of(two.out).size(), std::size_t(test::sanitizer_run() ? 20 : 60));
}

TEST(CliBulk, NoPicturesAndBadListsAreErrors) {
  const test::ShellRun none = test::run_shell(test::binary_path("lenet") + " predict 2>&1");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.out.find("IMAGE (or --files-from LIST) is required"), std::string::npos) << none.out;
  const std::string empty = test::temp_path("bulk-empty-list");
  std::ofstream(empty) << "\n\n";
  const test::ShellRun nothing =
      test::run_shell(test::binary_path("lenet") + " predict --files-from " + empty + " 2>&1");
  EXPECT_EQ(nothing.status, 1);
  EXPECT_NE(nothing.out.find("lists no pictures"), std::string::npos) << nothing.out;
  const test::ShellRun missing = test::run_shell(test::binary_path("lenet") + " predict --files-from " +
                                                 test::temp_path("no-such-list") + " 2>&1");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("no-such-list"), std::string::npos) << missing.out;
  const test::ShellRun both =
      test::run_shell("echo x | " + test::binary_path("lenet") + " predict --files-from - - 2>&1");
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.out.find("stdin"), std::string::npos) << both.out;
}

}  // namespace
}  // namespace lenet
