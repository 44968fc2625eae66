// Edit distance for "did you mean"; --quiet; whether stderr is a terminal that takes escape codes.
#include "conventions.h"

#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lenet::app {

namespace {

bool g_quiet = false;

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_match(const std::string& typed, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(typed, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  // A typo: at most a third of the word wrong (two letters swapped count 2), and at least one letter right.
  const std::size_t allowed = std::max<std::size_t>(2, typed.size() / 3);
  return best_distance <= allowed && best_distance < typed.size() ? best : "";
}

void set_quiet(bool quiet) { g_quiet = quiet; }

bool quiet() { return g_quiet; }

void note(const char* format, ...) {
  if (g_quiet) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}

bool stderr_is_live_terminal() {
  const char* term = std::getenv("TERM");
  return !g_quiet && ::isatty(STDERR_FILENO) && term && *term && std::strcmp(term, "dumb") != 0;
}

}  // namespace lenet::app
