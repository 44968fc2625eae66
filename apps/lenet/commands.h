// The lenet program's subcommands: each registers its options on a CLI11 app and runs from a callback.
// Commands parse and print; every computation lives in the library.
#pragma once
#include <CLI/CLI.hpp>

namespace lenet::app {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_read_command(CLI::App& app);
void add_visualize_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_serve_command(CLI::App& app);

// Thrown by commands to leave with a message and a non-zero status.
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace lenet::app
