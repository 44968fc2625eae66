// The conventions every lenet command follows (docs/cli.md): exit statuses, "did you mean", the one
// error style.
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

}  // namespace lenet::app
