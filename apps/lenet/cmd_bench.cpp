// `lenet bench`: how fast a model runs here: batched inference over the test set, single-image latency,
// a training epoch, optionally the FMA peak of the machine, as text or one JSON object.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "lenet/gemm.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/quantize.h"
#include "lenet/simd.h"
#include "lenet/trainer.h"
#include "paths.h"
#include "precision.h"

namespace lenet::app {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model;
  std::string arch;  // instead of --model: a freshly initialised network
  std::string data;  // empty: the one default rule (paths.h)
  int threads = 0;
  bool json = false;
  int infer_passes = 5;
  int latency_calls = 2000;
  bool train = true;
  int batch = 64;
  std::string optimizer = "momentum";
  int limit = 0;
  bool peak = false;
  std::string precision = "fp32";
  std::string pictures;  // a directory of pictures for `lenet predict` (only that is measured)
};

constexpr int kInferBatch = 1000;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// User + system CPU time of the whole process so far: on a busy machine, wall time also counts the time
// other processes held the cores.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(q * double(v.size())))];
}

// FLOPs per image from the layer shapes (`lenet info`): 2 per multiply-add. Forward: every layer once.
// Training adds the weight gradient of each layer with weights and the input gradient of each layer but
// the first (C1's input is the image).
struct Flops {
  double forward = 0, train = 0;
};
Flops count_flops(const Lenet5& model) {
  Flops f;
  const auto layers = model.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const double macs = double(layers[i].connections);
    f.forward += 2 * macs;
    f.train += 2 * macs * (1 + (layers[i].parameters > 0 ? 1 : 0) + (i > 0 ? 1 : 0));
  }
  return f;
}

// Images/s of forward passes over the whole set in batches of kInferBatch (conversion of the images to
// the network's input included), the median of `passes` timed passes after one warm-up pass.
double infer_images_per_s(const Lenet5& model, const Dataset& data, int threads, int passes) {
  Engine engine(model, threads, kInferBatch);
  std::vector<float> scores(std::size_t(kInferBatch) * kClasses);
  std::vector<double> rates;
  for (int pass = -1; pass < passes; ++pass) {
    const auto t0 = Clock::now();
    for (int first = 0; first < data.count; first += kInferBatch)
      engine.forward_scores(model, data, first, std::min(kInferBatch, data.count - first), scores.data());
    if (pass >= 0) rates.push_back(data.count / seconds_since(t0));
  }
  return median(rates);
}

// Microseconds per call of one image through the network on one thread: input conversion, forward pass,
// class. The calls walk through the test set.
std::vector<double> latencies_us(const Lenet5& model, const Dataset& data, int calls) {
  Activations a(model, 1);
  std::vector<double> us;
  us.reserve(std::size_t(calls));
  int sink = 0;
  for (int i = -100; i < calls; ++i) {  // 100 warm-up calls
    const int idx = (i + 100) % data.count;
    const auto t0 = Clock::now();
    image_to_input(a.input.data(), data.image(idx), data.rows, data.cols);
    lenet5_forward(model, a, 1);
    sink += model.predict_class(a.scores.data());
    const double t = seconds_since(t0) * 1e6;
    if (i >= 0) us.push_back(t);
  }
  if (sink < 0) std::printf("%d", sink);  // keeps the calls from being optimised away
  return us;
}

// The same two measures for the int8 network: the whole test set on `threads` threads per pass, and one
// image at a time on the calling thread (no thread hand-off).
double int8_images_per_s(const Int8Lenet5& net, const Dataset& data, int threads, int passes) {
  std::vector<float> scores(std::size_t(data.count) * kClasses);
  std::vector<double> rates;
  for (int pass = -1; pass < passes; ++pass) {
    const auto t0 = Clock::now();
    int8_scores(scores.data(), net, data, threads);
    if (pass >= 0) rates.push_back(data.count / seconds_since(t0));
  }
  return median(rates);
}

