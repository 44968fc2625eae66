// The conventions of the lenet program: exit statuses (documented in --help), "did you mean" for a
// mistyped command or option, one error style, `lenet` in the usage line, --version.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "helpers/paths.h"
#include "helpers/shell.h"
#include "lenet/version.h"

namespace lenet {
namespace {

using test::ShellRun;

std::string lenet() { return test::binary_path("lenet"); }

// stdout and stderr together.
ShellRun run(const std::string& args) { return test::run_shell(lenet() + " " + args + " 2>&1"); }
// stderr only (stdout dropped).
ShellRun run_stderr(const std::string& args) {
  return test::run_shell(lenet() + " " + args + " 2>&1 >/dev/null");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every line of an error message is in the one style: "lenet: error: ..." (the usage hint that follows
// says where to look).
void expect_error_style(const std::string& err) {
  std::istringstream lines(err);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line)) << "no message";
  EXPECT_EQ(line.rfind("lenet: error: ", 0), 0u) << err;
  while (std::getline(lines, line))
    EXPECT_TRUE(line.rfind("lenet: error: ", 0) == 0 || line.rfind("Run 'lenet", 0) == 0) << err;
}

TEST(CliConventions, VersionPrintsTheProjectVersion) {
  const ShellRun r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, std::string("lenet ") + LENET_VERSION_STRING + "\n");
}

TEST(CliConventions, HelpShowsLenetInTheUsageLineAndDocumentsExitStatuses) {
  const ShellRun top = run("--help");
  EXPECT_EQ(top.status, 0);
  EXPECT_TRUE(contains(top.out, "Usage: lenet ")) << top.out;
  EXPECT_FALSE(contains(top.out, lenet())) << "the usage line shows the binary's path: " << top.out;
  for (const char* part : {"0 success", "1 failure", "2 usage error", "130 interrupted"})
    EXPECT_TRUE(contains(top.out, part)) << part;
  const ShellRun sub = run("predict --help");
  EXPECT_EQ(sub.status, 0);
  EXPECT_TRUE(contains(sub.out, "Usage: lenet predict")) << sub.out;
}

TEST(CliConventions, UsageErrorsExit2InTheOneStyle) {
  for (const char* args :
       {"", "tarin", "predict", "predict --modle x.bin y.png", "train --epochs many", "--no-such-option"}) {
    const ShellRun r = run_stderr(args);
    EXPECT_EQ(r.status, 2) << "lenet " << args << ": " << r.out;
    expect_error_style(r.out);
  }
}

TEST(CliConventions, MistypedCommandsAndOptionsGetASuggestion) {
  ShellRun r = run_stderr("tarin");
  EXPECT_TRUE(contains(r.out, "unknown command 'tarin'; did you mean 'train'?")) << r.out;
  r = run_stderr("predcit x.png");
  EXPECT_TRUE(contains(r.out, "did you mean 'predict'?")) << r.out;
  r = run_stderr("predict --modle m.bin x.png");
  EXPECT_TRUE(contains(r.out, "unknown option --modle for 'lenet predict'; did you mean --model?")) << r.out;
  r = run_stderr("train --epoch 3");
  EXPECT_TRUE(contains(r.out, "did you mean --epochs?")) << r.out;
  r = run_stderr("xyzzy");  // nothing close: no wild guess
  EXPECT_TRUE(contains(r.out, "unknown command 'xyzzy'")) << r.out;
  EXPECT_FALSE(contains(r.out, "did you mean")) << r.out;
}

TEST(CliConventions, FailuresExit1InTheOneStyle) {
  const ShellRun r = run_stderr("predict /nonexistent/digit.png");
  EXPECT_EQ(r.status, 1) << r.out;
  expect_error_style(r.out);
  EXPECT_TRUE(contains(r.out, "/nonexistent/digit.png")) << r.out;
  const ShellRun model = run_stderr("info --model /nonexistent/model.bin");
  EXPECT_EQ(model.status, 1) << model.out;
  expect_error_style(model.out);
}

}  // namespace
}  // namespace lenet
