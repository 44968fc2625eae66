// --precision for predict, read, serve, eval and bench: fp32 runs the model as trained; int8 runs its
// quantised form with the activation scales that `lenet quantize` stored in the model file.
#include "precision.h"

#include "commands.h"
#include "lenet/errors.h"

namespace lenet::app {

void add_precision_option(CLI::App* cmd, std::string& precision) {
  cmd->add_option("--precision", precision,
                  "fp32, or int8: the quantised network (needs scales stored by lenet quantize)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "int8"}));
}

std::optional<Int8Lenet5> int8_network(const LoadedModel& loaded, const std::string& model_path,
                                       const std::string& precision) {
  if (precision != "int8") return std::nullopt;
  try {
    return lenet::int8_network(loaded, model_path);
  } catch (const ModelFileError& e) {
    throw CommandError(e.what());
  }
}

DigitClassifier make_classifier(const Lenet5& model, int batch, const std::optional<Int8Lenet5>& int8) {
  if (!int8) return DigitClassifier(model, batch);
  return int8_classifier(model, batch, *int8);
}

}  // namespace lenet::app
