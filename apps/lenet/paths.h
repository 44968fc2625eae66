// Paths the commands use. One rule for what a command needs and was not told (docs/cli.md): the option;
// else the environment ($LENET_MODEL, $LENET_DATA); else the working directory (models/lenet5.bin,
// data/mnist); else beside the program itself, found through /proc/self/exe (the source tree from build/,
// or an installation's share/lenet/), so that `lenet predict digit.png` works from anywhere.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace lenet::app {

inline constexpr const char* kDefaultModelFile = "lenet5.bin";

// In order: models/lenet5.bin in the working directory, <dir of the program>/../models/lenet5.bin (the
// source tree, from build/), <dir>/../share/lenet/models/lenet5.bin (an installation), <dir>/models/.
std::vector<std::string> default_model_candidates();

// `given` if not empty; else $LENET_MODEL if set; else the first candidate that exists. Throws
// CommandError listing the places tried.
std::string resolve_model_path(const std::string& given);

// The same rule for the idx data directory: `given`; $LENET_DATA; data/mnist in the working directory;
// <dir>/../data/mnist; <dir>/../share/lenet/data/mnist. Throws CommandError listing the places tried.
std::string resolve_data_dir(const std::string& given);

// Help text of --model and --data, saying the rule.
inline constexpr const char* kModelHelp =
    "Model file (default: $LENET_MODEL, else models/lenet5.bin here, else the shipped model beside the "
    "program)";
inline constexpr const char* kDataHelp =
    "Directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (default: $LENET_DATA, else data/mnist "
    "here, else beside the program)";

// `path` itself for a single input; for several, path with "-1", "-2"... (1-based) before its extension.
std::string numbered_path(const std::string& path, std::size_t index, std::size_t count);

// `path` if nothing is there; else path with "-2", "-3"... before its extension, the first that is free.
std::string free_path(const std::string& path);

}  // namespace lenet::app
