// --precision fp32|int8 for the commands that run the network: the option, and the int8 network built
// from the model file's stored activation scales (written by `lenet quantize`).
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "lenet/classify.h"
#include "lenet/lenet5_io.h"
#include "lenet/quantize.h"

namespace lenet::app {

void add_precision_option(CLI::App* cmd, std::string& precision);

// nullopt for fp32; for int8 the quantised network. Throws CommandError when the model cannot run in
// int8 (the 1998 net, or no stored scales: the message says how to add them).
std::optional<Int8Lenet5> int8_network(const LoadedModel& loaded, const std::string& model_path,
                                       const std::string& precision);

// A DigitClassifier of `batch` images for the precision asked: fp32, or `int8` (which must outlive it).
DigitClassifier make_classifier(const Lenet5& model, int batch, const std::optional<Int8Lenet5>& int8);

}  // namespace lenet::app
