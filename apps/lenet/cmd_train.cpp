// `lenet train`: the training recipe from flags, progress on stderr (a live bar on a terminal, one line
// per epoch otherwise), a JSON line per epoch in --log, the model saved with its recipe and results, and
// checkpoints to resume from after a crash, a kill or Ctrl-C.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "conventions.h"
#include "lenet/checkpoint.h"
#include "lenet/idx.h"
#include "lenet/lenet5_io.h"
#include "lenet/output_file.h"
#include "lenet/trainer.h"
#include "paths.h"

namespace lenet::app {

namespace {

// The library's defaults for what does not depend on the architecture (default_train_config).
const TrainConfig kDefaults = default_train_config(Arch::Lenet5, OptimizerKind::Momentum);

struct TrainOptions {
  std::string arch = "lenet5";
  std::string data;                // empty: the one default rule (paths.h)
  int epochs = 0;                  // 0: the library's default (20 for sdlm, as in the paper; 12 otherwise)
  std::string batch = "auto";      // auto: the library's default (1 for sdlm, 64 otherwise)
  std::string optimizer = "auto";  // auto: sdlm for lenet5-1998, momentum for lenet5
  float lr = 0;                    // 0: the default of the architecture and optimiser
  float lr_gamma = kDefaults.lr_gamma;
  int lr_step = kDefaults.lr_step;
  std::string lr_schedule = "step";  // step (or sdlm: the paper's by pass) or cosine
  int average_last = 0;
  float momentum = kDefaults.optimizer.momentum;
  float weight_decay = kDefaults.optimizer.weight_decay;
  float sdlm_mu = kDefaults.optimizer.sdlm_mu;
  int hessian_samples = kDefaults.hessian_samples;
  int hessian_interval = kDefaults.hessian_interval;
  bool distort = false;
  bool elastic = false;
  float elastic_alpha = kElasticAlpha;
  float photo_degrade = 0;
  float elastic_sigma = kElasticSigma;
  std::string init = "default";  // lenet5-1998: paper or sqrt; default: kDefaultInitRule
  bool eval_train = false;
  std::string loss = "default";
  float map_j = kDefaults.map_j;
  std::uint64_t seed = 1;
  int threads = 0;
  int limit = 0;
  std::string outliers;  // idx3 images of no digit, mixed in with kOutlierLabel (outlier exposure)
  std::string out;
  std::string log;
  std::string checkpoint;
  double checkpoint_every = 300;
  bool resume = false;
  bool json = false;
};

// SIGINT and SIGTERM ask the trainer to finish its step and write a checkpoint. The handler is reset by
// the first signal, so a second one ends the process at once (the checkpoint on disk stays whole).
std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void request_stop(int sig) {
  g_signal = sig;
  g_stop.store(true, std::memory_order_relaxed);
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void print_bar(const BatchProgress& p) {
  const double frac = double(p.done) / double(p.total);
  const int width = 30, filled = int(frac * width);
  const double rate = p.seconds > 0 ? double(p.done) / p.seconds : 0;
  const double eta = rate > 0 ? double(p.total - p.done) / rate : 0;
  std::string bar(std::size_t(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3.0f%%  %6.0f img/s  loss %.4f  ETA %.0fs", p.epoch,
               p.epochs, bar.c_str(), 100 * frac, rate, p.running_loss, eta);
  std::fflush(stderr);
}

int parse_batch(const std::string& text) {
  if (text == "all") return 0;
  try {
    std::size_t used = 0;
    const int batch = std::stoi(text, &used);
    if (used == text.size() && batch >= 1) return batch;
  } catch (const std::exception&) {
  }
  throw UsageError("--batch must be a positive integer or 'all', not '" + text + "'");
}

// The library's recipe for the architecture and optimiser, with what the flags change.
TrainConfig config_from_options(const TrainOptions& o, Arch arch) {
  const OptimizerKind kind = [&] {
    if (o.optimizer == "auto") return default_optimizer(arch);
    const auto opt = parse_optimizer(o.optimizer);
    if (!opt) throw UsageError("--optimizer must be sgd, momentum, adam or sdlm, not '" + o.optimizer + "'");
    return *opt;
  }();
  TrainConfig cfg = default_train_config(arch, kind, o.epochs);
  if (o.batch != "auto") cfg.batch = parse_batch(o.batch);
  if (o.lr > 0) scale_learning_rate(cfg, o.lr);
  cfg.lr_gamma = o.lr_gamma;
  cfg.lr_step = o.lr_step;
  if (o.lr_schedule == "cosine")
    cfg.lr_by_epoch = cosine_schedule(cfg.lr, cfg.epochs);
  else if (o.lr_schedule != "step")
    throw UsageError("--lr-schedule must be step or cosine, not '" + o.lr_schedule + "'");
  if (o.average_last > cfg.epochs)
    throw UsageError("--average-last " + std::to_string(o.average_last) + " is more than the " +
                     std::to_string(cfg.epochs) + " epochs of the run");
  cfg.average_last = o.average_last;
  cfg.optimizer.momentum = o.momentum;
  cfg.optimizer.weight_decay = o.weight_decay;
  cfg.optimizer.sdlm_mu = o.sdlm_mu;
  cfg.hessian_samples = o.hessian_samples;
  cfg.hessian_interval = o.hessian_interval;
  cfg.distort = o.distort || o.elastic || o.photo_degrade > 0;
  cfg.distort_ranges.photo = o.photo_degrade;
  if (o.elastic) {
    cfg.distort_ranges.elastic_alpha = o.elastic_alpha;
    cfg.distort_ranges.elastic_sigma = o.elastic_sigma;
  }
  cfg.eval_train = o.eval_train;
  if (o.loss != "default") {
    const auto loss = parse_loss(o.loss);
    if (!loss) throw UsageError("--loss must be xent, mle or map, not '" + o.loss + "'");
    if ((*loss == LossKind::CrossEntropy) != (arch == Arch::Lenet5))
      throw UsageError("--loss " + o.loss + " does not fit --arch " + o.arch +
                       " (lenet5 trains with xent; lenet5-1998 with map or mle)");
    cfg.loss = *loss;
  }
  cfg.map_j = o.map_j;
  cfg.seed = o.seed;
  cfg.threads = o.threads > 0 ? o.threads : default_threads();
  return cfg;
}

// A checkpoint is never overwritten by a fresh start, and --resume never silently starts afresh; a
// checkpoint that cannot be written is refused now, not after the first epoch's work.
void check_checkpoint_options(const TrainOptions& o) {
  if (o.checkpoint.empty()) return;
  if (const auto dir = std::filesystem::path(o.checkpoint).parent_path();
      !dir.empty() && !std::filesystem::is_directory(dir))
    throw CommandError("--checkpoint " + o.checkpoint + ": there is no directory " + dir.string());
  const bool exists = std::filesystem::exists(o.checkpoint);
  if (o.resume && !exists)
    throw CommandError("--resume: there is no checkpoint " + o.checkpoint +
                       " to resume from (leave out --resume to start a new run)");
  if (!o.resume && exists)
    throw CommandError(
        "checkpoint " + o.checkpoint +
        " already exists: add --resume to continue that run, or remove the file to start afresh");
}

// --init: the 1998 network's initialisation rule (the modern one has only He-uniform).
InitRule init_rule_from_options(const TrainOptions& o, Arch arch) {
  if (o.init == "default") return kDefaultInitRule;
  const auto rule = parse_init_rule(o.init);
  if (!rule) throw UsageError("--init must be paper or sqrt, not '" + o.init + "'");
  if (arch != Arch::Lenet5_1998)
    throw UsageError("--init " + o.init +
                     " applies to --arch lenet5-1998 only (lenet5 starts from He-uniform weights)");
  return *rule;
}

std::string init_name(const TrainOptions& o, Arch arch) {
  return arch == Arch::Lenet5_1998 ? std::string(init_rule_name(init_rule_from_options(o, arch))) : "he";
}

// The model to train: freshly initialised, or with --resume the checkpoint's, whose state is returned.
std::optional<TrainState> start_model(Lenet5& model, const TrainOptions& o) {
  if (!o.resume) {
    Rng init_rng(o.seed);
    model.init(init_rng, init_rule_from_options(o, model.arch()));
    return std::nullopt;
  }
  Checkpoint c = load_checkpoint(o.checkpoint);
  if (c.model.arch() != model.arch())
    throw CommandError("cannot resume from " + o.checkpoint + ": it holds a " +
                       std::string(arch_name(c.model.arch())) + " model, not --arch " + o.arch);
  model = std::move(c.model);
  return std::move(c.state);
}

// One JSON object per epoch for --log: the epoch's stats and what identifies the run.
nlohmann::json log_line(const EpochStats& s, const TrainOptions& o, const TrainConfig& cfg) {
  nlohmann::json j = to_json(s);
  j["arch"] = o.arch;
  j["optimizer"] = std::string(optimizer_name(cfg.optimizer.kind));
  j["distort"] = cfg.distort;
  j["elastic_alpha"] = cfg.distort_ranges.elastic_alpha;
  j["init"] = init_name(o, parse_arch(o.arch).value_or(Arch::Lenet5));
  j["sdlm_mu"] = cfg.optimizer.sdlm_mu;
  if (cfg.loss == LossKind::Map) j["map_j"] = cfg.map_j;
  j["seed"] = cfg.seed;
  j["threads"] = cfg.threads;
  j["test_error"] = 1 - s.test_accuracy;
  j["images_per_s"] = double(s.images) / s.seconds;
  if (s.train_eval_accuracy >= 0) j["train_set_error"] = 1 - s.train_eval_accuracy;
  return j;
}

// Progress on stderr (a bar redrawn at most five times a second on a terminal: with --batch 1 there are
// 60,000 steps per epoch) and a line per epoch there and in --log.
TrainCallbacks progress_callbacks(const TrainOptions& o, const TrainConfig& cfg, AppendFile* log, bool tty) {
  TrainCallbacks cb;
  if (tty)
    cb.on_batch = [last_bar = -1.0](const BatchProgress& p) mutable {
      if (p.seconds - last_bar < 0.2 && p.done < p.total) return;
      last_bar = p.done < p.total ? p.seconds : -1;
      print_bar(p);
    };
  cb.on_epoch = [&o, &cfg, log, tty](const EpochStats& s) {
    const std::string train_eval =
        s.train_eval_accuracy >= 0 ? "  train set acc " + num(100 * s.train_eval_accuracy) + "%" : "";
    if (tty) std::fprintf(stderr, "\r\033[K");
    note("epoch %2d/%d  lr %.5g  train loss %.4f  train acc %.2f%%%s  test acc %.2f%%  %.1fs (%.0f img/s)",
         s.epoch, cfg.epochs, s.lr, s.train_loss, 100 * s.train_accuracy, train_eval.c_str(),
         100 * s.test_accuracy, s.seconds, double(s.images) / s.seconds);
    if (log) log->write_line(log_line(s, o, cfg).dump());
  };
  if (!o.checkpoint.empty()) {
    cb.on_checkpoint = [path = o.checkpoint](const Lenet5& m, const TrainState& state) {
      save_checkpoint(path, m, state);
    };
    cb.checkpoint_name = o.checkpoint;
    cb.checkpoint_every = o.checkpoint_every;
  }
  cb.stop = &g_stop;  // a signal stops at the next step, after saving the checkpoint if there is one
  return cb;
}

void print_start(const TrainOptions& o, const std::string& data, const TrainConfig& cfg,
                 const Dataset& train_set, const std::optional<TrainState>& resume) {
  const bool sdlm = cfg.optimizer.kind == OptimizerKind::Sdlm;
  const std::string mu = sdlm ? ", mu " + num(cfg.optimizer.sdlm_mu) : "";
  const std::string averaged = cfg.average_last > 0 ? ", weights averaged over the last " +
                                                          std::to_string(cfg.average_last) + " epochs"
                                                    : "";
  const std::string schedule = o.lr_schedule == "cosine"
                                   ? "lr " + num(cfg.lr) + " (cosine to 0 over the epochs)" + mu
                               : sdlm ? "lr " + num(cfg.lr_by_epoch.front()) + " by the paper's schedule" + mu
                                      : "lr " + num(cfg.lr) + " (x" + num(cfg.lr_gamma) + " every " +
                                            std::to_string(cfg.lr_step) + " epochs)";
  const std::string batch = cfg.batch == 0 ? "all" : std::to_string(cfg.batch);
  const std::string loss =
      std::string(loss_name(cfg.loss)) + (cfg.loss == LossKind::Map ? " (j " + num(cfg.map_j) + ")" : "");
  note("training %s on %d images (%s), %d epochs, batch %s, %s %s%s, loss %s%s, seed %llu, %d threads",
       o.arch.c_str(), train_set.count, data.c_str(), cfg.epochs, batch.c_str(),
       std::string(optimizer_name(cfg.optimizer.kind)).c_str(), schedule.c_str(), averaged.c_str(),
       loss.c_str(),
       cfg.distort
           ? (cfg.distort_ranges.elastic_alpha > 0 ? ", affine + elastic distortions" : ", distortions")
           : "",
       static_cast<unsigned long long>(cfg.seed), cfg.threads);
  if (resume)
    note("resuming from %s at %s", o.checkpoint.c_str(), describe_position(*resume, train_set.count).c_str());
}

// Where the model goes: --out, or without it <arch>-trained.bin in the working directory (-2, -3... if
// taken, so that nothing saved before is replaced), said at the start so that a long run is not a surprise.
std::string model_path(const TrainOptions& o) {
  if (!o.out.empty()) return o.out;
  const std::string path = free_path(o.arch + "-trained.bin");
  note("no --out given: the model will be saved to %s", path.c_str());
  return path;
}

// The run's end on stdout with --json: the last epoch's --log line (one schema for what a run gave) and
// where the model went, on what data, after how many epochs and seconds of training in all.
void print_summary(const TrainOptions& o, const std::string& data, const std::string& out,
                   const TrainConfig& cfg, const std::vector<EpochStats>& history) {
  nlohmann::json j = log_line(history.back(), o, cfg);
  double seconds = 0;
  for (const EpochStats& e : history) seconds += e.seconds;
  j["model"] = out;
  j["data"] = data;
  j["epochs"] = cfg.epochs;
  j["seconds"] = seconds;
  std::printf("%s\n", j.dump().c_str());
}

std::vector<EpochStats> run_epochs(Lenet5& model, const Dataset& train_set, const Dataset& test_set,
                                   const TrainConfig& cfg, const TrainCallbacks& cb,
                                   const std::optional<TrainState>& resume, const TrainOptions& o,
                                   const std::string& out, bool tty) {
  try {
    return train(model, train_set, &test_set, cfg, cb, resume ? &*resume : nullptr);
  } catch (const TrainingInterrupted& e) {
    if (tty) std::fprintf(stderr, "\n");
    const std::string again = o.checkpoint.empty() ? ""
                                                   : "; to continue, run the same command" +
                                                         std::string(o.resume ? "" : " with --resume") +
                                                         " (same arguments, data and --threads)";
    throw InterruptedError(
        std::string(g_signal == SIGINT ? "interrupted (SIGINT): " : "terminated (SIGTERM): ") + e.what() +
            "; nothing was saved to " + out + again,
        int(g_signal));
  } catch (const TrainingError& e) {
    if (tty) std::fprintf(stderr, "\n");
    throw CommandError(std::string(e.what()) + "; nothing was saved to " + out);
  } catch (const CheckpointMismatch& e) {
    throw CommandError("cannot resume from " + o.checkpoint + ": " + e.what());
  }
}

void run_train(const TrainOptions& o) {
  const auto arch = parse_arch(o.arch);
  if (!arch) throw UsageError("--arch must be lenet5 or lenet5-1998, not '" + o.arch + "'");
  if (o.resume && o.checkpoint.empty())
    throw UsageError("--resume needs --checkpoint FILE, the file to resume from");
  const TrainConfig cfg = config_from_options(o, *arch);
  const std::string init = init_name(o, *arch);
  const std::string data = resolve_data_dir(o.data);
  Dataset train_set = load_split(data, Split::Train);
  const Dataset test_set = load_split(data, Split::Test);
  train_set.take_first(o.limit);
  if (!o.outliers.empty()) {
    if (cfg.loss != LossKind::CrossEntropy)
      throw UsageError(
          "--outliers needs --arch lenet5 and its loss xent (the uniform target is a softmax's)");
    const Dataset outliers = read_idx3_images(o.outliers);
    try {
      append_outliers(train_set, outliers, kOutlierLabel);
    } catch (const std::invalid_argument& e) {
      throw CommandError("--outliers " + o.outliers + ": " + e.what());
    }
    note("mixed in %d outlier images from %s (target: uniform over the digits)", outliers.count,
         o.outliers.c_str());
  }
  // Every file the run writes is checked and locked before any work: a device, FIFO or directory is never
  // written over, a bad path is reported now rather than after training, and a second run on the same
  // files fails at once, naming the first.
  const std::string out = model_path(o);
  const std::pair<const std::string&, const char*> outputs[] = {
      {out, "--out"}, {o.log, "--log"}, {o.checkpoint, "--checkpoint"}};
  for (const auto& [path, option] : outputs)
    if (!path.empty()) check_output_path(path, option);
  OutputLock checkpoint_lock;
  if (!o.checkpoint.empty()) checkpoint_lock = OutputLock(o.checkpoint, "--checkpoint");
  OutputLock out_lock(out, "--out");
  check_checkpoint_options(o);
  Lenet5 model(*arch);
  const std::optional<TrainState> resume = start_model(model, o);

  // Each line is flushed and checked: a full disk stops the run instead of leaving an empty log.
  std::unique_ptr<AppendFile> log;
  if (!o.log.empty()) log = std::make_unique<AppendFile>(o.log, "--log");
  const bool tty = stderr_is_live_terminal();
  // From here on a signal stops training cleanly (installed before the line below, which tells a test or a
  // supervising script that the run has begun).
  install_stop_handlers();
  print_start(o, data, cfg, train_set, resume);
  const std::vector<EpochStats> history = run_epochs(
      model, train_set, test_set, cfg, progress_callbacks(o, cfg, log.get(), tty), resume, o, out, tty);

  const EpochStats& last = history.back();
  note("final test accuracy %.2f%% (error %.2f%%)", 100 * last.test_accuracy, 100 * (1 - last.test_accuracy));
  const nlohmann::json meta = {{"recipe", train_recipe(cfg, cfg.threads, train_set, &test_set)},
                               {"epochs", cfg.epochs},
                               {"init", init},
                               {"test_accuracy", last.test_accuracy},
                               {"train_accuracy", last.train_accuracy}};
  save_lenet5(out, model, meta);
  note("saved %s", out.c_str());
  if (o.json) print_summary(o, data, out, cfg, history);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train LeNet-5 on an idx dataset (MNIST, Fashion-MNIST)");
  cmd->add_option("--arch", o->arch, "lenet5 (modern: ReLU, max pool, softmax) or lenet5-1998 (the paper's)")
      ->capture_default_str();
  cmd->add_option("--data", o->data, kDataHelp);
  cmd->add_option("--epochs", o->epochs,
                  "Passes over the training set (0: 20 for sdlm as in the paper, 12 otherwise)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option(
         "--batch", o->batch,
         "Samples per step: 1 = stochastic, N = mini-batch, 'all' = full-batch gradient descent; auto: 1 "
         "for sdlm, 64 otherwise")
      ->capture_default_str();
  cmd->add_option(
         "--optimizer", o->optimizer,
         "sgd, momentum, adam, or sdlm (the paper's stochastic diagonal Levenberg-Marquardt); auto: sdlm "
         "for lenet5-1998, momentum for lenet5")
      ->capture_default_str();
  cmd->add_option(
         "--lr", o->lr,
         "Learning rate (0: default: momentum/sgd 0.02 for lenet5 and 0.002 for lenet5-1998, adam 0.001, "
         "sdlm the paper's schedule 0.0005..0.00001 by pass, which a given --lr rescales)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lr-gamma", o->lr_gamma, "Step decay: multiply the learning rate by this...")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--lr-step", o->lr_step, "...every this many epochs (0: constant)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lr-schedule", o->lr_schedule,
                  "step: --lr-gamma every --lr-step epochs (sdlm: the paper's rates by pass); cosine: from "
                  "--lr down to 0 along half a cosine, one rate per epoch")
      ->capture_default_str();
  cmd->add_option("--average-last", o->average_last,
                  "Save the mean of the weights at the ends of the last this many epochs (SWA; 0: the last "
                  "epoch's weights)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--momentum", o->momentum, "Momentum coefficient")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--weight-decay", o->weight_decay, "L2 weight decay")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option(
         "--sdlm-mu", o->sdlm_mu,
         "SDLM: mu in the step eta/(mu + h_kk); the paper's 0.02 diverges here, see docs/reproduction.md")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--hessian-samples", o->hessian_samples,
                  "SDLM: patterns averaged in each pass's second-derivative estimate")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  cmd->add_option(
         "--hessian-interval", o->hessian_interval,
         "SDLM: also re-estimate the second derivatives every this many patterns within a pass (0: only "
         "before each pass, as in the paper)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag(
      "--distort", o->distort,
      "Train each pass on fresh random affine distortions (translation, scaling, squeeze, shear) of "
      "90% of the images, the paper's Section III-C");
  cmd->add_flag("--elastic", o->elastic,
                "With the affine distortions (implies --distort), elastic displacement fields: uniform noise "
                "smoothed by a Gaussian of --elastic-sigma, times --elastic-alpha (Simard et al. 2003)");
  cmd->add_option("--elastic-alpha", o->elastic_alpha, "--elastic: scale of the displacement field, pixels")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--elastic-sigma", o->elastic_sigma, "--elastic: the smoothing Gaussian's sigma, pixels")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 10.0));
  cmd->add_option("--photo-degrade", o->photo_degrade,
                  "With the distortions (implies --distort), degrade this share of the images as the picture "
                  "pipeline degrades photos and scans: thicker or thinner strokes, blur, a tiny scan's low "
                  "resolution, a ruled line's gap (docs/reading-pictures.md)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--eval-train", o->eval_train,
                "After each pass also measure the error on the whole training set (the paper's Fig. 5)");
  cmd->add_option("--init", o->init,
                  "lenet5-1998: initial weights uniform in +-2.4/Fi (paper, Appendix A) or +-1/sqrt(Fi) "
                  "(sqrt); default: sqrt, chosen on the validation split (docs/reproduction.md)")
      ->capture_default_str();
  cmd->add_option("--loss", o->loss, "default, xent (lenet5), map or mle (lenet5-1998)")
      ->capture_default_str();
  cmd->add_option("--map-j", o->map_j, "The constant j of the MAP loss (Eq. 9)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Seed of initialisation and shuffling")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--limit", o->limit, "Train on only the first N training images (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--outliers", o->outliers,
                  "Outlier exposure: an idx3 file of 28x28 images of no digit (tools/make_outliers.py), "
                  "mixed into the training set with the uniform distribution over the digits as target, "
                  "so that the top probability says 'not a digit' (lenet5 only)");
  cmd->add_option(
      "--out", o->out,
      "Save the trained model to this file (default: <arch>-trained.bin here, -2, -3... if taken)");
  cmd->add_flag("--json", o->json,
                "At the end print one JSON object: the last epoch's --log line (arch, optimizer, seed, "
                "threads, train_loss, train_accuracy, test_accuracy, test_error, ...) with model, data, "
                "epochs and seconds (the whole run's training time)");
  cmd->add_option("--log", o->log, "Append one JSON object per epoch to this file");
  cmd->add_option("--checkpoint", o->checkpoint,
                  "Save the training state here after each epoch and every --checkpoint-every seconds "
                  "(atomically); SIGINT/SIGTERM then save it and stop");
  cmd->add_option("--checkpoint-every", o->checkpoint_every,
                  "With --checkpoint: also save between steps once this many seconds have passed (0: after "
                  "each epoch only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--resume", o->resume,
                "Continue from --checkpoint: same arguments, data and --threads give the model an "
                "uninterrupted run would have, bit for bit");
  cmd->callback([o] { run_train(*o); });
}

}  // namespace lenet::app