std::vector<double> int8_latencies_us(const Int8Lenet5& net, const Dataset& data, int calls) {
  Int8Workspace ws(1);
  std::vector<double> us;
  us.reserve(std::size_t(calls));
  float scores[kClasses];
  int sink = 0;
  for (int i = -100; i < calls; ++i) {
    const int idx = (i + 100) % data.count;
    const auto t0 = Clock::now();
    net.forward(scores, data.image(idx), data.rows, data.cols, 1, ws);
    sink += int(std::max_element(scores, scores + kClasses) - scores);
    const double t = seconds_since(t0) * 1e6;
    if (i >= 0) us.push_back(t);
  }
  if (sink < 0) std::printf("%d", sink);
  return us;
}

// Integer operations per second (2 per multiply-add) of independent vpdpbusd chains on every thread, the
// best of five rounds: the int8 peak the int8 network is measured against.
double int8_peak_ops(int threads) {
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    double ops = 0;
    long long sink = 0;
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : ops, sink)
    {
      std::int32_t s = 0;
      ops += int8_probe(20'000'000, &s);
      sink += s;
    }
    best = std::max(best, ops / seconds_since(t0));
    if (sink == 12345) std::printf(" ");
  }
  return best;
}

// FLOP/s of independent FMA chains on every thread, the best of five 0.2-second rounds.
double peak_flops(int threads) {
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    double flops = 0;
    float sink = 0;
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops, sink)
    {
      float s = 0;
      flops += fma_probe(40'000'000, &s);
      sink += s;
    }
    best = std::max(best, flops / seconds_since(t0));
    if (sink == 12345.0f) std::printf(" ");
  }
  return best;
}

// --pictures DIR: `lenet predict` over every file of DIR (sorted by name), its answers thrown away; the
// median of three passes after one that warms the page cache.
void bench_pictures(const BenchOptions& o) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(o.pictures, ec))
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  if (ec) throw CommandError("--pictures " + o.pictures + ": " + ec.message());
  if (files.empty()) throw CommandError("--pictures " + o.pictures + ": no files in it");
  std::sort(files.begin(), files.end());
  PredictOptions p;
  p.model = o.model;
  p.images = files;
  p.precision = o.precision;
  p.threads = o.threads;
  std::FILE* sink = std::fopen("/dev/null", "w");
  if (!sink) throw CommandError("cannot open /dev/null");
  std::vector<double> rates, cpu_us;
  std::string failure;
  for (int pass = -1; pass < 3; ++pass) {
    const auto t0 = Clock::now();
    const double cpu0 = cpu_seconds();
    try {
      run_predict(p, sink);
    } catch (const CommandError& e) {  // some files were not pictures: still timed, and said below
      failure = e.what();
    }
    if (pass < 0) continue;
    rates.push_back(double(files.size()) / seconds_since(t0));
    cpu_us.push_back((cpu_seconds() - cpu0) * 1e6 / double(files.size()));
  }
  std::fclose(sink);
  const int threads = o.threads > 0 ? o.threads : default_threads();
  if (o.json) {
    nlohmann::json j = {
        {"pictures", o.pictures},           {"files", files.size()},        {"threads", threads},
        {"precision", o.precision},         {"files_per_s", median(rates)}, {"passes", rates.size()},
        {"cpu_us_per_file", median(cpu_us)}};
    if (!failure.empty()) j["failures"] = failure;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf(
      "lenet bench --pictures: `lenet predict` over %zu files of %s on %d threads, %s: %.0f files/s "
      "(median of %zu passes); %.0f us of CPU per file (all threads)\n",
      files.size(), o.pictures.c_str(), threads, o.precision.c_str(), median(rates), rates.size(),
      median(cpu_us));
  if (!failure.empty()) std::printf("note: %s\n", failure.c_str());
}

