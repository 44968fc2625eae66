// The lenet program's subcommands: each registers its options on a CLI11 app and runs from a callback.
// Commands parse and print; every computation lives in the library.
#pragma once
#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
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

// Thrown by commands to leave with a message and a non-zero status.
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs answer(index, file) for each picture in turn (predict, read). A picture whose answer throws does
// not stop the others: its error is printed (with json, as {"file", "error"} on its own stdout line;
// else on stderr), and after the last picture a CommandError says how many could not be read. stdout is
// flushed after each picture, so that a pipe sees every answer as it comes.
void answer_each_image(const std::vector<std::string>& images, bool json,
                       const std::function<void(std::size_t, const std::string&)>& answer);

// A picture named on the command line, decoded to grey: a file, "-" for stdin, a pipe or a FIFO (read as a
// stream; a FIFO no program writes to within 10 s is an error); a directory is refused as "is a directory".
GreyImage read_picture(const std::string& file);

}  // namespace lenet::app
