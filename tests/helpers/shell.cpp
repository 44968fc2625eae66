#include "helpers/shell.h"

#include <sys/wait.h>

#include <cstdio>

namespace lenet::test {

ShellRun run_shell(const std::string& command) {
  ShellRun r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128;
  return r;
}

}  // namespace lenet::test
