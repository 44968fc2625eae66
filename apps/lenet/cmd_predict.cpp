// `lenet predict`: the digit in each picture (photo, scan or drawing), its confidence and the top 3, as
// text or one JSON object per line; a picture that cannot be read is reported and the others answered.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/lenet5_io.h"
#include "paths.h"

namespace lenet::app {

namespace {

struct PredictOptions {
  std::string model;
  std::vector<std::string> images;
  bool json = false;
  float reject_below = 0;
  std::string show_input;
};

void run_predict(const PredictOptions& o) {
  const std::string model_path = resolve_model_path(o.model);
  const LoadedModel loaded = load_lenet5(model_path);
  DigitClassifier classifier(loaded.model, 1);
  const bool rejecting = o.reject_below > 0;
  answer_each_image(o.images, o.json, [&](std::size_t i, const std::string& file) {
    std::string not_a_digit;
    const MnistImage input = preprocess_digit(read_picture(file), &not_a_digit);
    const DigitGuess g = classifier.classify(input);
    if (!o.show_input.empty())
      save_image(numbered_path(o.show_input, i, o.images.size()), input.data(), kMnistSide, kMnistSide, 1);
    if (not_a_digit.empty() && !looks_like_digit(classifier.model(), g))
      not_a_digit = "the network finds no digit in it (winning score " + std::to_string(g.score) + ")";
    const bool rejected = !not_a_digit.empty();
    const bool unsure = !rejected && rejecting && g.confidence < o.reject_below;
    if (o.json) {
      nlohmann::ordered_json j = {
          {"file", file},
          {"digit", unsure || rejected ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(g.digit)},
          {"confidence", g.confidence},
          {"score", g.score},
          {"probabilities", g.probabilities}};
      j["not_digit"] = rejected;
      if (rejected) j["why"] = not_a_digit;
      if (rejecting) j["unsure"] = unsure;
      std::printf("%s\n", j.dump().c_str());
    } else {
      const auto top = g.top3();
      std::string answer = rejected ? "not a digit (" + not_a_digit + ")"
                           : unsure ? "unsure"
                                    : std::to_string(g.digit);
      std::printf("%s: %s  (confidence %.1f%%; top 3: %d %.1f%%, %d %.1f%%, %d %.1f%%)\n", file.c_str(),
                  answer.c_str(), 100 * g.confidence, top[0], 100 * g.probabilities[top[0]], top[1],
                  100 * g.probabilities[top[1]], top[2], 100 * g.probabilities[top[2]]);
    }
  });
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Read the digit in each picture (PNG, JPEG, BMP, PGM/PPM: photo, scan or drawing, any size)");
  cmd->add_option("IMAGE", o->images, "Pictures of one digit each")->required();
  cmd->add_option("--model", o->model,
                  "Model file (default: the shipped models/lenet5.bin, found beside the program)");
  cmd->add_flag("--json", o->json,
                "One JSON object per line: file, digit, confidence, probabilities (or file, error)");
  cmd->add_option("--reject-below", o->reject_below, "Answer 'unsure' when the confidence is below P (0..1)")
      ->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--show-input", o->show_input,
                  "Write the 28x28 image the network saw to this PNG (OUT-1.png, OUT-2.png... for several)");
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace lenet::app
