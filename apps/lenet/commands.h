// The lenet program's subcommands: each registers its options on a CLI11 app and runs from a callback.
// Commands parse and print; every computation lives in the library.
#pragma once
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/image.h"

namespace lenet::app {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_read_command(CLI::App& app);
void add_visualize_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_baselines_command(CLI::App& app);
void add_quantize_command(CLI::App& app);

// Thrown by commands to leave with a message and status 1.
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A command line that cannot be right (a bad value, options that exclude each other): status 2.
struct UsageError : CommandError {
  using CommandError::CommandError;
};
// Stopped by a signal after cleaning up (train saves its checkpoint first): status 128 + signal, as a
// shell reports a process the signal killed (130 for Ctrl-C, 143 for SIGTERM).
struct InterruptedError : CommandError {
  InterruptedError(const std::string& message, int sig) : CommandError(message), signal(sig) {}
  int signal;
};

// What one picture gets: the text to print on stdout (its line, newline included), or the error that
// stopped it (printed with json as {"file", "error"} on its own stdout line, else on stderr).
struct ImageAnswer {
  std::string text, error;
};
// Answers pictures first, first + 1, ... of the command's list into `answers`, on one thread; each thread
// has its own, made by the make_worker of answer_each_image (e.g. with its own classifier).
using AnswerBlock = std::function<void(std::size_t first, std::span<ImageAnswer> answers)>;
// Pictures per block: a batch for the network, small enough that threads share out a few big photos.
inline constexpr std::size_t kImageBlock = 16;

// Answers every picture (predict, read) in blocks taken in turn by `threads` threads (0: all cores), and
// prints each answer to `out` in input order as soon as those before it are printed, flushing after each
// block. A picture that fails does not stop the others; after the last, a CommandError says how many could
// not be read.
void answer_each_image(const std::vector<std::string>& images, bool json, int threads, std::FILE* out,
                       const std::function<AnswerBlock()>& make_worker);

// `lenet predict`: its options and its run, answers to `out` (also what `lenet bench --pictures` times).
struct PredictOptions {
  std::string model;
  std::vector<std::string> images;
  std::string files_from;  // a file listing more pictures, one per line ("-": stdin)
  bool json = false;
  float reject_below = 0;
  std::string show_input;
  std::string precision = "fp32";
  int threads = 0;
};
void run_predict(const PredictOptions& o, std::FILE* out);

// The pictures named on the command line followed by those listed one per line in `files_from` (if set;
// "-" is stdin; empty lines are skipped). Throws CommandError when the list cannot be read or none is named.
std::vector<std::string> picture_list(const std::vector<std::string>& images, const std::string& files_from);

// A picture named on the command line, decoded to grey: a file, "-" for stdin, a pipe or a FIFO (read as a
// stream; a FIFO no program writes to within 10 s is an error); a directory is refused as "is a directory".
// min_side > 0: decoded reduced where the format allows, down to that longer side (decode_grey_image).
GreyImage read_picture(const std::string& file, int min_side = 0);

}  // namespace lenet::app
