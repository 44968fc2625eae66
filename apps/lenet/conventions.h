// The conventions every lenet command follows (docs/cli.md): exit statuses, "did you mean", the one
// error style, -q/--quiet, and when escape codes may be written.
#pragma once
#include <string>
#include <vector>

namespace lenet::app {

// Exit statuses, documented in `lenet --help`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSigint = 130;  // 128 + SIGINT, as a shell reports a process killed by Ctrl-C

// The candidate closest to `typed` by edit distance, if close enough to be a likely typo; else "".
std::string closest_match(const std::string& typed, const std::vector<std::string>& candidates);

// -q/--quiet: no progress or informational lines on stderr (errors, warnings and results remain).
void set_quiet(bool quiet);
bool quiet();
// An informational line on stderr (printf-style, newline added), unless --quiet.
[[gnu::format(printf, 1, 2)]] void note(const char* format, ...);

// Whether stderr may receive escape codes (a progress bar redrawn in place): it is a terminal, TERM is
// set and is not "dumb", and not --quiet.
bool stderr_is_live_terminal();

}  // namespace lenet::app
