// `lenet eval`: accuracy, per-class precision and recall and the confusion matrix of a saved model (or of
// a committee of several, their class probabilities averaged) on an idx test set, as a table or as JSON.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "lenet/committee.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/report.h"
#include "lenet/trainer.h"
#include "paths.h"
#include "precision.h"

namespace lenet::app {

namespace {

struct EvalOptions {
  std::vector<std::string> models;
  std::string data;  // empty: the one default rule (paths.h)
  std::string split = "test";
  int threads = 0;
  bool json = false;
  std::string report;  // directory for the report pictures and table
  std::string log;     // a `lenet train --log` file, plotted into the report
  std::string precision = "fp32";
};

// --report DIR: confusion.png, misclassified.png, per_class.csv and, with --log, training_curves.png.
// The list of files goes to stderr, so that --json output stays one object.
void write_report(const EvalOptions& o, const Dataset& data, const EvalResult& r) {
  std::error_code ec;
  std::filesystem::create_directories(o.report, ec);
  if (ec) throw CommandError("cannot create report directory " + o.report + ": " + ec.message());
  const std::string dir = o.report + "/";
  const std::vector<LogEpoch> log = o.log.empty() ? std::vector<LogEpoch>{} : read_training_log(o.log);
  confusion_picture(r.confusion).save(dir + "confusion.png");
  misclassified_picture(data, r.predictions).save(dir + "misclassified.png");
  {
    std::ofstream f(dir + "per_class.csv");
    f << class_metrics_csv(class_metrics(r.confusion));
    if (!f) throw CommandError("cannot write " + dir + "per_class.csv");
  }
  std::fprintf(stderr, "report: wrote %sconfusion.png, %smisclassified.png, %sper_class.csv\n", dir.c_str(),
               dir.c_str(), dir.c_str());
  if (!log.empty()) {
    training_curves_picture(log).save(dir + "training_curves.png");
    std::fprintf(stderr, "report: wrote %straining_curves.png (%zu epochs from %s)\n", dir.c_str(),
                 log.size(), o.log.c_str());
  } else {
    std::fprintf(stderr, "report: no --log FILE given, so no training curves\n");
  }
}

void run_eval(EvalOptions o) {
  if (o.split != "test" && o.split != "train") throw UsageError("--split must be test or train");
  if (o.models.empty()) o.models.push_back(resolve_model_path(""));
  o.data = resolve_data_dir(o.data);
  std::vector<LoadedModel> loaded;
  std::vector<const Lenet5*> members;
  loaded.reserve(o.models.size());
  for (const std::string& path : o.models) loaded.push_back(load_lenet5(path));
  for (const LoadedModel& m : loaded) members.push_back(&m.model);
  const Dataset data = load_split(o.data, o.split == "test" ? Split::Test : Split::Train);
  if (o.precision == "int8" && members.size() > 1)
    throw CommandError("--precision int8 evaluates one model, not a committee of " +
                       std::to_string(members.size()));
  const std::optional<Int8Lenet5> int8 = int8_network(loaded[0], o.models[0], o.precision);
  const EvalResult r =
      int8 ? evaluate_int8(*int8, data, o.threads) : evaluate_committee(members, data, o.threads);
  std::string name = o.models[0], arch(arch_name(members[0]->arch()));
  if (members.size() > 1) {
    name = "committee of " + std::to_string(members.size()) + " models";
    for (const Lenet5* m : members)
      if (m->arch() != members[0]->arch()) arch = "mixed";
  }
  if (!o.report.empty()) write_report(o, data, r);

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
    nlohmann::json j = {
        {"model", o.models.size() == 1 ? nlohmann::json(o.models[0]) : nlohmann::json(o.models)},
        {"arch", arch},
        {"data", o.data},
        {"split", o.split},
        {"inference", o.precision},
        {"count", r.count},
        {"accuracy", r.accuracy},
        {"error", 1 - r.accuracy},
        {"loss", r.loss},
        {"precision", precision},
        {"recall", recall},
        {"confusion", r.confusion}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s on %s (%s, %d images, %s)\n", name.c_str(), o.data.c_str(), o.split.c_str(), r.count,
              o.precision.c_str());
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
  cmd->add_option("--model", o->models,
                  "Model file written by lenet train; several (--model A B C or --model A --model B) form a "
                  "committee whose class probabilities are averaged (default: $LENET_MODEL, else "
                  "models/lenet5.bin here, else the shipped model beside the program)")
      ->expected(1, 1000);
  cmd->add_option("--data", o->data, kDataHelp);
  cmd->add_option("--split", o->split, "test or train")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_precision_option(cmd, o->precision);
  cmd->add_flag("--json", o->json,
                "Print one JSON object (accuracy as a fraction, confusion as 10x10 counts)");
  cmd->add_option("--report", o->report,
                  "Also write confusion.png, misclassified.png, per_class.csv (and training_curves.png with "
                  "--log) to this directory");
  cmd->add_option("--log", o->log, "A lenet train --log file, plotted as training_curves.png by --report");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace lenet::app
