// Entry point of the `lenet` program: builds the CLI11 command tree and turns every error into a
// one-line message on stderr and a non-zero exit status.
#include <cstdio>
#include <exception>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lenet: LeNet-5 (LeCun et al. 1998) and its modern variant, trained and run on the CPU"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every command");
  lenet::app::add_train_command(app);
  lenet::app::add_eval_command(app);
  lenet::app::add_info_command(app);
  lenet::app::add_predict_command(app);
  lenet::app::add_read_command(app);
  lenet::app::add_visualize_command(app);
  lenet::app::add_bench_command(app);
  lenet::app::add_serve_command(app);
  lenet::app::add_export_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lenet: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
