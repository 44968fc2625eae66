// `lenet visualize`: PNGs of what LeNet-5 sees of a picture: the preprocessed input, the C1, S2, C3 and S4
// feature maps, the C1 kernels, and all of them together with the class probabilities.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "lenet/classify.h"
#include "lenet/lenet5_io.h"
#include "lenet/report.h"
#include "paths.h"

namespace lenet::app {

namespace {

struct VisualizeOptions {
  std::string model;
  std::string image;
  std::string out_dir;
  bool json = false;
};

void run_visualize(const VisualizeOptions& o) {
  const LoadedModel loaded = load_lenet5(resolve_model_path(o.model));
  const Lenet5& model = loaded.model;
  const MnistImage input = preprocess_digit(load_grey_image(o.image));
  DigitClassifier classifier(model, 1);
  const DigitGuess g = classifier.classify(input);
  const Activations& a = classifier.activations();
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) throw CommandError("cannot create directory " + o.out_dir + ": " + ec.message());
  const bool paper = model.arch() == Arch::Lenet5_1998;
  const std::string dir = o.out_dir + "/";
  std::vector<std::string> written;
  auto save = [&](const char* name, const Canvas& c) {
    c.save(dir + name);
    written.push_back(dir + name);
    if (!o.json) std::printf("wrote %s%s\n", dir.c_str(), name);
  };
  Canvas in(kMnistSide * 8, kMnistSide * 8);
  in.grey(0, 0, input.data(), kMnistSide, kMnistSide, 8, true);
  save("input.png", in);
  save("c1.png", feature_maps_picture(a.c1.data(), 6, 28, 28, 4, 6, paper));
  save("s2.png", feature_maps_picture(a.s2.data(), 6, 14, 14, 8, 6, paper));
  save("c3.png", feature_maps_picture(a.c3.data(), 16, 10, 10, 8, 8, paper));
  save("s4.png", feature_maps_picture(a.s4.data(), 16, 5, 5, 16, 8, paper));
  save("c1_kernels.png", kernels_picture(model, 16));
  save("network.png", network_picture(model, a, input, g.probabilities));
  if (o.json) {
    const nlohmann::ordered_json j = {{"file", o.image},
                                      {"digit", g.digit},
                                      {"confidence", g.confidence},
                                      {"probabilities", g.probabilities},
                                      {"wrote", written}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s: %d (confidence %.1f%%)\n", o.image.c_str(), g.digit, 100 * g.confidence);
  }
}

}  // namespace

void add_visualize_command(CLI::App& app) {
  auto o = std::make_shared<VisualizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "visualize", "PNGs of what the network sees: preprocessed input, C1 S2 C3 S4 feature maps, C1 kernels");
  cmd->add_option("IMAGE", o->image, "A picture of one digit")->required();
  cmd->add_option("--model", o->model, kModelHelp);
  // --out is a file for every command; a directory is --out-dir (docs/cli.md).
  cmd->add_option("--out-dir", o->out_dir, "Directory for the PNGs (created if missing)")->required();
  cmd->add_flag("--json", o->json,
                "Print one JSON object: file, digit, confidence, probabilities, wrote (the PNGs' paths)");
  cmd->callback([o] { run_visualize(*o); });
}

}  // namespace lenet::app
