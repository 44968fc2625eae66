// `lenet predict`: the digit in each picture (photo, scan or drawing), its confidence and the top 3, as
// text or one JSON object per line; a picture that cannot be read is reported and the others answered.
// Pictures are decoded and preprocessed on every core, and classified in batches, answers in input order.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "lenet/classify.h"
#include "lenet/image.h"
#include "lenet/lenet5_io.h"
#include "paths.h"
#include "precision.h"

namespace lenet::app {

namespace {

// The answer line for one picture: its network input, why it is not a digit (empty if it may be one), and
// the network's guess.
// min_confidence: the model's own floor on the top probability (lenet5_io.h), 0 for the logit rule.
std::string answer_line(const PredictOptions& o, const Lenet5& model, float min_confidence,
                        const std::string& file, std::string not_a_digit, const DigitGuess& g) {
  const bool rejecting = o.reject_below > 0;
  if (not_a_digit.empty() && !looks_like_digit(model, g, min_confidence))
    not_a_digit = "the network finds no digit in it (" +
                  (min_confidence > 0 ? "confidence " + std::to_string(g.confidence) +
                                            ", below the model's " + std::to_string(min_confidence)
                                      : "winning score " + std::to_string(g.score)) +
                  ")";
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
    return j.dump() + "\n";
  }
  const auto top = g.top3();
  const std::string answer = rejected ? "not a digit (" + not_a_digit + ")"
                             : unsure ? "unsure"
                                      : std::to_string(g.digit);
  char numbers[160];
  std::snprintf(numbers, sizeof numbers, "  (confidence %.1f%%; top 3: %d %.1f%%, %d %.1f%%, %d %.1f%%)\n",
                100 * g.confidence, top[0], 100 * g.probabilities[top[0]], top[1],
                100 * g.probabilities[top[1]], top[2], 100 * g.probabilities[top[2]]);
  return file + ": " + answer + numbers;
}

}  // namespace

void run_predict(const PredictOptions& o, std::FILE* out) {
  const std::vector<std::string> images = picture_list(o.images, o.files_from);
  const std::string model_path = resolve_model_path(o.model);
  const LoadedModel loaded = load_lenet5(model_path);
  const float min_confidence = min_digit_confidence(loaded.config, model_path);
  const std::optional<Int8Lenet5> int8 = int8_network(loaded, model_path, o.precision);
  answer_each_image(images, o.json, o.threads, out, [&]() -> AnswerBlock {
    auto classifier =
        std::make_shared<DigitClassifier>(make_classifier(loaded.model, int(kImageBlock), int8));
    return [&, classifier](std::size_t first, std::span<ImageAnswer> answers) {
      // Decoded and preprocessed one by one (a picture's error is its own), then classified as one batch.
      // preprocess_digit works on at most kMaxWorkingSide pixels a side: a JPEG is decoded reduced to
      // the smallest size still that large, which saves most of a phone photo's decoding.
      std::vector<MnistImage> inputs;
      std::vector<std::string> not_a_digit;
      std::vector<std::size_t> which;
      for (std::size_t k = 0; k < answers.size(); ++k) {
        try {
          std::string why;
          inputs.push_back(preprocess_digit(read_picture(images[first + k], kMaxWorkingSide), &why));
          not_a_digit.push_back(std::move(why));
          which.push_back(k);
        } catch (const std::exception& e) {
          answers[k].error = e.what();
        }
      }
      const std::vector<DigitGuess> guesses = classifier->classify(inputs);
      for (std::size_t j = 0; j < which.size(); ++j) {
        const std::size_t i = first + which[j];
        try {
          if (!o.show_input.empty())
            save_image(numbered_path(o.show_input, i, images.size()), inputs[j].data(), kMnistSide,
                       kMnistSide, 1);
          answers[which[j]].text =
              answer_line(o, loaded.model, min_confidence, images[i], not_a_digit[j], guesses[j]);
        } catch (const std::exception& e) {
          answers[which[j]].error = e.what();
        }
      }
    };
  });
}

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict",
                                     "Read the digit in each picture (PNG, JPEG, WebP, TIFF, GIF, BMP, "
                                     "PGM/PPM: photo, scan or drawing, any size)");
  cmd->add_option("IMAGE", o->images, "Pictures of one digit each ('-': stdin)");
  cmd->add_option("--files-from", o->files_from,
                  "Also the pictures listed in this file, one per line ('-': stdin)");
  cmd->add_option("--model", o->model, kModelHelp);
  cmd->add_flag("--json", o->json,
                "One JSON object per line: file, digit, confidence, probabilities (or file, error)");
  cmd->add_option("--reject-below", o->reject_below, "Answer 'unsure' when the confidence is below P (0..1)")
      ->check(CLI::Range(0.0f, 1.0f));
  add_precision_option(cmd, o->precision);
  cmd->add_option("--threads", o->threads, "Threads decoding and classifying pictures (0: all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--show-input", o->show_input,
                  "Write the 28x28 image the network saw to this PNG (OUT-1.png, OUT-2.png... for several)");
  cmd->callback([o] {
    if (o->images.empty() && o->files_from.empty()) throw CLI::RequiredError("IMAGE (or --files-from LIST)");
    run_predict(*o, stdout);
  });
}

}  // namespace lenet::app
