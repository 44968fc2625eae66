// `lenet export`: a saved model written in another format, for other runtimes; today ONNX (opset 13),
// which onnxruntime, OpenCV's DNN module and PyTorch's tools read.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.h"
#include "lenet/lenet5_io.h"
#include "lenet/onnx_export.h"
#include "paths.h"

namespace lenet::app {

namespace {

struct ExportOptions {
  std::string model;
  std::string format = "onnx";
  std::string out;
};

void run_export(const ExportOptions& o) {
  const std::string model_path = resolve_model_path(o.model);
  std::error_code ec;
  if (std::filesystem::equivalent(model_path, o.out, ec))
    throw CommandError("--out " + o.out + " is the model file itself; refusing to overwrite it");
  const LoadedModel loaded = load_lenet5(model_path);
  save_onnx(o.out, loaded.model, loaded.config);
  std::fprintf(
      stderr, "wrote %s: %s as ONNX (opset %lld), input '%s' (N, 1, %d, %d), outputs '%s' and '%s' (N, %d)\n",
      o.out.c_str(), std::string(arch_name(loaded.model.arch())).c_str(), static_cast<long long>(kOnnxOpset),
      OnnxInterface::kInput, kInputSide, kInputSide, OnnxInterface::kScores, OnnxInterface::kProbabilities,
      kClasses);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a saved model in another format (ONNX)");
  cmd->add_option("--model", o->model, "Model file written by lenet train (default: the shipped model)");
  cmd->add_option("--format", o->format, "Output format: onnx")
      ->capture_default_str()
      ->check(CLI::IsMember({"onnx"}));
  cmd->add_option("--out", o->out, "The file to write (replaced atomically if it exists)")->required();
  cmd->callback([o] { run_export(*o); });
}

}  // namespace lenet::app
