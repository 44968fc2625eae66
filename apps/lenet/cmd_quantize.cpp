// `lenet quantize`: measures the int8 activation scales of a modern model on training images and writes
// the model again with them in its config, ready for --precision int8; prints fp32 and int8 accuracy.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/quantize.h"
#include "lenet/trainer.h"
#include "paths.h"

namespace lenet::app {

namespace {

struct QuantizeOptions {
  std::string model, out;
  std::string data;  // empty: the one default rule (paths.h)
  int images = kInt8CalibrationImages;
  bool check = true;
  int threads = 0;
  bool json = false;
  float not_a_digit_below = 0;  // > 0: also record this floor on the top probability (lenet5_io.h)
};

void run_quantize(QuantizeOptions o) {
  o.model = resolve_model_path(o.model);
  o.data = resolve_data_dir(o.data);
  LoadedModel loaded = load_lenet5(o.model);
  if (loaded.model.arch() != Arch::Lenet5)
    throw CommandError(o.model + ": int8 quantisation is for the modern lenet5, this model is " +
                       std::string(arch_name(loaded.model.arch())));
  // Calibration reads the TRAINING split only: the test set stays unseen for the accuracy below.
  const Dataset train_set = load_split(o.data, Split::Train);
  const Int8Scales scales = calibrate_int8(loaded.model, train_set, o.images);
  nlohmann::json config = loaded.config.is_object() ? loaded.config : nlohmann::json::object();
  config["int8"] = int8_scales_json(scales);
  if (o.not_a_digit_below > 0) config["not_a_digit"] = {{"min_confidence", o.not_a_digit_below}};
  save_lenet5(o.out, loaded.model, config);
  nlohmann::json j = {{"model", o.model}, {"out", o.out}, {"scales", int8_scales_json(scales)}};
  if (!o.json)
    std::printf("%s: int8 scales C1 %.4g, C3 %.4g, C5 %.4g, F6 %.4g from %d training images -> %s\n",
                o.model.c_str(), scales.c1, scales.c3, scales.c5, scales.f6, scales.calibration_images,
                o.out.c_str());
  if (o.check) {
    const Dataset test_set = load_split(o.data, Split::Test);
    const EvalResult fp32 = evaluate(loaded.model, test_set, o.threads);
    const EvalResult int8 = evaluate_int8(Int8Lenet5(loaded.model, scales), test_set, o.threads);
    j["fp32_accuracy"] = fp32.accuracy;
    j["int8_accuracy"] = int8.accuracy;
    if (!o.json)
      std::printf("test accuracy: fp32 %.2f%%, int8 %.2f%% (%+.2f points)\n", 100 * fp32.accuracy,
                  100 * int8.accuracy, 100 * (int8.accuracy - fp32.accuracy));
  }
  if (o.json) std::printf("%s\n", j.dump().c_str());
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Measure int8 activation scales on training images and save the model with them");
  cmd->add_option("--model", o->model, kModelHelp);
  cmd->add_option("--out", o->out, "Where to write the model with its int8 scales")->required();
  cmd->add_option("--data", o->data, kDataHelp);
  cmd->add_option("--images", o->images, "Training images to calibrate on")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o->threads, "Threads for the accuracy check (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--not-a-digit-below", o->not_a_digit_below,
                  "Also record in the model that a top probability below T means 'not a digit', for a model "
                  "trained with --outliers (T chosen on the dev set, docs/reading-pictures.md; 0: none, the "
                  "winning logit's floor)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  cmd->add_flag(
      "--no-check", [o](std::int64_t) { o->check = false; }, "Skip the fp32/int8 accuracy on the test set");
  cmd->add_flag(
      "--json", o->json,
      "Print one JSON object: model, out, scales, and unless --no-check fp32_accuracy, int8_accuracy");
  cmd->callback([o] { run_quantize(*o); });
}

}  // namespace lenet::app