void run_bench(BenchOptions o) {
  if (!o.model.empty() && !o.arch.empty()) throw UsageError("give --model or --arch, not both");
  if (o.arch.empty()) o.model = resolve_model_path(o.model);
  if (!o.pictures.empty()) return bench_pictures(o);
  o.data = resolve_data_dir(o.data);
  std::optional<Lenet5> loaded;
  if (!o.model.empty()) {
    loaded.emplace(load_lenet5(o.model).model);
  } else {
    const auto arch = parse_arch(o.arch);
    if (!arch) throw CommandError("--arch must be lenet5 or lenet5-1998, not '" + o.arch + "'");
    loaded.emplace(*arch);
    Rng rng(1);
    loaded->init(rng);
  }
  const Lenet5& model = *loaded;
  const auto opt = parse_optimizer(o.optimizer);
  if (!opt) throw CommandError("--optimizer must be sgd, momentum, adam or sdlm, not '" + o.optimizer + "'");
  const int threads = o.threads > 0 ? o.threads : default_threads();
  const Dataset test_set = load_split(o.data, Split::Test);
  check_dataset_fits(test_set, "test set");
  const Flops flops = count_flops(model);

  nlohmann::json j = {{"model", o.model.empty() ? "(fresh " + o.arch + ")" : o.model},
                      {"arch", std::string(arch_name(model.arch()))},
                      {"data", o.data},
                      {"threads", threads},
                      {"simd", std::string(simd::level_name(simd::level()))},
                      {"flops_forward_per_image", flops.forward},
                      {"flops_train_per_image", flops.train}};

  // --precision int8: the model's stored scales, or (a model without them, or a fresh network) scales
  // calibrated now on training images, as lenet quantize would.
  std::optional<Int8Lenet5> int8;
  if (o.precision == "int8") {
    if (model.arch() != Arch::Lenet5) throw CommandError("--precision int8 runs the modern lenet5 only");
    std::optional<Int8Scales> scales;
    if (!o.model.empty()) scales = int8_scales_from_config(load_lenet5(o.model).config);
    if (!scales) scales = calibrate_int8(model, load_split(o.data, Split::Train));
    int8.emplace(model, *scales);
    j["int8_kernels"] = std::string(int8_kernel_name());
  }
  j["precision"] = o.precision;

  const double infer = int8 ? int8_images_per_s(*int8, test_set, threads, o.infer_passes)
                            : infer_images_per_s(model, test_set, threads, o.infer_passes);
  j["infer_batch"] = kInferBatch;
  j["infer_images"] = test_set.count;
  j["infer_images_per_s"] = infer;
  j["infer_gflops"] = infer * flops.forward * 1e-9;

  const std::vector<double> lat = int8 ? int8_latencies_us(*int8, test_set, o.latency_calls)
                                       : latencies_us(model, test_set, o.latency_calls);
  j["latency_calls"] = o.latency_calls;
  j["latency_us_median"] = median(lat);
  j["latency_us_p90"] = percentile(lat, 0.9);

  if (o.train) {
    Dataset train_set = load_split(o.data, Split::Train);
    train_set.take_first(o.limit);
    Lenet5 trained = model;  // the copy is trained; nothing is saved
    // The library's recipe for one epoch, at the batch asked for.
    TrainConfig cfg = default_train_config(model.arch(), *opt, 1);
    cfg.batch = o.batch;
    cfg.threads = threads;
    const double cpu0 = cpu_seconds();
    const auto history = train(trained, train_set, nullptr, cfg);
    const double seconds = history.at(0).seconds, cpu = cpu_seconds() - cpu0;
    j["train_images"] = train_set.count;
    j["train_batch"] = o.batch;
    j["train_optimizer"] = o.optimizer;
    j["train_seconds"] = seconds;
    j["train_cpu_seconds"] = cpu;
    j["train_images_per_s"] = train_set.count / seconds;
    j["train_gflops"] = train_set.count * flops.train / seconds * 1e-9;
  }
  if (o.peak) {
    const double peak = peak_flops(threads);
    j["peak_gflops"] = peak * 1e-9;
    if (o.train) j["train_fraction_of_peak"] = j["train_gflops"].get<double>() / (peak * 1e-9);
    j["infer_fraction_of_peak"] = j["infer_gflops"].get<double>() / (peak * 1e-9);
    if (int8) {
      const double ops = int8_peak_ops(threads);
      j["int8_peak_gops"] = ops * 1e-9;
      j["infer_fraction_of_int8_peak"] = j["infer_gflops"].get<double>() / (ops * 1e-9);
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  j["max_rss_mb"] = double(usage.ru_maxrss) / 1024.0;

  if (o.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("lenet bench: %s (%s) on %s, %d threads, %s kernels, %s%s\n",
              j["model"].get<std::string>().c_str(), j["arch"].get<std::string>().c_str(), o.data.c_str(),
              threads, j["simd"].get<std::string>().c_str(), o.precision.c_str(),
              int8 ? (" (" + std::string(int8_kernel_name()) + ")").c_str() : "");
  std::printf(
      "inference  %d test images in batches of %d: %.0f images/s (median of %d passes), %.1f GFLOP/s\n",
      test_set.count, kInferBatch, infer, o.infer_passes, j["infer_gflops"].get<double>());
  std::printf("latency    one image, one thread, %d calls: median %.1f us, 90th percentile %.1f us\n",
              o.latency_calls, j["latency_us_median"].get<double>(), j["latency_us_p90"].get<double>());
  if (o.train)
    std::printf(
        "training   1 epoch of %d images, batch %d, %s: %.2f s (%.2f s of CPU), %.0f images/s, %.1f "
        "GFLOP/s\n",
        j["train_images"].get<int>(), o.batch, o.optimizer.c_str(), j["train_seconds"].get<double>(),
        j["train_cpu_seconds"].get<double>(), j["train_images_per_s"].get<double>(),
        j["train_gflops"].get<double>());
  if (o.peak) {
    std::printf("peak       FMA probe on %d threads: %.1f GFLOP/s", threads, j["peak_gflops"].get<double>());
    if (o.train)
      std::printf("; training runs at %.0f%% of it", 100 * j["train_fraction_of_peak"].get<double>());
    std::printf("\n");
    if (int8)
      std::printf(
          "int8 peak  vpdpbusd probe on %d threads: %.1f GOP/s; int8 inference runs at %.1f%% of it\n",
          threads, j["int8_peak_gops"].get<double>(), 100 * j["infer_fraction_of_int8_peak"].get<double>());
  }
  std::printf(
      "FLOPs      %.0f per image forward, %.0f per image trained (2 per multiply-add, from the layer "
      "shapes)\n",
      flops.forward, flops.train);
  std::printf("memory     peak RSS %.0f MB\n", j["max_rss_mb"].get<double>());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Measure inference, latency and training speed on this machine");
  cmd->add_option("--model", o->model, kModelHelp);
  cmd->add_option("--arch", o->arch, "Instead of --model: a freshly initialised lenet5 or lenet5-1998");
  cmd->add_option("--data", o->data, kDataHelp);
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--passes", o->infer_passes, "Timed inference passes over the test set")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--calls", o->latency_calls, "Single-image calls timed for the latency")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "Training batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", o->optimizer, "Training optimizer: sgd, momentum, adam or sdlm")
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "Train on the first N training images only (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag(
      "--no-train", [o](std::int64_t) { o->train = false; }, "Skip the training epoch");
  cmd->add_flag("--peak", o->peak, "Also measure the FMA peak of the machine and the fraction of it reached");
  add_precision_option(cmd, o->precision);
  cmd->add_option("--pictures", o->pictures,
                  "Instead: time `lenet predict` over every file of this directory (files/s); --model, "
                  "--threads and --precision apply")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace lenet::app
