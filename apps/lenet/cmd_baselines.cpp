// `lenet baselines`: the classifiers of the paper's Fig. 9 trained and scored here (a table, and JSON lines
// for tools/plot_comparison.py), and with --invariance the shift/rotation/scale study of a fully connected
// net against a LeNet-5 model file.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "lenet/baselines.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/sequential.h"
#include "paths.h"

namespace lenet::app {

namespace {

struct BaselinesOptions {
  std::string data;  // empty: the one default rule (paths.h)
  std::vector<std::string> only;
  int epochs = 0;
  std::uint64_t seed = 1;
  int limit = 0;
  std::string json;
  std::string invariance_model;  // a LeNet-5 model file: run the invariance study instead
  std::string invariance_net = "fc-300-100";
};

void append_line(const std::string& path, const nlohmann::json& j) {
  if (path.empty()) return;
  std::ofstream f(path, std::ios::app);
  f << j.dump() << "\n";
  if (!f) throw CommandError("cannot append to --json file " + path);
}

void run_invariance(const BaselinesOptions& o, const Dataset& train_set, const Dataset& test_set) {
  const LoadedModel lenet = load_lenet5(o.invariance_model);
  Sequential fc = make_sequential(o.invariance_net);
  Rng rng(o.seed);
  fc.init(rng);
  const SeqTrainConfig cfg = sequential_train_config(o.epochs, o.seed);
  std::fprintf(stderr, "training %s (%d epochs) for the invariance study...\n", o.invariance_net.c_str(),
               cfg.epochs);
  sequential_train(fc, train_set, cfg);
  std::printf("%-8s %7s  %12s  %12s\n", "change", "amount", o.invariance_net.c_str(), "LeNet-5");
  for (const InvariancePoint& p : invariance_study(fc, lenet.model, test_set)) {
    std::printf("%-8s %7g  %11.2f%%  %11.2f%%\n", p.transform.c_str(), double(p.amount), 100 * p.error_fc,
                100 * p.error_lenet);
    std::fflush(stdout);
    append_line(o.json, {{"transform", p.transform},
                         {"amount", p.amount},
                         {"fc", o.invariance_net},
                         {"fc_error", p.error_fc},
                         {"lenet_model", o.invariance_model},
                         {"lenet_error", p.error_lenet}});
  }
}

void run_baselines(BaselinesOptions o) {
  o.data = resolve_data_dir(o.data);
  std::vector<std::string> names = o.only;
  if (names.empty())
    for (const BaselineSpec& s : baseline_specs()) names.push_back(s.name);
  for (const std::string& n : names) {
    bool known = false;
    for (const BaselineSpec& s : baseline_specs()) known = known || s.name == n;
    if (!known) {
      std::string list;
      for (const BaselineSpec& s : baseline_specs()) list += " " + s.name;
      throw CommandError("--only: unknown classifier '" + n + "' (known:" + list + ")");
    }
  }
  Dataset train_set = load_split(o.data, Split::Train);
  const Dataset test_set = load_split(o.data, Split::Test);
  if (train_set.rows != 28 || train_set.cols != 28 || test_set.rows != 28 || test_set.cols != 28)
    throw CommandError("baselines read 28x28 images; " + o.data + " has " + std::to_string(train_set.rows) +
                       "x" + std::to_string(train_set.cols));
  if (o.limit > 0 && o.limit < train_set.count) {
    train_set.count = o.limit;
    train_set.images.resize(std::size_t(o.limit) * 28 * 28);
    train_set.labels.resize(std::size_t(o.limit));
  }
  if (!o.invariance_model.empty()) return run_invariance(o, train_set, test_set);
  std::printf("%-14s %10s %13s %10s %10s %9s\n", "classifier", "parameters", "mult-adds/img", "train s",
              "paper err", "our err");
  for (const std::string& name : names) {
    BaselineOptions bo;
    bo.epochs = o.epochs;
    bo.seed = o.seed;
    const BaselineResult r = run_baseline(name, train_set, test_set, bo);
    std::printf("%-14s %10zu %13zu %10.1f %9.2f%% %8.2f%%\n", name.c_str(), r.parameters, r.multiply_adds,
                r.train_seconds, r.spec.paper_error, 100 * r.test_error);
    std::fflush(stdout);
    append_line(o.json, {{"name", name},
                         {"description", r.spec.description},
                         {"paper_error", r.spec.paper_error / 100},
                         {"test_error", r.test_error},
                         {"parameters", r.parameters},
                         {"multiply_adds", r.multiply_adds},
                         {"train_seconds", r.train_seconds},
                         {"test_seconds", r.test_seconds},
                         {"train_images", train_set.count},
                         {"epochs", o.epochs},
                         {"seed", o.seed}});
  }
}

}  // namespace

void add_baselines_command(CLI::App& app) {
  auto o = std::make_shared<BaselinesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "baselines", "Train and score the classifiers the paper compares LeNet-5 with (its Fig. 9)");
  cmd->add_option("--data", o->data, kDataHelp);
  cmd->add_option("--only", o->only,
                  "Only these (linear pairwise knn pca-quadratic rbf fc-300 fc-1000 fc-300-100 fc-500-150 "
                  "lenet1 lenet4)")
      ->delimiter(',');
  cmd->add_option("--epochs", o->epochs, "Passes (0: 10 for the linear parts, 20 for the networks)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--seed", o->seed, "Seed of initialisation, shuffling and k-means")->capture_default_str();
  cmd->add_option("--limit", o->limit, "Train on only the first N training images (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--json", o->json,
                  "Append one JSON object per classifier (or invariance point) to this file");
  cmd->add_option("--invariance", o->invariance_model,
                  "Instead: train --invariance-net and compare its test error with this LeNet-5 model's on "
                  "shifted, rotated and scaled test digits");
  cmd->add_option("--invariance-net", o->invariance_net, "The fully connected net of the invariance study")
      ->capture_default_str();
  cmd->callback([o] { run_baselines(*o); });
}

}  // namespace lenet::app
