// Entry point of the `lenet` program: builds the CLI11 command tree and applies the conventions of
// docs/cli.md: every message in one `lenet: error:` style, "did you mean" for a mistyped command or option,
// exit 0 ok / 1 failure / 2 usage error / 128+signal when interrupted; -q/--quiet for every command.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "conventions.h"
#include "lenet/version.h"

namespace {

using namespace lenet::app;

constexpr const char* kFooter =
    "Exit status: 0 success; 1 failure (unreadable input, a failed computation); 2 usage error (unknown "
    "command or option, bad value); 130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM (train saves its "
    "--checkpoint first).\n"
    "Defaults: a --model or --data not given is $LENET_MODEL / $LENET_DATA, else models/lenet5.bin / "
    "data/mnist in the working directory, else beside the program (docs/cli.md). --out is always a file.";

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    out.push_back(sub->get_name());
  return out;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : app.get_options())
    for (const std::string& name : opt->get_lnames()) out.push_back("--" + name);
  return out;
}

// The first word of the command line that names a subcommand, or nullptr.
CLI::App* chosen_command(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      if (argv[i] == sub->get_name()) return sub;
  return nullptr;
}

int usage_error(const std::string& message, const CLI::App* command) {
  std::fprintf(stderr, "lenet: error: %s\nRun 'lenet%s --help' for usage.\n", message.c_str(),
               command ? (" " + command->get_name()).c_str() : "");
  return kExitUsage;
}

// For an option CLI11 did not expect: the closest option of the command (or of lenet itself).
std::string explain_extras(CLI::App& app, CLI::App* command, int argc, char** argv, const std::string& what) {
  std::vector<std::string> known = option_names(app);
  if (command) {
    const std::vector<std::string> more = option_names(*command);
    known.insert(known.end(), more.begin(), more.end());
  }
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0 || word == "--") continue;
    word = word.substr(0, word.find('='));
    if (std::find(known.begin(), known.end(), word) != known.end()) continue;
    const std::string guess = closest_match(word, known);
    return "unknown option " + word + (command ? " for 'lenet " + command->get_name() + "'" : "") +
           (guess.empty() ? "" : "; did you mean " + guess + "?");
  }
  return what;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lenet: LeNet-5 (LeCun et al. 1998) and its modern variant, trained and run on the CPU",
               "lenet"};
  app.require_subcommand(1);
  app.footer(kFooter);
  app.set_help_all_flag("--help-all", "Show the help of every command");
  app.set_version_flag("--version", std::string("lenet ") + lenet::version(), "Print the version and exit");
  app.fallthrough();  // -q also after the command's name
  app.add_flag_callback(
      "-q,--quiet", [] { set_quiet(true); },
      "No progress or informational lines on stderr (errors and results remain)");
  add_train_command(app);
  add_eval_command(app);
  add_info_command(app);
  add_predict_command(app);
  add_read_command(app);
  add_visualize_command(app);
  add_bench_command(app);
  add_serve_command(app);
  add_export_command(app);
  add_baselines_command(app);
  add_quantize_command(app);

  // A first word that is neither an option nor a command: say which command was probably meant.
  if (argc > 1 && argv[1][0] != '-' && !chosen_command(app, argc, argv)) {
    const std::string guess = closest_match(argv[1], command_names(app));
    return usage_error(std::string("unknown command '") + argv[1] + "'" +
                           (guess.empty() ? "" : "; did you mean '" + guess + "'?"),
                       nullptr);
  }
  CLI::App* command = chosen_command(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    return usage_error(explain_extras(app, command, argc, argv, e.what()), command);
  } catch (const CLI::ParseError& e) {
    return usage_error(
        argc <= 1 ? "no command given; the commands are " + CLI::detail::join(command_names(app), ", ")
                  : std::string(e.what()),
        command);
  } catch (const UsageError& e) {
    return usage_error(e.what(), command);
  } catch (const InterruptedError& e) {
    std::fprintf(stderr, "lenet: error: %s\n", e.what());
    return 128 + e.signal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lenet: error: %s\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}
