// `lenet info`: the layers of an architecture or a saved model, with output shapes, trainable
// parameters and multiply-adds per image, as a table or JSON.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "lenet/lenet5_io.h"
#include "paths.h"

namespace lenet::app {

namespace {

struct InfoOptions {
  std::string arch;
  std::string model;
  bool json = false;
};

void run_info(InfoOptions o) {
  if (!o.arch.empty() && !o.model.empty()) throw UsageError("give --arch or --model, not both");
  if (o.arch.empty()) o.model = resolve_model_path(o.model);
  nlohmann::json config;
  std::optional<Lenet5> model;
  if (!o.model.empty()) {
    LoadedModel loaded = load_lenet5(o.model);
    config = loaded.config;
    model.emplace(std::move(loaded.model));
  } else {
    const auto arch = parse_arch(o.arch);
    if (!arch) throw UsageError("--arch must be lenet5 or lenet5-1998, not '" + o.arch + "'");
    model.emplace(*arch);
  }
  const auto layers = model->layers();
  std::size_t params = 0, macs = 0;
  for (const auto& l : layers) {
    params += l.parameters;
    macs += l.connections;
  }
  if (o.json) {
    nlohmann::json j;
    j["arch"] = std::string(arch_name(model->arch()));
    j["input"] = {1, kInputSide, kInputSide};
    for (const auto& l : layers)
      j["layers"].push_back({{"name", l.name},
                             {"description", l.description},
                             {"output", l.output},
                             {"parameters", l.parameters},
                             {"multiply_adds", l.connections}});
    j["parameters"] = params;
    j["multiply_adds"] = macs;
    if (!o.model.empty()) j["config"] = config;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s: input 1@%dx%d\n\n", std::string(arch_name(model->arch())).c_str(), kInputSide, kInputSide);
  std::printf("%-7s %-12s %10s %13s  %s\n", "layer", "output", "parameters", "multiply-adds", "what");
  for (const auto& l : layers) {
    const std::string shape =
        std::to_string(l.output[0]) + "@" + std::to_string(l.output[1]) + "x" + std::to_string(l.output[2]);
    std::printf("%-7s %-12s %10zu %13zu  %s\n", l.name.c_str(), shape.c_str(), l.parameters, l.connections,
                l.description.c_str());
  }
  std::printf("%-7s %-12s %10zu %13zu\n", "total", "", params, macs);
  if (!o.model.empty()) std::printf("\nrecorded with the model: %s\n", config.dump().c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show the layers, parameters and multiply-adds of a network");
  cmd->add_option("--arch", o->arch, "lenet5 or lenet5-1998");
  cmd->add_option("--model", o->model, kModelHelp);
  cmd->add_flag("--json", o->json, "Print JSON: layers [{name, parameters, ...}] and total parameters");
  cmd->callback([o] { run_info(*o); });
}

}  // namespace lenet::app
