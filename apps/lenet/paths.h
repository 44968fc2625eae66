// Paths the commands use: the shipped model, found relative to the lenet program itself (not the working
// directory) so that `lenet predict digit.png` works from anywhere, and numbered output files.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace lenet::app {

inline constexpr const char* kDefaultModelFile = "lenet5.bin";

// In order: <dir of the program>/../models/lenet5.bin (the source tree, from build/),
// <dir>/../share/lenet/models/lenet5.bin (an installation), <dir>/models/lenet5.bin.
std::vector<std::string> default_model_candidates();

// `given` if not empty; else $LENET_MODEL if set; else the first candidate that exists. Throws
// CommandError listing the places tried.
std::string resolve_model_path(const std::string& given);

// `path` itself for a single input; for several, path with "-1", "-2"... (1-based) before its extension.
std::string numbered_path(const std::string& path, std::size_t index, std::size_t count);

}  // namespace lenet::app
