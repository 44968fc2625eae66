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

// The floor on the top probability under which a model trained with outliers answers "not a digit"
// (classify.h's looks_like_digit): its config's "not_a_digit": {"min_confidence": T}, 0 < T < 1, written by
// `lenet quantize --not-a-digit-below T`; 0 when the config has none. Throws ModelFileError naming the file
// for a value that is not a number in (0, 1).
float min_digit_confidence(const nlohmann::json& config, const std::string& name_for_errors);

// `config` is stored as is (training recipe and results); the architecture is recorded separately.
void save_lenet5(const std::string& path, const Lenet5& model, const nlohmann::json& config);
// Throws ModelFileError naming the file: unknown architecture, missing, extra or misshapen tensors.
LoadedModel load_lenet5(const std::string& path);
// The same checks on a model file already parsed (e.g. by parse_model); name_for_errors stands for the path.
LoadedModel lenet5_from_model_file(ModelFile file, const std::string& name_for_errors);

}  // namespace lenet
