// What the tests measure of their own process's memory (memory.h).
#include "helpers/memory.h"

#include <fstream>
#include <string>

namespace lenet::test {

long peak_rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace lenet::test
