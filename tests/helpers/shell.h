// Running a command line through the shell, for the tests of the lenet program.
#pragma once
#include <string>

namespace lenet::test {

struct ShellRun {
  int status = -1;  // the exit status; 128 if the command did not exit (a signal)
  std::string out;  // what it wrote to stdout (stderr too, if the command line sends it there)
};

// Runs `command` with /bin/sh and reads its stdout to the end.
ShellRun run_shell(const std::string& command);

}  // namespace lenet::test
