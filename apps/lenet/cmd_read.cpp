// `lenet read`: the number written in each picture as a row of digits (postcode, year, meter reading), as
// text or one JSON object per line with each digit's confidence and box; errors as for predict.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "lenet/canvas.h"
#include "lenet/lenet5_io.h"
#include "lenet/segment.h"
#include "paths.h"
#include "precision.h"

namespace lenet::app {

namespace {

struct ReadCommandOptions {
  std::string model;
  std::vector<std::string> images;
  bool json = false;
  float reject_below = 0;
  bool no_separators = false;
  std::string annotate;
  std::string precision = "fp32";
  std::string files_from;
  int threads = 0;
};

// The picture in grey with each digit's box and reading drawn over it, for checking the segmentation.
void save_annotated(const std::string& path, const GreyImage& image, const Reading& r) {
  const int scale = image.width < 400 ? 2 : 1;
  Canvas canvas(image.width * scale, image.height * scale + 24);
  canvas.grey(0, 24, image.pixels.data(), image.width, image.height, scale, false);
  canvas.text(4, 4, "READ: " + r.text, kBlack, 2);
  const Color box_color{214, 40, 40};
  for (const ReadDigit& d : r.digits) {
    const int x = d.box.x * scale, y = 24 + d.box.y * scale, w = d.box.w * scale, h = d.box.h * scale;
    canvas.frame(x, y, w, h, box_color);
    canvas.frame(x + 1, y + 1, w - 2, h - 2, box_color);
    canvas.text(x + 2, std::max(24, y - 2 * kCellHeight), std::to_string(d.guess.digit), box_color, 2);
  }
  canvas.save(path);
}

// A box as `lenet serve` gives it over HTTP: {"x", "y", "w", "h"} in pixels of the picture.
nlohmann::ordered_json box_json(const Box& b) { return {{"x", b.x}, {"y", b.y}, {"w", b.w}, {"h", b.h}}; }

// The answer line of one picture.
std::string read_answer(const ReadCommandOptions& o, DigitClassifier& classifier, const ReadOptions& ro,
                        std::size_t i, std::size_t count, const std::string& file) {
  const GreyImage image = read_picture(file);
  const Reading r = read_number(classifier, image, ro);
  if (!o.annotate.empty()) save_annotated(numbered_path(o.annotate, i, count), image, r);
  if (o.json) {
    // Every element of `digits` in reading order, saying what it is: a digit or a separator.
    nlohmann::ordered_json digits = nlohmann::ordered_json::array();
    std::size_t next = 0;
    for (std::size_t k = 0; k <= r.digits.size(); ++k) {
      for (; next < r.separators.size() && r.separators[next].before == int(k); ++next) {
        const ReadSeparator& s = r.separators[next];
        digits.push_back(
            {{"kind", "separator"}, {"symbol", std::string(1, s.symbol)}, {"box", box_json(s.box)}});
      }
      if (k == r.digits.size()) break;
      const ReadDigit& d = r.digits[k];
      digits.push_back({{"kind", "digit"},
                        {"digit", d.guess.digit},
                        {"confidence", d.guess.confidence},
                        {"box", box_json(d.box)}});
    }
    return nlohmann::ordered_json({{"file", file}, {"text", r.text}, {"digits", digits}}).dump() + "\n";
  } else {
    float lowest = 1;
    for (const ReadDigit& d : r.digits) lowest = std::min(lowest, d.guess.confidence);
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, "  (%zu digits, lowest confidence %.1f%%)\n", r.digits.size(),
                  100 * lowest);
    return file + ": " + r.text + numbers;
  }
}

void run_read(const ReadCommandOptions& o) {
  const std::vector<std::string> images = picture_list(o.images, o.files_from);
  const std::string model_path = resolve_model_path(o.model);
  const LoadedModel loaded = load_lenet5(model_path);
  const std::optional<Int8Lenet5> int8 = int8_network(loaded, model_path, o.precision);
  ReadOptions ro;
  ro.reject_below = o.reject_below;
  ro.separators = !o.no_separators;
  answer_each_image(images, o.json, o.threads, stdout, [&]() -> AnswerBlock {
    auto classifier = std::make_shared<DigitClassifier>(make_classifier(loaded.model, 32, int8));
    return [&, classifier](std::size_t first, std::span<ImageAnswer> answers) {
      for (std::size_t k = 0; k < answers.size(); ++k) {
        try {
          answers[k].text = read_answer(o, *classifier, ro, first + k, images.size(), images[first + k]);
        } catch (const std::exception& e) {
          answers[k].error = e.what();
        }
      }
    };
  });
}

}  // namespace

void add_read_command(CLI::App& app) {
  auto o = std::make_shared<ReadCommandOptions>();
  CLI::App* cmd = app.add_subcommand("read", "Read a number written as a row of digits in each picture");
  cmd->add_option("IMAGE", o->images, "Pictures of one number each ('-': stdin)");
  cmd->add_option("--files-from", o->files_from,
                  "Also the pictures listed in this file, one per line ('-': stdin)");
  cmd->add_option("--threads", o->threads, "Threads reading pictures (0: all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  add_precision_option(cmd, o->precision);
  cmd->add_option("--model", o->model, kModelHelp);
  cmd->add_flag(
      "--json", o->json,
      "One JSON object per line: file, text, digits [{kind: digit, digit, confidence, box {x, y, w, "
      "h}} or {kind: separator, symbol, box}] (or file, error)");
  cmd->add_flag("--no-separators", o->no_separators,
                "Digits only: leave out the dashes, points, commas and spaces written between them");
  cmd->add_option("--reject-below", o->reject_below,
                  "Write '?' for a digit whose confidence is below P (0..1)")
      ->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option(
      "--annotate", o->annotate,
      "Write the picture with each digit's box and reading to this PNG (OUT-1.png... for several)");
  cmd->callback([o] {
    if (o->images.empty() && o->files_from.empty()) throw CLI::RequiredError("IMAGE (or --files-from LIST)");
    run_read(*o);
  });
}

}  // namespace lenet::app
