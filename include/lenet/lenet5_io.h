// Saving and loading a Lenet5 through the versioned model file: the architecture name picks the layout,
// and every tensor must be present with exactly the shape that architecture expects.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "lenet/lenet5.h"
#include "lenet/model_file.h"

namespace lenet {

struct LoadedModel {
  Lenet5 model;
  nlohmann::json config;  // what the trainer recorded: recipe, seed, accuracy, ...
};

// `config` is stored as is (training recipe and results); the architecture is recorded separately.
void save_lenet5(const std::string& path, const Lenet5& model, const nlohmann::json& config);
// Throws ModelFileError naming the file: unknown architecture, missing, extra or misshapen tensors.
LoadedModel load_lenet5(const std::string& path);
// The same checks on a model file already parsed (e.g. by parse_model); name_for_errors stands for the path.
LoadedModel lenet5_from_model_file(ModelFile file, const std::string& name_for_errors);

}  // namespace lenet
