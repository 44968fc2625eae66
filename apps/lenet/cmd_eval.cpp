// `lenet eval`: accuracy, per-class precision and recall and the confusion matrix of a saved model
// on an idx test set, as a table or as one JSON object.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/trainer.h"

namespace lenet::app {

namespace {

struct EvalOptions {
  std::string model;
  std::string data = "data/mnist";
  std::string split = "test";
  int threads = 0;
  bool json = false;
};

void run_eval(const EvalOptions& o) {
  const LoadedModel loaded = load_lenet5(o.model);
  if (o.split != "test" && o.split != "train") throw CommandError("--split must be test or train");
  const Dataset data = load_split(o.data, o.split == "test" ? Split::Test : Split::Train);
  const EvalResult r = evaluate(loaded.model, data, o.threads);

  std::array<double, kClasses> precision{}, recall{};
  for (int c = 0; c < kClasses; ++c) {
    long long tp = r.confusion[c][c], predicted = 0, actual = 0;
    for (int k = 0; k < kClasses; ++k) {
      predicted += r.confusion[k][c];
      actual += r.confusion[c][k];
    }
    precision[c] = predicted ? double(tp) / predicted : 0.0;
    recall[c] = actual ? double(tp) / actual : 0.0;
  }
  if (o.json) {
    nlohmann::json j = {{"model", o.model},        {"arch", std::string(arch_name(loaded.model.arch()))},
                        {"data", o.data},          {"split", o.split},
                        {"count", r.count},        {"accuracy", r.accuracy},
                        {"error", 1 - r.accuracy}, {"loss", r.loss},
                        {"precision", precision},  {"recall", recall},
                        {"confusion", r.confusion}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s on %s (%s, %d images)\n", o.model.c_str(), o.data.c_str(), o.split.c_str(), r.count);
  std::printf("accuracy %.2f%%  (error %.2f%%, %lld wrong)\n\n", 100 * r.accuracy, 100 * (1 - r.accuracy),
              static_cast<long long>(r.count - std::llround(r.accuracy * r.count)));
  std::printf("class  precision  recall\n");
  for (int c = 0; c < kClasses; ++c)
    std::printf("%5d  %8.2f%%  %6.2f%%\n", c, 100 * precision[c], 100 * recall[c]);
  std::printf("\nconfusion (rows: true class, columns: predicted)\n      ");
  for (int c = 0; c < kClasses; ++c) std::printf("%6d", c);
  std::printf("\n");
  for (int t = 0; t < kClasses; ++t) {
    std::printf("%6d", t);
    for (int p = 0; p < kClasses; ++p) std::printf("%6lld", r.confusion[t][p]);
    std::printf("\n");
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a saved model on an idx dataset");
  cmd->add_option("--model", o->model, "Model file written by lenet train")->required();
  cmd->add_option("--data", o->data, "Directory with the idx files")->capture_default_str();
  cmd->add_option("--split", o->split, "test or train")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json,
                "Print one JSON object (accuracy as a fraction, confusion as 10x10 counts)");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace lenet::app
